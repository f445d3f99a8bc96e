// Acks and redelivery: the ack subjects ($JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>)
// and their bodies (+ACK, -NAK with a delay, +WPI, +NXT, +TERM, double acks), the ack floors,
// sampled ack metrics and the NAK/TERM/MAX_DELIVERIES advisories, and the ack timer that puts what
// is past its ack_wait (or backoff step) back on the redelivery queue, up to max_deliver.

import { ADVISORY_PREFIX, publishAdvisory } from "./advisories.js";
import { ConsumerCore, ACK_TERM_LIMITS_REASON, ACK_WAIT_DELAY, NS } from "./consumer-core.js";
import { EMPTY, numAt, sampleFrequency } from "./consumer-util.js";
import { nowNs, type PendingEntry } from "./store/index.js";
import { parseGoDuration } from "./time.js";

export abstract class ConsumerAcks extends ConsumerCore {
  // ================================================================ acks

  protected processAck(subject: string, reply: string | undefined, body: Buffer): void {
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
  protected processAckMsg(sseq: number, dseq: number, dc: number, sample: boolean): boolean {
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

  protected moveAckFloor(dseq: number, sseq: number): void {
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

  protected processNak(sseq: number, dseq: number, dc: number, arg: string): void {
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
  protected processTerm(sseq: number, dseq: number, dc: number, reason: string): boolean {
    const ok = this.processAckMsg(sseq, dseq, dc, false);
    const fields: Record<string, unknown> = { stream: this.stream.name, consumer: this.name, consumer_seq: dseq, stream_seq: sseq, deliveries: dc };
    if (reason !== "") fields.reason = reason;
    if (this.owner.domain) fields.domain = this.owner.domain;
    publishAdvisory(this.owner.account, `${ADVISORY_PREFIX}CONSUMER.MSG_TERMINATED.${this.stream.name}.${this.name}`, "io.nats.jetstream.advisory.v1.terminated", fields);
    return ok;
  }

  protected progressUpdate(seq: number): void {
    const p = this.pending.get(seq);
    if (p === undefined) return;
    p.ts = nowNs();
    this.saveState();
  }

  protected sampleAck(sseq: number, p: PendingEntry, dc: number): void {
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

  protected notifyDeliveryExceeded(sseq: number, dc: number): void {
    const fields: Record<string, unknown> = { stream: this.stream.name, consumer: this.name, stream_seq: sseq, deliveries: dc };
    if (this.owner.domain) fields.domain = this.owner.domain;
    publishAdvisory(this.owner.account, `${ADVISORY_PREFIX}CONSUMER.MAX_DELIVERIES.${this.stream.name}.${this.name}`, "io.nats.jetstream.advisory.v1.max_deliver", fields);
  }

  /** Ack activity keeps an inactive-threshold countdown from finishing. */
  protected suppressDeletion(): void {
    if (this.dthresh <= 0) return;
    // a pull consumer's timer looks at `last` when it fires
    if (this.waiting !== undefined) this.waiting.last = Date.now();
    else if (this.dtmr !== undefined) this.armDelete(this.dthresh);
  }

  // ================================================================ the ack floor against the stream

  /**
   * Pending messages the stream no longer has (limits, purges, expiry while the server was down)
   * can never be acked: they are terminated and the ack floors move past them, as nats-server's
   * check of the ack floor against the stream's first sequence does. Cheap when nothing is behind.
   */
  protected checkAckFloor(): void {
    if (this.closed) return;
    const fseq = this.stream.store.state().first_seq;
    if (fseq === 0 || this.asflr >= fseq - 1) return;
    if (this.pending.size > 0) {
      const gone: number[] = [];
      for (const seq of this.pending.keys()) if (seq < fseq) gone.push(seq);
      gone.sort((a, b) => a - b);
      for (const seq of gone) {
        const p = this.pending.get(seq);
        if (p !== undefined) this.processTerm(seq, p.sequence, this.deliveryCount(seq), ACK_TERM_LIMITS_REASON);
      }
    }
    let changed = false;
    for (const seq of this.rdc.keys()) {
      if (seq < fseq) {
        this.rdc.delete(seq);
        changed = true;
      }
    }
    if (this.raiseAckFloor() || changed) this.saveState();
  }

  /**
   * After pending messages left out of order (not by acks): the floors go just below the lowest
   * message still pending, or up to what was delivered when none is. True when they moved.
   */
  protected raiseAckFloor(): boolean {
    const [as, ad] = [this.asflr, this.adflr];
    if (this.pending.size === 0) {
      this.adflr = this.dseq - 1;
      this.asflr = this.sseq - 1;
    } else {
      let low = Infinity;
      let lowDseq = 0;
      for (const [seq, p] of this.pending) {
        if (seq < low) {
          low = seq;
          lowDseq = p.sequence;
        }
      }
      if (low - 1 > this.asflr) {
        this.asflr = low - 1;
        if (lowDseq - 1 > this.adflr) this.adflr = lowDseq - 1;
      }
    }
    return as !== this.asflr || ad !== this.adflr;
  }

  // ================================================================ ack timers

  /** ms until a message delivered `redeliveries` times before is due again. */
  protected ackWaitFor(seq: number): number {
    const bo = this.cfg.backoff;
    if (bo !== undefined && bo.length > 0) {
      const bi = Math.min(Math.max(this.rdc.get(seq) ?? 0, 0), bo.length - 1);
      return bo[bi]! / NS;
    }
    return (this.cfg.ack_wait ?? 0) / NS;
  }

  /** A delivered message waits for its ack; now and ts: the delivery time in ms and ns. */
  protected trackPending(sseq: number, dseq: number, now: number, ts: bigint): void {
    const p = this.pending.get(sseq);
    if (p !== undefined) p.ts = ts;
    else this.pending.set(sseq, { sequence: dseq, ts });
    const minDelay = this.ackWaitFor(sseq) + ACK_WAIT_DELAY;
    const deadline = now + minDelay;
    if (this.ptmr === undefined || this.ptmrEnd > deadline) this.resetPtmr(minDelay);
  }

  protected resetPtmr(ms: number): void {
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

  protected stopPtmr(): void {
    if (this.ptmr !== undefined) clearTimeout(this.ptmr);
    this.ptmr = undefined;
    this.ptmrEnd = 0;
  }

  /** Has `seq` been delivered max_deliver times? Then it is reported once and leaves pending. */
  protected hasMaxDeliveries(seq: number): boolean {
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
  protected checkPending(): void {
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


  protected forceExpirePending(): void {
    const expired: number[] = [];
    for (const seq of this.pending.keys()) if (!this.rdqSet.has(seq) && !this.hasMaxDeliveries(seq)) expired.push(seq);
    expired.sort((a, b) => a - b);
    for (const s of expired) this.addToRedeliverQueue(s);
    if (expired.length > 0) this.resetPtmr(this.ackWaitFor(expired[0]!) + ACK_WAIT_DELAY);
    this.signal();
  }

  /** A pull request, from +NXT (consumer-delivery.ts). */
  abstract nextRequest(reply: string, body: Buffer): void;
}
