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
//
// The class is split along its concerns into layers (see consumer-core.ts); this one holds
// start-up and recovery, the stream's events, configuration updates, info and the lifecycle.

import type { Client, Subscription } from "../core/client.js";
import { newSubscription } from "../core/client.js";
import { ADVISORY_PREFIX, publishAdvisory } from "./advisories.js";
import { consumerConfigJson, filtersOf, isDurable, isPush, type ConsumerConfig } from "./consumer-config.js";
import { ACK_TERM_LIMITS_REASON, ACK_WAIT_DELAY, FLOW_CONTROL_MAX_PENDING, NS } from "./consumer-core.js";
import { ConsumerDelivery } from "./consumer-delivery.js";
import { watchDeliveryInterest } from "./consumer-interest.js";
import { filterArgOf, subsetOf, SubjectFilter } from "./consumer-util.js";
import { statusBlock } from "./consumer-pull.js";
import { nowNs, type ConsumerState } from "./store/index.js";
import type { StreamConsumer } from "./stream.js";
import { toWire } from "./subjects.js";
import { rfc3339Nano } from "./time.js";

export type { ConsumerOwner } from "./consumer-core.js";

export class Consumer extends ConsumerDelivery implements Client, StreamConsumer {
  private readonly checkInterestBound = () => this.checkInterest();

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
      this.unwatch = watchDeliveryInterest(acc.sublist, this.deliverWire, this.checkInterestBound);
      this.active = acc.sublist.hasInterest(this.deliverWire);
      if (this.cfg.idle_heartbeat) this.armHeartbeat(this.cfg.idle_heartbeat / NS);
    }
    if (this.dthresh > 0 && (this.isPullMode || !this.active)) this.armDelete(this.dthresh);
    this.updatePauseState();
    if (this.cfg.replay_policy !== "instant") {
      this.replay = true;
      this.replayUntil = this.stream.store.state().last_seq;
    }
    // what the stream lost while the server was down (expiry, a torn tail) is pending no more
    this.checkAckFloor();
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
    const filtered = filter !== undefined && filter !== "";
    if (this.movePastPurge(firstSeq, lastSeq, filter)) {
      if (this.rdq.length > 0) {
        const rdq = this.rdq;
        this.rdq = [];
        this.rdqSet.clear();
        for (const s of rdq) if (s >= this.sseq) this.addToRedeliverQueue(s);
      }
      if (this.dsseq < this.sseq - 1) this.dsseq = this.sseq - 1;
      this.computeNumPending();
    }
    // a purge of some subjects can take pending messages above the ack floor: they can never be
    // acked, so they leave pending now rather than at their redelivery
    if (filtered && this.pending.size > 0) {
      const store = this.stream.store;
      let gone = false;
      for (const seq of [...this.pending.keys()]) {
        if (store.subjectForSeq(seq) !== undefined) continue;
        this.pending.delete(seq);
        this.rdc.delete(seq);
        this.removeFromRedeliverQueue(seq);
        gone = true;
      }
      if (gone) this.raiseAckFloor();
    }
    this.saveState();
  }

  /** The start position and floors after a purge; false when the purge does not concern this consumer's subjects. */
  private movePastPurge(firstSeq: number, lastSeq: number, filter: string | undefined): boolean {
    let sseq = firstSeq;
    let wider = false;
    if (filter !== undefined && filter !== "") {
      const f = filter;
      const equalOrSubset = this.filters.some((x) => x === f || subsetOf(x, f));
      if (!equalOrSubset) {
        // a purge of part of what this consumer takes
        if (this.filters.length > 0 && !this.filters.some((x) => subsetOf(f, x))) return false;
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
    return true;
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

  // ================================================================ inactivity and pause

  protected deleteNotActive(): void {
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
      this.unwatch?.();
      this.unwatch = watchDeliveryInterest(this.owner.account.sublist, this.deliverWire, this.checkInterestBound);
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
      this.stream.refilterConsumer(this);
      this.computeNumPending();
    }
    this.rateAt = 0;
    this.signal();
  }

  // ================================================================ info

  /** ConsumerInfo (without the response envelope). */
  info(): Record<string, unknown> {
    if (this.waiting !== undefined) this.processWaiting(false);
    this.checkAckFloor();
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
    this.stopStateTimer();
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
