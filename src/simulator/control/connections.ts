/**
 * Client connections: the per-address limit Nomad's agent enforces when it accepts a connection
 * (`http_max_conns_per_client`, hashicorp/go-connlimit), and the count of connections that carry
 * Nomad API requests (a socket counts from its first API request until it closes; sockets used
 * only for the control API do not count), and the bytes of API answers (headers and bodies, the
 * event stream's frames included): what a client read from Nomad.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Nomad's default `http_max_conns_per_client`. */
export const DEFAULT_MAX_CONNS_PER_CLIENT = 100;

/**
 * Nomad rate limits the 429 answers to refused connections (10 per second, bursts of 100); a
 * refused connection past that is closed without a word.
 */
const ANSWERS_PER_SECOND = 10;
const ANSWER_BURST = 100;

/** What to do with a new connection: serve it, refuse it with the raw 429, or just close it. */
export type Admission = 'accept' | 'answer' | 'drop';

/** The client's IP as Go's connlimit keys it (an IPv4-mapped IPv6 address counts as the IPv4 one). */
function clientAddress(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export class ConnectionCounter {
  private readonly counted = new WeakSet<Socket>();
  /** API answers in progress, with their socket's byte count when each began (one answer at a time per socket). */
  private readonly answering = new Map<ServerResponse, { socket: Socket; from: number; route: string }>();
  /** Bytes of finished answers by route pattern (`(none)` when no route matched). */
  private readonly answeredByRoute = new Map<string, number>();
  private readonly refused = new WeakSet<Socket>();
  private readonly perClient = new Map<string, number>();
  private answerTokens = ANSWER_BURST;
  private tokensAt = performance.now();
  open = 0;
  peak = 0;
  /** Connections refused by the per-client limit (answered or not). */
  rejected = 0;

  /** `maxPerClient` <= 0: no limit. */
  constructor(readonly maxPerClient: number = DEFAULT_MAX_CONNS_PER_CLIENT) {}

  /**
   * Called when a connection is accepted, before any request: every connection counts against its
   * client address until it closes, whatever it is used for (the control API included).
   */
  admit(socket: Socket): Admission {
    if (this.maxPerClient <= 0) return 'accept';
    const client = clientAddress(socket);
    const current = this.perClient.get(client) ?? 0;
    if (current >= this.maxPerClient) {
      this.rejected++;
      this.refused.add(socket);
      return this.takeAnswerToken() ? 'answer' : 'drop';
    }
    this.perClient.set(client, current + 1);
    socket.once('close', () => {
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    });
    return 'accept';
  }

  /** True for a connection the limit refused: requests read from it get no answer. */
  isRefused(socket: Socket): boolean {
    return this.refused.has(socket);
  }

  /** Called for every API request; counts its socket once. */
  noteApiRequest(socket: Socket): void {
    if (this.counted.has(socket)) return;
    this.counted.add(socket);
    this.open++;
    this.peak = Math.max(this.peak, this.open);
    socket.once('close', () => {
      this.open--;
    });
  }

  /** Called for every API request: the bytes its answer puts on the socket count, while they are written, under its route. */
  noteApiAnswer(res: ServerResponse, socket: Socket, route: string | null): void {
    const key = route ?? '(none)';
    this.answering.set(res, { socket, from: socket.bytesWritten, route: key });
    res.once('close', () => {
      this.answeredByRoute.set(key, (this.answeredByRoute.get(key) ?? 0) + socket.bytesWritten - this.answering.get(res)!.from);
      this.answering.delete(res);
    });
  }

  /** Bytes of API answers written so far, by route pattern; answers still being written count what they wrote. */
  get bytesByRoute(): Record<string, number> {
    const out = Object.fromEntries(this.answeredByRoute);
    for (const { socket, from, route } of this.answering.values()) out[route] = (out[route] ?? 0) + socket.bytesWritten - from;
    return out;
  }

  /** Bytes of API answers written so far. */
  get bytesSent(): number {
    return Object.values(this.bytesByRoute).reduce((sum, b) => sum + b, 0);
  }

  resetPeak(): void {
    this.peak = this.open;
  }

  /** A token bucket, as golang.org/x/time/rate (real time, like the connections themselves). */
  private takeAnswerToken(): boolean {
    const now = performance.now();
    this.answerTokens = Math.min(ANSWER_BURST, this.answerTokens + ((now - this.tokensAt) / 1000) * ANSWERS_PER_SECOND);
    this.tokensAt = now;
    if (this.answerTokens < 1) return false;
    this.answerTokens -= 1;
    return true;
  }
}
