// Shared test helpers: servers on random ports and a raw protocol client.
import { connect as netConnect, createServer as netServer, type Socket } from "node:net";
import { startServer } from "../src/index.js";
import type { Options } from "../src/config/options.js";
import type { Server } from "../src/server/server.js";

export async function startTestServer(opts: Options = {}): Promise<Server> {
  return startServer({ host: "127.0.0.1", port: -1, ...opts });
}

/** A raw TCP client that records everything it receives, for protocol-level assertions. */
export class RawClient {
  text = "";
  closed = false;
  readonly closedPromise: Promise<void>;
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    socket.on("data", (b) => {
      this.text += b.toString("latin1");
      this.wake();
    });
    this.closedPromise = new Promise((r) =>
      socket.on("close", () => {
        this.closed = true;
        this.wake();
        r();
      }),
    );
    socket.on("error", () => {});
  }

  static async connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    const s = netConnect(port, host);
    await new Promise<void>((res, rej) => {
      s.once("connect", () => res());
      s.once("error", rej);
    });
    return new RawClient(s);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(s: string | Buffer): void {
    this.socket.write(s);
  }

  /** Waits until the received text matches `re` (or the connection closes, or time runs out). */
  async waitFor(re: RegExp, ms = 3000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.text.match(re);
      if (m) return m;
      if (this.closed) throw new Error(`closed before ${re}; got ${JSON.stringify(this.text.slice(-500))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; got ${JSON.stringify(this.text.slice(-500))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitClosed(ms = 3000): Promise<void> {
    await Promise.race([
      this.closedPromise,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`not closed; got ${JSON.stringify(this.text.slice(-300))}`)), ms)),
    ]);
  }

  /** Reads INFO, sends CONNECT (with `connect` fields) and a PING, waits for the PONG. */
  async handshake(connect: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const m = await this.waitFor(/^INFO (.*)\r\n/);
    this.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, headers: true, ...connect })}\r\nPING\r\n`);
    await this.waitFor(/PONG\r\n/);
    return JSON.parse(m[1]);
  }

  close(): void {
    this.socket.destroy();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true. */
export async function until(fn: () => boolean | Promise<boolean>, ms = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A port that was free a moment ago (for servers started by other programs). */
export async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
