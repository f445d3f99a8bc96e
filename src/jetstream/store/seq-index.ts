// The index of live messages by sequence, shared by both stores: columns of typed arrays in segments
// of 4096 consecutive sequences (subject id, timestamp, size, distances to the previous and next
// message on the same subject, plus a location for the file store or an object reference for the
// memory store). Segments with no live message are dropped, so sparse
// streams (KV buckets after many updates) stay small and scans skip the gaps a segment at a time.
// A subject id of 0 marks an empty slot.

const SEG = 4096;

export class Segment {
  live = 0;
  cap = 0;
  subj = new Uint32Array(0);
  ts = new BigInt64Array(0);
  size = new Uint32Array(0);
  /** Distance back/forward to the previous/next live message on the same subject (0 = none). */
  prev = new Uint32Array(0);
  next = new Uint32Array(0);
  a: Uint32Array | undefined;
  b: Uint32Array | undefined;
  ref: unknown[] | undefined;
  constructor(
    readonly no: number,
    readonly base: number,
    withLoc: boolean,
    withRef: boolean,
  ) {
    if (withLoc) {
      this.a = new Uint32Array(0);
      this.b = new Uint32Array(0);
    }
    if (withRef) this.ref = [];
  }

  grow(slot: number): void {
    let cap = this.cap === 0 ? 64 : this.cap;
    while (cap <= slot) cap *= 2;
    if (cap > SEG) cap = SEG;
    const subj = new Uint32Array(cap);
    subj.set(this.subj);
    this.subj = subj;
    const ts = new BigInt64Array(cap);
    ts.set(this.ts);
    this.ts = ts;
    const size = new Uint32Array(cap);
    size.set(this.size);
    this.size = size;
    const prev = new Uint32Array(cap);
    prev.set(this.prev);
    this.prev = prev;
    const next = new Uint32Array(cap);
    next.set(this.next);
    this.next = next;
    if (this.a !== undefined) {
      const a = new Uint32Array(cap);
      a.set(this.a);
      this.a = a;
      const b = new Uint32Array(cap);
      b.set(this.b!);
      this.b = b;
    }
    this.cap = cap;
  }
}

export class SeqIndex {
  private readonly segs = new Map<number, Segment>();
  /** Segment numbers, ascending. */
  private order: number[] = [];
  private hot: Segment | undefined;
  /** Live entries. */
  count = 0;

  constructor(
    private readonly withLoc: boolean,
    private readonly withRef: boolean,
  ) {}

  /** The segment holding seq when seq is live. Slot = seq - seg.base. */
  seg(seq: number): Segment | undefined {
    let s = this.hot;
    if (s === undefined || seq < s.base || seq >= s.base + SEG) {
      s = this.segs.get(Math.floor(seq / SEG));
      if (s === undefined) return undefined;
      this.hot = s;
    }
    const i = seq - s.base;
    return i < s.cap && s.subj[i] !== 0 ? s : undefined;
  }

  has(seq: number): boolean {
    return this.seg(seq) !== undefined;
  }

  subjId(seq: number): number {
    const s = this.seg(seq);
    return s === undefined ? 0 : s.subj[seq - s.base];
  }

  add(seq: number, subjId: number, ts: bigint, size: number): Segment {
    const no = Math.floor(seq / SEG);
    let s = this.hot !== undefined && this.hot.no === no ? this.hot : this.segs.get(no);
    if (s === undefined) {
      s = new Segment(no, no * SEG, this.withLoc, this.withRef);
      this.segs.set(no, s);
      const o = this.order;
      if (o.length === 0 || o[o.length - 1] < no) o.push(no);
      else o.splice(lowerBound(o, no), 0, no);
    }
    this.hot = s;
    const i = seq - s.base;
    if (i >= s.cap) s.grow(i);
    if (s.subj[i] === 0) {
      s.live++;
      this.count++;
    }
    s.subj[i] = subjId;
    s.ts[i] = ts;
    s.size[i] = size;
    s.prev[i] = 0;
    s.next[i] = 0;
    return s;
  }

  /** The previous live message on the same subject, or 0. */
  prevSame(seq: number): number {
    const s = this.seg(seq);
    if (s === undefined) return 0;
    const d = s.prev[seq - s.base];
    return d === 0 ? 0 : seq - d;
  }

  /** The next live message on the same subject, or 0. */
  nextSame(seq: number): number {
    const s = this.seg(seq);
    if (s === undefined) return 0;
    const d = s.next[seq - s.base];
    return d === 0 ? 0 : seq + d;
  }

  /** Link two live messages of one subject (a < b), or clear a link with 0. */
  link(a: number, b: number): void {
    if (a > 0) {
      const s = this.seg(a)!;
      s.next[a - s.base] = b > 0 ? b - a : 0;
    }
    if (b > 0) {
      const s = this.seg(b)!;
      s.prev[b - s.base] = a > 0 ? b - a : 0;
    }
  }

  /** Remove a live entry; returns false when seq was not live. */
  del(seq: number): boolean {
    const s = this.seg(seq);
    if (s === undefined) return false;
    const i = seq - s.base;
    s.subj[i] = 0;
    if (s.ref !== undefined) s.ref[i] = undefined;
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
  }

  clear(): void {
    this.segs.clear();
    this.order = [];
    this.hot = undefined;
    this.count = 0;
  }

  /** First live sequence >= from and <= to whose subject id passes `want` (0 = any id, > 0 = that id, or a predicate). -1 if none. */
  next(from: number, to: number, want: number | ((id: number) => boolean) = 0): number {
    if (from < 0) from = 0;
    const o = this.order;
    for (let k = lowerBound(o, Math.floor(from / SEG)); k < o.length; k++) {
      const s = this.segs.get(o[k])!;
      if (s.base > to) return -1;
      let i = from > s.base ? from - s.base : 0;
      const end = Math.min(s.cap, to - s.base + 1);
      const subj = s.subj;
      if (want === 0) {
        for (; i < end; i++) if (subj[i] !== 0) return s.base + i;
      } else if (typeof want === "number") {
        for (; i < end; i++) if (subj[i] === want) return s.base + i;
      } else {
        for (; i < end; i++) {
          const id = subj[i];
          if (id !== 0 && want(id)) return s.base + i;
        }
      }
    }
    return -1;
  }

  /** Last live sequence <= from and >= to passing `want` (as next). -1 if none. */
  prev(from: number, to: number, want: number | ((id: number) => boolean) = 0): number {
    const o = this.order;
    if (to < 0) to = 0;
    let k = upperBound(o, Math.floor(Math.min(from, Number.MAX_SAFE_INTEGER) / SEG)) - 1;
    for (; k >= 0; k--) {
      const s = this.segs.get(o[k])!;
      if (s.base + SEG - 1 < to) return -1;
      let i = Math.min(s.cap - 1, from - s.base);
      const stop = to > s.base ? to - s.base : 0;
      const subj = s.subj;
      if (want === 0) {
        for (; i >= stop; i--) if (subj[i] !== 0) return s.base + i;
      } else if (typeof want === "number") {
        for (; i >= stop; i--) if (subj[i] === want) return s.base + i;
      } else {
        for (; i >= stop; i--) {
          const id = subj[i];
          if (id !== 0 && want(id)) return s.base + i;
        }
      }
    }
    return -1;
  }

  /** Live entries in [from, to]. */
  countRange(from: number, to: number): number {
    if (to < from) return 0;
    const o = this.order;
    let n = 0;
    for (let k = lowerBound(o, Math.floor(Math.max(0, from) / SEG)); k < o.length; k++) {
      const s = this.segs.get(o[k])!;
      if (s.base > to) break;
      if (from <= s.base && to >= s.base + SEG - 1) {
        n += s.live;
        continue;
      }
      const end = Math.min(s.cap, to - s.base + 1);
      const subj = s.subj;
      for (let i = from > s.base ? from - s.base : 0; i < end; i++) if (subj[i] !== 0) n++;
    }
    return n;
  }

  /** Live entries in [from, to] whose subject id is set in mask: how many, and the first (-1 if none). */
  countIds(from: number, to: number, mask: Uint8Array): { count: number; first: number } {
    const o = this.order;
    let count = 0;
    let first = -1;
    for (let k = lowerBound(o, Math.floor(Math.max(0, from) / SEG)); k < o.length; k++) {
      const s = this.segs.get(o[k])!;
      if (s.base > to) break;
      const end = Math.min(s.cap, to - s.base + 1);
      const subj = s.subj;
      for (let i = from > s.base ? from - s.base : 0; i < end; i++) {
        if (mask[subj[i]] === 1) {
          if (count++ === 0) first = s.base + i;
        }
      }
    }
    return { count, first };
  }

  /** Visit live entries in [from, to] ascending; stop when fn returns false. Do not add/remove inside. */
  forEach(from: number, to: number, fn: (seq: number, seg: Segment, slot: number) => boolean | void): void {
    const o = this.order;
    for (let k = lowerBound(o, Math.floor(Math.max(0, from) / SEG)); k < o.length; k++) {
      const s = this.segs.get(o[k])!;
      if (s.base > to) return;
      const end = Math.min(s.cap, to - s.base + 1);
      const subj = s.subj;
      for (let i = from > s.base ? from - s.base : 0; i < end; i++) {
        if (subj[i] !== 0 && fn(s.base + i, s, i) === false) return;
      }
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

  /** Segments overlapping [from, to] with their live counts (for binary searches by time). */
  segments(): Segment[] {
    return this.order.map((no) => this.segs.get(no)!);
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
