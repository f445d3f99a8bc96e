import type { Socket } from "node:net";
import type { Transport } from "./transport.js";

/** A Transport over a TCP (or TLS) socket. */
export class TcpTransport implements Transport {
  readonly type = "tcp" as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private drainCbs: (() => void)[] = [];
  /**
   * Called when a write reached the OS. net.Socket emits 'drain' only after write() returned
   * false, so a small remainder left queued would never be reported: we report it here.
   */
  private readonly afterWrite = (err?: Error | null): void => {
    if (err || this.socket.writableLength > 0) return;
    for (const cb of this.drainCbs) cb();
  };

  constructor(private readonly socket: Socket) {
    this.remoteAddress = normalizeAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  write(chunks: Buffer[]): void {
    const s = this.socket;
    if (s.destroyed) return;
    const last = chunks.length - 1;
    if (last === 0) {
      s.write(chunks[0], this.afterWrite);
      return;
    }
    s.cork();
    for (let i = 0; i < last; i++) s.write(chunks[i]);
    s.write(chunks[last], this.afterWrite);
    s.uncork();
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.socket.on("data", cb);
  }

  onClose(cb: (err?: Error) => void): void {
    let error: Error | undefined;
    this.socket.on("error", (e) => {
      error = e;
    });
    this.socket.on("close", () => cb(error));
  }

  onDrain(cb: () => void): void {
    this.drainCbs.push(cb);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    const s = this.socket;
    if (s.destroyed) return;
    s.end();
    // a peer that never reads must not keep the socket open forever
    setTimeout(() => s.destroy(), 5_000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** "::ffff:127.0.0.1" → "127.0.0.1", as nats-server reports client addresses. */
export function normalizeAddress(a: string | undefined): string {
  if (!a) return "";
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}
