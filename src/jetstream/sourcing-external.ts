// A mirror or source whose origin is in another account (or domain), reached through the API
// prefix the target's account imports (`external.api`, e.g. "JS.A.API" for an import of A's
// $JS.API.> to JS.A.API.>), as nats-server does it: the link asks the origin's JetStream for an
// ephemeral push consumer (ack none, heartbeats) that starts after the last origin sequence taken
// and delivers to `<external.deliver>.<id>`, a subject the origin account exports as a stream and
// the target's account imports. Each delivery carries the origin's sequence and time in its ack
// reply subject ($JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<cseq>.<ts>.<pending>).
//
// A consumer sequence gap, heartbeats that stop, or a message the target refuses for its limits
// make the link start over with a new consumer from where it is; a failed request (no responders,
// an API error such as "stream not found") is retried with a growing delay, and stream info shows
// the error meanwhile. Nothing here runs inside a delivery of the origin's consumer: every
// request is made from a timer, so that the consumer is never deleted under its own feet.

import { randomBytes } from "node:crypto";
import { newSubscription, type Client, type Subscription } from "../core/client.js";
import { jsError } from "./errors.js";
import { getHeader, H, parseHeaders } from "./headers.js";
import { LinkCopier, RETRY_MS, sourceIndexName, type Link, type LinkHost } from "./sourcing.js";
import type { StoredMsg } from "./store/index.js";
import { parseTTL, type Stream } from "./stream.js";
import type { ApiError, StreamSource } from "./stream-config.js";
import { toWire } from "./subjects.js";

/** Idle heartbeat asked of the origin's consumer (nats-server's sourceHealthCheckInterval). */
const HEARTBEAT_MS = 1000;
/** Without a message or heartbeat for this long, the consumer is presumed gone and made again. */
const STALL_MS = 5 * HEARTBEAT_MS;
/** How long to wait for the consumer create response. */
const REQUEST_TIMEOUT_MS = 5000;
/** Retry delays after a failed request: from FIRST_RETRY_MS, doubling up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

let nextLinkCid = -3_000_000;

/** Origin sequence, consumer sequence, time (ns) and pending count from an ack reply subject; undefined when it is not one. */
export function parseAckReply(reply: string): { sseq: number; cseq: number; ts: bigint; pending: number } | undefined {
  if (!reply.startsWith("$JS.ACK.")) return undefined;
  const t = reply.split(".");
  // v1: $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<cseq>.<ts>.<pending>;
  // v2: $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<dc>.<sseq>.<cseq>.<ts>.<pending>[.<token>]
  const at = t.length === 9 ? 4 : t.length >= 11 ? 6 : -1;
  if (at < 0) return undefined;
  const num = (s: string | undefined): number => (s !== undefined && /^\d+$/.test(s) ? Number(s) : -1);
  const sseq = num(t[at + 1]);
  const cseq = num(t[at + 2]);
  const ts = t[at + 3];
  const pending = num(t[at + 4]);
  if (sseq < 1 || cseq < 1 || pending < 0 || ts === undefined || !/^\d+$/.test(ts)) return undefined;
  return { sseq, cseq, ts: BigInt(ts), pending };
}

function randomId(): string {
  return randomBytes(9).toString("base64url").replace(/[-_]/g, "x");
}

export class ExternalLink implements Link, Client {
  readonly cid = nextLinkCid--;
  readonly kind = "internal" as const;
  readonly echo = true;
  readonly iname: string;
  /** last origin sequence taken */
  sseq = 0;
  private readonly copier: LinkCopier;
  private readonly api: string;
  private readonly deliverPrefix: string;
  private closed = false;
  /** the current attempt's subscriptions (deliveries and the create response) */
  private deliverSub: Subscription | undefined;
  private inboxSub: Subscription | undefined;
  /** the origin's consumer, once its creation is confirmed */
  private consumer: string | undefined;
  /** last consumer sequence received in this attempt */
  private cseq = 0;
  /** the target refused a message: ignore what follows until the next attempt */
  private refused = false;
  private timer: NodeJS.Timeout | undefined;
  private requestTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  /** ms since the epoch of the last message or heartbeat from the consumer */
  private lastSeen = 0;
  /** ms since the epoch of the last copied message (0: never) */
  private lastActive = 0;
  private lag = 0;
  private error: ApiError | undefined;

  constructor(
    private readonly target: Stream,
    readonly src: StreamSource,
    readonly mirror: boolean,
    private readonly host: LinkHost,
  ) {
    this.iname = sourceIndexName(src);
    this.copier = new LinkCopier(target, src, mirror, this.iname);
    this.api = src.external!.api;
    this.deliverPrefix = src.external!.deliver || "$JS.M";
  }

  get originName(): string {
    return this.src.name;
  }

  start(resumeAt: number | undefined): void {
    this.sseq = resumeAt ?? Math.max(0, (this.src.opt_start_seq ?? 1) - 1);
    // first attempt once the server is up: at start-up the other accounts' API is not answering yet
    this.retryIn(0);
  }

  /** The origin is in another account: nothing to look up here. */
  attach(): void {}

  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.teardown();
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    this.timer = undefined;
    this.watchdog = undefined;
  }

  info(): Record<string, unknown> {
    const o = this.copier.infoBase();
    o.lag = this.lag;
    o.active = this.lastActive === 0 ? -1 : (Date.now() - this.lastActive) * 1e6;
    if (this.error !== undefined) o.error = this.error;
    return o;
  }

  // ---------------------------------------------------------------- attempts

  private retryIn(ms: number): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, ms);
    this.timer.unref();
  }

  /** A failed attempt: shown in stream info, tried again later. */
  private failed(err: string | ApiError): void {
    this.error = typeof err === "string" ? jsError(this.mirror ? "JSMirrorConsumerSetupFailedErrF" : "JSSourceConsumerSetupFailedErrF", { err }) : err;
    this.teardown();
    this.retryIn(this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  /** Drops the current attempt: its subscriptions, and its consumer at the origin. */
  private teardown(): void {
    if (this.requestTimer !== undefined) clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    const sl = this.host.account.sublist;
    for (const s of [this.deliverSub, this.inboxSub]) {
      if (s === undefined) continue;
      s.closed = true;
      sl.remove(s);
    }
    this.deliverSub = undefined;
    this.inboxSub = undefined;
    if (this.consumer !== undefined) {
      const name = this.consumer;
      this.consumer = undefined;
      this.host.account.route(null, `${this.api}.CONSUMER.DELETE.${toWire(this.src.name)}.${name}`, undefined, Buffer.alloc(0), 0);
    }
  }

  /** Asks the origin's JetStream for a consumer starting after the last sequence taken. */
  private connect(): void {
    if (this.closed) return;
    if (this.target.isClosed) return this.stop();
    this.teardown();
    this.cseq = 0;
    this.refused = false;
    const id = randomId();
    const deliver = `${toWire(this.deliverPrefix)}.${id}`;
    const inbox = `$JS.S.R.${id}`;
    const sl = this.host.account.sublist;
    // subscribed before asking: the consumer may deliver before its create response arrives
    this.deliverSub = newSubscription(this, deliver, `xd${id}`);
    this.inboxSub = newSubscription(this, inbox, `xr${id}`);
    sl.insert(this.deliverSub);
    sl.insert(this.inboxSub);
    this.requestTimer = setTimeout(() => this.failed("consumer create request timed out"), REQUEST_TIMEOUT_MS);
    this.requestTimer.unref();
    const body = Buffer.from(JSON.stringify({ stream_name: this.src.name, config: this.consumerConfig(deliver) }));
    const n = this.host.account.route(null, `${this.api}.CONSUMER.CREATE.${toWire(this.src.name)}`, inbox, body, 0);
    if (n === 0 && this.inboxSub !== undefined && this.consumer === undefined) this.failed("no responders");
    if (this.watchdog === undefined && !this.closed) {
      this.watchdog = setInterval(() => this.checkStalled(), HEARTBEAT_MS);
      this.watchdog.unref();
    }
  }

  private consumerConfig(deliver: string): Record<string, unknown> {
    const c: Record<string, unknown> = {
      deliver_subject: deliver,
      ack_policy: "none",
      max_deliver: 1,
      idle_heartbeat: HEARTBEAT_MS * 1e6,
      num_replicas: 1,
      mem_storage: true,
      // not one of the origin account's own consumers (nats-server's internal "direct" kind)
      direct: true,
    };
    if (this.sseq === 0 && this.src.opt_start_time && !this.src.opt_start_seq) {
      c.deliver_policy = "by_start_time";
      c.opt_start_time = this.src.opt_start_time;
    } else {
      c.deliver_policy = "by_start_sequence";
      c.opt_start_seq = this.sseq + 1;
    }
    const trs = this.src.subject_transforms ?? [];
    if (trs.length > 1) c.filter_subjects = trs.map((t) => t.src || ">");
    else if (trs.length === 1 && trs[0]!.src && trs[0]!.src !== ">") c.filter_subject = trs[0]!.src;
    else if (this.src.filter_subject) c.filter_subject = this.src.filter_subject;
    return c;
  }

  private checkStalled(): void {
    if (this.closed || this.consumer === undefined || this.timer !== undefined) return;
    if (Date.now() - this.lastSeen > STALL_MS) {
      this.host.logger.debug(`Stream '${this.host.account.name} > ${this.target.name}': ${this.mirror ? "mirror" : "source"} ${this.src.name} stalled, creating its consumer again`);
      this.retryIn(0);
    }
  }

  // ---------------------------------------------------------------- Client

  deliver(sub: Subscription, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number): void {
    if (this.closed || sub.closed) return;
    if (sub === this.inboxSub) return this.created(msg, hdrLen);
    if (sub !== this.deliverSub) return;
    this.lastSeen = Date.now();
    if (hdrLen > 0 && msg.toString("latin1", 9, 12) === "100" && msg.toString("latin1", 0, 9) === "NATS/1.0 ") {
      // heartbeat (or flow control): a higher last consumer sequence than ours means lost messages
      const last = getHeader(parseHeaders(msg, hdrLen), "Nats-Last-Consumer");
      if (last !== undefined && Number(last) > this.cseq && !this.refused) this.retryIn(0);
      if (reply !== undefined && reply !== "") this.host.account.route(null, reply, undefined, Buffer.alloc(0), 0);
      return;
    }
    if (this.refused || reply === undefined) return;
    const a = parseAckReply(reply);
    if (a === undefined) return;
    if (a.cseq <= this.cseq) return; // already seen
    if (a.cseq !== this.cseq + 1) {
      this.refused = true;
      this.retryIn(0);
      return;
    }
    this.cseq = a.cseq;
    this.lag = a.pending;
    if (a.sseq <= this.sseq) return;
    const hdr = hdrLen > 0 ? msg.subarray(0, hdrLen) : undefined;
    const m: StoredMsg = { seq: a.sseq, subject, hdr, data: msg.subarray(hdrLen), ts: a.ts, ttl: this.mirror && hdr !== undefined ? ttlOf(msg, hdrLen) : 0 };
    if (!this.copier.copy(m)) {
      this.refused = true;
      this.retryIn(RETRY_MS);
      return;
    }
    this.sseq = a.sseq;
    this.lastActive = Date.now();
  }

  private created(msg: Buffer, hdrLen: number): void {
    if (this.requestTimer !== undefined) clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    const inbox = this.inboxSub;
    if (inbox !== undefined) {
      inbox.closed = true;
      this.host.account.sublist.remove(inbox);
      this.inboxSub = undefined;
    }
    if (hdrLen > 0 && msg.length === hdrLen) {
      // a status without a body: 503 no responders
      return this.failed("no responders");
    }
    let r: { name?: unknown; error?: ApiError };
    try {
      r = JSON.parse(msg.toString("utf8", hdrLen)) as typeof r;
    } catch (e) {
      return this.failed(`invalid consumer create response: ${(e as Error).message}`);
    }
    if (r.error !== undefined) return this.failed(r.error);
    if (typeof r.name !== "string") return this.failed("consumer create response without a name");
    // whatever came meanwhile was for this consumer
    this.consumer = r.name;
    this.error = undefined;
    this.retryMs = FIRST_RETRY_MS;
    this.lastSeen = Date.now();
  }
}

/** The per-message TTL (ms) a mirror keeps, from the Nats-TTL header. */
function ttlOf(msg: Buffer, hdrLen: number): number {
  const v = getHeader(parseHeaders(msg, hdrLen), H.TTL);
  if (v === undefined) return 0;
  const s = parseTTL(v);
  return s === undefined ? 0 : s < 0 ? -1 : s * 1000;
}
