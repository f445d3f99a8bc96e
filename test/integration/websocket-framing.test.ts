// WebSocket framing and closing, checked with raw clients against what nats-server 2.9.10 does
// (run side by side: `websocket { port: N, no_tls: true }` and a `ws` client recording the close):
// frames are a byte stream (split or batched freely, payloads read as they arrive), close frames
// carry nats-server's status and reason per closed state, lame duck closes the listener.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect } from "node:net";
import { deflateRawSync, constants as zlibConstants } from "node:zlib";
import { connect as tcpConnect } from "@nats-io/transport-node";
import type { Options } from "../../src/config/options.js";
import type { Server } from "../../src/server/server.js";
import { startTestServer } from "../helpers.js";
import { startMqttServer } from "../mqtt-helpers.js";
import { FramedSocket, RawWs, clientFrame, until } from "./websocket-helpers.js";

const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const CONNECT = `CONNECT {"verbose":false,"pedantic":false,"protocol":1,"headers":true}\r\n`;

const servers: Server[] = [];
after(async () => {
  for (const s of servers) if (s.running) await s.close();
});

async function start(opts: Options = {}): Promise<{ server: Server; wsPort: number }> {
  const server = await startTestServer({ ...opts, websocket: { host: "127.0.0.1", port: -1, no_tls: true, ...(opts.websocket ?? {}) } } as Options);
  servers.push(server);
  return { server, wsPort: server.websocketPort! };
}

/** Whether a TCP connect to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });
}

// ---- frames are a byte stream

test("NATS protocol split one byte per frame, and across fragments with a ping between them", async () => {
  const { wsPort } = await start();
  const f = await FramedSocket.open(wsPort);
  await f.waitFor(/^INFO .*\r\n/);
  for (const ch of CONNECT + "SUB split 1\r\nPUB split 5\r\nhello\r\nPING\r\n") f.write(clientFrame(OP_BINARY, ch));
  await f.waitFor(/MSG split 1 5\r\nhello\r\nPONG\r\n/);
  // one message in four fragments (text, then continuations), a ping in the middle of it
  f.write(clientFrame(OP_TEXT, "PUB split 7\r\nfr", { fin: false }));
  f.write(clientFrame(OP_PING, "between"));
  f.write(clientFrame(OP_CONT, "agme", { fin: false }));
  f.write(clientFrame(OP_CONT, "d\r\nPI", { fin: false }));
  f.write(clientFrame(OP_CONT, "NG\r\n"));
  await f.waitFor(/MSG split 1 7\r\nfragmed\r\nPONG\r\n[\s\S]*$/);
  await until(() => f.pongs.length === 1, 3000, "pong");
  assert.equal(f.pongs[0].toString(), "between");
  assert.equal(f.text.split("PONG").length - 1, 2);
  f.socket.destroy();
});

test("a frame's payload is read as it arrives: a frame announced as 100 MB is answered before its end", async () => {
  const { wsPort } = await start();
  const f = await FramedSocket.open(wsPort);
  await f.waitFor(/^INFO .*\r\n/);
  const first = CONNECT + "SUB big.frame 1\r\nPING\r\n";
  // one frame header for 100 MB, then only its first bytes (unmasked by hand with a zero key)
  const header = clientFrame(OP_BINARY, Buffer.alloc(0), { length: 100 * 1024 * 1024, mask: false });
  header[1] |= 0x80;
  f.write(Buffer.concat([header, Buffer.alloc(4), Buffer.from(first)]));
  await f.waitFor(/PONG\r\n/);
  f.write(Buffer.from("PUB big.frame 2\r\nok\r\nPING\r\n"));
  await f.waitFor(/MSG big\.frame 1 2\r\nok\r\nPONG\r\n/);
  assert.equal(f.close, undefined);
  f.socket.destroy();
});

test("one WebSocket message far over max_payload that holds many publications is accepted", async () => {
  const { server, wsPort } = await start({ max_payload: 64 * 1024 });
  const sub = await tcpConnect({ servers: server.clientURL });
  let got = 0;
  sub.subscribe("batch", {
    callback: () => {
      got++;
    },
  });
  await sub.flush();
  const c = await RawWs.open(wsPort, { perMessageDeflate: false });
  await c.handshake();
  const one = "PUB batch 1000\r\n" + "b".repeat(1000) + "\r\n";
  const batch = one.repeat(4000); // ~4 MB in one frame: 62 × max_payload
  c.send(batch + "PING\r\n");
  await c.waitFor(/PONG\r\n[\s\S]*PONG\r\n/, 10_000);
  await until(() => got === 4000, 10_000, "4000 deliveries");
  assert.equal(c.closed, false);
  c.ws.close();
  await sub.close();
});

// ---- too big: the NATS layer refuses the message, with nats-server's close frame

test("a PUB over max_payload in one large frame: -ERR, then close 1009 'Maximum Message Payload Exceeded'", async () => {
  const { wsPort } = await start();
  const c = await RawWs.open(wsPort, { perMessageDeflate: false });
  await c.handshake();
  // 5 MB in one frame; the control line already says too much, the rest is read and dropped
  c.send(Buffer.concat([Buffer.from("PUB too.big 5000000\r\n"), Buffer.alloc(5_000_000, 0x78)]));
  assert.deepEqual(await c.closedWith(), { code: 1009, reason: "Maximum Message Payload Exceeded" });
  assert.match(c.text, /-ERR 'Maximum Payload Violation'\r\n$/);
});

test("a frame announced as 1 TB is refused by what it starts with, never buffered", async () => {
  const { server, wsPort } = await start();
  const f = await FramedSocket.open(wsPort);
  await f.waitFor(/^INFO .*\r\n/);
  const header = clientFrame(OP_BINARY, Buffer.alloc(0), { length: 2 ** 40, mask: false });
  header[1] |= 0x80;
  f.write(Buffer.concat([header, Buffer.alloc(4), Buffer.from(CONNECT + "PUB x 2000000\r\n"), Buffer.alloc(64 * 1024)]));
  await until(() => f.close !== undefined, 3000, "close frame");
  assert.deepEqual(f.close, { code: 1009, reason: "Maximum Message Payload Exceeded" });
  await until(() => f.ended, 6000, "socket closed");
  assert.equal(server.clients.size, 0);
});

// ---- close codes and reasons per closed state (as nats-server's wsEnqueueCloseMessage)

test("close frames: authorization violation 1008, parse error 1002, control line 1008, max connections 1008", async () => {
  const auth = await start({ authorization: { user: "a", password: "b" } });
  const a = await RawWs.open(auth.wsPort);
  await a.waitFor(/^INFO .*\r\n/);
  a.send(`CONNECT {"user":"a","pass":"wrong"}\r\nPING\r\n`);
  assert.deepEqual(await a.closedWith(), { code: 1008, reason: "Authentication Failure" });
  assert.match(a.text, /-ERR 'Authorization Violation'\r\n$/);

  const { wsPort } = await start({ max_connections: 1 });
  const p = await RawWs.open(wsPort);
  await p.handshake();
  p.send("FOO BAR\r\n");
  assert.deepEqual(await p.closedWith(), { code: 1002, reason: "Protocol Violation" });
  assert.match(p.text, /-ERR 'Unknown Protocol Operation'\r\n$/);

  const l = await RawWs.open(wsPort);
  await l.handshake();
  l.send("PUB " + "s".repeat(5000) + " 1\r\n");
  assert.deepEqual(await l.closedWith(), { code: 1008, reason: "Maximum Control Line Exceeded" });

  const first = await RawWs.open(wsPort);
  await first.handshake();
  const second = await RawWs.open(wsPort);
  assert.deepEqual(await second.closedWith(), { code: 1008, reason: "Maximum Connections Exceeded" });
  assert.match(second.text, /-ERR 'maximum connections exceeded'\r\n$/);
  first.ws.close();
});

test("close frames: authentication timeout 1008; a client's close is answered with its own status", async () => {
  const { server, wsPort } = await start({ authorization: { user: "a", password: "b" } });
  server.options.auth_timeout_ms = 200;
  const t = await RawWs.open(wsPort);
  assert.deepEqual(await t.closedWith(), { code: 1008, reason: "Authentication Timeout" });

  const c = await RawWs.open(wsPort);
  await c.waitFor(/^INFO /);
  c.ws.close(4000, "bye");
  assert.deepEqual(await c.closedWith(), { code: 4000, reason: "bye" });
  // a close without a status gets one without a status (nats-server would echo 1005, which no peer may send)
  const f = await FramedSocket.open(wsPort);
  await f.waitFor(/^INFO /);
  f.write(clientFrame(OP_CLOSE, Buffer.alloc(0)));
  await until(() => f.close !== undefined && f.ended, 3000, "close answered");
  assert.deepEqual(f.close, { code: 0, reason: "" });
});

test("close frames: server shutdown 1001 'Server Shutdown'", async () => {
  const { server, wsPort } = await start();
  const c = await RawWs.open(wsPort);
  await c.handshake();
  c.send("SUB x 1\r\nPUB x 4\r\nlast\r\n");
  await c.waitFor(/MSG x 1 4\r\nlast\r\n/);
  await server.close();
  assert.deepEqual(await c.closedWith(), { code: 1001, reason: "Server Shutdown" });
});

test("a slow consumer is cut without a close frame (the peer sees 1006), as nats-server skips the flush", async () => {
  const { server, wsPort } = await start({ max_pending: 512 * 1024, max_payload: 64 * 1024 });
  const c = await RawWs.open(wsPort, { perMessageDeflate: false });
  await c.handshake();
  c.send("SUB slow 1\r\nPING\r\n");
  await c.waitFor(/PONG\r\n[\s\S]*PONG\r\n/);
  const sock = (c.ws as unknown as { _socket: import("node:net").Socket })._socket;
  sock.pause();
  const pub = await tcpConnect({ servers: server.clientURL });
  const p = Buffer.alloc(64 * 1024, 2);
  for (let i = 0; i < 400 && server.stats.slowConsumers === 0; i++) {
    pub.publish("slow", p);
    if (i % 20 === 19) await pub.flush();
  }
  await until(() => server.stats.slowConsumers === 1, 5000, "slow consumer");
  sock.resume();
  assert.deepEqual(await c.closedWith(), { code: 1006, reason: "" });
  await pub.close();
});

// ---- framing errors: a close frame with status 1002 (or 1007) saying why, then the socket ends

test("framing errors get close 1002 with the reason; the server stays up", async () => {
  const { server, wsPort } = await start();
  const cases: [string, Buffer, number, RegExp][] = [
    ["unmasked frame", clientFrame(OP_BINARY, "PING\r\n", { mask: false }), 1002, /mask bit missing/],
    ["unknown opcode", clientFrame(0x3, "x"), 1002, /unknown opcode 3/],
    ["long control frame", clientFrame(OP_PING, Buffer.alloc(126)), 1002, /control frame length bigger than maximum allowed of 125 bytes/],
    ["fragmented control frame", clientFrame(OP_PING, "x", { fin: false }), 1002, /control frame does not have final bit set/],
    ["continuation first", clientFrame(OP_CONT, "x"), 1002, /invalid continuation frame/],
    ["compressed without compression", clientFrame(OP_BINARY, "x", { rsv1: true }), 1002, /compressed frame/],
    ["new message inside another", Buffer.concat([clientFrame(OP_BINARY, "P", { fin: false }), clientFrame(OP_BINARY, "I")]), 1002, /new message started before final frame/],
    ["invalid close status", clientFrame(OP_CLOSE, Buffer.from([0x03, 0xed])), 1002, /invalid close status code 1005/],
    ["close reason not UTF-8", clientFrame(OP_CLOSE, Buffer.from([0x03, 0xe8, 0xff, 0xfe])), 1007, /invalid utf8 body in close frame/],
  ];
  for (const [what, frame, code, reason] of cases) {
    const f = await FramedSocket.open(wsPort);
    await f.waitFor(/^INFO /);
    f.write(frame);
    await until(() => f.ended, 6000, `${what}: socket closed`);
    assert.equal(f.close?.code, code, what);
    assert.match(f.close!.reason, reason, what);
  }
  await until(() => server.clients.size === 0, 3000, "clients gone");
  const ok = await RawWs.open(wsPort);
  await ok.handshake();
  ok.ws.close();
});

// ---- compression

test("compression: a compressed message then a plain one stay in order; corrupt data gets 1007", async () => {
  const { wsPort } = await start({ websocket: { compression: true } } as Options);
  const deflate = (s: string): Buffer => {
    const z = deflateRawSync(Buffer.from(s), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    return z.subarray(0, z.length - 4);
  };
  const f = await FramedSocket.open(wsPort, "/", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  await f.waitFor(/^INFO .*\r\n/);
  const body = "z".repeat(200_000);
  const compressed = deflate(CONNECT + "SUB zip 1\r\nPUB zip 200000\r\n" + body + "\r\n");
  // the compressed message in two fragments, a plain PING right behind it in the same write
  const half = compressed.length >> 1;
  f.write(
    Buffer.concat([
      clientFrame(OP_BINARY, compressed.subarray(0, half), { fin: false, rsv1: true }),
      clientFrame(OP_CONT, compressed.subarray(half)),
      clientFrame(OP_BINARY, "PING\r\n"),
      clientFrame(OP_BINARY, deflate("PUB zip 2\r\nok\r\nPING\r\n"), { rsv1: true }),
    ]),
  );
  const m1 = await f.waitFor(/MSG zip 1 200000\r\n(z+)\r\nPONG\r\nMSG zip 1 2\r\nok\r\nPONG\r\n/, 5000);
  assert.equal(m1[1].length, 200_000);
  f.socket.destroy();

  // the same with the ws library as the client (it compresses asynchronously, in order)
  const c = await RawWs.open(wsPort, { perMessageDeflate: { threshold: 0 } });
  await c.handshake();
  c.ws.send(Buffer.from("SUB zip 1\r\nPUB zip 200000\r\n" + body + "\r\n"), { compress: true });
  c.ws.send(Buffer.from("PING\r\n"), { compress: false });
  c.ws.send(Buffer.from("PUB zip 2\r\nok\r\nPING\r\n"), { compress: true });
  const m = await c.waitFor(/MSG zip 1 200000\r\n(z+)\r\nPONG\r\nMSG zip 1 2\r\nok\r\nPONG\r\n/, 5000);
  assert.equal(m[1].length, 200_000);
  c.ws.close();

  const bad = await FramedSocket.open(wsPort, "/", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  await bad.waitFor(/^INFO /);
  bad.write(clientFrame(OP_BINARY, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]), { rsv1: true }));
  await until(() => bad.ended, 6000, "corrupt data: closed");
  assert.equal(bad.close?.code, 1007);
  assert.match(bad.close!.reason, /invalid compressed data/);
});

// ---- lame duck

test("lame duck mode: the websocket listener closes; its clients get INFO ldm, then 1001 'Server Shutdown'", async () => {
  const { server, wsPort } = await start();
  // nats-server (and the config) refuse durations under 30s; a test has no time for that
  Object.assign(server.options, { lame_duck_duration_ms: 600, lame_duck_grace_period_ms: 200 });
  const c = await RawWs.open(wsPort);
  await c.handshake();
  const done = server.enterLameDuckMode();
  await c.waitFor(/INFO \{[^\r]*"ldm":true[^\r]*\}\r\n/);
  assert.equal(await refused(wsPort), true, "the websocket port still accepts");
  assert.equal(await refused(server.port), true, "the client port still accepts");
  assert.equal(c.closed, false);
  assert.deepEqual(await c.closedWith(), { code: 1001, reason: "Server Shutdown" });
  await done;
  assert.equal(server.running, false);
});

// ---- MQTT over WebSocket rides the same frames

test("MQTT over WebSocket: packets split across frames; an oversized packet is refused before its end arrives", async () => {
  const s = await startMqttServer({ max_payload: 64 * 1024, websocket: { port: -1, host: "127.0.0.1", no_tls: true } } as Options);
  servers.push(s);
  const f = await FramedSocket.open(s.websocketPort!, "/mqtt");
  // CONNECT (5.0, clean start, keepalive 30, client id "w"), one byte per frame
  const connect = Buffer.from([0x10, 14, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 0x02, 0, 30, 0, 0, 1, 0x77]);
  for (const b of connect) f.write(clientFrame(OP_BINARY, Buffer.from([b])));
  await until(() => f.text.length >= 2 && f.text.length >= 2 + f.text.charCodeAt(1), 3000, "CONNACK");
  const connack = Buffer.from(f.text, "latin1");
  assert.deepEqual([connack[0], connack[3]], [0x20, 0x00]);
  const after = connack.length;
  // a PUBLISH announced as 100 MB, in a frame announced as 1 GB of which only the start is sent:
  // the MQTT parser sees the packet's length and refuses it (DISCONNECT 0x95 Packet too large)
  const header = clientFrame(OP_BINARY, Buffer.alloc(0), { length: 2 ** 30, mask: false });
  header[1] |= 0x80;
  const remaining = Buffer.from([0x80, 0x80, 0x80, 0x32]); // 100 MB as a variable byte integer
  f.write(Buffer.concat([header, Buffer.alloc(4), Buffer.from([0x30]), remaining, Buffer.alloc(1024)]));
  await until(() => f.ended, 6000, "oversized MQTT packet: closed");
  const disconnect = Buffer.from(f.text, "latin1").subarray(after);
  assert.deepEqual([disconnect[0], disconnect[2]], [0xe0, 0x95]);
  // and the WebSocket close frame says why, as for NATS clients
  assert.deepEqual(f.close, { code: 1002, reason: "Protocol Violation" });
});

// ---- no input crashes the server

test("fuzz: random and mutated frames on many WebSocket connections never crash the server", async () => {
  const { server, wsPort } = await start({ max_payload: 4096, websocket: { compression: true } } as Options);
  let seed = 24681357;
  const rnd = (): number => {
    seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    return seed / 0x100000000;
  };
  const valid = [
    clientFrame(OP_BINARY, CONNECT + "SUB a.* 1\r\nPUB a.b 3\r\nabc\r\n", { fin: false }),
    clientFrame(OP_PING, "p"),
    clientFrame(OP_CONT, "PING\r\n"),
    clientFrame(OP_BINARY, deflateRawSync(Buffer.from("PUB a.c 2\r\nhi\r\n")), { rsv1: true }),
    clientFrame(OP_BINARY, deflateRawSync(Buffer.from("PUB a.c 2\r\nhi\r\n".repeat(50))), { rsv1: true, fin: false }),
    clientFrame(OP_CONT, deflateRawSync(Buffer.from("PUB a.d 2\r\nho\r\n"))),
    clientFrame(OP_CLOSE, Buffer.from([0x03, 0xe8, 0x6f, 0x6b])),
  ];
  const sockets: FramedSocket[] = [];
  for (let n = 0; n < 40; n++) {
    const f = await FramedSocket.open(wsPort, "/", n % 2 ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "");
    sockets.push(f);
    let input: Buffer;
    if (n % 4 === 0) {
      input = Buffer.alloc(1 + Math.floor(rnd() * 3000));
      for (let i = 0; i < input.length; i++) input[i] = Math.floor(rnd() * 256);
    } else {
      input = Buffer.concat(valid.slice(0, 1 + Math.floor(rnd() * valid.length)));
      for (let k = 0; k < 1 + Math.floor(rnd() * 6); k++) input[Math.floor(rnd() * input.length)] = Math.floor(rnd() * 256);
    }
    // in random pieces, so headers and masks are split too
    for (let at = 0; at < input.length; ) {
      const len = 1 + Math.floor(rnd() * 40);
      f.write(input.subarray(at, at + len));
      at += len;
    }
  }
  await until(() => server.clients.size === 0 || sockets.every((f) => f.ended || f.text.length > 0), 8000, "fuzz settled");
  for (const f of sockets) f.socket.destroy();
  assert.equal(server.running, true);
  const ok = await RawWs.open(wsPort);
  await ok.handshake();
  ok.ws.close();
});
