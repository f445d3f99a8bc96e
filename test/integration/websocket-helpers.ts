// Helpers for the WebSocket tests: options, a raw `ws` client that records what it receives and
// how it was closed, and a hand-framed client over plain TCP for frames no library would send.
import { connect as netConnect, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { constants as zlibConstants, inflateRawSync } from "node:zlib";
import WebSocket from "ws";
import { DEFAULTS, type ResolvedOptions, type ResolvedWebSocketOptions } from "../../src/config/options.js";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(fn: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function resolved(ws: Partial<ResolvedWebSocketOptions> = {}, over: Partial<ResolvedOptions> = {}): ResolvedOptions {
  return {
    host: "127.0.0.1",
    port: -1,
    http_port: 0,
    http_host: DEFAULTS.http_host,
    http_base_path: "",
    max_payload: DEFAULTS.max_payload,
    max_control_line: DEFAULTS.max_control_line,
    max_pending: DEFAULTS.max_pending,
    max_connections: 0,
    max_subscriptions: 0,
    ping_interval_ms: DEFAULTS.ping_interval_ms,
    ping_max: DEFAULTS.ping_max,
    write_deadline_ms: DEFAULTS.write_deadline_ms,
    no_header_support: false,
    disable_sublist_cache: false,
    auth_timeout_ms: DEFAULTS.auth_timeout_ms,
    debug: false,
    trace: false,
    logtime: false,
    lame_duck_duration_ms: DEFAULTS.lame_duck_duration_ms,
    lame_duck_grace_period_ms: DEFAULTS.lame_duck_grace_period_ms,
    users: [],
    accounts: [],
    system_account: "$SYS",
    websocket: {
      host: "127.0.0.1",
      port: -1,
      no_tls: true,
      compression: false,
      same_origin: false,
      allowed_origins: [],
      handshake_timeout_ms: 2000,
      ...ws,
    },
    ...over,
  };
}

/** A raw ws client that records received protocol text and the close it got. */
export class RawWs {
  text = "";
  closed = false;
  closeCode = 0;
  closeReason = "";
  constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => (this.text += (d as Buffer).toString("latin1")));
    ws.on("close", (code, reason) => {
      this.closed = true;
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
    ws.on("error", () => {});
  }
  static async open(port: number, opts: WebSocket.ClientOptions = {}): Promise<RawWs> {
    // listen before 'open': INFO may arrive in the same chunk as the 101 response
    const c = new RawWs(new WebSocket(`ws://127.0.0.1:${port}`, opts));
    await new Promise<void>((resolve, reject) => {
      c.ws.once("open", () => resolve());
      c.ws.once("unexpected-response", (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
      c.ws.once("error", reject);
    });
    return c;
  }
  send(s: string | Buffer): void {
    this.ws.send(typeof s === "string" ? Buffer.from(s) : s);
  }
  async waitFor(re: RegExp, ms = 3000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.text.match(re);
      if (m) return m;
      if (this.closed || Date.now() > deadline) {
        throw new Error(`${this.closed ? "closed" : "timed out"} before ${re}; got ${JSON.stringify(this.text.slice(-300))}`);
      }
      await sleep(10);
    }
  }
  async handshake(connect = `{"verbose":false,"pedantic":false,"protocol":1,"headers":true}`): Promise<void> {
    await this.waitFor(/^INFO .*\r\n/);
    this.send(`CONNECT ${connect}\r\nPING\r\n`);
    await this.waitFor(/PONG\r\n/);
  }
  /** Waits for the close; resolves with its code and reason. */
  async closedWith(ms = 5000): Promise<{ code: number; reason: string }> {
    await until(() => this.closed, ms, "websocket close");
    return { code: this.closeCode, reason: this.closeReason };
  }
}

/** One client frame (masked, as clients must), with header fields a test may bend. */
export function clientFrame(
  opcode: number,
  payload: Buffer | string,
  opts: { fin?: boolean; rsv1?: boolean; length?: number; mask?: boolean } = {},
): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  const len = opts.length ?? body.length;
  const masked = opts.mask ?? true;
  const b0 = ((opts.fin ?? true) ? 0x80 : 0) | (opts.rsv1 ? 0x40 : 0) | opcode;
  let head: Buffer;
  if (len < 126) head = Buffer.from([b0, len]);
  else if (len < 0x10000) {
    head = Buffer.from([b0, 126, 0, 0]);
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!masked) return Buffer.concat([head, body]);
  head[1] |= 0x80;
  const key = randomBytes(4);
  const out = Buffer.from(body);
  for (let i = 0; i < out.length; i++) out[i] ^= key[i & 3];
  return Buffer.concat([head, key, out]);
}

/** A WebSocket client over plain TCP, handshake and frames by hand; records the server's frames. */
export class FramedSocket {
  /** payload text of the server's data frames, in order */
  text = "";
  /** the server's close frame, if any */
  close: { code: number; reason: string } | undefined;
  pongs: Buffer[] = [];
  ended = false;
  private buf = Buffer.alloc(0);
  private upgraded = false;
  private constructor(readonly socket: Socket) {
    socket.on("data", (b: Buffer) => this.onData(b));
    socket.on("close", () => (this.ended = true));
    socket.on("error", () => {});
  }
  static async open(port: number, path = "/", extraHeaders = ""): Promise<FramedSocket> {
    const s = netConnect(port, "127.0.0.1");
    const f = new FramedSocket(s);
    await new Promise<void>((r, j) => {
      s.once("connect", () => r());
      s.once("error", j);
    });
    s.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
    );
    await until(() => f.upgraded || f.ended, 3000, "101 Switching Protocols");
    if (!f.upgraded) throw new Error("upgrade refused");
    return f;
  }
  write(frame: Buffer): void {
    this.socket.write(frame);
  }
  async waitFor(re: RegExp, ms = 3000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.text.match(re);
      if (m) return m;
      if (this.ended || Date.now() > deadline) {
        throw new Error(`${this.ended ? "closed" : "timed out"} before ${re}; got ${JSON.stringify(this.text.slice(-300))}`);
      }
      await sleep(10);
    }
  }
  private onData(b: Buffer): void {
    this.buf = Buffer.concat([this.buf, b]);
    if (!this.upgraded) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end === -1) return;
      if (!/^HTTP\/1\.1 101 /.test(this.buf.toString("latin1", 0, end))) return;
      this.upgraded = true;
      this.buf = this.buf.subarray(end + 4);
    }
    for (;;) {
      if (this.buf.length < 2) return;
      const op = this.buf[0] & 0x0f;
      const compressed = (this.buf[0] & 0x40) !== 0;
      let len = this.buf[1] & 0x7f;
      let p = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        p = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        p = 10;
      }
      if (this.buf.length < p + len) return;
      const payload = this.buf.subarray(p, p + len);
      this.buf = this.buf.subarray(p + len);
      if (op === 0x8) this.close = { code: payload.length >= 2 ? payload.readUInt16BE(0) : 0, reason: payload.subarray(2).toString() };
      else if (op === 0xa) this.pongs.push(Buffer.from(payload));
      // (servers compress each message on its own: no context to keep)
      else if (compressed) this.text += inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString("latin1");
      else this.text += payload.toString("latin1");
    }
  }
}
