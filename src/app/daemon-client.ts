/**
 * How the CLI talks to the running daemon: `--daemon URL` / PROMOTER_DAEMON, with
 * PROMOTER_API_TOKEN as bearer token. The token is only ever sent, never printed.
 */
export const DEFAULT_DAEMON = 'http://127.0.0.1:9646';

export interface DaemonAnswer {
  status: number;
  body: unknown;
  headers?: Headers;
}

export class DaemonClient {
  /** The daemon's address as shown and used: never with credentials. */
  readonly url: string;
  private readonly problem?: string;

  constructor(flags: Record<string, string | boolean | undefined>, private readonly env: NodeJS.ProcessEnv = process.env) {
    const given = (flags.daemon as string | undefined) ?? env.PROMOTER_DAEMON ?? DEFAULT_DAEMON;
    const parsed = URL.canParse(given) ? new URL(given) : undefined;
    if (!parsed || !/^https?:$/.test(parsed.protocol)) this.problem = '--daemon / PROMOTER_DAEMON is not an http(s) URL';
    // The daemon takes only a bearer token: credentials in the URL are refused, and never shown.
    else if (parsed.username || parsed.password) this.problem = '--daemon / PROMOTER_DAEMON: credentials in the URL are not used; set PROMOTER_API_TOKEN';
    this.url = this.problem ? '(invalid --daemon URL)' : `${parsed!.origin}${parsed!.pathname}`.replace(/\/+$/, '');
  }

  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<DaemonAnswer> {
    if (this.problem) throw new Error(this.problem);
    const token = this.env.PROMOTER_API_TOKEN;
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      throw new Error(`cannot reach the daemon at ${this.url}: ${cause ?? (err as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's page): shown as it is.
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }
}

/** The daemon's `{"error": ...}` text, or the status code. */
export function errorOf(answer: DaemonAnswer): string {
  const e = (answer.body as { error?: unknown } | undefined)?.error;
  return typeof e === 'string' ? e : `HTTP ${answer.status}`;
}

export const encodeId = (id: string) => encodeURIComponent(id);
