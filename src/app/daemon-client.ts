/**
 * How the CLI talks to the running daemon: `--daemon URL` / PROMOTER_DAEMON, with
 * PROMOTER_API_TOKEN as bearer token. The token is only ever sent, never printed.
 */
export const DEFAULT_DAEMON = 'http://127.0.0.1:9646';

export interface DaemonAnswer {
  status: number;
  body: unknown;
}

export class DaemonClient {
  readonly url: string;

  constructor(flags: Record<string, string | boolean | undefined>, private readonly env: NodeJS.ProcessEnv = process.env) {
    this.url = ((flags.daemon as string | undefined) ?? env.PROMOTER_DAEMON ?? DEFAULT_DAEMON).replace(/\/+$/, '');
  }

  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<DaemonAnswer> {
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
    return { status: res.status, body: parsed };
  }
}

/** The daemon's `{"error": ...}` text, or the status code. */
export function errorOf(answer: DaemonAnswer): string {
  const e = (answer.body as { error?: unknown } | undefined)?.error;
  return typeof e === 'string' ? e : `HTTP ${answer.status}`;
}

export const encodeId = (id: string) => encodeURIComponent(id);
