import { describe, expect, test } from '@jest/globals';
import { parseSize, resolveRunConfig } from '../../src/app/config.js';

const ENV = { NOMAD_ADDR: 'http://127.0.0.1:4646' };

describe('--max-response-size', () => {
  test('sizes in bytes or binary units', () => {
    expect(parseSize('2048')).toBe(2048);
    expect(parseSize('512KiB')).toBe(512 * 1024);
    expect(parseSize('64MiB')).toBe(64 * 1024 * 1024);
    expect(parseSize('1GiB')).toBe(1024 ** 3);
    expect(parseSize('1.5MiB')).toBeUndefined();
    expect(parseSize('64MB')).toBeUndefined();
  });

  test('defaults to 256MiB; the flag wins over PROMOTER_MAX_RESPONSE_SIZE', () => {
    expect(resolveRunConfig({}, ENV).config!.maxResponseBytes).toBe(256 * 1024 * 1024);
    expect(resolveRunConfig({}, { ...ENV, PROMOTER_MAX_RESPONSE_SIZE: '8MiB' }).config!.maxResponseBytes).toBe(8 * 1024 * 1024);
    expect(resolveRunConfig({ 'max-response-size': '2MiB' }, { ...ENV, PROMOTER_MAX_RESPONSE_SIZE: '8MiB' }).config!.maxResponseBytes).toBe(2 * 1024 * 1024);
  });

  test('a value that is not a size, or out of range, is an error naming the flag and the variable', () => {
    for (const bad of ['lots', '10', '2GiB']) {
      const { config, errors } = resolveRunConfig({ 'max-response-size': bad }, ENV);
      expect(config).toBeUndefined();
      expect(errors).toEqual([`--max-response-size / PROMOTER_MAX_RESPONSE_SIZE: "${bad}" is not a size between 1KiB and 500MiB, such as 64MiB`]);
    }
  });
});

describe('--external-url', () => {
  test('absent by default; the flag wins over PROMOTER_EXTERNAL_URL', () => {
    expect(resolveRunConfig({}, ENV).config!.externalUrl).toBeUndefined();
    expect(resolveRunConfig({}, { ...ENV, PROMOTER_EXTERNAL_URL: 'https://promoter.example.com/' }).config!.externalUrl?.href).toBe('https://promoter.example.com/');
    expect(resolveRunConfig({ 'external-url': 'http://10.0.0.1:9646' }, { ...ENV, PROMOTER_EXTERNAL_URL: 'https://promoter.example.com/' }).config!.externalUrl?.href).toBe('http://10.0.0.1:9646/');
  });

  test('follows the one URL rule, never quoting the value; a #fragment is refused', () => {
    for (const [bad, problem] of [
      ['promoter.example.com:9646', 'not http:// or https://'],
      ['https://user:s3cret@', 'not a URL (expected http://host[:port][/path])'],
      ['https://promoter.example.com/#/deployments', 'has a #fragment; give the address the dashboard is served at'],
    ] as const) {
      const { config, errors } = resolveRunConfig({ 'external-url': bad }, ENV);
      expect(config).toBeUndefined();
      expect(errors).toEqual([`--external-url / PROMOTER_EXTERNAL_URL: ${problem}`]);
    }
  });
});
