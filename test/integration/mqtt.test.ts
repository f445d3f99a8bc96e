// MQTT 3.1.1 and 5.0 with MQTT.js, and NATS clients on the same server: QoS 0/1 both ways, topic
// mapping, headers ↔ user properties, request/reply, auth and permissions, CONNACK codes, keep
// alive, client-id takeover, sessions.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as natsConnect } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { Server } from "../../src/server/server.js";
import { sleep } from "../helpers.js";
import { Collector, connectPacket, mqttConnack, mqttConnect, mqttRefused, RawMqtt, startMqttServer } from "../mqtt-helpers.js";

for (const v of [4, 5] as const) {
  describe(`MQTT ${v === 4 ? "3.1.1" : "5.0"} pub/sub`, () => {
    let s: Server;
    before(async () => {
      s = await startMqttServer();
    });
    after(async () => {
      await s.close();
    });

    test("QoS 0 and 1, wildcards", async () => {
      const sub = await mqttConnect(s, { protocolVersion: v });
      const got = new Collector(sub);
      await sub.subscribeAsync({ "a/+/c": { qos: 1 }, "x/#": { qos: 0 } });
      const pub = await mqttConnect(s, { protocolVersion: v });
      await pub.publishAsync("a/b/c", "one", { qos: 1 });
      await pub.publishAsync("a/b/c", "zero", { qos: 0 });
      await pub.publishAsync("x", "parent level", { qos: 1 });
      await pub.publishAsync("x/y/z", "deep", { qos: 1 });
      const m = await got.count(4);
      assert.deepEqual(m.map((x) => [x.topic, x.payload, x.packet.qos]), [
        ["a/b/c", "one", 1], ["a/b/c", "zero", 0], ["x", "parent level", 0], ["x/y/z", "deep", 0],
      ]);
      await got.none();
      await sub.endAsync();
      await pub.endAsync();
    });

    test("NATS ↔ MQTT, with the topic mapping's edge cases", async () => {
      const nc = await natsConnect({ servers: s.clientURL });
      const m = await mqttConnect(s, { protocolVersion: v });
      const got = new Collector(m);
      await m.subscribeAsync("#", { qos: 1 });
      const cases: [string, string][] = [
        ["a/b", "a.b"], ["/foo/bar", "/.foo.bar"], ["foo/bar/", "foo.bar./"], ["foo//bar", "foo./.bar"],
        ["//foo/bar", "/./.foo.bar"], ["foo.bar", "foo//bar"],
      ];
      // MQTT → NATS
      const seen: string[] = [];
      const ns = nc.subscribe(">", { callback: (_e, msg) => void seen.push(`${msg.subject}=${msg.string()}`) });
      await nc.flush();
      for (const [topic] of cases) await m.publishAsync(topic, topic, { qos: 1 });
      await nc.flush();
      const deadline = Date.now() + 3000;
      while (seen.length < cases.length && Date.now() < deadline) await sleep(10);
      assert.deepEqual(seen, cases.map(([t, subj]) => `${subj}=${t}`));
      const echoed = await got.count(cases.length);
      assert.deepEqual(echoed.map((x) => x.topic), cases.map(([t]) => t));
      ns.unsubscribe();
      // NATS → MQTT, at the QoS of the subscription
      for (const [, subj] of cases) nc.publish(subj, subj);
      await nc.flush();
      const fromNats = (await got.count(cases.length * 2)).slice(cases.length);
      assert.deepEqual(fromNats.map((x) => [x.topic, x.payload, x.packet.qos]), cases.map(([t, subj]) => [t, subj, 1]));
      await m.endAsync();
      await nc.close();
    });

    test("request/reply across protocols", { skip: v === 4 }, async () => {
      const nc = await natsConnect({ servers: s.clientURL });
      // an MQTT 5 request answered by a NATS responder (correlation data comes back)
      nc.subscribe("svc.echo", { callback: (_e, msg) => void msg.respond(`echo:${msg.string()}`) });
      await nc.flush();
      const req = await mqttConnect(s, { protocolVersion: 5 });
      const got = new Collector(req);
      await req.subscribeAsync("replies/me", { qos: 1 });
      await req.publishAsync("svc/echo", "hi", { qos: 1, properties: { responseTopic: "replies/me", correlationData: Buffer.from("c-1") } });
      const r = await got.next();
      assert.equal(r.topic, "replies/me");
      assert.equal(r.payload, "echo:hi");
      assert.equal(Buffer.from(r.packet.properties!.correlationData!).toString(), "c-1");
      // a NATS request answered by an MQTT 5 client through the response topic it received
      const responder = await mqttConnect(s, { protocolVersion: 5 });
      responder.on("message", (_t, payload, packet) => {
        responder.publish(packet.properties!.responseTopic!, `mqtt:${payload}`, { properties: { correlationData: packet.properties?.correlationData } });
      });
      await responder.subscribeAsync("svc/mqtt", { qos: 0 });
      const answer = await nc.request("svc.mqtt", "ping", { timeout: 2000 });
      assert.equal(answer.string(), "mqtt:ping");
      await req.endAsync();
      await responder.endAsync();
      await nc.close();
    });

    test("headers ↔ user properties", { skip: v === 4 }, async () => {
      const nc = await natsConnect({ servers: s.clientURL });
      const m = await mqttConnect(s, { protocolVersion: 5 });
      const got = new Collector(m);
      await m.subscribeAsync("h/#", { qos: 0 });
      const sub = nc.subscribe("h.from-mqtt", { max: 1 });
      await nc.flush();
      await m.publishAsync("h/from-mqtt", "x", { properties: { userProperties: { app: "demo", "trace-id": "42" }, contentType: "text/plain" } });
      for await (const msg of sub) {
        assert.equal(msg.headers?.get("app"), "demo");
        assert.equal(msg.headers?.get("trace-id"), "42");
        assert.equal(msg.headers?.get("Content-Type"), "text/plain");
      }
      await got.count(1); // its own copy
      const h = natsHeaders();
      h.set("Region", "eu");
      h.set("Content-Type", "application/json");
      nc.publish("h.from-nats", "{}", { headers: h });
      const r = (await got.count(2))[1]!;
      assert.equal(r.topic, "h/from-nats");
      assert.deepEqual({ ...r.packet.properties!.userProperties }, { Region: "eu" });
      assert.equal(r.packet.properties!.contentType, "application/json");
      await m.endAsync();
      await nc.close();
    });

    test("shared subscriptions are NATS queue groups", { skip: v === 4 }, async () => {
      const nc = await natsConnect({ servers: s.clientURL });
      let natsGot = 0;
      nc.subscribe("work.items", { queue: "g", callback: () => void natsGot++ });
      await nc.flush();
      const m = await mqttConnect(s, { protocolVersion: 5 });
      const got = new Collector(m);
      await m.subscribeAsync("$share/g/work/items", { qos: 0 });
      for (let i = 0; i < 200; i++) nc.publish("work.items", String(i));
      await nc.flush();
      await sleep(200);
      assert.equal(natsGot + got.msgs.length, 200);
      assert.ok(natsGot > 20 && got.msgs.length > 20, `${natsGot} / ${got.msgs.length}`);
      await m.endAsync();
      await nc.close();
    });
  });
}

describe("connections", () => {
  let s: Server;
  before(async () => {
    s = await startMqttServer();
  });
  after(async () => {
    await s.close();
  });

  test("unacceptable protocol version: CONNACK 0x01", async () => {
    const r = await RawMqtt.connect(s);
    r.send(connectPacket("x", { version: 6 }));
    assert.deepEqual([...(await r.waitBytes(4))], [0x20, 2, 0, 1]);
    await r.waitClosed();
  });

  test("3.1.1: empty client identifier needs a clean session (0x02); 5.0 assigns one", async () => {
    const r = await RawMqtt.connect(s);
    r.send(connectPacket("", { clean: false }));
    assert.deepEqual([...(await r.waitBytes(4))], [0x20, 2, 0, 2]);
    await r.waitClosed();
    const c = await mqttConnack(s, { protocolVersion: 5, clientId: "" });
    assert.match(String(c.properties?.assignedClientIdentifier), /^auto-/);
    await c.client.endAsync();
  });

  test("a first packet other than CONNECT closes the connection", async () => {
    const r = await RawMqtt.connect(s);
    r.send([0xc0, 0]); // PINGREQ
    await r.waitClosed();
  });

  test("keep alive: closed after 1.5 × the interval without packets", async () => {
    const r = await RawMqtt.connect(s);
    r.send(connectPacket("ka", { keepAlive: 1 }));
    await r.waitBytes(4);
    const t0 = Date.now();
    await r.waitClosed(4000);
    const dt = Date.now() - t0;
    assert.ok(dt >= 1400 && dt < 2500, `closed after ${dt}ms`);
  });

  test("client identifier takeover closes the old connection", async () => {
    const a = await mqttConnect(s, { clientId: "same" });
    const closed = new Promise<void>((r) => a.on("close", () => r()));
    const b = await mqttConnect(s, { clientId: "same" });
    await closed;
    assert.equal(b.connected, true);
    await b.endAsync();
    a.end(true);
  });

  test("persistent session: session present, QoS 1 queued while offline", async () => {
    const c1 = await mqttConnect(s, { clientId: "durable", clean: false });
    await c1.subscribeAsync("p/q", { qos: 1 });
    await c1.endAsync();
    const pub = await mqttConnect(s);
    await pub.publishAsync("p/q", "m1", { qos: 1 });
    await pub.publishAsync("p/q", "m2", { qos: 1 });
    await pub.publishAsync("p/q", "lost", { qos: 0 });
    const a2 = await mqttConnack(s, { clientId: "durable", clean: false });
    const c2 = a2.client;
    const got = a2.collector;
    assert.equal(a2.sessionPresent, true);
    const m = await got.count(2);
    assert.deepEqual(m.map((x) => [x.payload, x.packet.qos]), [["m1", 1], ["m2", 1]]);
    await got.none();
    await c2.endAsync();
    // clean session ends it
    const a3 = await mqttConnack(s, { clientId: "durable", clean: true });
    assert.equal(a3.sessionPresent, false);
    await a3.client.endAsync();
    await pub.endAsync();
  });

  test("malformed packets close only that connection", async () => {
    const ok = await mqttConnect(s);
    const got = new Collector(ok);
    await ok.subscribeAsync("alive", { qos: 0 });
    const bad: number[][] = [
      [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], // remaining length over 4 bytes
      [0x32, 3, 0, 1, 0x61], // QoS 1 publish without a packet identifier
      [0x36, 5, 0, 1, 0x61, 0, 1], // QoS 3
      [0x30, 4, 0, 2, 0xc3, 0x28], // invalid UTF-8 topic
      [0x30, 4, 0, 2, 0x61, 0x2b], // wildcard in a topic name
      [0x82, 5, 0, 1, 0, 0, 0], // SUBSCRIBE: empty filter with QoS byte missing
      [0x80, 2, 0, 1], // SUBSCRIBE with reserved flags 0
      [0xf0, 0], // AUTH in 3.1.1
    ];
    for (const b of bad) {
      const r = await RawMqtt.connect(s);
      r.send(connectPacket(`bad-${b[0]}-${b[1]}`));
      await r.waitBytes(4);
      r.send(b);
      await r.waitClosed();
    }
    await ok.publishAsync("alive", "yes");
    assert.equal((await got.next()).payload, "yes");
    await ok.endAsync();
  });
});

describe("auth and permissions", () => {
  let s: Server;
  before(async () => {
    s = await startMqttServer({
      authorization: {
        users: [
          { user: "dev", password: "pw", permissions: { publish: ["baz", "ok.>"], subscribe: ["foo", "bar", "ok.>"] } },
          { user: "mq", password: "pw", allowed_connection_types: ["MQTT"] },
          { user: "std", password: "pw", allowed_connection_types: ["STANDARD"] },
        ],
      },
    });
  });
  after(async () => {
    await s.close();
  });

  test("CONNACK codes: bad credentials, not authorized", async () => {
    assert.equal((await mqttRefused(s, { username: "dev", password: "wrong" })).code, 4);
    assert.equal((await mqttRefused(s, { username: "nobody", password: "x" })).code, 4);
    assert.equal((await mqttRefused(s, {})).code, 5);
    assert.equal((await mqttRefused(s, { username: "std", password: "pw" })).code, 5);
    assert.equal((await mqttRefused(s, { protocolVersion: 5, username: "dev", password: "wrong" })).code, 0x86);
    assert.equal((await mqttRefused(s, { protocolVersion: 5, username: "std", password: "pw" })).code, 0x87);
    const c = await mqttConnect(s, { username: "mq", password: "pw" });
    await c.endAsync();
    await assert.rejects(natsConnect({ servers: s.clientURL, user: "mq", pass: "pw", reconnect: false }));
  });

  for (const v of [4, 5] as const) {
    test(`permissions on the mapped subject (${v})`, async () => {
      const c = await mqttConnect(s, { protocolVersion: v, username: "dev", password: "pw" });
      const suback = new Promise<number[]>((r) => c.on("packetreceive", (p) => p.cmd === "suback" && r(p.granted as number[])));
      c.subscribe({ foo: { qos: 1 }, secret: { qos: 1 }, "ok/#": { qos: 0 } }, () => {});
      assert.deepEqual(await suback, [1, v === 5 ? 0x87 : 0x80, 0]);
      const got = new Collector(c);
      await c.publishAsync("ok/x", "allowed", { qos: 1 });
      if (v === 5) {
        await assert.rejects(c.publishAsync("not/allowed", "no", { qos: 1 }), /Not authorized|135|0x87/i);
      } else await c.publishAsync("not/allowed", "dropped", { qos: 1 });
      assert.equal((await got.next()).payload, "allowed");
      await got.none();
      assert.equal(c.connected, true);
      await c.endAsync();
    });
  }
});

describe("hostile input", () => {
  test("random bytes after CONNECT close only that connection; the server keeps serving", async () => {
    const s = await startMqttServer();
    try {
      const ok = await mqttConnect(s);
      const got = new Collector(ok);
      await ok.subscribeAsync("still/here", { qos: 1 });
      let seed = 7;
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      for (let i = 0; i < 60; i++) {
        const r = await RawMqtt.connect(s);
        r.send(connectPacket(`fuzz-${i}`, { version: i % 2 === 0 ? 4 : 5 }));
        await r.waitBytes(4);
        const junk = Buffer.alloc(1 + rnd(200));
        for (let j = 0; j < junk.length; j++) junk[j] = rnd(256);
        r.send(junk);
        await sleep(5);
        r.close();
      }
      await ok.publishAsync("still/here", "yes", { qos: 1 });
      assert.equal((await got.next()).payload, "yes");
      await ok.endAsync();
    } finally {
      await s.close();
    }
  });

  test("a user limited to MQTT_WS is refused over plain MQTT", async () => {
    const s = await startMqttServer({ authorization: { users: [{ user: "w", password: "w", allowed_connection_types: ["MQTT_WS"] }] } });
    try {
      assert.equal((await mqttRefused(s, { username: "w", password: "w" })).code, 5);
    } finally {
      await s.close();
    }
  });
});
