// A byte scanner for the server → client side of the NATS protocol, built to count
// deliveries as fast as the socket can hand them over. It never turns a message into a
// string: for `MSG`/`HMSG` it walks the control line once, keeping the value of the last
// numeric token (the total size), then skips that many payload bytes plus CRLF, across as
// many chunks as it takes. Only the rare control ops (INFO, PING, PONG, +OK, -ERR) are
// decoded, and only when they arrive.

const CR = 13;
const LF = 10;
const SP = 32;
const TAB = 9;
const MAX_CONTROL_LINE = 64 * 1024;

export interface ScannerHandlers {
  /** The server sent PING: the owner must answer `PONG\r\n`. */
  onPing?: () => void;
  /** The server answered one of our PINGs. */
  onPong?: () => void;
  /** `-ERR '…'`: the text between the quotes (or the whole rest of the line). */
  onError?: (text: string) => void;
  /** `INFO {…}`: the JSON text. */
  onInfo?: (json: string) => void;
  /**
   * Called for every MSG/HMSG when set (slow path, for responders and requesters):
   * `line` is the control line without the CRLF (it may be a view into the chunk, valid only
   * during the call). The payload is not collected.
   */
  onMsg?: (line: Uint8Array) => void;
  /** A line the scanner does not recognise: the protocol is broken, stop reading. */
  onProtocolError?: (reason: string) => void;
}

export class NatsScanner {
  /** MSG + HMSG frames seen so far (counted when their control line is complete). */
  msgs = 0;
  /** HMSG frames among `msgs`. */
  hmsgs = 0;
  /** Payload bytes (headers + body, without CRLF) announced by the frames counted. */
  payloadBytes = 0;

  /** Bytes of payload (plus its CRLF) still to skip before the next control line. */
  private skip = 0;
  /** A control line split across chunks, collected here until its LF arrives. */
  private partial: Uint8Array = new Uint8Array(256);
  private partialLen = 0;
  private failed = false;

  constructor(private readonly h: ScannerHandlers = {}) {}

  /** Feed the next chunk read from the socket. */
  feed(buf: Uint8Array): void {
    if (this.failed) return;
    const len = buf.length;
    let i = 0;
    if (this.skip > 0) {
      if (this.skip >= len) {
        this.skip -= len;
        return;
      }
      i = this.skip;
      this.skip = 0;
    }
    if (this.partialLen > 0) {
      // Finish the control line begun in an earlier chunk.
      const nl = buf.indexOf(LF, i);
      const end = nl < 0 ? len : nl + 1;
      this.appendPartial(buf, i, end);
      if (this.failed) return;
      if (nl < 0) return;
      i = end;
      const line = this.partial;
      const n = this.partialLen;
      this.partialLen = 0;
      this.controlLine(line, 0, n);
      if (this.failed) return;
      if (this.skip > 0) {
        const left = len - i;
        if (this.skip >= left) {
          this.skip -= left;
          return;
        }
        i += this.skip;
        this.skip = 0;
      }
    }
    const wantLines = this.h.onMsg !== undefined;
    while (i < len) {
      const c = buf[i];
      if (c === 77 /* M */ && !wantLines) {
        // Fast path: `MSG <subject> <sid> [reply] <size>\r\n`. Walk to the LF, keeping the
        // value of the last run of digits; a non-digit after it resets it.
        let j = i + 1;
        let size = 0;
        let inNum = false;
        let done = false;
        while (j < len) {
          const b = buf[j];
          if (b === LF) {
            done = true;
            break;
          }
          if (b >= 48 && b <= 57) {
            size = inNum ? size * 10 + (b - 48) : b - 48;
            inNum = true;
          } else if (b === SP || b === TAB) {
            inNum = false;
          } else if (b !== CR) {
            // Part of a subject or reply token: the last numeric token has not started yet.
            if (inNum) size = 0;
            inNum = false;
          }
          j++;
        }
        if (!done) {
          this.appendPartial(buf, i, len);
          return;
        }
        if (buf[i + 1] !== 83 /* S */ || buf[i + 2] !== 71 /* G */) {
          this.protocolError(buf, i, j + 1);
          return;
        }
        this.msgs++;
        this.payloadBytes += size;
        const next = j + 1 + size + 2;
        if (next > len) {
          this.skip = next - len;
          return;
        }
        i = next;
        continue;
      }
      // Any other op (or every op when lines are wanted): find the whole line first.
      const nl = buf.indexOf(LF, i);
      if (nl < 0) {
        this.appendPartial(buf, i, len);
        return;
      }
      this.controlLine(buf, i, nl + 1);
      if (this.failed) return;
      i = nl + 1;
      if (this.skip > 0) {
        const left = len - i;
        if (this.skip >= left) {
          this.skip -= left;
          return;
        }
        i += this.skip;
        this.skip = 0;
      }
    }
  }

  /** Handles one complete control line `buf[start, end)` (end is just past the LF). */
  private controlLine(buf: Uint8Array, start: number, end: number): void {
    let e = end - 1; // at LF
    if (e > start && buf[e - 1] === CR) e--;
    const c0 = buf[start] | 0x20; // lower-case letters; '+' and '-' are unchanged
    if (c0 === 0x6d /* m */ || c0 === 0x68 /* h */) {
      const isH = c0 === 0x68;
      const opLen = isH ? 4 : 3;
      if (e - start <= opLen || !matchOp(buf, start, isH ? "hmsg" : "msg") || !isSpace(buf[start + opLen])) {
        this.protocolError(buf, start, end);
        return;
      }
      // Last token is the total size (HMSG: header bytes + payload bytes).
      let k = e - 1;
      while (k > start && isSpace(buf[k])) k--;
      let size = 0;
      let mul = 1;
      let digits = 0;
      while (k > start && buf[k] >= 48 && buf[k] <= 57) {
        size += (buf[k] - 48) * mul;
        mul *= 10;
        digits++;
        k--;
      }
      if (digits === 0) {
        this.protocolError(buf, start, end);
        return;
      }
      this.msgs++;
      if (isH) this.hmsgs++;
      this.payloadBytes += size;
      this.skip = size + 2;
      if (this.h.onMsg) this.h.onMsg(buf.subarray(start, e));
      return;
    }
    if (c0 === 0x70 /* p */) {
      if (matchOp(buf, start, "ping")) {
        this.h.onPing?.();
        return;
      }
      if (matchOp(buf, start, "pong")) {
        this.h.onPong?.();
        return;
      }
    } else if (c0 === 0x69 /* i */ && matchOp(buf, start, "info")) {
      this.h.onInfo?.(Buffer.from(buf.buffer, buf.byteOffset + start + 4, e - start - 4).toString("utf8").trim());
      return;
    } else if (buf[start] === 43 /* + */ && matchOp(buf, start, "+ok")) {
      return;
    } else if (buf[start] === 45 /* - */ && matchOp(buf, start, "-err")) {
      let text = Buffer.from(buf.buffer, buf.byteOffset + start + 4, e - start - 4).toString("utf8").trim();
      if (text.length >= 2 && text.startsWith("'") && text.endsWith("'")) text = text.slice(1, -1);
      this.h.onError?.(text);
      return;
    }
    this.protocolError(buf, start, end);
  }

  private appendPartial(buf: Uint8Array, start: number, end: number): void {
    const need = this.partialLen + (end - start);
    if (need > MAX_CONTROL_LINE) {
      this.failed = true;
      this.h.onProtocolError?.(`control line longer than ${MAX_CONTROL_LINE} bytes`);
      return;
    }
    if (need > this.partial.length) {
      const bigger = new Uint8Array(Math.max(need, this.partial.length * 2));
      bigger.set(this.partial.subarray(0, this.partialLen));
      this.partial = bigger;
    }
    this.partial.set(buf.subarray(start, end), this.partialLen);
    this.partialLen = need;
  }

  private protocolError(buf: Uint8Array, start: number, end: number): void {
    this.failed = true;
    const text = Buffer.from(buf.buffer, buf.byteOffset + start, Math.min(end - start, 80)).toString("latin1");
    this.h.onProtocolError?.(`unexpected data from server: ${JSON.stringify(text)}`);
  }
}

function isSpace(b: number): boolean {
  return b === SP || b === TAB;
}

/** Case-insensitive match of a lower-case op name at `buf[start]`. */
function matchOp(buf: Uint8Array, start: number, op: string): boolean {
  if (start + op.length > buf.length) return false;
  for (let k = 0; k < op.length; k++) {
    const b = buf[start + k];
    const lower = b >= 65 && b <= 90 ? b | 0x20 : b;
    if (lower !== op.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Splits a MSG/HMSG control line (without CRLF) into its fields. For the slow paths only
 * (responder, requester), never per message in a throughput loop.
 */
export function parseMsgLine(line: Uint8Array): { op: string; subject: string; sid: string; reply?: string; size: number } {
  const parts = Buffer.from(line.buffer, line.byteOffset, line.length).toString("latin1").split(/[ \t]+/).filter(Boolean);
  const op = parts[0].toUpperCase();
  if (op === "MSG") {
    if (parts.length === 4) return { op, subject: parts[1], sid: parts[2], size: Number(parts[3]) };
    return { op, subject: parts[1], sid: parts[2], reply: parts[3], size: Number(parts[4]) };
  }
  // HMSG <subject> <sid> [reply] <hdr size> <total size>
  if (parts.length === 5) return { op, subject: parts[1], sid: parts[2], size: Number(parts[4]) };
  return { op, subject: parts[1], sid: parts[2], reply: parts[3], size: Number(parts[5]) };
}
