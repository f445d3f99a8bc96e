// Backpressure across protocols: a receiver whose outbound is congested pauses the connection
// producing into it, whichever protocol either side speaks. The receivers here stop reading
// altogether; with the publisher paused, the server does not read the publisher's bytes, so the
// receiver's backlog stays under max_pending (no slow consumer) and, once it reads again,
// every message arrives. Without the stall the server would read all the publisher sent and
// cut the receiver off as a slow consumer.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { RawClient, sleep, until } from "../helpers.js";
import { connectPacket, RawMqtt, startMqttServer } from "../mqtt-helpers.js";
import type { Server } from "../../src/server/server.js";

const MB = 1024 * 1024;
/** the messages published: 48 MB, three times the receiver's max_pending */
const N = 48_000;
const SIZE = 1024;
const OPTS = { max_pending: 16 * MB, write_deadline: "60s" };

/** An MQTT 3.1.1 QoS 0 PUBLISH frame. */
function mqttPublish(topic: string, payload: Buffer): Buffer {
  const t = Buffer.from(topic);
  const len = 2 + t.length + payload.length;
  const rl: number[] = [];
  let x = len;
  do {
    let b = x & 0x7f;
    x >>= 7;
    if (x > 0) b |= 0x80;
    rl.push(b);
  } while (x > 0);
  return Buffer.concat([Buffer.from([0x30, ...rl]), Buffer.from([t.length >> 8, t.length & 0xff]), t, payload]);
}

/** Writes `frame` `n` times without waiting for the socket to drain (the server decides the pace). */
function flood(socket: Socket, frame: Buffer, n: number): void {
  const batch = Buffer.concat(Array(1000).fill(frame));
  for (let i = 0; i < n / 1000; i++) socket.write(batch);
}

/** Counts what arrives on a paused socket once it reads again, without keeping it. */
function counter(socket: Socket): { bytes: number } {
  const c = { bytes: 0 };
  socket.removeAllListeners("data");
  socket.on("data", (b: Buffer) => (c.bytes += b.length));
  return c;
}

/**
 * The part both tests share: once the receiver is congested, give the server time in which,
 * without backpressure, it would read the whole flood; then the receiver must still be there,
 * the publisher must still have bytes the server has not taken, and a stall must be counted.
 */
async function heldBack(s: Server, pendingOf: () => number, publisher: Socket): Promise<void> {
  await until(() => s.stats.slowConsumers > 0 || pendingOf() > 4 * MB, 10_000, "the receiver to be congested");
  await sleep(1500);
  assert.equal(s.stats.slowConsumers, 0, "the receiver was cut off as a slow consumer: the publisher was not paused");
  assert.ok(publisher.writableLength > 0, "the server read everything the publisher sent");
  assert.ok(pendingOf() <= 16 * MB);
  assert.ok(s.stats.stalledClients > 0);
}

test("backpressure: an MQTT publisher waits for a NATS subscriber that does not read; nothing is lost", async () => {
  const s = await startMqttServer(OPTS);
  try {
    const sub = await RawClient.connect(s.port);
    await sub.handshake();
    sub.send("SUB bp 1\r\nPING\r\n");
    await sub.waitFor(/PONG\r\n.*PONG\r\n/s);
    const subConn = [...s.clients.values()].at(-1)!;
    sub.socket.pause();
    const got = counter(sub.socket);

    const pub = await RawMqtt.connect(s);
    pub.send(connectPacket("bp-pub"));
    await pub.waitBytes(4);
    flood(pub.socket, mqttPublish("bp", Buffer.alloc(SIZE, 120)), N);

    await heldBack(s, () => subConn.pendingBytes, pub.socket);
    assert.equal(subConn.closed, false);

    sub.socket.resume();
    const expected = N * (`MSG bp 1 ${SIZE}\r\n`.length + SIZE + 2);
    await until(() => got.bytes >= expected, 60_000, `all messages (${got.bytes}/${expected} bytes)`);
    await sleep(50);
    // besides the messages only the server's PINGs (the first comes after 2s), never a lost message
    const extra = got.bytes - expected;
    assert.ok(extra % "PING\r\n".length === 0 && extra <= 5 * "PING\r\n".length, `${extra} bytes more than the messages`);
    assert.equal(s.stats.slowConsumers, 0);
    sub.close();
    pub.close();
  } finally {
    await s.close();
  }
});

test("backpressure: a NATS publisher waits for an MQTT subscriber that does not read; nothing is lost", async () => {
  const s = await startMqttServer(OPTS);
  try {
    const sub = await RawMqtt.connect(s);
    sub.send(connectPacket("bp-sub"));
    await sub.waitBytes(4);
    // SUBSCRIBE pid 1, "bp" at QoS 0
    sub.send([0x82, 7, 0, 1, 0, 2, 0x62, 0x70, 0]);
    await sub.waitBytes(4 + 5);
    const subConn = [...s.mqtt!.conns].find((c) => c.clientId === "bp-sub")!;
    sub.socket.pause();
    const got = counter(sub.socket);

    const pub = await RawClient.connect(s.port);
    await pub.handshake();
    const frame = Buffer.concat([Buffer.from(`PUB bp ${SIZE}\r\n`), Buffer.alloc(SIZE, 120), Buffer.from("\r\n")]);
    flood(pub.socket, frame, N);

    await heldBack(s, () => subConn.transport.writableLength, pub.socket);
    assert.equal(subConn.closed, false);

    sub.socket.resume();
    const expected = N * mqttPublish("bp", Buffer.alloc(SIZE)).length;
    await until(() => got.bytes >= expected, 60_000, `all messages (${got.bytes}/${expected} bytes)`);
    await sleep(50);
    assert.equal(got.bytes, expected);
    assert.equal(s.stats.slowConsumers, 0);
    sub.close();
    pub.close();
  } finally {
    await s.close();
  }
});
