// The stream store's shared suite: every test runs against the memory store and the file store.

import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, MemoryStore, StoreError, type StoreConfig, type StreamStore, type RemovedMsg, type ConsumerState } from "../../src/jetstream/store/index.js";
import { crc32c } from "../../src/jetstream/store/crc32c.js";
import { Filter } from "../../src/jetstream/store/subjects.js";
import { subjectMatches } from "../../src/core/subject.js";

const root = mkdtempSync(join(tmpdir(), "junction-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

type Make = (cfg?: Partial<StoreConfig>) => StreamStore;
const kinds: [string, Make][] = [
  ["memory", (cfg) => new MemoryStore({ name: "S", storage: "memory", ...cfg })],
  ["file", (cfg) => new FileStore({ name: "S", storage: "file", directory: join(root, `s${++dirs}`), block_size: 2048, ...cfg })],
];

const b = (s: string): Buffer => Buffer.from(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fill(st: StreamStore, subjects: string[], n: number): void {
  for (let i = 0; i < n; i++) st.storeMsg(subjects[i % subjects.length], undefined, b(`m${i + 1}`));
}

function expectStoreError(fn: () => unknown, code: string, text: string): void {
  assert.throws(fn, (e: unknown) => e instanceof StoreError && e.code === code && e.message === text);
}

/** Live (seq, subject) pairs, read back through loadNextMsg. */
function contents(st: StreamStore): [number, string][] {
  const out: [number, string][] = [];
  for (let m = st.loadNextMsg(undefined, 0); m; m = st.loadNextMsg(undefined, m.seq + 1)) out.push([m.seq, m.subject]);
  return out;
}

function matchesAny(filters: string[], subject: string): boolean {
  return filters.length === 0 || filters.some((f) => f === ">" || f === "" || subjectMatches(f, subject));
}

for (const [kind, make] of kinds) {
  describe(`${kind} store`, () => {
    test("append and load; empty and first_seq state", () => {
      const st = make();
      assert.deepEqual(
        { ...st.state(), first_ts: 0n },
        { messages: 0, bytes: 0, first_seq: 0, first_ts: 0n, last_seq: 0, last_ts: 0n, num_subjects: 0, num_deleted: 0 },
      );
      const hdr = b("NATS/1.0\r\nA: 1\r\n\r\n");
      const r1 = st.storeMsg("foo", hdr, b("one"));
      const r2 = st.storeMsg("bar.baz", undefined, b(""));
      assert.equal(r1.seq, 1);
      assert.equal(r2.seq, 2);
      assert.ok(r2.ts > r1.ts && r1.ts > 1_600_000_000_000_000_000n);
      const m1 = st.loadMsg(1)!;
      assert.equal(m1.subject, "foo");
      assert.deepEqual(m1.hdr, hdr);
      assert.deepEqual(m1.data, b("one"));
      assert.equal(m1.ts, r1.ts);
      const m2 = st.loadMsg(2)!;
      assert.equal(m2.hdr, undefined);
      assert.equal(m2.data.length, 0);
      assert.equal(st.loadMsg(3), undefined);
      assert.equal(st.loadMsg(0), undefined);
      const s = st.state();
      assert.equal(s.messages, 2);
      assert.equal(s.first_seq, 1);
      assert.equal(s.last_seq, 2);
      assert.equal(s.first_ts, r1.ts);
      assert.equal(s.last_ts, r2.ts);
      assert.equal(s.num_subjects, 2);
      assert.ok(s.bytes > 0);
      assert.equal(st.subjectForSeq(2), "bar.baz");
      // The caller's buffers may be reused after storeMsg.
      const data = b("mutable");
      st.storeMsg("foo", undefined, data);
      data.fill(0);
      assert.deepEqual(st.loadMsg(3)!.data, b("mutable"));
      st.stop();
      assert.throws(() => st.storeMsg("x", undefined, b("")), (e: unknown) => e instanceof StoreError && e.code === "CLOSED");
    });

    test("first_seq: a new store starts there", () => {
      const st = make({ first_seq: 100 });
      const s0 = st.state();
      assert.equal(s0.first_seq, 100);
      assert.equal(s0.last_seq, 99);
      assert.equal(st.storeMsg("a", undefined, b("x")).seq, 100);
      st.stop();
    });

    test("removal: first_seq advances, interior deletes counted and listed", () => {
      const st = make();
      fill(st, ["a", "b"], 6);
      assert.equal(st.removeMsg(3), true);
      assert.equal(st.removeMsg(3), false);
      assert.equal(st.removeMsg(99), false);
      assert.equal(st.removeMsg(1), true);
      let s = st.state({ deleted: true });
      assert.equal(s.first_seq, 2);
      assert.equal(s.messages, 4);
      assert.equal(s.num_deleted, 1);
      assert.deepEqual(s.deleted, [3]);
      assert.equal(st.removeMsg(2), true);
      s = st.state();
      assert.equal(s.first_seq, 4);
      assert.equal(s.num_deleted, 0);
      for (const q of [4, 5, 6]) st.removeMsg(q);
      s = st.state();
      assert.equal(s.messages, 0);
      assert.equal(s.first_seq, 7);
      assert.equal(s.last_seq, 6);
      assert.equal(s.first_ts, 0n);
      assert.equal(s.bytes, 0);
      assert.equal(st.storeMsg("a", undefined, b("z")).seq, 7);
      st.stop();
    });

    test("eraseMsg removes and overwrites", () => {
      const st = make();
      fill(st, ["a"], 3);
      const before = st.loadMsg(2)!;
      assert.equal(st.eraseMsg(2), true);
      assert.equal(st.loadMsg(2), undefined);
      assert.equal(st.eraseMsg(2), false);
      assert.equal(st.state().messages, 2);
      assert.ok(before.data.every((x) => x === 0) || kind === "file", "memory store zeroes the stored bytes");
      st.stop();
    });

    test("max_msgs: discard old drops the oldest, discard new refuses", () => {
      const old = make({ max_msgs: 3 });
      fill(old, ["a"], 5);
      assert.deepEqual(contents(old).map(([s]) => s), [3, 4, 5]);
      assert.equal(old.state().first_seq, 3);
      old.stop();
      const neu = make({ max_msgs: 3, discard: "new" });
      fill(neu, ["a"], 3);
      expectStoreError(() => neu.storeMsg("a", undefined, b("x")), "MAX_MSGS", "maximum messages exceeded");
      assert.equal(neu.state().last_seq, 3);
      neu.stop();
    });

    test("max_bytes: discard old and new", () => {
      const probe = make();
      probe.storeMsg("a", undefined, b("0123456789"));
      const one = probe.state().bytes;
      probe.stop();
      const old = make({ max_bytes: one * 3 });
      fill(old, ["a"], 2);
      for (let i = 0; i < 5; i++) old.storeMsg("a", undefined, b("0123456789"));
      assert.ok(old.state().bytes <= one * 3);
      assert.equal(old.state().last_seq, 7);
      old.stop();
      const neu = make({ max_bytes: one * 3, discard: "new" });
      for (let i = 0; i < 3; i++) neu.storeMsg("a", undefined, b("0123456789"));
      expectStoreError(() => neu.storeMsg("a", undefined, b("0123456789")), "MAX_BYTES", "maximum bytes exceeded");
      neu.stop();
    });

    test("max_msgs_per_subject: oldest on the subject goes; discard_new_per_subject refuses unless rollup", () => {
      const st = make({ max_msgs_per_subject: 2 });
      fill(st, ["k.a", "k.b", "k.c"], 9);
      assert.deepEqual(
        contents(st).map(([s]) => s),
        [4, 5, 6, 7, 8, 9],
      );
      const ss = st.subjectsState(">");
      assert.deepEqual(ss.get("k.a"), { msgs: 2, first: 4, last: 7 });
      st.stop();

      const neu = make({ max_msgs_per_subject: 1, discard: "new", discard_new_per_subject: true });
      neu.storeMsg("k", undefined, b("1"));
      expectStoreError(() => neu.storeMsg("k", undefined, b("2")), "MAX_MSGS_PER_SUBJECT", "maximum messages per subject exceeded");
      neu.storeMsg("k", b("NATS/1.0\r\nNats-Rollup: sub\r\n\r\n"), b("3"));
      assert.deepEqual(contents(neu), [[2, "k"]]);
      neu.stop();

      // Discard new with max_msgs reached still replaces when the subject is at its limit.
      const kv = make({ max_msgs_per_subject: 1, max_msgs: 2, discard: "new" });
      kv.storeMsg("x", undefined, b("1"));
      kv.storeMsg("y", undefined, b("1"));
      kv.storeMsg("x", undefined, b("2"));
      expectStoreError(() => kv.storeMsg("z", undefined, b("1")), "MAX_MSGS", "maximum messages exceeded");
      assert.deepEqual(contents(kv), [
        [2, "y"],
        [3, "x"],
      ]);
      kv.stop();
    });

    test("max_msg_size", () => {
      const st = make({ max_msg_size: 10 });
      st.storeMsg("a", undefined, b("0123456789"));
      expectStoreError(() => st.storeMsg("a", undefined, b("0123456789a")), "MSG_TOO_LARGE", "message too large");
      expectStoreError(() => st.storeMsg("a", b("NATS/1.0\r\n\r\n"), b("0")), "MSG_TOO_LARGE", "message too large");
      st.stop();
    });

    test("removed handler reports limit removals after the operation", () => {
      const st = make({ max_msgs_per_subject: 1, max_msgs: 3 });
      const seen: RemovedMsg[] = [];
      st.setRemovedHandler((r) => {
        assert.equal(st.state().last_seq >= r.seq, true);
        seen.push(r);
      });
      st.storeMsg("a", undefined, b("1"));
      st.storeMsg("a", undefined, b("2"));
      st.storeMsg("b", undefined, b("3"));
      st.storeMsg("c", undefined, b("4"));
      st.storeMsg("d", undefined, b("5"));
      assert.deepEqual(
        seen.map((r) => [r.seq, r.subject, r.reason, r.lastForSubject]),
        [
          [1, "a", "max_msgs_per_subject", false],
          [2, "a", "max_msgs", true],
        ],
      );
      st.stop();
    });

    test("max_age expires old messages (timer and expireMsgs)", async () => {
      const st = make({ max_age: 100, subject_delete_marker_ttl: 1000 });
      const removed: RemovedMsg[] = [];
      st.setRemovedHandler((r) => removed.push(r));
      st.storeMsg("a", b("NATS/1.0\r\nX: 1\r\n\r\n"), b("1"));
      st.storeMsg("b", undefined, b("2"));
      await sleep(60);
      st.storeMsg("c", undefined, b("3"));
      const cAt = Date.now();
      await sleep(70);
      // The first two are past 100ms (removed by the timer); the third not yet, unless this turn came late.
      const left = contents(st);
      if (Date.now() - cAt < 90) assert.deepEqual(left, [[3, "c"]]);
      assert.deepEqual(
        removed.slice(0, 2).map((r) => [r.seq, r.reason, r.lastForSubject, r.hdr?.toString()]),
        [
          [1, "max_age", true, "NATS/1.0\r\nX: 1\r\n\r\n"],
          [2, "max_age", true, undefined],
        ],
      );
      await sleep(Math.max(0, 110 - (Date.now() - cAt)));
      st.expireMsgs();
      const s = st.state();
      assert.equal(s.messages, 0);
      assert.equal(s.first_seq, 4);
      assert.equal(s.last_seq, 3);
      st.stop();
    });

    test("per-message TTL, and TTL < 0 exempts from max_age", async () => {
      const st = make({ allow_msg_ttl: true, max_age: 150 });
      const removed: RemovedMsg[] = [];
      st.setRemovedHandler((r) => removed.push(r));
      const t0 = Date.now();
      st.storeMsg("a", undefined, b("short"), { ttl: 20 });
      st.storeMsg("b", undefined, b("never"), { ttl: -1 });
      st.storeMsg("c", undefined, b("plain"));
      assert.equal(st.loadMsg(1)!.ttl, 20);
      assert.equal(st.loadMsg(2)!.ttl, -1);
      await sleep(60);
      // On a loaded machine max_age (150 ms) may come due before we look: only then can it be
      // what removed message 1.
      const early = Date.now() - t0 < 140;
      if (early) assert.deepEqual(contents(st).map(([q]) => q), [2, 3]);
      assert.equal(st.loadMsg(1), undefined);
      if (early) assert.equal(removed.find((r) => r.seq === 1)?.reason, "ttl");
      await sleep(Math.max(0, 170 - (Date.now() - t0)));
      st.expireMsgs();
      assert.deepEqual(contents(st).map(([q]) => q), [2]);
      assert.equal(removed.find((r) => r.seq === 3)?.reason, "max_age");
      st.stop();

      // Without allow_msg_ttl the TTL is kept but does not expire.
      const off = make({});
      off.storeMsg("a", undefined, b("x"), { ttl: 10 });
      await sleep(30);
      off.expireMsgs();
      assert.equal(off.state().messages, 1);
      off.updateConfig({ ...off.config, allow_msg_ttl: true });
      assert.equal(off.state().messages, 0);
      off.stop();
    });

    test("purge: all, by subject, up to seq, keep", () => {
      const mk = (): StreamStore => {
        const st = make();
        fill(st, ["x.1", "x.2", "y"], 12); // x.1: 1,4,7,10  x.2: 2,5,8,11  y: 3,6,9,12
        return st;
      };
      let st = mk();
      assert.equal(st.purge(), 12);
      let s = st.state();
      assert.deepEqual([s.messages, s.first_seq, s.last_seq, s.num_subjects], [0, 13, 12, 0]);
      assert.equal(st.storeMsg("z", undefined, b("")).seq, 13);
      st.stop();

      st = mk();
      assert.equal(st.purge({ subject: "x.*" }), 8);
      assert.deepEqual(
        contents(st).map(([q]) => q),
        [3, 6, 9, 12],
      );
      assert.equal(st.state().first_seq, 3);
      st.stop();

      st = mk();
      assert.equal(st.purge({ seq: 5 }), 4); // up to but not including 5
      assert.equal(st.state().first_seq, 5);
      assert.equal(st.purge({ seq: 1 }), 0);
      st.stop();

      st = mk();
      assert.equal(st.purge({ keep: 3 }), 9);
      assert.deepEqual(
        contents(st).map(([q]) => q),
        [10, 11, 12],
      );
      st.stop();

      st = mk();
      assert.equal(st.purge({ subject: "x.1", keep: 1 }), 3);
      assert.equal(st.purge({ subject: "x.2", seq: 6 }), 2);
      assert.deepEqual(
        contents(st).map(([q]) => q),
        [3, 6, 8, 9, 10, 11, 12],
      );
      assert.equal(st.purge({ subject: "nope" }), 0);
      assert.equal(st.purge({ subject: "y", keep: 10 }), 0);
      st.stop();
    });

    test("compact and truncate", () => {
      let st = make();
      fill(st, ["a", "b"], 10);
      st.removeMsg(7);
      assert.equal(st.compact(5), 4);
      let s = st.state();
      assert.deepEqual([s.messages, s.first_seq, s.last_seq], [5, 5, 10]);
      assert.equal(st.compact(3), 0);
      assert.equal(st.compact(50), 5);
      s = st.state();
      assert.deepEqual([s.messages, s.first_seq, s.last_seq], [0, 50, 49]);
      assert.equal(st.storeMsg("a", undefined, b("")).seq, 50);
      st.stop();

      st = make();
      fill(st, ["a", "b"], 10);
      const ts6 = st.loadMsg(6)!.ts;
      st.truncate(6);
      s = st.state();
      assert.deepEqual([s.messages, s.first_seq, s.last_seq, s.last_ts], [6, 1, 6, ts6]);
      assert.deepEqual(st.subjectsState(">").get("b"), { msgs: 3, first: 2, last: 6 });
      assert.equal(st.storeMsg("b", undefined, b("")).seq, 7);
      assert.deepEqual(st.subjectsState(">").get("b"), { msgs: 4, first: 2, last: 7 });
      st.truncate(0);
      s = st.state();
      assert.deepEqual([s.messages, s.first_seq, s.last_seq], [0, 0, 0]);
      st.stop();
    });

    test("skipMsgs moves last_seq", () => {
      const st = make();
      assert.equal(st.skipMsgs(5), 5);
      let s = st.state();
      assert.deepEqual([s.messages, s.first_seq, s.last_seq], [0, 6, 5]);
      st.storeMsg("a", undefined, b(""));
      st.skipMsgs(2);
      st.storeMsg("a", undefined, b(""));
      s = st.state();
      assert.deepEqual([s.messages, s.first_seq, s.last_seq, s.num_deleted], [2, 6, 9, 2]);
      st.stop();
    });

    test("subject state, totals, last messages", () => {
      const st = make();
      fill(st, ["kv.a", "kv.b", "kv.c.d", "other"], 12);
      st.removeMsg(5); // kv.a
      st.removeMsg(12); // other (last)
      const ss = st.subjectsState("kv.*");
      assert.deepEqual([...ss.keys()].sort(), ["kv.a", "kv.b"]);
      assert.deepEqual(ss.get("kv.a"), { msgs: 2, first: 1, last: 9 });
      assert.deepEqual(st.subjectsState("kv.>").get("kv.c.d"), { msgs: 3, first: 3, last: 11 });
      assert.deepEqual(Object.fromEntries(st.subjectsTotals(">")), { "kv.a": 2, "kv.b": 3, "kv.c.d": 3, other: 2 });
      assert.equal(st.loadLastMsg("other")!.seq, 8);
      assert.equal(st.loadLastMsg("kv.*")!.seq, 10);
      assert.equal(st.loadLastMsg(">")!.seq, 11);
      assert.equal(st.loadLastMsg("nope"), undefined);
      assert.deepEqual(st.multiLastSeqs(["kv.*", "other"]), [8, 9, 10]);
      assert.deepEqual(st.multiLastSeqs(["kv.>"], 7), [1, 6, 7]);
      assert.deepEqual(st.allLastSeqs(), [8, 9, 10, 11]);
      assert.throws(() => st.multiLastSeqs([">"], 0, 2), (e: unknown) => e instanceof StoreError && e.code === "TOO_MANY_RESULTS");
      st.stop();
    });

    test("loadNextMsg/loadPrevMsg/numPending against a brute-force model", () => {
      const st = make();
      const subjects = ["a.1", "a.2", "b.1", "b.2.x", "c"];
      let rnd = 12345;
      const rand = (n: number): number => {
        rnd = (rnd * 1103515245 + 12345) & 0x7fffffff;
        return rnd % n;
      };
      for (let i = 0; i < 300; i++) st.storeMsg(subjects[rand(i < 150 ? 5 : 3)], undefined, b(String(i)));
      for (let i = 0; i < 120; i++) st.removeMsg(1 + rand(300));
      const live = contents(st);
      const filters: string[][] = [[], [">"], ["a.1"], ["a.*"], ["b.>"], ["*.1"], ["a.1", "c"], ["a.2", "b.*"], ["nope"], ["c", "b.2.x", "a.*"]];
      for (const f of filters) {
        for (const start of [0, 1, 2, 50, 151, 200, 299, 300, 301]) {
          const want = live.filter(([q, s]) => q >= start && matchesAny(f, s));
          const got = st.loadNextMsg(f.length === 1 ? f[0] : f, start);
          assert.equal(got?.seq, want[0]?.[0], `next ${f} ${start}`);
          const prevWant = live.filter(([q, s]) => q <= start && matchesAny(f, s)).pop();
          assert.equal(st.loadPrevMsg(f, start)?.seq, prevWant?.[0], `prev ${f} ${start}`);
          assert.equal(st.numPending(start, f), want.length, `pending ${f} ${start}`);
          const fs = st.filteredState(start, f);
          assert.equal(fs.first, want[0]?.[0] ?? 0, `first ${f} ${start}`);
          assert.equal(fs.last, want[want.length - 1]?.[0] ?? 0, `last ${f} ${start}`);
          const lastPer = new Map<string, number>();
          for (const [q, s] of live) if (matchesAny(f, s)) lastPer.set(s, q);
          const lps = [...lastPer.values()].filter((q) => q >= start);
          assert.equal(st.numPending(start, f, true), lps.length, `lps ${f} ${start}`);
        }
      }
      st.stop();
    });

    test("getSeqFromTime", () => {
      const st = make();
      const t0 = 1_700_000_000_000_000_000n;
      for (let i = 1; i <= 20; i++) st.storeMsg("a", undefined, b(""), { ts: t0 + BigInt(i) * 1000n });
      st.removeMsg(5);
      assert.equal(st.getSeqFromTime(0n), 1);
      assert.equal(st.getSeqFromTime(t0 + 3000n), 3);
      assert.equal(st.getSeqFromTime(t0 + 4500n), 6);
      assert.equal(st.getSeqFromTime(t0 + 99_000n), 21);
      st.stop();
    });

    test("updateConfig applies lower limits at once", () => {
      const st = make();
      fill(st, ["a", "b", "c"], 30);
      st.updateConfig({ ...st.config, max_msgs_per_subject: 3 });
      assert.equal(st.state().messages, 9);
      st.updateConfig({ ...st.config, max_msgs: 4 });
      assert.deepEqual(
        contents(st).map(([q]) => q),
        [27, 28, 29, 30],
      );
      assert.throws(() => st.updateConfig({ ...st.config, storage: kind === "file" ? "memory" : "file" }));
      st.stop();
    });

    test("storeMsg with an expected sequence", () => {
      const st = make();
      st.storeMsg("a", undefined, b(""), { seq: 1 });
      assert.throws(() => st.storeMsg("a", undefined, b(""), { seq: 5 }), (e: unknown) => e instanceof StoreError && e.code === "SEQUENCE_MISMATCH");
      st.stop();
    });

    test("consumer state and metadata round trip", async () => {
      const st = make();
      const cs = st.consumerStore("dur.1");
      assert.equal(cs.load(), undefined);
      const state: ConsumerState = {
        delivered: { consumer_seq: 20, stream_seq: 40 },
        ack_floor: { consumer_seq: 10, stream_seq: 22 },
        pending: new Map([
          [30, { sequence: 14, ts: 1_700_000_000_123_456_789n }],
          [35, { sequence: 18, ts: 1_700_000_001_000_000_000n }],
        ]),
        redelivered: new Map([[30, 3]]),
      };
      cs.update(state);
      cs.writeMeta({ durable_name: "dur.1", ack_policy: "explicit" });
      assert.deepEqual(cs.load(), state);
      assert.deepEqual(cs.readMeta(), { durable_name: "dur.1", ack_policy: "explicit" });
      await sleep(30);
      assert.deepEqual(st.consumerNames(), ["dur.1"]);
      cs.delete();
      assert.deepEqual(st.consumerNames(), []);
      st.writeMeta({ name: "S", subjects: ["a.>"] });
      assert.deepEqual(st.readMeta(), { name: "S", subjects: ["a.>"] });
      st.stop();
    });

    test("afterWrite and flush resolve", async () => {
      const st = make();
      st.storeMsg("a", undefined, b("x"));
      let called = false;
      st.afterWrite((err) => {
        assert.equal(err, undefined);
        called = true;
      });
      await st.flush();
      assert.equal(called, true);
      st.stop();
    });
  });
}

test("memory store: bodies survive slab recycling after heavy deletes", () => {
  const st = new MemoryStore({ name: "M", storage: "memory" });
  const body = (i: number): Buffer => Buffer.alloc(5000 + (i % 7) * 100, i & 255);
  for (let i = 1; i <= 400; i++) st.storeMsg(`m.${i % 9}`, i % 2 ? b(`NATS/1.0\r\nI: ${i}\r\n\r\n`) : undefined, body(i));
  let x = 99;
  const gone = new Set<number>();
  for (let k = 0; k < 330; k++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const seq = 1 + (x % 400);
    if (st.removeMsg(seq)) gone.add(seq);
  }
  for (let i = 401; i <= 450; i++) st.storeMsg(`m.${i % 9}`, undefined, body(i));
  for (let i = 1; i <= 450; i++) {
    const m = st.loadMsg(i);
    if (gone.has(i)) assert.equal(m, undefined);
    else {
      assert.deepEqual(m!.data, body(i), `seq ${i}`);
      assert.equal(m!.hdr?.toString(), i % 2 && i <= 400 ? `NATS/1.0\r\nI: ${i}\r\n\r\n` : undefined);
    }
  }
  st.stop();
});

test("crc32c matches a bitwise reference", () => {
  const ref = (buf: Uint8Array): number => {
    let c = ~0;
    for (const x of buf) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  assert.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
  const buf = Buffer.alloc(300);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919) & 255;
  for (let n = 0; n < 300; n += 7) assert.equal(crc32c(buf, 0, n), ref(buf.subarray(0, n)));
  assert.equal(crc32c(buf, 5, 200), ref(buf.subarray(5, 200)));
});

test("filters: literal, wildcard, many", () => {
  const f = new Filter(["a.*", "b.>", "c"]);
  for (const [s, want] of [
    ["a.x", true],
    ["a.x.y", false],
    ["a", false],
    ["b.x.y", true],
    ["b", false],
    ["c", true],
    ["c.d", false],
  ] as const) {
    assert.equal(f.matches(s), want, s);
  }
  assert.equal(new Filter(undefined).all, true);
  assert.equal(new Filter([">", "a"]).all, true);
  assert.equal(new Filter("x.y").literal, "x.y");
  assert.equal(new Filter("*").matches("abc"), true);
  assert.equal(new Filter("*.*").matches("abc"), false);
});
