// Pull requests ($JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>): the request body as nats-server
// reads it (nextReqFromMsg), the checks of processNextMsgRequest, the queue of waiting requests
// (round robin between requests, at most max_waiting; expiry, heartbeats, byte budgets: nats-server's
// processWaiting and nextWaiting), and the status messages sent back to requesters and push
// subscribers.

import type { ConsumerConfig } from "./consumer-config.js";
import { jsonType } from "./stream-config.js";
import { goDuration } from "./time.js";

const NS = 1_000_000;

/** What the queue needs from its consumer. */
export interface PullSide {
  /** sends a status message to a requester */
  send(to: string, block: Buffer): void;
  /** sends an idle heartbeat to a requester */
  heartbeat(to: string): void;
  /** someone still listens on a reply subject */
  hasInterest(subject: string): boolean;
  /** messages the consumer could deliver now (pending in the stream plus redeliveries) */
  available(): number;
}

/** A pull request waiting for messages. Times are ms (Date.now()). */
export interface PullRequest {
  reply: string;
  /** messages still wanted */
  n: number;
  /** messages delivered so far */
  d: number;
  /** bytes still allowed (0: no byte limit) */
  b: number;
  /** 0: never expires */
  expires: number;
  received: number;
  /** idle heartbeat interval, 0 for none */
  hb: number;
  /** when the next heartbeat is due */
  hbt: number;
  noWait: boolean;
}

export interface NextRequest {
  batch: number;
  /** ns, 0 for none */
  expires: number;
  maxBytes: number;
  noWait: boolean;
  /** ns, 0 for none */
  heartbeat: number;
}

const R = "JSApiConsumerGetNextRequest";

function intOf(o: Record<string, unknown>, k: string, type: string): number {
  const v = o[k];
  if (v === undefined || v === null) return 0;
  // int and time.Duration are 64 bits: Go refuses what does not fit
  if (typeof v !== "number" || !Number.isInteger(v) || v >= 2 ** 63 || v < -(2 ** 63)) {
    const what = typeof v === "number" ? `number ${v}` : jsonType(v);
    throw new Error(`json: cannot unmarshal ${what} into Go struct field ${R}.${k} of type ${type}`);
  }
  return v;
}

/** nextReqFromMsg: an empty body is one message, a number is a batch, JSON is a full request. Throws with Go's error text. */
export function parseNextRequest(body: Buffer): NextRequest {
  const text = body.toString("utf8").trim();
  if (text === "") return { batch: 1, expires: 0, maxBytes: 0, noWait: false, heartbeat: 0 };
  if (text.startsWith("{")) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new Error((e as Error).message);
    }
    const o = v as Record<string, unknown>;
    const expires = intOf(o, "expires", "time.Duration");
    const batch = intOf(o, "batch", "int");
    const maxBytes = intOf(o, "max_bytes", "int");
    const heartbeat = intOf(o, "idle_heartbeat", "time.Duration");
    const nw = o.no_wait;
    if (nw !== undefined && nw !== null && typeof nw !== "boolean") throw new Error(`json: cannot unmarshal ${jsonType(nw)} into Go struct field ${R}.no_wait of type bool`);
    if (heartbeat > 0 && heartbeat * 2 > expires) throw new Error("heartbeat value too large");
    return { batch, expires, maxBytes, noWait: nw === true, heartbeat };
  }
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : 1;
  return { batch: n, expires: 0, maxBytes: 0, noWait: false, heartbeat: 0 };
}

/** The waiting pull requests of a consumer, served round robin. */
export class WaitQueue {
  private items: PullRequest[] = [];
  /** when the last request arrived (or the consumer was last active), ms */
  last = Date.now();

  constructor(readonly max: number) {}

  get length(): number {
    return this.items.length;
  }

  isFull(): boolean {
    return this.max > 0 && this.items.length >= this.max;
  }

  isEmpty(): boolean {
    return this.items.length === 0;
  }

  add(r: PullRequest): boolean {
    if (this.isFull()) return false;
    this.items.push(r);
    this.last = r.received;
    return true;
  }

  peek(): PullRequest | undefined {
    return this.items[0];
  }

  /** Takes one message for the head request: it moves to the back while it wants more, and leaves when done. */
  pop(): PullRequest | undefined {
    const r = this.items[0];
    if (r === undefined) return undefined;
    r.d++;
    r.n--;
    if (r.n > 0 && this.items.length > 1) {
      this.items.shift();
      this.items.push(r);
    } else if (r.n <= 0) {
      this.items.shift();
    }
    return r;
  }

  removeHead(): void {
    this.items.shift();
  }

  remove(r: PullRequest): void {
    const i = this.items.indexOf(r);
    if (i >= 0) this.items.splice(i, 1);
  }

  /** Gives a message back to a request whose delivery did not happen. */
  credit(reply: string): void {
    for (const r of this.items) {
      if (r.reply === reply) {
        r.n++;
        r.d--;
        return;
      }
    }
  }

  all(): readonly PullRequest[] {
    return this.items;
  }

  /** A new request (processNextMsgRequest): undefined when queued, else the status to answer with. */
  request(reply: string, body: Buffer, cfg: ConsumerConfig, side: PullSide): Buffer | undefined {
    let req: NextRequest;
    try {
      req = parseNextRequest(body);
    } catch (e) {
      return statusBlock(400, `Bad Request - ${(e as Error).message}`);
    }
    if ((cfg.max_batch ?? 0) > 0 && req.batch > cfg.max_batch!) return statusBlock(409, `Exceeded MaxRequestBatch of ${cfg.max_batch}`);
    if (req.expires > 0 && (cfg.max_expires ?? 0) > 0 && req.expires > cfg.max_expires!) return statusBlock(409, `Exceeded MaxRequestExpires of ${goDuration(cfg.max_expires!)}`);
    if (req.maxBytes > 0 && (cfg.max_bytes ?? 0) > 0 && req.maxBytes > cfg.max_bytes!) return statusBlock(409, `Exceeded MaxRequestMaxBytes of ${cfg.max_bytes}`);
    if (this.isFull()) this.expire(false, side);
    const now = Date.now();
    if (req.noWait) {
      const msgsPending = side.available();
      if (msgsPending === 0 && req.expires === 0) {
        this.last = now;
        return statusBlock(404, "No Messages");
      }
      if (msgsPending > 0 && msgsPending < this.expire(false, side).brp) {
        this.last = now;
        return statusBlock(408, "Requests Pending");
      }
    }
    const hb = req.heartbeat > 0 ? Math.max(1, Math.round(req.heartbeat / NS)) : 0;
    const r: PullRequest = {
      reply,
      n: req.batch > 0 ? req.batch : 1,
      d: 0,
      b: req.maxBytes > 0 ? req.maxBytes : 0,
      // a deadline in the past (negative) or within half a millisecond has passed by the time a
      // message could go: 408, as nats-server answers such requests (not a wait without end)
      expires: req.expires !== 0 ? now + Math.max(0, Math.round(req.expires / NS)) : 0,
      received: now,
      hb,
      hbt: hb > 0 ? now + hb : 0,
      noWait: req.noWait,
    };
    return this.add(r) ? undefined : statusBlock(409, "Exceeded MaxWaiting");
  }

  /**
   * processWaiting: expired requests get 408, no-wait requests at the end of the stream (eos) 404,
   * those whose requester left are dropped, heartbeats due are sent. Returns the messages still
   * asked for and when the next expiry or heartbeat is due (0: none).
   */
  expire(eos: boolean, side: PullSide): { brp: number; fexp: number } {
    let fexp = 0;
    let brp = 0;
    const now = Date.now();
    for (const r of [...this.items]) {
      if (r.expires > 0 && now >= r.expires) {
        side.send(r.reply, pendingStatus(408, "Request Timeout", r));
        this.remove(r);
        continue;
      }
      if (eos && r.noWait && (r.expires === 0 || r.d > 0)) {
        side.send(r.reply, statusBlock(404, "No Messages"));
        this.remove(r);
        continue;
      }
      if (!side.hasInterest(r.reply)) {
        this.remove(r);
        continue;
      }
      brp += r.n;
      if (r.hbt > 0) {
        if (now >= r.hbt) {
          side.heartbeat(r.reply);
          r.hbt = now + r.hb;
        }
        if (fexp === 0 || r.hbt < fexp) fexp = r.hbt;
      }
      if (r.expires > 0 && (fexp === 0 || r.expires < fexp)) fexp = r.expires;
    }
    return { brp, fexp };
  }

  /** nextWaiting: the request that takes a message of `sz` bytes (and counts it), or undefined. */
  next(sz: number, side: PullSide): PullRequest | undefined {
    const now = Date.now();
    for (let r = this.peek(); r !== undefined; r = this.peek()) {
      if (r.b > 0) {
        if (sz <= r.b) {
          r.b -= sz;
          if (r.b === 0) r.n = 1;
        } else {
          side.send(r.reply, pendingStatus(409, "Message Size Exceeds MaxBytes", r));
          this.removeHead();
          continue;
        }
      }
      if (r.expires === 0 || now < r.expires) {
        if (side.hasInterest(r.reply)) return this.pop();
      } else {
        side.send(r.reply, pendingStatus(408, "Request Timeout", r));
      }
      this.removeHead();
    }
    return undefined;
  }

  clear(): PullRequest[] {
    const out = this.items;
    this.items = [];
    return out;
  }
}

/** Header names of the status messages. */
export const PENDING_MSGS = "Nats-Pending-Messages";
export const PENDING_BYTES = "Nats-Pending-Bytes";
export const LAST_CONSUMER = "Nats-Last-Consumer";
export const LAST_STREAM = "Nats-Last-Stream";
export const CONSUMER_STALLED = "Nats-Consumer-Stalled";

/** "NATS/1.0 <code> <description>\r\n[fields]\r\n" */
export function statusBlock(code: number, description: string, fields?: [string, string | number][]): Buffer {
  let s = `NATS/1.0 ${code} ${description}\r\n`;
  if (fields !== undefined) for (const [k, v] of fields) s += `${k}: ${v}\r\n`;
  return Buffer.from(s + "\r\n", "latin1");
}

/** A status with the request's remaining messages and bytes (408 Request Timeout, 409 ... MaxBytes, Batch Completed). */
export function pendingStatus(code: number, description: string, r: { n: number; b: number }): Buffer {
  return statusBlock(code, description, [
    [PENDING_MSGS, r.n],
    [PENDING_BYTES, r.b],
  ]);
}
