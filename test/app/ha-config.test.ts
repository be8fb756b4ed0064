import { hostname } from 'node:os';
import { describe, expect, test } from '@jest/globals';
import { resolveRunConfig } from '../../src/app/config.js';

const ENV = { NOMAD_ADDR: 'http://127.0.0.1:4646' };
const NOMAD_STATE = { state: 'nomad' };

describe('--ha', () => {
  test('off by default; on with --ha or PROMOTER_HA=true, with the documented defaults', () => {
    expect(resolveRunConfig(NOMAD_STATE, ENV).config!.ha).toBeUndefined();
    const expected = { lockPath: 'nomad-promoter/leader', lockNamespace: 'default', ttlMs: 15_000, lockDelayMs: 15_000, identity: `${hostname()}-${process.pid}` };
    expect(resolveRunConfig({ ...NOMAD_STATE, ha: true }, ENV).config!.ha).toEqual(expected);
    expect(resolveRunConfig(NOMAD_STATE, { ...ENV, PROMOTER_HA: 'true' }).config!.ha).toEqual(expected);
    expect(resolveRunConfig(NOMAD_STATE, { ...ENV, PROMOTER_HA: 'false' }).config!.ha).toBeUndefined();
  });

  test('the lock namespace follows the state namespace; flags win over the environment', () => {
    const env = { ...ENV, PROMOTER_HA: '1', PROMOTER_HA_LOCK_TTL: '1m', PROMOTER_HA_LOCK_DELAY: '30s', PROMOTER_HA_IDENTITY: 'from-env', PROMOTER_HA_LOCK_PATH: 'env/lock' };
    expect(resolveRunConfig({ ...NOMAD_STATE, 'state-namespace': 'ops' }, env).config!.ha).toEqual({ lockPath: 'env/lock', lockNamespace: 'ops', ttlMs: 60_000, lockDelayMs: 30_000, identity: 'from-env' });
    const flags = { ...NOMAD_STATE, 'ha-lock-path': 'promoter/lead', 'ha-lock-namespace': 'infra', 'ha-lock-ttl': '20s', 'ha-lock-delay': '0s', 'ha-identity': 'replica-1' };
    expect(resolveRunConfig(flags, env).config!.ha).toEqual({ lockPath: 'promoter/lead', lockNamespace: 'infra', ttlMs: 20_000, lockDelayMs: 0, identity: 'replica-1' });
  });

  test('needs --state nomad, a TTL within Nomad bounds and usable names: every error at once, each naming its flag and variable', () => {
    const { config, errors } = resolveRunConfig({ ha: true, 'ha-lock-ttl': '5s', 'ha-lock-delay': 'soon', 'ha-lock-path': '/lead/', 'ha-identity': 'two\nlines' }, ENV);
    expect(config).toBeUndefined();
    expect(errors).toEqual([
      '--ha / PROMOTER_HA: needs --state nomad (a new leader must read the snapshots the last one wrote)',
      '--ha-lock-path / PROMOTER_HA_LOCK_PATH: "/lead/" is not a Nomad Variables path (letters, digits, - _ ~ /, no leading or trailing /)',
      '--ha-lock-ttl / PROMOTER_HA_LOCK_TTL: "5s" is not a duration between 10s and 24h (Nomad\'s bounds for a lock TTL)',
      '--ha-lock-delay / PROMOTER_HA_LOCK_DELAY: "soon" is not a duration between 0s and 24h, such as 15s',
      '--ha-identity / PROMOTER_HA_IDENTITY: "two\nlines" is not 1 to 256 printable ASCII characters',
    ]);
    expect(resolveRunConfig({ ...NOMAD_STATE, ha: true, 'ha-lock-ttl': '25h' }, ENV).errors).toEqual(['--ha-lock-ttl / PROMOTER_HA_LOCK_TTL: "25h" is not a duration between 10s and 24h (Nomad\'s bounds for a lock TTL)']);
    expect(resolveRunConfig(NOMAD_STATE, { ...ENV, PROMOTER_HA: 'yes' }).errors).toEqual(['PROMOTER_HA: "yes" is not true or false']);
    expect(resolveRunConfig({ ...NOMAD_STATE, ha: true, 'ha-lock-path': 'nomad-promoter/deployments/lock' }, ENV).errors).toEqual([
      '--ha-lock-path / PROMOTER_HA_LOCK_PATH: "nomad-promoter/deployments/lock" is under --state-path "nomad-promoter/deployments"; put the lock beside it, such as the default nomad-promoter/leader',
    ]);
    expect(resolveRunConfig({ ...NOMAD_STATE, ha: true, 'ha-lock-path': 'nomad-promoter/deployments/lock', 'ha-lock-namespace': 'infra' }, ENV).errors).toEqual([]);
  });

  test('a watched namespace glob names no namespace for the state and the lock: default unless one is given, and a glob given is refused', () => {
    expect(resolveRunConfig({ ...NOMAD_STATE, ha: true, namespace: 'prod-*' }, ENV).config!.ha!.lockNamespace).toBe('default');
    expect(resolveRunConfig({ ...NOMAD_STATE, namespace: 'prod-*' }, ENV).config!.state).toEqual({ kind: 'nomad', namespace: 'default', path: 'nomad-promoter/deployments' });
    expect(resolveRunConfig({ ...NOMAD_STATE, ha: true, 'state-namespace': 'prod-*', 'ha-lock-namespace': 'ops-*' }, ENV).errors).toEqual([
      '--state-namespace / PROMOTER_STATE_NAMESPACE: "prod-*" is not one namespace',
      '--ha-lock-namespace / PROMOTER_HA_LOCK_NAMESPACE: "ops-*" is not one namespace',
    ]);
  });
});
