// NATS over WebSocket: the `websocket {}` block. An HTTP server whose only job is the upgrade;
// each accepted WebSocket becomes a Transport that the NATS protocol runs over unchanged.
// Binary (and text) messages carry raw protocol bytes in both directions. Behaviour follows
// nats-server's websocket support: its handshake checks and HTTP answers, origin checks,
// permessage-deflate when configured and asked for, X-Forwarded-For recorded for logs only.
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { TLSSocket } from "node:tls";
import { isIP, type Socket } from "node:net";
import { WebSocketServer, WebSocket, type RawData } from "ws";
import type { ResolvedWebSocketOptions } from "../config/options.js";
import type { Listener, Server } from "../server/server.js";
import { normalizeAddress } from "./tcp.js";
import { checkPinned, handshakeErrorText, isProbeError, tlsInfoOf, wrappedSocket } from "./tls.js";
import type { TlsPeer, TlsState, Transport } from "./transport.js";

/** nats-server compresses nothing smaller than this (wsCompressThreshold). */
const COMPRESS_THRESHOLD = 64;
/** Outbound chunks smaller than this are merged into one frame instead of a frame each. */
const MERGE_BELOW = 4 * 1024;
/** How long a closing WebSocket may take to flush before it is cut. */
const END_GRACE_MS = 5_000;
/** WebSocket close codes (RFC 6455 §7.4.1). */
const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;

/** A Transport over one accepted WebSocket. */
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

  private error: Error | undefined;
  private waitingDrain = false;
  private drainCbs: (() => void)[] = [];
  private readonly afterSend = (err?: Error | null): void => {
    if (err || !this.waitingDrain || this.ws.bufferedAmount > 0) return;
    this.waitingDrain = false;
    for (const cb of this.drainCbs) cb();
  };

  constructor(
    private readonly ws: WebSocket,
    socket: Socket,
    req: IncomingMessage,
    private readonly shuttingDown: () => boolean = () => false,
  ) {
    this.remoteAddress = normalizeAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.forwardedFor = forwardedFor(req);
    this.compressed = ws.extensions.includes("permessage-deflate");
    this.path = requestPath(req);
    if (socket instanceof TLSSocket) {
      const tls = tlsInfoOf(socket, false);
      this.tlsState = tls.state;
      if (tls.peer) this.tlsPeer = tls.peer;
    }
    // ws emits 'error' on bad frames; an unheard 'error' would throw, so always listen
    ws.on("error", (e) => {
      this.error ??= e;
    });
  }

  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  /** One WebSocket binary message per call: small chunks merged, large ones as fragments. */
  write(chunks: Buffer[]): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN || chunks.length === 0) return;
    if (chunks.length === 1) {
      ws.send(chunks[0], { binary: true, compress: this.compressed, fin: true }, this.afterSend);
    } else if (this.compressed) {
      // ws decides on compression with the first fragment: give it the whole message
      ws.send(Buffer.concat(chunks), { binary: true, compress: true, fin: true }, this.afterSend);
    } else {
      const parts = mergeSmall(chunks);
      const last = parts.length - 1;
      for (let i = 0; i < last; i++) ws.send(parts[i], { binary: true, compress: false, fin: false });
      ws.send(parts[last], { binary: true, compress: false, fin: true }, this.afterSend);
    }
    if (ws.bufferedAmount > 0) this.waitingDrain = true;
  }

  onData(cb: (chunk: Buffer) => void): void {
    // text messages are taken as bytes too, as nats-server does
    this.ws.on("message", (data: RawData) => cb(toBuffer(data)));
  }

  onClose(cb: (err?: Error) => void): void {
    this.ws.on("close", () => cb(this.error));
  }

  onDrain(cb: () => void): void {
    this.drainCbs.push(cb);
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  end(): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.close(this.shuttingDown() ? CLOSE_GOING_AWAY : CLOSE_NORMAL);
    // a peer that never reads (or never answers the close) must not keep the socket forever
    setTimeout(() => ws.terminate(), END_GRACE_MS).unref();
  }

  destroy(): void {
    this.ws.terminate();
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

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: o.compression
      ? { threshold: COMPRESS_THRESHOLD, serverNoContextTakeover: true, clientNoContextTakeover: true }
      : false,
    maxPayload: maxMessageSize(server.options.max_payload, server.options.max_control_line),
    // NATS bytes are not UTF-8 text; a text frame is taken as bytes
    skipUTF8Validation: true,
    // nats-server echoes a sub-protocol only for MQTT
    handleProtocols: (protocols, req) => (kindOf(req) === "mqtt" && protocols.has("mqtt") ? "mqtt" : false),
  });

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
    if (!server.running || server.lameDuck) {
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
    wss.handleUpgrade(req, socket, head, (ws) => {
      forget(rawOf(socket));
      if (!server.running || server.lameDuck) {
        ws.terminate();
        return;
      }
      const transport = new WebSocketTransport(ws, socket, req, shuttingDown);
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
  });

  // handshakes ws itself refuses after our checks passed (bad extension or protocol headers)
  wss.on("wsClientError", (err: Error, socket: Socket, req: IncomingMessage) => {
    handshakeError(req, err.message);
    rejectUpgrade(socket, 400);
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

  let closing: Promise<void> | undefined;
  const listener: Listener = {
    name: "websocket",
    port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        http.close(() => resolve());
        wss.close();
        for (const s of pending.keys()) s.destroy();
        for (const t of transports) t.end();
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

// ---- data helpers

/**
 * The largest WebSocket message accepted. ws collects a whole message before handing it on
 * (nats-server streams uncompressed frames into its parser), so this bounds memory per
 * connection. nats-server bounds compressed messages by 8 × max_payload (at most 64MB); clients
 * batch many publications into one message, so here it is 8 × max_payload, at least 64MB.
 */
function maxMessageSize(maxPayload: number, maxControlLine: number): number {
  return Math.max(64 * 1024 * 1024, 8 * (maxPayload + maxControlLine));
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Merges runs of small chunks so a message is not split into many tiny frames. */
function mergeSmall(chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const flushRun = (): void => {
    if (run.length === 1) out.push(run[0]);
    else if (run.length > 1) out.push(Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const c of chunks) {
    if (c.length >= MERGE_BELOW) {
      flushRun();
      out.push(c);
    } else {
      run.push(c);
      runBytes += c.length;
      if (runBytes >= MERGE_BELOW) flushRun();
    }
  }
  flushRun();
  return out;
}
