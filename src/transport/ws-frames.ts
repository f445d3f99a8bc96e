// RFC 6455 framing, server side, read as a byte stream. nats-server hands each frame's payload
// to its parser as it arrives, never waiting for a whole message: a client may split protocol
// data across frames, or batch many messages into one frame of any size, and MQTT over
// WebSocket allows the same (MQTT 5 §6.0). So data frames are streamed here, slice by slice,
// with no message size limit of their own; the protocol parser above bounds what it buffers
// (max_payload, max_control_line, the MQTT maximum packet size).
import { endianness } from "node:os";

/** WebSocket close codes (RFC 6455 §7.4.1). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
/** Never sent in a close frame: the peer sees it when the TCP connection ends without one. */
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_MESSAGE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_TLS_HANDSHAKE = 1015;

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

const FIN = 0x80;
const RSV1 = 0x40;
const RSV23 = 0x30;
const MASK = 0x80;
const MAX_CONTROL_PAYLOAD = 125;
const LITTLE_ENDIAN = endianness() === "LE";

export interface FrameHandler {
  /** A slice of a data message's payload, unmasked (still compressed when `compressed`). */
  data(payload: Buffer, compressed: boolean): void;
  /** The last byte of a data message was passed to `data`. Returns false to stop reading. */
  messageEnd(compressed: boolean): boolean;
  /** A whole control frame (close, ping, pong). Returns false to stop reading. */
  control(opcode: number, payload: Buffer): boolean;
  /** The peer broke the framing rules: close with this code and text. */
  error(code: number, text: string): void;
}

/**
 * Reads frames from a byte stream. Data frame payloads are handed on as they arrive (unmasked
 * in place: the chunks are the reader's own); control frames are gathered whole (≤ 125 bytes).
 */
export class FrameReader {
  /** bytes of an unfinished frame header */
  private head: Buffer | undefined;
  /** payload bytes left in the current frame; -1 between frames */
  private left = -1;
  private opcode = 0;
  private fin = false;
  private readonly mask = Buffer.alloc(4);
  private maskPos = 0;
  /** a data message is in progress (its last frame not yet read) */
  private inMessage = false;
  private messageCompressed = false;
  /** control frame payload gathered so far */
  private control: Buffer[] = [];
  private failed = false;

  constructor(
    private readonly handler: FrameHandler,
    /** permessage-deflate was negotiated (RSV1 may be set on a message's first frame) */
    private readonly compression: boolean,
  ) {}

  /**
   * Reads `chunk`. Returns the unread rest when the handler asked to stop (the caller passes
   * it in again to go on), else undefined.
   */
  push(chunk: Buffer): Buffer | undefined {
    let pos = 0;
    while (pos < chunk.length && !this.failed) {
      if (this.left < 0) {
        const used = this.readHeader(chunk, pos);
        if (used < 0) return undefined; // header incomplete (kept) or failed
        pos = used;
        if (this.left === 0 && !this.frameDone()) return pos < chunk.length ? chunk.subarray(pos) : undefined;
        continue;
      }
      const n = Math.min(this.left, chunk.length - pos);
      const part = chunk.subarray(pos, pos + n);
      pos += n;
      this.left -= n;
      this.unmask(part);
      if (this.opcode >= OP_CLOSE) this.control.push(part);
      else if (n > 0) this.handler.data(part, this.messageCompressed);
      if (this.left === 0 && !this.frameDone()) return pos < chunk.length ? chunk.subarray(pos) : undefined;
    }
    return undefined;
  }

  /** The current frame's payload is read. Returns false when the handler asked to stop. */
  private frameDone(): boolean {
    this.left = -1;
    if (this.opcode >= OP_CLOSE) {
      const payload = this.control.length === 1 ? this.control[0] : Buffer.concat(this.control);
      this.control = [];
      return this.handler.control(this.opcode, payload);
    }
    if (!this.fin) return true;
    this.inMessage = false;
    return this.handler.messageEnd(this.messageCompressed);
  }

  /** Parses a frame header starting at `pos`; returns where its payload starts, or -1. */
  private readHeader(chunk: Buffer, pos: number): number {
    let buf = chunk;
    let start = pos;
    if (this.head) {
      buf = Buffer.concat([this.head, chunk.subarray(pos, pos + 14)]);
      start = 0;
    }
    const avail = buf.length - start;
    if (avail < 2) return this.keepHead(buf, start);
    const b0 = buf[start];
    const b1 = buf[start + 1];
    const len7 = b1 & 0x7f;
    const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + 4;
    if (avail < need) return this.keepHead(buf, start);
    const consumedBefore = this.head ? this.head.length : 0;
    this.head = undefined;

    const opcode = b0 & 0x0f;
    const fin = (b0 & FIN) !== 0;
    const rsv1 = (b0 & RSV1) !== 0;
    if ((b1 & MASK) === 0) return this.fail(CLOSE_PROTOCOL_ERROR, "mask bit missing");
    if ((b0 & RSV23) !== 0) return this.fail(CLOSE_PROTOCOL_ERROR, "reserved bits set");
    let len = len7;
    let p = start + 2;
    if (len7 === 126) {
      len = buf.readUInt16BE(p);
      p += 2;
    } else if (len7 === 127) {
      const hi = buf.readUInt32BE(p);
      // payloads beyond 2^53 cannot be counted exactly (and no peer sends them)
      if (hi > 0x1fffff) return this.fail(CLOSE_MESSAGE_TOO_BIG, "frame length too large");
      len = hi * 0x1_0000_0000 + buf.readUInt32BE(p + 4);
      p += 8;
    }
    buf.copy(this.mask, 0, p, p + 4);
    p += 4;
    this.maskPos = 0;

    if (opcode >= OP_CLOSE) {
      if (opcode !== OP_CLOSE && opcode !== OP_PING && opcode !== OP_PONG) return this.fail(CLOSE_PROTOCOL_ERROR, `unknown opcode ${opcode}`);
      if (len > MAX_CONTROL_PAYLOAD) {
        return this.fail(CLOSE_PROTOCOL_ERROR, `control frame length bigger than maximum allowed of ${MAX_CONTROL_PAYLOAD} bytes`);
      }
      if (!fin) return this.fail(CLOSE_PROTOCOL_ERROR, "control frame does not have final bit set");
      if (rsv1) return this.fail(CLOSE_PROTOCOL_ERROR, "compressed control frame");
    } else if (opcode === OP_TEXT || opcode === OP_BINARY) {
      if (this.inMessage) return this.fail(CLOSE_PROTOCOL_ERROR, "new message started before final frame for previous message was received");
      if (rsv1 && !this.compression) return this.fail(CLOSE_PROTOCOL_ERROR, "compressed frame without compression negotiated");
      this.inMessage = true;
      this.messageCompressed = rsv1;
    } else if (opcode === OP_CONTINUATION) {
      if (!this.inMessage || rsv1) return this.fail(CLOSE_PROTOCOL_ERROR, "invalid continuation frame");
    } else {
      return this.fail(CLOSE_PROTOCOL_ERROR, `unknown opcode ${opcode}`);
    }
    this.opcode = opcode;
    this.fin = fin;
    this.left = len;
    // where the payload starts in `chunk`
    return pos + (p - start) - consumedBefore;
  }

  private keepHead(buf: Buffer, start: number): number {
    // at most 14 header bytes are ever kept: the rest of the chunk was not taken from it
    this.head = Buffer.from(buf.subarray(start));
    return -1;
  }

  private fail(code: number, text: string): number {
    this.failed = true;
    this.handler.error(code, text);
    return -1;
  }

  /** XORs the mask in, four bytes at a time over the aligned middle (5x faster than bytewise on 1 MB). */
  private unmask(b: Buffer): void {
    const m = this.mask;
    let p = this.maskPos;
    const n = b.length;
    let i = 0;
    if (LITTLE_ENDIAN && n >= 32) {
      while (((b.byteOffset + i) & 3) !== 0) {
        b[i++] ^= m[p];
        p = (p + 1) & 3;
      }
      const words = (n - i) >>> 2;
      const w = new Uint32Array(b.buffer, b.byteOffset + i, words);
      const key = (m[p] | (m[(p + 1) & 3] << 8) | (m[(p + 2) & 3] << 16) | (m[(p + 3) & 3] << 24)) >>> 0;
      for (let k = 0; k < words; k++) w[k] ^= key;
      i += words * 4;
    }
    for (; i < n; i++) {
      b[i] ^= m[p];
      p = (p + 1) & 3;
    }
    this.maskPos = p;
  }
}

/** A server frame header (servers never mask). */
export function frameHeader(opcode: number, length: number, compressed = false): Buffer {
  const b0 = FIN | opcode | (compressed ? RSV1 : 0);
  if (length < 126) return Buffer.from([b0, length]);
  if (length < 0x10000) {
    const h = Buffer.allocUnsafe(4);
    h[0] = b0;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.allocUnsafe(10);
  h[0] = b0;
  h[1] = 127;
  h.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
  h.writeUInt32BE(length >>> 0, 6);
  return h;
}

/** A close frame's payload: the status, then the reason cut to fit a control frame. */
export function closePayload(code: number, reason: string): Buffer {
  let text = Buffer.from(reason, "utf8");
  if (text.length > MAX_CONTROL_PAYLOAD - 2) {
    // nats-server cuts long reasons and marks the cut with "..."
    text = Buffer.concat([text.subarray(0, MAX_CONTROL_PAYLOAD - 5), Buffer.from("...")]);
  }
  const b = Buffer.allocUnsafe(2 + text.length);
  b.writeUInt16BE(code, 0);
  text.copy(b, 2);
  return b;
}

/** Close codes a peer may send (RFC 6455 §7.4; 1004-1006 and 1015 are never on the wire). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * The close frame for a connection's closed reason, as nats-server maps its closed states
 * (wsEnqueueCloseMessage), with its reason texts. Abnormal closes (read/write errors, a stale
 * connection, TLS failures) send no frame: 1006 and 1015 are reserved for the peer to report,
 * so the TCP connection just ends and the peer sees 1006.
 */
export function closeFrameFor(reason: string): { code: number; text: string } | undefined {
  switch (reason) {
    case "Client Closed":
      return { code: CLOSE_NORMAL, text: reason };
    case "Authentication Timeout":
    case "Authentication Failure":
    case "Authentication Expired":
    case "Slow Consumer (Pending Bytes)":
    case "Slow Consumer (Write Deadline)":
    case "Maximum Connections Exceeded":
    case "Maximum Account Connections Exceeded":
    case "Maximum Control Line Exceeded":
    case "Maximum Subscriptions Exceeded":
    case "Missing Account":
    case "Credentials Revoked":
      return { code: CLOSE_POLICY_VIOLATION, text: reason };
    case "Parse Error":
    case "Protocol Violation":
    case "Bad Client Protocol Version":
      return { code: CLOSE_PROTOCOL_ERROR, text: reason };
    case "Maximum Payload Exceeded":
    case "Maximum Message Payload Exceeded":
      return { code: CLOSE_MESSAGE_TOO_BIG, text: "Maximum Message Payload Exceeded" };
    // nats-server closes lame duck clients as shut down
    case "Server Shutdown":
    case "Lame Duck Mode":
      return { code: CLOSE_GOING_AWAY, text: "Server Shutdown" };
    case "Read Error":
    case "Write Error":
    case "Stale Connection":
    case "TLS Handshake Failure":
      return undefined;
    default:
      return { code: CLOSE_INTERNAL_ERROR, text: reason };
  }
}
