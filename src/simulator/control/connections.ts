/**
 * Counts client connections that carry Nomad API requests (a socket counts from its first API
 * request until it closes; sockets used only for the control API do not count).
 */
import type { Socket } from 'node:net';

export class ConnectionCounter {
  private readonly counted = new WeakSet<Socket>();
  open = 0;
  peak = 0;

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

  resetPeak(): void {
    this.peak = this.open;
  }
}
