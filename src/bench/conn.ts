// A raw NATS client connection for the load generator: `node:net`, the byte scanner, and
// nothing per message. It does the handshake (INFO → CONNECT + PING → PONG), answers the
// server's PINGs, turns -ERR and unexpected closes into errors, and offers PING/PONG as a
// barrier ("everything I sent before this has been processed").

import * as net from "node:net";
import { NatsScanner } from "./scanner.js";

export const CONNECT_LINE =
  'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1,"name":"junction-bench","lang":"node","version":"0.1.0"}\r\n';

const PONG = Buffer.from("PONG\r\n");
const PING = Buffer.from("PING\r\n");

export class BenchError extends Error {}

export interface RawConnOptions {
  host: string;
  port: number;
  /** For handshake and each PING/PONG wait (ms). */
  timeoutMs?: number;
  /** Slow path: called with each MSG/HMSG control line (see NatsScanner). */
  onMsg?: (line: Uint8Array) => void;
  /** Called after every chunk has been scanned (fast path consumers check their counters here). */
  onChunk?: () => void;
  /** Called once when the connection fails (server error, close, protocol error). */
  onFail?: (err: Error) => void;
  /** A label for error messages. */
  label?: string;
  /** Bytes that may be queued in the socket before write() reports backpressure (default Node's 16 KiB). */
  writableHighWaterMark?: number;
}

type Waiter = { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class RawConn {
  readonly socket: net.Socket;
  readonly scanner: NatsScanner;
  info: Record<string, unknown> | undefined;
  failure: Error | undefined;
  private pongWaiters: Waiter[] = [];
  private infoWaiter: Waiter | undefined;
  private closing = false;
  private readonly timeoutMs: number;
  private readonly label: string;

  private constructor(private readonly opts: RawConnOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.label = opts.label ?? `${opts.host}:${opts.port}`;
    this.scanner = new NatsScanner({
      onPing: () => {
        if (!this.socket.destroyed) this.socket.write(PONG);
      },
      onPong: () => {
        const w = this.pongWaiters.shift();
        if (w) {
          clearTimeout(w.timer);
          w.resolve();
        }
      },
      onInfo: (json) => {
        try {
          this.info = JSON.parse(json) as Record<string, unknown>;
        } catch {
          this.fail(new BenchError(`${this.label}: INFO is not valid JSON: ${json.slice(0, 80)}`));
          return;
        }
        const w = this.infoWaiter;
        if (w) {
          this.infoWaiter = undefined;
          clearTimeout(w.timer);
          w.resolve();
        }
      },
      onError: (text) => this.fail(new BenchError(`${this.label}: server sent -ERR '${text}'`)),
      onProtocolError: (reason) => this.fail(new BenchError(`${this.label}: ${reason}`)),
      onMsg: opts.onMsg,
    });
    // writableHighWaterMark is passed on to stream.Duplex (not in the typings of SocketConstructorOpts).
    this.socket = new net.Socket((opts.writableHighWaterMark ? { writableHighWaterMark: opts.writableHighWaterMark } : {}) as net.SocketConstructorOpts);
    this.socket.setNoDelay(true);
    const onChunk = opts.onChunk;
    this.socket.on("data", (chunk: Buffer) => {
      this.scanner.feed(chunk);
      if (onChunk) onChunk();
    });
    this.socket.on("error", (e) => this.fail(new BenchError(`${this.label}: ${e.message}`)));
    this.socket.on("close", () => {
      if (!this.closing) this.fail(new BenchError(`${this.label}: server closed the connection`));
    });
  }

  /** Connects and completes the handshake; rejects on timeout, -ERR, or close. */
  static async connect(opts: RawConnOptions): Promise<RawConn> {
    const c = new RawConn(opts);
    try {
      await c.handshake();
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  private handshake(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.infoWaiter = undefined;
        reject(new BenchError(`${this.label}: no INFO from server within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.infoWaiter = { resolve, reject, timer };
      this.socket.connect({ host: this.opts.host, port: this.opts.port });
    }).then(() => {
      if (this.info?.["tls_required"] === true) {
        throw new BenchError(`${this.label}: server requires TLS, which the bench does not speak`);
      }
      this.socket.write(CONNECT_LINE);
      return this.ping();
    });
  }

  /** Sends PING and resolves on the matching PONG: a barrier for everything sent before. */
  ping(timeoutMs = this.timeoutMs): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const k = this.pongWaiters.indexOf(w);
          if (k >= 0) this.pongWaiters.splice(k, 1);
          reject(new BenchError(`${this.label}: no PONG within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.pongWaiters.push(w);
      this.socket.write(PING);
    });
  }

  /** Writes, and if the socket buffer is full waits for 'drain' (or failure). */
  async write(buf: Uint8Array | string): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.socket.write(buf)) return;
    await this.drained();
  }

  /** Resolves on 'drain'; rejects if the connection fails first. */
  drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      const onDrain = (): void => {
        this.socket.off("close", onClose);
        resolve();
      };
      const onClose = (): void => {
        this.socket.off("drain", onDrain);
        reject(this.failure ?? new BenchError(`${this.label}: connection closed`));
      };
      this.socket.once("drain", onDrain);
      this.socket.once("close", onClose);
    });
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const ws = this.pongWaiters;
    this.pongWaiters = [];
    for (const w of ws) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    if (this.infoWaiter) {
      clearTimeout(this.infoWaiter.timer);
      this.infoWaiter.reject(err);
      this.infoWaiter = undefined;
    }
    this.opts.onFail?.(err);
    if (!this.socket.destroyed) this.socket.destroy();
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    const closed = this.failure ?? new BenchError(`${this.label}: connection closed`);
    for (const w of this.pongWaiters) {
      clearTimeout(w.timer);
      w.reject(closed);
    }
    this.pongWaiters = [];
    if (this.infoWaiter) {
      clearTimeout(this.infoWaiter.timer);
      this.infoWaiter.reject(closed);
      this.infoWaiter = undefined;
    }
    this.socket.destroy();
  }
}
