// The index of live messages by sequence, shared by both stores. Sequences are grouped in segments
// of `segSize` consecutive sequences (4096 by default); a segment is one ArrayBuffer of fixed-size
// rows (timestamp, subject id, accounted size, distances to the previous and next message on the
// same subject, and for the file store the block and offset of the record), or for the memory store
// an extra array of object references. Segments with no live message are dropped, so sparse
// streams (KV buckets after many updates) stay small and scans skip the gaps a segment at a time.
// A subject id of 0 marks an empty slot.
//
// Paging (file store only). The rows cost 32 bytes a message, too much to keep for every message
// of a large stream, and they can be rebuilt from the block files at start-up. So with a pager, only
// a bounded set of segments is resident (an LRU by bytes); the others are written to a scratch file
// (one fixed-size slot per segment, no crash safety: it is deleted and rebuilt on every open) and
// leave a stub (base, live count, capacity, newest timestamp) in memory. Who reads what:
//   - seg(seq) loads the segment (appends, relocations): the result may be written to directly;
//   - at(seq) reads: a resident segment, or for a paged-out one a one-row copy read from the file;
//   - link/del write a paged-out row in the file in place (4-byte writes) instead of loading it;
//   - scans read paged-out segments into a transient copy; next/prev load the segment they stop in
//     (a sequential reader keeps its segment resident).
// Segments are only paged out by trim(), which the store calls at points where it holds no Segment
// (between operations): callers may keep using a Segment for the rest of one store operation.

import { closeSync, ftruncateSync, openSync, readSync, rmSync, writeSync } from "node:fs";

const DEFAULT_SEG = 4096;
const ROW_RING = 4;
const NO_TS = -(2n ** 63n);
const EMPTY_U = new Uint32Array(0);
const EMPTY_T = new BigInt64Array(0);
// Row layout in 32-bit words: ts (2 words, 8-byte aligned), then these.
const F_SUBJ = 2;
const F_SIZE = 3;
const F_PREV = 4;
const F_NEXT = 5;
const F_BLK = 6;
const F_OFF = 7;

export class Segment {
  live = 0;
  /** Rows allocated (grows by doubling up to the segment size); kept while paged out. */
  cap = 0;
  u: Uint32Array = EMPTY_U;
  t: BigInt64Array = EMPTY_T;
  ref: unknown[] | undefined;
  /** Paging state: in memory, changed since last written, slot in the scratch file (-1 = none), last use. */
  res = true;
  dirty = true;
  fslot = -1;
  tick = 0;
  /** No live message here is newer than this (an upper bound, for searches by time). */
  maxTs = NO_TS;

  constructor(
    readonly no: number,
    /** First sequence of the segment (of the row, for a one-row copy). */
    public base: number,
    /** Words per row. */
    readonly w: number,
    withRef: boolean,
  ) {
    if (withRef) this.ref = [];
  }

  subj(i: number): number {
    return this.u[i * this.w + F_SUBJ];
  }
  ts(i: number): bigint {
    return this.t[(i * this.w) >> 1];
  }
  size(i: number): number {
    return this.u[i * this.w + F_SIZE];
  }
  /** Distance back/forward to the previous/next live message on the same subject (0 = none). */
  prevD(i: number): number {
    return this.u[i * this.w + F_PREV];
  }
  nextD(i: number): number {
    return this.u[i * this.w + F_NEXT];
  }
  /** File store: block index and offset of the record. */
  blk(i: number): number {
    return this.u[i * this.w + F_BLK];
  }
  off(i: number): number {
    return this.u[i * this.w + F_OFF];
  }
  setLoc(i: number, blk: number, off: number): void {
    const k = i * this.w;
    this.u[k + F_BLK] = blk;
    this.u[k + F_OFF] = off;
    this.dirty = true;
  }

  get bytes(): number {
    return this.cap * this.w * 4;
  }

  /** Point the views at a buffer of cap rows. */
  adopt(buf: ArrayBuffer, cap: number): void {
    this.u = new Uint32Array(buf, 0, cap * this.w);
    this.t = new BigInt64Array(buf, 0, (cap * this.w) >> 1);
    this.cap = cap;
  }

  grow(slot: number, max: number): void {
    let cap = this.cap === 0 ? 64 : this.cap;
    while (cap <= slot) cap *= 2;
    if (cap > max) cap = max;
    const old = this.u;
    this.adopt(new ArrayBuffer(cap * this.w * 4), cap);
    this.u.set(old);
  }

  release(): void {
    this.u = EMPTY_U;
    this.t = EMPTY_T;
  }
}

export interface PagerOptions {
  /** Scratch file (created when first needed, deleted by close()). */
  path: string;
  /** Resident bytes of segments to keep for this index (default 8 MiB). */
  maxBytes?: number;
}

export interface SeqIndexOptions {
  /** Sequences per segment (tests use tiny ones). */
  segSize?: number;
  pager?: PagerOptions;
}

/** Resident segment bytes over every paged index, so many large streams share one budget. */
let globalResident = 0;
let globalMax = 64 * 1024 * 1024;
const DEFAULT_MAX = 8 * 1024 * 1024;
/** Under global pressure an index still keeps this much (its newest segments). */
const MIN_KEEP = 1024 * 1024;

/** @internal Tests and tools: the budget of resident segment bytes shared by all paged indexes. */
export function setGlobalIndexBudget(bytes: number): void {
  globalMax = bytes;
}

export function globalIndexResident(): number {
  return globalResident;
}

export class SeqIndex {
  private readonly segs = new Map<number, Segment>();
  /** Segment numbers, ascending. */
  private order: number[] = [];
  private hot: Segment | undefined;
  /** Live entries. */
  count = 0;

  readonly segSize: number;
  private readonly w: number;
  private readonly rec: number;
  private readonly path: string | undefined;
  private readonly maxBytes: number;
  private fd = -1;
  private nextSlot = 0;
  private freeSlots: number[] = [];
  private readonly resident = new Set<Segment>();
  private resBytes = 0;
  private clock = 0;
  private idleMark = 0;
  private scratch: ArrayBuffer | undefined;
  private readonly io = Buffer.alloc(8);
  private readonly rows: { seg: Segment; io: Buffer }[] = [];
  private rowNext = 0;
  private lastRowSeg = -1;
  /** Counters (tests and monitoring). */
  readonly stats = { loads: 0, evictions: 0, writes: 0, rowReads: 0, views: 0 };

  constructor(
    private readonly withLoc: boolean,
    private readonly withRef: boolean,
    opts?: SeqIndexOptions,
  ) {
    this.segSize = opts?.segSize ?? DEFAULT_SEG;
    this.w = withLoc ? 8 : 6;
    this.rec = this.segSize * this.w * 4;
    this.path = opts?.pager?.path;
    this.maxBytes = this.path === undefined ? Infinity : (opts?.pager?.maxBytes ?? DEFAULT_MAX);
    if (this.path !== undefined) rmSync(this.path, { force: true });
    for (let k = 0; k < ROW_RING; k++) {
      const seg = new Segment(-1, 0, this.w, false);
      const ab = new ArrayBuffer(this.w * 4);
      seg.adopt(ab, 1);
      seg.res = false;
      this.rows.push({ seg, io: Buffer.from(ab) });
    }
  }

  /** Bytes of segment rows in memory. */
  get residentBytes(): number {
    return this.resBytes;
  }

  get segmentCount(): number {
    return this.order.length;
  }

  // ---------------------------------------------------------------- point access

  /** The resident segment holding seq when seq is live (loaded if paged out). Slot = seq - seg.base. */
  seg(seq: number): Segment | undefined {
    let s = this.hot;
    if (s === undefined || seq < s.base || seq >= s.base + this.segSize) {
      s = this.segs.get(Math.floor(seq / this.segSize));
      if (s === undefined) return undefined;
      if (!s.res) this.load(s);
      s.tick = ++this.clock;
      this.hot = s;
    }
    const i = seq - s.base;
    return i < s.cap && s.u[i * s.w + F_SUBJ] !== 0 ? s : undefined;
  }

  /**
   * For reading a live seq: its resident segment, or a one-row copy (base = seq) read from the
   * scratch file. Slot = seq - seg.base either way. Do not write to the result.
   */
  at(seq: number): Segment | undefined {
    let s = this.hot;
    if (s === undefined || seq < s.base || seq >= s.base + this.segSize) {
      s = this.segs.get(Math.floor(seq / this.segSize));
      if (s === undefined) return undefined;
      if (!s.res) return this.row(s, seq);
      s.tick = ++this.clock;
      this.hot = s;
    }
    const i = seq - s.base;
    return i < s.cap && s.u[i * s.w + F_SUBJ] !== 0 ? s : undefined;
  }

  has(seq: number): boolean {
    return this.at(seq) !== undefined;
  }

  subjId(seq: number): number {
    const s = this.at(seq);
    return s === undefined ? 0 : s.subj(seq - s.base);
  }

  add(seq: number, subjId: number, ts: bigint, size: number): Segment {
    const no = Math.floor(seq / this.segSize);
    let s = this.hot !== undefined && this.hot.no === no ? this.hot : this.segs.get(no);
    if (s === undefined) {
      s = new Segment(no, no * this.segSize, this.w, this.withRef);
      this.segs.set(no, s);
      this.resident.add(s);
      const o = this.order;
      if (o.length === 0 || o[o.length - 1] < no) o.push(no);
      else o.splice(lowerBound(o, no), 0, no);
    } else if (!s.res) this.load(s);
    if (this.hot !== s) {
      s.tick = ++this.clock;
      this.hot = s;
    }
    const i = seq - s.base;
    if (i >= s.cap) this.growSeg(s, i);
    const u = s.u;
    const k = i * s.w;
    if (u[k + F_SUBJ] === 0) {
      s.live++;
      this.count++;
    }
    u[k + F_SUBJ] = subjId;
    s.t[k >> 1] = ts;
    u[k + F_SIZE] = size;
    u[k + F_PREV] = 0;
    u[k + F_NEXT] = 0;
    if (ts > s.maxTs) s.maxTs = ts;
    s.dirty = true;
    return s;
  }

  private growSeg(s: Segment, i: number): void {
    const before = s.bytes;
    s.grow(i, this.segSize);
    this.account(s.bytes - before);
  }

  /** Record a message's location (file store), loading its segment. */
  setLoc(seq: number, blk: number, off: number): void {
    const s = this.seg(seq);
    if (s !== undefined) s.setLoc(seq - s.base, blk, off);
  }

  /** The previous live message on the same subject, or 0. */
  prevSame(seq: number): number {
    const s = this.at(seq);
    if (s === undefined) return 0;
    const d = s.prevD(seq - s.base);
    return d === 0 ? 0 : seq - d;
  }

  /** The next live message on the same subject, or 0. */
  nextSame(seq: number): number {
    const s = this.at(seq);
    if (s === undefined) return 0;
    const d = s.nextD(seq - s.base);
    return d === 0 ? 0 : seq + d;
  }

  /** Link two live messages of one subject (a < b), or clear a link with 0. */
  link(a: number, b: number): void {
    if (a > 0) this.setField(a, F_NEXT, b > 0 ? b - a : 0);
    if (b > 0) this.setField(b, F_PREV, a > 0 ? b - a : 0);
  }

  private setField(seq: number, field: number, v: number): void {
    const s = this.segs.get(Math.floor(seq / this.segSize));
    if (s === undefined) return;
    const i = seq - s.base;
    if (s.res) {
      s.u[i * s.w + field] = v;
      s.dirty = true;
    } else this.writeField(s, i, field, v);
  }

  /** Remove a live entry; returns false when seq was not live. */
  del(seq: number): boolean {
    const s = this.segs.get(Math.floor(seq / this.segSize));
    if (s === undefined) return false;
    const i = seq - s.base;
    if (i >= s.cap) return false;
    if (s.res) {
      const k = i * s.w + F_SUBJ;
      if (s.u[k] === 0) return false;
      s.u[k] = 0;
      s.dirty = true;
      if (s.ref !== undefined) s.ref[i] = undefined;
    } else {
      if (this.readField(s, i, F_SUBJ) === 0) return false;
      this.writeField(s, i, F_SUBJ, 0);
    }
    this.count--;
    if (--s.live === 0) this.dropSeg(s);
    return true;
  }

  private dropSeg(s: Segment): void {
    this.segs.delete(s.no);
    const o = this.order;
    const k = lowerBound(o, s.no);
    if (o[k] === s.no) o.splice(k, 1);
    if (this.hot === s) this.hot = undefined;
    if (s.res) {
      this.resident.delete(s);
      this.account(-s.bytes);
      s.release();
    }
    if (s.fslot >= 0) this.freeSlots.push(s.fslot);
    s.fslot = -1;
  }

  clear(): void {
    this.account(-this.resBytes);
    this.segs.clear();
    this.resident.clear();
    this.order = [];
    this.hot = undefined;
    this.count = 0;
    this.nextSlot = 0;
    this.freeSlots = [];
    if (this.fd >= 0) ftruncateSync(this.fd, 0);
  }

  /** Release the scratch file (the store is closing). */
  close(): void {
    this.clear();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    if (this.path !== undefined) rmSync(this.path, { force: true });
  }

  // ---------------------------------------------------------------- scans

  /** First live sequence >= from and <= to whose subject id passes `want` (0 = any id, > 0 = that id, or a predicate). -1 if none. */
  next(from: number, to: number, want: number | ((id: number) => boolean) = 0): number {
    if (from < 0) from = 0;
    const o = this.order;
    const n = this.segSize;
    for (let k = lowerBound(o, Math.floor(from / n)); k < o.length; k++) {
      const seg = this.segs.get(o[k])!;
      if (seg.base > to) return -1;
      const s = seg.res ? seg : this.view(seg);
      let i = from > s.base ? from - s.base : 0;
      const end = Math.min(s.cap, to - s.base + 1);
      const u = s.u;
      const w = s.w;
      let found = -1;
      if (want === 0) {
        for (; i < end; i++)
          if (u[i * w + F_SUBJ] !== 0) {
            found = i;
            break;
          }
      } else if (typeof want === "number") {
        for (; i < end; i++)
          if (u[i * w + F_SUBJ] === want) {
            found = i;
            break;
          }
      } else {
        for (; i < end; i++) {
          const id = u[i * w + F_SUBJ];
          if (id !== 0 && want(id)) {
            found = i;
            break;
          }
        }
      }
      if (s !== seg) this.unview(s);
      if (found >= 0) {
        // Whoever asked is likely to read it, and the ones after it.
        if (!seg.res) this.load(seg);
        return seg.base + found;
      }
    }
    return -1;
  }

  /** Last live sequence <= from and >= to passing `want` (as next). -1 if none. */
  prev(from: number, to: number, want: number | ((id: number) => boolean) = 0): number {
    const o = this.order;
    if (to < 0) to = 0;
    const n = this.segSize;
    let k = upperBound(o, Math.floor(Math.min(from, Number.MAX_SAFE_INTEGER) / n)) - 1;
    for (; k >= 0; k--) {
      const seg = this.segs.get(o[k])!;
      if (seg.base + n - 1 < to) return -1;
      const s = seg.res ? seg : this.view(seg);
      let i = Math.min(s.cap - 1, from - s.base);
      const stop = to > s.base ? to - s.base : 0;
      const u = s.u;
      const w = s.w;
      let found = -1;
      if (want === 0) {
        for (; i >= stop; i--)
          if (u[i * w + F_SUBJ] !== 0) {
            found = i;
            break;
          }
      } else if (typeof want === "number") {
        for (; i >= stop; i--)
          if (u[i * w + F_SUBJ] === want) {
            found = i;
            break;
          }
      } else {
        for (; i >= stop; i--) {
          const id = u[i * w + F_SUBJ];
          if (id !== 0 && want(id)) {
            found = i;
            break;
          }
        }
      }
      if (s !== seg) this.unview(s);
      if (found >= 0) {
        if (!seg.res) this.load(seg);
        return seg.base + found;
      }
    }
    return -1;
  }

  /** Live entries in [from, to]. */
  countRange(from: number, to: number): number {
    if (to < from) return 0;
    const o = this.order;
    const n = this.segSize;
    let c = 0;
    for (let k = lowerBound(o, Math.floor(Math.max(0, from) / n)); k < o.length; k++) {
      const seg = this.segs.get(o[k])!;
      if (seg.base > to) break;
      if (from <= seg.base && to >= seg.base + n - 1) {
        c += seg.live;
        continue;
      }
      const s = seg.res ? seg : this.view(seg);
      const end = Math.min(s.cap, to - s.base + 1);
      const u = s.u;
      const w = s.w;
      for (let i = from > s.base ? from - s.base : 0; i < end; i++) if (u[i * w + F_SUBJ] !== 0) c++;
      if (s !== seg) this.unview(s);
    }
    return c;
  }

  /** Live entries in [from, to] whose subject id is set in mask: how many, and the first (-1 if none). */
  countIds(from: number, to: number, mask: Uint8Array): { count: number; first: number } {
    const o = this.order;
    let count = 0;
    let first = -1;
    for (let k = lowerBound(o, Math.floor(Math.max(0, from) / this.segSize)); k < o.length; k++) {
      const seg = this.segs.get(o[k])!;
      if (seg.base > to) break;
      const s = seg.res ? seg : this.view(seg);
      const end = Math.min(s.cap, to - s.base + 1);
      const u = s.u;
      const w = s.w;
      for (let i = from > s.base ? from - s.base : 0; i < end; i++) {
        if (mask[u[i * w + F_SUBJ]] === 1) {
          if (count++ === 0) first = s.base + i;
        }
      }
      if (s !== seg) this.unview(s);
    }
    return { count, first };
  }

  /**
   * Visit live entries in [from, to] ascending; stop when fn returns false. Do not add/remove
   * inside, and only read seg (it may be a transient copy of a paged-out segment).
   */
  forEach(from: number, to: number, fn: (seq: number, seg: Segment, slot: number) => boolean | void): void {
    const o = this.order;
    for (let k = lowerBound(o, Math.floor(Math.max(0, from) / this.segSize)); k < o.length; k++) {
      const seg = this.segs.get(o[k])!;
      if (seg.base > to) return;
      const s = seg.res ? seg : this.view(seg);
      const end = Math.min(s.cap, to - s.base + 1);
      const u = s.u;
      const w = s.w;
      let stop = false;
      for (let i = from > s.base ? from - s.base : 0; i < end; i++) {
        if (u[i * w + F_SUBJ] !== 0 && fn(s.base + i, s, i) === false) {
          stop = true;
          break;
        }
      }
      if (s !== seg) this.unview(s);
      if (stop) return;
    }
  }

  /** Live sequences in [from, to], ascending. */
  seqs(from: number, to: number): number[] {
    const out: number[] = [];
    this.forEach(from, to, (seq) => {
      out.push(seq);
    });
    return out;
  }

  first(): number {
    return this.next(0, Number.MAX_SAFE_INTEGER);
  }

  last(): number {
    return this.prev(Number.MAX_SAFE_INTEGER, 0);
  }

  /** Sequences in [from, to] that are not live, ascending (interior deletes). */
  gaps(from: number, to: number): number[] {
    const out: number[] = [];
    let expect = from;
    this.forEach(from, to, (seq) => {
      for (; expect < seq; expect++) out.push(expect);
      expect = seq + 1;
    });
    for (; expect <= to; expect++) out.push(expect);
    return out;
  }

  /** The first live sequence with a timestamp >= ts, or -1. */
  firstAtOrAfter(ts: bigint): number {
    for (const no of this.order) {
      const seg = this.segs.get(no)!;
      if (seg.maxTs < ts) continue;
      const s = seg.res ? seg : this.view(seg);
      let found = -1;
      for (let i = 0; i < s.cap; i++) {
        if (s.subj(i) !== 0 && s.ts(i) >= ts) {
          found = s.base + i;
          break;
        }
      }
      if (s !== seg) this.unview(s);
      if (found >= 0) return found;
    }
    return -1;
  }

  // ---------------------------------------------------------------- paging

  /**
   * Page out the least recently used segments beyond the bound. Call only where no Segment
   * obtained from this index is still in use. idle: shrink to the minimum (nothing is going on).
   */
  trim(idle = false): void {
    if (this.path === undefined) return;
    let target: number;
    if (idle) {
      // Idle = not used since the previous idle check.
      const used = this.clock !== this.idleMark;
      this.idleMark = this.clock;
      if (used || this.resBytes <= MIN_KEEP) return;
      target = MIN_KEEP;
    } else if (this.resBytes > this.maxBytes) target = (this.maxBytes * 3) / 4;
    else if (globalResident > globalMax && this.resBytes > MIN_KEEP) target = Math.max(MIN_KEEP, this.resBytes - (globalResident - (globalMax * 3) / 4));
    else return;
    if (this.hot !== undefined) this.hot.tick = ++this.clock;
    // The newest segment takes the appends: keep it.
    const tail = this.order.length > 0 ? this.segs.get(this.order[this.order.length - 1]) : undefined;
    if (tail !== undefined) tail.tick = ++this.clock;
    const byAge = [...this.resident].sort((x, y) => x.tick - y.tick);
    for (const s of byAge) {
      if (this.resBytes <= target) break;
      if (s === tail) continue;
      this.evict(s);
    }
    this.idleMark = this.clock;
  }

  private evict(s: Segment): void {
    if (s.dirty || s.fslot < 0) this.writeSeg(s);
    this.resident.delete(s);
    this.account(-s.bytes);
    s.release();
    s.res = false;
    if (this.hot === s) this.hot = undefined;
    this.stats.evictions++;
  }

  private load(s: Segment): void {
    const len = s.bytes;
    const buf = new ArrayBuffer(len);
    this.readFully(new Uint8Array(buf), s.fslot * this.rec);
    s.adopt(buf, s.cap);
    s.res = true;
    s.dirty = false;
    s.tick = ++this.clock;
    this.resident.add(s);
    this.account(len);
    this.stats.loads++;
  }

  /** A transient copy of a paged-out segment, for scans. Give it back with unview(). */
  private view(seg: Segment): Segment {
    const v = new Segment(seg.no, seg.base, seg.w, false);
    const len = seg.bytes;
    let buf = this.scratch;
    if (buf !== undefined) this.scratch = undefined;
    else buf = new ArrayBuffer(this.rec);
    this.readFully(new Uint8Array(buf, 0, len), seg.fslot * this.rec);
    v.adopt(buf, seg.cap);
    v.res = false;
    this.stats.views++;
    return v;
  }

  private unview(v: Segment): void {
    this.scratch = v.u.buffer as ArrayBuffer;
    v.release();
  }

  /**
   * One row of a paged-out segment, as a one-row segment based at seq (or undefined when not
   * live). The rows come from a small ring: a result stays valid for the next few at() calls.
   */
  private row(s: Segment, seq: number): Segment | undefined {
    const i = seq - s.base;
    if (i >= s.cap) return undefined;
    if (s.no === this.lastRowSeg) {
      // Two reads in a row from one paged-out segment: a sequential reader. Load it.
      this.load(s);
      this.hot = s;
      return s.u[i * s.w + F_SUBJ] !== 0 ? s : undefined;
    }
    this.lastRowSeg = s.no;
    const r = this.rows[this.rowNext++ & (ROW_RING - 1)];
    const len = this.w * 4;
    const pos = s.fslot * this.rec + i * len;
    if (readSync(this.fd, r.io, 0, len, pos) !== len) this.readFully(r.io.subarray(0, len), pos);
    this.stats.rowReads++;
    if (r.seg.u[F_SUBJ] === 0) return undefined;
    r.seg.base = seq;
    return r.seg;
  }

  private readField(s: Segment, i: number, field: number): number {
    const io = this.io;
    this.readFully(io.subarray(0, 4), s.fslot * this.rec + (i * this.w + field) * 4);
    return io.readUInt32LE(0);
  }

  private writeField(s: Segment, i: number, field: number, v: number): void {
    const io = this.io;
    io.writeUInt32LE(v, 0);
    this.writeFully(io.subarray(0, 4), s.fslot * this.rec + (i * this.w + field) * 4);
  }

  private writeSeg(s: Segment): void {
    if (this.fd < 0) this.fd = openSync(this.path!, "w+");
    if (s.fslot < 0) s.fslot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.nextSlot++;
    this.writeFully(new Uint8Array(s.u.buffer, 0, s.bytes), s.fslot * this.rec);
    s.dirty = false;
    this.stats.writes++;
  }

  private readFully(into: Uint8Array, pos: number): void {
    let got = 0;
    while (got < into.length) {
      const n = readSync(this.fd, into, got, into.length - got, pos + got);
      if (n === 0) throw new Error("sequence index scratch file is short");
      got += n;
    }
  }

  private writeFully(from: Uint8Array, pos: number): void {
    let done = 0;
    while (done < from.length) done += writeSync(this.fd, from, done, from.length - done, pos + done);
  }

  private account(delta: number): void {
    this.resBytes += delta;
    if (this.path !== undefined) globalResident += delta;
  }
}

function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (a[m] < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

function upperBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (a[m] <= x) lo = m + 1;
    else hi = m;
  }
  return lo;
}
