import { describe, expect, test } from '@jest/globals';
import {
  isAbortError,
  isFinalNomadError,
  isTransientAnswer,
  isTransientNetworkCode,
  isTransientNomadError,
  NomadError,
} from '../../src/nomad/errors.js';

describe('isTransientAnswer', () => {
  test.each([
    [0, 'connect ECONNREFUSED 127.0.0.1:4646'],
    [429, 'Your IP is issuing too many concurrent connections, please rate limit your calls'],
    [500, 'No cluster leader'],
    [500, 'rpc error: No cluster leader'],
    [500, 'rpc error: EOF'],
    [502, 'Bad Gateway'],
    [503, ''],
    [504, 'Gateway Timeout'],
    [500, 'some error Nomad has not told us about'],
  ])('%i %j is transient', (status, text) => {
    expect(isTransientAnswer(status, text)).toBe(true);
  });

  test.each([
    [403, 'Permission denied'],
    [403, 'ACL token not found'],
    [400, 'Request body is empty'],
    [400, 'Deployment ID does not match'],
    [404, 'deployment not found'],
    [405, ''],
    [500, 'deployment not found'],
    [409, '{"Namespace":"default","Path":"p","CreateIndex":0,"ModifyIndex":0,"Items":null}'],
    [500, 'variables are limited to 64KiB in total size'],
    [500, 'invalid path "a b"'],
    [400, 'variable missing required Items object'],
    [500, "can't promote terminal deployment"],
    [500, "can't fail terminal deployment"],
    [500, "can't pause terminal deployment"],
    [500, "can't resume terminal deployment"],
    [500, "can't unblock terminal deployment"],
    [500, "can't set health of allocations for a terminal deployment"],
    [500, 'alloc "a1" is not part of deployment "d1"'],
    [500, 'unknown alloc "a1"'],
    [500, 'must specify at least one healthy/unhealthy allocation ID'],
    [500, "can't revert to current version"],
    [500, 'Current job has version 4; enforcing version 3'],
    [500, '1 error occurred:\n\t* Task group "web" has 0/2 healthy allocations\n\n'],
  ])('%i %j is final', (status, text) => {
    expect(isTransientAnswer(status, text)).toBe(false);
  });
});

describe('isTransientNetworkCode', () => {
  test('connection failures are transient, certificate failures are not', () => {
    expect(isTransientNetworkCode('ECONNRESET')).toBe(true);
    expect(isTransientNetworkCode('ETIMEDOUT')).toBe(true);
    expect(isTransientNetworkCode('ECONNREFUSED')).toBe(true);
    expect(isTransientNetworkCode('DEPTH_ZERO_SELF_SIGNED_CERT')).toBe(false);
    expect(isTransientNetworkCode('ERR_TLS_CERT_ALTNAME_INVALID')).toBe(false);
    expect(isTransientNetworkCode('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')).toBe(false);
  });
});

describe('NomadError', () => {
  test('carries status, method, route and Nomad text, and says all of it in the message', () => {
    const err = new NomadError({
      status: 500,
      method: 'POST',
      route: '/v1/deployment/promote/:id',
      text: "can't promote terminal deployment\n",
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('NomadError');
    expect(err.status).toBe(500);
    expect(err.route).toBe('/v1/deployment/promote/:id');
    expect(err.text).toBe("can't promote terminal deployment");
    expect(err.message).toBe("Nomad POST /v1/deployment/promote/:id: 500 can't promote terminal deployment");
    expect(err.transient).toBe(false);
    expect(isFinalNomadError(err)).toBe(true);
    expect(isTransientNomadError(err)).toBe(false);
  });

  test('a network failure has status 0 and names its code', () => {
    const err = new NomadError({ status: 0, method: 'GET', route: '/v1/deployments', text: 'socket hang up', code: 'ECONNRESET' });
    expect(err.message).toBe('Nomad GET /v1/deployments: ECONNRESET socket hang up');
    expect(isTransientNomadError(err)).toBe(true);
  });

  test('a huge body (a proxy page) is cut short', () => {
    const err = new NomadError({ status: 502, method: 'GET', route: '/v1/deployments', text: 'x'.repeat(100_000) });
    expect(err.text.length).toBeLessThan(3000);
  });

  test('other errors are neither transient nor final Nomad answers', () => {
    expect(isTransientNomadError(new Error('boom'))).toBe(false);
    expect(isFinalNomadError(new Error('boom'))).toBe(false);
  });

  test('isAbortError recognises an aborted signal reason', () => {
    const c = new AbortController();
    c.abort();
    expect(isAbortError(c.signal.reason)).toBe(true);
    expect(isAbortError(new Error('x'))).toBe(false);
  });
});
