// The memory store: message bodies kept in the index's object column; everything else is BaseStore.

import { BaseStore, type DropMode } from "./base.js";
import { MemoryConsumerStore } from "./consumer-state.js";
import type { Segment } from "./seq-index.js";
import type { ConsumerStore, StoreConfig, StoredMsg } from "./types.js";

/**
 * Message bodies are copied into shared slabs (one allocation per 256 KiB instead of one per
 * message). A slab is freed when its last message goes; one that is mostly deleted has its live
 * bodies moved to the current slab, so memory stays proportional to what is stored.
 */
class Slab {
  used = 0;
  live = 0;
  /** Sequences whose bodies were placed here (some may have moved or gone since). */
  seqs: number[] = [];
  constructor(readonly buf: Buffer) {}
}

interface Body {
  slab: Slab;
  off: number;
  hl: number;
  dl: number;
  ttl: number;
}

const SLAB = 256 * 1024;
const EMPTY = Buffer.alloc(0);

export interface MemoryStoreOptions {
  /**
   * Count bytes as the file store does (nats-server's file record size) instead of the memory
   * store's. Lets a memory store serve as an exact oracle for a file store in tests.
   */
  fileAccounting?: boolean;
}

/** nats-server memStoreMsgSize: subject + headers + payload + 16 (seq and timestamp). */
export function memMsgSize(subjLen: number, hdrLen: number, dataLen: number): number {
  return subjLen + hdrLen + dataLen + 16;
}

/** nats-server fileStoreMsgSize: the size of its on-disk record. */
export function fileMsgSize(subjLen: number, hdrLen: number, dataLen: number): number {
  return hdrLen === 0 ? 22 + subjLen + dataLen + 8 : 22 + subjLen + 4 + hdrLen + dataLen + 8;
}

export class MemoryStore extends BaseStore {
  readonly type = "memory" as const;
  private readonly consumers = new Map<string, MemoryConsumerStore>();
  private meta: unknown;
  private readonly size: (s: number, h: number, d: number) => number;

  constructor(cfg: StoreConfig, opts?: MemoryStoreOptions) {
    super({ ...cfg, storage: "memory" }, false, true);
    this.size = opts?.fileAccounting ? fileMsgSize : memMsgSize;
    const first = cfg.first_seq ?? 0;
    if (first > 0) this.compact(first);
  }

  protected sizeOf(subjLen: number, hdrLen: number, dataLen: number): number {
    return this.size(subjLen, hdrLen, dataLen);
  }

  private slab = new Slab(Buffer.allocUnsafeSlow(SLAB));

  /** Room for n bytes: the current slab, a fresh one, or a dedicated one for large bodies. */
  private place(n: number): Slab {
    if (n > SLAB / 8) return new Slab(Buffer.allocUnsafeSlow(n));
    if (this.slab.used + n > SLAB) this.slab = new Slab(Buffer.allocUnsafeSlow(SLAB));
    return this.slab;
  }

  protected writeMsg(seq: number, _ts: bigint, _subject: string, hdr: Buffer | undefined, data: Buffer, ttl: number, seg: Segment, slot: number): void {
    // Copy: the caller's buffers are usually slices of a socket read.
    const hl = hdr === undefined ? 0 : hdr.length;
    const dl = data.length;
    const slab = this.place(hl + dl);
    const off = slab.used;
    if (hl > 0) slab.buf.set(hdr!, off);
    if (dl > 0) slab.buf.set(data, off + hl);
    slab.used += hl + dl;
    slab.live += hl + dl;
    slab.seqs.push(seq);
    seg.ref![slot] = { slab, off, hl, dl, ttl } satisfies Body;
  }

  protected readMsg(seq: number, seg: Segment, slot: number): StoredMsg | undefined {
    const body = seg.ref![slot] as Body | undefined;
    if (body === undefined) return undefined;
    const { buf } = body.slab;
    const h0 = body.off;
    return {
      seq,
      subject: this.subs.byId(seg.subj(slot))!.name,
      hdr: body.hl > 0 ? buf.subarray(h0, h0 + body.hl) : undefined,
      data: body.dl > 0 ? buf.subarray(h0 + body.hl, h0 + body.hl + body.dl) : EMPTY,
      ts: seg.ts(slot),
      ttl: body.ttl,
    };
  }

  protected dropMsg(seq: number, seg: Segment, slot: number, mode: DropMode): void {
    const body = seg.ref![slot] as Body | undefined;
    if (body === undefined) return;
    const n = body.hl + body.dl;
    const slab = body.slab;
    if (mode === "erase") slab.buf.fill(0, body.off, body.off + n);
    slab.live -= n;
    if (slab !== this.slab && slab.live > 0 && slab.live < slab.used / 4) this.moveLive(slab, seq);
  }

  /** Move the live bodies of a mostly-empty slab to the current one so it can be freed. */
  private moveLive(old: Slab, dropping: number): void {
    old.live = 0; // nothing more will be counted against it
    for (const seq of old.seqs) {
      const seg = seq === dropping ? undefined : this.idx.seg(seq);
      if (seg === undefined) continue;
      const body = seg.ref![seq - seg.base] as Body;
      if (body.slab !== old) continue;
      const n = body.hl + body.dl;
      const to = this.place(n);
      old.buf.copy(to.buf, to.used, body.off, body.off + n);
      body.slab = to;
      body.off = to.used;
      to.used += n;
      to.live += n;
      to.seqs.push(seq);
    }
    old.seqs = [];
  }

  protected writePurge(): void {}
  protected writeCompact(): void {}
  protected writeTruncate(): void {}
  protected writeSkip(): void {}

  afterWrite(cb: (err?: Error) => void): void {
    queueMicrotask(() => cb());
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  sync(): void {}

  consumerStore(name: string): ConsumerStore {
    this.checkOpen();
    let c = this.consumers.get(name);
    if (c === undefined) {
      c = new MemoryConsumerStore(name, (n) => this.consumers.delete(n));
      this.consumers.set(name, c);
    }
    return c;
  }

  consumerNames(): string[] {
    return [...this.consumers.values()].filter((c) => c.hasData()).map((c) => c.name);
  }

  writeMeta(meta: unknown): void {
    this.meta = structuredClone(meta);
  }

  readMeta(): unknown | undefined {
    return this.meta === undefined ? undefined : structuredClone(this.meta);
  }

  delete(): void {
    this.stop();
    this.idx.clear();
    this.consumers.clear();
  }
}
