// Which subscriptions of a session overlap (3.1.1 sends one copy for them): two subscription
// subjects intersect when some subject matches both; checked against a brute-force search.
import { test } from "node:test";
import assert from "node:assert/strict";
import { subjectMatches } from "../../src/core/subject.js";
import { subjectsIntersect } from "../../src/mqtt/topic.js";

test("subjectsIntersect: examples", () => {
  const yes = [["a.*", "a.>"], ["a.>", "a.b.c"], ["*.b", "a.*"], [">", "x"], ["a.b", "a.b"], ["*", "a"], ["a.*.c", "a.b.>"]];
  const no = [["a.*", "a"], ["a.>", "a"], ["a.b", "a.c"], ["a.*", "a.b.c"], ["*.*", "*"], ["a.>", "b.>"], ["a.*.c", "a.b.d"]];
  for (const [x, y] of yes) assert.equal(subjectsIntersect(x!, y!) && subjectsIntersect(y!, x!), true, `${x} ${y}`);
  for (const [x, y] of no) assert.equal(subjectsIntersect(x!, y!) || subjectsIntersect(y!, x!), false, `${x} ${y}`);
});

test("subjectsIntersect: the same as a search over short subjects", () => {
  const toks = ["a", "b"];
  const subjects: string[] = [];
  for (let n = 1; n <= 4; n++) {
    const walk = (prefix: string[]): void => {
      if (prefix.length === n) return void subjects.push(prefix.join("."));
      for (const t of toks) walk([...prefix, t]);
    };
    walk([]);
  }
  const patterns: string[] = [];
  const pt = ["a", "b", "*"];
  for (let n = 1; n <= 3; n++) {
    const walk = (prefix: string[]): void => {
      if (prefix.length === n) {
        patterns.push(prefix.join("."));
        patterns.push([...prefix, ">"].join("."));
        return;
      }
      for (const t of pt) walk([...prefix, t]);
    };
    walk([]);
  }
  patterns.push(">");
  for (const x of patterns) {
    for (const y of patterns) {
      const want = subjects.some((s) => subjectMatches(x, s) && subjectMatches(y, s));
      assert.equal(subjectsIntersect(x, y), want, `${x} ${y}`);
    }
  }
});
