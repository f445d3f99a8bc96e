// Imports between accounts, made of internal clients of the core:
// - a stream import subscribes in the exporting account and re-publishes into the importer
//   (under `prefix` or `to`);
// - a service import subscribes in the importing account to the local subject; a request is
//   re-published in the exporter with a reply subject of its own (`_R_.<import>.<n>`), and
//   only replies to requests that were made go back, to the original reply subject.
import type { Account } from "./account.js";
import { newSubscription, type Client, type Subscription } from "./client.js";

/** Subscription kind for the internal clients here (no connection behind them). */
let nextInternalCid = -1;

/**
 * Maps a subject matching `from` onto `to` as nats-server does: the token under the n-th `*` of
 * `from` fills the n-th `*` of `to`, and what a trailing `>` covered follows a trailing `>`
 * (`$JS.API.>` → `JS.A.API.>` maps `$JS.API.INFO` to `JS.A.API.INFO`).
 */
export function mapSubject(subject: string, from: string, to: string): string {
  if (from === to) return subject;
  const f = from.split(".");
  const s = subject.split(".");
  const stars: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "*") stars.push(s[i]!);
    else if (f[i] === ">") {
      rest = s.slice(i);
      break;
    }
  }
  const out: string[] = [];
  let n = 0;
  for (const t of to.split(".")) {
    if (t === "*") out.push(stars[n++] ?? "*");
    else if (t === ">") out.push(...rest);
    else out.push(t);
  }
  return out.join(".");
}

export interface StreamImportDef {
  exporter: Account;
  importer: Account;
  /** the subject in the exporting account */
  subject: string;
  prefix?: string;
  to?: string;
}

/** Forwards an exported stream of messages into the importing account. */
export class StreamImport implements Client {
  readonly cid = nextInternalCid--;
  readonly kind = "internal" as const;
  readonly echo = true;
  private readonly sub: Subscription;

  constructor(private readonly def: StreamImportDef) {
    this.sub = newSubscription(this, def.subject, `si${-this.cid}`);
    def.exporter.sublist.insert(this.sub);
  }

  deliver(_s: Subscription, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number, routed?: string): void {
    const d = this.def;
    // a push consumer's delivery crosses on its deliver subject and keeps showing the stored one
    let local = routed ?? subject;
    if (d.to !== undefined) local = mapSubject(local, d.subject, d.to);
    if (d.prefix !== undefined) local = `${d.prefix}.${local}`;
    if (routed === undefined) d.importer.route(null, local, reply, msg, hdrLen);
    else d.importer.routeAs(local, subject, reply, msg, hdrLen);
  }

  close(): void {
    this.sub.closed = true;
    this.def.exporter.sublist.remove(this.sub);
  }
}

export interface ServiceImportDef {
  exporter: Account;
  importer: Account;
  /** the service subject in the exporting account */
  subject: string;
  /** the local subject in the importing account (default: the same) */
  to?: string;
  responseType: "single" | "stream" | "chunked";
  /** how long a request's reply mapping lives */
  responseTtlMs: number;
  /** tells a requester "no responders" when nobody serves the request in the exporter */
  noResponders?: (reply: string) => void;
}

interface PendingReply {
  reply: string;
  expires: number;
}

/** Carries requests into the exporting account and their replies back. */
export class ServiceImport implements Client {
  readonly cid = nextInternalCid--;
  readonly kind = "internal" as const;
  readonly echo = true;
  private readonly requests: Subscription;
  private readonly responses: Subscription;
  private readonly replyPrefix: string;
  private readonly pending = new Map<string, PendingReply>();
  private seq = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly def: ServiceImportDef) {
    const local = def.to ?? def.subject;
    this.requests = newSubscription(this, local, `req${-this.cid}`);
    def.importer.sublist.insert(this.requests);
    this.replyPrefix = `_R_.${Math.random().toString(36).slice(2, 8)}${-this.cid}.`;
    this.responses = newSubscription(this, this.replyPrefix + ">", `resp${-this.cid}`);
    def.exporter.sublist.insert(this.responses);
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(def.responseTtlMs, 30_000)));
    this.sweeper.unref();
  }

  deliver(s: Subscription, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number, routed?: string): void {
    const d = this.def;
    if (s === this.requests) {
      const remote = d.to !== undefined ? mapSubject(subject, d.to, d.subject) : subject;
      let mapped: string | undefined;
      if (reply !== undefined) {
        const token = (++this.seq).toString(36);
        mapped = this.replyPrefix + token;
        this.pending.set(token, { reply, expires: Date.now() + d.responseTtlMs });
      }
      const n = d.exporter.route(null, remote, mapped, msg, hdrLen);
      if (n === 0 && reply !== undefined) {
        this.pending.delete(mapped!.slice(this.replyPrefix.length));
        d.noResponders?.(reply);
      }
      return;
    }
    // a reply in the exporting account (a JetStream delivery to a pull request shows the stored
    // subject and its ack reply, and is routed on the request's reply subject)
    const token = (routed ?? subject).slice(this.replyPrefix.length);
    const p = this.pending.get(token);
    if (p === undefined) return; // not a reply to a request that was made
    if (d.responseType === "single" || p.expires < Date.now()) this.pending.delete(token);
    if (routed === undefined) d.importer.route(null, p.reply, undefined, msg, hdrLen);
    else d.importer.routeAs(p.reply, subject, reply, msg, hdrLen);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, p] of this.pending) if (p.expires < now) this.pending.delete(k);
  }

  /** Requests waiting for a reply (for tests and monitoring). */
  get pendingReplies(): number {
    return this.pending.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.requests.closed = true;
    this.responses.closed = true;
    this.def.importer.sublist.remove(this.requests);
    this.def.exporter.sublist.remove(this.responses);
    this.pending.clear();
  }
}
