/** The log of Nomad API requests (control requests are not logged). */
export interface LoggedRequest {
  method: string;
  path: string;
  /** The route pattern, e.g. `/v1/deployment/promote/:id`; null when no route matched. */
  route: string | null;
  query: Record<string, string>;
  /** HTTP status; 0 when the connection was reset without an answer. */
  status: number;
  /** Simulated-clock time (epoch ms) when the request arrived. */
  at: number;
  /** Simulated-clock time when the answer was written in full; null until then (or never, on a reset). */
  answeredAt: number | null;
  /** The accessor ID of the request's ACL token (never its secret); absent with ACLs off. */
  accessor?: string;
}

export class RequestLog {
  private entries: LoggedRequest[] = [];

  add(entry: LoggedRequest): LoggedRequest {
    this.entries.push(entry);
    return entry;
  }

  list(): LoggedRequest[] {
    return this.entries.map((e) => ({ ...e, query: { ...e.query } }));
  }

  clear(): void {
    this.entries = [];
  }
}
