// The semantics shared by the memory and file stores: sequences, limits, expiry, purge/compact/
// truncate, per-subject state and filtered queries, all over the in-memory indexes (SeqIndex by
// sequence, SubjectIndex by subject). A subclass only keeps message bodies (memory) or persists
// records (file) through the hooks at the bottom.

import { nowNs } from "./clock.js";
import { StoreError } from "./errors.js";
import { DeadlineHeap } from "./heap.js";
import { SeqIndex, type Segment, type SeqIndexOptions } from "./seq-index.js";
import { Filter, SubjectIndex, type SubjectInfo } from "./subjects.js";
import type {
  ConsumerStore,
  FilteredState,
  LostData,
  PurgeOptions,
  RemovalReason,
  RemovedHandler,
  RemovedMsg,
  StorageType,
  StoreConfig,
  StoredMsg,
  StoreMsgOptions,
  StreamState,
  StreamStore,
  SubjectState,
} from "./types.js";

/** How a message leaves the index: removed (persisted), erased (persisted, contents overwritten), or dropped in bulk (purge/compact/truncate persist it their own way). */
export type DropMode = "remove" | "erase" | "bulk";

const MIN_TIMER_MS = 10;
const NS_PER_MS = 1_000_000n;
const ROLLUP = Buffer.from("Nats-Rollup:", "latin1");

function tsMs(ts: bigint): number {
  return Number(ts / NS_PER_MS);
}

/** A non-empty subject with no '*' or '>' at all (so certainly no wildcard token). */
function isPlainLiteral(s: string): boolean {
  return s.length > 0 && s !== ">" && s.indexOf("*") < 0 && s.indexOf(">") < 0;
}

function limit(n: number | undefined): number {
  return n !== undefined && n > 0 ? n : 0;
}

export function normalizeConfig(cfg: StoreConfig): StoreConfig {
  if (!cfg || typeof cfg.name !== "string" || cfg.name.length === 0) throw new StoreError("BAD_CONFIG", "name required");
  if (cfg.storage !== "file" && cfg.storage !== "memory") throw new StoreError("BAD_CONFIG", "storage must be file or memory");
  if (cfg.discard !== undefined && cfg.discard !== "old" && cfg.discard !== "new") throw new StoreError("BAD_CONFIG", "discard must be old or new");
  return { ...cfg, subjects: cfg.subjects ? [...cfg.subjects] : undefined, discard: cfg.discard ?? "old" };
}

export abstract class BaseStore implements StreamStore {
  abstract readonly type: StorageType;
  protected cfg: StoreConfig;
  protected readonly idx: SeqIndex;
  protected readonly subs = new SubjectIndex();
  /** seq -> TTL (ms) for messages stored with a non-zero TTL. */
  protected readonly ttls = new Map<number, number>();
  protected readonly deadlines = new DeadlineHeap();
  protected msgs = 0;
  protected bytes = 0;
  protected firstSeq = 0;
  protected lastSeq = 0;
  protected lastTs = 0n;
  protected closed = false;
  protected lostData: LostData | undefined;

  private handler: RemovedHandler | undefined;
  private removedQueue: RemovedMsg[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private ageNext = 0;
  private readonly filterCache = new Map<string, Filter>();

  protected constructor(cfg: StoreConfig, withLoc: boolean, withRef: boolean, idxOpts?: SeqIndexOptions) {
    this.cfg = normalizeConfig(cfg);
    this.idx = new SeqIndex(withLoc, withRef, idxOpts);
  }

  get config(): Readonly<StoreConfig> {
    return this.cfg;
  }

  // ---------------------------------------------------------------- hooks

  /** Bytes a message counts for in state().bytes and max_bytes (nats-server's formula per store type). */
  protected abstract sizeOf(subjLen: number, hdrLen: number, dataLen: number): number;
  /** Keep/persist a message just added to the index at (seg, slot). */
  protected abstract writeMsg(seq: number, ts: bigint, subject: string, hdr: Buffer | undefined, data: Buffer, ttl: number, seg: Segment, slot: number): void;
  /** Read a live message's body (seg may be a read-only copy of the message's row: see SeqIndex.at). */
  protected abstract readMsg(seq: number, seg: Segment, slot: number): StoredMsg | undefined;
  /** A message is leaving the index (still there when called). */
  protected abstract dropMsg(seq: number, seg: Segment, slot: number, mode: DropMode): void;
  /** Everything was dropped; the next message gets `floor`. */
  protected abstract writePurge(floor: number): void;
  /** Everything below seq was dropped (seq <= last). */
  protected abstract writeCompact(seq: number): void;
  /** Everything above seq was dropped and last_seq is seq (0: reset). */
  protected abstract writeTruncate(seq: number): void;
  /** last_seq moved forward without a message. */
  protected abstract writeSkip(): void;
  /** Throws if the store cannot take writes (e.g. an earlier write failed). */
  protected beforeWrite(): void {}
  /** The configuration changed (after this.cfg is replaced). */
  protected configChanged(_old: StoreConfig): void {}

  abstract afterWrite(cb: (err?: Error) => void): void;
  abstract flush(): Promise<void>;
  abstract sync(): void;
  abstract consumerStore(name: string): ConsumerStore;
  abstract consumerNames(): string[];
  abstract writeMeta(meta: unknown): void;
  abstract readMeta(): unknown | undefined;
  abstract delete(): void;

  stop(): void {
    this.closed = true;
    this.clearTimer();
  }

  // ---------------------------------------------------------------- writing

  storeMsg(subject: string, hdr: Buffer | undefined, data: Buffer, opts?: StoreMsgOptions): { seq: number; ts: bigint } {
    this.checkOpen();
    const cfg = this.cfg;
    const hlen = hdr === undefined ? 0 : hdr.length;
    if (hlen === 0) hdr = undefined;
    const maxSize = limit(cfg.max_msg_size);
    if ((maxSize > 0 && hlen + data.length > maxSize) || subject.length > 0xffff) throw new StoreError("MSG_TOO_LARGE");
    const size = this.sizeOf(subject.length, hlen, data.length);
    const maxp = limit(cfg.max_msgs_per_subject);

    if (cfg.discard === "new") {
      const info = this.subs.get(subject);
      const atSubjectLimit = maxp > 0 && info !== undefined && info.msgs >= maxp;
      if (atSubjectLimit && cfg.discard_new_per_subject && (hdr === undefined || hdr.indexOf(ROLLUP) < 0)) {
        throw new StoreError("MAX_MSGS_PER_SUBJECT");
      }
      const maxMsgs = limit(cfg.max_msgs);
      if (maxMsgs > 0 && this.msgs >= maxMsgs && !atSubjectLimit) throw new StoreError("MAX_MSGS");
      const maxBytes = limit(cfg.max_bytes);
      if (maxBytes > 0 && this.bytes + size > maxBytes) {
        // At the subject limit the oldest message on the subject goes: enough room if it is as large.
        if (!atSubjectLimit || this.sizeAt(info!.first) < size) throw new StoreError("MAX_BYTES");
      }
    }

    const seq = this.lastSeq + 1;
    if (opts?.seq !== undefined && opts.seq !== seq) throw new StoreError("SEQUENCE_MISMATCH");
    this.beforeWrite();
    const ts = opts?.ts ?? nowNs();
    const ttl = opts?.ttl ?? 0;

    const seg = this.indexMsg(seq, subject, ts, size, ttl);
    // writeMsg still sees the previous last_seq/last_ts (the file store's block marks use them).
    this.writeMsg(seq, ts, subject, hdr, data, ttl, seg, seq - seg.base);
    this.lastSeq = seq;
    this.lastTs = ts;

    // Limits: per subject first (regardless of discard policy), then messages and bytes (discard old).
    if (maxp > 0) {
      const info = this.subs.get(subject)!;
      if (info.msgs > maxp) this.enforcePerSubject(info, maxp);
    }
    if (cfg.discard !== "new") this.enforceMsgsAndBytes();

    if ((ttl > 0 && cfg.allow_msg_ttl) || (this.timer === undefined && limit(cfg.max_age) > 0)) this.scheduleTimer();
    if (this.removedQueue.length > 0) this.drainRemoved();
    this.idx.trim();
    return { seq, ts };
  }

  skipMsgs(num = 1): number {
    this.checkOpen();
    if (!(num >= 1)) return this.lastSeq;
    this.beforeWrite();
    this.lastSeq += Math.floor(num);
    if (this.msgs === 0) this.firstSeq = this.lastSeq + 1;
    this.writeSkip();
    return this.lastSeq;
  }

  removeMsg(seq: number): boolean {
    this.checkOpen();
    if (!this.idx.has(seq)) return false;
    this.beforeWrite();
    const ok = this.unindex(seq, "remove");
    this.idx.trim();
    return ok;
  }

  eraseMsg(seq: number): boolean {
    this.checkOpen();
    if (!this.idx.has(seq)) return false;
    this.beforeWrite();
    const ok = this.unindex(seq, "erase");
    this.idx.trim();
    return ok;
  }

  purge(opts?: PurgeOptions): number {
    this.checkOpen();
    let subject = opts?.subject ?? "";
    const seq = opts?.seq ?? 0;
    const keep = opts?.keep ?? 0;
    if (seq === 1) return 0; // "up to but not including 1"
    if (subject === "" || subject === ">") {
      if (keep <= 0 && seq <= 0) return this.purgeAll(0);
      if (seq > 1) return this.compact(seq);
      subject = ">";
    }
    const f = this.filter(subject);
    const fs = this.filteredState(this.firstSeq, subject);
    if (fs.msgs === 0) return 0;
    let max = Infinity;
    if (keep > 0) {
      if (keep >= fs.msgs) return 0;
      max = fs.msgs - keep;
    }
    const last = seq >= 1 ? Math.min(seq - 1, fs.last) : fs.last;
    const victims: number[] = [];
    if (f.literal !== undefined) {
      const id = this.subs.get(f.literal)!.id;
      for (let s = this.idx.next(fs.first, last, id); s >= 0 && victims.length < max; s = this.idx.next(s + 1, last, id)) victims.push(s);
    } else {
      this.idx.forEach(fs.first, last, (s, seg, slot) => {
        if (f.matchInfo(this.subs.byId(seg.subj(slot))!)) victims.push(s);
        return victims.length < max;
      });
    }
    if (victims.length === 0) return 0;
    this.beforeWrite();
    for (const s of victims) {
      this.unindex(s, "remove");
      this.idx.trim(); // bulk removals over paged-out data: no Segment is held between them
    }
    return victims.length;
  }

  compact(seq: number): number {
    this.checkOpen();
    if (seq <= 0) return this.purgeAll(0);
    if (this.firstSeq > seq) return 0;
    this.beforeWrite();
    if (seq <= this.lastSeq) {
      const n = this.unindexRange(this.firstSeq, seq - 1);
      if (this.msgs === 0) this.firstSeq = this.lastSeq + 1;
      this.writeCompact(seq);
      this.idx.trim();
      return n;
    }
    // Past the end: everything goes and the next message gets seq.
    const purged = this.msgs;
    this.resetIndexes();
    this.firstSeq = seq;
    this.lastSeq = seq - 1;
    this.writePurge(seq);
    return purged;
  }

  truncate(seq: number): void {
    this.checkOpen();
    this.beforeWrite();
    if (seq <= 0) {
      this.resetIndexes();
      this.firstSeq = 0;
      this.lastSeq = 0;
      this.lastTs = 0n;
      this.writeTruncate(0);
      return;
    }
    if (seq >= this.lastSeq) return;
    this.unindexRange(seq + 1, this.lastSeq);
    const seg = this.idx.at(seq);
    if (seg !== undefined) this.lastTs = seg.ts(seq - seg.base);
    this.lastSeq = seq;
    if (this.msgs === 0) this.firstSeq = seq + 1;
    this.writeTruncate(seq);
    this.idx.trim();
  }

  private purgeAll(floor: number): number {
    this.beforeWrite();
    const purged = this.msgs;
    const f = floor > 0 ? floor : this.lastSeq + 1;
    this.resetIndexes();
    this.firstSeq = f;
    this.lastSeq = f - 1;
    this.writePurge(f);
    return purged;
  }

  /** Drop everything from the in-memory indexes (the subclass persists the reset). */
  protected resetIndexes(): void {
    this.idx.clear();
    this.subs.clear();
    this.ttls.clear();
    this.deadlines.clear();
    this.msgs = 0;
    this.bytes = 0;
  }

  // ---------------------------------------------------------------- index maintenance

  /** Add a message to the indexes (also used by the file store's recovery, in sequence order). */
  protected indexMsg(seq: number, subject: string, ts: bigint, size: number, ttl: number): Segment {
    const prevLast = this.subs.get(subject)?.last ?? 0;
    const info = this.subs.add(subject, seq);
    const seg = this.idx.add(seq, info.id, ts, size);
    if (prevLast > 0) this.idx.link(prevLast, seq);
    if (this.msgs === 0) this.firstSeq = seq;
    this.msgs++;
    this.bytes += size;
    if (ttl !== 0) {
      this.ttls.set(seq, ttl);
      if (ttl > 0) this.deadlines.push(tsMs(ts) + ttl, seq);
    }
    return seg;
  }

  /**
   * Drop every live message in [from, to] in bulk, a chunk of sequences at a time (so neither the
   * list of victims nor the resident index grows with the range). Returns how many.
   */
  protected unindexRange(from: number, to: number): number {
    let n = 0;
    for (let s = this.idx.next(from, to); s >= 0; s = this.idx.next(s, to)) {
      const victims = this.idx.seqs(s, Math.min(to, s + 65_535));
      for (const v of victims) {
        this.unindex(v, "bulk");
        this.idx.trim();
      }
      n += victims.length;
      s = victims[victims.length - 1] + 1;
    }
    return n;
  }

  /** Remove a live message from the indexes, telling the subclass first. */
  protected unindex(seq: number, mode: DropMode, reason?: RemovalReason): boolean {
    const seg = this.idx.at(seq);
    if (seg === undefined) return false;
    const slot = seq - seg.base;
    const info = this.subs.byId(seg.subj(slot))!;
    const size = seg.size(slot);
    let hdr: Buffer | undefined;
    const report = reason !== undefined && this.handler !== undefined;
    if (report && (reason === "max_age" || reason === "ttl") && limit(this.cfg.subject_delete_marker_ttl) > 0) {
      hdr = this.readMsg(seq, seg, slot)?.hdr;
      if (!this.idx.has(seq)) return true; // found damaged while reading: already dropped as lost
    }
    this.dropMsg(seq, seg, slot, mode);
    const pd = seg.prevD(slot);
    const nd = seg.nextD(slot);
    const prev = pd === 0 ? 0 : seq - pd;
    const next = nd === 0 ? 0 : seq + nd;
    this.idx.link(prev, next);
    this.idx.del(seq);
    this.msgs--;
    this.bytes -= size;
    const gone = this.subs.remove(info, seq, prev, next);
    if (this.ttls.size > 0) this.ttls.delete(seq);
    if (seq === this.firstSeq) this.advanceFirst();
    if (report) {
      const ev: RemovedMsg = { seq, subject: info.name, reason: reason!, lastForSubject: gone };
      if (hdr !== undefined) ev.hdr = hdr;
      this.removedQueue.push(ev);
    }
    return true;
  }

  private advanceFirst(): void {
    if (this.msgs === 0) {
      this.firstSeq = this.lastSeq + 1;
      return;
    }
    const n = this.idx.next(this.firstSeq + 1, this.lastSeq);
    this.firstSeq = n < 0 ? this.lastSeq + 1 : n;
  }

  private sizeAt(seq: number): number {
    const seg = this.idx.at(seq);
    return seg === undefined ? 0 : seg.size(seq - seg.base);
  }

  private tsAt(seq: number): bigint {
    const seg = this.idx.at(seq);
    return seg === undefined ? 0n : seg.ts(seq - seg.base);
  }

  private enforcePerSubject(info: SubjectInfo, maxp: number): void {
    while (info.msgs > maxp) {
      if (!this.unindex(info.first, "remove", "max_msgs_per_subject")) break;
    }
  }

  private enforceMsgsAndBytes(): void {
    const maxMsgs = limit(this.cfg.max_msgs);
    if (maxMsgs > 0) while (this.msgs > maxMsgs) this.unindex(this.firstSeq, "remove", "max_msgs");
    const maxBytes = limit(this.cfg.max_bytes);
    if (maxBytes > 0) while (this.bytes > maxBytes && this.msgs > 0) this.unindex(this.firstSeq, "remove", "max_bytes");
  }

  // ---------------------------------------------------------------- expiry

  setRemovedHandler(handler: RemovedHandler | undefined): void {
    this.handler = handler;
  }

  private drainRemoved(): void {
    const q = this.removedQueue;
    if (q.length === 0) return;
    this.removedQueue = [];
    const h = this.handler;
    if (h === undefined) return;
    for (const ev of q) h(ev);
  }

  expireMsgs(): number {
    if (this.closed) return 0;
    let n = 0;
    const maxAge = limit(this.cfg.max_age);
    this.ageNext = 0;
    if (maxAge > 0 && this.msgs > 0) {
      const cutoff = nowNs() - BigInt(Math.round(maxAge * 1e6));
      let seq = this.firstSeq;
      while (seq >= 0 && seq <= this.lastSeq) {
        const seg = this.idx.at(seq);
        if (seg === undefined) {
          seq = this.idx.next(seq + 1, this.lastSeq);
          continue;
        }
        const ts = seg.ts(seq - seg.base);
        if (ts > cutoff) {
          this.ageNext = tsMs(ts) + maxAge;
          break;
        }
        if (this.ttls.size > 0 && (this.ttls.get(seq) ?? 0) < 0) {
          seq = this.idx.next(seq + 1, this.lastSeq); // never expires
          continue;
        }
        this.beforeWrite();
        this.unindex(seq, "remove", "max_age");
        this.idx.trim();
        n++;
        seq = this.idx.next(seq + 1, this.lastSeq);
      }
    }
    if (this.cfg.allow_msg_ttl && this.deadlines.size > 0) {
      const now = Date.now();
      const h = this.deadlines;
      while (h.size > 0 && h.peekAt() <= now) {
        const at = h.peekAt();
        const seq = h.peekSeq();
        h.pop();
        const ttl = this.ttls.get(seq);
        if (ttl === undefined || ttl <= 0) continue;
        const seg = this.idx.at(seq);
        if (seg === undefined || tsMs(seg.ts(seq - seg.base)) + ttl !== at) continue; // stale entry
        this.beforeWrite();
        this.unindex(seq, "remove", "ttl");
        this.idx.trim();
        n++;
      }
    }
    this.clearTimer();
    this.scheduleTimer();
    this.drainRemoved();
    this.idx.trim();
    return n;
  }

  private scheduleTimer(): void {
    if (this.closed) return;
    let next = Infinity;
    const now = Date.now();
    const maxAge = limit(this.cfg.max_age);
    if (maxAge > 0 && this.msgs > 0) {
      next = tsMs(this.tsAt(this.firstSeq)) + maxAge;
      if (next <= now) next = this.ageNext > now ? this.ageNext : now + MIN_TIMER_MS;
    }
    if (this.cfg.allow_msg_ttl && this.deadlines.size > 0) next = Math.min(next, this.deadlines.peekAt());
    if (next === Infinity) {
      this.clearTimer();
      return;
    }
    const at = Math.max(next, now + MIN_TIMER_MS);
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = 0;
      try {
        this.expireMsgs();
      } catch {
        // A failed write is remembered by the store and reported to the next caller.
      }
    }, at - now);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = 0;
  }

  updateConfig(cfg: StoreConfig): void {
    this.checkOpen();
    const next = normalizeConfig(cfg);
    if (next.storage !== this.type) throw new StoreError("BAD_CONFIG", "storage type cannot change");
    const old = this.cfg;
    this.cfg = next;
    this.configChanged(old);
    if (next.discard !== "new") this.enforceMsgsAndBytes();
    const maxp = limit(next.max_msgs_per_subject);
    const oldp = limit(old.max_msgs_per_subject);
    if (maxp > 0 && (oldp === 0 || maxp < oldp)) {
      const over: SubjectInfo[] = [];
      for (const info of this.subs.values()) if (info.msgs > maxp) over.push(info);
      for (const info of over) this.enforcePerSubject(info, maxp);
    }
    this.clearTimer();
    this.expireMsgs();
  }

  // ---------------------------------------------------------------- reading

  protected filter(filter: string | readonly string[] | undefined): Filter {
    const key = filter === undefined ? "" : typeof filter === "string" ? filter : filter.join("\u0000");
    let f = this.filterCache.get(key);
    if (f === undefined) {
      if (this.filterCache.size >= 256) this.filterCache.clear();
      f = new Filter(filter);
      this.filterCache.set(key, f);
    }
    return f;
  }

  /** Read a message and then page out index segments if over the bound (a public read's last step). */
  private loadAt(seq: number): StoredMsg | undefined {
    if (seq < 0) return undefined;
    const seg = this.idx.at(seq);
    const m = seg === undefined ? undefined : this.readMsg(seq, seg, seq - seg.base);
    this.idx.trim();
    return m;
  }

  loadMsg(seq: number): StoredMsg | undefined {
    this.checkOpen();
    return this.loadAt(seq);
  }

  subjectForSeq(seq: number): string | undefined {
    this.checkOpen();
    const id = this.idx.subjId(seq);
    return id === 0 ? undefined : this.subs.byId(id)!.name;
  }

  loadLastMsg(filter: string): StoredMsg | undefined {
    this.checkOpen();
    if (this.msgs === 0) return undefined;
    if (isPlainLiteral(filter)) {
      // The KV get path: no filter object for a literal subject.
      const info = this.subs.get(filter);
      return info === undefined ? undefined : this.loadAt(info.last);
    }
    const f = this.filter(filter);
    if (f.all) return this.loadAt(this.idx.last());
    if (f.literal !== undefined) {
      const info = this.subs.get(f.literal);
      if (info === undefined) return undefined;
      return this.loadAt(info.last);
    }
    let best = -1;
    this.subs.forEachMatch(f, (info) => {
      if (info.last > best) best = info.last;
    });
    return this.loadAt(best);
  }

  loadNextMsg(filter: string | string[] | undefined, start: number): StoredMsg | undefined {
    this.checkOpen();
    return this.loadAt(this.nextSeqOf(filter, start));
  }

  /** Sequence of the first message at or after start matching the filter(s), or -1. */
  nextSeq(filter: string | readonly string[] | undefined, start: number): number {
    const s = this.nextSeqOf(filter, start);
    this.idx.trim();
    return s;
  }

  private nextSeqOf(filter: string | readonly string[] | undefined, start: number): number {
    if (start < this.firstSeq) start = this.firstSeq;
    if (this.msgs === 0 || start > this.lastSeq) return -1;
    const f = typeof filter === "string" && isPlainLiteral(filter) ? undefined : this.filter(filter);
    if (f === undefined) return this.nextOnSubject(filter as string, start);
    if (f.all) return this.idx.next(start, this.lastSeq);
    if (f.literal !== undefined) return this.nextOnSubject(f.literal, start);
    const pred = (id: number): boolean => f.matchInfo(this.subs.byId(id)!);
    if (f.patterns.length > 0 && this.subs.size > 256) return this.idx.next(start, this.lastSeq, pred);
    // Few subjects: their first/last bound the search; a subject entirely at/after start gives its first.
    let best = Infinity;
    let hi = -1;
    this.subs.forEachMatch(f, (info) => {
      if (start > info.last) return;
      if (start <= info.first) {
        if (info.first < best) best = info.first;
      } else if (info.last > hi) hi = info.last;
    });
    if (hi >= 0) {
      const s = this.idx.next(start, Math.min(best - 1, hi), pred);
      if (s >= 0) return s;
    }
    return best === Infinity ? -1 : best;
  }

  private nextOnSubject(subject: string, start: number): number {
    const info = this.subs.get(subject);
    if (info === undefined || start > info.last) return -1;
    if (start <= info.first) return info.first;
    if (info.msgs <= 64) {
      // Few messages on the subject: follow its links rather than scan the range.
      let s = info.first;
      while (s > 0 && s < start) s = this.idx.nextSame(s);
      return s > 0 ? s : -1;
    }
    return this.idx.next(start, info.last, info.id);
  }

  loadPrevMsg(filter: string | string[] | undefined, start: number): StoredMsg | undefined {
    this.checkOpen();
    if (this.msgs === 0 || start < this.firstSeq) return undefined;
    if (start > this.lastSeq) start = this.lastSeq;
    const f = this.filter(filter);
    if (f.all) return this.loadAt(this.idx.prev(start, this.firstSeq));
    if (f.literal !== undefined) {
      const info = this.subs.get(f.literal);
      if (info === undefined) return undefined;
      if (start < info.first) return undefined;
      if (start >= info.last) return this.loadAt(info.last);
      return this.loadAt(this.idx.prev(start, info.first, info.id));
    }
    return this.loadAt(this.idx.prev(start, this.firstSeq, (id) => f.matchInfo(this.subs.byId(id)!)));
  }

  getSeqFromTime(ts: bigint): number {
    this.checkOpen();
    if (this.msgs === 0) return this.lastSeq + 1;
    const s = this.idx.firstAtOrAfter(ts);
    return s < 0 ? this.lastSeq + 1 : s;
  }

  // ---------------------------------------------------------------- state

  state(opts?: { deleted?: boolean }): StreamState {
    this.checkOpen();
    const st: StreamState = {
      messages: this.msgs,
      bytes: this.bytes,
      first_seq: this.firstSeq,
      first_ts: this.msgs > 0 ? this.tsAt(this.firstSeq) : 0n,
      last_seq: this.lastSeq,
      last_ts: this.lastTs,
      num_subjects: this.subs.size,
      num_deleted: this.msgs > 0 ? this.lastSeq - this.firstSeq + 1 - this.msgs : 0,
    };
    if (opts?.deleted) st.deleted = st.num_deleted > 0 ? this.idx.gaps(this.firstSeq, this.lastSeq) : [];
    if (this.lostData !== undefined && this.lostData.msgs.length + this.lostData.bytes > 0) {
      st.lost = { msgs: [...this.lostData.msgs], bytes: this.lostData.bytes };
    }
    return st;
  }

  filteredState(start: number, filter?: string | string[], lastPerSubject = false): FilteredState {
    this.checkOpen();
    const r = this.filteredStateOf(start, filter, lastPerSubject);
    this.idx.trim();
    return r;
  }

  private filteredStateOf(start: number, filter: string | string[] | undefined, lastPerSubject: boolean): FilteredState {
    if (start < this.firstSeq) start = this.firstSeq;
    const none = { msgs: 0, first: 0, last: 0 };
    if (this.msgs === 0 || start > this.lastSeq) return none;
    const f = this.filter(filter);
    const lps = lastPerSubject;
    if (f.all && !lps) {
      const last = this.idx.last();
      if (start <= this.firstSeq) return { msgs: this.msgs, first: this.firstSeq, last };
      const n = this.idx.countRange(start, this.lastSeq);
      return n === 0 ? none : { msgs: n, first: this.idx.next(start, this.lastSeq), last };
    }
    if (f.patterns.length > 0 && this.subs.size > 4 * (this.lastSeq - start + 1)) return this.filteredByScan(start, f, lps);

    let msgs = 0;
    let first = Infinity;
    let last = 0;
    const partial: SubjectInfo[] = [];
    this.subs.forEachMatch(f, (info) => {
      if (start > info.last) return;
      if (info.last > last) last = info.last;
      if (lps) {
        msgs++;
        if (info.last < first) first = info.last;
      } else if (start <= info.first) {
        msgs += info.msgs;
        if (info.first < first) first = info.first;
      } else partial.push(info);
    });
    if (partial.length > 0) {
      // Subjects with messages on both sides of start: count theirs from start on.
      const mask = new Uint8Array(this.subs.idLimit);
      let hi = 0;
      for (const p of partial) {
        mask[p.id] = 1;
        if (p.last > hi) hi = p.last;
      }
      const r = this.idx.countIds(start, hi, mask);
      msgs += r.count;
      if (r.count > 0 && r.first < first) first = r.first;
    }
    return msgs === 0 ? none : { msgs, first, last };
  }

  private filteredByScan(start: number, f: Filter, lps: boolean): FilteredState {
    let msgs = 0;
    let first = Infinity;
    let last = 0;
    const seen = lps ? new Set<number>() : undefined;
    this.idx.forEach(start, this.lastSeq, (s, seg, slot) => {
      const id = seg.subj(slot);
      const info = this.subs.byId(id)!;
      if (!f.matchInfo(info)) return;
      if (seen !== undefined) {
        if (seen.has(id)) return;
        seen.add(id);
        msgs++;
        if (info.last < first) first = info.last;
        if (info.last > last) last = info.last;
        return;
      }
      msgs++;
      if (s < first) first = s;
      last = s;
    });
    return msgs === 0 ? { msgs: 0, first: 0, last: 0 } : { msgs, first, last };
  }

  numPending(start: number, filter?: string | string[], lastPerSubject = false): number {
    return this.filteredState(start, filter, lastPerSubject).msgs;
  }

  subjectsState(filter?: string): Map<string, SubjectState> {
    this.checkOpen();
    const out = new Map<string, SubjectState>();
    this.subs.forEachMatch(this.filter(filter), (info) => {
      out.set(info.name, { msgs: info.msgs, first: info.first, last: info.last });
    });
    return out;
  }

  subjectsTotals(filter?: string): Map<string, number> {
    this.checkOpen();
    const out = new Map<string, number>();
    this.subs.forEachMatch(this.filter(filter), (info) => out.set(info.name, info.msgs));
    return out;
  }

  multiLastSeqs(filters: string[], maxSeq = 0, maxAllowed = 0): number[] {
    this.checkOpen();
    if (this.msgs === 0) return [];
    if (maxSeq <= 0) maxSeq = this.lastSeq;
    const seen = new Set<number>();
    for (const flt of filters) {
      this.subs.forEachMatch(this.filter(flt), (info) => {
        if (info.last <= maxSeq) seen.add(info.last);
        else if (info.first <= maxSeq) {
          const s = this.idx.prev(maxSeq, info.first, info.id);
          if (s >= 0) seen.add(s);
        }
      });
      if (maxAllowed > 0 && seen.size > maxAllowed) throw new StoreError("TOO_MANY_RESULTS");
    }
    this.idx.trim();
    return [...seen].sort((a, b) => a - b);
  }

  allLastSeqs(): number[] {
    this.checkOpen();
    const out: number[] = [];
    for (const info of this.subs.values()) {
      out.push(info.last);
    }
    return out.sort((a, b) => a - b);
  }

  protected checkOpen(): void {
    if (this.closed) throw new StoreError("CLOSED");
  }
}
