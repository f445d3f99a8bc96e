// Keep alive limits: `mqtt { max_keepalive }` (mosquitto's option). A 5.0 client asking for a
// longer keep alive, or none, gets Server Keep Alive in its CONNACK and is held to 1.5× that; a
// 3.1.1 client cannot be told and is refused (identifier rejected), as mosquitto ≥ 2.0.12 does.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "../../src/server/server.js";
import { sleep } from "../helpers.js";
import { connectPacket, mqttConnack, mqttRefused, RawMqtt, startMqttServer } from "../mqtt-helpers.js";

/** The CONNACK at the start of `b`: reason code and (5.0) its Server Keep Alive, if any. */
function connack(b: Buffer, v5: boolean): { reason: number; serverKeepAlive?: number } {
  assert.equal(b[0], 0x20);
  const reason = b[3]!;
  if (!v5) return { reason };
  // properties: length (one byte here), then id/value pairs; 0x13 is a two-byte integer
  const end = 5 + b[4]!;
  const sizes: Record<number, number> = { 0x13: 2, 0x21: 2, 0x22: 2, 0x27: 4, 0x24: 1, 0x25: 1, 0x28: 1, 0x29: 1, 0x2a: 1 };
  for (let p = 5; p < end;) {
    const id = b[p++]!;
    if (id === 0x13) return { reason, serverKeepAlive: b.readUInt16BE(p) };
    if (id === 0x12 || id === 0x1f) p += 2 + b.readUInt16BE(p);
    else p += sizes[id]!;
  }
  return { reason };
}

async function rawConnect(s: Server, id: string, keepAlive: number, version: 4 | 5): Promise<{ r: RawMqtt; reason: number; serverKeepAlive?: number }> {
  const r = await RawMqtt.connect(s);
  r.send(connectPacket(id, { keepAlive, version }));
  await r.waitBytes(4);
  if (version === 5) await r.waitBytes(5 + r.data[4]!);
  return { r, ...connack(r.data, version === 5) };
}

describe("max_keepalive", () => {
  let s: Server;
  before(async () => {
    s = await startMqttServer({ mqtt: { max_keepalive: 1 } });
  });
  after(async () => {
    await s.close();
  });

  test("5.0: keep alive 0 or above the limit gets Server Keep Alive; within it, none", async () => {
    for (const [ka, want] of [[0, 1], [60, 1], [1, undefined]] as const) {
      const c = await rawConnect(s, `ska-${ka}`, ka, 5);
      assert.equal(c.reason, 0);
      assert.equal(c.serverKeepAlive, want, `keep alive ${ka}`);
      c.r.close();
    }
  });

  test("5.0: the server holds the client to 1.5× the Server Keep Alive (DISCONNECT 0x8d)", async () => {
    const c = await rawConnect(s, "ska-idle", 0, 5);
    const n = c.r.data.length;
    await sleep(1000);
    assert.equal(c.r.closed, false, "closed before 1.5 × 1 s");
    await c.r.waitClosed(4000);
    assert.deepEqual([c.r.data[n], c.r.data[n + 2]], [0xe0, 0x8d]);
  });

  test("5.0 with MQTT.js: the client adopts the Server Keep Alive and stays connected", async () => {
    const { client, properties } = await mqttConnack(s, { protocolVersion: 5, keepalive: 60 });
    assert.equal(properties?.serverKeepAlive, 1);
    let closed = false;
    client.on("close", () => (closed = true));
    await sleep(2500);
    assert.equal(closed, false);
    assert.equal(client.connected, true);
    await client.endAsync();
  });

  test("3.1.1: keep alive 0 or above the limit is refused (identifier rejected)", async () => {
    for (const ka of [0, 60]) {
      const c = await rawConnect(s, `ka4-${ka}`, ka, 4);
      assert.equal(c.reason, 0x02, `keep alive ${ka}`);
      await c.r.waitClosed();
    }
    const ok = await rawConnect(s, "ka4-ok", 1, 4);
    assert.equal(ok.reason, 0);
    ok.r.close();
    const refused = await mqttRefused(s, { protocolVersion: 4, keepalive: 0 });
    assert.equal(refused.code, 2);
  });
});

test("without max_keepalive: keep alive 0 stays 0 (no Server Keep Alive), 3.1.1 accepted", async () => {
  const s = await startMqttServer();
  try {
    const c5 = await rawConnect(s, "free5", 0, 5);
    assert.deepEqual([c5.reason, c5.serverKeepAlive], [0, undefined]);
    const c4 = await rawConnect(s, "free4", 0, 4);
    assert.equal(c4.reason, 0);
    await sleep(300);
    assert.equal(c5.r.closed || c4.r.closed, false);
    c5.r.close();
    c4.r.close();
  } finally {
    await s.close();
  }
});
