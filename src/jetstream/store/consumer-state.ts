// Consumer state (nats-server's ConsumerState) in a compact binary form, and the memory consumer
// store. Layout: magic 0x4A 'J', version 1, then varints: ack floor (consumer, stream), delivered
// (consumer, stream), pending count, [if pending: base ts as 8-byte LE int, then per entry:
// zigzag(stream seq - ack floor stream), zigzag(consumer seq - ack floor consumer), ts - base],
// redelivered count, per entry: zigzag(stream seq - ack floor stream), count; then CRC-32C (LE) of
// everything before it.

import { crc32c } from "./crc32c.js";
import type { ConsumerState, ConsumerStore, PendingEntry } from "./types.js";

const MAGIC = 0x4a;
const VERSION = 1;

class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  uvarint(n: number): void {
    this.ensure(10);
    if (!(n >= 0)) n = 0;
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }
  varint(n: number): void {
    this.uvarint(n >= 0 ? n * 2 : -n * 2 - 1);
  }
  i64(n: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(n, this.pos);
    this.pos += 8;
  }
}

class Reader {
  pos = 0;
  ok = true;
  constructor(
    private readonly buf: Buffer,
    private readonly end: number,
  ) {}
  byte(): number {
    if (this.pos >= this.end) {
      this.ok = false;
      return 0;
    }
    return this.buf[this.pos++];
  }
  uvarint(): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      if (!this.ok) return 0;
      n += (b & 127) * mul;
      if (b < 128) return n;
      mul *= 128;
    }
    this.ok = false;
    return 0;
  }
  varint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  i64(): bigint {
    if (this.pos + 8 > this.end) {
      this.ok = false;
      return 0n;
    }
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
}

export function encodeConsumerState(st: ConsumerState): Buffer {
  const pending = st.pending;
  const redelivered = st.redelivered;
  const w = new Writer(64 + (pending?.size ?? 0) * 16 + (redelivered?.size ?? 0) * 8);
  w.byte(MAGIC);
  w.byte(VERSION);
  const af = st.ack_floor;
  w.uvarint(af.consumer_seq);
  w.uvarint(af.stream_seq);
  w.uvarint(st.delivered.consumer_seq);
  w.uvarint(st.delivered.stream_seq);
  w.uvarint(pending?.size ?? 0);
  if (pending !== undefined && pending.size > 0) {
    let base: bigint | undefined;
    for (const p of pending.values()) if (base === undefined || p.ts < base) base = p.ts;
    w.i64(base!);
    for (const [sseq, p] of pending) {
      w.varint(sseq - af.stream_seq);
      w.varint(p.sequence - af.consumer_seq);
      const d = p.ts - base!;
      w.uvarint(d > 9007199254740991n ? 9007199254740991 : Number(d));
    }
  }
  w.uvarint(redelivered?.size ?? 0);
  if (redelivered !== undefined) {
    for (const [sseq, n] of redelivered) {
      w.varint(sseq - af.stream_seq);
      w.uvarint(n);
    }
  }
  const crc = crc32c(w.buf, 0, w.pos);
  w.ensure(4);
  w.buf.writeUInt32LE(crc, w.pos);
  w.pos += 4;
  return w.buf.subarray(0, w.pos);
}

/** Decode; undefined when the bytes are damaged or not a consumer state. */
export function decodeConsumerState(buf: Buffer): ConsumerState | undefined {
  if (buf.length < 7 || buf[0] !== MAGIC || buf[1] !== VERSION) return undefined;
  const end = buf.length - 4;
  if (crc32c(buf, 0, end) !== buf.readUInt32LE(end)) return undefined;
  const r = new Reader(buf, end);
  r.pos = 2;
  const ack_floor = { consumer_seq: r.uvarint(), stream_seq: r.uvarint() };
  const delivered = { consumer_seq: r.uvarint(), stream_seq: r.uvarint() };
  const st: ConsumerState = { delivered, ack_floor };
  const np = r.uvarint();
  if (np > 0) {
    const base = r.i64();
    const pending = new Map<number, PendingEntry>();
    for (let i = 0; i < np && r.ok; i++) {
      const sseq = r.varint() + ack_floor.stream_seq;
      const sequence = r.varint() + ack_floor.consumer_seq;
      const ts = base + BigInt(r.uvarint());
      pending.set(sseq, { sequence, ts });
    }
    st.pending = pending;
  }
  const nr = r.uvarint();
  if (nr > 0) {
    const red = new Map<number, number>();
    for (let i = 0; i < nr && r.ok; i++) {
      const sseq = r.varint() + ack_floor.stream_seq;
      red.set(sseq, r.uvarint());
    }
    st.redelivered = red;
  }
  return r.ok && r.pos === end ? st : undefined;
}

/** Deep copy (the stores keep the caller's object until they write it; copies for load()). */
export function cloneConsumerState(st: ConsumerState): ConsumerState {
  const c: ConsumerState = {
    delivered: { consumer_seq: st.delivered.consumer_seq, stream_seq: st.delivered.stream_seq },
    ack_floor: { consumer_seq: st.ack_floor.consumer_seq, stream_seq: st.ack_floor.stream_seq },
  };
  if (st.pending !== undefined) {
    c.pending = new Map();
    for (const [k, v] of st.pending) c.pending.set(k, { sequence: v.sequence, ts: v.ts });
  }
  if (st.redelivered !== undefined) c.redelivered = new Map(st.redelivered);
  return c;
}

export class MemoryConsumerStore implements ConsumerStore {
  private st: ConsumerState | undefined;
  private meta: unknown;
  constructor(
    readonly name: string,
    private readonly onDelete: (name: string) => void,
  ) {}
  update(state: ConsumerState): void {
    this.st = state; // kept by reference, copied on load()
  }
  load(): ConsumerState | undefined {
    return this.st === undefined ? undefined : cloneConsumerState(this.st);
  }
  writeMeta(meta: unknown): void {
    this.meta = structuredClone(meta);
  }
  readMeta(): unknown | undefined {
    return this.meta === undefined ? undefined : structuredClone(this.meta);
  }
  hasData(): boolean {
    return this.st !== undefined || this.meta !== undefined;
  }
  flush(): void {}
  stop(): void {}
  delete(): void {
    this.st = undefined;
    this.meta = undefined;
    this.onDelete(this.name);
  }
}
