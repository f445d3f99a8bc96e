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
 * Random reads load the aligned page around the record (more when the record runs past it): a
 * read of 4 KiB costs about what a read of one small record does, while larger pages made every
 * miss dearer once the records read outgrow the cache.
 */
const PAGE = 4 * 1024;
/** A record needing more than this from its page's start is read on its own, not cached. */
const MAX_PAGE_READ = 4 * PAGE;
/** Pages one store keeps. */
const PAGES_MAX_BYTES = 8 * 1024 * 1024;

/** Page bytes held by all readers, and their bound (evictions start with the least recent page of all). */
let globalPageBytes = 0;
let globalPageMax = 64 * 1024 * 1024;
/** Every cached page of every reader, least recently used first. */
const globalPages = new Map<Page, BlockReader>();

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
  /** bytes of the block from no * PAGE */
  buf: Buffer;
}

export interface RawRead {
  buf: Buffer;
  pos: number;
  end: number;
}

export class BlockReader {
  private readonly fds = new Map<number, number>();
  private win: { blk: Block; off: number; buf: Buffer } | undefined;
  private lastBlk: Block | undefined;
  private lastEnd = -1;
  /** block index → page number → page */
  private readonly pages = new Map<number, Map<number, Page>>();
  private pageBytes = 0;
  /** reads served or made since the last idle check */
  private used = false;
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

  /** The record at off from its page (loaded if need be), or undefined to read it directly. */
  private fromPage(blk: Block, off: number, want: number, avail: number): RawRead | undefined {
    this.used = true;
    const no = Math.floor(off / PAGE);
    const p0 = no * PAGE;
    const pos = off - p0;
    let byNo = this.pages.get(blk.index);
    let page = byNo?.get(no);
    if (page !== undefined) {
      const b = page.buf;
      if (pos + HDR <= b.length) {
        const len = b.readUInt32LE(pos + 4);
        if (len >= HDR && pos + len <= b.length) {
          this.pageStats.hits++;
          // most recent last
          globalPages.delete(page);
          globalPages.set(page, this);
          return { buf: b, pos, end: b.length };
        }
      }
      // the record is past what the page holds (the block has grown since): load it again
      this.dropPage(page);
      page = undefined;
    }
    let n = pos + want > PAGE ? pos + want : PAGE;
    if (n > MAX_PAGE_READ) return undefined;
    if (n > pos + avail) n = pos + avail;
    const buf = Buffer.allocUnsafeSlow(n);
    let got = 0;
    try {
      const fd = this.fd(blk);
      while (got < n) {
        const r = readSync(fd, buf, got, n - got, p0 + got);
        if (r === 0) break;
        got += r;
      }
    } catch {
      return undefined;
    }
    if (got <= pos) return undefined;
    const out = got === n ? buf : buf.subarray(0, got);
    this.pageStats.loads++;
    page = { blk, no, buf: out };
    if (byNo === undefined) {
      byNo = new Map();
      this.pages.set(blk.index, byNo);
    }
    byNo.set(no, page);
    globalPages.set(page, this);
    this.pageBytes += out.length;
    globalPageBytes += out.length;
    while (this.pageBytes > PAGES_MAX_BYTES) this.dropOldestOwn();
    while (globalPageBytes > globalPageMax && globalPages.size > 0) {
      const [p, owner] = globalPages.entries().next().value as [Page, BlockReader];
      owner.dropPage(p);
    }
    return { buf: out, pos, end: out.length };
  }

  private dropOldestOwn(): void {
    for (const [p, owner] of globalPages) {
      if (owner === this) {
        this.dropPage(p);
        return;
      }
    }
  }

  private dropPage(p: Page): void {
    if (!globalPages.delete(p)) return;
    const byNo = this.pages.get(p.blk.index);
    if (byNo !== undefined && byNo.get(p.no) === p) {
      byNo.delete(p.no);
      if (byNo.size === 0) this.pages.delete(p.blk.index);
    }
    this.pageBytes -= p.buf.length;
    globalPageBytes -= p.buf.length;
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
