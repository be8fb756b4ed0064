/**
 * Nomad connection settings, read from exactly the environment variables every Nomad tool reads.
 * One pass collects every problem, so an operator fixes them all in one go. Error texts name the
 * variable and never repeat a secret value (token, HTTP auth, key material).
 */
import { parseHttpUrl } from '../domain/http-url.js';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_NOMAD_ADDR = 'http://127.0.0.1:4646';
export const DEFAULT_NAMESPACE = 'default';

export interface NomadTlsConfig {
  /** NOMAD_CACERT path. When set, NOMAD_CAPATH is ignored (as Nomad does). */
  caFile?: string;
  /** NOMAD_CAPATH directory. */
  caPath?: string;
  /** NOMAD_CLIENT_CERT / NOMAD_CLIENT_KEY paths. */
  certFile?: string;
  keyFile?: string;
  /** NOMAD_TLS_SERVER_NAME: name checked against the server certificate (and sent as SNI). */
  serverName?: string;
  /** NOMAD_SKIP_VERIFY: accept any server certificate. */
  skipVerify: boolean;
  /** PEM contents loaded from the files above; absent means the system trust store. */
  ca?: string[];
  cert?: string;
  key?: string;
}

export interface NomadConnectionConfig {
  /** NOMAD_ADDR as given (or the default); never holds credentials. */
  address: string;
  protocol: 'http' | 'https';
  /** Set for `unix://` addresses: requests go over this socket, as plain HTTP. */
  socketPath?: string;
  host: string;
  port: number;
  /** Path prefix of the address (a reverse proxy mount), without trailing slash; usually ''. */
  basePath: string;
  token?: string;
  region?: string;
  /** NOMAD_NAMESPACE; absent means the caller's default (`default` for single-object calls). */
  namespace?: string;
  httpAuth?: { username: string; password: string };
  tls: NomadTlsConfig;
}

export interface NomadConfigResult {
  config?: NomadConnectionConfig;
  errors: string[];
  /** Settings that are accepted but probably not what was meant. */
  warnings: string[];
}

/** Characters Node accepts in a header value (no CR, LF or other control characters). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function readNomadConfig(env: NodeJS.ProcessEnv): NomadConfigResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };

  const address = (get('NOMAD_ADDR') ?? DEFAULT_NOMAD_ADDR).trim();
  const target = parseAddress(address, errors);

  const token = get('NOMAD_TOKEN');
  if (token !== undefined && !HEADER_VALUE.test(token)) {
    errors.push('NOMAD_TOKEN contains characters not allowed in an HTTP header (a newline?)');
  }

  let httpAuth: NomadConnectionConfig['httpAuth'];
  const auth = get('NOMAD_HTTP_AUTH');
  if (auth !== undefined) {
    const colon = auth.indexOf(':');
    const username = colon < 0 ? auth : auth.slice(0, colon);
    const password = colon < 0 ? '' : auth.slice(colon + 1);
    if (username === '') {
      errors.push('NOMAD_HTTP_AUTH must be "user:password" with a non-empty user');
    } else if (!HEADER_VALUE.test(auth)) {
      errors.push('NOMAD_HTTP_AUTH contains characters not allowed in an HTTP header');
    } else {
      httpAuth = { username, password };
    }
  }

  const region = get('NOMAD_REGION');
  const namespace = get('NOMAD_NAMESPACE');

  const tls = readTls(get, errors, warnings);
  if (target && target.protocol !== 'https') {
    const set = ['NOMAD_CACERT', 'NOMAD_CAPATH', 'NOMAD_CLIENT_CERT', 'NOMAD_CLIENT_KEY', 'NOMAD_TLS_SERVER_NAME']
      .filter((n) => get(n) !== undefined);
    if (set.length > 0) warnings.push(`${set.join(', ')} ignored: NOMAD_ADDR is not https`);
  }

  if (errors.length > 0 || !target) return { errors, warnings };
  const config: NomadConnectionConfig = { address, ...target, tls };
  if (token !== undefined) config.token = token;
  if (region !== undefined) config.region = region;
  if (namespace !== undefined) config.namespace = namespace;
  if (httpAuth) config.httpAuth = httpAuth;
  return { config, errors, warnings };
}

/** The config with secrets and key material removed, for logs and `--help`-style output. */
export function redactedConfig(config: NomadConnectionConfig): Record<string, unknown> {
  const { tls } = config;
  return {
    address: config.address,
    region: config.region,
    namespace: config.namespace,
    token: config.token === undefined ? undefined : '[redacted]',
    httpAuth: config.httpAuth ? `${config.httpAuth.username}:[redacted]` : undefined,
    tls: {
      caFile: tls.caFile,
      caPath: tls.caPath,
      certFile: tls.certFile,
      keyFile: tls.keyFile,
      serverName: tls.serverName,
      skipVerify: tls.skipVerify,
      caCertificates: tls.ca?.length,
    },
  };
}

type Target = Pick<NomadConnectionConfig, 'protocol' | 'host' | 'port' | 'basePath' | 'socketPath'>;

function parseAddress(address: string, errors: string[]): Target | undefined {
  if (address.startsWith('unix://')) {
    const socketPath = address.slice('unix://'.length);
    if (socketPath === '') {
      errors.push('NOMAD_ADDR: unix:// needs a socket path, e.g. unix:///var/run/nomad.sock');
      return undefined;
    }
    return { protocol: 'http', socketPath, host: 'localhost', port: 80, basePath: '' };
  }
  const parsed = parseHttpUrl(address);
  if (!parsed.ok) {
    errors.push(`NOMAD_ADDR: ${parsed.problem} (or unix:///path for a socket)`);
    return undefined;
  }
  const url = parsed.url;
  if (url.username !== '' || url.password !== '') {
    errors.push('NOMAD_ADDR must not hold credentials; use NOMAD_HTTP_AUTH');
    return undefined;
  }
  if (url.search !== '' || url.hash !== '') {
    errors.push('NOMAD_ADDR must not hold a query string or fragment');
    return undefined;
  }
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port === '' ? (protocol === 'https' ? 443 : 80) : Number(url.port);
  // URL keeps IPv6 literals bracketed; node:http wants them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const basePath = url.pathname.replace(/\/+$/, '');
  return { protocol, host, port, basePath };
}

function readTls(
  get: (name: string) => string | undefined,
  errors: string[],
  warnings: string[],
): NomadTlsConfig {
  const tls: NomadTlsConfig = { skipVerify: false };

  const skip = get('NOMAD_SKIP_VERIFY');
  if (skip !== undefined) {
    const parsed = parseBool(skip);
    if (parsed === undefined) errors.push('NOMAD_SKIP_VERIFY must be a boolean (true/false/1/0)');
    else tls.skipVerify = parsed;
  }

  const serverName = get('NOMAD_TLS_SERVER_NAME');
  if (serverName !== undefined) tls.serverName = serverName;

  const caFile = get('NOMAD_CACERT');
  const caPath = get('NOMAD_CAPATH');
  if (caFile !== undefined) {
    tls.caFile = caFile;
    const pem = readPem('NOMAD_CACERT', caFile, errors);
    if (pem !== undefined) {
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) errors.push(`NOMAD_CACERT: no PEM certificate in ${caFile}`);
      else tls.ca = [pem];
    }
    if (caPath !== undefined) warnings.push('NOMAD_CAPATH ignored: NOMAD_CACERT is set and takes precedence');
  } else if (caPath !== undefined) {
    tls.caPath = caPath;
    const pems = readCaDir(caPath, errors);
    if (pems) tls.ca = pems;
  }

  const certFile = get('NOMAD_CLIENT_CERT');
  const keyFile = get('NOMAD_CLIENT_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    errors.push('NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY must be set together');
  }
  if (certFile !== undefined) {
    tls.certFile = certFile;
    const pem = readPem('NOMAD_CLIENT_CERT', certFile, errors);
    if (pem !== undefined) {
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) errors.push(`NOMAD_CLIENT_CERT: no PEM certificate in ${certFile}`);
      else tls.cert = pem;
    }
  }
  if (keyFile !== undefined) {
    tls.keyFile = keyFile;
    const pem = readPem('NOMAD_CLIENT_KEY', keyFile, errors);
    if (pem !== undefined) {
      // Only the marker is checked; the key itself never appears in a message.
      if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) errors.push(`NOMAD_CLIENT_KEY: no PEM private key in ${keyFile}`);
      else tls.key = pem;
    }
  }
  return tls;
}

function readPem(variable: string, path: string, errors: string[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    errors.push(`${variable}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    return undefined;
  }
}

/** Every file in the directory (recursively, like Nomad) that holds a PEM certificate. */
function readCaDir(dir: string, errors: string[]): string[] | undefined {
  const pems: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() || (entry.isSymbolicLink() && statSync(path).isFile())) {
        const text = readFileSync(path, 'utf8');
        if (text.includes('-----BEGIN CERTIFICATE-----')) pems.push(text);
      }
    }
  };
  try {
    if (!statSync(dir).isDirectory()) {
      errors.push(`NOMAD_CAPATH: ${dir} is not a directory`);
      return undefined;
    }
    walk(dir);
  } catch (err) {
    errors.push(`NOMAD_CAPATH: cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    return undefined;
  }
  if (pems.length === 0) {
    errors.push(`NOMAD_CAPATH: no PEM certificate found in ${dir}`);
    return undefined;
  }
  return pems;
}

/** Go's strconv.ParseBool, which Nomad uses for NOMAD_SKIP_VERIFY. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}
