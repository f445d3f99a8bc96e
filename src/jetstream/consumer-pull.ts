// Pull requests ($JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>): the request body as nats-server
// reads it (nextReqFromMsg), the queue of waiting requests (round robin between requests, at most
// max_waiting), and the status messages sent back to requesters and push subscribers.

import { jsonType } from "./stream-config.js";

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
  if (typeof v !== "number" || !Number.isInteger(v)) {
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
