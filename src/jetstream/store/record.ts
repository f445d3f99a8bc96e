// The file store's record format. Every record, little-endian:
//
//   off size
//    0   4   CRC-32C of bytes [4, len)
//    4   4   len: total record length (>= 40)
//    8   1   type (below)
//    9   1   flags (0)
//   10   2   subject length
//   12   4   header length
//   16   8   seq (float64: exact integer up to 2^53)
//   24   8   ts, ns since the epoch (int64)
//   32   8   ttl in ms (float64; 0 none, < 0 never)
//   40   ..  subject (latin1), headers, payload (the rest of len)
//
// Types: MSG a message; DEL a tombstone (seq = the deleted message, ts = when); ERASED a message
// overwritten in place (same length, zeroed body); FLOOR every sequence below seq is gone and the
// next message is at least seq; MARK the next message is at least seq (written first in every
// block, and by skipMsgs/truncate). FLOOR and MARK carry the stream's last timestamp as ts.

import { crc32c } from "./crc32c.js";

export const HDR = 40;
export const MSG = 1;
export const DEL = 2;
export const ERASED = 3;
export const FLOOR = 4;
export const MARK = 5;

export interface RecordView {
  type: number;
  len: number;
  seq: number;
  ts: bigint;
  ttl: number;
  subjLen: number;
  hdrLen: number;
}

export function recordLength(subjLen: number, hdrLen: number, dataLen: number): number {
  return HDR + subjLen + hdrLen + dataLen;
}

let lastBuf: Buffer | undefined;
let lastView: DataView | undefined;

/** A DataView over buf (cached for the arena being filled). */
function viewOf(buf: Buffer): DataView {
  if (buf !== lastBuf) {
    lastBuf = buf;
    lastView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  return lastView!;
}

/** Encode a record into buf at pos (buf must have recordLength bytes free). Returns the length. */
export function encodeRecord(
  buf: Buffer,
  pos: number,
  type: number,
  seq: number,
  ts: bigint,
  ttl: number,
  subject: string,
  hdr: Buffer | undefined,
  data: Buffer | undefined,
): number {
  const sl = subject.length;
  const hl = hdr === undefined ? 0 : hdr.length;
  const dl = data === undefined ? 0 : data.length;
  const len = HDR + sl + hl + dl;
  const v = viewOf(buf);
  v.setUint32(pos + 4, len, true);
  buf[pos + 8] = type;
  buf[pos + 9] = 0;
  v.setUint16(pos + 10, sl, true);
  v.setUint32(pos + 12, hl, true);
  v.setFloat64(pos + 16, seq, true);
  v.setBigInt64(pos + 24, ts, true);
  v.setFloat64(pos + 32, ttl, true);
  let p = pos + HDR;
  if (sl > 0) {
    if (sl <= 32) for (let i = 0; i < sl; i++) buf[p++] = subject.charCodeAt(i);
    else p += buf.latin1Write(subject, p, sl);
  }
  if (hl > 0) {
    buf.set(hdr!, p);
    p += hl;
  }
  if (dl > 0) buf.set(data!, p);
  v.setUint32(pos, crc32c(buf, pos + 4, pos + len), true);
  return len;
}

/**
 * Check the record at pos within [pos, end): plausible header and matching checksum.
 * Returns its length, or 0 when there is no valid record there.
 */
export function validRecordAt(buf: Uint8Array, pos: number, end: number): number {
  if (end - pos < HDR) return 0;
  const type = buf[pos + 8];
  if (type < MSG || type > MARK || buf[pos + 9] !== 0) return 0;
  const len = (buf[pos + 4] | (buf[pos + 5] << 8) | (buf[pos + 6] << 16) | (buf[pos + 7] << 24)) >>> 0;
  if (len < HDR || len > end - pos) return 0;
  const sl = buf[pos + 10] | (buf[pos + 11] << 8);
  const hl = (buf[pos + 12] | (buf[pos + 13] << 8) | (buf[pos + 14] << 16) | (buf[pos + 15] << 24)) >>> 0;
  if (sl + hl > len - HDR) return 0;
  const crc = (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
  return crc32c(buf, pos + 4, pos + len) === crc ? len : 0;
}

/** Read the fixed fields of a record already validated. */
export function viewRecord(buf: Buffer, pos: number): RecordView {
  return {
    type: buf[pos + 8],
    len: buf.readUInt32LE(pos + 4),
    seq: buf.readDoubleLE(pos + 16),
    ts: buf.readBigInt64LE(pos + 24),
    ttl: buf.readDoubleLE(pos + 32),
    subjLen: buf.readUInt16LE(pos + 10),
    hdrLen: buf.readUInt32LE(pos + 12),
  };
}

/** Turn the (valid) MSG record at pos into an ERASED one in place: same length and sequence, zeroed body. */
export function eraseRecordInPlace(buf: Buffer, pos: number): void {
  const len = buf.readUInt32LE(pos + 4);
  buf[pos + 8] = ERASED;
  buf.fill(0, pos + HDR, pos + len);
  buf.writeUInt32LE(crc32c(buf, pos + 4, pos + len), pos);
}

/** The next offset after pos where a valid record starts, or -1 (resynchronising after damage). */
export function findNextRecord(buf: Uint8Array, pos: number, end: number): number {
  for (let p = pos; p + HDR <= end; p++) {
    const t = buf[p + 8];
    if (t < MSG || t > MARK || buf[p + 9] !== 0) continue;
    if (validRecordAt(buf, p, end) > 0) return p;
  }
  return -1;
}

/**
 * Visit the valid records of buf[0, end) in order, skipping damaged stretches inside (reported to
 * onDamage). Returns the end of the last valid record: anything after it is a damaged tail.
 */
export function forEachRecord(buf: Buffer, end: number, onRecord: (pos: number, len: number) => void, onDamage?: (from: number, to: number) => void): number {
  let pos = 0;
  while (pos < end) {
    const len = validRecordAt(buf, pos, end);
    if (len === 0) {
      const next = findNextRecord(buf, pos + 1, end);
      if (next < 0) return pos;
      onDamage?.(pos, next);
      pos = next;
      continue;
    }
    onRecord(pos, len);
    pos += len;
  }
  return end;
}
