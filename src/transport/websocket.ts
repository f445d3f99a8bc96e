// NATS over WebSocket: the `websocket {}` block. An HTTP server whose only job is the upgrade;
// each accepted WebSocket becomes a Transport that the NATS protocol runs over unchanged.
// Binary (and text) frames carry raw protocol bytes in both directions, as a byte stream: frame
// payloads reach the parser as they arrive, whatever the frame and message boundaries. Behaviour
// follows nats-server's websocket support: its handshake checks and HTTP answers, origin checks,
// permessage-deflate when configured and asked for, X-Forwarded-For recorded for logs only, close
// frames with its status and reason per closed state, the listener closed in lame duck mode.
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { TLSSocket } from "node:tls";
import { isIP, type Socket } from "node:net";
import { createHash } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { constants as zlibConstants, createInflateRaw, deflateRawSync, type InflateRaw, type ZlibOptions } from "node:zlib";
import type { ResolvedWebSocketOptions } from "../config/options.js";
import type { Listener, Server } from "../server/server.js";
import { normalizeAddress } from "./tcp.js";
import { checkPinned, handshakeErrorText, isProbeError, tlsInfoOf, wrappedSocket } from "./tls.js";
import type { TlsPeer, TlsState, Transport } from "./transport.js";
import {
  CLOSE_GOING_AWAY, CLOSE_INVALID_DATA, CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, FrameReader, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG,
  closeFrameFor, closePayload, frameHeader, isValidCloseCode,
} from "./ws-frames.js";

/** nats-server compresses nothing smaller than this (wsCompressThreshold). */
const COMPRESS_THRESHOLD = 64;
/** How long a closing WebSocket may take to flush (and the peer to answer the close) before it is cut. */
const END_GRACE_MS = 5_000;
/** RFC 7692 §7.2.2: the tail a sender strips from each compressed message, put back to inflate it. */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * A Transport over one accepted WebSocket, framed here (ws-frames.ts) rather than by a library
 * that gathers whole messages: frame payloads go to the protocol parser as they arrive, as
 * nats-server's do. Each write is one binary frame.
 */
export class WebSocketTransport implements Transport {
  readonly type = "websocket" as const;
  /** The peer of the TCP connection. nats-server reports this as client_ip, not X-Forwarded-For. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * The first X-Forwarded-For value when it is an IP address. nats-server only shows it in the
   * connection's log prefix (`fwd/ip:port`); client_ip and monitoring keep the socket's peer.
   */
  readonly forwardedFor: string | undefined;
  /** permessage-deflate was negotiated */
  readonly compressed: boolean;
  /** the request path of the upgrade (`/`, `/mqtt`, ...) */
  readonly path: string;
  /** wss: the TLS session, and the verified client certificate's identity (with `verify`) */
  readonly tlsState?: TlsState;
  readonly tlsPeer?: TlsPeer;
  /** the close frame we sent, once sent (tests and logs) */
  closeSent: { code: number; text: string } | undefined;

  private error: Error | undefined;
  private dataCb: ((chunk: Buffer) => void) | undefined;
  private readonly drainCbs: (() => void)[] = [];
  private readonly reader: FrameReader;
  /** bytes received before onData, then while a compressed message is being inflated */
  private queued: Buffer[] = [];
  private inflating = false;
  private inflater: InflateRaw | undefined;
  private flowPaused = false;
  /** no more frames are read (a close was received, or the framing broke) */
  private readDone = false;
  private readonly deflateOptions: ZlibOptions | undefined;
  private readonly afterWrite = (err?: Error | null): void => {
    if (err || this.socket.writableLength > 0) return;
    for (const cb of this.drainCbs) cb();
  };

  constructor(
    private readonly socket: Socket,
    req: IncomingMessage,
    compression: { windowBits: number } | undefined,
    head: Buffer,
    private readonly shuttingDown: () => boolean = () => false,
  ) {
    this.remoteAddress = normalizeAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.forwardedFor = forwardedFor(req);
    this.compressed = compression !== undefined;
    if (compression) this.deflateOptions = { level: zlibConstants.Z_BEST_SPEED, windowBits: compression.windowBits };
    this.path = requestPath(req);
    if (socket instanceof TLSSocket) {
      const tls = tlsInfoOf(socket, false);
      this.tlsState = tls.state;
      if (tls.peer) this.tlsPeer = tls.peer;
    }
    this.reader = new FrameReader(
      {
        data: (b, compressed) => this.payload(b, compressed),
        messageEnd: (compressed) => this.messageEnd(compressed),
        control: (op, b) => this.controlFrame(op, b),
        error: (code, text) => this.protocolError(code, text),
      },
      this.compressed,
    );
    if (head.length > 0) this.queued.push(Buffer.from(head));
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.on("error", (e) => {
      this.error ??= e;
    });
    // the peer half-closed: finish what we write, then close (the upgrade sockets allow half-open)
    socket.on("end", () => {
      if (!socket.destroyed) socket.end();
    });
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  /** One binary frame per call: compressed when negotiated and worth it, else the chunks gathered behind one header. */
  write(chunks: Buffer[]): void {
    const s = this.socket;
    if (!s.writable || this.closeSent || chunks.length === 0) return;
    let total = 0;
    for (const c of chunks) total += c.length;
    if (this.deflateOptions && total >= COMPRESS_THRESHOLD) {
      // no context takeover: each message is compressed on its own, as nats-server does
      const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
      const z = deflateRawSync(data, { ...this.deflateOptions, finishFlush: zlibConstants.Z_SYNC_FLUSH });
      const body = z.subarray(0, z.length - DEFLATE_TAIL.length);
      s.cork();
      s.write(frameHeader(OP_BINARY, body.length, true));
      s.write(body, this.afterWrite);
      s.uncork();
      return;
    }
    s.cork();
    s.write(frameHeader(OP_BINARY, total));
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) s.write(chunks[i]);
    s.write(chunks[last], this.afterWrite);
    s.uncork();
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.dataCb = cb;
    this.socket.on("data", (chunk: Buffer) => this.received(chunk));
    this.drainQueued();
  }

  onClose(cb: (err?: Error) => void): void {
    this.socket.on("close", () => {
      this.inflater?.close();
      cb(this.error);
    });
  }

  onDrain(cb: () => void): void {
    this.drainCbs.push(cb);
  }

  pause(): void {
    this.flowPaused = true;
    this.socket.pause();
  }

  resume(): void {
    this.flowPaused = false;
    if (!this.inflating) this.socket.resume();
  }

  /**
   * Closes after what was written is sent, with the close frame nats-server sends for `reason`
   * (a connection's closed reason). Without a reason: 1001 while the server shuts down, else 1000.
   */
  end(reason?: string): void {
    if (this.socket.destroyed || this.closeSent) return;
    const frame =
      reason !== undefined
        ? closeFrameFor(reason)
        : this.shuttingDown()
          ? { code: CLOSE_GOING_AWAY, text: "Server Shutdown" }
          : { code: CLOSE_NORMAL, text: "" };
    if (frame) this.sendClose(frame.code, frame.text);
    this.finish();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ---- reading

  private received(chunk: Buffer): void {
    if (this.readDone) return; // after a close: read and drop, so the kernel does not reset
    if (this.inflating || this.queued.length > 0) {
      this.queued.push(chunk);
      return;
    }
    const rest = this.reader.push(chunk);
    if (rest && !this.readDone) this.queued.push(rest);
  }

  /** Reads what was held back (before onData, or during an inflate), until it is gone or reading stops again. */
  private drainQueued(): void {
    while (this.queued.length > 0 && !this.inflating && !this.readDone) {
      const chunk = this.queued.shift()!;
      const rest = this.reader.push(chunk);
      if (rest) this.queued.unshift(rest);
    }
    if (this.readDone) this.queued = [];
  }

  private payload(b: Buffer, compressed: boolean): void {
    if (this.readDone) return;
    if (!compressed) {
      this.dataCb?.(b);
      return;
    }
    // streamed through one inflater; its output comes back asynchronously, in order
    this.inflaterFor().write(b);
  }

  private messageEnd(compressed: boolean): boolean {
    if (!compressed || this.readDone) return true;
    const z = this.inflaterFor();
    z.write(DEFLATE_TAIL);
    // what follows this message waits until its last bytes are out of the inflater
    this.inflating = true;
    this.socket.pause();
    z.flush(() => {
      // (also called when the inflater failed or was closed: its error closes the connection)
      if (this.readDone || z.destroyed) return;
      // the peer compresses each message on its own (client_no_context_takeover)
      z.reset();
      this.inflating = false;
      if (!this.flowPaused) this.socket.resume();
      this.drainQueued();
    });
    return false;
  }

  private inflaterFor(): InflateRaw {
    if (this.inflater) return this.inflater;
    const z = createInflateRaw({ windowBits: 15 });
    z.on("data", (out: Buffer) => {
      if (!this.readDone) this.dataCb?.(out);
    });
    z.on("error", (e) => this.protocolError(CLOSE_INVALID_DATA, `invalid compressed data: ${e.message}`));
    this.inflater = z;
    return z;
  }

  private controlFrame(opcode: number, payload: Buffer): boolean {
    if (opcode === OP_PING) {
      this.sendControl(OP_PONG, payload);
      return true;
    }
    if (opcode !== OP_CLOSE) return true; // a pong
    // the peer closes: answer with its status (none if it gave none), then end
    if (payload.length === 1) {
      this.protocolError(CLOSE_PROTOCOL_ERROR, "invalid close frame payload");
      return false;
    }
    if (payload.length >= 2) {
      const code = payload.readUInt16BE(0);
      if (!isValidCloseCode(code)) {
        this.protocolError(CLOSE_PROTOCOL_ERROR, `invalid close status code ${code}`);
        return false;
      }
      const text = payload.subarray(2);
      if (!isUtf8(text)) {
        this.protocolError(CLOSE_INVALID_DATA, "invalid utf8 body in close frame");
        return false;
      }
      this.sendClose(code, text.toString("utf8"));
    } else {
      this.sendControl(OP_CLOSE, Buffer.alloc(0));
      this.closeSent = { code: 0, text: "" };
    }
    this.finish();
    return false;
  }

  /** The framing broke: say why in a close frame (as nats-server's wsHandleProtocolError), then close. */
  private protocolError(code: number, text: string): void {
    if (this.readDone) return;
    this.error ??= new Error(`websocket: ${text}`);
    this.sendClose(code, text);
    this.finish();
  }

  // ---- writing control frames and closing

  private sendControl(opcode: number, payload: Buffer): void {
    const s = this.socket;
    if (s.destroyed || !s.writable || this.closeSent) return;
    s.cork();
    s.write(frameHeader(opcode, payload.length));
    s.write(payload, this.afterWrite);
    s.uncork();
  }

  private sendClose(code: number, text: string): void {
    this.sendControl(OP_CLOSE, closePayload(code, text));
    this.closeSent ??= { code, text };
  }

  /** Stops reading frames, ends the socket after what is queued, and cuts it if that takes too long. */
  private finish(): void {
    this.readDone = true;
    this.queued = [];
    this.inflater?.close();
    const s = this.socket;
    // keep reading (and dropping) so unread input does not turn our close into a reset
    s.resume();
    if (!s.destroyed) s.end();
    setTimeout(() => s.destroy(), END_GRACE_MS).unref();
  }
}

/**
 * Where MQTT over WebSocket goes (`/mqtt`, or `Sec-WebSocket-Protocol: mqtt`). Until the MQTT
 * adapter passes one, such handshakes are refused with 404 as nats-server does when MQTT is off.
 */
export type MqttWebSocketHandler = (transport: WebSocketTransport, req: IncomingMessage) => void;

export interface WebSocketHooks {
  mqtt?: MqttWebSocketHandler;
}

type Kind = "nats" | "mqtt";

interface AllowedOrigin {
  scheme: string;
  port: string;
}

/** Starts the websocket listener from `server.options.websocket` and registers it with the server. */
export async function startWebSocket(server: Server, hooks: WebSocketHooks = {}): Promise<Listener> {
  const o = server.options.websocket;
  if (!o) throw new Error("websocket: no websocket configuration");
  validateWebSocketOptions(o);
  const log = server.logger;
  const origins = allowedOriginsMap(o.allowed_origins);
  const checkOrigins = o.same_origin || origins.size > 0;

  const pending = new Map<Socket, NodeJS.Timeout | undefined>();
  const transports = new Set<WebSocketTransport>();
  const shuttingDown = (): boolean => !server.running;

  /** nats-server's checks (wsUpgrade), in its order; undefined when the handshake may go on. */
  const check = (req: IncomingMessage, kind: Kind): [number, string] | undefined => {
    // MQTT over WebSocket is refused until the MQTT adapter passes `hooks.mqtt` (see below)
    if (kind === "mqtt" && !hooks.mqtt) return [404, "mqtt websocket endpoint not enabled"];
    if (req.method !== "GET") return [405, "request method must be GET"];
    if (!req.headers.host) return [400, "'Host' missing in request"];
    if (!headerContains(req, "upgrade", "websocket")) return [400, "invalid value for header 'Upgrade'"];
    if (!headerContains(req, "connection", "upgrade")) return [400, "invalid value for header 'Connection'"];
    const key = req.headers["sec-websocket-key"];
    if (!key) return [400, "key missing"];
    if (!/^[+/0-9A-Za-z]{22}==$/.test(key)) return [400, "invalid websocket key"];
    if (!headerContains(req, "sec-websocket-version", "13")) return [400, "invalid version"];
    if (checkOrigins) {
      const err = checkOrigin(req, o.same_origin, origins);
      if (err) return [403, `origin not allowed: ${err}`];
    }
    return undefined;
  };

  const handshakeError = (req: IncomingMessage, reason: string): void => {
    log.error(`${peer(req.socket)} - websocket handshake error: ${reason}`);
  };

  // wss: node:https does the TLS handshake (bounded by tls.timeout) and verifies client
  // certificates; the handshake timeout below covers TLS and the HTTP upgrade together, as
  // nats-server's ReadTimeout does. `pending` is keyed by the accepted (raw) socket.
  const tls = o.tls;
  const http = tls ? createHttpsServer({ ...tls.context, handshakeTimeout: tls.timeout_ms }) : createHttpServer();
  const rawOf = (s: Socket): Socket => (s instanceof TLSSocket ? wrappedSocket(s) ?? s : s);
  const forget = (raw: Socket): void => {
    clearTimeout(pending.get(raw));
    pending.delete(raw);
  };
  http.on("connection", (socket: Socket) => {
    socket.on("error", () => socket.destroy());
    const where = peer(socket); // (also keeps the peer's address once the socket is gone)
    const t =
      o.handshake_timeout_ms > 0
        ? setTimeout(() => {
            log.debug(`${where} - websocket handshake timeout`);
            pending.delete(socket);
            socket.destroy();
          }, o.handshake_timeout_ms)
        : undefined;
    pending.set(socket, t);
    socket.once("close", () => forget(socket));
  });
  if (tls) {
    const pinned = tls.pinned_certs ? new Set(tls.pinned_certs) : undefined;
    http.on("secureConnection", (s: TLSSocket) => {
      const raw = rawOf(s);
      s.once("close", () => forget(raw));
      const notPinned = checkPinned(s, pinned);
      if (notPinned) {
        log.error(`${peer(raw)} - websocket TLS handshake error: ${notPinned}`);
        s.destroy();
      }
    });
    http.on("tlsClientError", (err: Error, s: TLSSocket) => {
      s.destroy();
      const raw = rawOf(s);
      forget(raw);
      const text = handshakeErrorText(err, s);
      const line = `${peer(raw)} - websocket TLS handshake error: ${text}`;
      if (isProbeError(text)) log.debug(line);
      else log.error(line);
    });
  }

  // anything that is not an upgrade request is refused, as by nats-server's handler
  http.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const [status, reason] = check(req, kindOf(req)) ?? [400, "websocket upgrade not supported"];
    handshakeError(req, reason);
    sendHttpError(res, status);
  });

  http.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // (a wss socket refused by pinned_certs is already gone when its request is parsed)
    if (socket.destroyed || !socket.writable || !server.running || server.lameDuck) {
      socket.destroy();
      return;
    }
    const kind = kindOf(req);
    const bad = check(req, kind);
    if (bad) {
      handshakeError(req, bad[1]);
      rejectUpgrade(socket, bad[0]);
      return;
    }
    forget(rawOf(socket));
    const compression = o.compression ? deflateOffer(req) : undefined;
    const mqttProto = kind === "mqtt" && offersProtocol(req, "mqtt");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${acceptKey(req.headers["sec-websocket-key"]!)}\r\n` +
        (compression ? `Sec-WebSocket-Extensions: ${compression.response}\r\n` : "") +
        // nats-server names a sub-protocol only for MQTT
        (mqttProto ? "Sec-WebSocket-Protocol: mqtt\r\n" : "") +
        "\r\n",
    );
    const transport = new WebSocketTransport(socket, req, compression, head, shuttingDown);
    transports.add(transport);
    transport.onClose(() => transports.delete(transport));
    if (log.debugEnabled) {
      const fwd = transport.forwardedFor ? `${transport.forwardedFor}/` : "";
      const extra = transport.compressed ? " (compressed)" : "";
      log.debug(`${fwd}${peer(socket)} - websocket ${kind} connection upgraded${extra}`);
    }
    // ---- MQTT over WebSocket: the one place it is routed (to the MQTT adapter's handler) ----
    if (kind === "mqtt") hooks.mqtt!(transport, req);
    else server.addConnection(transport);
  });

  await new Promise<void>((resolve, reject) => {
    const failed = (e: Error): void => reject(new Error(`Unable to listen for websocket connections: ${e.message}`));
    http.once("error", failed);
    http.listen(o.port === -1 ? 0 : o.port, o.host, () => {
      http.off("error", failed);
      resolve();
    });
  });
  http.on("error", (e) => log.error(`websocket listener error: ${e.message}`));
  const addr = http.address();
  const port = typeof addr === "object" && addr ? addr.port : o.port;
  log.info(`Listening for websocket clients on ${tls ? "wss" : "ws"}://${o.host}:${port}`);
  if (!tls) log.warn("Websocket not configured with TLS. DO NOT USE IN PRODUCTION!");

  // the listener stops accepting in lame duck mode (as the client port): later upgrades are
  // refused by the OS, while the WebSocket clients already here are closed with the others
  let stopped: Promise<void> | undefined;
  const stopAccepting = (): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      // node calls back once every accepted socket is gone, the upgraded ones too
      http.close(() => resolve());
      for (const s of pending.keys()) s.destroy();
    });
    return stopped;
  };
  let closing: Promise<void> | undefined;
  const listener: Listener = {
    name: "websocket",
    port,
    stopAccepting(): void {
      void stopAccepting();
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        void stopAccepting().then(resolve);
        // the server closes its NATS clients (each with its reason) right after its listeners:
        // only what is still open then (MQTT over WebSocket) is ended here, as shut down
        setImmediate(() => {
          for (const t of transports) t.end("Server Shutdown");
        });
      });
      return closing;
    },
  };
  server.addListener(listener);
  return listener;
}

/** Start-up checks, with nats-server's texts (validateWebsocketOptions). */
export function validateWebSocketOptions(o: ResolvedWebSocketOptions): void {
  if (!o.no_tls && !o.tls) throw new Error("websocket requires TLS configuration");
  for (const ao of o.allowed_origins) {
    let u: URL;
    try {
      u = new URL(ao);
    } catch {
      throw new Error(`unable to parse allowed origin: parse ${JSON.stringify(ao)}: invalid URI for request`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") {
      throw new Error(
        `unable to parse allowed origin ${JSON.stringify(ao)}: allowed origins must be absolute URLs with http or https scheme`,
      );
    }
    const hp = authority(ao);
    if (!hp) throw new Error(`unable to parse allowed origin ${JSON.stringify(ao)}: host is required`);
    if (!hostAndPort(u.protocol === "https:", hp)) throw new Error(`unable to parse allowed origin: invalid host ${JSON.stringify(hp)}`);
  }
}

// ---- handshake helpers

function kindOf(req: IncomingMessage): Kind {
  if (requestPath(req).endsWith("/mqtt")) return "mqtt";
  const protos = req.headers["sec-websocket-protocol"];
  if (protos && protos.split(",").some((p) => p.trim().toLowerCase() === "mqtt")) return "mqtt";
  return "nats";
}

function requestPath(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const q = url.search(/[?#]/);
  return q === -1 ? url : url.slice(0, q);
}

/** Whether the comma-separated header `name` has the token `value` (case-insensitive). */
function headerContains(req: IncomingMessage, name: string, value: string): boolean {
  const h = req.headersDistinct[name];
  if (!h) return false;
  const v = value.toLowerCase();
  return h.some((line) => line.split(",").some((t) => t.trim().toLowerCase() === v));
}

function forwardedFor(req: IncomingMessage): string | undefined {
  const first = req.headersDistinct["x-forwarded-for"]?.[0];
  return first !== undefined && isIP(first) !== 0 ? first : undefined;
}

function peer(socket: Socket): string {
  const a = normalizeAddress(socket.remoteAddress);
  return `${a.includes(":") ? `[${a}]` : a}:${socket.remotePort ?? 0}`;
}

function httpErrorHead(status: number): { text: string; body: string } {
  const text = STATUS_CODES[status] ?? "Error";
  return { text, body: text + "\n" };
}

/** An HTTP error as Go's http.Error writes it, with nats-server's Sec-Websocket-Version header. */
function sendHttpError(res: ServerResponse, status: number): void {
  const { body } = httpErrorHead(status);
  res.writeHead(status, {
    "Sec-Websocket-Version": "13",
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": Buffer.byteLength(body),
    Connection: "close",
  });
  res.end(body);
}

function rejectUpgrade(socket: Socket, status: number): void {
  if (socket.destroyed) return;
  const { text, body } = httpErrorHead(status);
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\n` +
      "Sec-Websocket-Version: 13\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      "X-Content-Type-Options: nosniff\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}

// ---- origin checks (nats-server's checkOrigin: host, port and scheme must all match)

/** `host` → the schemes and ports allowed for it */
function allowedOriginsMap(list: string[]): Map<string, AllowedOrigin[]> {
  const m = new Map<string, AllowedOrigin[]>();
  for (const ao of list) {
    let scheme: string;
    try {
      scheme = new URL(ao).protocol.slice(0, -1);
    } catch {
      continue;
    }
    const hp = hostAndPort(scheme === "https", authority(ao) ?? "");
    if (!hp) continue;
    const [h, p] = hp;
    let arr = m.get(h);
    if (!arr) m.set(h, (arr = []));
    arr.push({ scheme, port: p });
  }
  return m;
}

/** Why the Origin is refused, or undefined when it is accepted. A missing Origin is accepted. */
function checkOrigin(req: IncomingMessage, sameOrigin: boolean, allowed: Map<string, AllowedOrigin[]>): string | undefined {
  const origin = header(req, "origin") || header(req, "sec-websocket-origin");
  if (!origin) return undefined;
  let scheme: string;
  try {
    scheme = new URL(origin).protocol.slice(0, -1);
  } catch {
    return `parse ${JSON.stringify(origin)}: invalid URI for request`;
  }
  const ohp = hostAndPort(scheme === "https", authority(origin) ?? "");
  if (!ohp) return `invalid origin ${JSON.stringify(origin)}`;
  const [oh, op] = ohp;
  if (sameOrigin) {
    // the request's own scheme: https on a TLS listener
    const overTls = req.socket instanceof TLSSocket;
    const rhp = hostAndPort(overTls, header(req, "host") ?? "");
    if (!rhp) return `invalid host ${JSON.stringify(header(req, "host"))}`;
    if (oh !== rhp[0] || op !== rhp[1] || scheme !== (overTls ? "https" : "http")) return "not same origin";
  }
  if (allowed.size > 0) {
    const list = allowed.get(oh);
    if (!list || !list.some((a) => a.scheme === scheme && a.port === op)) return "not in the allowed list";
  }
  return undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The `host[:port]` of an absolute URL, as written (ports are not normalised away). */
function authority(url: string): string | undefined {
  const i = url.indexOf("://");
  if (i === -1) return undefined;
  let rest = url.slice(i + 3);
  const end = rest.search(/[/?#]/);
  if (end !== -1) rest = rest.slice(0, end);
  const at = rest.lastIndexOf("@");
  if (at !== -1) rest = rest.slice(at + 1);
  return rest === "" ? undefined : rest;
}

/** Lower-cased host and port, the port defaulting by scheme (80/443); undefined if malformed. */
function hostAndPort(tls: boolean, hp: string): [string, string] | undefined {
  if (hp === "") return undefined;
  let host: string;
  let port: string;
  if (hp.startsWith("[")) {
    const close = hp.indexOf("]");
    if (close === -1) return undefined;
    host = hp.slice(1, close);
    const rest = hp.slice(close + 1);
    if (rest === "") port = "";
    else if (rest.startsWith(":")) port = rest.slice(1);
    else return undefined;
  } else {
    const colon = hp.indexOf(":");
    if (colon === -1) {
      host = hp;
      port = "";
    } else {
      if (hp.indexOf(":", colon + 1) !== -1) return undefined; // bare IPv6 needs brackets
      host = hp.slice(0, colon);
      port = hp.slice(colon + 1);
    }
  }
  if (port === "") port = tls ? "443" : "80";
  else if (!/^\d+$/.test(port)) return undefined;
  return [host.toLowerCase(), port];
}

// ---- handshake: accept key, compression offer, sub-protocols

function acceptKey(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** Whether the client lists `name` in Sec-WebSocket-Protocol. */
function offersProtocol(req: IncomingMessage, name: string): boolean {
  const h = req.headersDistinct["sec-websocket-protocol"];
  return h !== undefined && h.some((line) => line.split(",").some((p) => p.trim().toLowerCase() === name));
}

/**
 * The permessage-deflate answer to the client's first acceptable offer. As nats-server, neither
 * side keeps context between messages. A `server_max_window_bits` asked for is honoured (zlib
 * goes down to 9; an offer of 8 is passed over), as RFC 7692 §7.1.2.1 requires.
 */
function deflateOffer(req: IncomingMessage): { response: string; windowBits: number } | undefined {
  for (const line of req.headersDistinct["sec-websocket-extensions"] ?? []) {
    for (const ext of line.split(",")) {
      const [name, ...params] = ext.split(";").map((p) => p.trim());
      if (name.toLowerCase() !== "permessage-deflate") continue;
      let windowBits = 15;
      let asked: string | undefined;
      let ok = true;
      for (const p of params) {
        const [k, v] = p.split("=").map((x) => x.trim().replace(/^"(.*)"$/, "$1"));
        if (k.toLowerCase() !== "server_max_window_bits") continue;
        const n = Number(v);
        if (!/^\d+$/.test(v ?? "") || n < 9 || n > 15) ok = false;
        else {
          windowBits = n;
          asked = `; server_max_window_bits=${n}`;
        }
      }
      if (!ok) continue;
      return { response: `permessage-deflate; server_no_context_takeover; client_no_context_takeover${asked ?? ""}`, windowBits };
    }
  }
  return undefined;
}
