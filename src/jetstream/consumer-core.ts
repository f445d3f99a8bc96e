// The consumer's state and the primitives every part of it uses: positions and floors, the
// pending and redelivery maps and the redelivery queue, the state handed to the consumer store,
// the count of messages left to deliver, and the delivery signal.
//
// A consumer is one class split along its concerns into a chain of layers, each in its own module:
// ConsumerCore (this) -> ConsumerAcks (consumer-acks.ts: acks, ack timers, redelivery) ->
// ConsumerPush (consumer-push.ts: interest, heartbeats, flow control) -> ConsumerDelivery
// (consumer-delivery.ts: pull requests, choosing and sending messages) -> Consumer (consumer.ts:
// start-up, the stream's events, configuration updates, info, lifecycle). The layers share the
// state below; a layer calls into a later one only through the abstract methods declared here.

import type { Account } from "../core/account.js";
import type { Subscription } from "../core/client.js";
import { consumerConfigJson, filtersOf, isDurable, isPush, type ConsumerConfig } from "./consumer-config.js";
import { filterArgOf, SubjectFilter } from "./consumer-util.js";
import { WaitQueue } from "./consumer-pull.js";
import { nowNs, type ConsumerState, type ConsumerStore, type PendingEntry, type StoredMsg } from "./store/index.js";
import type { Stream } from "./stream.js";
import type { Consumer } from "./consumer.js";
import { toWire } from "./subjects.js";
import { rfc3339Nano } from "./time.js";

let nextConsumerCid = -3_000_000;

/** nats-server's JsFlowControlMaxPending: bytes in flight a flow-controlled push consumer grows to. */
export const FLOW_CONTROL_MAX_PENDING = 32 * 1024 * 1024;
/** Messages and bytes one delivery pass sends before yielding to the event loop. */
export const PASS_MSGS = 512;
export const PASS_BYTES = 4 * 1024 * 1024;
/** ms added to ack timers so that deliveries of a burst expire together (nats-server's ackWaitDelay). */
export const ACK_WAIT_DELAY = 1;
export const NS = 1_000_000;
export const ACK_TERM_LIMITS_REASON = "Unacknowledged message was deleted";
/** ms between state writes of a saved ephemeral without acks (nats-server writes consumer state at most every 100 ms). */
const LAZY_STATE_MS = 100;

/** What a consumer needs from the layer that owns it. */
export interface ConsumerOwner {
  readonly account: Account;
  readonly domain: string | undefined;
  readonly stream: Stream;
  readonly logger: { warn(s: string): void; error(s: string): void };
  /** Messages this consumer no longer needs (acked, or delivered with ack none): interest and work-queue removal. */
  acked(c: ConsumerCore, seqs: number[]): void;
  /** The consumer went away by itself (inactive threshold). */
  expired(c: Consumer): void;
}

export interface Next {
  msg: StoredMsg;
  dc: number;
}

export const enum Miss {
  Eof,
  MaxAckPending,
}

export abstract class ConsumerCore {
  readonly cid = nextConsumerCid--;
  readonly kind = "jetstream" as const;
  readonly echo = true;

  cfg: ConsumerConfig;
  readonly name: string;
  readonly created: bigint;
  readonly store: ConsumerStore;
  /** the store outlives a restart (consumers of file streams without mem_storage) */
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
  protected dsseq = 0;
  /** stream seq → delivery seq and time (ack pending) */
  readonly pending = new Map<number, PendingEntry>();
  /** stream seq → redeliveries so far */
  readonly rdc = new Map<number, number>();
  protected rdq: number[] = [];
  protected readonly rdqSet = new Set<number>();
  /** cached number of messages left to deliver, and the stream sequence it accounts for */
  protected npc = 0;
  protected npf = 0;
  /** deliver last per subject: the sequences to go through first, then where to resume */
  protected lss: { resume: number; seqs: number[]; i: number } | undefined;
  /** last delivery / last ack, ms since the epoch (0: never) */
  protected ldt = 0;
  protected lat = 0;

  // ---- pull
  readonly waiting: WaitQueue | undefined;
  // ---- push
  active = false;
  protected deliverWire: string;
  protected unwatch: (() => void) | undefined;
  protected lastDelivery = Date.now();
  // ---- flow control
  protected pbytes = 0;
  protected maxpb = 0;
  protected pblimit = 0;
  protected fcid = "";
  protected fcsz = 0;
  // ---- replay and rate limit
  protected replay = false;
  protected replayUntil = 0;
  protected lts = 0n;
  protected stash: Next | undefined;
  protected rateTokens = 0;
  protected rateAt = 0;

  protected filters: string[];
  protected filterArg: string | string[] | undefined;
  protected matcher: SubjectFilter;
  protected readonly ackPrefix: string;
  protected readonly fcPrefix: string;
  protected subs: Subscription[] = [];
  protected ackSub: Subscription | undefined;
  protected nextSub: Subscription | undefined;
  protected fcSub: Subscription | undefined;
  protected scheduled = false;
  protected closed = false;
  protected dthresh = 0;
  protected ptmr: NodeJS.Timeout | undefined;
  protected ptmrEnd = 0;
  protected dtmr: NodeJS.Timeout | undefined;
  protected hbtmr: NodeJS.Timeout | undefined;
  protected wtmr: NodeJS.Timeout | undefined;
  protected wtmrAt = 0;
  protected uptmr: NodeJS.Timeout | undefined;
  protected delayTmr: NodeJS.Timeout | undefined;
  protected readonly runBound = () => this.run();
  /**
   * The state of a saved ephemeral with ack policy none (a key/value watcher, say) changes with
   * every delivery and holds nothing a double ack waits for: it is written at most every
   * LAZY_STATE_MS rather than each turn. A crash may then cost a few redeliveries, which such a
   * consumer's client (an ordered consumer) handles anyway.
   */
  private readonly lazyState: boolean;
  private stmr: NodeJS.Timeout | undefined;

  constructor(
    protected readonly owner: ConsumerOwner,
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
    this.lazyState = persistent && cfg.ack_policy === "none" && !isDurable(cfg);
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
  get isDirect(): boolean {
    return this.cfg.direct === true;
  }

  get filterSubjects(): readonly string[] {
    return this.filters;
  }

  // ================================================================ the state and its store

  /** The state handed to the store: one object, its pairs updated in place, its maps the live ones. */
  protected readonly state: ConsumerState = {
    delivered: { consumer_seq: 0, stream_seq: 0 },
    ack_floor: { consumer_seq: 0, stream_seq: 0 },
    pending: this.pending,
    redelivered: this.rdc,
  };

  protected buildState(): ConsumerState {
    const st = this.state;
    st.delivered.consumer_seq = this.dseq - 1;
    st.delivered.stream_seq = this.dsseq;
    st.ack_floor.consumer_seq = this.adflr;
    st.ack_floor.stream_seq = this.asflr;
    return st;
  }

  /** Hands the state to the store, which writes it with its next batch. */
  protected saveState(): void {
    if (this.closed) return;
    if (!this.lazyState) return this.store.update(this.buildState());
    if (this.stmr !== undefined) return;
    this.stmr = setTimeout(() => {
      this.stmr = undefined;
      if (!this.closed) this.store.update(this.buildState());
    }, LAZY_STATE_MS);
    this.stmr.unref();
  }

  /** Stops a lazy state write (the consumer is closing: its state is written now or not at all). */
  protected stopStateTimer(): void {
    if (this.stmr !== undefined) clearTimeout(this.stmr);
    this.stmr = undefined;
  }

  /** The consumer's saved form: its configuration (what recovery reads back). */
  metaJson(): Record<string, unknown> {
    return { stream_name: this.stream.name, name: this.name, created: rfc3339Nano(this.created), config: consumerConfigJson(this.cfg) };
  }

  protected sendStatus(to: string, block: Buffer, reply?: string): void {
    this.owner.account.route(null, to, reply, block, block.length);
  }

  // ================================================================ the delivery signal

  /** Schedules a delivery pass. */
  signal(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    queueMicrotask(this.runBound);
  }

  protected isPaused(): boolean {
    const pu = this.cfg.pause_until;
    return pu !== undefined && pu > 0n && nowNs() < pu;
  }


  /** One delivery pass (consumer-delivery.ts). */
  protected abstract run(): void;

  // ================================================================ redelivery counts and queue

  protected deliveryCount(seq: number): number {
    return (this.rdc.get(seq) ?? 0) + 1;
  }

  protected incDeliveryCount(seq: number): number {
    const n = (this.rdc.get(seq) ?? 0) + 1;
    this.rdc.set(seq, n);
    return n + 1;
  }

  protected decDeliveryCount(seq: number): void {
    const n = (this.rdc.get(seq) ?? 0) - 1;
    if (n <= 0) this.rdc.delete(seq);
    else this.rdc.set(seq, n);
  }

  protected addToRedeliverQueue(seq: number): void {
    this.rdq.push(seq);
    this.rdqSet.add(seq);
  }

  protected removeFromRedeliverQueue(seq: number): void {
    if (!this.rdqSet.delete(seq)) return;
    const i = this.rdq.indexOf(seq);
    if (i >= 0) this.rdq.splice(i, 1);
  }


  // ================================================================ num pending

  protected numPending(): number {
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

  // ================================================================ the inactivity timer

  protected armDelete(ms: number): void {
    this.clearDelete();
    if (this.closed) return;
    this.dtmr = setTimeout(() => {
      this.dtmr = undefined;
      this.deleteNotActive();
    }, Math.max(1, ms));
    this.dtmr.unref();
  }

  protected clearDelete(): void {
    if (this.dtmr !== undefined) clearTimeout(this.dtmr);
    this.dtmr = undefined;
  }

  /** The inactivity timer fired (consumer.ts). */
  protected abstract deleteNotActive(): void;
}
