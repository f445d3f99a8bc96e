// The retained message index: what a SUBSCRIBE finds must be exactly what a scan of every
// retained message with the subject matcher finds, including MQTT's `#`/`+` and `$` rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { subjectMatches } from "../../src/core/subject.js";
import { RetainedIndex, type Retained } from "../../src/mqtt/retained.js";
import { filterSubjects, topicToSubject } from "../../src/mqtt/topic.js";

function retained(topic: string): Retained {
  return { topic, subject: topicToSubject(topic, false), qos: 0, payload: Buffer.from(topic), props: undefined, expiresAt: 0, seq: 0 };
}

function indexOf(topics: string[]): RetainedIndex {
  const ix = new RetainedIndex();
  for (const t of topics) {
    const r = retained(t);
    ix.set(r.subject, r);
  }
  return ix;
}

/** The topics a filter finds, as SUBSCRIBE asks for them (all its subjects, the $ rule). */
function find(ix: RetainedIndex, filter: string): string[] {
  const wildFirst = filter[0] === "+" || filter[0] === "#";
  return filterSubjects(filter).flatMap((s) => ix.match(s, wildFirst)).map((r) => r.topic).sort();
}

test("MQTT filters over the index: levels, + and #, parent of #, $ topics", () => {
  const ix = indexOf(["a", "a/b", "a/b/c", "a/c", "b/x", "/lead", "trail/", "a//b", "dot.ted/x", "$SYS/up", "$SYS/a/b", "x/$y"]);
  assert.deepEqual(find(ix, "a/b"), ["a/b"]);
  assert.deepEqual(find(ix, "a/+"), ["a/b", "a/c"]);
  // '#' matches its parent level too
  assert.deepEqual(find(ix, "a/#"), ["a", "a//b", "a/b", "a/b/c", "a/c"]);
  assert.deepEqual(find(ix, "a/+/c"), ["a/b/c"]);
  assert.deepEqual(find(ix, "+/b"), ["a/b"]);
  // a leading wildcard never reaches $ topics [MQTT-4.7.2-1]; a $ filter does; $ deeper is plain
  assert.deepEqual(find(ix, "#"), ["/lead", "a", "a//b", "a/b", "a/b/c", "a/c", "b/x", "dot.ted/x", "trail/", "x/$y"]);
  assert.deepEqual(find(ix, "+/+"), ["/lead", "a/b", "a/c", "b/x", "dot.ted/x", "trail/", "x/$y"]);
  assert.deepEqual(find(ix, "$SYS/#"), ["$SYS/a/b", "$SYS/up"]);
  assert.deepEqual(find(ix, "$SYS/+"), ["$SYS/up"]);
  // empty levels and dots map as nats-server maps them
  assert.deepEqual(find(ix, "/+"), ["/lead"]);
  assert.deepEqual(find(ix, "trail/+"), ["trail/"]);
  assert.deepEqual(find(ix, "a//b"), ["a//b"]);
  assert.deepEqual(find(ix, "dot.ted/+"), ["dot.ted/x"]);
  assert.deepEqual(find(ix, "nothing/#"), []);
});

test("replace and delete keep the index exact (and prune it)", () => {
  const ix = indexOf(["a/b/c", "a/b"]);
  const r2 = { ...retained("a/b/c"), qos: 1 };
  ix.set(r2.subject, r2);
  assert.equal(ix.size, 2);
  assert.equal(ix.match("a.b.c", false)[0], r2);
  assert.equal(ix.delete("a.b.c"), true);
  assert.equal(ix.delete("a.b.c"), false);
  assert.deepEqual(find(ix, "#"), ["a/b"]);
  assert.equal(ix.delete("a.b"), true);
  assert.equal(ix.size, 0);
  assert.deepEqual(ix.match(">", false), []);
  // the trie is empty again: nothing left under the root
  assert.equal((ix as unknown as { root: { children: unknown } }).root.children, null);
  // a deleted leaf under a kept value
  const ix2 = indexOf(["p", "p/q"]);
  ix2.delete("p");
  assert.deepEqual(find(ix2, "p/#"), ["p/q"]);
  ix2.delete("p.q");
  assert.deepEqual(find(ix2, "#"), []);
});

test("random topics and filters: the same as a scan", () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const words = ["a", "b", "c", "$d", ""];
  const topic = (): string => Array.from({ length: 1 + rnd(4) }, () => words[rnd(words.length)]).join("/") || "a";
  const topics = [...new Set(Array.from({ length: 400 }, topic))];
  const ix = indexOf(topics);
  // some deletions
  for (const t of topics.filter((_, i) => i % 5 === 0)) ix.delete(topicToSubject(t, false));
  const kept = topics.filter((_, i) => i % 5 !== 0);
  const levels = ["a", "b", "$d", "+", ""];
  for (let k = 0; k < 500; k++) {
    const parts = Array.from({ length: 1 + rnd(4) }, () => levels[rnd(levels.length)]!);
    if (rnd(2) === 0) parts.push("#");
    const filter = parts.join("/");
    const wildFirst = filter[0] === "+" || filter[0] === "#";
    const want = kept.filter((t) => {
      const subj = topicToSubject(t, false);
      if (wildFirst && subj[0] === "$") return false;
      return filterSubjects(filter).some((p) => subjectMatches(p, subj));
    }).sort();
    assert.deepEqual(find(ix, filter), want, filter);
  }
});

test("thousands of levels do not overflow the stack", () => {
  const deep = Array.from({ length: 20_000 }, () => "l").join("/");
  const ix = indexOf([deep]);
  assert.equal(find(ix, "#").length, 1);
  assert.equal(find(ix, deep).length, 1);
  assert.equal(find(ix, deep.replace(/l$/, "+")).length, 1);
  assert.equal(ix.delete(topicToSubject(deep, false)), true);
});

test("messages with an expiry are listed once past it, and forgotten when replaced or deleted", () => {
  const ix = new RetainedIndex();
  const a = { ...retained("e/a"), expiresAt: 1000 };
  const b = { ...retained("e/b"), expiresAt: 5000 };
  ix.set(a.subject, a);
  ix.set(b.subject, b);
  ix.set("e.c", retained("e/c"));
  assert.deepEqual(ix.expired(999), []);
  assert.deepEqual(ix.expired(1000), [a]);
  assert.deepEqual(ix.expired(6000).map((r) => r.topic).sort(), ["e/a", "e/b"]);
  // replaced without an expiry; deleted
  ix.set(a.subject, retained("e/a"));
  ix.delete(b.subject);
  assert.deepEqual(ix.expired(10_000), []);
});
