import { test } from "node:test";
import assert from "node:assert/strict";
import { Sublist } from "../../src/core/sublist.js";
import { newSubscription, type Client, type Subscription } from "../../src/core/client.js";
import { subjectMatches } from "../../src/core/subject.js";

const client = (cid: number): Client => ({ cid, kind: "internal", echo: true, deliver() {} });
const c1 = client(1);
const sub = (subject: string, queue?: string, c = c1) => newSubscription(c, subject, subject + (queue ?? ""), queue);
const subjects = (r: { psubs: { subject: string }[] }) => r.psubs.map((s) => s.subject).sort();

test("literal, * and > matching", () => {
  const sl = new Sublist();
  for (const s of ["foo.bar", "foo.*", "foo.>", "*.bar", ">", "foo", "foo.bar.baz", "*.*.baz"]) sl.insert(sub(s));
  assert.deepEqual(subjects(sl.match("foo.bar")), ["*.bar", ">", "foo.*", "foo.>", "foo.bar"]);
  assert.deepEqual(subjects(sl.match("foo")), [">", "foo"]);
  assert.deepEqual(subjects(sl.match("foo.bar.baz")), ["*.*.baz", ">", "foo.>", "foo.bar.baz"]);
  assert.deepEqual(subjects(sl.match("bar")), [">"]);
  assert.equal(sl.size, 8);
});

test("queue subscribers are grouped by queue name, apart from plain ones", () => {
  const sl = new Sublist();
  sl.insert(sub("work", "q1"));
  sl.insert(sub("work", "q1", client(2)));
  sl.insert(sub("work.>", "q1", client(3)) );
  sl.insert(sub("work", "q2"));
  sl.insert(sub("work"));
  const r = sl.match("work");
  assert.equal(r.psubs.length, 1);
  assert.equal(r.qsubs.length, 2);
  const sizes = r.qsubs.map((g) => g.length).sort();
  assert.deepEqual(sizes, [1, 2]);
  const r2 = sl.match("work.x");
  assert.equal(r2.psubs.length, 0);
  assert.equal(r2.qsubs.length, 1);
  assert.equal(r2.qsubs[0][0].client.cid, 3);
});

test("cache: results are cached and invalidated on insert and remove", () => {
  const sl = new Sublist();
  const a = sub("a.*");
  sl.insert(a);
  assert.equal(sl.match("a.b").psubs.length, 1);
  assert.equal(sl.stats().num_cache, 0, "a subject enters the cache on its second miss");
  assert.equal(sl.match("a.b").psubs.length, 1);
  assert.equal(sl.stats().num_cache, 1);
  assert.equal(sl.match("a.b").psubs.length, 1);
  assert.ok(sl.stats().cache_hit_rate > 0.3);
  const b = sub("a.b");
  const gen = sl.genid;
  sl.insert(b);
  assert.ok(sl.genid > gen);
  assert.equal(sl.match("a.b").psubs.length, 2, "insert must invalidate the cached result");
  assert.equal(sl.remove(a), true);
  assert.deepEqual(subjects(sl.match("a.b")), ["a.b"], "remove must invalidate the cached result");
  assert.equal(sl.remove(a), false, "removing twice reports false");
});

test("cache is bounded", () => {
  const sl = new Sublist({ cacheSize: 64 });
  sl.insert(sub(">"));
  for (let i = 0; i < 1000; i++) sl.match("s." + i), sl.match("s." + i);
  assert.ok(sl.stats().num_cache <= 64);
  assert.ok(sl.stats().num_cache > 0);
});

test("subjects asked for once (inboxes, ack subjects) do not fill the cache", () => {
  const sl = new Sublist();
  sl.insert(sub(">"));
  sl.match("hot");
  for (let i = 0; i < 1000; i++) sl.match("unique." + i);
  sl.match("hot");
  assert.equal(sl.stats().num_cache, 1);
  assert.equal(sl.match("hot").psubs.length, 1);
});

test("no cache when disabled", () => {
  const sl = new Sublist({ cache: false });
  sl.insert(sub("x"));
  sl.match("x");
  assert.equal(sl.stats().num_cache, 0);
  assert.equal(sl.match("x").psubs.length, 1);
});

test("remove prunes empty nodes so churn does not grow the trie", () => {
  const sl = new Sublist();
  for (let i = 0; i < 500; i++) {
    const s = sub(`_INBOX.abc.${i}`);
    sl.insert(s);
    assert.equal(sl.remove(s), true);
  }
  assert.equal(sl.size, 0);
  assert.equal(sl.all().length, 0);
  // the root has no nodes left
  assert.equal((sl as unknown as { root: { nodes: Map<string, unknown> } }).root.nodes.size, 0);
});

test("the same subscription inserted twice counts once", () => {
  const sl = new Sublist();
  const s = sub("x.y");
  sl.insert(s);
  sl.insert(s);
  assert.equal(sl.size, 1);
  assert.equal(sl.match("x.y").psubs.length, 1);
});

test("stats count inserts, removes, matches and fanout", () => {
  const sl = new Sublist();
  const s1 = sub("a"), s2 = sub("a", undefined, client(9));
  sl.insert(s1); sl.insert(s2);
  sl.match("a");
  sl.remove(s1);
  const st = sl.stats();
  assert.equal(st.num_subscriptions, 1);
  assert.equal(st.num_inserts, 2);
  assert.equal(st.num_removes, 1);
  assert.equal(st.num_matches, 1);
  assert.equal(st.max_fanout, 2);
});

test("onChange listeners hear about inserts and removes once per batch, until they stop listening", async () => {
  const sl = new Sublist();
  let calls = 0;
  let interest = false;
  const stop = sl.onChange(() => {
    calls++;
    interest = sl.hasInterest("d.x");
  });
  const s = sub("d.*");
  sl.insert(s);
  sl.insert(sub("other"));
  assert.equal(calls, 0, "told after the turn's changes, not during them");
  await Promise.resolve();
  assert.deepEqual([calls, interest], [1, true]);
  sl.remove(s);
  await Promise.resolve();
  assert.deepEqual([calls, interest], [2, false]);
  stop();
  sl.insert(sub("d.x"));
  await Promise.resolve();
  assert.equal(calls, 2);
});

test("random subscriptions and subjects: match agrees with subjectMatches, queue members grouped", () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const tokens = ["a", "b", "c", "$JS", "API", "x1"];
  const pattern = () => {
    const n = 1 + rnd(4);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = rnd(10);
      if (i === n - 1 && r === 0) parts.push(">");
      else parts.push(r < 3 ? "*" : tokens[rnd(tokens.length)]!);
    }
    return parts.join(".");
  };
  const literal = () => Array.from({ length: 1 + rnd(5) }, () => tokens[rnd(tokens.length)]!).join(".");
  const sl = new Sublist();
  const subs: Subscription[] = [];
  for (let i = 0; i < 300; i++) {
    const s = newSubscription(c1, pattern(), `r${i}`, rnd(4) === 0 ? `q${rnd(3)}` : undefined);
    subs.push(s);
    sl.insert(s);
  }
  for (let i = 0; i < 3000; i++) {
    const subject = literal();
    const r = sl.match(subject);
    const want = subs.filter((s) => subjectMatches(s.subject, subject));
    const got = [...r.psubs, ...r.qsubs.flat()];
    assert.equal(got.length, want.length, subject);
    assert.deepEqual(new Set(got), new Set(want), subject);
    for (const g of r.qsubs) assert.equal(new Set(g.map((s) => s.queue)).size, 1, "one queue per group");
    assert.ok(r.psubs.every((s) => s.queue === undefined || s.queue === null || s.queue === ""));
  }
});
