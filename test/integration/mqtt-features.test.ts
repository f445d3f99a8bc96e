// Retained messages, wills, QoS 2, MQTT 5 properties and subscription options, MQTT over
// WebSocket and TLS.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as natsConnect } from "@nats-io/transport-node";
import type { Server } from "../../src/server/server.js";
import { sleep } from "../helpers.js";
import { Collector, mqttConnack, mqttConnect, mqttRefused, RawMqtt, connectPacket, startMqttServer } from "../mqtt-helpers.js";

describe("retained messages", () => {
  let s: Server;
  before(async () => {
    s = await startMqttServer();
  });
  after(async () => {
    await s.close();
  });

  for (const v of [4, 5] as const) {
    test(`set, replace, delete; delivered on subscribe with the retain flag (${v})`, async () => {
      const p = await mqttConnect(s, { protocolVersion: v });
      const t = `ret${v}`;
      await p.publishAsync(`${t}/a`, "first", { qos: 1, retain: true });
      await p.publishAsync(`${t}/a`, "second", { qos: 1, retain: true });
      await p.publishAsync(`${t}/b`, "b", { qos: 0, retain: true });
      await p.publishAsync(`${t}/c`, "c", { qos: 1, retain: true });
      await p.publishAsync(`${t}/c`, "", { qos: 1, retain: true }); // deletes
      await sleep(50);
      const { client: c, collector: got } = await mqttConnack(s, { protocolVersion: v });
      await c.subscribeAsync(`${t}/#`, { qos: 1 });
      const m = await got.count(2);
      assert.deepEqual(m.map((x) => [x.topic, x.payload, x.packet.retain, x.packet.qos]).sort(), [
        [`${t}/a`, "second", true, 1], [`${t}/b`, "b", true, 0],
      ]);
      await got.none();
      // a live publish is delivered without the retain flag (3.1.1 and 5.0 without retain as published)
      await p.publishAsync(`${t}/a`, "live", { qos: 0, retain: true });
      const live = (await got.count(3))[2]!;
      assert.equal(live.payload, "live");
      assert.equal(live.packet.retain, false);
      await p.endAsync();
      await c.endAsync();
    });
  }

  test("5.0 retain handling and retain as published", async () => {
    const p = await mqttConnect(s, { protocolVersion: 5 });
    await p.publishAsync("rh/x", "kept", { qos: 1, retain: true });
    const { client: c, collector: got } = await mqttConnack(s, { protocolVersion: 5 });
    await c.subscribeAsync("rh/x", { qos: 0, rh: 2 });
    await got.none();
    await c.subscribeAsync("rh/+", { qos: 0, rh: 1 });
    assert.equal((await got.next()).payload, "kept");
    await c.subscribeAsync("rh/+", { qos: 0, rh: 1 }); // not new: nothing
    await c.subscribeAsync("rh/#", { qos: 0, rap: true });
    await got.count(2);
    await got.none();
    await p.publishAsync("rh/x", "again", { qos: 0, retain: true });
    const live = (await got.count(5)).slice(2);
    // rh/x (rh 2) and rh/+ without the flag, rh/# (retain as published) with it
    assert.deepEqual(live.map((m) => m.packet.retain).sort(), [false, false, true]);
    await p.endAsync();
    await c.endAsync();
  });
});

describe("wills", () => {
  let s: Server;
  before(async () => {
    s = await startMqttServer();
  });
  after(async () => {
    await s.close();
  });

  test("published on an abnormal disconnect, with its QoS and retain; not after DISCONNECT", async () => {
    const w = await mqttConnect(s);
    const got = new Collector(w);
    await w.subscribeAsync("will/#", { qos: 1 });
    const a = await mqttConnect(s, { clientId: "dies", will: { topic: "will/dies", payload: Buffer.from("gone"), qos: 1, retain: true } });
    const b = await mqttConnect(s, { clientId: "leaves", will: { topic: "will/leaves", payload: Buffer.from("gone"), qos: 1, retain: false } });
    (a as unknown as { stream: { destroy(): void } }).stream.destroy();
    await b.endAsync();
    const m = await got.next();
    assert.deepEqual([m.topic, m.payload, m.packet.qos], ["will/dies", "gone", 1]);
    await got.none(300);
    // retained: a later subscriber gets it
    const { client: late, collector: lg } = await mqttConnack(s);
    await late.subscribeAsync("will/dies", { qos: 1 });
    const r = await lg.next();
    assert.equal(r.packet.retain, true);
    await late.endAsync();
    await w.endAsync();
  });

  test("5.0: will delay, cancelled by a reconnect; reason 0x04 sends it", async () => {
    const w = await mqttConnect(s, { protocolVersion: 5 });
    const got = new Collector(w);
    await w.subscribeAsync("wd/#", { qos: 0 });
    const opts = {
      protocolVersion: 5 as const, clientId: "delayed", properties: { sessionExpiryInterval: 60 },
      will: { topic: "wd/x", payload: Buffer.from("late"), qos: 0 as const, retain: false, properties: { willDelayInterval: 1 } },
    };
    const a = await mqttConnect(s, opts);
    (a as unknown as { stream: { destroy(): void } }).stream.destroy();
    await sleep(300);
    await got.none(10);
    const a2 = await mqttConnect(s, opts); // back in time: no will
    await sleep(1200);
    await got.none(10);
    await a2.endAsync({ reasonCode: 0x04 } as never);
    assert.equal((await got.next(3000)).payload, "late");
    await w.endAsync();
  });
});

describe("QoS 2 and MQTT 5 properties", () => {
  let s: Server;
  before(async () => {
    s = await startMqttServer();
  });
  after(async () => {
    await s.close();
  });

  for (const v of [4, 5] as const) {
    test(`QoS 2 both ways, exactly once (${v})`, async () => {
      const { client: c, collector: got } = await mqttConnack(s, { protocolVersion: v });
      await c.subscribeAsync("q2/#", { qos: 2 });
      const p = await mqttConnect(s, { protocolVersion: v });
      for (let i = 0; i < 20; i++) await p.publishAsync("q2/x", String(i), { qos: 2 });
      const m = await got.count(20);
      assert.deepEqual(m.map((x) => x.payload), Array.from({ length: 20 }, (_, i) => String(i)));
      assert.ok(m.every((x) => x.packet.qos === 2));
      // NATS → MQTT at the subscription's QoS 2
      const nc = await natsConnect({ servers: s.clientURL });
      nc.publish("q2.nats", "n");
      await nc.flush();
      const n = (await got.count(21))[20]!;
      assert.deepEqual([n.topic, n.packet.qos], ["q2/nats", 2]);
      await got.none();
      await nc.close();
      await c.endAsync();
      await p.endAsync();
    });
  }

  test("a resent QoS 2 PUBLISH (DUP) is delivered once", async () => {
    const { client: c, collector: got } = await mqttConnack(s);
    await c.subscribeAsync("dup/x", { qos: 2 });
    const r = await RawMqtt.connect(s);
    r.send(connectPacket("dup-pub"));
    await r.waitBytes(4);
    const pub = (dup: boolean) => Buffer.from([0x34 | (dup ? 8 : 0), 10, 0, 5, ...Buffer.from("dup/x"), 0, 7, 0x68]);
    r.send(pub(false));
    r.send(pub(true));
    await r.waitBytes(4 + 8);
    assert.deepEqual([...r.data.subarray(4, 12)], [0x50, 2, 0, 7, 0x50, 2, 0, 7]);
    r.send([0x62, 2, 0, 7]); // PUBREL
    await r.waitBytes(16);
    assert.deepEqual([...r.data.subarray(12, 16)], [0x70, 2, 0, 7]);
    assert.equal((await got.next()).payload, "h");
    await got.none();
    r.close();
    await c.endAsync();
  });

  test("topic aliases both ways, subscription identifiers, no local, message expiry", async () => {
    const { client: c, collector: got } = await mqttConnack(s, { protocolVersion: 5, properties: { topicAliasMaximum: 10 } });
    const aliased: (number | undefined)[] = [];
    c.on("packetreceive", (p) => {
      if (p.cmd === "publish") aliased.push(p.properties?.topicAlias);
    });
    await c.subscribeAsync("al/#", { qos: 1, properties: { subscriptionIdentifier: 7 } } as never);
    await c.subscribeAsync("own/x", { qos: 0, nl: true });
    const p = await mqttConnect(s, { protocolVersion: 5 });
    await p.publishAsync("al/one", "a", { qos: 1, properties: { topicAlias: 3 } });
    await p.publishAsync("", "b", { qos: 1, properties: { topicAlias: 3 } });
    await p.publishAsync("al/one", "c", { qos: 1, properties: { messageExpiryInterval: 60 } });
    const m = await got.count(3);
    assert.deepEqual(m.map((x) => [x.topic, x.payload]), [["al/one", "a"], ["al/one", "b"], ["al/one", "c"]]);
    assert.deepEqual(m[0]!.packet.properties!.subscriptionIdentifier, 7);
    assert.equal(m[2]!.packet.properties!.messageExpiryInterval, 60);
    // the server used an alias towards the client (MQTT.js resolved it back to the topic)
    assert.deepEqual(aliased, [1, 1, 1]);
    await c.publishAsync("own/x", "mine", { qos: 0 });
    await got.none();
    await p.endAsync();
    await c.endAsync();
  });

  test("an unknown topic alias is a protocol error (DISCONNECT 0x82)", async () => {
    const r = await RawMqtt.connect(s);
    r.send(connectPacket("alias", { version: 5 }));
    await r.waitBytes(5);
    const n = r.data.length;
    // PUBLISH QoS 0, empty topic, properties: topic alias 9
    r.send([0x30, 6, 0, 0, 3, 0x23, 0, 9]);
    await r.waitClosed();
    assert.equal(r.data[n], 0xe0);
    assert.equal(r.data[n + 2], 0x82);
  });
});

describe("transports", () => {
  test("MQTT over WebSocket (path /mqtt and the mqtt sub-protocol)", async () => {
    const s = await startMqttServer({ websocket: { port: -1, host: "127.0.0.1", no_tls: true } });
    try {
      const url = `ws://127.0.0.1:${s.websocketPort}/mqtt`;
      const { client: c, collector: got } = await mqttConnack(url, { protocolVersion: 5 });
      await c.subscribeAsync("ws/+", { qos: 1 });
      const nc = await natsConnect({ servers: s.clientURL });
      nc.publish("ws.hello", "over websocket");
      await nc.flush();
      const m = await got.next();
      assert.deepEqual([m.topic, m.payload], ["ws/hello", "over websocket"]);
      const p = await mqttConnect(`ws://127.0.0.1:${s.websocketPort}`, { protocolVersion: 4, wsOptions: { protocol: "mqtt" } } as never);
      await p.publishAsync("ws/two", "x", { qos: 1 });
      assert.equal((await got.next()).topic, "ws/two");
      await p.endAsync();
      await c.endAsync();
      await nc.close();
    } finally {
      await s.close();
    }
  });
});

describe("MQTT over TLS", () => {
  test("mqtt { tls { verify_and_map } }: the certificate names the user", async () => {
    const { makeTestCerts } = await import("../tls-certs.js");
    const { readFileSync } = await import("node:fs");
    const certs = makeTestCerts();
    const s = await startMqttServer({
      authorization: { users: [{ user: "alice@acme.com", permissions: { publish: ["tls.>"], subscribe: ["tls.>"] } }] },
      mqtt: { tls: { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca, verify_and_map: true } },
    });
    try {
      const url = `mqtts://127.0.0.1:${s.mqttPort}`;
      const tlsOpts = { ca: readFileSync(certs.ca), rejectUnauthorized: false };
      const { client: c, collector: got } = await mqttConnack(url, {
        ...tlsOpts, cert: readFileSync(certs.alice.cert), key: readFileSync(certs.alice.key),
      });
      await c.subscribeAsync("tls/#", { qos: 1 });
      await c.publishAsync("tls/x", "secure", { qos: 1 });
      assert.equal((await got.next()).payload, "secure");
      await c.endAsync();
      // a certificate that maps to no user: not authorized
      const bob = mqttConnack(url, { ...tlsOpts, cert: readFileSync(certs.bob.cert), key: readFileSync(certs.bob.key) });
      await assert.rejects(bob, (e: Error & { code?: number }) => e.code === 5);
      // plaintext on the TLS port: no CONNACK, closed
      const raw = await RawMqtt.connect(s);
      raw.send(connectPacket("plain"));
      await raw.waitClosed(4000);
      assert.equal(raw.data.length === 0 || raw.data[0] !== 0x20, true);
    } finally {
      await s.close();
    }
  });
});

describe("5.0 payload format indicator", () => {
  let s: Server;
  before(async () => {
    s = await startMqttServer();
  });
  after(async () => {
    await s.close();
  });
  const BAD = Buffer.from([0x41, 0xff, 0xfe]);

  test("a payload that is not UTF-8: 0x99 on PUBACK/PUBREC, dropped at QoS 0; valid ones pass with the indicator", async () => {
    const { client: c, collector: got } = await mqttConnack(s, { protocolVersion: 5 });
    await c.subscribeAsync("pfi/#", { qos: 2 });
    const p = await mqttConnect(s, { protocolVersion: 5 });
    const pfi = { properties: { payloadFormatIndicator: true } };
    for (const qos of [1, 2] as const) {
      await assert.rejects(p.publishAsync("pfi/bad", BAD, { qos, ...pfi }), (e: Error & { code?: number }) => e.code === 0x99, `QoS ${qos}`);
    }
    await p.publishAsync("pfi/bad", BAD, { qos: 0, ...pfi });
    // the same bytes without the indicator are just bytes
    await p.publishAsync("pfi/raw", BAD, { qos: 1 });
    await p.publishAsync("pfi/ok", "héllo", { qos: 1, ...pfi });
    const m = await got.count(2);
    assert.deepEqual(m.map((x) => x.topic), ["pfi/raw", "pfi/ok"]);
    assert.equal(m[1]!.payload, "héllo");
    assert.equal(m[1]!.packet.properties?.payloadFormatIndicator, true);
    await got.none();
    // the connection lived through it
    assert.equal(p.connected, true);
    await p.endAsync();
    await c.endAsync();
  });

  test("a will whose payload is not UTF-8 is refused (CONNACK 0x99)", async () => {
    const r = await mqttRefused(s, {
      protocolVersion: 5, will: { topic: "pfi/will", payload: BAD, qos: 0, retain: false, properties: { payloadFormatIndicator: true } },
    });
    assert.equal(r.code, 0x99);
  });
});

describe("overlapping subscriptions in one session (as mosquitto 2.0)", () => {
  let s: Server;
  before(async () => {
    s = await startMqttServer();
  });
  after(async () => {
    await s.close();
  });

  test("3.1.1: one copy, at the highest QoS of the matching subscriptions", async () => {
    const { client: c, collector: got } = await mqttConnack(s, { protocolVersion: 4 });
    await c.subscribeAsync({ "ov4/+": { qos: 0 }, "ov4/#": { qos: 1 } });
    const p = await mqttConnect(s);
    await p.publishAsync("ov4/x", "both", { qos: 2 });
    const nc = await natsConnect({ servers: s.clientURL });
    nc.publish("ov4.y", "from nats");
    await nc.flush();
    await p.publishAsync("ov4/a/b", "one", { qos: 2 });
    await p.publishAsync("ov4/x", "q0", { qos: 0 });
    const m = await got.count(4);
    assert.deepEqual(m.map((x) => [x.topic, x.payload, x.packet.qos]), [
      ["ov4/x", "both", 1], ["ov4/y", "from nats", 1], ["ov4/a/b", "one", 1], ["ov4/x", "q0", 0],
    ]);
    await got.none();
    // without the overlap, the remaining subscription's QoS
    await c.unsubscribeAsync("ov4/#");
    await p.publishAsync("ov4/x", "alone", { qos: 2 });
    const alone = (await got.count(5))[4]!;
    assert.deepEqual([alone.payload, alone.packet.qos], ["alone", 0]);
    await got.none();
    await nc.close();
    await p.endAsync();
    await c.endAsync();
  });

  test("5.0: one copy per subscription, each with its QoS and subscription identifier", async () => {
    const { client: c, collector: got } = await mqttConnack(s, { protocolVersion: 5 });
    await c.subscribeAsync("ov5/+", { qos: 0, properties: { subscriptionIdentifier: 3 } } as never);
    await c.subscribeAsync("ov5/#", { qos: 1, properties: { subscriptionIdentifier: 4 } } as never);
    const p = await mqttConnect(s, { protocolVersion: 5 });
    await p.publishAsync("ov5/x", "m", { qos: 2 });
    const m = await got.count(2);
    assert.deepEqual(m.map((x) => [x.payload, x.packet.qos, x.packet.properties?.subscriptionIdentifier]).sort(), [
      ["m", 0, 3], ["m", 1, 4],
    ]);
    await got.none();
    await p.endAsync();
    await c.endAsync();
  });
});

test("retained messages: a filter starting with a wildcard does not reach $ topics", async () => {
  const s = await startMqttServer();
  try {
    const p = await mqttConnect(s);
    await p.publishAsync("$dev/x", "dollar", { qos: 1, retain: true });
    await p.publishAsync("dev/x", "plain", { qos: 1, retain: true });
    await p.endAsync();
    for (const [filter, want] of [["#", ["dev/x"]], ["+/x", ["dev/x"]], ["$dev/#", ["$dev/x"]], ["$dev/+", ["$dev/x"]]] as const) {
      const { client: c, collector: got } = await mqttConnack(s);
      await c.subscribeAsync(filter, { qos: 1 });
      await got.count(want.length);
      await got.none(100);
      assert.deepEqual(got.msgs.map((m) => m.topic), want, filter);
      await c.endAsync();
    }
  } finally {
    await s.close();
  }
});
