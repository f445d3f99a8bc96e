// Push consumers: whether anyone listens on the deliver subject (delivery stops and the
// inactivity countdown starts when nobody does), idle heartbeats, and flow control (a
// "100 FlowControl Request" with a reply every so many bytes; delivery waits for the answer once
// the bytes in flight reach the current window, which grows to FLOW_CONTROL_MAX_PENDING).

import { randomBytes } from "node:crypto";
import { ConsumerAcks } from "./consumer-acks.js";
import { NS } from "./consumer-core.js";
import { CONSUMER_STALLED, LAST_CONSUMER, LAST_STREAM, statusBlock } from "./consumer-pull.js";

export abstract class ConsumerPush extends ConsumerAcks {
  protected checkInterest(): void {
    if (this.closed || this.waiting !== undefined) return;
    const interest = this.owner.account.sublist.hasInterest(this.deliverWire);
    if (interest === this.active) return;
    this.updateDeliveryInterest(interest);
  }

  protected updateDeliveryInterest(interest: boolean): void {
    if (interest && !this.active) this.signal();
    this.active = interest;
    if (this.dtmr !== undefined && this.dthresh > 0 && !interest) return;
    this.clearDelete();
    if (!interest && this.dthresh > 0) this.armDelete(this.dthresh);
  }

  protected armHeartbeat(ms: number): void {
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
  protected sendHeartbeat(to: string): void {
    const fields: [string, string | number][] = [
      [LAST_CONSUMER, this.dseq - 1],
      [LAST_STREAM, this.sseq - 1],
    ];
    if (this.fcid !== "") fields.push([CONSUMER_STALLED, this.fcid]);
    this.sendStatus(to, statusBlock(100, "Idle Heartbeat", fields));
  }

  protected needFlowControl(sz: number): boolean {
    if (this.maxpb === 0) return false;
    if (this.fcid === "" && this.pbytes > this.maxpb / 2) return true;
    if (this.fcid !== "" && this.pbytes - this.fcsz >= this.maxpb) this.fcsz += sz;
    return false;
  }

  protected sendFlowControl(): void {
    if (this.waiting !== undefined) return;
    const rply = this.fcPrefix + randomBytes(3).toString("hex").slice(0, 4);
    this.fcsz = this.pbytes;
    this.fcid = rply;
    this.sendStatus(this.deliverWire, statusBlock(100, "FlowControl Request"), rply);
  }

  protected processFlowControl(subject: string): void {
    if (subject !== this.fcid) return;
    if (this.maxpb < this.pblimit) this.maxpb = Math.min(this.maxpb * 2, this.pblimit);
    this.pbytes = Math.max(0, this.pbytes - this.fcsz);
    this.fcid = "";
    this.fcsz = 0;
    this.signal();
  }
}
