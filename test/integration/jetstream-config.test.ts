// Every stream configuration field's effect, seen through @nats-io/jetstream, and its error
// twin (an invalid value refused with nats-server's err_code).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createInbox, headers as natsHeaders } from "@nats-io/transport-node";
import { assertApiError, eventually, rejectsApi, sleep, withJs } from "./jetstream-helpers.js";

describe("subjects and storage", () => {
  test("subjects with wildcards capture what they match; a name alone captures its name", async () => {
    await withJs({}, async ({ jsm, js, api }) => {
      await jsm.streams.add({ name: "W", subjects: ["orders.*.new", "audit.>"] });
      assert.equal((await js.publish("orders.eu.new", "x")).stream, "W");
      assert.equal((await js.publish("audit.a.b.c", "x")).stream, "W");
      await assert.rejects(js.publish("orders.eu.old", "x")); // no stream: no responders
      await jsm.streams.add({ name: "plain" });
      assert.equal((await js.publish("plain", "x")).stream, "plain");
      assertApiError(await api("$JS.API.STREAM.CREATE.X", { name: "X", subjects: ["a b"] }), 10052);
    });
  });

  test("memory and file storage both store; unknown storage is refused (10025)", async () => {
    await withJs({}, async ({ jsm, js, api }) => {
      for (const storage of ["memory", "file"]) {
        const si = await jsm.streams.add({ name: storage, subjects: [`${storage}.>`], storage: storage as never });
        assert.equal(si.config.storage, storage);
        await js.publish(`${storage}.x`, "payload");
        const st = (await jsm.streams.info(storage)).state;
        assert.equal(st.messages, 1);
        // bytes as nats-server counts them per store type
        assert.equal(st.bytes, storage === "memory" ? 8 + 7 + 16 : 22 + 6 + 7 + 8);
      }
      assertApiError(await api("$JS.API.STREAM.CREATE.X", { name: "X", storage: "disk" }), 10025, 400);
    });
  });
});

describe("retention", () => {
  test("limits keeps messages; interest without consumers keeps nothing but uses the sequence; workqueue keeps them", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "L", subjects: ["l"], retention: "limits" as never });
      await jsm.streams.add({ name: "I", subjects: ["i"], retention: "interest" as never });
      await jsm.streams.add({ name: "Q", subjects: ["q"], retention: "workqueue" as never });
      for (const s of ["l", "i", "q"]) {
        await js.publish(s, "1");
        const pa = await js.publish(s, "2");
        assert.equal(pa.seq, 2, s);
      }
      assert.equal((await jsm.streams.info("L")).state.messages, 2);
      const i = (await jsm.streams.info("I")).state;
      assert.deepEqual([i.messages, i.last_seq, i.first_seq], [0, 2, 3]);
      assert.equal((await jsm.streams.info("Q")).state.messages, 2);
      // limits <-> interest may change, to or from workqueue may not
      assert.equal((await jsm.streams.update("L", { retention: "interest" } as never)).config.retention, "interest");
      await rejectsApi(jsm.streams.update("Q", { retention: "limits" } as never), 10052);
    });
  });

  test("an unknown retention is refused (10025)", async () => {
    await withJs({}, async ({ api }) => {
      assertApiError(await api("$JS.API.STREAM.CREATE.X", { name: "X", retention: "Limits" }), 10025);
    });
  });
});

describe("limits: max_msgs, max_bytes, max_age, max_msgs_per_subject, max_msg_size", () => {
  test("discard old: the oldest go", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "M", subjects: ["m"], max_msgs: 3 });
      for (let i = 1; i <= 5; i++) await js.publish("m", String(i));
      let st = (await jsm.streams.info("M")).state;
      assert.deepEqual([st.messages, st.first_seq, st.last_seq], [3, 3, 5]);
      await jsm.streams.add({ name: "B", subjects: ["b"], max_bytes: 200, storage: "memory" as never });
      for (let i = 0; i < 10; i++) await js.publish("b", "0123456789"); // 27 bytes each in memory
      st = (await jsm.streams.info("B")).state;
      assert.ok(st.bytes <= 200);
      assert.equal(st.messages, 7);
      await jsm.streams.add({ name: "P", subjects: ["p.*"], max_msgs_per_subject: 2 });
      for (const s of ["p.a", "p.a", "p.a", "p.b"]) await js.publish(s, "x");
      const si = await jsm.streams.info("P", { subjects_filter: ">" });
      assert.deepEqual(si.state.subjects, { "p.a": 2, "p.b": 1 });
    });
  });

  test("discard new: refused when full (10077), per subject with discard_new_per_subject", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "N", subjects: ["n"], max_msgs: 2, discard: "new" as never });
      await js.publish("n", "1");
      await js.publish("n", "2");
      await rejectsApi(js.publish("n", "3"), 10077, 503, "maximum messages exceeded");
      await jsm.streams.add({ name: "NB", subjects: ["nb"], max_bytes: 100, discard: "new" as never, storage: "memory" as never });
      await js.publish("nb", Buffer.alloc(50));
      await rejectsApi(js.publish("nb", Buffer.alloc(50)), 10077, 503, "maximum bytes exceeded");
      await jsm.streams.add({ name: "NP", subjects: ["np.*"], max_msgs_per_subject: 1, discard: "new" as never, discard_new_per_subject: true });
      await js.publish("np.a", "1");
      await rejectsApi(js.publish("np.a", "2"), 10077, 503, "maximum messages per subject exceeded");
      assert.equal((await js.publish("np.b", "1")).seq, 2);
      // without discard_new_per_subject a full subject just rolls over
      await jsm.streams.add({ name: "NQ", subjects: ["nq.*"], max_msgs_per_subject: 1, discard: "new" as never });
      await js.publish("nq.a", "1");
      assert.equal((await js.publish("nq.a", "2")).seq, 2);
      assert.equal((await jsm.streams.info("NQ")).state.messages, 1);
    });
  });

  test("max_age removes old messages in the background", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "A", subjects: ["a"], max_age: 300e6 });
      await js.publish("a", "1");
      await js.publish("a", "2");
      assert.equal((await jsm.streams.info("A")).state.messages, 2);
      await eventually(async () => (await jsm.streams.info("A")).state.messages === 0, 3000, "max_age");
      // lowering limits on update takes effect at once
      await jsm.streams.add({ name: "U", subjects: ["u"] });
      for (let i = 0; i < 5; i++) await js.publish("u", "x");
      await jsm.streams.update("U", { max_msgs: 2 });
      assert.equal((await jsm.streams.info("U")).state.messages, 2);
    });
  });

  test("max_msg_size: a larger message is refused (10054)", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "Z", subjects: ["z"], max_msg_size: 10 });
      assert.equal((await js.publish("z", "0123456789")).seq, 1);
      await rejectsApi(js.publish("z", "0123456789a"), 10054, 400, "message size exceeds maximum allowed");
    });
  });

  test("limits below -1 or of the wrong type are refused or normalised as nats-server does", async () => {
    await withJs({}, async ({ api }) => {
      const r = await api("$JS.API.STREAM.CREATE.X", { name: "X", max_msgs: 0, max_bytes: -7, max_msgs_per_subject: 0, max_consumers: 0, max_msg_size: 0 });
      const c = r.config as Record<string, number>;
      assert.deepEqual([c.max_msgs, c.max_bytes, c.max_msgs_per_subject, c.max_consumers, c.max_msg_size], [-1, -1, -1, -1, -1]);
      assertApiError(await api("$JS.API.STREAM.CREATE.Y", { name: "Y", max_msg_size: 5e9 }), 10025);
      assertApiError(await api("$JS.API.STREAM.CREATE.Y", { name: "Y", max_bytes: 1.5 }), 10025);
      assertApiError(await api("$JS.API.STREAM.CREATE.Y", { name: "Y", max_age: 50e6 }), 10052);
    });
  });
});

describe("max_consumers", () => {
  test("kept in the configuration; above the account's limit it is refused (10026)", async () => {
    const accounts = { A: { users: [{ user: "a", password: "a" }], jetstream: { max_consumers: 3 } } };
    await withJs({ accounts, no_auth_user: "a" }, async ({ jsm }) => {
      assert.equal((await jsm.streams.add({ name: "S", max_consumers: 2 })).config.max_consumers, 2);
      await rejectsApi(jsm.streams.add({ name: "T", max_consumers: 4 }), 10026, 400, "maximum consumers limit reached");
    });
  });
});

describe("first_seq", () => {
  test("the first message gets first_seq", async () => {
    await withJs({}, async ({ jsm, js, api }) => {
      const si = await jsm.streams.add({ name: "F", subjects: ["f"], first_seq: 1000 });
      assert.equal(si.config.first_seq, 1000);
      assert.equal((await js.publish("f", "x")).seq, 1000);
      assert.equal((await js.publish("f", "y")).seq, 1001);
      await jsm.streams.add({ name: "G", subjects: ["g"], first_seq: 5, storage: "memory" as never });
      assert.equal((await js.publish("g", "x")).seq, 5);
      assertApiError(await api("$JS.API.STREAM.CREATE.H", { name: "H", first_seq: -1 }), 10025);
    });
  });
});

describe("description and metadata", () => {
  test("kept and returned; too large is refused (10052)", async () => {
    await withJs({}, async ({ jsm, api }) => {
      const si = await jsm.streams.add({ name: "D", description: "the orders", metadata: { team: "a", tier: "gold" } });
      assert.equal(si.config.description, "the orders");
      assert.deepEqual(si.config.metadata, { team: "a", tier: "gold" });
      const u = await jsm.streams.update("D", { metadata: { team: "b" } });
      assert.deepEqual(u.config.metadata, { team: "b" });
      const r = await api("$JS.API.STREAM.CREATE.E", { name: "E", metadata: { big: "x".repeat(128 * 1024) } });
      assertApiError(r, 10052);
      assert.equal((r.error as { description: string }).description, "stream metadata exceeds maximum size of 131072 bytes");
      assertApiError(await api("$JS.API.STREAM.CREATE.E", { name: "E", metadata: { n: 1 } }), 10025);
    });
  });
});

describe("compression", () => {
  test("s2 is accepted (stored uncompressed, which /jsz says); none is the default; others are refused (10025)", async () => {
    await withJs({}, async ({ jsm, js, api, server }) => {
      const si = await jsm.streams.add({ name: "C", subjects: ["c"], compression: "s2" as never });
      assert.equal(si.config.compression, "s2");
      await js.publish("c", "x".repeat(1000));
      assert.equal((await jsm.streams.getMessage("C", { seq: 1 }))?.string(), "x".repeat(1000));
      assert.equal(server.jetstream?.configJson().compress_ok, false);
      assert.equal((await jsm.streams.add({ name: "D", subjects: ["d"] })).config.compression, "none");
      assertApiError(await api("$JS.API.STREAM.CREATE.E", { name: "E", compression: "gzip" }), 10025);
    });
  });
});

describe("republish", () => {
  test("stored messages are republished with the stream's headers (or the headers only)", async () => {
    await withJs({}, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "R", subjects: ["r.>"], republish: { src: "r.*", dest: "rp.$1" } });
      const sub = nc.subscribe("rp.>", { max: 2 });
      await js.publish("r.a", "one");
      await js.publish("r.a", "two");
      await js.publish("r.a.b", "not matched by r.*");
      const got = [];
      for await (const m of sub) got.push(m);
      assert.deepEqual(got.map((m) => [m.subject, m.string(), m.headers?.get("Nats-Stream"), m.headers?.get("Nats-Subject"), m.headers?.get("Nats-Sequence"), m.headers?.get("Nats-Last-Sequence")]),
        [["rp.a", "one", "R", "r.a", "1", "0"], ["rp.a", "two", "R", "r.a", "2", "1"]]);
      assert.match(got[0]!.headers?.get("Nats-Time-Stamp") ?? "", /Z$/);
      // (a literal destination needs a literal source: ">" to "hp" is not a valid transform)
      await rejectsApi(jsm.streams.add({ name: "H", subjects: ["h"], republish: { dest: "hp" } as never }), 10052);
      await jsm.streams.add({ name: "H", subjects: ["h"], republish: { src: "h", dest: "hp", headers_only: true } });
      const hs = nc.subscribe("hp", { max: 1 });
      await js.publish("h", "12345");
      for await (const m of hs) {
        assert.equal(m.data.length, 0);
        assert.equal(m.headers?.get("Nats-Msg-Size"), "5");
      }
    });
  });

  test("a destination that forms a cycle is refused (10052)", async () => {
    await withJs({}, async ({ jsm }) => {
      await rejectsApi(jsm.streams.add({ name: "R", subjects: ["r.>"], republish: { src: ">", dest: "r.x" } }), 10052, 500,
        "stream configuration for republish destination forms a cycle");
    });
  });
});

describe("subject_transform", () => {
  test("messages are stored under the transformed subject", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "T", subjects: ["in.*.*"], subject_transform: { src: "in.*.*", dest: "out.$2.$1" } });
      await js.publish("in.a.b", "x");
      const m = await jsm.streams.getMessage("T", { seq: 1 });
      assert.equal(m?.subject, "out.b.a");
      await jsm.streams.add({ name: "P", subjects: ["p.*"], subject_transform: { src: "p.*", dest: "part.{{partition(4,1)}}.{{wildcard(1)}}" } });
      await js.publish("p.key", "x");
      assert.match((await jsm.streams.getMessage("P", { seq: 1 }))?.subject ?? "", /^part\.[0-3]\.key$/);
    });
  });

  test("an invalid destination is 10156, an invalid source 10155", async () => {
    await withJs({}, async ({ jsm }) => {
      await rejectsApi(jsm.streams.add({ name: "T", subjects: ["in.*"], subject_transform: { src: "in.*", dest: "out.$2" } }), 10156, 400,
        /wildcard index out of range/);
      await rejectsApi(jsm.streams.add({ name: "T", subjects: ["in.*"], subject_transform: { src: "in.>.x", dest: "out" } }), 10155, 400);
    });
  });
});

describe("mirror", () => {
  test("copies the origin with its sequences, times, subjects and headers, then follows it", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "O", subjects: ["o.>"] });
      const h = natsHeaders();
      h.set("X", "y");
      await js.publish("o.a", "1", { headers: h });
      await js.publish("o.b", "2");
      await js.publish("o.a", "3");
      await jsm.streams.deleteMessage("O", 2);
      const si = await jsm.streams.add({ name: "M", mirror: { name: "O" } });
      assert.equal(si.config.subjects, undefined);
      await eventually(async () => (await jsm.streams.info("M")).state.last_seq === 3, 3000, "the mirror to catch up");
      const o1 = await jsm.streams.getMessage("O", { seq: 1 });
      const m1 = await jsm.streams.getMessage("M", { seq: 1 });
      assert.deepEqual([m1?.subject, m1?.string(), m1?.header.get("X"), m1?.time.getTime()], [o1?.subject, o1?.string(), "y", o1?.time.getTime()]);
      assert.equal(await jsm.streams.getMessage("M", { seq: 2 }), null);
      await js.publish("o.c", "4");
      await eventually(async () => (await jsm.streams.info("M")).state.last_seq === 4, 3000, "a live message");
      const info = await jsm.streams.info("M");
      assert.equal(info.mirror?.name, "O");
      assert.equal(info.mirror?.lag, 0);
      assert.ok((info.mirror?.active ?? -1) >= 0);
      assert.equal(info.state.messages, 3);
      // a mirror's configuration cannot change, but the mirror may be dropped (promotion)
      await rejectsApi(jsm.streams.update("M", { mirror: { name: "O", opt_start_seq: 2 } } as never), 10055);
      const promoted = await jsm.streams.update("M", { mirror: undefined, subjects: ["m"] } as never);
      assert.equal(promoted.config.mirror, undefined);
      assert.equal((await js.publish("m", "own")).seq, 5);
    });
  });

  test("filter, transforms and a start sequence; an origin created later is mirrored when it appears", async () => {
    await withJs({}, async ({ jsm, js, api }) => {
      await jsm.streams.add({ name: "LATE", mirror: { name: "O2" } });
      await jsm.streams.add({ name: "O", subjects: ["o.*"] });
      for (const s of ["o.a", "o.b", "o.a", "o.b"]) await js.publish(s, s);
      await jsm.streams.add({ name: "F", mirror: { name: "O", filter_subject: "o.a" } });
      await jsm.streams.add({ name: "T", mirror: { name: "O", subject_transforms: [{ src: "o.b", dest: "t.b" }] } });
      await jsm.streams.add({ name: "S", mirror: { name: "O", opt_start_seq: 3 } });
      await eventually(async () => (await jsm.streams.info("F")).state.messages === 2, 3000, "filtered mirror");
      assert.deepEqual((await jsm.streams.info("F")).state.first_seq, 1);
      assert.equal((await jsm.streams.getMessage("F", { seq: 3 }))?.subject, "o.a");
      await eventually(async () => (await jsm.streams.info("T")).state.messages === 2, 3000, "transformed mirror");
      assert.equal((await jsm.streams.getMessage("T", { seq: 2 }))?.subject, "t.b");
      await eventually(async () => (await jsm.streams.info("S")).state.messages === 2, 3000, "mirror from seq 3");
      assert.equal((await jsm.streams.info("S")).state.first_seq, 3);
      assert.equal((await jsm.streams.info("LATE")).mirror?.error?.err_code, 10059);
      await api("$JS.API.STREAM.INFO.LATE"); // validated against the schema
      await api("$JS.API.STREAM.INFO.F");
      await jsm.streams.add({ name: "O2", subjects: ["o2"] });
      await js.publish("o2", "x");
      await eventually(async () => (await jsm.streams.info("LATE")).state.messages === 1, 3000, "late origin");
    });
  });

  test("mirror_direct: the mirror answers direct gets for its origin too", async () => {
    await withJs({}, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "O", subjects: ["o"], allow_direct: true });
      await js.publish("o", "x");
      const si = await jsm.streams.add({ name: "M", mirror: { name: "O" } });
      assert.equal(si.config.mirror_direct, true);
      await eventually(async () => (await jsm.streams.info("M")).state.messages === 1);
      await jsm.streams.delete("O");
      const r = await nc.request("$JS.API.DIRECT.GET.O", JSON.stringify({ seq: 1 }), { timeout: 1000 });
      assert.equal(r.string(), "x");
      assert.equal(r.headers?.get("Nats-Stream"), "M");
    });
  });

  test("invalid mirrors are refused as nats-server refuses them", async () => {
    await withJs({}, async ({ jsm }) => {
      await jsm.streams.add({ name: "O", subjects: ["o"] });
      await rejectsApi(jsm.streams.add({ name: "M", mirror: { name: "O" }, subjects: ["x"] }), 10034);
      await rejectsApi(jsm.streams.add({ name: "M", mirror: { name: "O" }, sources: [{ name: "O" }] }), 10031);
      await rejectsApi(jsm.streams.add({ name: "M", mirror: { name: "O" }, first_seq: 5 }), 10143);
      await rejectsApi(jsm.streams.add({ name: "M", mirror: { name: "O", filter_subject: "o", subject_transforms: [{ src: "o", dest: "p" }] } }), 10150);
      // (external mirrors work: jetstream-cross-account.test.ts) but not through this server's own $JS.API
      await rejectsApi(jsm.streams.add({ name: "M", mirror: { name: "O", external: { api: "$JS.API" } } as never }), 10021);
    });
  });
});

describe("sources", () => {
  test("several streams into one, with filters and transforms, marked with Nats-Stream-Source", async () => {
    await withJs({}, async ({ jsm, js, api }) => {
      await jsm.streams.add({ name: "EU", subjects: ["eu.>"] });
      await jsm.streams.add({ name: "US", subjects: ["us.>"] });
      await js.publish("eu.orders", "e1");
      await js.publish("us.orders", "u1");
      await js.publish("us.internal", "no");
      const si = await jsm.streams.add({
        name: "ALL", subjects: ["all.local"],
        sources: [{ name: "EU" }, { name: "US", filter_subject: "us.orders" }, { name: "EU", subject_transforms: [{ src: "eu.*", dest: "copy.$1" }] }],
      });
      assert.equal(si.sources?.length, 3);
      await eventually(async () => (await jsm.streams.info("ALL")).state.messages === 3, 3000, "sourced messages");
      const msgs = [];
      for (let seq = 1; seq <= 3; seq++) msgs.push(await jsm.streams.getMessage("ALL", { seq }));
      const bySubject = Object.fromEntries(msgs.map((m) => [m!.subject, m!.header.get("Nats-Stream-Source")]));
      assert.deepEqual(Object.keys(bySubject).sort(), ["copy.orders", "eu.orders", "us.orders"]);
      assert.equal(bySubject["us.orders"], "US 1 us.orders > us.orders");
      assert.equal(bySubject["copy.orders"], "EU 1 eu.* copy.$1 eu.orders");
      const raw = await api("$JS.API.STREAM.INFO.ALL");
      assert.deepEqual((raw.sources as { name: string; lag: number }[]).map((x) => [x.name, x.lag]), [["EU", 0], ["US", 0], ["EU", 0]]);
      await js.publish("us.orders", "u2");
      await js.publish("all.local", "mine");
      await eventually(async () => (await jsm.streams.info("ALL")).state.messages === 5, 3000, "live sourced message");
      // a source added by update
      await jsm.streams.add({ name: "ASIA", subjects: ["asia"] });
      await js.publish("asia", "a1");
      const u = await jsm.streams.update("ALL", { sources: [{ name: "ASIA" }] });
      assert.deepEqual(u.config.sources?.map((s) => s.name), ["ASIA"]);
      await eventually(async () => (await jsm.streams.info("ALL")).state.messages === 6, 3000, "the new source");
      await rejectsApi(jsm.streams.add({ name: "DUP", sources: [{ name: "EU" }, { name: "EU" }] }), 10140);
    });
  });

  test("after a restart a source resumes where it was, without copying again", async () => {
    const { rmSync } = await import("node:fs");
    const { tmpStoreDir } = await import("./jetstream-helpers.js");
    const dir = tmpStoreDir();
    try {
      await withJs({}, async ({ jsm, js }) => {
        await jsm.streams.add({ name: "A", subjects: ["a"] });
        for (let i = 0; i < 5; i++) await js.publish("a", String(i));
        await jsm.streams.add({ name: "AGG", sources: [{ name: "A" }] });
        await jsm.streams.add({ name: "MIR", mirror: { name: "A" } });
        await eventually(async () => (await jsm.streams.info("AGG")).state.messages === 5 && (await jsm.streams.info("MIR")).state.messages === 5);
      }, dir);
      await withJs({}, async ({ jsm, js }) => {
        await js.publish("a", "after");
        await eventually(async () => (await jsm.streams.info("AGG")).state.messages === 6 && (await jsm.streams.info("MIR")).state.messages === 6);
        await sleep(100);
        assert.equal((await jsm.streams.info("AGG")).state.messages, 6);
        assert.equal((await jsm.streams.getMessage("AGG", { seq: 6 }))?.string(), "after");
      }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("timing of acknowledgements", () => {
  test("a file stream acknowledges many publishes in a window, in order", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "W", subjects: ["w"] });
      const acks = await Promise.all(Array.from({ length: 500 }, (_, i) => js.publish("w", String(i))));
      assert.deepEqual(acks.map((a) => a.seq), Array.from({ length: 500 }, (_, i) => i + 1));
      const st = (await jsm.streams.info("W")).state;
      assert.equal(st.messages, 500);
      await sleep(10);
      assert.ok(createInbox());
    });
  });
});

// Found side by side with nats-server (test-interop/differential-jetstream.test.ts).
describe("consumer requests checked as nats-server checks them", () => {
  test("filter_subjects may intersect (a.* and *.b) but not contain one another", async () => {
    await withJs({}, async ({ api, js }) => {
      await api("$JS.API.STREAM.CREATE.F", { name: "F", subjects: ["a.>", "c.>"] });
      const ok = await api("$JS.API.CONSUMER.CREATE.F.C", { stream_name: "F", config: { ack_policy: "explicit", filter_subjects: ["a.*", "*.b"] } });
      assert.equal(ok.error, undefined, JSON.stringify(ok.error));
      assertApiError(await api("$JS.API.CONSUMER.CREATE.F.D", { stream_name: "F", config: { ack_policy: "explicit", filter_subjects: ["a.*", "a.b"] } }), 10138);
      for (const s of ["a.b", "a.x", "c.b", "c.x"]) await js.publish(s, s);
      const c = await js.consumers.get("F", "C");
      const got: string[] = [];
      for (const m of await Promise.all([c.next(), c.next(), c.next()])) got.push(m!.subject);
      assert.deepEqual(got.sort(), ["a.b", "a.x", "c.b"]); // a.b once, c.x not at all
    });
  });

  test("a pull request whose expires is negative gets 408 at once, not a wait without end", async () => {
    await withJs({}, async ({ api, nc, js }) => {
      await api("$JS.API.STREAM.CREATE.P", { name: "P" });
      await js.publish("P", "x");
      await api("$JS.API.CONSUMER.CREATE.P.C", { stream_name: "P", config: { ack_policy: "explicit" } });
      // the first answer to a pull request sent with its own inbox
      const pull = async (body: string) => {
        const inbox = createInbox();
        const sub = nc.subscribe(inbox, { max: 1 });
        nc.publish("$JS.API.CONSUMER.MSG.NEXT.P.C", body, { reply: inbox });
        for await (const m of sub) return m;
        throw new Error("no answer");
      };
      assert.equal((await pull(JSON.stringify({ batch: 1, expires: -1 }))).headers?.code, 408);
      const bad = await pull(JSON.stringify({ batch: 1, no_wait: 1 }));
      assert.equal(bad.headers?.code, 400);
      assert.match(bad.headers!.description, /cannot unmarshal number into Go struct field JSApiConsumerGetNextRequest\.no_wait of type bool/);
      assert.equal((await pull('{"batch":1e300}')).headers?.code, 400);
      assert.equal((await pull("junk")).string(), "x"); // not JSON: one message, and the expired request did not hold it back
    });
  });
});
