// Reads of block files for the file store: an LRU of read descriptors, one read window that
// serves runs of records from a single read (sequential consumers read ahead 128 KiB at a time),
// and a bounded LRU of aligned pages for random reads (KV gets by key, direct gets): without it
// every get of a record outside the store's cache of its newest bytes cost a read system call.

import { closeSync, openSync, readSync } from "node:fs";
import type { Block } from "./block.js";
import { HDR } from "./record.js";

const READ_AHEAD = 128 * 1024;
const MAX_READ_FDS = 16;
/**
 * Random reads load the aligned page around the record. Loading a page costs about two reads of
 * one small record, so pages pay only while they serve about half of the lookups: when the
 * records read are many times what the pages hold, most misses read just the record again, and a
 * sample of them keeps loading pages so that the cache follows a hot set that moves.
 */
const PAGE = 4 * 1024;
/** Pages one store keeps. */
const PAGES_MAX_BYTES = 8 * 1024 * 1024;
/** Lookups per estimate of the hit rate. */
const RATE_WINDOW = 1024;
/** While pages serve fewer than half the lookups, one miss in this many loads a page (the others read only the record). */
const SAMPLE_MISSES = 8;
/** Page buffers kept for reuse after their pages were dropped. */
const SPARES_MAX = 64;

/** Page bytes held by all readers, and their bound (evictions start with the least recent page of all). */
let globalPageBytes = 0;
let globalPageMax = 64 * 1024 * 1024;
/** Every cached page of every reader, least recently used first. */
const globalPages = new Map<Page, BlockReader>();
/**
 * Buffers of dropped pages. Page buffers are reused rather than allocated per load (allocation
 * and its garbage were most of the cost of a miss), which is safe because a read from a page
 * hands out a copy of the record, never a view of the page.
 */
const spares: Buffer[] = [];

/** @internal Tests and tools: the bound of page bytes shared by all readers. */
export function setGlobalPageCacheMax(bytes: number): void {
  globalPageMax = bytes;
}

/** @internal Page bytes cached by all readers. */
export function globalPageCacheBytes(): number {
  return globalPageBytes;
}

interface Page {
  blk: Block;
  /** page number within the block (offset / PAGE) */
  no: number;
  /** PAGE bytes, of which the first len hold the block's bytes from no * PAGE */
  buf: Buffer;
  len: number;
}

export interface RawRead {
  buf: Buffer;
  pos: number;
  end: number;
}

/** A copy of the whole record at pos of the page, or undefined when the page does not hold all of it. */
function recordCopy(page: Page, pos: number): RawRead | undefined {
  const b = page.buf;
  if (pos + HDR > page.len) return undefined;
  const len = b.readUInt32LE(pos + 4);
  if (len < HDR || pos + len > page.len) return undefined;
  const out = Buffer.allocUnsafe(len);
  b.copy(out, 0, pos, pos + len);
  return { buf: out, pos: 0, end: len };
}

export class BlockReader {
  private readonly fds = new Map<number, number>();
  private win: { blk: Block; off: number; buf: Buffer } | undefined;
  private lastBlk: Block | undefined;
  private lastEnd = -1;
  /** block index → page number → page */
  private readonly pages = new Map<number, Map<number, Page>>();
  /** this reader's pages, least recently used first */
  private readonly lru = new Map<Page, true>();
  private pageBytes = 0;
  /** reads served or made since the last idle check */
  private used = false;
  private lookups = 0;
  private hits = 0;
  private misses = 0;
  /** misses load pages (the last window's hit rate was at least a half) */
  private admit = true;
  /** @internal counters for tests */
  readonly pageStats = { hits: 0, loads: 0 };

  /**
   * Bytes of blk from off (want of them, or more when reading ahead), or undefined when nothing
   * can be read there. useWindow: may be served from / may fill the read-ahead window.
   */
  read(blk: Block, off: number, want: number, useWindow: boolean): RawRead | undefined {
    const avail = blk.written - off;
    if (avail <= 0) return undefined;
    if (want > avail) want = avail;
    const w = this.win;
    if (useWindow && w !== undefined && w.blk === blk && off >= w.off && off + HDR <= w.off + w.buf.length) {
      const pos = off - w.off;
      const len = w.buf.readUInt32LE(pos + 4);
      if (pos + len <= w.buf.length) {
        this.lastBlk = blk;
        this.lastEnd = off + len;
        return { buf: w.buf, pos, end: w.buf.length };
      }
    }
    const sequential = this.lastBlk === blk && this.lastEnd === off;
    if (useWindow && !sequential) {
      // A random read: from a cached page, or through one. A scan (sequential) keeps to the
      // window so that it does not push the pages of random readers out.
      const r = this.fromPage(blk, off, want, avail);
      if (r !== undefined) return r;
    }
    let n = useWindow && sequential ? Math.max(want, READ_AHEAD) : want;
    if (n > avail) n = avail;
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    try {
      const fd = this.fd(blk);
      while (got < n) {
        const r = readSync(fd, buf, got, n - got, off + got);
        if (r === 0) break;
        got += r;
      }
    } catch {
      return undefined;
    }
    const out = got === n ? buf : buf.subarray(0, got);
    if (useWindow && got >= HDR) {
      this.win = { blk, off, buf: out };
      this.lastBlk = blk;
      this.lastEnd = off + out.readUInt32LE(4);
    }
    return { buf: out, pos: 0, end: out.length };
  }

  /** A copy of the record at off from its page (loaded if need be), or undefined to read it directly. */
  private fromPage(blk: Block, off: number, want: number, avail: number): RawRead | undefined {
    this.used = true;
    const no = Math.floor(off / PAGE);
    const pos = off - no * PAGE;
    // a record larger than a page is read on its own (one running past its page's end is too, below)
    if (want > PAGE) return undefined;
    if (++this.lookups >= RATE_WINDOW) {
      this.admit = this.hits * 5 >= this.lookups * 4;
      this.lookups = this.hits = 0;
    }
    let byNo = this.pages.get(blk.index);
    let page = byNo?.get(no);
    if (page !== undefined) {
      const r = recordCopy(page, pos);
      if (r !== undefined) {
        this.hits++;
        this.pageStats.hits++;
        // most recent last
        this.lru.delete(page);
        this.lru.set(page, true);
        globalPages.delete(page);
        globalPages.set(page, this);
        return r;
      }
      // the record is past what the page holds (the block has grown since): load it again
      this.dropPage(page);
    }
    if (!this.admit && ++this.misses % SAMPLE_MISSES !== 0) return undefined;
    const buf = this.pageBuffer();
    const n = pos + avail < PAGE ? pos + avail : PAGE;
    let got = 0;
    try {
      const fd = this.fd(blk);
      while (got < n) {
        const r = readSync(fd, buf, got, n - got, no * PAGE + got);
        if (r === 0) break;
        got += r;
      }
    } catch {
      if (spares.length < SPARES_MAX) spares.push(buf);
      return undefined;
    }
    page = { blk, no, buf, len: got };
    const r = recordCopy(page, pos);
    if (r === undefined) {
      if (spares.length < SPARES_MAX) spares.push(buf);
      return undefined;
    }
    this.pageStats.loads++;
    if (byNo === undefined) {
      byNo = new Map();
      this.pages.set(blk.index, byNo);
    }
    byNo.set(no, page);
    this.lru.set(page, true);
    globalPages.set(page, this);
    this.pageBytes += PAGE;
    globalPageBytes += PAGE;
    return r;
  }

  /** A buffer for a page about to be loaded: this store's least recent page's when it is at its bound, else the least recent of all when all are. */
  private pageBuffer(): Buffer {
    if (this.pageBytes + PAGE > PAGES_MAX_BYTES && this.lru.size > 0) {
      const p = this.lru.keys().next().value as Page;
      this.dropPage(p);
    } else if (globalPageBytes + PAGE > globalPageMax && globalPages.size > 0) {
      const [p, owner] = globalPages.entries().next().value as [Page, BlockReader];
      owner.dropPage(p);
    }
    return spares.pop() ?? Buffer.allocUnsafeSlow(PAGE);
  }

  private dropPage(p: Page): void {
    if (!globalPages.delete(p)) return;
    this.lru.delete(p);
    const byNo = this.pages.get(p.blk.index);
    if (byNo !== undefined && byNo.get(p.no) === p) {
      byNo.delete(p.no);
      if (byNo.size === 0) this.pages.delete(p.blk.index);
    }
    this.pageBytes -= PAGE;
    globalPageBytes -= PAGE;
    if (spares.length < SPARES_MAX) spares.push(p.buf);
  }

  private dropPages(blk: Block): void {
    const byNo = this.pages.get(blk.index);
    if (byNo === undefined) return;
    for (const p of [...byNo.values()]) this.dropPage(p);
  }

  /** Every page goes when the store has not been read since the previous call (its idle check). */
  trimIdle(): void {
    if (!this.used && this.pageBytes > 0) for (const byNo of [...this.pages.values()]) for (const p of [...byNo.values()]) this.dropPage(p);
    this.used = false;
  }

  /** @internal page bytes this reader holds */
  get cachedPageBytes(): number {
    return this.pageBytes;
  }

  private fd(blk: Block): number {
    if (blk.wfd >= 0) return blk.wfd;
    let fd = this.fds.get(blk.index);
    if (fd !== undefined) {
      this.fds.delete(blk.index); // LRU: move to the end
      this.fds.set(blk.index, fd);
      return fd;
    }
    if (this.fds.size >= MAX_READ_FDS) {
      const [k, v] = this.fds.entries().next().value as [number, number];
      this.fds.delete(k);
      closeSync(v);
    }
    fd = openSync(blk.path, "r");
    this.fds.set(blk.index, fd);
    return fd;
  }

  /** Drop what is cached for blk (it is being rewritten, removed or was modified in place). */
  forget(blk: Block): void {
    const fd = this.fds.get(blk.index);
    if (fd !== undefined) {
      this.fds.delete(blk.index);
      closeSync(fd);
    }
    if (this.win?.blk === blk) this.win = undefined;
    if (this.lastBlk === blk) this.lastBlk = undefined;
    this.dropPages(blk);
  }

  /** Drop what was read of blk but keep its descriptor (data of blk changed in place). */
  forgetWindow(blk: Block): void {
    if (this.win?.blk === blk) this.win = undefined;
    this.dropPages(blk);
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.win = undefined;
    this.lastBlk = undefined;
    for (const byNo of [...this.pages.values()]) for (const p of [...byNo.values()]) this.dropPage(p);
  }
}
