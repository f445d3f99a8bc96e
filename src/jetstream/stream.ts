// A stream: an internal client of its account subscribed to the stream's subjects. A message
// published on one of them is checked against the stream's rules and the publish headers
// (Nats-Msg-Id, Nats-Expected-*, Nats-Rollup, Nats-TTL), stored, and acknowledged with a PubAck
// once the store reports the record written. The same client answers direct gets
// ($JS.API.DIRECT.GET.<stream>[.<subject>]) when allow_direct is set.
//
// Consumers (next layer) attach through `attachConsumer`: they are told of stored messages and
// purges, and answer whether they are interested in a subject (interest retention).

import type { Account } from "../core/account.js";
import { newSubscription, type Client, type Subscription } from "../core/client.js";
import type { Logger } from "../logger.js";
import { jsError, type JsErrorName } from "./errors.js";
import { appendHeaders, encodeHeaders, getHeader, H, parseHeaders, removeHeader, type HeaderBlock, latin1ToUtf8 } from "./headers.js";
import { isStoreError, nowNs, type PurgeOptions, type RemovedMsg, type StoreConfig, type StoredMsg, type StreamState, type StreamStore } from "./store/index.js";
import { DEFAULT_DUPLICATE_WINDOW_NS, streamConfigJson, type ApiError, type StreamConfig } from "./stream-config.js";
import { subjectsCollide, isValidPublishSubject, toWire, fromWire } from "./subjects.js";
import { goDuration, parseGoDuration, rfc3339Nano } from "./time.js";
import { SubjectTransform } from "./transform.js";
import { handleDirectGet } from "./direct.js";
import { FilterIndex } from "./consumer-index.js";
import { createLink, findSourcePositions, sourceIndexName, type Link, type LinkHost } from "./sourcing.js";

let nextStreamCid = -1_000_000;

/** The largest header block a stream accepts (nats-server: math.MaxUint16). */
const MAX_HDR = 0xffff;
/** nats-server's JSMaxSubjectDetails: subjects returned per stream info page. */
export const JS_MAX_SUBJECT_DETAILS = 100_000;
const DIRECT_GROUP = "_sys_";
export const DIRECT_GET_PREFIX = "$JS.API.DIRECT.GET.";

/** What a stream needs from the engine. */
export interface StreamHost {
  readonly account: Account;
  readonly logger: Logger;
  readonly domain: string | undefined;
  /** the server's max_pending: default byte budget of a batched direct get */
  readonly maxPending: number;
  /** Account and server limits for a message about to be stored; an error when exceeded. */
  checkLimits(stream: Stream, subject: string, hdrLen: number, dataLen: number): ApiError | undefined;
}

/** A consumer as the stream sees it (implemented by the consumer layer). */
export interface StreamConsumer {
  readonly name: string;
  /** the subjects it takes (wire forms; empty or absent: all): only messages on them are offered */
  readonly filterSubjects?: readonly string[];
  /**
   * An internal consumer of another stream's mirror or source link (nats-server's "direct"):
   * not listed, not in consumer_count, not counted against max_consumers.
   */
  readonly isDirect?: boolean;
  /** a message was stored (after the PubAck decision) */
  onStored?(seq: number, subject: string): void;
  /** messages were purged; `firstSeq` is the stream's new first sequence, `filter` the purge's subject filter */
  onPurged?(firstSeq: number, lastSeq: number, filter: string | undefined): void;
  /** one message left the stream (limits, age, TTL, a delete): not called for purges */
  onRemoved?(seq: number, subject: string): void;
  /** interest retention: does this consumer want messages on `subject`? */
  isInterested?(subject: string): boolean;
  /** the stream is stopping (server shutdown): flush state */
  stop(): void;
  /** the stream is being deleted */
  delete(): void;
}

interface DedupeEntry {
  id: string;
  seq: number;
  /** ms since the epoch */
  ts: number;
}

/** What became of a published message: stored (or a duplicate), refused, or refused for the stream's limits (worth a retry). */
export const enum PubResult {
  Ok,
  Rejected,
  Limits,
}

/** The parts of the publish headers the stream acts on. */
interface PublishHeaders {
  block: HeaderBlock;
  msgId: string;
  ttl: string | undefined;
  rollup: string | undefined;
  /** a duplicate within the window: acknowledged, not stored */
  duplicate: boolean;
}

export class Stream implements Client {
  readonly cid = nextStreamCid--;
  readonly kind = "jetstream" as const;
  readonly echo = true;

  cfg: StreamConfig;
  readonly store: StreamStore;
  /** creation time, ns since the epoch */
  readonly created: bigint;
  /** last sequence assigned (stored or skipped) */
  lseq = 0;
  /** Nats-Msg-Id of the last message stored */
  lmsgId = "";
  readonly consumers = new Map<string, StreamConsumer>();

  /** Consumers other than mirror/source links' internal ones. */
  publicConsumerCount(): number {
    let n = 0;
    for (const c of this.consumers.values()) if (c.isDirect !== true) n++;
    return n;
  }
  /** the consumers by filter subject: a message is offered only to those taking its subject */
  private readonly cindex = new FilterIndex<StreamConsumer>();

  private subs: Subscription[] = [];
  private directSubs: Subscription[] = [];
  private itr: SubjectTransform | undefined;
  private rtr: SubjectTransform | undefined;
  private pubAckPrefix = "";
  private closed = false;

  private readonly ddmap = new Map<string, DedupeEntry>();
  private ddarr: DedupeEntry[] = [];
  private ddhead = 0;
  private ddtimer: NodeJS.Timeout | undefined;

  /** PubAcks waiting for the store's write: reply subject, body */
  private acks: (string | Buffer)[] = [];
  private acksScheduled = false;
  private readonly durableAcks: boolean;
  private markerQueue: string[] = [];
  /** wake-ups of the streams that mirror or source this one */
  private readonly taps = new Set<() => void>();
  /** this stream's mirror (at most one) or sources */
  private links: Link[] = [];

  constructor(
    private readonly host: StreamHost,
    cfg: StreamConfig,
    store: StreamStore,
    created: bigint,
  ) {
    this.cfg = cfg;
    this.store = store;
    this.created = created;
    this.durableAcks = store.type === "file";
    this.lseq = store.state().last_seq;
    this.applyConfig(undefined);
    this.store.setRemovedHandler((ev) => this.removed(ev));
    this.rebuildDedupe();
    this.subscribe();
  }

  get name(): string {
    return this.cfg.name;
  }

  /** Store configuration for a stream configuration (durations in ms). */
  static storeConfig(cfg: StreamConfig, extra: Partial<StoreConfig> = {}): StoreConfig {
    const ms = (ns: number | undefined) => (ns ? Math.max(1, Math.round(ns / 1e6)) : 0);
    return {
      name: cfg.name,
      storage: cfg.storage,
      subjects: cfg.subjects ? [...cfg.subjects] : undefined,
      max_msgs: cfg.max_msgs,
      max_bytes: cfg.max_bytes,
      max_age: ms(cfg.max_age),
      max_msgs_per_subject: cfg.max_msgs_per_subject,
      max_msg_size: cfg.max_msg_size ?? -1,
      discard: cfg.discard,
      discard_new_per_subject: cfg.discard_new_per_subject ?? false,
      first_seq: cfg.first_seq ?? 0,
      allow_msg_ttl: cfg.allow_msg_ttl,
      subject_delete_marker_ttl: ms(cfg.subject_delete_marker_ttl),
      ...extra,
    };
  }

  private applyConfig(old: StreamConfig | undefined): void {
    const c = this.cfg;
    const st = c.subject_transform;
    if (old === undefined || JSON.stringify(old.subject_transform) !== JSON.stringify(st)) {
      this.itr = st ? SubjectTransform.create(toWire(st.src), toWire(st.dest)) : undefined;
    }
    this.rtr = c.republish ? SubjectTransform.create(toWire(c.republish.src || ">"), toWire(c.republish.dest || ">")) : undefined;
    const d = this.host.domain;
    this.pubAckPrefix = d ? `{"stream":${JSON.stringify(c.name)},"domain":${JSON.stringify(d)},"seq":` : `{"stream":${JSON.stringify(c.name)},"seq":`;
  }

  // ================================================================ subscriptions

  private subscribe(): void {
    const sl = this.host.account.sublist;
    for (const s of this.cfg.subjects ?? []) {
      const sub = newSubscription(this, toWire(s), `js${this.subs.length}`);
      sl.insert(sub);
      this.subs.push(sub);
    }
    this.subscribeDirect();
  }

  /** Direct get on this stream's name (allow_direct) and, for a mirror with mirror_direct, on its origin's. */
  private subscribeDirect(): void {
    this.unsubscribe(this.directSubs);
    this.directSubs = [];
    const names: string[] = [];
    if (this.cfg.allow_direct) names.push(this.cfg.name);
    if (this.cfg.mirror_direct && this.cfg.mirror !== undefined) names.push(this.cfg.mirror.name);
    const sl = this.host.account.sublist;
    for (const name of names) {
      for (const subj of [DIRECT_GET_PREFIX + toWire(name), `${DIRECT_GET_PREFIX}${toWire(name)}.>`]) {
        const sub = newSubscription(this, subj, `dg${this.directSubs.length}`, DIRECT_GROUP);
        sl.insert(sub);
        this.directSubs.push(sub);
      }
    }
  }

  private unsubscribe(subs: Subscription[]): void {
    const sl = this.host.account.sublist;
    for (const s of subs) {
      s.closed = true;
      sl.remove(s);
    }
  }

  /** Applies a configuration already validated by checkStreamUpdate. */
  update(cfg: StreamConfig): void {
    const old = this.cfg;
    this.cfg = cfg;
    // subjects: add the new ones, drop the old
    const want = new Set((cfg.subjects ?? []).map(toWire));
    const keep: Subscription[] = [];
    const drop: Subscription[] = [];
    for (const s of this.subs) (want.has(s.subject) ? keep : drop).push(s);
    this.unsubscribe(drop);
    const have = new Set(keep.map((s) => s.subject));
    const sl = this.host.account.sublist;
    for (const s of (cfg.subjects ?? []).map(toWire)) {
      if (have.has(s)) continue;
      const sub = newSubscription(this, s, `js${keep.length}`);
      sl.insert(sub);
      keep.push(sub);
    }
    this.subs = keep;
    if (cfg.allow_direct !== old.allow_direct || cfg.mirror_direct !== old.mirror_direct || cfg.mirror?.name !== old.mirror?.name) this.subscribeDirect();
    this.applyConfig(old);
    if ((cfg.duplicate_window ?? 0) !== (old.duplicate_window ?? 0)) this.purgeMsgIds();
    this.store.updateConfig(Stream.storeConfig(cfg, { directory: this.store.config.directory, sync_interval: this.store.config.sync_interval }));
    this.saveMeta();
    if (this.linkHost !== undefined) this.updateLinks(this.linkHost);
  }

  // ================================================================ mirror and sources

  private linkHost: LinkHost | undefined;

  /** Starts the mirror or the sources (resuming where the stored messages say they were). */
  startLinks(host: LinkHost): void {
    this.linkHost = host;
    const cfg = this.cfg;
    if (cfg.mirror !== undefined) {
      const l = createLink(this, cfg.mirror, true, host);
      this.links = [l];
      l.start(this.lseq > 0 ? this.lseq : undefined);
      return;
    }
    const sources = cfg.sources ?? [];
    if (sources.length === 0) return;
    const links = sources.map((src) => createLink(this, src, false, host));
    const pos = findSourcePositions(this, new Set(links.map((l) => l.iname)));
    this.links = links;
    for (const l of links) l.start(pos.get(l.iname));
  }

  private updateLinks(host: LinkHost): void {
    const cfg = this.cfg;
    if (cfg.mirror === undefined && this.links.some((l) => l.mirror)) {
      // promoted: the mirror stops, the stream keeps what it has
      for (const l of this.links) l.stop();
      this.links = [];
    }
    if (cfg.mirror !== undefined) return;
    const want = new Map((cfg.sources ?? []).map((src) => [sourceIndexName(src), src]));
    const keep: Link[] = [];
    for (const l of this.links) {
      if (want.has(l.iname)) {
        keep.push(l);
        want.delete(l.iname);
      } else l.stop();
    }
    for (const src of want.values()) {
      const l = createLink(this, src, false, host);
      keep.push(l);
      l.start(undefined);
    }
    this.links = keep;
  }

  /** The stream named `name` appeared or went away: links to it re-attach or wait. */
  originChanged(name: string): void {
    for (const l of this.links) if (l.originName === name) l.attach();
  }

  addTap(fn: () => void): void {
    this.taps.add(fn);
  }

  removeTap(fn: () => void): void {
    this.taps.delete(fn);
  }

  /** A mirror stores the origin's message under its sequence and time; gaps are skipped. False: retry later. */
  storeMirrored(subject: string, m: StoredMsg): boolean {
    if (this.closed) return false;
    if (m.seq <= this.lseq) return true;
    if (m.seq > this.lseq + 1) this.lseq = this.store.skipMsgs(m.seq - 1 - this.lseq);
    try {
      const r = this.store.storeMsg(subject, m.hdr, m.data, { seq: m.seq, ts: m.ts, ttl: m.ttl !== 0 ? m.ttl : undefined });
      this.lseq = r.seq;
    } catch (e) {
      if (isStoreError(e, "MAX_MSGS") || isStoreError(e, "MAX_BYTES") || isStoreError(e, "MAX_MSGS_PER_SUBJECT") || isStoreError(e, "WRITE_FAILED")) return false;
      if (!isStoreError(e)) throw e;
      // cannot be kept (too large for this mirror): its sequence is skipped
      this.host.logger.warn(`Mirror '${this.host.account.name} > ${this.cfg.name}' skipped message ${m.seq}: ${(e as Error).message}`);
      this.lseq = this.store.skipMsgs(1);
      return true;
    }
    this.stored(this.lseq, subject, true);
    return true;
  }

  /** A source's message goes through the publish path (limits, de-duplication). False: retry later. */
  storeSourced(subject: string, msg: Buffer, hdrLen: number): boolean {
    if (this.closed) return false;
    const r = this.processInbound(subject, undefined, msg, hdrLen, true);
    if (r === PubResult.Rejected) this.host.logger.warn(`Stream '${this.host.account.name} > ${this.cfg.name}' could not store a sourced message on ${JSON.stringify(subject)}`);
    return r !== PubResult.Limits;
  }

  private linksInfo(info: Record<string, unknown>): void {
    if (this.links.length === 0) return;
    if (this.links[0]!.mirror) info.mirror = this.links[0]!.info();
    else info.sources = this.links.map((l) => l.info());
  }

  saveMeta(): void {
    this.store.writeMeta({ config: streamConfigJson(this.cfg), created: rfc3339Nano(this.created) });
  }

  // ================================================================ Client

  deliver(sub: Subscription, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number): void {
    if (this.closed) return;
    try {
      if (sub.queue === DIRECT_GROUP) {
        if (reply !== undefined) handleDirectGet(this, subject, reply, msg, hdrLen);
        return;
      }
      this.processInbound(subject, reply, msg, hdrLen);
    } catch (e) {
      // never let a stream's failure reach the publisher's connection
      this.host.logger.error(`JetStream stream '${this.host.account.name} > ${this.cfg.name}': ${(e as Error).stack ?? e}`);
    }
  }

  /** Sends a message to `subject` in the stream's account (replies, acks, republish). */
  send(subject: string, msg: Buffer, hdrLen: number): void {
    this.host.account.route(null, subject, undefined, msg, hdrLen);
  }

  private sendJson(reply: string, body: string): void {
    this.send(reply, Buffer.from(body), 0);
  }

  private fail(reply: string | undefined, canRespond: boolean, name: JsErrorName, args?: Record<string, string | number>): void {
    if (!canRespond) return;
    this.failWith(reply!, jsError(name, args));
  }

  private failWith(reply: string, e: ApiError): void {
    this.sendJson(reply, `{"error":${JSON.stringify(e)},"stream":${JSON.stringify(this.cfg.name)},"seq":0}`);
  }

  // ================================================================ publishing

  /** A message published on one of the stream's subjects (or copied from a source, `sourced`). */
  processInbound(subject: string, reply: string | undefined, msg: Buffer, hdrLen: number, sourced = false): PubResult {
    const cfg = this.cfg;
    const canRespond = reply !== undefined && reply !== "" && !cfg.no_ack;
    if (cfg.sealed) return this.reject(reply, canRespond, "JSStreamSealedErr");
    if (this.itr !== undefined) {
      const t = this.itr.match(subject);
      if (t !== undefined) subject = t;
    }

    let ph: PublishHeaders | undefined;
    if (hdrLen > 0) {
      ph = this.checkHeaders(subject, reply, canRespond, msg, hdrLen, sourced);
      if (ph === undefined) return PubResult.Rejected;
      if (ph.duplicate) return PubResult.Ok;
    }

    const dataLen = msg.length - hdrLen;
    const maxSize = cfg.max_msg_size ?? -1;
    if (maxSize >= 0 && hdrLen + dataLen > maxSize) return this.reject(reply, canRespond, "JSStreamMessageExceedsMaximumErr");
    if (hdrLen > MAX_HDR) return this.reject(reply, canRespond, "JSStreamHeaderExceedsMaximumErr");

    const limErr = this.host.checkLimits(this, subject, hdrLen, dataLen);
    if (limErr !== undefined) {
      if (canRespond) this.failWith(reply!, limErr);
      return PubResult.Limits;
    }

    const msgId = ph?.msgId ?? "";

    // interest retention with nobody interested: the sequence is used, nothing is kept
    if (cfg.retention === "interest" && !this.hasInterest(subject)) {
      this.lseq = this.store.skipMsgs(1);
      this.lmsgId = msgId;
      if (msgId !== "") this.storeMsgId(msgId, this.lseq, Date.now());
      if (ph?.rollup !== undefined) this.rollup(subject, ph.rollup, 0);
      if (canRespond) this.queueAck(reply!, this.pubAckPrefix + this.lseq + "}");
      this.stored(this.lseq, subject, false);
      return PubResult.Ok;
    }

    let hdr: Buffer | undefined;
    let ttlMs = 0;
    if (ph !== undefined) {
      hdr = msg.subarray(0, hdrLen);
      if (ph.ttl !== undefined) {
        let ttlS = parseTTL(ph.ttl);
        if (ttlS === undefined) return this.reject(reply, canRespond, "JSMessageTTLInvalidErr");
        const sdm = cfg.subject_delete_marker_ttl ?? 0;
        if (ttlS > 0 && sdm > 0 && cfg.max_msgs_per_subject !== 1) {
          const min = Math.floor(sdm / 1e9);
          if (ttlS < min) {
            ttlS = min;
            hdr = appendHeaders(removeHeader(hdr, H.TTL), [[H.TTL, String(min)]]);
          }
        }
        ttlMs = ttlS < 0 ? -1 : ttlS * 1000;
      }
    }

    let seq: number;
    let ts: bigint;
    try {
      const r = this.store.storeMsg(subject, hdr, hdrLen > 0 ? msg.subarray(hdrLen) : msg, ttlMs !== 0 ? { ttl: ttlMs } : undefined);
      seq = r.seq;
      ts = r.ts;
    } catch (e) {
      if (isStoreError(e, "WRITE_FAILED")) {
        this.host.logger.error(`JetStream failed to store a msg on stream '${this.host.account.name} > ${cfg.name}': ${(e as Error).message}`);
        return PubResult.Limits;
      }
      if (isStoreError(e)) {
        if (canRespond) this.failWith(reply!, jsError("JSStreamStoreFailedF", { err: storeErrText(e.code, e.message) }));
        return e.code === "MAX_MSGS" || e.code === "MAX_BYTES" || e.code === "MAX_MSGS_PER_SUBJECT" ? PubResult.Limits : PubResult.Rejected;
      }
      throw e;
    }

    this.lmsgId = msgId;
    this.lseq = seq;
    if (msgId !== "") this.storeMsgId(msgId, seq, Number(ts / 1_000_000n));
    if (ph?.rollup !== undefined) this.rollup(subject, ph.rollup, 1);
    if (this.rtr !== undefined) this.republish(subject, seq, ts, hdr, msg, hdrLen);
    if (canRespond) this.queueAck(reply!, this.pubAckPrefix + seq + "}");
    this.stored(seq, subject, true);
    return PubResult.Ok;
  }

  /** Tells consumers (of a stored message) and the streams sourcing from this one. */
  private stored(seq: number, subject: string, kept: boolean): void {
    if (kept && this.consumers.size > 0) for (const c of this.cindex.match(subject)) c.onStored?.(seq, subject);
    if (this.taps.size > 0) for (const t of this.taps) t();
  }

  private reject(reply: string | undefined, canRespond: boolean, name: JsErrorName, args?: Record<string, string | number>): PubResult {
    this.fail(reply, canRespond, name, args);
    return PubResult.Rejected;
  }

  /** Publish-header checks in nats-server's order; undefined when the message was refused. */
  private checkHeaders(subject: string, reply: string | undefined, canRespond: boolean, msg: Buffer, hdrLen: number, sourced: boolean): PublishHeaders | undefined {
    const cfg = this.cfg;
    const block = parseHeaders(msg, hdrLen);
    let msgId = "";
    let expStream: string | undefined;
    let expLastSeq: string | undefined;
    let expLastSubjSeq: string | undefined;
    let expLastSubjSeqSubj: string | undefined;
    let expLastMsgId: string | undefined;
    let rollup: string | undefined;
    let ttl: string | undefined;
    let incr = false;
    let schedule = false;
    for (const [k, v] of block.fields) {
      if (k.length < 5 || k.charCodeAt(0) !== 78 /* N */) continue;
      switch (k) {
        case H.MsgId:
          if (msgId === "") msgId = v;
          break;
        case H.ExpectedStream:
          expStream ??= v;
          break;
        case H.ExpectedLastSeq:
          expLastSeq ??= v;
          break;
        case H.ExpectedLastSubjSeq:
          expLastSubjSeq ??= v;
          break;
        case H.ExpectedLastSubjSeqSubj:
          expLastSubjSeqSubj ??= v;
          break;
        case H.ExpectedLastMsgId:
          expLastMsgId ??= v;
          break;
        case H.Rollup:
          rollup ??= v.toLowerCase();
          break;
        case H.TTL:
          ttl ??= v;
          break;
        case H.Incr:
          incr = true;
          break;
        case H.Schedule:
        case H.Scheduler:
          schedule = true;
          break;
      }
    }
    // counters and schedules (later servers' features) are refused, not stored as plain messages
    if (incr) {
      this.fail(reply, canRespond, "JSMessageIncrDisabledErr");
      return undefined;
    }
    if (expStream !== undefined && expStream !== "" && expStream !== cfg.name) {
      this.fail(reply, canRespond, "JSStreamNotMatchErr");
      return undefined;
    }
    if (ttl !== undefined && ttl !== "" && !cfg.allow_msg_ttl && !sourced) {
      const t = parseTTL(ttl);
      if (t !== undefined && t !== 0) {
        this.fail(reply, canRespond, "JSMessageTTLDisabledErr");
        return undefined;
      }
    }
    if (expLastSubjSeq !== undefined && expLastSubjSeq !== "") {
      const want = parseSeq(expLastSubjSeq);
      const subj = expLastSubjSeqSubj || subject;
      const last = this.store.loadLastMsg(subj);
      const fseq = last?.seq ?? 0;
      if (fseq !== want) {
        this.fail(reply, canRespond, "JSStreamWrongLastSequenceErrF", { seq: fseq });
        return undefined;
      }
    } else if (expLastSubjSeqSubj !== undefined && expLastSubjSeqSubj !== "") {
      this.fail(reply, canRespond, "JSStreamExpectedLastSeqPerSubjectInvalid");
      return undefined;
    }
    if (expLastSeq !== undefined && expLastSeq !== "" && parseSeq(expLastSeq) !== this.lseq) {
      this.fail(reply, canRespond, "JSStreamWrongLastSequenceErrF", { seq: this.lseq });
      return undefined;
    }
    if (schedule) {
      this.fail(reply, canRespond, "JSMessageSchedulesDisabledErr");
      return undefined;
    }
    if (msgId !== "" && cfg.mirror === undefined) {
      const dde = this.checkMsgId(msgId);
      if (dde !== undefined) {
        if (canRespond) this.queueAck(reply!, `${this.pubAckPrefix}${dde.seq},"duplicate": true}`);
        return { block, msgId, ttl: undefined, rollup: undefined, duplicate: true };
      }
    }
    if (expLastMsgId !== undefined && expLastMsgId !== "" && expLastMsgId !== this.lmsgId) {
      this.fail(reply, canRespond, "JSStreamWrongLastMsgIDErrF", { id: latin1ToUtf8(this.lmsgId) });
      return undefined;
    }
    if (rollup !== undefined && rollup !== "") {
      if (!cfg.allow_rollup_hdrs || cfg.deny_purge) {
        if (!sourced) {
          this.fail(reply, canRespond, "JSStreamRollupFailedF", { err: "rollup not permitted" });
          return undefined;
        }
        rollup = undefined;
      } else if (rollup !== "sub" && rollup !== "all") {
        this.fail(reply, canRespond, "JSStreamRollupFailedF", { err: `rollup value invalid: ${JSON.stringify(latin1ToUtf8(rollup))}` });
        return undefined;
      }
    } else {
      rollup = undefined;
    }
    return { block, msgId, ttl: ttl === "" ? undefined : ttl, rollup, duplicate: false };
  }

  private hasInterest(subject: string): boolean {
    return this.cindex.has(subject);
  }

  /** Nats-Rollup after a store: keep `keep` messages on the subject (sub) or in the stream (all). */
  private rollup(subject: string, rollup: string, keep: number): void {
    if (rollup === "sub") this.purge({ subject, keep });
    else if (rollup === "all") this.purge({ keep });
  }

  private republish(subject: string, seq: number, ts: bigint, hdr: Buffer | undefined, msg: Buffer, hdrLen: number): void {
    const dest = this.rtr!.match(subject);
    if (dest === undefined) return;
    if (!isValidPublishSubject(dest)) {
      this.host.logger.warn(`Stream '${this.host.account.name} > ${this.cfg.name}' suppressing republish with invalid subject ${JSON.stringify(dest)}`);
      return;
    }
    const prev = this.store.loadPrevMsg(subject, seq - 1);
    const tlseq = prev?.seq ?? 0;
    const headersOnly = this.cfg.republish?.headers_only === true;
    const dataLen = msg.length - hdrLen;
    const fields: [string, string][] = [
      [H.Stream, toWire(this.cfg.name)],
      [H.Subject, subject],
      [H.Sequence, String(seq)],
      [H.TimeStamp, rfc3339Nano(ts)],
      [H.LastSequence, String(tlseq)],
    ];
    if (headersOnly) fields.push([H.MsgSize, String(dataLen)]);
    const h = appendHeaders(hdr, fields);
    const body = headersOnly ? h : Buffer.concat([h, msg.subarray(hdrLen)]);
    this.send(dest, body, h.length);
  }

  // ================================================================ acknowledgements

  /** A PubAck goes out once everything stored so far has been written (file store). */
  private queueAck(reply: string, body: string): void {
    if (!this.durableAcks) {
      this.sendJson(reply, body);
      return;
    }
    this.acks.push(reply, body);
    if (this.acksScheduled) return;
    this.acksScheduled = true;
    // register after the current turn's messages are stored, so one write covers them all
    queueMicrotask(() => this.armAcks());
  }

  private armAcks(): void {
    const upto = this.acks.length;
    if (this.closed) {
      this.acks = [];
      this.acksScheduled = false;
      return;
    }
    this.store.afterWrite((err) => {
      const batch = this.acks.splice(0, upto);
      if (err !== undefined) {
        this.host.logger.error(`JetStream write error on stream '${this.host.account.name} > ${this.cfg.name}': ${err.message}`);
      } else {
        for (let i = 0; i < batch.length; i += 2) this.sendJson(batch[i] as string, batch[i + 1] as string);
      }
      if (this.acks.length > 0) queueMicrotask(() => this.armAcks());
      else this.acksScheduled = false;
    });
  }

  // ================================================================ de-duplication

  private dupWindowMs(): number {
    const ns = this.cfg.duplicate_window ?? 0;
    return ns > 0 ? ns / 1e6 : 0;
  }

  private checkMsgId(id: string): DedupeEntry | undefined {
    const e = this.ddmap.get(id);
    if (e === undefined) return undefined;
    if (Date.now() - e.ts > this.dupWindowMs()) return undefined;
    return e;
  }

  private storeMsgId(id: string, seq: number, ts: number): void {
    const window = this.dupWindowMs();
    if (window <= 0) return;
    const e = { id, seq, ts };
    this.ddmap.set(id, e);
    this.ddarr.push(e);
    if (this.ddtimer === undefined && !this.closed) {
      this.ddtimer = setTimeout(() => this.purgeMsgIds(), Math.max(10, window));
      this.ddtimer.unref();
    }
  }

  /** Drops de-duplication entries older than the window; re-arms for the oldest left. */
  private purgeMsgIds(): void {
    if (this.ddtimer !== undefined) clearTimeout(this.ddtimer);
    this.ddtimer = undefined;
    const window = this.dupWindowMs();
    const now = Date.now();
    let i = this.ddhead;
    const arr = this.ddarr;
    while (i < arr.length && (window <= 0 || now - arr[i]!.ts > window)) {
      const e = arr[i]!;
      if (this.ddmap.get(e.id) === e) this.ddmap.delete(e.id);
      i++;
    }
    if (i > 1024 && i * 2 > arr.length) {
      this.ddarr = arr.slice(i);
      i = 0;
    }
    this.ddhead = i;
    if (this.ddhead < this.ddarr.length && !this.closed) {
      const next = this.ddarr[this.ddhead]!.ts + window - now;
      this.ddtimer = setTimeout(() => this.purgeMsgIds(), Math.max(10, next + 1));
      this.ddtimer.unref();
    }
  }

  /** After a restart: the message ids published within the window, read back from the store. */
  private rebuildDedupe(): void {
    const window = this.dupWindowMs();
    const st = this.store.state();
    if (window <= 0 || st.messages === 0) return;
    const since = nowNs() - BigInt(Math.round(window * 1e6));
    let seq = this.store.getSeqFromTime(since);
    for (;;) {
      const m = this.store.loadNextMsg(undefined, seq);
      if (m === undefined) break;
      if (m.hdr !== undefined) {
        const id = getHeader(parseHeaders(m.hdr), H.MsgId);
        if (id) {
          if (m.seq === this.lseq) this.lmsgId = id;
          this.storeMsgId(id, m.seq, Number(m.ts / 1_000_000n));
        }
      }
      seq = m.seq + 1;
    }
  }

  // ================================================================ removals and delete markers

  private removed(ev: RemovedMsg): void {
    if (this.consumers.size > 0) for (const c of this.cindex.match(ev.subject)) c.onRemoved?.(ev.seq, ev.subject);
    const sdm = this.cfg.subject_delete_marker_ttl ?? 0;
    if (sdm <= 0 || !ev.lastForSubject || (ev.reason !== "max_age" && ev.reason !== "ttl")) return;
    if (ev.hdr !== undefined) {
      const b = parseHeaders(ev.hdr);
      if (getHeader(b, H.MarkerReason) !== undefined || getHeader(b, H.KvOperation) === "PURGE") return;
    }
    // store the marker outside the store's own removal loop
    this.markerQueue.push(ev.subject);
    if (this.markerQueue.length === 1) queueMicrotask(() => this.writeMarkers());
  }

  private writeMarkers(): void {
    const subjects = this.markerQueue;
    this.markerQueue = [];
    if (this.closed) return;
    const ttl = goDuration(Math.floor((this.cfg.subject_delete_marker_ttl ?? 0) / 1e9) * 1e9);
    const hdr = encodeHeaders([
      [H.MarkerReason, "MaxAge"],
      [H.TTL, ttl],
      [H.Rollup, "sub"],
    ]);
    for (const s of subjects) {
      try {
        // a message published on the subject since the removal means the subject is not gone
        if (this.store.loadLastMsg(s) !== undefined) continue;
        this.processInbound(s, undefined, hdr, hdr.length);
      } catch (e) {
        this.host.logger.error(`JetStream stream '${this.host.account.name} > ${this.cfg.name}': delete marker: ${(e as Error).message}`);
      }
    }
  }

  // ================================================================ operations of the API

  /** Purge (nats-server PurgeEx); returns the number of messages purged. */
  purge(opts: PurgeOptions | undefined): number {
    const n = this.store.purge(opts);
    const st = this.store.state();
    if (st.last_seq > this.lseq) this.lseq = st.last_seq;
    if (this.consumers.size > 0) {
      let first = st.first_seq;
      if (opts?.subject) first = this.store.filteredState(first, opts.subject).first || first;
      for (const c of this.consumers.values()) c.onPurged?.(first, st.last_seq, opts?.subject);
    }
    return n;
  }

  /** Deletes one message (erasing its contents unless noErase); false when there is none at seq. */
  deleteMsg(seq: number, noErase: boolean): boolean {
    const subject = this.consumers.size > 0 ? this.store.subjectForSeq(seq) : undefined;
    const ok = noErase ? this.store.removeMsg(seq) : this.store.eraseMsg(seq);
    if (ok && subject !== undefined) for (const c of this.cindex.match(subject)) c.onRemoved?.(seq, subject);
    return ok;
  }

  state(details = false): StreamState {
    return this.store.state(details ? { deleted: true } : undefined);
  }

  /** The `state` object of stream info, in nats-server's JSON form. */
  stateJson(details = false): Record<string, unknown> {
    const st = this.state(details);
    const o: Record<string, unknown> = {
      messages: st.messages,
      bytes: st.bytes,
      first_seq: st.first_seq,
      first_ts: rfc3339Nano(st.first_ts),
      last_seq: st.last_seq,
      last_ts: rfc3339Nano(st.last_ts),
    };
    if (st.num_subjects) o.num_subjects = st.num_subjects;
    if (st.num_deleted) o.num_deleted = st.num_deleted;
    if (details && st.deleted && st.deleted.length > 0) o.deleted = st.deleted;
    if (st.lost && (st.lost.msgs.length > 0 || st.lost.bytes > 0)) o.lost = { msgs: st.lost.msgs.length > 0 ? st.lost.msgs : null, bytes: st.lost.bytes };
    o.consumer_count = this.publicConsumerCount();
    return o;
  }

  /** The stream info object (without the response envelope). */
  info(opts: { details?: boolean; subjectsFilter?: string; offset?: number } = {}): { info: Record<string, unknown>; paged?: { total: number; offset: number; limit: number } } {
    const state = this.stateJson(opts.details);
    let paged: { total: number; offset: number; limit: number } | undefined;
    if (opts.subjectsFilter) {
      const wireTotals = this.store.subjectsTotals(toWire(opts.subjectsFilter));
      const totals = new Map<string, number>();
      for (const [k, v] of wireTotals) totals.set(fromWire(k), v);
      const n = totals.size;
      if (n > 0) {
        let offset = Math.max(0, opts.offset ?? 0);
        paged = { total: n, offset, limit: JS_MAX_SUBJECT_DETAILS };
        if (offset === 0 && n <= JS_MAX_SUBJECT_DETAILS) {
          state.subjects = Object.fromEntries(totals);
        } else {
          const names = [...totals.keys()].sort();
          if (offset > names.length) offset = names.length;
          const page = names.slice(offset, offset + JS_MAX_SUBJECT_DETAILS);
          if (page.length > 0) state.subjects = Object.fromEntries(page.map((s) => [s, totals.get(s)!]));
        }
        // keep subjects before consumer_count, as Go orders the fields
        const cc = state.consumer_count;
        delete state.consumer_count;
        state.consumer_count = cc;
      }
    }
    const info: Record<string, unknown> = {
      config: streamConfigJson(this.cfg),
      created: rfc3339Nano(this.created),
      state,
    };
    this.linksInfo(info);
    return { info, paged };
  }

  loadMsg(seq: number): StoredMsg | undefined {
    return this.store.loadMsg(seq);
  }

  // ================================================================ consumers

  attachConsumer(c: StreamConsumer): void {
    this.consumers.set(c.name, c);
    this.cindex.add(c, c.filterSubjects ?? []);
  }

  detachConsumer(name: string): void {
    const c = this.consumers.get(name);
    if (c !== undefined) this.cindex.remove(c);
    this.consumers.delete(name);
  }

  /** A consumer's filters changed. */
  refilterConsumer(c: StreamConsumer): void {
    if (this.consumers.get(c.name) === c) this.cindex.add(c, c.filterSubjects ?? []);
  }

  /** The consumers taking `subject`. */
  consumersFor(subject: string): StreamConsumer[] {
    return this.cindex.match(subject);
  }

  // ================================================================ lifecycle

  /** Server shutdown: stop taking messages, write what is pending, close the store. */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.links) l.stop();
    this.taps.clear();
    this.unsubscribe(this.subs);
    this.unsubscribe(this.directSubs);
    if (this.ddtimer !== undefined) clearTimeout(this.ddtimer);
    for (const c of this.consumers.values()) c.stop();
    this.store.setRemovedHandler(undefined);
    this.store.stop();
    // acks for what stop() just wrote and synced
    const acks = this.acks;
    this.acks = [];
    for (let i = 0; i < acks.length; i += 2) this.sendJson(acks[i] as string, acks[i + 1] as string);
  }

  /** The stream is deleted: consumers, subscriptions and stored data go. */
  delete(): void {
    for (const l of this.links) l.stop();
    this.taps.clear();
    for (const c of this.consumers.values()) c.delete();
    this.consumers.clear();
    this.cindex.clear();
    this.closed = true;
    this.unsubscribe(this.subs);
    this.unsubscribe(this.directSubs);
    if (this.ddtimer !== undefined) clearTimeout(this.ddtimer);
    this.acks = [];
    this.store.setRemovedHandler(undefined);
    this.store.delete();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The stream's direct-get default byte budget (the server's max_pending). */
  get maxPending(): number {
    return this.host.maxPending;
  }
}

/** nats-server's parseMessageTTL, in seconds: -1 for "never", undefined when invalid. */
export function parseTTL(v: string): number | undefined {
  if (v.toLowerCase() === "never") return -1;
  const d = parseGoDuration(v);
  if (d !== undefined) return d < 1e9 ? undefined : Math.floor(d / 1e9);
  if (!/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** A sequence header value; -1 (never a sequence) when not a number, as nats-server's parseInt64. */
function parseSeq(v: string): number {
  return /^\d+$/.test(v) ? Number(v) : -1;
}

function storeErrText(code: string, message: string): string {
  switch (code) {
    case "MAX_MSGS":
      return "maximum messages exceeded";
    case "MAX_BYTES":
      return "maximum bytes exceeded";
    case "MAX_MSGS_PER_SUBJECT":
      return "maximum messages per subject exceeded";
    case "MSG_TOO_LARGE":
      return "message too large";
    default:
      return message;
  }
}

export { subjectsCollide, DEFAULT_DUPLICATE_WINDOW_NS };
