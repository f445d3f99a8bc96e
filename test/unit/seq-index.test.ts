// The sequence index with paging: a paged index with a tiny resident bound must answer exactly like
// one that keeps everything in memory, whatever the mix of appends, deletes, links and scans.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SeqIndex, type Segment } from "../../src/jetstream/store/seq-index.js";
import { SeqBits } from "../../src/jetstream/store/block.js";

const root = mkdtempSync(join(tmpdir(), "junction-seqidx-"));
after(() => rmSync(root, { recursive: true, force: true }));

function rng(seed: number): (k: number) => number {
  return (k) => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed % k;
  };
}

function row(s: Segment | undefined, seq: number): unknown {
  if (s === undefined) return undefined;
  const i = seq - s.base;
  return [s.subj(i), s.ts(i), s.size(i), s.prevD(i), s.nextD(i), s.blk(i), s.off(i)];
}

test("a paged index with a tiny resident bound answers like an unpaged one (random operations)", () => {
  for (const [seed, segSize, maxBytes] of [
    [1, 8, 600],
    [2, 16, 1100],
    [3, 4, 1],
    [4, 64, 5000],
  ] as const) {
    const rand = rng(seed);
    const path = join(root, `idx${seed}`);
    const paged = new SeqIndex(true, false, { segSize, pager: { path, maxBytes } });
    const model = new SeqIndex(true, false, { segSize });
    const live: number[] = [];
    const lastOf = new Map<number, number>();
    let seq = 0;
    let ts = 1000n;
    const log: string[] = [];
    const same = (what: string, f: (ix: SeqIndex) => unknown): void => {
      assert.deepEqual(f(paged), f(model), `${what} after ${log.slice(-4).join(" | ")}`);
    };
    for (let step = 0; step < 6000; step++) {
      const r = rand(100);
      if (r < 45 || live.length === 0) {
        seq += rand(10) === 0 ? 1 + rand(3 * segSize) : 1; // gaps, sometimes whole segments
        ts += BigInt(rand(5)); // equal timestamps happen
        const subj = 1 + rand(7);
        const prev = lastOf.get(subj) ?? 0;
        const size = 10 + rand(100);
        log.push(`add ${seq} s${subj}`);
        for (const ix of [paged, model]) {
          const s = ix.add(seq, subj, ts, size);
          s.setLoc(seq - s.base, seq % 13, seq * 3);
          if (prev > 0) ix.link(prev, seq);
        }
        lastOf.set(subj, seq);
        live.push(seq);
      } else if (r < 70) {
        // Delete a live message (the oldest more often, as limits do), unlinking it like the store.
        const k = rand(3) === 0 ? 0 : rand(live.length);
        const victim = live[k];
        log.push(`del ${victim}`);
        const s = model.at(victim)!;
        const i = victim - s.base;
        const subj = s.subj(i);
        const p = s.prevD(i) === 0 ? 0 : victim - s.prevD(i);
        const n = s.nextD(i) === 0 ? 0 : victim + s.nextD(i);
        for (const ix of [paged, model]) {
          ix.link(p, n);
          assert.equal(ix.del(victim), true);
        }
        if (lastOf.get(subj) === victim) {
          if (p > 0) lastOf.set(subj, p);
          else lastOf.delete(subj);
        }
        live.splice(k, 1);
        same("del again", (ix) => ix.del(victim));
      } else if (r < 73) {
        const x = live[rand(live.length)];
        log.push(`move ${x}`);
        for (const ix of [paged, model]) ix.setLoc(x, 99, step);
      } else {
        const a = rand(seq + 2);
        const b = a + rand(6 * segSize);
        const id = 1 + rand(8);
        const mask = new Uint8Array(9);
        mask[1 + rand(8)] = 1;
        mask[1 + rand(8)] = 1;
        const pick = rand(12);
        if (pick === 0) same("next", (ix) => [ix.next(a, b), ix.next(a, b, id), ix.next(a, b, (x) => x % 2 === 0)]);
        else if (pick === 1) same("prev", (ix) => [ix.prev(b, a), ix.prev(b, a, id), ix.prev(b, a, (x) => x > 4)]);
        else if (pick === 2) same("count", (ix) => [ix.countRange(a, b), ix.countIds(a, b, mask)]);
        else if (pick === 3) same("seqs/gaps", (ix) => [ix.seqs(a, b), ix.gaps(a, Math.min(b, seq))]);
        else if (pick === 4) same("first/last/count", (ix) => [ix.first(), ix.last(), ix.count]);
        else if (pick === 5) {
          const t = 1000n + BigInt(rand(step + 1));
          same("by time", (ix) => [ix.firstAtOrAfter(t), ix.firstAtOrAfter(ts + 1n)]);
        }
        else if (pick === 6) {
          const rows: unknown[] = [];
          same("forEach", (ix) => {
            rows.length = 0;
            ix.forEach(a, b, (s, g, i) => {
              rows.push([s, g.subj(i), g.ts(i), g.size(i), g.blk(i), g.off(i)]);
              return rows.length < 50;
            });
            return rows.slice();
          });
        } else {
          const x = rand(4) === 0 ? a : live[rand(live.length)];
          same(`point ${x}`, (ix) => [ix.has(x), ix.subjId(x), row(ix.at(x), x), ix.prevSame(x), ix.nextSame(x)]);
          same(`loaded ${x}`, (ix) => row(ix.seg(x), x));
        }
      }
      paged.trim(); // a safe point: between operations
      if (maxBytes > 1) assert.ok(paged.residentBytes <= Math.max(maxBytes, segSize * 32), `resident ${paged.residentBytes}`);
    }
    assert.ok(paged.stats.evictions > 0 && paged.stats.loads > 0 && paged.stats.views > 0 && paged.stats.rowReads > 0, JSON.stringify(paged.stats));
    same("everything", (ix) => ix.seqs(0, seq).map((s) => row(ix.at(s), s)));
    // Idle: down to the minimum, answers unchanged.
    paged.trim(true);
    paged.trim(true);
    same("after idle", (ix) => ix.seqs(0, seq).map((s) => row(ix.at(s), s)));
    paged.clear();
    model.clear();
    same("cleared", (ix) => [ix.count, ix.first(), ix.seqs(0, seq)]);
    paged.close();
    assert.equal(existsSync(path), false, "scratch file removed on close");
  }
});

test("an index without a pager never pages out", () => {
  const ix = new SeqIndex(false, true, { segSize: 4 });
  for (let s = 1; s <= 1000; s++) ix.add(s, 1, BigInt(s), 1);
  ix.trim();
  ix.trim(true);
  assert.equal(ix.stats.evictions, 0);
  assert.equal(ix.residentBytes, 251 * 4 * 24); // seqs 1..1000 touch segments 0..250
});

test("a block's deleted-message bitmap answers like a Set (growing both ways)", () => {
  const rand = rng(42);
  for (let round = 0; round < 20; round++) {
    const bits = new SeqBits();
    const set = new Set<number>();
    const center = rand(3) === 0 ? rand(20) : 1_000_000 + rand(1000);
    for (let i = 0; i < 500; i++) {
      const s = Math.max(0, center + rand(4000) - 2000);
      bits.add(s);
      set.add(s);
      const q = Math.max(0, center + rand(5000) - 2500);
      assert.equal(bits.has(q), set.has(q), `has ${q}`);
      assert.equal(bits.size, set.size);
    }
    for (const s of set) assert.ok(bits.has(s));
    bits.clear();
    assert.equal(bits.size, 0);
    assert.equal(bits.has(center), false);
  }
});
