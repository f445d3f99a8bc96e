// A JetStream consumer: an internal client of the stream's account. It keeps nats-server's state
// (next stream sequence, next delivery sequence, ack floors, pending acks with their delivery
// times, redelivery counts), delivers from the stream's store to a push subscriber or to waiting
// pull requests, takes acks on $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>,
// redelivers after ack_wait (following backoff) up to max_deliver, and persists its state through
// the stream's consumer store. Behaviour, status messages and their headers follow
// nats-server's consumer.go.
//
// Delivery runs in turns: a signal (a message stored, a pull request, an ack freeing room, a
// timer) schedules one pass over what can be delivered now; a pass delivers a bounded amount and
// yields to the event loop before the next, so receivers' connections flush in between.

import { randomBytes } from "node:crypto";
import type { Account } from "../core/account.js";
import { newSubscription, type Client, type Subscription } from "../core/client.js";
import { ADVISORY_PREFIX, publishAdvisory } from "./advisories.js";
import { consumerConfigJson, filtersOf, isDurable, isPush, type ConsumerConfig } from "./consumer-config.js";
import { EMPTY, filterArgOf, headersOnly, numAt, routeAs, sampleFrequency, subsetOf, SubjectFilter } from "./consumer-util.js";
import { CONSUMER_STALLED, LAST_CONSUMER, LAST_STREAM, pendingStatus, statusBlock, WaitQueue, type PullRequest, type PullSide } from "./consumer-pull.js";
import { getHeader, H, parseHeaders } from "./headers.js";
import { nowNs, type ConsumerState, type ConsumerStore, type PendingEntry, type StoredMsg } from "./store/index.js";
import type { Stream, StreamConsumer } from "./stream.js";
import { toWire } from "./subjects.js";
import { parseGoDuration, rfc3339Nano } from "./time.js";

let nextConsumerCid = -3_000_000;

/** nats-server's JsFlowControlMaxPending: bytes in flight a flow-controlled push consumer grows to. */
const FLOW_CONTROL_MAX_PENDING = 32 * 1024 * 1024;
/** Messages and bytes one delivery pass sends before yielding to the event loop. */
const PASS_MSGS = 512;
const PASS_BYTES = 4 * 1024 * 1024;
/** ms added to ack timers so that deliveries of a burst expire together (nats-server's ackWaitDelay). */
const ACK_WAIT_DELAY = 1;
const NS = 1_000_000;
const ACK_TERM_LIMITS_REASON = "Unacknowledged message was deleted";

/** What a consumer needs from the layer that owns it. */
export interface ConsumerOwner {
  readonly account: Account;
  readonly domain: string | undefined;
  readonly stream: Stream;
  readonly logger: { warn(s: string): void; error(s: string): void };
  /** Messages this consumer no longer needs (acked, or delivered with ack none): interest and work-queue removal. */
  acked(c: Consumer, seqs: number[]): void;
  /** The consumer went away by itself (inactive threshold). */
  expired(c: Consumer): void;
}

interface Next {
  msg: StoredMsg;
  dc: number;
}

const enum Miss {
  Eof,
  MaxAckPending,
}

export class Consumer implements Client, StreamConsumer {
  readonly cid = nextConsumerCid--;
  readonly kind = "jetstream" as const;
  readonly echo = true;

  cfg: ConsumerConfig;
  readonly name: string;
  readonly created: bigint;
  readonly store: ConsumerStore;
  /** the store outlives a restart (durable consumers of file streams) */
  readonly persistent: boolean;

  // ---- state (nats-server's names)
  /** next stream sequence to look at */
  sseq = 1;
  /** next delivery (consumer) sequence */
  dseq = 1;
  /** ack floors: consumer and stream sequence */
  adflr = 0;
  asflr = 0;
  /** stream sequence of the last delivery recorded in the state */
  private dsseq = 0;
  /** stream seq → delivery seq and time (ack pending) */
  readonly pending = new Map<number, PendingEntry>();
  /** stream seq → redeliveries so far */
  readonly rdc = new Map<number, number>();
  private rdq: number[] = [];
  private readonly rdqSet = new Set<number>();
  /** cached number of messages left to deliver, and the stream sequence it accounts for */
  private npc = 0;
  private npf = 0;
  /** deliver last per subject: the sequences to go through first, then where to resume */
  private lss: { resume: number; seqs: number[]; i: number } | undefined;
  /** last delivery / last ack, ms since the epoch (0: never) */
  private ldt = 0;
  private lat = 0;

  // ---- pull
  readonly waiting: WaitQueue | undefined;
  // ---- push
  active = false;
  private deliverWire: string;
  private unwatch: (() => void) | undefined;
  private lastDelivery = Date.now();
  // ---- flow control
  private pbytes = 0;
  private maxpb = 0;
  private pblimit = 0;
  private fcid = "";
  private fcsz = 0;
  // ---- replay and rate limit
  private replay = false;
  private replayUntil = 0;
  private lts = 0n;
  private stash: Next | undefined;
  private rateTokens = 0;
  private rateAt = 0;

  private filters: string[];
  private filterArg: string | string[] | undefined;
  private matcher: SubjectFilter;
  private readonly ackPrefix: string;
  private readonly fcPrefix: string;
  private subs: Subscription[] = [];
  private ackSub: Subscription | undefined;
  private nextSub: Subscription | undefined;
  private fcSub: Subscription | undefined;
  private scheduled = false;
  private closed = false;
  private dthresh = 0;
  private ptmr: NodeJS.Timeout | undefined;
  private ptmrEnd = 0;
  private dtmr: NodeJS.Timeout | undefined;
  private hbtmr: NodeJS.Timeout | undefined;
  private wtmr: NodeJS.Timeout | undefined;
  private wtmrAt = 0;
  private uptmr: NodeJS.Timeout | undefined;
  private delayTmr: NodeJS.Timeout | undefined;
  private readonly runBound = () => this.run();

  constructor(
    private readonly owner: ConsumerOwner,
    cfg: ConsumerConfig,
    name: string,
    created: bigint,
    store: ConsumerStore,
    persistent: boolean,
  ) {
    this.cfg = cfg;
    this.name = name;
    this.created = created;
    this.store = store;
    this.persistent = persistent;
    const s = toWire(owner.stream.name);
    const n = toWire(name);
    this.ackPrefix = `$JS.ACK.${s}.${n}.`;
    this.fcPrefix = `$JS.FC.${s}.${n}.`;
    this.deliverWire = cfg.deliver_subject ? toWire(cfg.deliver_subject) : "";
    this.waiting = isPush(cfg) ? undefined : new WaitQueue(cfg.max_waiting);
    this.filters = filtersOf(cfg).map(toWire);
    this.filterArg = filterArgOf(this.filters);
    this.matcher = new SubjectFilter(this.filters);
  }

  get stream(): Stream {
    return this.owner.stream;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get isPullMode(): boolean {
    return this.waiting !== undefined;
  }

  /** The subjects this consumer takes (wire forms; empty for all). */
  get filterSubjects(): readonly string[] {
    return this.filters;
  }

  // ================================================================ start-up

  /** A new consumer: its starting position (nats-server's selectStartingSeqNo), saved. */
  selectStartingSeqNo(): void {
    const store = this.stream.store;
    const st = store.state();
    const cfg = this.cfg;
    const optSeq = cfg.opt_start_seq ?? 0;
    if (optSeq === 0) {
      switch (cfg.deliver_policy) {
        case "all":
          this.sseq = st.first_seq;
          break;
        case "last":
          if (this.filters.length === 0) this.sseq = st.last_seq;
          else {
            this.sseq = 0;
            for (const f of this.filters) {
              const fs = store.filteredState(1, f);
              if (fs.last > this.sseq) this.sseq = fs.last;
            }
          }
          break;
        case "last_per_subject":
          if (this.stream.cfg.max_msgs_per_subject === 1) this.sseq = st.first_seq;
          else {
            const seqs = store.multiLastSeqs(this.filters.length > 0 ? this.filters : [">"]);
            if (seqs.length === 0) this.sseq = st.last_seq;
            else {
              this.sseq = seqs[0]!;
              this.lss = { resume: st.last_seq, seqs, i: 0 };
            }
          }
          break;
        case "by_start_time": {
          this.sseq = store.getSeqFromTime(cfg.opt_start_time ?? 0n);
          if (this.filters.length > 0) {
            let nseq = st.last_seq;
            for (const f of this.filters) {
              const fs = store.filteredState(st.first_seq, f);
              if (fs.first >= this.sseq && fs.first < nseq) nseq = fs.first;
            }
            if (nseq > this.sseq && nseq < st.last_seq) this.sseq = nseq;
          }
          break;
        }
        default:
          this.sseq = st.last_seq + 1;
      }
    } else {
      this.sseq = optSeq;
    }
    if (st.first_seq === 0 && optSeq === 0) this.sseq = 1;
    else if (this.sseq > st.last_seq && optSeq === 0) this.sseq = st.last_seq + 1;
    else if (this.sseq < st.first_seq) this.sseq = st.first_seq;
    if (this.sseq < 1) this.sseq = 1;
    this.dseq = 1;
    this.adflr = 0;
    this.asflr = this.sseq - 1;
    this.dsseq = this.sseq - 1;
    this.saveState();
  }

  /** A recovered consumer: its saved state, reconciled with what the stream still has. */
  applyState(st: ConsumerState): void {
    this.sseq = st.delivered.stream_seq + 1;
    this.dseq = st.delivered.consumer_seq + 1;
    this.dsseq = st.delivered.stream_seq;
    this.adflr = st.ack_floor.consumer_seq;
    this.asflr = st.ack_floor.stream_seq;
    for (const [k, v] of st.pending ?? []) this.pending.set(k, v);
    for (const [k, v] of st.redelivered ?? []) this.rdc.set(k, v);
    const sst = this.stream.store.state();
    const lseq = sst.last_seq;
    if (lseq < this.sseq - 1) {
      // the stream lost messages (a torn tail): do not skip what gets published next
      this.owner.logger.warn(`JetStream consumer '${this.owner.account.name} > ${this.stream.name} > ${this.name}' delivered sequence ${this.sseq - 1} past last stream sequence of ${lseq}`);
      if (this.asflr > lseq) {
        this.asflr = lseq;
        this.adflr = Math.max(0, this.dseq - 1);
        this.pending.clear();
        this.rdc.clear();
      }
      for (const k of [...this.pending.keys()]) if (k > lseq) this.pending.delete(k);
      for (const k of [...this.rdc.keys()]) if (k > lseq) this.rdc.delete(k);
      if (this.pending.size === 0) {
        this.sseq = this.asflr + 1;
        this.dseq = this.adflr + 1;
      } else {
        let ms = 0;
        let mc = 0;
        for (const [k, p] of this.pending) {
          if (k > ms) ms = k;
          if (p.sequence > mc) mc = p.sequence;
        }
        this.sseq = ms + 1;
        this.dseq = mc + 1;
      }
      this.dsseq = this.sseq - 1;
      this.saveState();
    }
    // redelivery counts of messages the stream no longer has are dropped
    for (const k of [...this.rdc.keys()]) if (k < sst.first_seq) this.rdc.delete(k);
  }

  /** Subscribes and starts delivering (nats-server's setLeader(true)). */
  start(): void {
    const acc = this.owner.account;
    const s = toWire(this.stream.name);
    const n = toWire(this.name);
    if (this.cfg.ack_policy !== "none") this.ackSub = this.subscribe(`${this.ackPrefix}*.*.*.*.*`);
    this.nextSub = this.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${s}.${n}`);
    if (this.cfg.flow_control) {
      this.pblimit = FLOW_CONTROL_MAX_PENDING;
      this.maxpb = FLOW_CONTROL_MAX_PENDING / 16;
      this.fcSub = this.subscribe(`${this.fcPrefix}*`);
    }
    this.updateInactiveThreshold();
    this.computeNumPending();
    if (isPush(this.cfg)) {
      this.unwatch = acc.sublist.onChange(() => this.checkInterest());
      this.active = acc.sublist.hasInterest(this.deliverWire);
      if (this.cfg.idle_heartbeat) this.armHeartbeat(this.cfg.idle_heartbeat / NS);
    }
    if (this.dthresh > 0 && (this.isPullMode || !this.active)) this.armDelete(this.dthresh);
    this.updatePauseState();
    if (this.cfg.replay_policy !== "instant") {
      this.replay = true;
      this.replayUntil = this.stream.store.state().last_seq;
    }
    if (this.pending.size > 0) {
      // recovered pending acks: look at them soon
      const aw = (this.cfg.ack_wait ?? 0) / NS;
      this.resetPtmr(aw > 0 && aw < 500 ? aw + ACK_WAIT_DELAY : 500 + Math.floor(Math.random() * 1000));
    }
    this.signal();
  }

  private subscribe(subject: string): Subscription {
    const sub = newSubscription(this, subject, `c${this.subs.length}`);
    this.owner.account.sublist.insert(sub);
    this.subs.push(sub);
    return sub;
  }

  /** nats-server's updateInactiveThreshold (jitter for pull consumers). */
  private updateInactiveThreshold(): void {
    const it = (this.cfg.inactive_threshold ?? 0) / NS;
    const jitter = () => 100 + Math.floor(Math.random() * 900);
    if (!isDurable(this.cfg) && it <= 0) this.dthresh = 5000 + jitter();
    else if (it > 0) this.dthresh = this.isPullMode ? it + jitter() : it;
    else this.dthresh = 0;
  }

  // ================================================================ the state and its store

  /** The state handed to the store: one object, its pairs updated in place, its maps the live ones. */
  private readonly state: ConsumerState = {
    delivered: { consumer_seq: 0, stream_seq: 0 },
    ack_floor: { consumer_seq: 0, stream_seq: 0 },
    pending: this.pending,
    redelivered: this.rdc,
  };

  private buildState(): ConsumerState {
    const st = this.state;
    st.delivered.consumer_seq = this.dseq - 1;
    st.delivered.stream_seq = this.dsseq;
    st.ack_floor.consumer_seq = this.adflr;
    st.ack_floor.stream_seq = this.asflr;
    return st;
  }

  /** Hands the state to the store, which writes it with its next batch. */
  private saveState(): void {
    if (this.closed) return;
    this.store.update(this.buildState());
  }

  /** The consumer's saved form: its configuration (what recovery reads back). */
  metaJson(): Record<string, unknown> {
    return { stream_name: this.stream.name, name: this.name, created: rfc3339Nano(this.created), config: consumerConfigJson(this.cfg) };
  }

  // ================================================================ Client: acks, pull requests, flow control

  deliver(sub: Subscription, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number): void {
    if (this.closed) return;
    try {
      if (sub === this.ackSub) this.processAck(subject, reply, hdrLen > 0 ? msg.subarray(hdrLen) : msg);
      else if (sub === this.nextSub) this.processNextRequest(reply, msg, hdrLen);
      else if (sub === this.fcSub) this.processFlowControl(subject);
    } catch (e) {
      this.owner.logger.error(`JetStream consumer '${this.owner.account.name} > ${this.stream.name} > ${this.name}': ${(e as Error).stack ?? e}`);
    }
  }

  private sendStatus(to: string, block: Buffer, reply?: string): void {
    this.owner.account.route(null, to, reply, block, block.length);
  }

  // ================================================================ pull requests

  private processNextRequest(reply: string | undefined, msg: Buffer, hdrLen: number): void {
    if (reply === undefined || reply === "") return;
    if (hdrLen > 0) {
      const lvl = getHeader(parseHeaders(msg, hdrLen), H.RequiredApiLevel);
      if (lvl !== undefined && lvl !== "" && !(Number(lvl) <= 1)) {
        this.sendStatus(reply, statusBlock(412, "Required Api Level"));
        return;
      }
    }
    this.nextRequest(reply, hdrLen > 0 ? msg.subarray(hdrLen) : msg);
  }

  /** processNextMsgRequest */
  nextRequest(reply: string, body: Buffer): void {
    const wq = this.waiting;
    if (wq === undefined) return this.sendStatus(reply, statusBlock(409, "Consumer is push based"));
    const err = wq.request(reply, body, this.cfg, this.pullSide);
    if (err !== undefined) this.sendStatus(reply, err);
    else this.signal();
  }

  /** What the wait queue needs from its consumer. */
  private readonly pullSide: PullSide = {
    send: (to, block) => this.sendStatus(to, block),
    heartbeat: (to) => this.sendHeartbeat(to),
    hasInterest: (s) => this.owner.account.sublist.hasInterest(s),
    available: () => this.numPending() + this.rdq.length,
  };

  /** Expired requests and requesters gone away are dropped; heartbeats due are sent. */
  private processWaiting(eos: boolean): { brp: number; fexp: number } {
    const wq = this.waiting;
    if (wq === undefined || wq.isEmpty()) return { brp: 0, fexp: 0 };
    return wq.expire(eos, this.pullSide);
  }

  /** The next request that can take a message of `sz` bytes (nats-server's nextWaiting). */
  private nextWaiting(sz: number): PullRequest | undefined {
    return this.waiting!.next(sz, this.pullSide);
  }

  // ================================================================ delivery

  /** Schedules a delivery pass. */
  signal(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    queueMicrotask(this.runBound);
  }

  private isPaused(): boolean {
    const pu = this.cfg.pause_until;
    return pu !== undefined && pu > 0n && nowNs() < pu;
  }

  /** One delivery pass (nats-server's loopAndGatherMsgs, without the blocking). */
  private run(): void {
    this.scheduled = false;
    if (this.closed || this.delayTmr !== undefined) return;
    let miss: Miss | undefined;
    let sent = 0;
    let bytes = 0;
    const push = this.waiting === undefined;
    if (!this.isPaused()) {
      for (;;) {
        if (push) {
          if (!this.active || (this.maxpb > 0 && this.pbytes > this.maxpb)) break;
        } else if (this.waiting!.isEmpty()) break;
        if (sent >= PASS_MSGS || bytes >= PASS_BYTES) {
          // more to do: let the receivers' connections flush first
          this.scheduled = true;
          setImmediate(this.runBound);
          return;
        }
        let next: Next | Miss;
        let fromStash = false;
        if (this.stash !== undefined) {
          next = this.stash;
          this.stash = undefined;
          fromStash = true;
        } else next = this.getNextMsg();
        if (typeof next === "number") {
          miss = next;
          break;
        }
        const { msg, dc } = next;
        // replay original: wait for the time between this message and the last one
        if (!fromStash && this.replay && this.lts > 0n) {
          const delay = Number(msg.ts - this.lts) / NS;
          if (delay > 1) {
            this.delayWith(next, delay);
            return;
          }
        }
        let hdr = msg.hdr;
        let data = msg.data;
        if (this.cfg.headers_only) {
          hdr = headersOnly(hdr, data.length);
          data = EMPTY;
        }
        if (dc === 1) this.npc--;
        const ackReply = `${this.ackPrefix}${dc}.${msg.seq}.${this.dseq}.${msg.ts}.${this.numPending()}`;
        const hlen = hdr?.length ?? 0;
        const sz = msg.subject.length + ackReply.length + hlen + data.length;
        // rate limit: wait for the tokens
        if (!fromStash && this.cfg.rate_limit_bps) {
          const delay = this.rateDelay(sz);
          if (delay > 0) {
            if (dc === 1) this.npc++;
            this.delayWith(next, delay);
            return;
          }
        }
        let dsubj: string;
        let done: PullRequest | undefined;
        if (push) dsubj = this.deliverWire;
        else {
          const r = this.nextWaiting(sz);
          if (r === undefined) {
            // nobody to take it: put it back
            if (dc === 1 && msg.seq === this.sseq - 1) {
              this.sseq--;
              this.npc++;
            } else if (!this.rdqSet.has(msg.seq)) {
              this.decDeliveryCount(msg.seq);
              this.addToRedeliverQueue(msg.seq);
            }
            break;
          }
          dsubj = r.reply;
          done = r;
          if (r.n > 0 && r.hb > 0) r.hbt = Date.now() + r.hb;
        }
        this.lts = msg.ts;
        this.deliverMsg(dsubj, ackReply, msg, hdr, data, dc, sz);
        if (done !== undefined && done.n <= 0 && done.b > 0) this.sendStatus(dsubj, pendingStatus(409, "Batch Completed", done));
        sent++;
        bytes += sz;
      }
    }
    this.waitForMsgs(miss);
  }

  private delayWith(next: Next, ms: number): void {
    this.stash = next;
    this.delayTmr = setTimeout(() => {
      this.delayTmr = undefined;
      this.signal();
    }, Math.ceil(ms));
    this.delayTmr.unref();
  }

  /** Token bucket of rate_limit_bps (bytes per second = bps / 8, burst = the largest message): the wait before `sz` bytes may go. */
  private rateDelay(sz: number): number {
    const rate = this.cfg.rate_limit_bps! / 8;
    const mms = this.stream.cfg.max_msg_size;
    const burst = Math.max(mms !== undefined && mms > 0 ? mms : 1024 * 1024, sz);
    const now = Date.now();
    if (this.rateAt === 0) this.rateTokens = burst;
    else this.rateTokens = Math.min(burst, this.rateTokens + ((now - this.rateAt) / 1000) * rate);
    this.rateAt = now;
    // reserved now, sent when the bucket has refilled (rate.ReserveN)
    this.rateTokens -= sz;
    return this.rateTokens >= 0 ? 0 : (-this.rateTokens / rate) * 1000;
  }

  /** Nothing more to deliver now: expire pull requests, arm the timer for the next expiry or heartbeat. */
  private waitForMsgs(miss: Miss | undefined): void {
    if (this.replay && this.sseq > this.replayUntil) this.replay = false;
    if (this.waiting === undefined) return;
    const { fexp } = this.processWaiting(miss !== Miss.MaxAckPending);
    if (fexp > 0) {
      if (this.wtmr !== undefined && this.wtmrAt === fexp) return;
      if (this.wtmr !== undefined) clearTimeout(this.wtmr);
      this.wtmrAt = fexp;
      this.wtmr = setTimeout(() => {
        this.wtmr = undefined;
        this.wtmrAt = 0;
        if (this.closed) return;
        this.processWaiting(true);
        this.signal();
      }, Math.max(1, fexp - Date.now()));
      this.wtmr.unref();
    } else if (this.wtmr !== undefined) {
      clearTimeout(this.wtmr);
      this.wtmr = undefined;
      this.wtmrAt = 0;
    }
  }

  /** getNextMsg: redeliveries first, then (within max_ack_pending) the next new message. */
  private getNextMsg(): Next | Miss {
    const store = this.stream.store;
    while (this.rdq.length > 0) {
      const seq = this.rdq.shift()!;
      this.rdqSet.delete(seq);
      const dc = this.incDeliveryCount(seq);
      const maxdc = this.cfg.max_deliver > 0 ? this.cfg.max_deliver : 0;
      if (maxdc > 0 && dc > maxdc) {
        if (dc === maxdc + 1) this.notifyDeliveryExceeded(seq, dc - 1);
        const p = this.pending.get(seq);
        if (p !== undefined) {
          this.pending.delete(seq);
          this.moveAckFloor(p.sequence, seq);
          this.saveState();
        }
        continue;
      }
      const msg = store.loadMsg(seq);
      if (msg === undefined) {
        this.decDeliveryCount(seq);
        const p = this.pending.get(seq);
        if (p !== undefined) this.processTerm(seq, p.sequence, dc - 1, ACK_TERM_LIMITS_REASON);
        continue;
      }
      return { msg, dc };
    }
    if (this.cfg.max_ack_pending > 0 && this.pending.size >= this.cfg.max_ack_pending) return Miss.MaxAckPending;
    const lss = this.lss;
    if (lss !== undefined && lss.i < lss.seqs.length) {
      const seq = lss.seqs[lss.i++]!;
      if (lss.i >= lss.seqs.length) {
        this.sseq = lss.resume;
        this.lss = undefined;
      } else this.sseq = seq;
      this.sseq++;
      const msg = store.loadMsg(seq);
      return msg === undefined ? this.getNextMsg() : { msg, dc: 1 };
    }
    const msg = store.loadNextMsg(this.filterArg, this.sseq);
    if (msg === undefined) {
      const last = store.state().last_seq;
      if (last >= this.sseq) this.sseq = last + 1;
      if (this.npc !== 0 && this.sseq > last) {
        this.npc = 0;
        this.npf = last;
      }
      return Miss.Eof;
    }
    if (msg.seq >= this.sseq) this.sseq = msg.seq + 1;
    return { msg, dc: 1 };
  }

  /** deliverMsg: counts it delivered, tracks its ack, sends it. */
  private deliverMsg(dsubj: string, ackReply: string, msg: StoredMsg, hdr: Buffer | undefined, data: Buffer, dc: number, sz: number): void {
    const dseq = this.dseq++;
    const seq = msg.seq;
    if (this.maxpb > 0) this.pbytes += sz;
    this.dsseq = seq;
    const now = Date.now();
    this.ldt = now;
    this.lastDelivery = now;
    const ackNone = this.cfg.ack_policy === "none";
    if (ackNone) {
      this.adflr = dseq;
      this.asflr = seq;
    } else this.trackPending(seq, dseq);
    this.saveState();
    const body = hdr !== undefined && hdr.length > 0 ? (data.length > 0 ? Buffer.concat([hdr, data]) : hdr) : data;
    routeAs(this.owner.account, dsubj, msg.subject, ackReply, body, hdr?.length ?? 0);
    if (this.maxpb > 0 && this.needFlowControl(sz)) this.sendFlowControl();
    if (this.waiting !== undefined && this.dthresh > 0) this.waiting.last = now;
    if (ackNone && this.stream.cfg.retention !== "limits") this.owner.acked(this, [seq]);
  }

  // ================================================================ push: interest, heartbeats, flow control

  private checkInterest(): void {
    if (this.closed || this.waiting !== undefined) return;
    const interest = this.owner.account.sublist.hasInterest(this.deliverWire);
    if (interest === this.active) return;
    this.updateDeliveryInterest(interest);
  }

  private updateDeliveryInterest(interest: boolean): void {
    if (interest && !this.active) this.signal();
    this.active = interest;
    if (this.dtmr !== undefined && this.dthresh > 0 && !interest) return;
    this.clearDelete();
    if (!interest && this.dthresh > 0) this.armDelete(this.dthresh);
  }

  private armHeartbeat(ms: number): void {
    if (this.hbtmr !== undefined) clearTimeout(this.hbtmr);
    this.hbtmr = setTimeout(() => {
      this.hbtmr = undefined;
      if (this.closed) return;
      const hb = (this.cfg.idle_heartbeat ?? 0) / NS;
      if (hb <= 0) return;
      const idle = Date.now() - this.lastDelivery;
      if (idle >= hb - 1) {
        if (this.active) this.sendHeartbeat(this.deliverWire);
        this.lastDelivery = Date.now();
        this.armHeartbeat(hb);
      } else this.armHeartbeat(hb - idle);
    }, Math.max(1, ms));
    this.hbtmr.unref();
  }

  /** "100 Idle Heartbeat" with the last delivered sequences (and the stalled flow control reply, if any). */
  private sendHeartbeat(to: string): void {
    const fields: [string, string | number][] = [
      [LAST_CONSUMER, this.dseq - 1],
      [LAST_STREAM, this.sseq - 1],
    ];
    if (this.fcid !== "") fields.push([CONSUMER_STALLED, this.fcid]);
    this.sendStatus(to, statusBlock(100, "Idle Heartbeat", fields));
  }

  private needFlowControl(sz: number): boolean {
    if (this.maxpb === 0) return false;
    if (this.fcid === "" && this.pbytes > this.maxpb / 2) return true;
    if (this.fcid !== "" && this.pbytes - this.fcsz >= this.maxpb) this.fcsz += sz;
    return false;
  }

  private sendFlowControl(): void {
    if (this.waiting !== undefined) return;
    const rply = this.fcPrefix + randomBytes(3).toString("hex").slice(0, 4);
    this.fcsz = this.pbytes;
    this.fcid = rply;
    this.sendStatus(this.deliverWire, statusBlock(100, "FlowControl Request"), rply);
  }

  private processFlowControl(subject: string): void {
    if (subject !== this.fcid) return;
    if (this.maxpb < this.pblimit) this.maxpb = Math.min(this.maxpb * 2, this.pblimit);
    this.pbytes = Math.max(0, this.pbytes - this.fcsz);
    this.fcid = "";
    this.fcsz = 0;
    this.signal();
  }

  // ================================================================ acks

  private processAck(subject: string, reply: string | undefined, body: Buffer): void {
    // $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>: the five numbers at the end
    const p = this.ackPrefix.length;
    const e1 = subject.indexOf(".", p);
    const e2 = subject.indexOf(".", e1 + 1);
    const e3 = subject.indexOf(".", e2 + 1);
    if (e1 < 0 || e2 < 0 || e3 < 0) return;
    const dc = numAt(subject, p, e1);
    const sseq = numAt(subject, e1 + 1, e2);
    const dseq = numAt(subject, e2 + 1, e3);
    if (sseq <= 0 || dseq <= 0) return;
    this.suppressDeletion();
    const text = body.length === 0 ? "" : body.latin1Slice(0, body.length);
    let replied = false;
    if (text === "" || text === "+ACK" || text === "+OK") {
      if (!this.processAckMsg(sseq, dseq, dc, true)) replied = true;
    } else if (text.startsWith("+NXT")) {
      this.processAckMsg(sseq, dseq, dc, true);
      if (reply !== undefined && reply !== "") this.nextRequest(reply, body.subarray(4));
      replied = true;
    } else if (text.startsWith("-NAK")) {
      this.processNak(sseq, dseq, dc, text.slice(4));
    } else if (text === "+WPI") {
      this.progressUpdate(sseq);
    } else if (text.startsWith("+TERM")) {
      if (!this.processTerm(sseq, dseq, dc, body.subarray(5).toString("utf8").trim())) replied = true;
    }
    if (reply !== undefined && reply !== "" && !replied) {
      // a double ack: answered once the state holding the ack is written
      this.store.flush();
      this.owner.account.route(null, reply, undefined, EMPTY, 0);
    }
  }

  /** processAckMsg; false when the ack was not for a delivered message. */
  private processAckMsg(sseq: number, dseq: number, dc: number, sample: boolean): boolean {
    if (sseq >= this.sseq) return false;
    const cfg = this.cfg;
    const maxp = cfg.max_ack_pending;
    let needSignal = false;
    const acked: number[] = [];
    switch (cfg.ack_policy) {
      case "explicit": {
        const p = this.pending.get(sseq);
        if (p !== undefined) {
          if (sample) this.sampleAck(sseq, p, dc);
          if (maxp > 0 && this.pending.size >= maxp) needSignal = true;
          this.pending.delete(sseq);
          dseq = p.sequence;
          this.moveAckFloor(dseq, sseq);
          acked.push(sseq);
        }
        this.rdc.delete(sseq);
        this.removeFromRedeliverQueue(sseq);
        break;
      }
      case "all": {
        if (dseq <= this.adflr || sseq <= this.asflr) return true;
        if (maxp > 0 && this.pending.size >= maxp) needSignal = true;
        this.adflr = dseq;
        this.asflr = sseq;
        for (const seq of [...this.pending.keys()]) {
          if (seq <= sseq) {
            this.pending.delete(seq);
            this.rdc.delete(seq);
            this.removeFromRedeliverQueue(seq);
            acked.push(seq);
          }
        }
        if (!acked.includes(sseq)) acked.push(sseq);
        break;
      }
      default:
        return true;
    }
    this.lat = Date.now();
    this.saveState();
    if (acked.length > 0 && this.stream.cfg.retention !== "limits") this.owner.acked(this, acked);
    if (needSignal) this.signal();
    return true;
  }

  private moveAckFloor(dseq: number, sseq: number): void {
    if (this.pending.size === 0) {
      this.adflr = this.dseq - 1;
      this.asflr = this.sseq - 1;
    } else if (dseq === this.adflr + 1) {
      this.adflr = dseq;
      this.asflr = sseq;
      for (let ss = sseq + 1; ss < this.sseq; ss++) {
        const p = this.pending.get(ss);
        if (p !== undefined) {
          if (p.sequence > 0) {
            this.adflr = p.sequence - 1;
            this.asflr = ss - 1;
          }
          break;
        }
      }
    }
  }

  private processNak(sseq: number, dseq: number, dc: number, arg: string): void {
    if (dseq <= this.adflr || dseq > this.dseq) return;
    const p = this.pending.get(sseq);
    if (p === undefined) return;
    const fields: Record<string, unknown> = { stream: this.stream.name, consumer: this.name, consumer_seq: dseq, stream_seq: sseq, deliveries: dc };
    if (this.owner.domain) fields.domain = this.owner.domain;
    publishAdvisory(this.owner.account, `${ADVISORY_PREFIX}CONSUMER.MSG_NAKED.${this.stream.name}.${this.name}`, "io.nats.jetstream.advisory.v1.nak", fields);
    const a = arg.trim();
    if (a !== "") {
      let d: number | undefined;
      if (a.startsWith("{")) {
        try {
          const o = JSON.parse(a) as { delay?: unknown };
          d = typeof o.delay === "number" ? o.delay : 0;
        } catch {
          d = undefined;
        }
      } else d = parseGoDuration(a);
      if (d === undefined) {
        this.owner.logger.warn(`JetStream consumer '${this.owner.account.name} > ${this.stream.name} > ${this.name}' bad NAK delay value: ${JSON.stringify(a)}`);
      } else {
        this.removeFromRedeliverQueue(sseq);
        // now - ack_wait is "expired now": the delay counts from there
        p.ts = nowNs() - BigInt(this.cfg.ack_wait ?? 0) + BigInt(Math.round(d));
        this.saveState();
        if (this.ptmr !== undefined || d > 0) this.resetPtmr(10);
        return;
      }
    }
    if (!this.rdqSet.has(sseq)) this.addToRedeliverQueue(sseq);
    this.signal();
  }

  /** +TERM: acked (no more deliveries) and reported. */
  private processTerm(sseq: number, dseq: number, dc: number, reason: string): boolean {
    const ok = this.processAckMsg(sseq, dseq, dc, false);
    const fields: Record<string, unknown> = { stream: this.stream.name, consumer: this.name, consumer_seq: dseq, stream_seq: sseq, deliveries: dc };
    if (reason !== "") fields.reason = reason;
    if (this.owner.domain) fields.domain = this.owner.domain;
    publishAdvisory(this.owner.account, `${ADVISORY_PREFIX}CONSUMER.MSG_TERMINATED.${this.stream.name}.${this.name}`, "io.nats.jetstream.advisory.v1.terminated", fields);
    return ok;
  }

  private progressUpdate(seq: number): void {
    const p = this.pending.get(seq);
    if (p === undefined) return;
    p.ts = nowNs();
    this.saveState();
  }

  private sampleAck(sseq: number, p: PendingEntry, dc: number): void {
    const f = sampleFrequency(this.cfg.sample_freq);
    if (f <= 0 || (f < 100 && Math.random() * 100 > f)) return;
    const fields: Record<string, unknown> = {
      stream: this.stream.name,
      consumer: this.name,
      consumer_seq: p.sequence,
      stream_seq: sseq,
      ack_time: Number(nowNs() - p.ts),
      deliveries: dc,
    };
    if (this.owner.domain) fields.domain = this.owner.domain;
    publishAdvisory(this.owner.account, `$JS.EVENT.METRIC.CONSUMER.ACK.${this.stream.name}.${this.name}`, "io.nats.jetstream.metric.v1.consumer_ack", fields);
  }

  private notifyDeliveryExceeded(sseq: number, dc: number): void {
    const fields: Record<string, unknown> = { stream: this.stream.name, consumer: this.name, stream_seq: sseq, deliveries: dc };
    if (this.owner.domain) fields.domain = this.owner.domain;
    publishAdvisory(this.owner.account, `${ADVISORY_PREFIX}CONSUMER.MAX_DELIVERIES.${this.stream.name}.${this.name}`, "io.nats.jetstream.advisory.v1.max_deliver", fields);
  }

  /** Ack activity keeps an inactive-threshold countdown from finishing. */
  private suppressDeletion(): void {
    if (this.dthresh <= 0) return;
    // a pull consumer's timer looks at `last` when it fires
    if (this.waiting !== undefined) this.waiting.last = Date.now();
    else if (this.dtmr !== undefined) this.armDelete(this.dthresh);
  }

  // ================================================================ redelivery

  private deliveryCount(seq: number): number {
    return (this.rdc.get(seq) ?? 0) + 1;
  }

  private incDeliveryCount(seq: number): number {
    const n = (this.rdc.get(seq) ?? 0) + 1;
    this.rdc.set(seq, n);
    return n + 1;
  }

  private decDeliveryCount(seq: number): void {
    const n = (this.rdc.get(seq) ?? 0) - 1;
    if (n <= 0) this.rdc.delete(seq);
    else this.rdc.set(seq, n);
  }

  private addToRedeliverQueue(seq: number): void {
    this.rdq.push(seq);
    this.rdqSet.add(seq);
  }

  private removeFromRedeliverQueue(seq: number): void {
    if (!this.rdqSet.delete(seq)) return;
    const i = this.rdq.indexOf(seq);
    if (i >= 0) this.rdq.splice(i, 1);
  }

  /** ms until a message delivered `redeliveries` times before is due again. */
  private ackWaitFor(seq: number): number {
    const bo = this.cfg.backoff;
    if (bo !== undefined && bo.length > 0) {
      const bi = Math.min(Math.max(this.rdc.get(seq) ?? 0, 0), bo.length - 1);
      return bo[bi]! / NS;
    }
    return (this.cfg.ack_wait ?? 0) / NS;
  }

  private trackPending(sseq: number, dseq: number): void {
    const ts = nowNs();
    const p = this.pending.get(sseq);
    if (p !== undefined) p.ts = ts;
    else this.pending.set(sseq, { sequence: dseq, ts });
    const minDelay = this.ackWaitFor(sseq) + ACK_WAIT_DELAY;
    const deadline = Date.now() + minDelay;
    if (this.ptmr === undefined || this.ptmrEnd > deadline) this.resetPtmr(minDelay);
  }

  private resetPtmr(ms: number): void {
    if (this.closed) return;
    if (this.ptmr !== undefined) clearTimeout(this.ptmr);
    this.ptmr = setTimeout(() => {
      this.ptmr = undefined;
      this.ptmrEnd = 0;
      this.checkPending();
    }, Math.max(1, ms));
    this.ptmr.unref();
    this.ptmrEnd = Date.now() + ms;
  }

  private stopPtmr(): void {
    if (this.ptmr !== undefined) clearTimeout(this.ptmr);
    this.ptmr = undefined;
    this.ptmrEnd = 0;
  }

  /** Has `seq` been delivered max_deliver times? Then it is reported once and leaves pending. */
  private hasMaxDeliveries(seq: number): boolean {
    const maxdc = this.cfg.max_deliver > 0 ? this.cfg.max_deliver : 0;
    if (maxdc === 0) return false;
    const dc = this.deliveryCount(seq);
    if (dc < maxdc) return false;
    if (dc === maxdc) this.notifyDeliveryExceeded(seq, dc);
    if (this.cfg.max_ack_pending > 0 && this.pending.size >= this.cfg.max_ack_pending) this.signal();
    const p = this.pending.get(seq);
    if (p !== undefined) {
      this.pending.delete(seq);
      this.moveAckFloor(p.sequence, seq);
    }
    // kept, so that an interest stream keeps the message
    this.rdc.set(seq, dc - 1);
    return true;
  }

  /** The ack timer fired: what is past its ack wait goes on the redelivery queue. */
  private checkPending(): void {
    if (this.closed) return;
    const aw = this.cfg.ack_wait ?? 0;
    if (aw === 0 && !(this.cfg.backoff?.length)) return;
    const fseq = this.stream.store.state().first_seq;
    const now = nowNs();
    const bo = this.cfg.backoff;
    let next = bo !== undefined && bo.length > 0 ? bo[bo.length - 1]! : aw + ACK_WAIT_DELAY * NS;
    let changed = false;
    const expired: number[] = [];
    for (const [seq, p] of this.pending) {
      if (seq < fseq || seq <= this.asflr) {
        this.pending.delete(seq);
        this.rdc.delete(seq);
        this.removeFromRedeliverQueue(seq);
        changed = true;
        if (seq > this.asflr) this.asflr = seq;
        if (p.sequence > this.adflr) this.adflr = p.sequence;
        continue;
      }
      const elapsed = Number(now - p.ts);
      let deadline = aw;
      if (bo !== undefined && bo.length > 0) {
        let dc = this.rdc.get(seq) ?? 0;
        let nbi = dc + 1;
        if (dc + 1 >= bo.length) {
          dc = bo.length - 1;
          nbi = dc;
        }
        deadline = bo[dc]!;
        if (bo[nbi]! < next) next = bo[nbi]!;
      }
      if (elapsed >= deadline) {
        if (!this.rdqSet.has(seq) && !this.hasMaxDeliveries(seq)) expired.push(seq);
        else changed = true;
      } else if (deadline - elapsed < next) next = deadline - elapsed;
    }
    if (expired.length > 0) {
      expired.sort((a, b) => a - b);
      // redelivered in order: their times move up together
      const off = now - this.pending.get(expired[0]!)!.ts;
      for (const seq of expired) {
        this.addToRedeliverQueue(seq);
        const p = this.pending.get(seq);
        if (p !== undefined) p.ts += off;
      }
      this.signal();
    }
    if (this.pending.size > 0) this.resetPtmr(Math.max(1, next / NS));
    else {
      this.stopPtmr();
      this.rdq = [];
      this.rdqSet.clear();
      this.adflr = this.dseq - 1;
      this.asflr = this.sseq - 1;
    }
    if (changed) this.saveState();
  }

  // ================================================================ the stream's events

  /** A message was stored: count it, and deliver if someone waits. */
  onStored(seq: number, subject: string): void {
    if (this.closed || !this.matcher.matches(subject)) return;
    if (seq > this.npf) this.npc++;
    if (seq < this.sseq) return;
    if (this.waiting === undefined ? this.active : !this.waiting.isEmpty()) this.signal();
  }

  /** A message left the stream (limits, deletes, retention): a pending one is terminated. */
  onRemoved(seq: number, subject: string): void {
    if (this.closed) return;
    if (seq >= this.sseq && this.matcher.matches(subject)) this.npc--;
    const p = this.pending.get(seq);
    if (p !== undefined) {
      const dc = this.deliveryCount(seq);
      // not inside the store's removal
      queueMicrotask(() => {
        if (!this.closed && this.pending.has(seq)) this.processTerm(seq, p.sequence, dc, ACK_TERM_LIMITS_REASON);
      });
    } else if (this.rdc.delete(seq)) this.saveState();
  }

  /** The stream was purged (nats-server's consumer.purge). */
  onPurged(firstSeq: number, lastSeq: number, filter: string | undefined): void {
    if (this.closed) return;
    let sseq = firstSeq;
    let wider = false;
    if (filter !== undefined && filter !== "") {
      const f = filter;
      const equalOrSubset = this.filters.some((x) => x === f || subsetOf(x, f));
      if (!equalOrSubset) {
        // a purge of part of what this consumer takes
        if (this.filters.length > 0 && !this.filters.some((x) => subsetOf(f, x))) return;
        wider = true;
        sseq = this.stream.store.state().first_seq;
      }
    }
    if (sseq === 0 && !wider) sseq = lastSeq + 1;
    if (this.sseq < sseq) {
      this.sseq = sseq;
      this.lss = undefined;
    }
    const store = this.stream.store;
    if (this.asflr < sseq) {
      this.asflr = sseq - 1;
      for (const [seq, p] of [...this.pending]) {
        if (seq <= this.asflr || (wider && store.loadMsg(seq) === undefined)) {
          if (p.sequence > this.adflr) {
            this.adflr = p.sequence;
            if (this.adflr > this.dseq) this.dseq = this.adflr;
          }
          this.pending.delete(seq);
          this.rdc.delete(seq);
        }
      }
    }
    if (this.pending.size === 0) {
      this.rdc.clear();
      this.adflr = this.dseq - 1;
      this.asflr = this.sseq - 1;
    }
    if (this.rdq.length > 0) {
      const rdq = this.rdq;
      this.rdq = [];
      this.rdqSet.clear();
      for (const s of rdq) if (s >= this.sseq) this.addToRedeliverQueue(s);
    }
    if (this.dsseq < this.sseq - 1) this.dsseq = this.sseq - 1;
    this.computeNumPending();
    this.saveState();
  }

  isInterested(subject: string): boolean {
    return this.matcher.matches(subject);
  }

  /** Interest retention: does this consumer still need the message at `seq` (nats-server's needAck)? */
  needAck(seq: number, subject: string | undefined): boolean {
    if (this.closed) return false;
    if (!this.matcher.all) {
      if (subject === undefined || !this.matcher.matches(subject)) return false;
    }
    let need = false;
    if (this.cfg.ack_policy === "explicit") {
      if (seq > this.asflr) need = seq >= this.sseq ? true : this.pending.has(seq);
    } else need = seq > this.asflr;
    return need || this.rdc.has(seq);
  }

  // ================================================================ num pending

  private numPending(): number {
    return this.npc < 0 ? 0 : this.npc;
  }

  /** Recomputes the messages left to deliver from the store (streamNumPending). */
  computeNumPending(): number {
    const store = this.stream.store;
    const lps = this.cfg.deliver_policy === "last_per_subject";
    this.npc = store.numPending(this.sseq, this.filterArg, lps);
    this.npf = store.state().last_seq;
    return this.npc;
  }

  // ================================================================ inactivity and pause

  private armDelete(ms: number): void {
    this.clearDelete();
    if (this.closed) return;
    this.dtmr = setTimeout(() => {
      this.dtmr = undefined;
      this.deleteNotActive();
    }, Math.max(1, ms));
    this.dtmr.unref();
  }

  private clearDelete(): void {
    if (this.dtmr !== undefined) clearTimeout(this.dtmr);
    this.dtmr = undefined;
  }

  private deleteNotActive(): void {
    if (this.closed) return;
    if (this.waiting === undefined) {
      if (this.active) return;
    } else {
      const elapsed = Date.now() - this.waiting.last;
      if (elapsed < this.dthresh) return this.armDelete(this.dthresh - elapsed);
      this.processWaiting(true);
      if (!this.waiting.isEmpty()) return this.armDelete(this.dthresh);
      // acks may still come for what is pending: count from the last one due
      const now = nowNs();
      let delay = 0;
      for (const [seq, p] of this.pending) {
        const due = Number(p.ts - now) / NS + this.ackWaitFor(seq) + this.dthresh;
        if (due > delay) delay = due;
      }
      if (delay > 0) return this.armDelete(delay);
    }
    this.owner.expired(this);
  }

  private updatePauseState(): void {
    if (this.uptmr !== undefined) clearTimeout(this.uptmr);
    this.uptmr = undefined;
    const pu = this.cfg.pause_until;
    if (pu === undefined || pu <= 0n) return;
    const ms = Number(pu - nowNs()) / NS;
    if (ms <= 0) return;
    this.uptmr = setTimeout(() => {
      this.uptmr = undefined;
      if (this.closed) return;
      this.pauseAdvisory();
      this.signal();
    }, Math.ceil(ms));
    this.uptmr.unref();
  }

  pauseAdvisory(): void {
    const fields: Record<string, unknown> = { stream: this.stream.name, consumer: this.name, paused: this.isPaused() };
    if (this.cfg.pause_until !== undefined && this.cfg.pause_until > 0n) fields.pause_until = rfc3339Nano(this.cfg.pause_until);
    if (this.owner.domain) fields.domain = this.owner.domain;
    publishAdvisory(this.owner.account, `${ADVISORY_PREFIX}CONSUMER.PAUSE.${this.stream.name}.${this.name}`, "io.nats.jetstream.advisory.v1.consumer_pause", fields);
  }

  // ================================================================ configuration update

  /** Applies an update already checked by checkConsumerUpdate (nats-server's updateConfig). */
  updateConfig(cfg: ConsumerConfig): void {
    const old = this.cfg;
    this.cfg = cfg;
    if (cfg.deliver_subject !== old.deliver_subject && isPush(cfg)) {
      // a new deliver subject: what is pending goes out again there
      this.deliverWire = toWire(cfg.deliver_subject!);
      this.forceExpirePending();
      this.active = this.owner.account.sublist.hasInterest(this.deliverWire);
    }
    if (cfg.max_ack_pending !== old.max_ack_pending) this.signal();
    if (cfg.ack_wait !== old.ack_wait && this.ptmr !== undefined) this.resetPtmr(100);
    if (cfg.inactive_threshold !== old.inactive_threshold) {
      this.updateInactiveThreshold();
      this.clearDelete();
      if (this.dthresh > 0 && (this.isPullMode || !this.active)) this.armDelete(this.dthresh);
    }
    if ((cfg.pause_until ?? 0n) !== (old.pause_until ?? 0n)) {
      this.updatePauseState();
      this.pauseAdvisory();
      this.signal();
    }
    const nf = filtersOf(cfg).map(toWire);
    if (nf.join("\u0000") !== this.filters.join("\u0000")) {
      this.filters = nf;
      this.filterArg = filterArgOf(nf);
      this.matcher = new SubjectFilter(nf);
      this.computeNumPending();
    }
    this.rateAt = 0;
    this.signal();
  }

  private forceExpirePending(): void {
    const expired: number[] = [];
    for (const seq of this.pending.keys()) if (!this.rdqSet.has(seq) && !this.hasMaxDeliveries(seq)) expired.push(seq);
    expired.sort((a, b) => a - b);
    for (const s of expired) this.addToRedeliverQueue(s);
    if (expired.length > 0) this.resetPtmr(this.ackWaitFor(expired[0]!) + ACK_WAIT_DELAY);
    this.signal();
  }

  // ================================================================ info

  /** ConsumerInfo (without the response envelope). */
  info(): Record<string, unknown> {
    if (this.waiting !== undefined) this.processWaiting(false);
    const np = this.computeNumPending();
    const delivered: Record<string, unknown> = { consumer_seq: this.dseq - 1, stream_seq: this.dsseq };
    if (this.ldt > 0) delivered.last_active = rfc3339Nano(BigInt(this.ldt) * 1_000_000n);
    const ackFloor: Record<string, unknown> = { consumer_seq: this.adflr, stream_seq: this.asflr };
    if (this.lat > 0) ackFloor.last_active = rfc3339Nano(BigInt(this.lat) * 1_000_000n);
    const out: Record<string, unknown> = {
      stream_name: this.stream.name,
      name: this.name,
      created: rfc3339Nano(this.created),
      config: consumerConfigJson(this.cfg),
      delivered,
      ack_floor: ackFloor,
      num_ack_pending: this.pending.size,
      num_redelivered: this.cfg.max_deliver === 1 ? 0 : this.rdc.size,
      num_waiting: this.waiting?.length ?? 0,
      num_pending: np,
    };
    if (this.waiting === undefined && this.active) out.push_bound = true;
    if (this.isPaused()) {
      out.paused = true;
      out.pause_remaining = Number(this.cfg.pause_until! - nowNs());
    }
    out.ts = rfc3339Nano(nowNs());
    return out;
  }

  // ================================================================ lifecycle

  private shutdown(): void {
    this.closed = true;
    this.unwatch?.();
    this.unwatch = undefined;
    const sl = this.owner.account.sublist;
    for (const s of this.subs) {
      s.closed = true;
      sl.remove(s);
    }
    this.subs = [];
    this.stopPtmr();
    this.clearDelete();
    for (const t of [this.hbtmr, this.wtmr, this.uptmr, this.delayTmr]) if (t !== undefined) clearTimeout(t);
    this.hbtmr = this.wtmr = this.uptmr = this.delayTmr = undefined;
  }

  /** Pull requests waiting are told the consumer is gone. */
  private releaseWaiting(): void {
    if (this.waiting === undefined) return;
    for (const r of this.waiting.clear()) this.sendStatus(r.reply, statusBlock(409, "Consumer Deleted"));
  }

  /** Server shutdown (StreamConsumer): the state is written, the consumer stays on disk. */
  stop(): void {
    if (this.closed) return;
    this.store.update(this.buildState());
    this.shutdown();
    try {
      this.store.stop();
    } catch {
      // the stream's store may already be closed
    }
  }

  /** The stream is being deleted (StreamConsumer): its data goes with the stream's. */
  delete(): void {
    if (this.closed) return;
    this.releaseWaiting();
    this.shutdown();
  }

  /** This consumer is deleted (API, inactivity): requests released, state removed. */
  destroy(): void {
    if (this.closed) return;
    this.releaseWaiting();
    this.shutdown();
    try {
      this.store.delete();
    } catch (e) {
      this.owner.logger.warn(`JetStream consumer '${this.owner.account.name} > ${this.stream.name} > ${this.name}' store delete: ${(e as Error).message}`);
    }
  }
}
