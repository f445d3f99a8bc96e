// Outbound bytes of one connection, coalesced. Small frames are copied into a shared chunk;
// large payloads are queued by reference. Flushing hands all of it to the transport in one
// call, once per turn of the event loop (see `FlushScheduler`).

const CHUNK = 32 * 1024;
const FIRST_CHUNK = 1024;
/** payloads at least this large are queued by reference instead of copied */
const BIG = 8 * 1024;

export class Outbound {
  private chunk: Buffer | null = null;
  /** start of the not yet flushed region of `chunk` */
  private start = 0;
  private pos = 0;
  private queued: Buffer[] = [];
  /** size of the next chunk: grows while a connection is busy, shrinks when it quietens */
  private hint = FIRST_CHUNK;
  /** bytes waiting here (not yet handed to the transport) */
  size = 0;

  private room(n: number): Buffer {
    let c = this.chunk;
    if (c === null || c.length - this.pos < n) {
      if (c !== null) {
        if (this.pos > this.start) this.queued.push(c.subarray(this.start, this.pos));
        if (this.hint < CHUNK) this.hint <<= 2;
      }
      c = this.chunk = Buffer.allocUnsafe(n > this.hint ? n : this.hint);
      this.start = this.pos = 0;
    }
    return c;
  }

  /** Appends a latin1 string (protocol text). */
  text(s: string): void {
    const n = s.length;
    const c = this.room(n);
    c.latin1Write(s, this.pos, n);
    this.pos += n;
    this.size += n;
  }

  bytes(b: Buffer): void {
    const n = b.length;
    if (n >= BIG) {
      if (this.chunk !== null && this.pos > this.start) {
        this.queued.push(this.chunk.subarray(this.start, this.pos));
        this.start = this.pos;
      }
      this.queued.push(b);
    } else {
      const c = this.room(n);
      b.copy(c, this.pos);
      this.pos += n;
    }
    this.size += n;
  }

  /**
   * One message frame: `op` ("MSG " or "HMSG "), the argument bytes `args` (ending in a
   * space), then `hdrLen` when >= 0 and the body length, CRLF, the body, CRLF. Sizes are
   * written as digits in place: no strings are built per message.
   */
  msg(op: Buffer, args: Buffer | string, hdrLen: number, body: Buffer): void {
    const blen = body.length;
    const alen = args.length;
    if (blen >= BIG) {
      this.text(op.latin1Slice(0, op.length));
      if (typeof args === "string") this.text(args);
      else this.bytes(args);
      this.text((hdrLen >= 0 ? hdrLen + " " : "") + blen + "\r\n");
      this.bytes(body);
      this.text("\r\n");
      return;
    }
    const c = this.room(op.length + alen + 32 + blen);
    let p = this.pos;
    for (let i = 0; i < op.length; i++) c[p++] = op[i];
    if (typeof args === "string") p += c.latin1Write(args, p, alen);
    else if (alen <= 48) for (let i = 0; i < alen; i++) c[p++] = args[i];
    else p += args.copy(c, p);
    if (hdrLen >= 0) {
      p = writeDigits(c, p, hdrLen);
      c[p++] = 32;
    }
    p = writeDigits(c, p, blen);
    c[p++] = 13;
    c[p++] = 10;
    if (blen <= 48) for (let i = 0; i < blen; i++) c[p++] = body[i];
    else p += body.copy(c, p);
    c[p++] = 13;
    c[p++] = 10;
    this.size += p - this.pos;
    this.pos = p;
  }

  /** Takes everything queued so far; the caller writes it out. */
  take(): Buffer[] {
    const out = this.queued;
    const c = this.chunk;
    if (c !== null && this.pos > this.start) {
      const used = this.pos - this.start;
      out.push(c.subarray(this.start, this.pos));
      this.start = this.pos;
      // The rest of the chunk keeps serving later frames. A nearly full chunk is let go, and so
      // is a big one that a quiet connection barely uses, so idle connections hold little.
      if (c.length - this.pos < 512) this.chunk = null;
      else if (used < c.length >> 4 && this.hint > FIRST_CHUNK) {
        this.hint >>= 1;
        this.chunk = null;
      }
    }
    this.queued = [];
    this.size = 0;
    return out;
  }

  /** Drops the buffers (after a close); an idle connection keeps none. */
  release(): void {
    this.chunk = null;
    this.queued = [];
    this.start = this.pos = this.size = 0;
  }
}

/** Writes `n` (>= 0) as decimal digits at `p`; returns the offset after them. */
function writeDigits(c: Buffer, p: number, n: number): number {
  if (n < 10) {
    c[p] = 48 + n;
    return p + 1;
  }
  let digits = 0;
  for (let m = n; m > 0; m = Math.floor(m / 10)) digits++;
  let q = p + digits;
  for (let m = n; m > 0; m = Math.floor(m / 10)) c[--q] = 48 + (m % 10);
  return p + digits;
}

export interface Flushable {
  /** set by the scheduler while the client waits in its list */
  dirty: boolean;
  flush(): void;
}

/** Collects dirty clients and flushes each once, after the I/O of this turn was handled. */
export class FlushScheduler {
  private list: Flushable[] = [];
  private scheduled = false;
  private readonly run = (): void => {
    this.scheduled = false;
    const list = this.list;
    this.list = [];
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      c.dirty = false;
      c.flush();
    }
  };

  mark(c: Flushable): void {
    if (c.dirty) return;
    c.dirty = true;
    this.list.push(c);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }
}
