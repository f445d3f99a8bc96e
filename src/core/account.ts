// An account: a namespace of subjects with its own sublist. Routing a message is a match in
// the sublist and one `deliver` per plain subscriber and per queue group.
import type { Client } from "./client.js";
import { Sublist } from "./sublist.js";

export class Account {
  readonly sublist: Sublist;

  constructor(readonly name: string, opts: { cache?: boolean } = {}) {
    this.sublist = new Sublist({ cache: opts.cache });
  }

  /**
   * Delivers a message to every interested subscription; returns how many deliveries were
   * made. `from` is the publishing client (for `echo: false`), or null for server messages.
   */
  route(from: Client | null, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number): number {
    const r = this.sublist.match(subject);
    const noEcho = from !== null && !from.echo;
    let n = 0;
    const psubs = r.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i];
      if (sub.closed || (noEcho && sub.client === from)) continue;
      sub.client.deliver(sub, subject, reply, msg, hdrLen);
      n++;
    }
    const qsubs = r.qsubs;
    for (let g = 0; g < qsubs.length; g++) {
      const members = qsubs[g];
      const len = members.length;
      // start at a random member and take the first one that can receive
      const first = len === 1 ? 0 : Math.floor(Math.random() * len);
      for (let k = 0; k < len; k++) {
        const sub = members[(first + k) % len];
        if (sub.closed || (noEcho && sub.client === from)) continue;
        sub.client.deliver(sub, subject, reply, msg, hdrLen);
        n++;
        break;
      }
    }
    return n;
  }

  /**
   * Delivers to the subscribers of `match` a message that shows `subject`: JetStream deliveries
   * are routed on a deliver or reply subject while carrying the stored subject. `match` goes to
   * `deliver` as the routed subject, so imports map what was routed, not what is shown.
   */
  routeAs(match: string, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number): number {
    const r = this.sublist.match(match);
    let n = 0;
    for (const sub of r.psubs) {
      if (sub.closed) continue;
      sub.client.deliver(sub, subject, reply, msg, hdrLen, match);
      n++;
    }
    for (const members of r.qsubs) {
      const len = members.length;
      const first = len === 1 ? 0 : Math.floor(Math.random() * len);
      for (let k = 0; k < len; k++) {
        const sub = members[(first + k) % len]!;
        if (sub.closed) continue;
        sub.client.deliver(sub, subject, reply, msg, hdrLen, match);
        n++;
        break;
      }
    }
    return n;
  }
}
