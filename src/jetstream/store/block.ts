// One block file of the file store and what the store knows about it without reading it.

import { closeSync, fsync } from "node:fs";
import { join } from "node:path";

export function blockFileName(index: number): string {
  return `${String(index).padStart(8, "0")}.blk`;
}

export const BLOCK_FILE = /^(\d{8,})\.blk$/;

/**
 * A set of sequences as a bitmap over the range it has seen: the deleted messages of one block lie
 * within the block's range of sequences, so this costs one bit per sequence of that range at most
 * (a Set would cost tens of bytes per deleted message).
 */
export class SeqBits {
  private base = 0;
  private bits = new Uint8Array(0);
  size = 0;

  has(seq: number): boolean {
    const i = seq - this.base;
    return i >= 0 && i < this.bits.length * 8 && (this.bits[i >>> 3] & (1 << (i & 7))) !== 0;
  }

  add(seq: number): void {
    if (this.has(seq)) return;
    this.cover(seq);
    const i = seq - this.base;
    this.bits[i >>> 3] |= 1 << (i & 7);
    this.size++;
  }

  clear(): void {
    this.base = 0;
    this.bits = new Uint8Array(0);
    this.size = 0;
  }

  private cover(seq: number): void {
    const b = this.bits;
    if (b.length === 0) {
      this.base = Math.floor(seq / 8) * 8;
      this.bits = new Uint8Array(16);
      return;
    }
    if (seq < this.base) {
      // Grow downwards with some slack (deletes below the first one seen are usually near it).
      const nb = Math.max(0, Math.floor(seq / 8) * 8 - (b.length >> 1) * 8);
      const shift = (this.base - nb) / 8;
      const n = new Uint8Array(b.length + shift);
      n.set(b, shift);
      this.base = nb;
      this.bits = n;
      return;
    }
    const need = ((seq - this.base) >>> 3) + 1;
    if (need > b.length) {
      const n = new Uint8Array(Math.max(need, b.length * 2));
      n.set(b);
      this.bits = n;
    }
  }
}

export class Block {
  /** Bytes in the block, including records not yet written to the OS. */
  size = 0;
  /** Bytes written to the OS. */
  written = 0;
  /** Live messages in this block and their accounted size. */
  live = 0;
  liveBytes = 0;
  /** Accounted size of deleted messages still physically here (reclaimable by compaction). */
  deadBytes = 0;
  /** Deleted messages still physically in this block (their tombstones may live in later blocks). */
  readonly dmap = new SeqBits();
  /**
   * Sequences of this block's tombstones that may still be needed (pruneTombs drops the others:
   * once a tombstone is not needed it never is again), and the largest tombstone in the file.
   */
  tombs: number[] = [];
  maxTomb = 0;
  /** FLOOR records this block holds. */
  floors: number[] = [];
  /** Range of message records (live or not) physically in the block; 0 when none. */
  firstSeq = 0;
  lastSeq = 0;
  /** Largest MARK/FLOOR sequence recorded in the block. */
  maxMark = 0;
  /** Write descriptor (the active block, or one being synced before close). */
  wfd = -1;
  private syncing = false;
  private closeAfterSync = -1;
  removed = false;

  constructor(
    readonly index: number,
    readonly path: string,
  ) {}

  static at(dir: string, index: number): Block {
    return new Block(index, join(dir, blockFileName(index)));
  }

  addTomb(seq: number): void {
    this.tombs.push(seq);
    if (seq > this.maxTomb) this.maxTomb = seq;
  }

  notePhys(seq: number): void {
    if (this.firstSeq === 0 || seq < this.firstSeq) this.firstSeq = seq;
    if (seq > this.lastSeq) this.lastSeq = seq;
  }

  resetStats(): void {
    this.live = 0;
    this.liveBytes = 0;
    this.deadBytes = 0;
    this.dmap.clear();
    this.tombs = [];
    this.maxTomb = 0;
    this.floors = [];
    this.firstSeq = 0;
    this.lastSeq = 0;
    this.maxMark = 0;
  }

  /** fsync the write descriptor in the background; cb runs when done. */
  syncAsync(cb?: (err: Error | null) => void): void {
    const fd = this.wfd;
    if (fd < 0 || this.syncing) {
      cb?.(null);
      return;
    }
    this.syncing = true;
    fsync(fd, (err) => {
      this.syncing = false;
      if (this.closeAfterSync >= 0) {
        const c = this.closeAfterSync;
        this.closeAfterSync = -1;
        try {
          closeSync(c);
        } catch {
          // already closed
        }
      }
      cb?.(err);
    });
  }

  /** Close the write descriptor (after a background fsync finishes, if one is running). */
  closeWrite(): void {
    const fd = this.wfd;
    this.wfd = -1;
    if (fd < 0) return;
    if (this.syncing) this.closeAfterSync = fd;
    else closeSync(fd);
  }
}

// Whether a block can go: its tombstones and floors must no longer hide messages in other blocks.

/** The block whose message records span seq (binary search over the blocks that hold messages). */
export function physBlock(blocks: readonly Block[], seq: number): Block | undefined {
  let lo = 0;
  let hi = blocks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    let m = mid;
    while (m >= lo && blocks[m].firstSeq === 0) m--; // blocks with no message records
    if (m < lo) {
      lo = mid + 1;
      continue;
    }
    const b = blocks[m];
    if (seq < b.firstSeq) hi = m - 1;
    else if (seq > b.lastSeq) lo = mid + 1;
    else return b;
  }
  return undefined;
}

/** A tombstone in block b is needed while the message it deletes is still physically in another block. */
export function tombNeeded(blocks: readonly Block[], seq: number, b: Block): boolean {
  const m = physBlock(blocks, seq);
  return m !== undefined && m !== b && m.dmap.has(seq);
}

/** A FLOOR in block b is needed while another block holds message records below it. */
export function floorNeeded(blocks: readonly Block[], floor: number, b: Block): boolean {
  for (const m of blocks) if (m !== b && m.firstSeq > 0 && m.firstSeq < floor) return true;
  return false;
}

/** Forget the tombstones of b that no longer hide anything (memory; the records stay in the file). */
export function pruneTombs(blocks: readonly Block[], b: Block): void {
  if (b.tombs.length > 0) b.tombs = b.tombs.filter((t) => tombNeeded(blocks, t, b));
}

export function removable(blocks: readonly Block[], b: Block): boolean {
  pruneTombs(blocks, b);
  if (b.tombs.length > 0) return false;
  for (const f of b.floors) if (floorNeeded(blocks, f, b)) return false;
  return true;
}
