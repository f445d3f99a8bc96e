// Publishing to streams through @nats-io/jetstream: PubAcks, the publish headers
// (Nats-Msg-Id with duplicate_window, Nats-Expected-*, Nats-Rollup, Nats-TTL) and the error
// PubAck of each failed expectation (nothing stored), no_ack, and headers-only messages.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { rejectsApi, sleep, validate, withJs, eventually } from "./jetstream-helpers.js";

describe("PubAck", () => {
  test("a publish with a reply gets {stream, seq}; the raw ack matches the schema", async () => {
    await withJs({}, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      const pa = await js.publish("s.1", "a");
      assert.deepEqual([pa.stream, pa.seq, pa.duplicate], ["S", 1, false]);
      const raw = await nc.request("s.2", "b", { timeout: 1000 });
      const ack = JSON.parse(raw.string());
      assert.deepEqual(ack, { stream: "S", seq: 2 });
      validate(ack, "io.nats.jetstream.api.v1.pub_ack_response");
      // without a reply the message is stored all the same
      nc.publish("s.3", "c");
      await eventually(async () => (await jsm.streams.info("S")).state.messages === 3);
    });
  });

  test("an error PubAck has the error and the stream, and matches the schema", async () => {
    await withJs({}, async ({ jsm, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"], max_msg_size: 4 });
      const raw = await nc.request("s", "too long", { timeout: 1000 });
      const ack = JSON.parse(raw.string());
      assert.deepEqual(ack, { error: { code: 400, err_code: 10054, description: "message size exceeds maximum allowed" }, stream: "S", seq: 0 });
      validate(ack, "io.nats.jetstream.api.v1.pub_ack_response");
    });
  });

  test("no_ack: stored, never acknowledged", async () => {
    await withJs({}, async ({ jsm, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"], no_ack: true });
      await assert.rejects(nc.request("s", "x", { timeout: 300 }), { name: "TimeoutError" });
      assert.equal((await jsm.streams.info("S")).state.messages, 1);
    });
  });

  test("headers are stored byte for byte with the message", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"] });
      const h = natsHeaders();
      h.set("A", "1");
      h.append("A", "2");
      h.set("B", "ünïcode");
      await js.publish("s", new Uint8Array([0, 1, 2, 255]), { headers: h });
      const m = await jsm.streams.getMessage("S", { seq: 1 });
      assert.deepEqual(m?.header.values("A"), ["1", "2"]);
      assert.equal(m?.header.get("B"), "ünïcode");
      assert.deepEqual([...m!.data], [0, 1, 2, 255]);
    });
  });
});

describe("Nats-Msg-Id and duplicate_window", () => {
  test("a repeated id within the window is acknowledged as a duplicate and not stored", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"], duplicate_window: 300e6 });
      assert.deepEqual(await js.publish("s", "1", { msgID: "a" }).then((p) => [p.seq, p.duplicate]), [1, false]);
      assert.deepEqual(await js.publish("s", "2", { msgID: "a" }).then((p) => [p.seq, p.duplicate]), [1, true]);
      assert.deepEqual(await js.publish("s", "3", { msgID: "b" }).then((p) => [p.seq, p.duplicate]), [2, false]);
      assert.equal((await jsm.streams.info("S")).state.messages, 2);
      await sleep(450);
      // out of the window: a new message
      assert.deepEqual(await js.publish("s", "4", { msgID: "a" }).then((p) => [p.seq, p.duplicate]), [3, false]);
    });
  });

  test("the default window is two minutes (or max_age when shorter)", async () => {
    await withJs({}, async ({ jsm }) => {
      assert.equal((await jsm.streams.add({ name: "A", subjects: ["a"] })).config.duplicate_window, 120e9);
      assert.equal((await jsm.streams.add({ name: "B", subjects: ["b"], max_age: 10e9 })).config.duplicate_window, 10e9);
    });
  });
});

describe("expectations", () => {
  test("Nats-Expected-Stream: a mismatch is 10060 and nothing is stored", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"] });
      await rejectsApi(js.publish("s", "x", { expect: { streamName: "T" } }), 10060, 400, "expected stream does not match");
      assert.equal((await js.publish("s", "x", { expect: { streamName: "S" } })).seq, 1);
      assert.equal((await jsm.streams.info("S")).state.messages, 1);
    });
  });

  test("Nats-Expected-Last-Sequence: 10071 with the stream's last sequence", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.*"] });
      assert.equal((await js.publish("s.a", "1", { expect: { lastSequence: 0 } })).seq, 1);
      await rejectsApi(js.publish("s.b", "2", { expect: { lastSequence: 0 } }), 10071, 400, "wrong last sequence: 1");
      assert.equal((await js.publish("s.b", "2", { expect: { lastSequence: 1 } })).seq, 2);
      assert.equal((await jsm.streams.info("S")).state.messages, 2);
    });
  });

  test("Nats-Expected-Last-Subject-Sequence (and its -Subject variant): 10071 with the subject's last sequence", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.*"] });
      assert.equal((await js.publish("s.a", "1", { expect: { lastSubjectSequence: 0 } })).seq, 1);
      await js.publish("s.b", "2");
      await rejectsApi(js.publish("s.a", "3", { expect: { lastSubjectSequence: 0 } }), 10071, 400, "wrong last sequence: 1");
      assert.equal((await js.publish("s.a", "3", { expect: { lastSubjectSequence: 1 } })).seq, 3);
      // checked against another subject
      assert.equal((await js.publish("s.c", "4", { expect: { lastSubjectSequence: 2, lastSubjectSequenceSubject: "s.b" } })).seq, 4);
      await rejectsApi(js.publish("s.c", "5", { expect: { lastSubjectSequence: 1, lastSubjectSequenceSubject: "s.b" } }), 10071, 400, "wrong last sequence: 2");
      // the -Subject header alone is refused
      const h = natsHeaders();
      h.set("Nats-Expected-Last-Subject-Sequence-Subject", "s.b");
      await rejectsApi(js.publish("s.c", "6", { headers: h }), 10193);
      assert.equal((await jsm.streams.info("S")).state.messages, 4);
    });
  });

  test("Nats-Expected-Last-Msg-Id: 10070 naming the last id", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"] });
      await js.publish("s", "1", { msgID: "one" });
      await rejectsApi(js.publish("s", "2", { msgID: "two", expect: { lastMsgID: "zero" } }), 10070, 400, "wrong last msg ID: one");
      assert.equal((await js.publish("s", "2", { msgID: "two", expect: { lastMsgID: "one" } })).seq, 2);
    });
  });

  test("counters and schedules of later servers are refused, not stored as plain messages", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"] });
      const h = natsHeaders();
      h.set("Nats-Incr", "1");
      await rejectsApi(js.publish("s", undefined, { headers: h }), 10168);
      const h2 = natsHeaders();
      h2.set("Nats-Schedule", "@every 1s");
      await rejectsApi(js.publish("s", "x", { headers: h2 }), 10188);
      assert.equal((await jsm.streams.info("S")).state.messages, 0);
    });
  });
});

describe("Nats-Rollup", () => {
  test("sub keeps only the new message on its subject, all only the new message in the stream", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.*"], allow_rollup_hdrs: true });
      for (const s of ["s.a", "s.a", "s.b"]) await js.publish(s, "x");
      const sub = natsHeaders();
      sub.set("Nats-Rollup", "sub");
      assert.equal((await js.publish("s.a", "rolled", { headers: sub })).seq, 4);
      let si = await jsm.streams.info("S", { subjects_filter: ">" });
      assert.deepEqual(si.state.subjects, { "s.a": 1, "s.b": 1 });
      const all = natsHeaders();
      all.set("Nats-Rollup", "all");
      await js.publish("s.c", "everything", { headers: all });
      si = await jsm.streams.info("S");
      assert.deepEqual([si.state.messages, si.state.first_seq, si.state.last_seq], [1, 5, 5]);
    });
  });

  test("refused without allow_rollup_hdrs (10111), and for an unknown value", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"] });
      const h = natsHeaders();
      h.set("Nats-Rollup", "sub");
      await rejectsApi(js.publish("s", "x", { headers: h }), 10111, 500, "rollup not permitted");
      await jsm.streams.update("S", { allow_rollup_hdrs: true });
      const bad = natsHeaders();
      bad.set("Nats-Rollup", "some");
      await rejectsApi(js.publish("s", "x", { headers: bad }), 10111, 500, 'rollup value invalid: "some"');
      assert.equal((await js.publish("s", "x", { headers: h })).seq, 1);
    });
  });
});

describe("Nats-TTL and allow_msg_ttl", () => {
  test("a message with a TTL expires; never means never; TTLs need allow_msg_ttl (10166)", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.*"], allow_msg_ttl: true });
      await js.publish("s.short", "x", { ttl: "1s" });
      await js.publish("s.never", "y", { ttl: "never" });
      await js.publish("s.plain", "z");
      assert.equal((await jsm.streams.info("S")).state.messages, 3);
      await eventually(async () => (await jsm.streams.info("S")).state.messages === 2, 3000, "the 1s message to expire");
      assert.equal(await jsm.streams.getMessage("S", { last_by_subj: "s.short" }), null);
      await jsm.streams.add({ name: "N", subjects: ["n"] });
      await rejectsApi(js.publish("n", "x", { ttl: "5s" }), 10166, 400, "per-message TTL is disabled");
    });
  });

  test("an invalid TTL is 10165; seconds as a number work; allow_msg_ttl cannot be turned off", async () => {
    await withJs({}, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"], allow_msg_ttl: true });
      await rejectsApi(js.publish("s", "x", { ttl: "soon" }), 10165, 400, "invalid per-message TTL");
      await rejectsApi(js.publish("s", "x", { ttl: "500ms" }), 10165);
      assert.equal((await js.publish("s", "x", { ttl: "60" })).seq, 1);
      await rejectsApi(jsm.streams.update("S", { allow_msg_ttl: false } as never), 10052, 500, "message TTL status can not be disabled");
    });
  });
});

describe("subject_delete_marker_ttl", () => {
  test("when max_age removes a subject's last message a marker is left, which expires in turn", async () => {
    await withJs({}, async ({ jsm, js }) => {
      const si = await jsm.streams.add({ name: "S", subjects: ["s.*"], max_age: 500e6, subject_delete_marker_ttl: 1e9 });
      // implied: TTLs and roll-ups
      assert.deepEqual([si.config.allow_msg_ttl, si.config.allow_rollup_hdrs], [true, true]);
      await js.publish("s.a", "gone soon");
      await eventually(async () => {
        const m = await jsm.streams.getMessage("S", { last_by_subj: "s.a" });
        return m !== null && m.seq === 2;
      }, 3000, "the delete marker");
      const marker = await jsm.streams.getMessage("S", { last_by_subj: "s.a" });
      assert.equal(marker?.header.get("Nats-Marker-Reason"), "MaxAge");
      assert.equal(marker?.header.get("Nats-TTL"), "1s");
      assert.equal(marker?.data.length, 0);
      await eventually(async () => (await jsm.streams.info("S")).state.messages === 0, 4000, "the marker to expire");
      // a marker's own expiry leaves no marker
      await sleep(300);
      assert.equal((await jsm.streams.info("S")).state.last_seq, 2);
    });
  });
});
