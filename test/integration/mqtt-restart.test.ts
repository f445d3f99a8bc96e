// Sessions, their subscriptions and queued QoS 1/2 messages, and retained messages survive a
// restart and a SIGKILL (the file store under the JetStream store_dir).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../../src/index.js";
import type { Server } from "../../src/server/server.js";
import { sleep, until } from "../helpers.js";
import { connect as natsConnect } from "@nats-io/transport-node";
import { connectPacket, mqttConnack, mqttConnect, RawMqtt } from "../mqtt-helpers.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Fills a store: a persistent session with messages queued for it, and retained messages. */
async function fill(url: string): Promise<void> {
  const d = await mqttConnect(url, { clientId: "keeper", clean: false });
  await d.subscribeAsync({ "dev/+/temp": { qos: 1 }, "cmd/#": { qos: 2 } });
  await d.endAsync();
  const v5 = await mqttConnect(url, { clientId: "keeper5", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } });
  await v5.subscribeAsync("dev/#", { qos: 1 });
  await v5.endAsync();
  const p = await mqttConnect(url);
  await p.publishAsync("dev/1/temp", "21.5", { qos: 1 });
  await p.publishAsync("dev/2/temp", "19.0", { qos: 1 });
  await p.publishAsync("cmd/reboot", "now", { qos: 2 });
  await p.publishAsync("status/a", "up", { qos: 1, retain: true });
  await p.publishAsync("status/b", "up", { qos: 1, retain: true });
  await p.publishAsync("status/b", "", { qos: 1, retain: true }); // deleted
  await p.endAsync();
}

async function check(url: string): Promise<void> {
  const k = await mqttConnack(url, { clientId: "keeper", clean: false });
  assert.equal(k.sessionPresent, true);
  const m = await k.collector.count(3);
  assert.deepEqual(m.map((x) => [x.topic, x.payload, x.packet.qos]).sort(), [
    ["cmd/reboot", "now", 2], ["dev/1/temp", "21.5", 1], ["dev/2/temp", "19.0", 1],
  ]);
  // the subscriptions came back too
  const p = await mqttConnect(url);
  await p.publishAsync("dev/3/temp", "18", { qos: 1 });
  assert.equal((await k.collector.count(4))[3]!.payload, "18");
  await k.collector.none();
  const k5 = await mqttConnack(url, { clientId: "keeper5", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } });
  assert.equal(k5.sessionPresent, true);
  const m5 = await k5.collector.count(3);
  assert.deepEqual(m5.map((x) => x.payload).sort(), ["18", "19.0", "21.5"]);
  const r = await mqttConnack(url);
  await r.client.subscribeAsync("status/#", { qos: 1 });
  const ret = await r.collector.count(1);
  assert.deepEqual(ret.map((x) => [x.topic, x.payload, x.packet.retain]), [["status/a", "up", true]]);
  await r.collector.none();
  for (const c of [k.client, k5.client, r.client, p]) await c.endAsync();
}

test("a restart keeps sessions, queued messages and retained messages", async () => {
  const dir = mkdtempSync(join(tmpdir(), "junction-mqtt-"));
  const opts = { host: "127.0.0.1", port: -1, server_name: "r", jetstream: { store_dir: dir }, mqtt: { host: "127.0.0.1", port: -1 } };
  const s1 = await startServer(opts);
  await fill(`mqtt://127.0.0.1:${s1.mqttPort}`);
  await s1.close();
  const s2 = await startServer(opts);
  try {
    await check(`mqtt://127.0.0.1:${s2.mqttPort}`);
  } finally {
    await s2.close();
  }
});

test("SIGKILL: what was acknowledged survives", async () => {
  const dir = mkdtempSync(join(tmpdir(), "junction-mqtt-kill-"));
  const port = await freePort();
  const conf = join(dir, "j.conf");
  writeFileSync(conf, `listen: 127.0.0.1:-1\nserver_name: k\njetstream { store_dir: "${join(dir, "js")}" }\nmqtt { listen: 127.0.0.1:${port} }\n`);
  const url = `mqtt://127.0.0.1:${port}`;
  const start = async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "-e", `import(${JSON.stringify(CLI)}).then((m) => m.main(process.argv.slice(1)))`, "--", "-c", conf],
      { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (b) => (out += b));
    child.stderr!.on("data", (b) => (out += b));
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    await until(async () => {
      try {
        const c = await mqttConnect(url, { connectTimeout: 500 });
        await c.endAsync();
        return true;
      } catch {
        return false;
      }
    }, 15_000, `server up; output: ${out}`);
    return { child, exited };
  };
  const a = await start();
  await fill(url);
  // a QoS 2 publish acknowledged with PUBREC, not yet released, when the server dies
  const srv = { mqttPort: port } as Server;
  const q2 = await rawSession(srv, "kq2", false);
  q2.r.send(rawPublish("kq2/x", "first", 2, 7, false));
  assert.equal((await q2.in.next()).type, 5);
  a.child.kill("SIGKILL");
  await a.exited;
  await sleep(50);
  const b = await start();
  try {
    await check(url);
    const { client: w, collector: got } = await mqttConnack(url);
    await w.subscribeAsync("kq2/#", { qos: 0 });
    const c = await rawSession(srv, "kq2", false);
    c.r.send(rawPublish("kq2/x", "first", 2, 7, false, true));
    assert.equal((await c.in.next()).type, 5);
    c.r.send(rawAck(6, 7));
    assert.equal((await c.in.next()).type, 7);
    c.r.send(rawPublish("kq2/x", "second", 2, 7, false));
    assert.equal((await c.in.next()).type, 5);
    c.r.send(rawAck(6, 7));
    assert.equal((await c.in.next()).type, 7);
    // only the new message: the resend was known
    assert.equal((await got.next()).payload, "second");
    await got.none();
    c.r.close();
    await w.endAsync();
  } finally {
    b.child.kill("SIGTERM");
    await b.exited;
  }
});

// ---- packet identifiers across a restart (raw packets: MQTT.js hides identifiers and DUP)

interface Pkt {
  type: number;
  flags: number;
  body: Buffer;
}

/** Reads the packets a raw connection receives, one by one. */
class Packets {
  private pos = 0;
  constructor(readonly r: RawMqtt) {}

  async next(ms = 3000): Promise<Pkt> {
    const r = this.r;
    await r.waitBytes(this.pos + 2, ms);
    let len = 0;
    let mult = 1;
    let p = this.pos + 1;
    for (;;) {
      await r.waitBytes(p + 1, ms);
      const d = r.data[p++]!;
      len += (d & 0x7f) * mult;
      mult *= 128;
      if ((d & 0x80) === 0) break;
    }
    await r.waitBytes(p + len, ms);
    const first = r.data[this.pos]!;
    this.pos = p + len;
    return { type: first >> 4, flags: first & 15, body: r.data.subarray(p, p + len) };
  }

  /** Nothing more arrives for a while. */
  async none(ms = 300): Promise<void> {
    await sleep(ms);
    assert.equal(this.r.data.length, this.pos, `unexpected bytes: ${this.r.data.subarray(this.pos).toString("hex")}`);
  }
}

function u16(n: number): number[] {
  return [n >> 8, n & 0xff];
}

function str(s: string): number[] {
  const b = Buffer.from(s);
  return [...u16(b.length), ...b];
}

function rawPublish(topic: string, payload: string, qos: number, pid: number, v5: boolean, dup = false): Buffer {
  const body = [...str(topic), ...(qos > 0 ? u16(pid) : []), ...(v5 ? [0] : []), ...Buffer.from(payload)];
  return Buffer.from([0x30 | (dup ? 8 : 0) | (qos << 1), body.length, ...body]);
}

function rawAck(type: number, pid: number): Buffer {
  return Buffer.from([(type << 4) | (type === 6 ? 2 : 0), 2, ...u16(pid)]);
}

/** A PUBLISH as received: QoS, DUP, packet identifier, topic, payload, (5.0) subscription identifier. */
function readPublish(p: Pkt, v5: boolean): { qos: number; dup: boolean; pid: number; topic: string; payload: string; subId?: number } {
  assert.equal(p.type, 3, `expected PUBLISH, got type ${p.type}`);
  const b = p.body;
  const qos = (p.flags >> 1) & 3;
  const tl = b.readUInt16BE(0);
  let pos = 2 + tl;
  const pid = qos > 0 ? b.readUInt16BE(pos) : 0;
  if (qos > 0) pos += 2;
  let subId: number | undefined;
  if (v5) {
    const plen = b[pos++]!;
    const end = pos + plen;
    while (pos < end) {
      const id = b[pos++]!;
      if (id === 0x0b) subId = b[pos++]!;
      else if (id === 0x23) pos += 2;
      else throw new Error(`unexpected property ${id}`);
    }
  }
  return { qos, dup: (p.flags & 8) !== 0, pid, topic: b.toString("utf8", 2, 2 + tl), payload: b.toString("utf8", pos), subId };
}

async function rawSession(s: Server, id: string, v5: boolean): Promise<{ r: RawMqtt; in: Packets; present: boolean }> {
  const r = await RawMqtt.connect(s);
  const pk = new Packets(r);
  r.send(v5 ? connectWithExpiry(id) : connectPacket(id, { clean: false }));
  const ack = await pk.next();
  assert.equal(ack.type, 2);
  assert.equal(ack.body[1], 0, "CONNACK accepted");
  return { r, in: pk, present: (ack.body[0]! & 1) === 1 };
}

/** A 5.0 CONNECT with a session expiry of an hour (a persistent session). */
function connectWithExpiry(id: string): Buffer {
  const props = [0x11, 0, 0, 0x0e, 0x10];
  const body = [...str("MQTT"), 5, 0, ...u16(60), props.length, ...props, ...str(id)];
  return Buffer.from([0x10, body.length, ...body]);
}

function storeOpts(): Parameters<typeof startServer>[0] {
  const dir = mkdtempSync(join(tmpdir(), "junction-mqtt-pid-"));
  return { host: "127.0.0.1", port: -1, server_name: "p", jetstream: { store_dir: dir }, mqtt: { host: "127.0.0.1", port: -1 } };
}

test("a QoS 2 PUBLISH received before a restart and resent after it is delivered once (3.1.1 and 5.0)", async () => {
  const opts = storeOpts();
  const s1 = await startServer(opts);
  const nc1 = await natsConnect({ servers: `127.0.0.1:${s1.port}` });
  const before: string[] = [];
  const sub1 = nc1.subscribe("in2.>", { callback: (_e, m) => void before.push(m.string()) });
  await nc1.flush();
  for (const v5 of [false, true]) {
    const c = await rawSession(s1, `q2pub-${v5}`, v5);
    c.r.send(rawPublish(`in2/${v5}`, "first", 2, 7, v5));
    const rec = await c.in.next();
    assert.deepEqual([rec.type, rec.body.readUInt16BE(0)], [5, 7]);
    c.r.close();
  }
  await until(async () => before.length === 2, 3000, "delivered before the restart");
  sub1.unsubscribe();
  await nc1.close();
  await s1.close();

  const s2 = await startServer(opts);
  try {
    const nc = await natsConnect({ servers: `127.0.0.1:${s2.port}` });
    const after: string[] = [];
    nc.subscribe("in2.>", { callback: (_e, m) => void after.push(`${m.subject} ${m.string()}`) });
    await nc.flush();
    for (const v5 of [false, true]) {
      const c = await rawSession(s2, `q2pub-${v5}`, v5);
      assert.equal(c.present, true);
      // the resend (DUP): acknowledged, not delivered again
      c.r.send(rawPublish(`in2/${v5}`, "first", 2, 7, v5, true));
      const rec = await c.in.next();
      assert.deepEqual([rec.type, rec.body.readUInt16BE(0), v5 ? rec.body[2] ?? 0 : 0], [5, 7, 0]);
      c.r.send(rawAck(6, 7));
      const comp = await c.in.next();
      // 5.0: the identifier was known (0x92 would say it was not)
      assert.deepEqual([comp.type, comp.body.readUInt16BE(0), v5 ? comp.body[2] ?? 0 : 0], [7, 7, 0]);
      // released: the identifier is free for a new message
      c.r.send(rawPublish(`in2/${v5}`, "second", 2, 7, v5));
      assert.equal((await c.in.next()).type, 5);
      c.r.send(rawAck(6, 7));
      assert.equal((await c.in.next()).type, 7);
      c.r.close();
    }
    await nc.flush();
    await until(async () => after.length === 2, 3000, "the new messages");
    await sleep(100);
    assert.deepEqual(after, ["in2.false second", "in2.true second"]);
    await nc.close();
  } finally {
    await s2.close();
  }
});

test("messages in flight before a restart are resent after it with DUP and the same packet identifiers", async () => {
  const opts = storeOpts();
  const s1 = await startServer(opts);
  const p1 = await mqttConnect(`mqtt://127.0.0.1:${s1.mqttPort}`, { protocolVersion: 5 });
  for (const v5 of [false, true]) {
    const id = `osub-${v5}`;
    let c = await rawSession(s1, id, v5);
    // SUBSCRIBE out/<v>/# at QoS 2 (5.0: with subscription identifier 9)
    const f = [...str(`out/${v5}/#`), 2];
    const body = [...u16(1), ...(v5 ? [2, 0x0b, 9] : []), ...f];
    c.r.send(Buffer.from([0x82, body.length, ...body]));
    assert.equal((await c.in.next()).type, 9);
    for (const [payload, qos] of [["m1", 1], ["m2", 1], ["m3", 1], ["m4", 2]] as const) {
      await p1.publishAsync(`out/${v5}/x`, payload, { qos });
    }
    const got = [];
    for (let i = 0; i < 4; i++) got.push(readPublish(await c.in.next(), v5));
    assert.deepEqual(got.map((m) => [m.payload, m.pid, m.dup]), [["m1", 1, false], ["m2", 2, false], ["m3", 3, false], ["m4", 4, false]]);
    // m1 and m2 acknowledged; m3 and m4 stay in flight
    c.r.send(rawAck(4, 1));
    c.r.send(rawAck(4, 2));
    await sleep(50);
    // DISCONNECT, so that the server has let go of the connection before m5
    c.r.send([0xe0, 0]);
    await c.r.waitClosed();
    // m5 waits in the queue while the client is away, goes out with the next identifier on return
    await p1.publishAsync(`out/${v5}/y`, "m5", { qos: 1 });
    await sleep(50);
    c = await rawSession(s1, id, v5);
    const back = [];
    for (let i = 0; i < 3; i++) back.push(readPublish(await c.in.next(), v5));
    assert.deepEqual(back.map((m) => [m.payload, m.pid, m.dup]), [["m3", 3, true], ["m4", 4, true], ["m5", 5, false]]);
    if (v5) assert.deepEqual(back.map((m) => m.subId), [9, 9, 9]);
    c.r.close();
  }
  await p1.endAsync();
  await s1.close();

  const s2 = await startServer(opts);
  try {
    for (const v5 of [false, true]) {
      const id = `osub-${v5}`;
      const c = await rawSession(s2, id, v5);
      assert.equal(c.present, true);
      const again = [];
      for (let i = 0; i < 3; i++) again.push(readPublish(await c.in.next(), v5));
      assert.deepEqual(again.map((m) => [m.payload, m.pid, m.dup, m.qos]), [["m3", 3, true, 1], ["m4", 4, true, 2], ["m5", 5, true, 1]]);
      if (v5) assert.deepEqual(again.map((m) => m.subId), [9, 9, 9]);
      c.r.send(rawAck(4, 3));
      c.r.send(rawAck(5, 4));
      const rel = await c.in.next();
      assert.deepEqual([rel.type, rel.body.readUInt16BE(0)], [6, 4]);
      c.r.send(rawAck(7, 4));
      c.r.send(rawAck(4, 5));
      await c.in.none();
      c.r.close();
      // all acknowledged: nothing comes back on the next connection
      const d = await rawSession(s2, id, v5);
      await d.in.none();
      d.r.close();
    }
  } finally {
    await s2.close();
  }
});
