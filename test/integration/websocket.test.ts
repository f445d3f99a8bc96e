// NATS over WebSocket with the official client (wsconnect from @nats-io/nats-core) and raw `ws`
// clients: pub/sub, request/reply, headers, large messages, TCP ⇄ WebSocket, compression,
// origin checks, handshake refusals, bad input, slow consumers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect, type Socket } from "node:net";
import { wsconnect, headers as natsHeaders, type NatsConnection, type Msg } from "@nats-io/nats-core";
import { connect as tcpConnect } from "@nats-io/transport-node";
import WebSocket from "ws";
import type { ResolvedOptions, ResolvedWebSocketOptions } from "../../src/config/options.js";
import { Server } from "../../src/server/server.js";
import { startWebSocket, WebSocketTransport } from "../../src/transport/websocket.js";
import { Logger } from "../../src/logger.js";
import { RawWs, resolved, sleep, until } from "./websocket-helpers.js";

interface Started {
  server: Server;
  wsPort: number;
  logs: string[];
}

const servers: Server[] = [];
const conns: NatsConnection[] = [];

async function start(ws: Partial<ResolvedWebSocketOptions> = {}, over: Partial<ResolvedOptions> = {}): Promise<Started> {
  const logs: string[] = [];
  const server = new Server(resolved(ws, over), new Logger({ debug: true, logtime: false, sink: (l) => logs.push(l) }));
  await server.start();
  servers.push(server);
  const l = await startWebSocket(server);
  return { server, wsPort: l.port, logs };
}

/** nats-core's wsconnect needs a WebSocket; Node 20 has none globally, so hand it ws's. */
async function wsClient(port: number, opts: Record<string, unknown> = {}, wsOpts: WebSocket.ClientOptions = {}): Promise<NatsConnection> {
  const nc = await wsconnect({
    servers: `ws://127.0.0.1:${port}`,
    wsFactory: async (u: string) => ({ socket: new WebSocket(u, wsOpts) as unknown as globalThis.WebSocket, encrypted: false }),
    ...opts,
  } as Parameters<typeof wsconnect>[0]);
  conns.push(nc);
  return nc;
}

async function tcpClient(port: number): Promise<NatsConnection> {
  const nc = await tcpConnect({ servers: `nats://127.0.0.1:${port}` });
  conns.push(nc as unknown as NatsConnection);
  return nc as unknown as NatsConnection;
}

function collect(nc: NatsConnection, subject: string): Msg[] {
  const got: Msg[] = [];
  nc.subscribe(subject, {
    callback: (_e, m) => {
      got.push(m);
    },
  });
  return got;
}

/** Opens a raw ws client; resolves with it once open, or with the HTTP status of a refusal. */
function rawWs(url: string, opts: WebSocket.ClientOptions = {}, protocols?: string | string[]): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = protocols === undefined ? new WebSocket(url, opts) : new WebSocket(url, protocols, opts);
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once("error", (e) => reject(e));
  });
}

/** A plain HTTP exchange over TCP: returns the status line's code. */
async function httpStatus(port: number, request: string): Promise<{ status: number; text: string }> {
  const s = netConnect(port, "127.0.0.1");
  let text = "";
  s.on("data", (b) => (text += b.toString("latin1")));
  await new Promise<void>((r) => s.once("connect", () => r()));
  s.write(request);
  await new Promise<void>((r) => {
    s.on("close", () => r());
    s.on("error", () => r());
    setTimeout(() => {
      s.destroy();
      r();
    }, 2000);
  });
  const m = text.match(/^HTTP\/1\.1 (\d{3})/);
  return { status: m ? Number(m[1]) : 0, text };
}

let main: Started;

before(async () => {
  main = await start();
});

after(async () => {
  for (const nc of conns) if (!nc.isClosed()) await nc.close().catch(() => {});
  for (const s of servers) await s.close();
});

test("listener is registered and reported", () => {
  assert.ok(main.wsPort > 0);
  assert.equal(main.server.listeners.get("websocket")?.port, main.wsPort);
  assert.deepEqual(main.server.portsInfo().websocket, [`ws://127.0.0.1:${main.wsPort}`]);
  assert.ok(main.logs.some((l) => l.includes(`Listening for websocket clients on ws://127.0.0.1:${main.wsPort}`)));
});

test("pub/sub over WebSocket with the official client", async () => {
  const nc = await wsClient(main.wsPort);
  assert.equal(nc.info?.server_id, main.server.serverId);
  const got = collect(nc, "ws.pubsub.>");
  await nc.flush();
  for (let i = 0; i < 100; i++) nc.publish(`ws.pubsub.${i}`, `m${i}`);
  await nc.flush();
  await until(() => got.length === 100, 3000, "100 messages");
  assert.equal(got[0].subject, "ws.pubsub.0");
  assert.equal(got[99].string(), "m99");
  const c = [...main.server.clients.values()].find((x) => x.transport.type === "websocket");
  assert.ok(c, "a websocket client is registered");
  assert.equal(c.transport.remoteAddress, "127.0.0.1");
});

test("request/reply over WebSocket", async () => {
  const a = await wsClient(main.wsPort);
  const b = await wsClient(main.wsPort);
  a.subscribe("ws.echo", { callback: (_e, m) => {
      m.respond(`echo:${m.string()}`);
    }, });
  await a.flush();
  const r = await b.request("ws.echo", "hi", { timeout: 2000 });
  assert.equal(r.string(), "echo:hi");
});

test("headers over WebSocket", async () => {
  const nc = await wsClient(main.wsPort);
  const got = collect(nc, "ws.hdr");
  await nc.flush();
  const h = natsHeaders();
  h.set("X-Test", "yes");
  h.append("X-Multi", "1");
  h.append("X-Multi", "2");
  nc.publish("ws.hdr", "body", { headers: h });
  await until(() => got.length === 1);
  assert.equal(got[0].headers?.get("X-Test"), "yes");
  assert.deepEqual(got[0].headers?.values("X-Multi"), ["1", "2"]);
  assert.equal(got[0].string(), "body");
});

test("messages larger than 64KB, both ways", async () => {
  const nc = await wsClient(main.wsPort);
  const got = collect(nc, "ws.big");
  await nc.flush();
  const sizes = [70 * 1024, 300 * 1024, 1024 * 1024 - 512];
  const payloads = sizes.map((n, i) => Buffer.alloc(n, 97 + i));
  for (const p of payloads) nc.publish("ws.big", p);
  await until(() => got.length === sizes.length, 5000, "big messages");
  for (let i = 0; i < sizes.length; i++) assert.ok(Buffer.from(got[i].data).equals(payloads[i]), `payload ${i}`);
});

test("a TCP client and a WebSocket client exchange messages", async () => {
  const ws = await wsClient(main.wsPort);
  const tcp = await tcpClient(main.server.port);
  const atWs = collect(ws, "x.to.ws");
  const atTcp = collect(tcp, "x.to.tcp");
  await ws.flush();
  await tcp.flush();
  tcp.publish("x.to.ws", "from tcp");
  ws.publish("x.to.tcp", "from ws");
  const big = Buffer.alloc(200 * 1024, 7);
  tcp.publish("x.to.ws", big);
  await until(() => atWs.length === 2 && atTcp.length === 1, 3000, "cross delivery");
  assert.equal(atWs[0].string(), "from tcp");
  assert.ok(Buffer.from(atWs[1].data).equals(big));
  assert.equal(atTcp[0].string(), "from ws");
  // request/reply across transports
  tcp.subscribe("x.svc", { callback: (_e, m) => {
      m.respond("tcp answers");
    }, });
  await tcp.flush();
  const r = await ws.request("x.svc", "q", { timeout: 2000 });
  assert.equal(r.string(), "tcp answers");
});

test("text frames are taken as protocol bytes; one message may hold many frames and split them", async () => {
  const c = await RawWs.open(main.wsPort);
  await c.handshake();
  c.ws.send("SUB t.text 1\r\nPUB t.text 5\r\nhel", { binary: false });
  c.ws.send("lo\r\nPI", { binary: true });
  c.ws.send("NG\r\n", { binary: false });
  await c.waitFor(/PONG\r\n[\s\S]*MSG t\.text 1 5\r\nhello\r\n[\s\S]*PONG\r\n/);
  c.ws.close();
});

test("no compression unless configured", async () => {
  // the ws client offers permessage-deflate by default
  const ws = await rawWs(`ws://127.0.0.1:${main.wsPort}`);
  assert.ok(ws instanceof WebSocket);
  assert.equal(ws.extensions, "");
  ws.close();
});

test("compression: permessage-deflate negotiated when asked, traffic flows", async () => {
  const s = await start({ compression: true });
  const raw = await rawWs(`ws://127.0.0.1:${s.wsPort}`);
  assert.ok(raw instanceof WebSocket);
  assert.match(raw.extensions, /permessage-deflate/);
  raw.close();
  // a client that does not ask gets none
  const plain = await rawWs(`ws://127.0.0.1:${s.wsPort}`, { perMessageDeflate: false });
  assert.ok(plain instanceof WebSocket);
  assert.equal(plain.extensions, "");
  plain.close();

  const nc = await wsClient(s.wsPort);
  const other = await wsClient(s.wsPort, {}, { perMessageDeflate: false });
  const got = collect(nc, "z.>");
  const gotOther = collect(other, "z.>");
  await nc.flush();
  await other.flush();
  const big = Buffer.from("compressible ".repeat(50_000));
  nc.publish("z.small", "s");
  nc.publish("z.big", big);
  await until(() => got.length === 2 && gotOther.length === 2, 5000, "compressed delivery");
  assert.ok(Buffer.from(got[1].data).equals(big));
  assert.ok(Buffer.from(gotOther[1].data).equals(big));
  const kinds = [...s.server.clients.values()].map((c) => (c.transport as WebSocketTransport).compressed).sort();
  assert.deepEqual(kinds, [false, true]);
});

test("allowed_origins: a listed origin passes, others get 403 and are logged", async () => {
  const s = await start({ allowed_origins: ["http://good.example.com", "https://secure.example.com:8443"] });
  const url = `ws://127.0.0.1:${s.wsPort}`;
  const ok = await rawWs(url, { origin: "http://good.example.com" });
  assert.ok(ok instanceof WebSocket);
  ok.close();
  const ok2 = await rawWs(url, { origin: "https://secure.example.com:8443" });
  assert.ok(ok2 instanceof WebSocket);
  ok2.close();
  assert.equal(await rawWs(url, { origin: "http://bad.example.com" }), 403);
  // scheme and port are compared too
  assert.equal(await rawWs(url, { origin: "https://good.example.com" }), 403);
  assert.equal(await rawWs(url, { origin: "http://good.example.com:8080" }), 403);
  assert.equal(await rawWs(url, { origin: "https://secure.example.com" }), 403);
  // no Origin at all is accepted (not a browser)
  const none = await rawWs(url);
  assert.ok(none instanceof WebSocket);
  none.close();
  await until(() => s.logs.some((l) => /websocket handshake error: origin not allowed: not in the allowed list/.test(l)));
});

test("same_origin: Origin must match the Host", async () => {
  const s = await start({ same_origin: true });
  const url = `ws://127.0.0.1:${s.wsPort}`;
  const ok = await rawWs(url, { origin: `http://127.0.0.1:${s.wsPort}` });
  assert.ok(ok instanceof WebSocket);
  ok.close();
  assert.equal(await rawWs(url, { origin: `http://127.0.0.1:${s.wsPort + 1}` }), 403);
  assert.equal(await rawWs(url, { origin: "http://example.com" }), 403);
  assert.equal(await rawWs(url, { origin: `https://127.0.0.1:${s.wsPort}` }), 403);
  await until(() => s.logs.some((l) => /origin not allowed: not same origin/.test(l)));
});

test("requests that are not WebSocket upgrades get a 4xx", async () => {
  const url = `http://127.0.0.1:${main.wsPort}/`;
  const get = await fetch(url);
  assert.equal(get.status, 400);
  assert.equal(get.headers.get("sec-websocket-version"), "13");
  await get.text();
  const post = await fetch(url, { method: "POST", body: "x" });
  assert.equal(post.status, 405);
  await post.text();
  // an upgrade with a bad key or version
  const key = "dGhlIHNhbXBsZSBub25jZQ==";
  const badKey = await httpStatus(
    main.wsPort,
    `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  assert.equal(badKey.status, 400);
  const badVersion = await httpStatus(
    main.wsPort,
    `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 12\r\n\r\n`,
  );
  assert.equal(badVersion.status, 400);
  assert.ok(main.logs.some((l) => l.includes("websocket handshake error: invalid value for header 'Upgrade'")));
  assert.ok(main.logs.some((l) => l.includes("websocket handshake error: invalid version")));
});

test("MQTT over WebSocket is refused until the MQTT adapter exists", async () => {
  assert.equal(await rawWs(`ws://127.0.0.1:${main.wsPort}/mqtt`), 404);
  assert.equal(await rawWs(`ws://127.0.0.1:${main.wsPort}`, {}, "mqtt"), 404);
  assert.ok(main.logs.some((l) => l.includes("mqtt websocket endpoint not enabled")));
});

test("garbage NATS protocol over a WebSocket closes that connection only", async () => {
  const bystander = await wsClient(main.wsPort);
  const got = collect(bystander, "still.alive");
  await bystander.flush();
  const c = await RawWs.open(main.wsPort);
  await c.handshake();
  c.send(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x0d, 0x0a]));
  await c.waitFor(/-ERR 'Unknown Protocol Operation'\r\n/);
  await until(() => c.closed, 3000, "garbage client closed");
  bystander.publish("still.alive", "yes");
  await until(() => got.length === 1);
});

test("invalid WebSocket frames close that connection only", async () => {
  const bystander = await wsClient(main.wsPort);
  const got = collect(bystander, "still.alive2");
  await bystander.flush();
  const before = main.server.clients.size;
  // a hand-made handshake, then bytes that are no WebSocket frame (unmasked, reserved opcode)
  const s: Socket = netConnect(main.wsPort, "127.0.0.1");
  let text = "";
  let closed = false;
  s.on("data", (b) => (text += b.toString("latin1")));
  s.on("close", () => (closed = true));
  s.on("error", () => {});
  await new Promise<void>((r) => s.once("connect", () => r()));
  s.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await until(() => text.includes("INFO "), 3000, "INFO after upgrade");
  assert.match(text, /^HTTP\/1\.1 101 /);
  await until(() => main.server.clients.size === before + 1);
  s.write(Buffer.from([0x8f, 0x05, 1, 2, 3, 4, 5, 0xff, 0xff, 0xff]));
  await until(() => closed, 3000, "socket closed");
  await until(() => main.server.clients.size === before, 3000, "client removed");
  bystander.publish("still.alive2", "yes");
  await until(() => got.length === 1);
});

test("a stalled handshake is cut after handshake_timeout", async () => {
  const s = await start({ handshake_timeout_ms: 200 });
  const sock = netConnect(s.wsPort, "127.0.0.1");
  sock.on("error", () => {});
  const t0 = Date.now();
  await new Promise<void>((r) => sock.once("connect", () => r()));
  sock.write("GET / HTTP/1.1\r\nHost: x\r\n"); // never finished
  await new Promise<void>((r) => sock.once("close", () => r()));
  const took = Date.now() - t0;
  assert.ok(took >= 150 && took < 2000, `closed after ${took}ms`);
});

test("X-Forwarded-For is recorded for logs; client_ip stays the peer address", async () => {
  const c = await RawWs.open(main.wsPort, { headers: { "X-Forwarded-For": "10.1.2.3" } });
  const m = await c.waitFor(/^INFO (.*)\r\n/);
  const info = JSON.parse(m[1]);
  assert.equal(info.client_ip, "127.0.0.1");
  const conn = main.server.clients.get(info.client_id);
  assert.ok(conn);
  assert.equal((conn.transport as WebSocketTransport).forwardedFor, "10.1.2.3");
  assert.equal(conn.transport.type, "websocket");
  c.ws.close();
});

test("no_tls false without a TLS block fails start-up", async () => {
  const server = new Server(resolved({ no_tls: false }));
  await server.start();
  servers.push(server);
  await assert.rejects(startWebSocket(server), /websocket requires TLS configuration/);
  assert.equal(server.listeners.get("websocket"), undefined);
});

test("bad allowed_origins fail start-up", async () => {
  const server = new Server(resolved({ allowed_origins: ["ftp://x.example.com"] }));
  await server.start();
  servers.push(server);
  await assert.rejects(startWebSocket(server), /allowed origins must be absolute URLs with http or https scheme/);
});

test("a fast WebSocket reader is not taken for a slow consumer (drain clears the write deadline)", async () => {
  const s = await start({}, { write_deadline_ms: 300 });
  const nc = await wsClient(s.wsPort);
  const got = collect(nc, "burst");
  await nc.flush();
  const pub = await tcpClient(s.server.port);
  const p = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; i < 200; i++) pub.publish("burst", p);
  await pub.flush();
  await until(() => got.length === 200, 10000, "burst delivered");
  await sleep(600);
  assert.equal(s.server.stats.slowConsumers, 0);
  assert.equal(nc.isClosed(), false);
  await nc.flush();
});

test("a WebSocket client that stops reading becomes a slow consumer", async () => {
  const s = await start({}, { max_pending: 512 * 1024 });
  const c = await RawWs.open(s.wsPort, { perMessageDeflate: false });
  await c.handshake();
  c.send("SUB slow 1\r\nPING\r\n");
  await c.waitFor(/PONG\r\n[\s\S]*PONG\r\n/);
  const sock = (c.ws as unknown as { _socket: Socket })._socket;
  sock.pause();
  const pub = await tcpClient(s.server.port);
  const p = Buffer.alloc(64 * 1024, 2);
  for (let i = 0; i < 400 && s.server.stats.slowConsumers === 0; i++) {
    pub.publish("slow", p);
    if (i % 20 === 19) await pub.flush();
  }
  await until(() => s.server.stats.slowConsumers === 1, 5000, "slow consumer");
  assert.ok(s.logs.some((l) => l.includes("Slow Consumer Detected")));
  sock.resume();
});

test("server shutdown closes WebSocket clients", async () => {
  const s = await start();
  const c = await RawWs.open(s.wsPort);
  await c.handshake();
  await s.server.close();
  await until(() => c.closed, 3000, "client closed by shutdown");
  assert.equal(c.closeCode, 1001);
});

test("a port in use fails start-up with a clear error", async () => {
  const server = new Server(resolved({ port: main.wsPort }));
  await server.start();
  servers.push(server);
  await assert.rejects(startWebSocket(server), /Unable to listen for websocket connections: .*EADDRINUSE/);
});
