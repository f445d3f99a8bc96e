// Helpers for the consumer tests: raw pull requests and push subscriptions that record messages
// and status messages (code, description, headers) as they arrive, with their arrival times.
import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";

export interface Received {
  msg: Msg;
  /** ms since the collector started */
  at: number;
  /** status code of a status message (100, 404, 408, 409...), 0 for a stream message */
  code: number;
  description: string;
}

/** Records everything arriving on a subject. */
export class Collector {
  readonly got: Received[] = [];
  readonly sub: Subscription;
  private readonly t0 = Date.now();
  private waiters: (() => void)[] = [];

  constructor(nc: NatsConnection, subject: string, queue?: string) {
    this.sub = nc.subscribe(subject, {
      queue,
      callback: (_e, msg) => {
        const code = msg.headers?.code ?? 0;
        this.got.push({ msg, at: Date.now() - this.t0, code, description: msg.headers?.description ?? "" });
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      },
    });
  }

  /** Stream messages (no status). */
  get msgs(): Received[] {
    return this.got.filter((r) => r.code === 0);
  }

  statuses(code?: number): Received[] {
    return this.got.filter((r) => r.code !== 0 && (code === undefined || r.code === code));
  }

  /** Waits until `cond` holds over what was received (rejects after `ms`). */
  async until(cond: (c: Collector) => boolean, ms = 3000, what = "messages"): Promise<void> {
    const end = Date.now() + ms;
    while (!cond(this)) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.got.map((r) => [r.code, r.description, r.msg.subject]))}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  stop(): void {
    this.sub.unsubscribe();
  }
}

/** Sends a pull request (a JSON body, a number, or nothing) and returns the collector of its inbox. */
export function pull(nc: NatsConnection, stream: string, consumer: string, body?: Record<string, unknown> | string): Collector {
  const inbox = createInbox();
  const c = new Collector(nc, inbox);
  const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, data, { reply: inbox });
  return c;
}

/** The delivery info encoded in an ack reply subject ($JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>). */
export function ackInfo(reply: string | undefined): { stream: string; consumer: string; dc: number; sseq: number; dseq: number; ts: bigint; pending: number } {
  const t = (reply ?? "").split(".");
  if (t.length !== 9 || t[0] !== "$JS" || t[1] !== "ACK") throw new Error(`not an ack subject: ${reply}`);
  return { stream: t[2]!, consumer: t[3]!, dc: Number(t[4]), sseq: Number(t[5]), dseq: Number(t[6]), ts: BigInt(t[7]!), pending: Number(t[8]) };
}

export const ms = (n: number) => n * 1e6;
