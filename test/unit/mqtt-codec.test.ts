// The MQTT codec against mqtt-packet (the field-standard codec): what mqtt-packet generates, we
// decode the same; what we encode, mqtt-packet parses the same. Then fuzzing: mutated and random
// packets only ever raise protocol errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import mqttPacket from "mqtt-packet";
import {
  decodeConnect, decodePublish, decodeSubscribe, decodeUnsubscribe, decodeAck, decodeDisconnect, encodeAck,
  encodeConnack, encodeSuback, encodeUnsuback, encodeDisconnect, encodeProps, Framer, MqttProtocolError,
  writePublishHeader, publishSize,
} from "../../src/mqtt/codec.js";
import { TopicError, topicToSubject, subjectToTopic, checkFilter, filterSubjects, parseShared } from "../../src/mqtt/topic.js";

/** Splits a generated packet into its first byte and body. */
function split(b: Buffer): [number, Buffer] {
  let p = 1;
  while (b[p]! & 0x80) p++;
  return [b[0]!, b.subarray(p + 1)];
}

function parseWith(b: Buffer, protocolVersion: 4 | 5): mqttPacket.Packet {
  const parser = mqttPacket.parser({ protocolVersion });
  let out: mqttPacket.Packet | undefined;
  let err: Error | undefined;
  parser.on("packet", (p) => (out = p));
  parser.on("error", (e) => (err = e));
  parser.parse(b);
  if (err) throw err;
  assert.ok(out, "mqtt-packet parsed nothing");
  return out;
}

test("topic ↔ subject, as nats-server maps them", () => {
  const cases: [string, string][] = [
    ["a/b", "a.b"], ["/foo/bar", "/.foo.bar"], ["foo/bar/", "foo.bar./"], ["foo//bar", "foo./.bar"],
    ["//foo/bar", "/./.foo.bar"], ["foo.bar", "foo//bar"], ["foo", "foo"], ["/", "/./"], ["a//", "a././"],
  ];
  for (const [t, s] of cases) {
    assert.equal(topicToSubject(t, false), s, t);
    assert.equal(subjectToTopic(s), t, s);
  }
  assert.equal(topicToSubject("a/+/#", true), "a.*.>");
  assert.throws(() => topicToSubject("a/+", false), TopicError);
  assert.throws(() => topicToSubject("a b", false), TopicError);
  assert.deepEqual(filterSubjects("a/#"), ["a.>", "a"]);
  assert.deepEqual(filterSubjects("#"), [">"]);
  assert.equal(checkFilter("a/#/b") !== undefined, true);
  assert.equal(checkFilter("a+/b") !== undefined, true);
  assert.equal(checkFilter("+/a/#"), undefined);
  assert.deepEqual(parseShared("$share/g/a/b"), { group: "g", filter: "a/b" });
  assert.throws(() => parseShared("$share/g"), TopicError);
  assert.equal(parseShared("a/b"), undefined);
});

test("decoding what mqtt-packet generates (3.1.1 and 5.0)", () => {
  for (const v of [4, 5] as const) {
    const connect = mqttPacket.generate({
      cmd: "connect", protocolId: "MQTT", protocolVersion: v, clean: false, clientId: "c-é", keepalive: 30,
      username: "u", password: Buffer.from("p"),
      will: { topic: "w/t", payload: Buffer.from("bye"), qos: 1, retain: true, ...(v === 5 ? { properties: { willDelayInterval: 5 } } : {}) },
      ...(v === 5 ? { properties: { sessionExpiryInterval: 60, receiveMaximum: 10, topicAliasMaximum: 5, userProperties: { a: "b" } } } : {}),
    } as mqttPacket.IConnectPacket);
    const [, cb] = split(connect);
    const c = decodeConnect(cb);
    assert.equal(c.version, v);
    assert.equal(c.clientId, "c-é");
    assert.equal(c.clean, false);
    assert.equal(c.keepAlive, 30);
    assert.equal(c.username, "u");
    assert.equal(c.password!.toString(), "p");
    assert.deepEqual([c.will!.topic, c.will!.payload.toString(), c.will!.qos, c.will!.retain], ["w/t", "bye", 1, true]);
    if (v === 5) {
      assert.deepEqual(c.props, { sessionExpiry: 60, receiveMaximum: 10, topicAliasMaximum: 5, userProperties: [["a", "b"]] });
      assert.equal(c.will!.props!.willDelay, 5);
    }
    const pub = mqttPacket.generate({
      cmd: "publish", topic: "a/b", payload: Buffer.from("xyz"), qos: 2, dup: true, retain: true, messageId: 42,
      ...(v === 5 ? { properties: { topicAlias: 3, messageExpiryInterval: 9, correlationData: Buffer.from("id"), responseTopic: "r/t", userProperties: { k: ["1", "2"] } } } : {}),
    } as mqttPacket.IPublishPacket, { protocolVersion: v });
    const [pf, pb] = split(pub);
    const p = decodePublish(pf & 15, pb, v === 5);
    assert.deepEqual([p.topicBytes.toString(), p.payload.toString(), p.qos, p.dup, p.retain, p.pid], ["a/b", "xyz", 2, true, true, 42]);
    if (v === 5) {
      assert.equal(p.props!.topicAlias, 3);
      assert.equal(p.props!.messageExpiry, 9);
      assert.equal(p.props!.responseTopic, "r/t");
      assert.equal(p.props!.correlationData!.toString(), "id");
      assert.deepEqual(p.props!.userProperties, [["k", "1"], ["k", "2"]]);
    }
    const sub = mqttPacket.generate({
      cmd: "subscribe", messageId: 7,
      subscriptions: [{ topic: "a/#", qos: 1, ...(v === 5 ? { nl: true, rap: true, rh: 2 } : {}) }, { topic: "$share/g/x", qos: 2 }],
      ...(v === 5 ? { properties: { subscriptionIdentifier: 99 } } : {}),
    } as mqttPacket.ISubscribePacket, { protocolVersion: v });
    const s = decodeSubscribe(split(sub)[1], v === 5);
    assert.equal(s.pid, 7);
    assert.deepEqual(s.subs.map((x) => [x.filter, x.qos, x.noLocal, x.retainAsPublished, x.retainHandling]),
      [["a/#", 1, v === 5, v === 5, v === 5 ? 2 : 0], ["$share/g/x", 2, false, false, 0]]);
    if (v === 5) assert.deepEqual(s.props!.subscriptionIds, [99]);
    const uns = mqttPacket.generate({ cmd: "unsubscribe", messageId: 8, unsubscriptions: ["a/#", "b"] } as mqttPacket.IUnsubscribePacket, { protocolVersion: v });
    assert.deepEqual(decodeUnsubscribe(split(uns)[1], v === 5).filters, ["a/#", "b"]);
    const ack = mqttPacket.generate({ cmd: "puback", messageId: 300, ...(v === 5 ? { reasonCode: 0x10 } : {}) } as mqttPacket.IPubackPacket, { protocolVersion: v });
    assert.deepEqual(decodeAck(split(ack)[1], v === 5).pid, 300);
    const disc = mqttPacket.generate({ cmd: "disconnect", ...(v === 5 ? { reasonCode: 4, properties: { sessionExpiryInterval: 0 } } : {}) } as mqttPacket.IDisconnectPacket, { protocolVersion: v });
    const d = decodeDisconnect(split(disc)[1], v === 5);
    assert.equal(d.reason, v === 5 ? 4 : 0);
  }
});

test("what we encode, mqtt-packet parses the same", () => {
  for (const v of [4, 5] as const) {
    const v5 = v === 5;
    const ca = parseWith(encodeConnack(true, v5 ? 0x86 : 4, v5, v5 ? { assignedClientId: "x", topicAliasMaximum: 10, reasonString: "why" } : undefined), v) as mqttPacket.IConnackPacket;
    assert.equal(ca.sessionPresent, true);
    assert.equal(v5 ? ca.reasonCode : ca.returnCode, v5 ? 0x86 : 4);
    if (v5) assert.deepEqual(ca.properties, { assignedClientIdentifier: "x", topicAliasMaximum: 10, reasonString: "why" });
    const props = v5 ? encodeProps({ subscriptionIds: [5], userProperties: [["a", "1"]], contentType: "t", topicAlias: 2 }) : undefined;
    const payload = Buffer.from("hello");
    const topic = Buffer.from("t/ü", "utf8");
    const size = publishSize(topic.length, 1, payload.length, v5, props?.length ?? 0);
    const out = Buffer.alloc(size);
    const n = writePublishHeader(out, 1, true, true, topic, 513, payload.length, v5, props);
    payload.copy(out, n);
    assert.equal(n + payload.length, size);
    const p = parseWith(out, v) as mqttPacket.IPublishPacket;
    assert.deepEqual([p.topic, p.payload.toString(), p.qos, p.retain, p.dup, p.messageId], ["t/ü", "hello", 1, true, true, 513]);
    if (v5) assert.deepEqual(JSON.parse(JSON.stringify(p.properties)), { subscriptionIdentifier: 5, userProperties: { a: "1" }, contentType: "t", topicAlias: 2 });
    const sa = parseWith(encodeSuback(9, [0, 1, 2, 0x80], v5), v) as mqttPacket.ISubackPacket;
    assert.deepEqual([sa.messageId, sa.granted], [9, [0, 1, 2, 0x80]]);
    const ua = parseWith(encodeUnsuback(10, [0, 0x11], v5), v) as mqttPacket.IUnsubackPacket;
    assert.equal(ua.messageId, 10);
    for (const [type, cmd] of [[4, "puback"], [5, "pubrec"], [6, "pubrel"], [7, "pubcomp"]] as const) {
      const reason = type < 6 ? 0x87 : 0x92;
      const a = parseWith(encodeAck(type, 77, v5, v5 ? reason : 0), v) as mqttPacket.IPubackPacket;
      assert.deepEqual([a.cmd, a.messageId], [cmd, 77]);
      if (v5) assert.equal(a.reasonCode, reason);
    }
    if (v5) {
      const d = parseWith(encodeDisconnect(0x8e, { reasonString: "taken over" }), 5) as mqttPacket.IDisconnectPacket;
      assert.deepEqual([d.reasonCode, d.properties?.reasonString], [0x8e, "taken over"]);
    }
  }
});

test("framing across chunk boundaries and oversized packets", () => {
  const got: [number, string][] = [];
  const errors: MqttProtocolError[] = [];
  const f = new Framer({ packet: (first, body) => got.push([first, body.toString("hex")]), frameError: (e) => errors.push(e) });
  const pkts = [Buffer.from([0xc0, 0]), mqttPacket.generate({ cmd: "publish", topic: "t", payload: Buffer.alloc(300, 1), qos: 0, retain: false, dup: false } as mqttPacket.IPublishPacket)];
  const all = Buffer.concat([...pkts, ...pkts]);
  for (let i = 0; i < all.length; i += 7) f.push(all.subarray(i, i + 7));
  assert.equal(got.length, 4);
  assert.equal(got[1]![1], split(pkts[1]!)[1].toString("hex"));
  const small = new Framer({ packet: () => assert.fail("no packet"), frameError: (e) => errors.push(e) });
  small.maxPacket = 100;
  small.push(pkts[1]!);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.reason, 0x95);
});

test("fuzz: mutated and random packets only raise protocol errors", () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const samples = [
    mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId: "x", keepalive: 10, properties: { sessionExpiryInterval: 5, userProperties: { a: "b" } }, will: { topic: "w", payload: Buffer.from("p"), qos: 1, retain: false, properties: { willDelayInterval: 1 } } } as mqttPacket.IConnectPacket),
    mqttPacket.generate({ cmd: "publish", topic: "a/b", payload: Buffer.from("xyz"), qos: 1, messageId: 3, retain: false, dup: false, properties: { topicAlias: 1, userProperties: { k: "v" } } } as mqttPacket.IPublishPacket, { protocolVersion: 5 }),
    mqttPacket.generate({ cmd: "subscribe", messageId: 7, subscriptions: [{ topic: "a/#", qos: 1, nl: true, rap: false, rh: 1 }], properties: { subscriptionIdentifier: 4 } } as mqttPacket.ISubscribePacket, { protocolVersion: 5 }),
    mqttPacket.generate({ cmd: "unsubscribe", messageId: 8, unsubscriptions: ["a/#"] } as mqttPacket.IUnsubscribePacket, { protocolVersion: 5 }),
  ];
  const decoders = [
    (b: Buffer) => decodeConnect(b),
    (b: Buffer) => decodePublish(2, b, true),
    (b: Buffer) => decodeSubscribe(b, true),
    (b: Buffer) => decodeUnsubscribe(b, true),
  ];
  for (let i = 0; i < 20_000; i++) {
    const k = rnd(samples.length);
    const body = Buffer.from(split(samples[k]!)[1]);
    const mutations = 1 + rnd(4);
    for (let m = 0; m < mutations; m++) body[rnd(body.length)] = rnd(256);
    const cut = rnd(3) === 0 ? body.subarray(0, rnd(body.length + 1)) : body;
    for (const dec of [decoders[k]!, decoders[rnd(decoders.length)]!]) {
      try {
        dec(cut);
      } catch (e) {
        if (!(e instanceof MqttProtocolError)) throw new Error(`decoder ${k} threw ${(e as Error).stack} on ${cut.toString("hex")}`);
      }
    }
  }
  // random byte streams through the framer
  for (let i = 0; i < 2000; i++) {
    const f = new Framer({ packet: () => {}, frameError: () => {} });
    const b = Buffer.alloc(1 + rnd(64));
    for (let j = 0; j < b.length; j++) b[j] = rnd(256);
    f.push(b);
  }
});
