// Delivery: pull requests handed to the wait queue, and the delivery pass (nats-server's
// loopAndGatherMsgs and getNextMsg): redeliveries first, then new messages within max_ack_pending,
// paced by replay_policy original and rate_limit_bps, sent to the push subscriber or to the next
// waiting pull request with the ack reply subject that carries the message's metadata.

import { ConsumerPush } from "./consumer-push.js";
import { ACK_TERM_LIMITS_REASON, Miss, NS, PASS_BYTES, PASS_MSGS, type Next } from "./consumer-core.js";
import { EMPTY, headersOnly, routeAs } from "./consumer-util.js";
import { pendingStatus, statusBlock, type PullRequest, type PullSide } from "./consumer-pull.js";
import { getHeader, H, parseHeaders } from "./headers.js";
import { nowNs, type StoredMsg } from "./store/index.js";

export abstract class ConsumerDelivery extends ConsumerPush {
  // ================================================================ pull requests

  protected processNextRequest(reply: string | undefined, msg: Buffer, hdrLen: number): void {
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
  protected readonly pullSide: PullSide = {
    send: (to, block) => this.sendStatus(to, block),
    heartbeat: (to) => this.sendHeartbeat(to),
    hasInterest: (s) => this.owner.account.sublist.hasInterest(s),
    available: () => this.numPending() + this.rdq.length,
  };

  /** Expired requests and requesters gone away are dropped; heartbeats due are sent. */
  protected processWaiting(eos: boolean): { brp: number; fexp: number } {
    const wq = this.waiting;
    if (wq === undefined || wq.isEmpty()) return { brp: 0, fexp: 0 };
    return wq.expire(eos, this.pullSide);
  }

  /** The next request that can take a message of `sz` bytes (nats-server's nextWaiting). */
  protected nextWaiting(sz: number): PullRequest | undefined {
    return this.waiting!.next(sz, this.pullSide);
  }

  // ================================================================ delivery

  protected run(): void {
    this.scheduled = false;
    if (this.closed || this.delayTmr !== undefined) return;
    let miss: Miss | undefined;
    let sent = 0;
    let bytes = 0;
    const push = this.waiting === undefined;
    // One reading of the clocks per pass (at most PASS_MSGS messages, a few ms): the delivery
    // times and pending timestamps of a pass are the same, which ack_wait cannot tell apart.
    const now = Date.now();
    let ts = 0n;
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
        if (ts === 0n) ts = nowNs();
        this.deliverMsg(dsubj, ackReply, msg, hdr, data, dc, sz, now, ts);
        if (done !== undefined && done.n <= 0 && done.b > 0) this.sendStatus(dsubj, pendingStatus(409, "Batch Completed", done));
        sent++;
        bytes += sz;
      }
    }
    this.waitForMsgs(miss);
  }

  protected delayWith(next: Next, ms: number): void {
    this.stash = next;
    this.delayTmr = setTimeout(() => {
      this.delayTmr = undefined;
      this.signal();
    }, Math.ceil(ms));
    this.delayTmr.unref();
  }

  /** Token bucket of rate_limit_bps (bytes per second = bps / 8, burst = the largest message): the wait before `sz` bytes may go. */
  protected rateDelay(sz: number): number {
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
  protected waitForMsgs(miss: Miss | undefined): void {
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
  protected getNextMsg(): Next | Miss {
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
  protected deliverMsg(dsubj: string, ackReply: string, msg: StoredMsg, hdr: Buffer | undefined, data: Buffer, dc: number, sz: number, now: number, ts: bigint): void {
    const dseq = this.dseq++;
    const seq = msg.seq;
    if (this.maxpb > 0) this.pbytes += sz;
    this.dsseq = seq;
    this.ldt = now;
    this.lastDelivery = now;
    const ackNone = this.cfg.ack_policy === "none";
    if (ackNone) {
      this.adflr = dseq;
      this.asflr = seq;
    } else this.trackPending(seq, dseq, now, ts);
    this.saveState();
    const body = hdr !== undefined && hdr.length > 0 ? (data.length > 0 ? Buffer.concat([hdr, data]) : hdr) : data;
    routeAs(this.owner.account, dsubj, msg.subject, ackReply, body, hdr?.length ?? 0);
    if (this.maxpb > 0 && this.needFlowControl(sz)) this.sendFlowControl();
    if (this.waiting !== undefined && this.dthresh > 0) this.waiting.last = now;
    if (ackNone && this.stream.cfg.retention !== "limits") this.owner.acked(this, [seq]);
  }
}
