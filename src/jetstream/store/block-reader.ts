// Reads of block files for the file store: an LRU of read descriptors, and one read window that
// serves runs of records from a single read (sequential consumers read ahead 128 KiB at a time).

import { closeSync, openSync, readSync } from "node:fs";
import type { Block } from "./block.js";
import { HDR } from "./record.js";

const READ_AHEAD = 128 * 1024;
const MAX_READ_FDS = 16;

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
  }

  /** Drop the read window only (data of blk changed in place). */
  forgetWindow(blk: Block): void {
    if (this.win?.blk === blk) this.win = undefined;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.win = undefined;
    this.lastBlk = undefined;
  }
}
