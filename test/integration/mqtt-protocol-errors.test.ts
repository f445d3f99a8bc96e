// MQTT protocol errors decided by the specification where Junction and mosquitto 2.0 first differed
// (test-interop/differential-mqtt.test.ts finds them): the bytes a client gets, and the close.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "../../src/server/server.js";
import { connectPacket, RawMqtt, startMqttServer } from "../mqtt-helpers.js";

let s: Server;

before(async () => {
  s = await startMqttServer({});
});

after(async () => {
  await s?.close();
});

const u16 = (n: number): number[] => [n >> 8, n & 0xff];
const str = (t: string | number[]): number[] => {
  const b = typeof t === "string" ? [...Buffer.from(t)] : t;
  return [...u16(b.length), ...b];
};
const pkt = (first: number, body: number[]): Buffer => Buffer.from([first, body.length, ...body]);

/** A raw client that sent CONNECT and got its CONNACK (3.1.1: 4 bytes, 5.0 with Junction's properties). */
async function connected(id: string, v: 4 | 5): Promise<RawMqtt> {
  const c = await RawMqtt.connect(s);
  c.send(connectPacket(id, { version: v }));
  await c.waitBytes(2);
  await c.waitBytes(2 + c.data[1]!);
  c.data = Buffer.alloc(0);
  return c;
}

function subscribe(pid: number, v: 4 | 5, subs: [string, number][]): Buffer {
  const body = [...u16(pid), ...(v === 5 ? [0] : [])];
  for (const [f, o] of subs) body.push(...str(f), o);
  return pkt(0x82, body);
}

/** What came before the close. */
async function closedWith(c: RawMqtt): Promise<string> {
  await c.waitClosed();
  return c.data.toString("hex");
}

test("a 5.0 CONNECT under another protocol name is not answered [MQTT-3.1.2-1]", async () => {
  const c = await RawMqtt.connect(s);
  const good = connectPacket("pe-name", { version: 5 });
  good.write("MQTX", 4, "latin1");
  c.send(good);
  assert.equal(await closedWith(c), "");
});

test("a will topic with a wildcard: 3.1.1 closes without CONNACK, 5.0 CONNACK 0x82", async () => {
  for (const v of [4, 5] as const) {
    const c = await RawMqtt.connect(s);
    const body = [...str("MQTT"), v, 0x06, 0, 60, ...(v === 5 ? [0] : []), ...str(`pe-will-${v}`), ...(v === 5 ? [0] : []), ...str("w/+"), ...str("x")];
    c.send(pkt(0x10, body));
    const got = await closedWith(c);
    if (v === 4) assert.equal(got, "");
    else assert.match(got, /^20..0082/);
  }
});

test("5.0 PUBLISH: a wildcard topic is a protocol error (0x82), topic alias 0 too, over the maximum 0x94", async () => {
  const cases: [number[], string][] = [
    [[...str("pe/+"), 0, 1], "82"],
    [[...str("pe/a"), 3, 0x23, ...u16(0), 1], "82"],
    [[...str("pe/a"), 3, 0x23, ...u16(101), 1], "94"],
  ];
  for (const [i, [body, reason]] of cases.entries()) {
    const c = await connected(`pe-pub-${i}`, 5);
    c.send(pkt(0x30, body));
    assert.match(await closedWith(c), new RegExp(`^e0..${reason}`), `case ${i}`);
  }
});

test("5.0 PUBACK says 0x10 when nobody subscribes; 3.1.1 and matched publishes get plain success", async () => {
  const pub5 = await connected("pe-puback-5", 5);
  pub5.send(pkt(0x32, [...str("pe/none"), ...u16(7), 0, 0x61]));
  assert.equal((await pub5.waitBytes(4)).toString("hex"), "4003000710");
  const sub = await connected("pe-puback-sub", 5);
  sub.send(subscribe(1, 5, [["pe/some", 0]]));
  await sub.waitBytes(5);
  pub5.data = Buffer.alloc(0);
  pub5.send(pkt(0x32, [...str("pe/some"), ...u16(8), 0, 0x61]));
  assert.equal((await pub5.waitBytes(4)).toString("hex"), "40020008");
  const pub4 = await connected("pe-puback-4", 4);
  pub4.send(pkt(0x32, [...str("pe/none"), ...u16(9), 0x61]));
  assert.equal((await pub4.waitBytes(4)).toString("hex"), "40020009");
  for (const c of [pub5, sub, pub4]) c.close();
});

test("SUBSCRIBE with a malformed filter closes at both levels (5.0: DISCONNECT 0x81), no SUBACK", async () => {
  const filters = ["pe/#/b", "pe+", "pe#", "", "$share//pe", "$share/g", "$share/g+/pe"];
  for (const v of [4, 5] as const) {
    for (const f of filters) {
      const c = await connected(`pe-filter-${v}`, v);
      // a valid filter first: the whole packet is refused, not only the bad filter
      c.send(subscribe(1, v, [["pe/ok", 0], [f, 0]]));
      const got = await closedWith(c);
      if (v === 4) assert.equal(got, "", JSON.stringify(f));
      else assert.match(got, /^e0..81[^]*$/, JSON.stringify(f));
      assert.ok(!got.startsWith("90"), "no SUBACK");
    }
  }
});

test("5.0 $share with no local is a protocol error [MQTT-3.8.3-4]", async () => {
  const c = await connected("pe-share-nl", 5);
  c.send(subscribe(1, 5, [["$share/g/pe/x", 0x04]]));
  assert.match(await closedWith(c), /^e0..82/);
});

test("UNSUBSCRIBE with a malformed filter closes (5.0: DISCONNECT 0x81)", async () => {
  for (const v of [4, 5] as const) {
    const c = await connected(`pe-unsub-${v}`, v);
    c.send(pkt(0xa2, [...u16(1), ...(v === 5 ? [0] : []), ...str("pe/#/x")]));
    const got = await closedWith(c);
    if (v === 4) assert.equal(got, "");
    else assert.match(got, /^e0..81/);
  }
});

test("5.0 AUTH from a client that gave no authentication method is a protocol error [MQTT-4.12.0-7]", async () => {
  const c = await connected("pe-auth", 5);
  c.send(Buffer.from([0xf0, 2, 0x18, 0]));
  assert.match(await closedWith(c), /^e0..82/);
});
