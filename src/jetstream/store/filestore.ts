// The file store: an append-only log of checksummed records (record.ts) in block files under
// <dir>/msgs/, indexed in memory by sequence and subject (rebuilt at start-up by scanning the
// blocks), with tombstones for deletes, background removal of emptied blocks and compaction of
// blocks that are mostly deleted.
//
// Durability. storeMsg() encodes the record into an in-memory batch and returns; the batch is
// written to the OS once per event-loop turn (setImmediate) with one positional write per block.
// afterWrite(cb)/flush() report when everything stored so far was written:
//   - "acknowledged" = written to the OS (survives the process being killed, not a power loss);
//   - "synced" = fsynced: with sync_interval "always" each batch is fsynced before afterWrite
//     callbacks run; otherwise the active block is fsynced every sync_interval ms (default 2 min),
//     and when a block fills up. stop() always fsyncs.
// Purge, compaction and block rewrites fsync their files and the directory whatever the policy.

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync, writeSync, writevSync } from "node:fs";
import { join } from "node:path";
import { BaseStore, type DropMode } from "./base.js";
import { Block, BLOCK_FILE, blockFileName, floorNeeded, pruneTombs, removable, tombNeeded } from "./block.js";
import { nowNs } from "./clock.js";
import { StoreError } from "./errors.js";
import { BlockReader } from "./block-reader.js";
import { FileConsumerStore, readStreamMeta, writeStreamMeta, type ConsumerOwner } from "./file-meta.js";
import { decodeName, encodeName, fsyncDir } from "./fsutil.js";
import { fileMsgSize } from "./memstore.js";
import { DEL, encodeRecord, ERASED, eraseRecordInPlace, FLOOR, forEachRecord, HDR, MARK, MSG, recordLength, validRecordAt } from "./record.js";
import type { Segment } from "./seq-index.js";
import type { ConsumerStore, RecoveryReport, StoreConfig, StoredMsg } from "./types.js";

export const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024;
export const DEFAULT_SYNC_INTERVAL = 120_000;
export const DEFAULT_CACHE_SIZE = 4 * 1024 * 1024;
const ARENA = 1024 * 1024;
const MAX_BATCH = 4 * 1024 * 1024;
const MAX_LOST_REPORTED = 100_000;

/** A run of records of one block held in memory: file range [off, off + end - start) = buf[start, end). */
/** What recovery carries from one block to the next. */
interface ScanState {
  /** Highest FLOOR seen: messages below it are gone. */
  floor: number;
  sawFloor: boolean;
  /** Highest message sequence seen, and whether damage was skipped since. */
  prevMsg: number;
  gap: boolean;
  lost: Set<number>;
  lostBytes: number;
}

interface Chunk {
  blk: Block;
  off: number;
  buf: Buffer;
  start: number;
  end: number;
}

/** Internal tuning (tests, benchmarks): not part of the stream configuration. */
export interface FileStoreTuning {
  /** Sequences per index segment (default 4096). */
  index_segment_size?: number;
  /** Bytes of index segments kept in memory for this stream (default 8 MiB); the rest is paged out. */
  index_cache_bytes?: number;
}

const IDLE_CHECK_MS = 5000;

export class FileStore extends BaseStore implements ConsumerOwner {
  readonly type = "file" as const;
  readonly dir: string;
  private readonly msgDir: string;
  private blocks: Block[] = [];
  private readonly blockMap = new Map<number, Block>();
  private active!: Block;
  private nextIndex = 1;
  private blockSize = DEFAULT_BLOCK_SIZE;
  private cacheLimit = DEFAULT_CACHE_SIZE;
  private syncAlways = false;
  private syncInterval = DEFAULT_SYNC_INTERVAL;

  private arena = Buffer.allocUnsafeSlow(ARENA);
  private arenaPos = 0;
  private pending: Chunk[] = [];
  private pendingBytes = 0;
  private cache: Chunk[] = [];
  private cacheBytes = 0;
  private flushScheduled = false;
  private waiters: ((err?: Error) => void)[] = [];
  private writeErr: Error | undefined;
  private dirty = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private maintTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  private readonly reader = new BlockReader();

  private readonly consumers = new Map<string, FileConsumerStore>();
  private readonly dirtyConsumers = new Set<FileConsumerStore>();
  private consumerTimer: NodeJS.Timeout | undefined;

  /** What opening the directory found. */
  readonly recovery: RecoveryReport = { blocks: 0, records: 0, truncatedBytes: 0, corruptRecords: 0, lost: { msgs: [], bytes: 0 } };

  constructor(cfg: StoreConfig & FileStoreTuning) {
    super({ ...cfg, storage: "file" }, true, false, {
      segSize: cfg.index_segment_size,
      // A cache of the index rebuilt on every open (see seq-index.ts).
      pager: cfg.directory ? { path: join(cfg.directory, "seqidx.cache"), maxBytes: cfg.index_cache_bytes } : undefined,
    });
    if (!cfg.directory) throw new StoreError("BAD_CONFIG", "file store needs a directory");
    this.dir = cfg.directory;
    this.msgDir = join(this.dir, "msgs");
    this.applyConfig();
    mkdirSync(this.msgDir, { recursive: true });
    const fresh = this.recover();
    this.idx.trim();
    if (fresh && (cfg.first_seq ?? 0) > 0) this.compact(cfg.first_seq!);
    if (this.maintain(0)) this.scheduleMaintenance();
    this.startSyncTimer();
    this.expireMsgs();
    // A stream nobody uses gives back most of its resident index (a timer runs between operations).
    this.idleTimer = setInterval(() => {
      this.idx.trim(true);
      this.reader.trimIdle();
    }, IDLE_CHECK_MS);
    this.idleTimer.unref();
  }

  private applyConfig(): void {
    const c = this.cfg;
    this.blockSize = c.block_size !== undefined && c.block_size > 0 ? c.block_size : DEFAULT_BLOCK_SIZE;
    this.cacheLimit = c.cache_size !== undefined && c.cache_size >= 0 ? c.cache_size : DEFAULT_CACHE_SIZE;
    this.syncAlways = c.sync_interval === "always";
    this.syncInterval = typeof c.sync_interval === "number" && c.sync_interval > 0 ? c.sync_interval : DEFAULT_SYNC_INTERVAL;
  }

  protected override configChanged(old: StoreConfig): void {
    if (this.cfg.directory !== undefined && this.cfg.directory !== old.directory) {
      this.cfg = { ...this.cfg, directory: old.directory };
    }
    this.applyConfig();
    this.startSyncTimer();
  }

  protected sizeOf(subjLen: number, hdrLen: number, dataLen: number): number {
    return fileMsgSize(subjLen, hdrLen, dataLen);
  }

  // ================================================================ recovery

  /** Scan the block files and rebuild the indexes. Returns true for a store with no blocks. */
  private recover(): boolean {
    const rep = this.recovery;
    const indexes: number[] = [];
    for (const name of readdirSync(this.msgDir)) {
      const m = BLOCK_FILE.exec(name);
      if (m !== null) indexes.push(Number(m[1]));
      else if (name.endsWith(".tmp")) rmSync(join(this.msgDir, name), { force: true }); // an interrupted rewrite
    }
    indexes.sort((a, b) => a - b);
    const lost = new Set<number>();
    const scan = { floor: 0, sawFloor: false, prevMsg: 0, gap: false, lost, lostBytes: 0 };
    for (let i = 0; i < indexes.length; i++) {
      const b = Block.at(this.msgDir, indexes[i]);
      this.blocks.push(b);
      this.blockMap.set(b.index, b);
      this.scanBlock(b, i === indexes.length - 1, scan);
    }
    rep.blocks = indexes.length;
    for (const b of this.blocks) pruneTombs(this.blocks, b);
    if (this.msgs > 0) this.firstSeq = this.idx.first();
    else this.firstSeq = this.lastSeq > 0 || scan.sawFloor ? this.lastSeq + 1 : 0;
    const lostSeqs = [...lost].sort((a, b) => a - b);
    rep.lost = { msgs: lostSeqs, bytes: scan.lostBytes };
    if (lostSeqs.length > 0 || scan.lostBytes > 0) this.lostData = { msgs: lostSeqs, bytes: scan.lostBytes };

    if (this.blocks.length === 0) {
      this.nextIndex = 1;
      this.active = this.createBlock(MARK, this.lastSeq + 1);
      return true;
    }
    this.nextIndex = indexes[indexes.length - 1] + 1;
    this.active = this.blocks[this.blocks.length - 1];
    this.active.wfd = openSync(this.active.path, "r+");
    return false;
  }

  private scanBlock(b: Block, isLast: boolean, scan: ScanState): void {
    const rep = this.recovery;
    const buf = readFileSync(b.path);
    const end = forEachRecord(
      buf,
      buf.length,
      (pos, len) => {
        this.recoverRecord(b, buf, pos, len, scan);
        this.idx.trim();
      },
      (from, to) => {
        rep.corruptRecords++;
        scan.lostBytes += to - from;
        scan.gap = true;
      },
    );
    if (end < buf.length) {
      // Damaged tail: a torn write in the last block; anywhere else, lost records.
      truncateSync(b.path, end);
      rep.truncatedBytes += buf.length - end;
      if (!isLast) {
        rep.corruptRecords++;
        scan.lostBytes += buf.length - end;
        scan.gap = true;
      }
    }
    b.size = b.written = end;
  }

  /** Apply one valid record found at start-up to the indexes and the block's accounting. */
  private recoverRecord(b: Block, buf: Buffer, pos: number, len: number, scan: ScanState): void {
    this.recovery.records++;
    const type = buf[pos + 8];
    const seq = buf.readDoubleLE(pos + 16);
    const ts = buf.readBigInt64LE(pos + 24);
    if (type === MSG || type === ERASED) {
      if (seq <= scan.prevMsg) {
        // Message records are in increasing sequence order: this one is not real (a record-like
        // run of bytes found while resynchronising after damage). Ignore it.
        this.recovery.corruptRecords++;
        return;
      }
      if (scan.gap) {
        for (let s = scan.prevMsg + 1; s < seq && scan.lost.size < MAX_LOST_REPORTED; s++) scan.lost.add(s);
        scan.gap = false;
      }
      scan.prevMsg = seq;
      b.notePhys(seq);
      if (seq >= this.lastSeq) {
        this.lastSeq = seq;
        this.lastTs = ts;
      }
      const sl = buf.readUInt16LE(pos + 10);
      const hl = buf.readUInt32LE(pos + 12);
      const size = fileMsgSize(sl, hl, len - HDR - sl - hl);
      if (type === ERASED || seq < scan.floor) {
        b.dmap.add(seq);
        b.deadBytes += size;
      } else {
        const ttl = buf.readDoubleLE(pos + 32);
        const seg = this.indexMsg(seq, buf.latin1Slice(pos + HDR, pos + HDR + sl), ts, size, ttl);
        seg.setLoc(seq - seg.base, b.index, pos);
        b.live++;
        b.liveBytes += size;
      }
    } else if (type === DEL) {
      b.addTomb(seq);
      scan.lost.delete(seq);
      if (this.idx.has(seq)) this.unindex(seq, "bulk");
    } else if (type === FLOOR) {
      b.floors.push(seq);
      if (seq > b.maxMark) b.maxMark = seq;
      scan.sawFloor = true;
      if (seq > scan.floor) scan.floor = seq;
      this.unindexRange(0, seq - 1);
      for (const s of scan.lost) if (s < seq) scan.lost.delete(s);
      if (seq - 1 >= this.lastSeq) {
        this.lastSeq = seq - 1;
        this.lastTs = ts;
      }
    } else if (type === MARK) {
      if (seq > b.maxMark) b.maxMark = seq;
      if (seq - 1 >= this.lastSeq) {
        this.lastSeq = seq - 1;
        this.lastTs = ts;
      }
    }
  }

  // ================================================================ writing

  protected override beforeWrite(): void {
    if (this.writeErr !== undefined) throw new StoreError("WRITE_FAILED", this.writeErr.message, { cause: this.writeErr });
  }

  protected writeMsg(seq: number, ts: bigint, subject: string, hdr: Buffer | undefined, data: Buffer, ttl: number, seg: Segment, slot: number): void {
    const { blk, off } = this.append(MSG, seq, ts, ttl, subject, hdr, data);
    seg.setLoc(slot, blk.index, off);
    blk.notePhys(seq);
    blk.live++;
    blk.liveBytes += seg.size(slot);
  }

  /** Encode a record into the current batch, rolling over to a new block when this one is full. */
  private append(type: number, seq: number, ts: bigint, ttl: number, subject: string, hdr: Buffer | undefined, data: Buffer | undefined): { blk: Block; off: number } {
    const len = recordLength(subject.length, hdr === undefined ? 0 : hdr.length, data === undefined ? 0 : data.length);
    if (this.active.size > HDR && this.active.size + len > this.blockSize) this.rollover();
    let buf: Buffer;
    let pos: number;
    if (len > ARENA / 4) {
      buf = Buffer.allocUnsafeSlow(len);
      pos = 0;
    } else {
      if (this.arenaPos + len > ARENA) {
        this.arena = Buffer.allocUnsafeSlow(ARENA);
        this.arenaPos = 0;
      }
      buf = this.arena;
      pos = this.arenaPos;
      this.arenaPos += len;
    }
    encodeRecord(buf, pos, type, seq, ts, ttl, subject, hdr, data);
    const blk = this.active;
    const off = blk.size;
    blk.size += len;
    const last = this.pending.length > 0 ? this.pending[this.pending.length - 1] : undefined;
    if (last !== undefined && last.buf === buf && last.end === pos && last.blk === blk && last.off + (last.end - last.start) === off) {
      last.end += len;
    } else {
      const c: Chunk = { blk, off, buf, start: pos, end: pos + len };
      this.pending.push(c);
      this.cache.push(c);
    }
    this.cacheBytes += len;
    this.pendingBytes += len;
    // A large batch is written at once (acknowledgements still wait for the end of the turn).
    if (this.pendingBytes >= MAX_BATCH) this.writePending();
    this.scheduleFlush();
    return { blk, off };
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushBatch());
  }

  /** The per-turn batch: write everything pending, fsync if the policy says so, release waiters. */
  private flushBatch(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    this.writePending();
    if (this.syncAlways && this.dirty && this.writeErr === undefined) this.fsyncActive();
    const w = this.waiters;
    if (w.length > 0) {
      this.waiters = [];
      const err = this.writeErr;
      for (const cb of w) cb(err);
    }
    this.trimCache();
  }

  /** Write every pending chunk to its block (one writev per run of adjacent chunks). Errors are kept in writeErr. */
  private writePending(): void {
    const p = this.pending;
    if (p.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.writeErr !== undefined) return;
    try {
      for (let i = 0; i < p.length; ) {
        const first = p[i];
        let j = i + 1;
        let end = first.off + (first.end - first.start);
        while (j < p.length && p[j].blk === first.blk && p[j].off === end) {
          end += p[j].end - p[j].start;
          j++;
        }
        const fd = first.blk.wfd;
        if (j === i + 1) writeFully(fd, first.buf, first.start, first.end - first.start, first.off);
        else {
          const bufs = p.slice(i, j).map((c) => c.buf.subarray(c.start, c.end));
          let written = writevSync(fd, bufs, first.off);
          if (written < end - first.off) {
            const all = Buffer.concat(bufs);
            writeFully(fd, all, written, all.length - written, first.off + written);
            written = all.length;
          }
        }
        first.blk.written = end;
        i = j;
      }
      this.dirty = true;
    } catch (err) {
      this.writeErr = err instanceof Error ? err : new Error(String(err));
    }
  }

  private fsyncActive(): void {
    try {
      if (this.active.wfd >= 0) fsyncSync(this.active.wfd);
      this.dirty = false;
    } catch (err) {
      this.writeErr = err instanceof Error ? err : new Error(String(err));
    }
  }

  private trimCache(): void {
    while (this.cacheBytes > this.cacheLimit && this.cache.length > 0) {
      const c = this.cache[0];
      if (c.off + (c.end - c.start) > c.blk.written) break; // not written yet
      this.cache.shift();
      this.cacheBytes -= c.end - c.start;
    }
  }

  /** Close the full active block and start the next one. */
  private rollover(): void {
    const old = this.active;
    this.writePending();
    pruneTombs(this.blocks, old);
    if (this.syncAlways) {
      try {
        fsyncSync(old.wfd);
      } catch (err) {
        this.writeErr ??= err instanceof Error ? err : new Error(String(err));
      }
      old.closeWrite();
    } else {
      old.syncAsync();
      old.closeWrite();
    }
    this.dirty = false;
    this.cache = [];
    this.cacheBytes = 0;
    this.active = this.createBlock(MARK, this.lastSeq + 1);
    if (old.live === 0) this.scheduleMaintenance();
  }

  /** Create the next block file, beginning with a MARK or FLOOR record for seq, and make it active. */
  private createBlock(firstType: number, seq: number): Block {
    const b = Block.at(this.msgDir, this.nextIndex++);
    b.wfd = openSync(b.path, "wx+");
    this.blocks.push(b);
    this.blockMap.set(b.index, b);
    if (this.syncAlways) fsyncDir(this.msgDir);
    this.active = b;
    this.cache = [];
    this.cacheBytes = 0;
    const { blk } = this.append(firstType, seq, this.lastTs, 0, "", undefined, undefined);
    if (seq > blk.maxMark) blk.maxMark = seq;
    if (firstType === FLOOR) blk.floors.push(seq);
    return b;
  }

  protected dropMsg(seq: number, seg: Segment, slot: number, mode: DropMode): void {
    const blk = this.blockMap.get(seg.blk(slot))!;
    const off = seg.off(slot);
    const size = seg.size(slot);
    blk.live--;
    blk.liveBytes -= size;
    blk.deadBytes += size;
    blk.dmap.add(seq);
    if (mode !== "bulk") {
      const t = this.append(DEL, seq, nowNs(), 0, "", undefined, undefined);
      t.blk.addTomb(seq);
      if (mode === "erase") this.eraseAt(blk, off, size + 10);
    }
    if (blk !== this.active && (blk.live === 0 || blk.deadBytes > blk.size / 2)) this.scheduleMaintenance();
  }

  /** Overwrite a message record in place with an ERASED record of the same length. */
  private eraseAt(blk: Block, off: number, maxLen: number): void {
    const c = blk === this.active ? this.cachedChunk(off) : undefined;
    if (c !== undefined) {
      const pos = c.start + (off - c.off);
      eraseRecordInPlace(c.buf, pos);
      const len = c.buf.readUInt32LE(pos + 4);
      if (off + len <= blk.written) this.writeAt(blk, c.buf, pos, len, off);
      return;
    }
    const r = this.reader.read(blk, off, maxLen, false);
    if (r === undefined) return;
    const len = validRecordAt(r.buf, r.pos, r.end);
    if (len === 0) return;
    const copy = Buffer.from(r.buf.subarray(r.pos, r.pos + len));
    eraseRecordInPlace(copy, 0);
    this.writeAt(blk, copy, 0, len, off);
    this.reader.forgetWindow(blk);
  }

  private writeAt(blk: Block, buf: Buffer, start: number, len: number, off: number): void {
    if (this.writeErr !== undefined) return;
    // what was read of the block before this overwrite is stale
    this.reader.forgetWindow(blk);
    try {
      if (blk.wfd >= 0) writeFully(blk.wfd, buf, start, len, off);
      else {
        const fd = openSync(blk.path, "r+");
        try {
          writeFully(fd, buf, start, len, off);
          if (this.syncAlways) fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      this.dirty = true;
    } catch (err) {
      this.writeErr = err instanceof Error ? err : new Error(String(err));
    }
  }

  protected writeSkip(): void {
    const { blk } = this.append(MARK, this.lastSeq + 1, this.lastTs, 0, "", undefined, undefined);
    if (this.lastSeq + 1 > blk.maxMark) blk.maxMark = this.lastSeq + 1;
  }

  protected writePurge(floor: number): void {
    this.writePending();
    const old = this.blocks;
    this.blocks = [];
    for (const b of old) this.closeBlock(b);
    this.createBlock(FLOOR, floor);
    this.writePending();
    this.fsyncActive();
    fsyncDir(this.msgDir);
    for (const b of old) this.unlinkBlock(b);
    fsyncDir(this.msgDir);
  }

  protected writeCompact(seq: number): void {
    const { blk } = this.append(FLOOR, seq, this.lastTs, 0, "", undefined, undefined);
    blk.floors.push(seq);
    if (seq > blk.maxMark) blk.maxMark = seq;
    this.writePending();
    this.fsyncActive();
    if (this.maintain(0)) this.scheduleMaintenance();
  }

  protected writeTruncate(seq: number): void {
    this.writePending();
    if (seq === 0) {
      const old = this.blocks;
      this.blocks = [];
      for (const b of old) this.closeBlock(b);
      this.createBlock(MARK, 1);
      this.writePending();
      this.fsyncActive();
      fsyncDir(this.msgDir);
      for (const b of old) this.unlinkBlock(b);
      fsyncDir(this.msgDir);
      return;
    }
    // Rewrite every block holding anything above seq: messages above go, and so do tombstones
    // and marks that speak of sequences above it.
    for (const b of [...this.blocks]) {
      const above = b.lastSeq > seq || b.maxMark > seq + 1 || b.maxTomb > seq;
      if (!above) continue;
      this.rewriteBlock(b, (type, s, live) => {
        if (type === MSG) return live;
        if (type === DEL) return s <= seq && tombNeeded(this.blocks, s, b);
        if (type === FLOOR || type === MARK) return s <= seq + 1;
        return false;
      });
    }
    const { blk } = this.append(MARK, seq + 1, this.lastTs, 0, "", undefined, undefined);
    if (seq + 1 > blk.maxMark) blk.maxMark = seq + 1;
    this.writePending();
    this.fsyncActive();
  }

  // ================================================================ reading

  protected readMsg(seq: number, seg: Segment, slot: number): StoredMsg | undefined {
    const blk = this.blockMap.get(seg.blk(slot));
    const off = seg.off(slot);
    if (blk === undefined) return undefined;
    let buf: Buffer;
    let pos: number;
    const c = blk === this.active ? this.cachedChunk(off) : undefined;
    if (c !== undefined) {
      buf = c.buf;
      pos = c.start + (off - c.off);
    } else {
      // A record is at most 10 bytes longer than its accounted size (6 with headers): read that much.
      const r = this.reader.read(blk, off, seg.size(slot) + 10, true);
      if (r === undefined || validRecordAt(r.buf, r.pos, r.end) === 0 || r.buf[r.pos + 8] !== MSG || r.buf.readDoubleLE(r.pos + 16) !== seq) {
        this.markLost(seq, seg.size(slot));
        return undefined;
      }
      buf = r.buf;
      pos = r.pos;
    }
    const len = buf.readUInt32LE(pos + 4);
    const sl = buf.readUInt16LE(pos + 10);
    const hl = buf.readUInt32LE(pos + 12);
    const h0 = pos + HDR + sl;
    return {
      seq,
      subject: this.subs.byId(seg.subj(slot))!.name,
      hdr: hl > 0 ? buf.subarray(h0, h0 + hl) : undefined,
      data: buf.subarray(h0 + hl, pos + len),
      ts: seg.ts(slot),
      ttl: buf.readDoubleLE(pos + 32),
    };
  }

  /** A record that failed its checksum when read: drop it from the index and report it lost. */
  private markLost(seq: number, size: number): void {
    this.unindex(seq, "bulk");
    const lost = (this.lostData ??= { msgs: [], bytes: 0 });
    lost.msgs.push(seq);
    lost.bytes += size;
  }

  private cachedChunk(off: number): Chunk | undefined {
    const c = this.cache;
    let lo = 0;
    let hi = c.length - 1;
    while (lo <= hi) {
      const m = (lo + hi) >>> 1;
      const k = c[m];
      if (off < k.off) hi = m - 1;
      else if (off >= k.off + (k.end - k.start)) lo = m + 1;
      else return k;
    }
    return undefined;
  }

  // ================================================================ maintenance

  private scheduleMaintenance(): void {
    if (this.maintTimer !== undefined || this.closed) return;
    this.maintTimer = setTimeout(() => {
      this.maintTimer = undefined;
      // One compaction at a time (each is a synchronous rewrite of up to a block), then yield.
      if (!this.closed && this.maintain(1)) this.scheduleMaintenance();
    }, 5);
    this.maintTimer.unref();
  }

  /**
   * Remove blocks whose messages are all gone (unless their tombstones still hide messages in
   * other blocks), and compact up to maxCompactions blocks that are mostly deleted. Runs in the
   * background after deletes, at start-up, and on demand. Returns true when more blocks wait
   * for compaction.
   */
  maintain(maxCompactions = 1): boolean {
    if (this.closed || this.writeErr !== undefined) return false;
    const more = this.maintainBlocks(maxCompactions);
    this.idx.trim();
    return more;
  }

  private maintainBlocks(maxCompactions: number): boolean {
    this.writePending();
    let compactions = 0;
    for (;;) {
      let removed = false;
      for (const b of [...this.blocks]) {
        if (b === this.active || b.live > 0 || !removable(this.blocks, b)) continue;
        // What makes the removal safe (tombstones, marks in the active block) must be on disk first.
        if (!removed && this.dirty) this.fsyncActive();
        this.closeBlock(b);
        this.blocks = this.blocks.filter((x) => x !== b);
        this.unlinkBlock(b);
        removed = true;
      }
      if (removed) fsyncDir(this.msgDir);
      const next = this.blocks.find((b) => b !== this.active && b.live > 0 && b.deadBytes > b.written / 2);
      if (next === undefined) return false;
      if (compactions >= maxCompactions) return true;
      this.compactBlock(next); // leaves it with no dead messages, so it is not picked again
      compactions++;
    }
  }

  /** Rewrite every block with deleted messages, then remove what can go (tests and tools). */
  compactAll(): void {
    this.checkOpen();
    this.writePending();
    for (const b of [...this.blocks]) if (b !== this.active && !b.removed && b.live > 0 && b.dmap.size > 0) this.compactBlock(b);
    this.maintain(Infinity);
  }

  private compactBlock(b: Block): void {
    this.rewriteBlock(b, (type, s, live) => {
      if (type === MSG) return live;
      if (type === DEL) return tombNeeded(this.blocks, s, b);
      if (type === FLOOR) return floorNeeded(this.blocks, s, b);
      return false; // MARK: only the last block's matters; ERASED: gone
    });
  }

  /**
   * Rewrite block b keeping the records keep() accepts (live = the message is live at this
   * record), via a temporary file, fsync and rename. Relocates the kept messages in the index.
   */
  private rewriteBlock(b: Block, keep: (type: number, seq: number, live: boolean) => boolean): void {
    this.writePending();
    const buf = readFileSync(b.path);
    const end = Math.min(buf.length, b.written);
    const out = Buffer.allocUnsafe(end);
    let o = 0;
    const moves: [number, number][] = [];
    // Where the index has this block's live messages (one pass, without loading paged-out segments).
    const liveAt = new Map<number, number>();
    if (b.firstSeq > 0) {
      this.idx.forEach(b.firstSeq, b.lastSeq, (s, seg, slot) => {
        if (seg.blk(slot) === b.index) liveAt.set(s, seg.off(slot));
      });
    }
    const kept = { tombs: [] as number[], floors: [] as number[], dmap: [] as number[], first: 0, last: 0, maxMark: 0, deadBytes: 0 };
    forEachRecord(buf, end, (pos, len) => {
      const type = buf[pos + 8];
      const seq = buf.readDoubleLE(pos + 16);
      let live = false;
      if (type === MSG) live = liveAt.get(seq) === pos;
      if (keep(type, seq, live)) {
        buf.copy(out, o, pos, pos + len);
        if (type === MSG || type === ERASED) {
          if (kept.first === 0 || seq < kept.first) kept.first = seq;
          if (seq > kept.last) kept.last = seq;
          if (live) moves.push([seq, o]);
          else {
            kept.dmap.push(seq);
            const sl = buf.readUInt16LE(pos + 10);
            const hl = buf.readUInt32LE(pos + 12);
            kept.deadBytes += fileMsgSize(sl, hl, len - HDR - sl - hl);
          }
        } else if (type === DEL) kept.tombs.push(seq);
        else if (type === FLOOR) {
          kept.floors.push(seq);
          if (seq > kept.maxMark) kept.maxMark = seq;
        } else if (type === MARK && seq > kept.maxMark) kept.maxMark = seq;
        o += len;
      }
    });
    const isActive = b === this.active;
    this.closeBlock(b);
    if (o === 0 && !isActive) {
      this.blocks = this.blocks.filter((x) => x !== b);
      this.unlinkBlock(b);
      fsyncDir(this.msgDir);
      return;
    }
    const tmp = `${b.path}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      writeFully(fd, out, 0, o, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, b.path);
    fsyncDir(this.msgDir);
    for (const [seq, off] of moves) this.idx.setLoc(seq, b.index, off);
    const live = b.live;
    const liveBytes = b.liveBytes;
    b.resetStats();
    b.live = live;
    b.liveBytes = liveBytes;
    b.deadBytes = kept.deadBytes;
    for (const s of kept.dmap) b.dmap.add(s);
    b.tombs = kept.tombs;
    b.maxTomb = kept.tombs.reduce((m, t) => (t > m ? t : m), 0);
    b.floors = kept.floors;
    b.firstSeq = kept.first;
    b.lastSeq = kept.last;
    b.maxMark = kept.maxMark;
    b.size = b.written = o;
    if (isActive) {
      b.wfd = openSync(b.path, "r+");
      this.cache = [];
      this.cacheBytes = 0;
    }
  }

  /** Close a block's descriptors (the write one after any background sync). */
  private closeBlock(b: Block): void {
    this.reader.forget(b);
    b.closeWrite();
  }

  private unlinkBlock(b: Block): void {
    b.removed = true;
    this.blockMap.delete(b.index);
    try {
      unlinkSync(b.path);
    } catch {
      // already gone
    }
  }

  // ================================================================ durability API

  afterWrite(cb: (err?: Error) => void): void {
    if (this.pending.length === 0 && !(this.syncAlways && this.dirty) && !this.flushScheduled) {
      const err = this.writeErr;
      queueMicrotask(() => cb(err));
      return;
    }
    this.waiters.push(cb);
    this.scheduleFlush();
  }

  flush(): Promise<void> {
    return new Promise((resolve, reject) => this.afterWrite((err) => (err ? reject(err) : resolve())));
  }

  sync(): void {
    this.checkOpen();
    this.writePending();
    this.fsyncActive();
    if (this.writeErr !== undefined) throw new StoreError("WRITE_FAILED", this.writeErr.message, { cause: this.writeErr });
  }

  private startSyncTimer(): void {
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    this.syncTimer = undefined;
    if (this.syncAlways || this.closed) return;
    this.syncTimer = setInterval(() => {
      if (!this.dirty || this.closed) return;
      this.writePending();
      this.dirty = false;
      this.active.syncAsync((err) => {
        if (err) this.writeErr ??= err;
      });
    }, this.syncInterval);
    this.syncTimer.unref();
  }

  override stop(): void {
    if (this.closed) return;
    this.writePending();
    this.fsyncActive();
    for (const c of this.consumers.values()) c.flush();
    super.stop();
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    if (this.maintTimer !== undefined) clearTimeout(this.maintTimer);
    if (this.idleTimer !== undefined) clearInterval(this.idleTimer);
    this.idleTimer = undefined;
    if (this.consumerTimer !== undefined) clearTimeout(this.consumerTimer);
    this.syncTimer = this.maintTimer = this.consumerTimer = undefined;
    for (const b of this.blocks) this.closeBlock(b);
    const w = this.waiters;
    this.waiters = [];
    for (const cb of w) cb(this.writeErr);
    this.cache = [];
    this.reader.close();
    this.idx.close();
  }

  delete(): void {
    if (!this.closed) this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ================================================================ metadata and consumers

  writeMeta(meta: unknown): void {
    this.checkOpen();
    writeStreamMeta(this.dir, meta);
  }

  readMeta(): unknown | undefined {
    return readStreamMeta(this.dir);
  }

  consumerStore(name: string): ConsumerStore {
    this.checkOpen();
    let c = this.consumers.get(name);
    if (c === undefined) {
      c = new FileConsumerStore(this, name, join(this.dir, "obs", encodeName(name)));
      this.consumers.set(name, c);
    }
    return c;
  }

  consumerNames(): string[] {
    const obs = join(this.dir, "obs");
    if (!existsSync(obs)) return [];
    const out: string[] = [];
    for (const d of readdirSync(obs)) {
      if (existsSync(join(obs, d, "state.bin")) || existsSync(join(obs, d, "meta.json"))) out.push(decodeName(d));
    }
    return out.sort();
  }

  /** @internal */
  get consumerSyncAlways(): boolean {
    return this.syncAlways;
  }

  /** @internal A consumer's state changed: write it with the next batch (at most every few ms). */
  consumerDirty(c: FileConsumerStore): void {
    this.dirtyConsumers.add(c);
    if (this.consumerTimer !== undefined || this.closed) return;
    const run = (): void => {
      this.consumerTimer = undefined;
      const cs = [...this.dirtyConsumers];
      this.dirtyConsumers.clear();
      for (const x of cs) x.flush();
    };
    if (this.syncAlways) {
      this.consumerTimer = setTimeout(run, 0);
    } else {
      this.consumerTimer = setTimeout(run, 20);
      this.consumerTimer.unref();
    }
  }

  /** @internal */
  consumerGone(c: FileConsumerStore): void {
    this.dirtyConsumers.delete(c);
    this.consumers.delete(c.name);
  }

  /** The sequence index's memory and paging counters (tests and monitoring). */
  indexStats(): { residentBytes: number; segments: number; loads: number; evictions: number; writes: number; rowReads: number; views: number } {
    return { residentBytes: this.idx.residentBytes, segments: this.idx.segmentCount, ...this.idx.stats };
  }

  /** Block files currently in use (tests and monitoring). */
  blockFiles(): string[] {
    return this.blocks.map((b) => blockFileName(b.index));
  }
}

function writeFully(fd: number, buf: Buffer, start: number, len: number, pos: number): void {
  while (len > 0) {
    const n = writeSync(fd, buf, start, len, pos);
    start += n;
    pos += n;
    len -= n;
  }
}
