// JetStream across accounts: mirrors and sources of another account's stream through `external`
// (the imported API prefix and delivery subject, configured as for nats-server), the same with
// this server's own domain, and an account using another account's JetStream through an imported
// API with the official client's `apiPrefix`.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, test } from "node:test";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { parseConfig, resolveOptions } from "../../src/config/index.js";
import { startResolved } from "../../src/index.js";
import type { Server } from "../../src/server/server.js";
import { eventually, tmpStoreDir, validate } from "./jetstream-helpers.js";

/** Starts a server from configuration text (nats-server's format) with JetStream in `storeDir`. */
async function startConf(text: string, storeDir: string): Promise<Server> {
  const conf = `listen: 127.0.0.1:-1\njetstream: { store_dir: ${JSON.stringify(storeDir)} }\n${text}`;
  return startResolved(resolveOptions(parseConfig(conf, "test.conf"), "test.conf"));
}

async function withConf(text: string, fn: (s: Server, storeDir: string) => Promise<void>): Promise<void> {
  const storeDir = tmpStoreDir();
  try {
    await fn(await startConf(text, storeDir), storeDir);
  } finally {
    rmSync(storeDir, { recursive: true, force: true });
  }
}

/** Stream info through a raw request, validated against the schema. */
async function rawInfo(nc: NatsConnection, stream: string): Promise<Record<string, unknown>> {
  const m = await nc.request(`$JS.API.STREAM.INFO.${stream}`, undefined, { timeout: 2000 });
  const r = JSON.parse(m.string()) as Record<string, unknown>;
  validate(r);
  return r;
}

/** The name of the one link consumer on A's ORDERS (internal consumers are not listed by the API). */
function linkConsumer(s: Server): string {
  const orders = s.jetstream!.accounts.get("A")!.streams.get("ORDERS")!;
  const names = [...orders.consumers.values()].filter((c) => c.isDirect === true).map((c) => c.name);
  assert.equal(names.length, 1, `link consumers: ${names.join(", ")}`);
  return names[0]!;
}

async function count(jsm: JetStreamManager, stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages;
}

// nats-server's own test configuration for this (TestJetStreamCrossAccountMirrorsAndSources):
// JS exports its consumer API and the delivery subjects, IA imports them under RI.
const NATS_SERVER_ACCOUNTS = `
no_auth_user: rip
accounts {
  JS {
    jetstream: enabled
    users = [ { user: "rip", pass: "pass" } ]
    exports [
      { service: "$JS.API.CONSUMER.>" } # To create internal consumers to mirror/source.
      { stream: "RI.DELIVER.SYNC.>" }   # For the mirror/source consumers sending to IA via delivery subject.
    ]
  }
  IA {
    jetstream: enabled
    users = [ { user: "dlc", pass: "pass" } ]
    imports [
      { service: { account: JS, subject: "$JS.API.CONSUMER.>"}, to: "RI.JS.API.CONSUMER.>" }
      { stream: { account: JS, subject: "RI.DELIVER.SYNC.>"} }
    ]
  }
  $SYS { users = [ { user: "admin", pass: "s3cr3t!" } ] }
}`;

// The whole API exported, imported by B under JS.A.API; deliveries to B under deliver.B.
const AB_ACCOUNTS = `
accounts: {
  A: {
    jetstream: enabled
    users: [ {user: a, password: a} ]
    exports: [
      { service: "$JS.API.>" }
      { stream: "deliver.B.>" }
    ]
  }
  B: {
    jetstream: enabled
    users: [ {user: b, password: b} ]
    imports: [
      { service: { account: A, subject: "$JS.API.>" }, to: "JS.A.API.>" }
      { stream: { account: A, subject: "deliver.B.>" } }
    ]
  }
}`;

describe("mirrors and sources in another account (external)", () => {
  test("nats-server's configuration: a mirror and a source of JS's stream in IA, with what is published later", async () => {
    await withConf(NATS_SERVER_ACCOUNTS, async (s) => {
      const nc1 = await connect({ port: s.port, user: "rip", pass: "pass" });
      const nc2 = await connect({ port: s.port, user: "dlc", pass: "pass" });
      try {
        const jsm1 = await jetstreamManager(nc1);
        await jsm1.streams.add({ name: "TEST", num_replicas: 1 });
        const js1 = jetstream(nc1);
        for (let i = 0; i < 100; i++) await js1.publish("TEST", `OK ${i}`);

        const jsm2 = await jetstreamManager(nc2);
        const ext = { api: "RI.JS.API" };
        const mi = await jsm2.streams.add({ name: "MY_MIRROR_TEST", storage: "file" as never, mirror: { name: "TEST", external: { ...ext, deliver: "RI.DELIVER.SYNC.MIRRORS" } } });
        assert.deepEqual(mi.config.mirror?.external, { api: "RI.JS.API", deliver: "RI.DELIVER.SYNC.MIRRORS" });
        await jsm2.streams.add({ name: "MY_SOURCE_TEST", storage: "file" as never, sources: [{ name: "TEST", external: { ...ext, deliver: "RI.DELIVER.SYNC.SOURCES" } }] });
        await eventually(async () => (await count(jsm2, "MY_MIRROR_TEST")) === 100, 10_000, "the mirror to have 100 messages");
        await eventually(async () => (await count(jsm2, "MY_SOURCE_TEST")) === 100, 10_000, "the source to have 100 messages");

        // consumed in IA from the mirror, bound by name: the origin's subjects and payloads
        const js2 = jetstream(nc2);
        const c = await js2.consumers.get("MY_MIRROR_TEST");
        const msgs = await c.fetch({ max_messages: 100, expires: 2000 });
        let n = 0;
        for await (const m of msgs) {
          assert.equal(m.subject, "TEST");
          assert.equal(m.string(), `OK ${n}`);
          assert.equal(m.seq, n + 1);
          if (++n === 100) break;
        }
        assert.equal(n, 100);

        // later publications follow
        for (let i = 100; i < 110; i++) await js1.publish("TEST", `OK ${i}`);
        await eventually(async () => (await count(jsm2, "MY_MIRROR_TEST")) === 110, 10_000, "the mirror to follow");
        await eventually(async () => (await count(jsm2, "MY_SOURCE_TEST")) === 110, 10_000, "the source to follow");

        // stream info as the schema says, with the external and no error
        const info = await rawInfo(nc2, "MY_MIRROR_TEST");
        const mirror = info.mirror as Record<string, unknown>;
        assert.deepEqual(mirror.external, { api: "RI.JS.API", deliver: "RI.DELIVER.SYNC.MIRRORS" });
        assert.equal(mirror.error, undefined);
        assert.equal(mirror.lag, 0);
        const sinfo = await rawInfo(nc2, "MY_SOURCE_TEST");
        const src = (sinfo.sources as Record<string, unknown>[])[0]!;
        assert.equal(src.name, "TEST");
        assert.equal(src.error, undefined);
      } finally {
        await nc1.close();
        await nc2.close();
        await s.close();
      }
    });
  });

  test("A's ORDERS in B through JS.A.API and deliver.B: mirror sequences and times, source headers, transforms, and a restart", async () => {
    const storeDir = tmpStoreDir();
    let s = await startConf(AB_ACCOUNTS, storeDir);
    try {
      let a = await connect({ port: s.port, user: "a", pass: "a" });
      let b = await connect({ port: s.port, user: "b", pass: "b" });
      const jsmA = await jetstreamManager(a);
      await jsmA.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
      let jsA = jetstream(a);
      for (let i = 0; i < 10; i++) await jsA.publish(i % 2 === 0 ? "orders.new" : "orders.paid", `o${i}`, { headers: hdrs({ "X-N": String(i) }) });
      await jsmA.streams.deleteMessage("ORDERS", 4); // a gap the mirror keeps

      let jsmB = await jetstreamManager(b);
      const external = { api: "JS.A.API", deliver: "deliver.B" };
      await jsmB.streams.add({ name: "S", sources: [{ name: "ORDERS", external }] });
      await jsmB.streams.add({ name: "M", mirror: { name: "ORDERS", external } });
      await jsmB.streams.add({
        name: "PAID",
        sources: [{ name: "ORDERS", external: { api: "JS.A.API", deliver: "deliver.B.paid" }, subject_transforms: [{ src: "orders.paid", dest: "paid" }] }],
      });
      await eventually(async () => (await count(jsmB, "S")) === 9 && (await count(jsmB, "M")) === 9 && (await count(jsmB, "PAID")) === 4, 10_000, "B's streams to catch up");

      // the mirror keeps the origin's sequences (the deleted 4 stays a gap) and timestamps
      for (const seq of [1, 5, 10]) {
        const o = (await jsmA.streams.getMessage("ORDERS", { seq }))!;
        const m = (await jsmB.streams.getMessage("M", { seq }))!;
        assert.equal(m.subject, o.subject);
        assert.equal(m.time.getTime(), o.time.getTime());
        assert.equal(m.header.get("X-N"), o.header.get("X-N"));
        assert.equal(m.string(), o.string());
      }
      assert.equal(await jsmB.streams.getMessage("M", { seq: 4 }), null);
      assert.equal((await jsmB.streams.info("M")).state.num_deleted, 1);
      // the source stores anew, saying where each message came from
      const s1 = (await jsmB.streams.getMessage("S", { seq: 4 }))!;
      assert.equal(s1.string(), "o4");
      assert.equal(s1.header.get("Nats-Stream-Source"), "ORDERS:JS.A.API 5 > > orders.new");
      const p1 = (await jsmB.streams.getMessage("PAID", { seq: 1 }))!;
      assert.equal(p1.subject, "paid");
      assert.equal(p1.string(), "o1");

      // a restart on the same store: each link resumes after what it has, nothing twice
      await a.close();
      await b.close();
      await s.close();
      s = await startConf(AB_ACCOUNTS, storeDir);
      a = await connect({ port: s.port, user: "a", pass: "a" });
      b = await connect({ port: s.port, user: "b", pass: "b" });
      jsA = jetstream(a);
      jsmB = await jetstreamManager(b);
      for (let i = 10; i < 14; i++) await jsA.publish(i % 2 === 0 ? "orders.new" : "orders.paid", `o${i}`);
      await eventually(async () => (await count(jsmB, "S")) === 13 && (await count(jsmB, "M")) === 13 && (await count(jsmB, "PAID")) === 6, 10_000, "B's streams to follow after the restart");
      const last = (await jsmB.streams.getMessage("M", { seq: 14 }))!;
      assert.equal(last.string(), "o13");
      const ls = (await jsmB.streams.getMessage("S", { seq: 13 }))!;
      assert.equal(ls.header.get("Nats-Stream-Source"), "ORDERS:JS.A.API 14 > > orders.paid");
      // nothing more comes (no duplicates from the new consumers)
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await count(jsmB, "S"), 13);
      assert.equal((await jsmB.streams.info("M")).state.last_seq, 14);

      // deleting B's streams removes their consumers at the origin
      const jsmA2 = await jetstreamManager(a);
      // link consumers are internal ("direct"): not listed, but counted in A's account info
      assert.equal((await jsmA2.consumers.list("ORDERS").next()).length, 0);
      await eventually(async () => (await jsmA2.getAccountInfo()).consumers === 3, 5000, "three link consumers in A");
      await jsmB.streams.delete("S");
      await jsmB.streams.delete("M");
      await jsmB.streams.delete("PAID");
      await eventually(async () => (await jsmA2.getAccountInfo()).consumers === 0, 5000, "the link consumers to go");
      await a.close();
      await b.close();
    } finally {
      await s.close();
      rmSync(storeDir, { recursive: true, force: true });
    }
  });

  test("the link's consumer deleted at the origin: the link notices the silence and makes it again, losing and doubling nothing", async () => {
    await withConf(AB_ACCOUNTS, async (s) => {
      const a = await connect({ port: s.port, user: "a", pass: "a" });
      const b = await connect({ port: s.port, user: "b", pass: "b" });
      try {
        const jsmA = await jetstreamManager(a);
        await jsmA.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
        const jsA = jetstream(a);
        for (let i = 0; i < 5; i++) await jsA.publish("orders.x", `${i}`);
        const jsmB = await jetstreamManager(b);
        await jsmB.streams.add({ name: "S", sources: [{ name: "ORDERS", external: { api: "JS.A.API", deliver: "deliver.B" } }] });
        await eventually(async () => (await count(jsmB, "S")) === 5, 5000, "the first five");
        const c = linkConsumer(s);
        await jsmA.consumers.delete("ORDERS", c);
        for (let i = 5; i < 10; i++) await jsA.publish("orders.x", `${i}`);
        await eventually(async () => (await count(jsmB, "S")) === 10, 15_000, "the link to come back");
        const seen: string[] = [];
        for (let seq = 1; seq <= 10; seq++) seen.push((await jsmB.streams.getMessage("S", { seq }))!.string());
        assert.deepEqual(seen, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        assert.notEqual(linkConsumer(s), c);
      } finally {
        await a.close();
        await b.close();
        await s.close();
      }
    });
  });

  test("an origin that does not exist yet: the error shows in stream info until it is created", async () => {
    await withConf(AB_ACCOUNTS, async (s) => {
      const a = await connect({ port: s.port, user: "a", pass: "a" });
      const b = await connect({ port: s.port, user: "b", pass: "b" });
      try {
        const jsmB = await jetstreamManager(b);
        await jsmB.streams.add({ name: "LATE", sources: [{ name: "LATER", external: { api: "JS.A.API", deliver: "deliver.B" } }] });
        await eventually(async () => (await jsmB.streams.info("LATE")).sources?.[0]?.error?.err_code === 10059, 5000, "stream not found in the source info");
        validate(await rawInfo(b, "LATE"));
        const jsmA = await jetstreamManager(a);
        await jsmA.streams.add({ name: "LATER", subjects: ["later"] });
        await jetstream(a).publish("later", "x");
        await eventually(async () => (await count(jsmB, "LATE")) === 1, 15_000, "the source to start once the origin exists");
        assert.equal((await jsmB.streams.info("LATE")).sources?.[0]?.error, undefined);
      } finally {
        await a.close();
        await b.close();
        await s.close();
      }
    });
  });

  test("without the API import the source reports no responders, and stores nothing", async () => {
    const text = AB_ACCOUNTS.replace(`{ service: { account: A, subject: "$JS.API.>" }, to: "JS.A.API.>" }`, "");
    await withConf(text, async (s) => {
      const b = await connect({ port: s.port, user: "b", pass: "b" });
      try {
        const jsmB = await jetstreamManager(b);
        await jsmB.streams.add({ name: "S", sources: [{ name: "ORDERS", external: { api: "JS.A.API", deliver: "deliver.B" } }] });
        await eventually(async () => (await jsmB.streams.info("S")).sources?.[0]?.error?.err_code === 10045, 5000, "a source consumer setup error");
        assert.match((await jsmB.streams.info("S")).sources![0]!.error!.description, /no responders/);
        assert.equal(await count(jsmB, "S"), 0);
      } finally {
        await b.close();
        await s.close();
      }
    });
  });

  test("external with this server's own domain ($JS.<domain>.API) is the same account's stream", async () => {
    const storeDir = tmpStoreDir();
    const s = await startResolved(resolveOptions(parseConfig(`listen: 127.0.0.1:-1\njetstream: { store_dir: ${JSON.stringify(storeDir)}, domain: hub }`, "d.conf"), "d.conf"));
    const nc = await connect({ port: s.port });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "O", subjects: ["o.>"] });
      const js = jetstream(nc);
      for (let i = 0; i < 5; i++) await js.publish("o.x", `${i}`);
      await jsm.streams.add({ name: "M", mirror: { name: "O", external: { api: "$JS.hub.API", deliver: "" } } });
      // the client's `domain` shorthand makes the same external
      const si = await jsm.streams.add({ name: "S", sources: [{ name: "O", filter_subject: "o.x", domain: "hub" }] });
      assert.equal(si.config.sources?.[0]?.external?.api, "$JS.hub.API");
      await js.publish("o.x", "5");
      await eventually(async () => (await count(jsm, "M")) === 6 && (await count(jsm, "S")) === 6, 5000, "the domain's own streams mirrored and sourced");
      const info = await rawInfo(nc, "M");
      assert.deepEqual((info.mirror as Record<string, unknown>).external, { api: "$JS.hub.API", deliver: "" });
      // and the domain's API answers as the account's own
      const dm = await nc.request("$JS.hub.API.STREAM.NAMES", undefined, { timeout: 2000 });
      assert.deepEqual((JSON.parse(dm.string()) as { streams: string[] }).streams, ["M", "O", "S"]);
    } finally {
      await nc.close();
      await s.close();
      rmSync(storeDir, { recursive: true, force: true });
    }
  });
});

describe("another account's JetStream through an imported API (apiPrefix)", () => {
  // B uses A's JetStream: the API (replies to pull requests are many: response_type stream),
  // acks, and publishing to the stream's subjects
  const ACCOUNTS = `
accounts: {
  A: {
    jetstream: enabled
    users: [ {user: a, password: a} ]
    exports: [
      { service: "$JS.API.>", response_type: stream }
      { service: "$JS.ACK.>" }
      { service: "orders.>" }
    ]
  }
  B: {
    users: [ {user: b, password: b} ]
    imports: [
      { service: { account: A, subject: "$JS.API.>" }, to: "JS.A.API.>" }
      { service: { account: A, subject: "$JS.ACK.>" } }
      { service: { account: A, subject: "orders.>" } }
    ]
  }
}`;

  test("list streams, publish, create a consumer, fetch and consume with acks", async () => {
    await withConf(ACCOUNTS, async (s) => {
      const a = await connect({ port: s.port, user: "a", pass: "a" });
      const b = await connect({ port: s.port, user: "b", pass: "b" });
      try {
        const jsmA = await jetstreamManager(a);
        await jsmA.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
        await jetstream(a).publish("orders.a", "from a");

        const jsm = await jetstreamManager(b, { apiPrefix: "JS.A.API" });
        assert.equal((await jsm.getAccountInfo()).streams, 1);
        assert.deepEqual(await jsm.streams.names().next(), ["ORDERS"]);
        const listed = await jsm.streams.list().next();
        assert.equal(listed[0]!.config.name, "ORDERS");
        // B itself has no JetStream
        await assert.rejects(jetstreamManager(b));

        const js = jetstream(b, { apiPrefix: "JS.A.API" });
        const ack = await js.publish("orders.b", "from b");
        assert.deepEqual({ stream: ack.stream, seq: ack.seq }, { stream: "ORDERS", seq: 2 });
        for (let i = 0; i < 3; i++) await js.publish("orders.b", `b${i}`);

        const ci = await jsm.consumers.add("ORDERS", { durable_name: "bd", ack_policy: "explicit" as never });
        assert.equal(ci.num_pending, 5);
        const c = await js.consumers.get("ORDERS", "bd");
        const got: string[] = [];
        const batch = await c.fetch({ max_messages: 3, expires: 2000 });
        for await (const m of batch) {
          got.push(`${m.subject}:${m.string()}:${m.seq}`);
          assert.equal(await m.ackAck(), true);
        }
        assert.deepEqual(got, ["orders.a:from a:1", "orders.b:from b:2", "orders.b:b0:3"]);
        assert.equal((await jsmA.consumers.info("ORDERS", "bd")).ack_floor.stream_seq, 3);

        const it = await c.consume({ max_messages: 10 });
        for await (const m of it) {
          got.push(`${m.subject}:${m.string()}:${m.seq}`);
          m.ack();
          if (m.seq === 5) break;
        }
        assert.deepEqual(got.slice(3), ["orders.b:b1:4", "orders.b:b2:5"]);
        await eventually(async () => (await jsmA.consumers.info("ORDERS", "bd")).ack_floor.stream_seq === 5, 3000, "the acks to reach A");

        // an ordered consumer (no name) through the prefix too
        const oc = await js.consumers.get("ORDERS");
        const om = await oc.next({ expires: 2000 });
        assert.equal(om?.string(), "from a");
      } finally {
        await a.close();
        await b.close();
        await s.close();
      }
    });
  });
});

function hdrs(o: Record<string, string>) {
  const h = headers();
  for (const [k, v] of Object.entries(o)) h.set(k, v);
  return h;
}
