// One block file of the file store and what the store knows about it without reading it.

import { closeSync, fsync } from "node:fs";
import { join } from "node:path";

export function blockFileName(index: number): string {
  return `${String(index).padStart(8, "0")}.blk`;
}

export const BLOCK_FILE = /^(\d{8,})\.blk$/;

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
  readonly dmap = new Set<number>();
  /** Sequences of the tombstones this block holds. */
  tombs: number[] = [];
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

export function removable(blocks: readonly Block[], b: Block): boolean {
  for (const t of b.tombs) if (tombNeeded(blocks, t, b)) return false;
  for (const f of b.floors) if (floorNeeded(blocks, f, b)) return false;
  return true;
}
