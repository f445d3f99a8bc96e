// The NATS client protocol parser: a byte-level state machine over the received chunks.
// Control lines are found with Buffer.indexOf; arguments are located by offsets, and only
// the subject, reply, queue and sid become strings (latin1, so bytes survive unchanged).
// A payload that fits in the chunk is a slice of it; one that spans chunks is assembled once,
// when its last byte has arrived.

export type ParseError =
  | "unknown_op" // unknown operation, malformed arguments, bad framing
  | "max_control_line"
  | "max_payload";

export interface ParserHandler {
  onConnect(json: string): void;
  /** `msg` is the header block (first `hdrLen` bytes; 0 = none) followed by the payload */
  onPub(subject: string, reply: string | undefined, msg: Buffer, hdrLen: number): void;
  onSub(subject: string, queue: string | undefined, sid: string): void;
  onUnsub(sid: string, max: number): void;
  onPing(): void;
  onPong(): void;
  /** `-ERR` from the peer */
  onPeerError(text: string): void;
  /** The parser stops at the first error; `detail` is for the log. */
  onParseError(kind: ParseError, detail: string): void;
}

const CR = 13;
const LF = 10;
const MAX_ARGS = 6;
const SUBJECT_MEMO = 64;

const enum State {
  Line,
  Payload,
  Dead,
}

export class Parser {
  maxPayload: number;
  maxControlLine: number;
  private state: State = State.Line;
  /** a control line split across chunks */
  private partial: Buffer | null = null;
  // the message being received (state Payload)
  private subject = "";
  private reply: string | undefined = undefined;
  private hdrLen = 0;
  /** payload size plus the trailing CRLF */
  private need = 0;
  /** pieces of a payload that spans chunks: memory grows with what arrived, not with what was announced */
  private pieces: Buffer[] | null = null;
  private filled = 0;
  private readonly args = new Int32Array(MAX_ARGS * 2);
  // The last publish subject, as bytes and as a string: publishers tend to repeat subjects,
  // and comparing a few bytes is cheaper than making a string (and re-hashing it for lookups).
  private readonly lastSubjectBytes = Buffer.alloc(SUBJECT_MEMO);
  private lastSubjectLen = -1;
  private lastSubject = "";

  constructor(private readonly h: ParserHandler, opts: { maxPayload: number; maxControlLine: number }) {
    this.maxPayload = opts.maxPayload;
    this.maxControlLine = opts.maxControlLine;
  }

  /** Set while the connection waits (an asynchronous authentication): input is held, not parsed. */
  private suspended = false;
  private held: Buffer | null = null;

  /** Stops parsing after the current operation; later input is held until `resume`. */
  suspend(): void {
    this.suspended = true;
  }

  /** Ends a suspension; returns the input held meanwhile, for the caller to parse. */
  resume(): Buffer | null {
    this.suspended = false;
    const h = this.held;
    this.held = null;
    return h;
  }

  private hold(buf: Buffer, from: number): void {
    if (from >= buf.length) return;
    const rest = buf.subarray(from);
    this.held = this.held === null ? Buffer.from(rest) : Buffer.concat([this.held, rest]);
  }

  get dead(): boolean {
    return this.state === State.Dead;
  }

  private inPayload(): boolean {
    return this.state === State.Payload;
  }

  /** Stops parsing for good (the connection is closing). */
  stop(): void {
    this.state = State.Dead;
    this.partial = null;
    this.pieces = null;
  }

  parse(buf: Buffer): void {
    if (this.suspended) {
      this.hold(buf, 0);
      return;
    }
    let i = 0;
    const n = buf.length;
    if (this.state === State.Payload) {
      i = this.fillPayload(buf, 0);
      if (i < 0) return;
    } else if (this.partial !== null && this.state === State.Line) {
      const nl = buf.indexOf(LF);
      if (nl < 0) {
        this.partial = Buffer.concat([this.partial, buf]);
        if (this.partial.length > this.maxControlLine + 2) this.fail("max_control_line", "control line too long");
        return;
      }
      const line = Buffer.concat([this.partial, buf.subarray(0, nl + 1)]);
      this.partial = null;
      if (!this.line(line, 0, line.length - 1)) return;
      i = nl + 1;
      if (this.inPayload()) {
        i = this.fillPayload(buf, i);
        if (i < 0) return;
      }
    }
    while (i < n && this.state === State.Line) {
      if (this.suspended) {
        this.hold(buf, i);
        return;
      }
      const nl = buf.indexOf(LF, i);
      if (nl < 0) {
        if (n - i > this.maxControlLine + 2) {
          this.fail("max_control_line", "control line too long");
          return;
        }
        this.partial = Buffer.from(buf.subarray(i)); // a copy: the chunk may be reused by the caller
        return;
      }
      if (!this.line(buf, i, nl)) return;
      i = nl + 1;
      if (this.inPayload()) {
        const need = this.need;
        if (n - i >= need) {
          // the whole payload is in this chunk: slice it
          const end = i + need - 2;
          if (buf[end] !== CR || buf[end + 1] !== LF) {
            this.fail("unknown_op", "message not terminated by CRLF");
            return;
          }
          this.state = State.Line;
          this.h.onPub(this.subject, this.reply, buf.subarray(i, end), this.hdrLen);
          i = end + 2;
        } else {
          i = this.fillPayload(buf, i);
          if (i < 0) return;
        }
      }
    }
  }

  /** Takes payload bytes from `buf` at `i`; returns the next offset, or -1 when the chunk was used up or parsing failed. */
  private fillPayload(buf: Buffer, i: number): number {
    if (this.pieces === null) {
      this.pieces = [];
      this.filled = 0;
    }
    const take = Math.min(this.need - this.filled, buf.length - i);
    // the caller's chunk is not reused, so a slice of it can be kept
    if (take > 0) this.pieces.push(buf.subarray(i, i + take));
    this.filled += take;
    if (this.filled < this.need) return -1;
    const p = this.pieces.length === 1 ? this.pieces[0] : Buffer.concat(this.pieces, this.need);
    this.pieces = null;
    const end = this.need - 2;
    if (p[end] !== CR || p[end + 1] !== LF) {
      this.fail("unknown_op", "message not terminated by CRLF");
      return -1;
    }
    this.state = State.Line;
    this.h.onPub(this.subject, this.reply, p.subarray(0, end), this.hdrLen);
    const next = i + take;
    return this.dead ? -1 : next;
  }

  private fail(kind: ParseError, detail: string): void {
    this.stop();
    this.h.onParseError(kind, detail);
  }

  /** Handles the control line buf[start, nl) (nl is the LF). Returns false when parsing must stop. */
  private line(buf: Buffer, start: number, nl: number): boolean {
    let end = nl;
    if (end > start && buf[end - 1] === CR) end--;
    if (end - start > this.maxControlLine) {
      this.fail("max_control_line", "control line too long");
      return false;
    }
    // the common case first: "PUB "
    const b0 = buf[start];
    if ((b0 === 0x50 || b0 === 0x70) && end - start > 4 && (buf[start + 1] | 0x20) === 0x75 && (buf[start + 2] | 0x20) === 0x62 && (buf[start + 3] === 32 || buf[start + 3] === 9)) {
      return this.pub(buf, start + 3, end, false);
    }
    // the operation name
    let opEnd = start;
    while (opEnd < end && buf[opEnd] !== 32 && buf[opEnd] !== 9) opEnd++;
    const opLen = opEnd - start;
    const c0 = buf[start] | 0x20;
    const h = this.h;
    switch (opLen) {
      case 3:
        if (c0 === 0x70 && eqi(buf, start, "pub")) return this.pub(buf, opEnd, end, false);
        if (c0 === 0x73 && eqi(buf, start, "sub")) return this.sub(buf, opEnd, end);
        if (buf[start] === 0x2b && eqi(buf, start, "+ok")) return true;
        break;
      case 4:
        if (c0 === 0x70) {
          if (eqi(buf, start, "ping")) {
            h.onPing();
            return !this.dead;
          }
          if (eqi(buf, start, "pong")) {
            h.onPong();
            return !this.dead;
          }
        }
        if (c0 === 0x68 && eqi(buf, start, "hpub")) return this.pub(buf, opEnd, end, true);
        if (c0 === 0x69 && eqi(buf, start, "info")) return true;
        if (buf[start] === 0x2d && eqi(buf, start, "-err")) {
          h.onPeerError(buf.toString("utf8", opEnd, end).trim());
          return !this.dead;
        }
        break;
      case 5:
        if (c0 === 0x75 && eqi(buf, start, "unsub")) return this.unsub(buf, opEnd, end);
        break;
      case 7:
        if (c0 === 0x63 && eqi(buf, start, "connect")) {
          h.onConnect(buf.toString("utf8", opEnd, end));
          return !this.dead;
        }
        break;
    }
    if (opLen === 0 && end === start) {
      this.fail("unknown_op", "empty line");
      return false;
    }
    this.fail("unknown_op", `unknown operation ${JSON.stringify(buf.toString("latin1", start, Math.min(end, start + 32)))}`);
    return false;
  }

  private split(buf: Buffer, from: number, end: number): number {
    const a = this.args;
    let count = 0;
    let s = -1;
    for (let i = from; i < end; i++) {
      const c = buf[i];
      if (c === 32 || c === 9) {
        if (s >= 0) {
          if (count === MAX_ARGS) return -1;
          a[count * 2] = s;
          a[count * 2 + 1] = i;
          count++;
          s = -1;
        }
      } else if (s < 0) s = i;
    }
    if (s >= 0) {
      if (count === MAX_ARGS) return -1;
      a[count * 2] = s;
      a[count * 2 + 1] = end;
      count++;
    }
    return count;
  }

  private pub(buf: Buffer, from: number, end: number, headers: boolean): boolean {
    const a = this.args;
    const count = this.split(buf, from, end);
    const want = headers ? 3 : 2;
    if (count !== want && count !== want + 1) {
      this.fail("unknown_op", `${headers ? "HPUB" : "PUB"} with ${count} arguments`);
      return false;
    }
    const subject = this.subjectAt(buf, a[0], a[1]);
    const reply = count === want + 1 ? buf.latin1Slice(a[2], a[3]) : undefined;
    const last = (count - 1) * 2;
    const size = parseSize(buf, a[last], a[last + 1]);
    let hdrLen = 0;
    if (headers) {
      hdrLen = parseSize(buf, a[last - 2], a[last - 1]);
      if (hdrLen < 0 || size < 0 || hdrLen > size) {
        this.fail("unknown_op", "HPUB with a bad size");
        return false;
      }
    } else if (size < 0) {
      this.fail("unknown_op", "PUB with a bad size");
      return false;
    }
    if (size > this.maxPayload) {
      this.fail("max_payload", `${size} vs ${this.maxPayload}`);
      return false;
    }
    this.subject = subject;
    this.reply = reply;
    this.hdrLen = hdrLen;
    this.need = size + 2;
    this.state = State.Payload;
    return true;
  }

  private subjectAt(buf: Buffer, start: number, end: number): string {
    const len = end - start;
    const memo = this.lastSubjectBytes;
    if (len === this.lastSubjectLen) {
      let k = 0;
      while (k < len && buf[start + k] === memo[k]) k++;
      if (k === len) return this.lastSubject;
    }
    const subject = buf.latin1Slice(start, end);
    if (len <= SUBJECT_MEMO) {
      buf.copy(memo, 0, start, end);
      this.lastSubjectLen = len;
      this.lastSubject = subject;
    }
    return subject;
  }

  private sub(buf: Buffer, from: number, end: number): boolean {
    const a = this.args;
    const count = this.split(buf, from, end);
    if (count !== 2 && count !== 3) {
      this.fail("unknown_op", `SUB with ${count} arguments`);
      return false;
    }
    const subject = buf.latin1Slice(a[0], a[1]);
    if (count === 2) this.h.onSub(subject, undefined, buf.latin1Slice(a[2], a[3]));
    else this.h.onSub(subject, buf.latin1Slice(a[2], a[3]), buf.latin1Slice(a[4], a[5]));
    return !this.dead;
  }

  private unsub(buf: Buffer, from: number, end: number): boolean {
    const a = this.args;
    const count = this.split(buf, from, end);
    if (count !== 1 && count !== 2) {
      this.fail("unknown_op", `UNSUB with ${count} arguments`);
      return false;
    }
    let max = 0;
    if (count === 2) {
      max = parseSize(buf, a[2], a[3]);
      if (max < 0) {
        this.fail("unknown_op", "UNSUB with a bad max");
        return false;
      }
    }
    this.h.onUnsub(buf.latin1Slice(a[0], a[1]), max);
    return !this.dead;
  }
}

/** Case-insensitive compare of buf[start..] with a lowercase ASCII word. */
function eqi(buf: Buffer, start: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = buf[start + i];
    const w = word.charCodeAt(i);
    if (c !== w && (c | 0x20) !== w) return false;
  }
  return true;
}

/** Decimal digits to a number; -1 when empty, not digits, or absurdly long. */
function parseSize(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len <= 0 || len > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
