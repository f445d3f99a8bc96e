// Backpressure across protocols, as nats-server stalls a fast producer: while a connection
// handles its inbound bytes it is "the producer"; a receiver whose outbound is congested pauses
// reading from that producer until the receiver drains, or STALL_MAX_MS passes. A NATS publisher
// can so be held back by a congested MQTT subscriber and the other way round, because every
// protocol adapter marks its turns and its congestion here, in one place.
//
// A receiver that does not drain in time (write_deadline) or passes max_pending is still a slow
// consumer: its adapter decides that, not this module.

/** What stalling needs of a transport. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/** Where stalls are counted (varz `stalled_clients`). */
export interface StallStats {
  stalledClients: number;
}

/** Outbound bytes waiting in the transport above which a receiver is congested (or max_pending/2 when smaller). */
export const STALL_AT = 4 * 1024 * 1024;
/** The longest a producer waits for one congested receiver before reading again. */
export const STALL_MAX_MS = 1000;

/** The connection whose inbound bytes are being handled right now (routing is synchronous). */
let current: Flow | null = null;

/**
 * Marks `f` as the producer of whatever gets delivered until the matching call with the value
 * returned (the previous producer): `const prev = producing(flow); try { … } finally { producing(prev); }`.
 */
export function producing(f: Flow | null): Flow | null {
  const prev = current;
  current = f;
  return prev;
}

/** The producer of the delivery in progress, if a connection's input is being handled. */
export function currentProducer(): Flow | null {
  return current;
}

/** One connection's part in backpressure, as a producer (it can be paused) and as a receiver. */
export class Flow {
  /** Our outbound is over the stall threshold: producers feeding us are paused until it drains. */
  congested = false;
  /** producers paused because of us */
  private held: Flow[] | null = null;
  /** we are a producer whose reading is paused */
  private stalled = false;
  private timer: NodeJS.Timeout | undefined;
  /** the write deadline: running while bytes wait in the transport */
  private deadline: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    /** the connection this is the flow of (the adapter's object) */
    readonly owner: object,
    private readonly transport: Pausable,
    private readonly stats: StallStats,
  ) {}

  /**
   * After a write to the transport, `pending` bytes are still waiting in it. False when that is
   * over `maxPending`: a slow consumer, which the adapter closes. Otherwise congestion is noted
   * and, given `onDeadline`, the write deadline starts: `onDeadline` runs if the transport has not
   * drained within `deadlineMs`.
   */
  wrote(pending: number, maxPending: number, deadlineMs = 0, onDeadline?: () => void): boolean {
    if (pending === 0) return true;
    if (pending > maxPending) return false;
    if (pending > Math.min(maxPending >> 1, STALL_AT)) this.congested = true;
    if (onDeadline !== undefined && this.deadline === undefined && !this.closed) {
      this.deadline = setTimeout(() => {
        this.deadline = undefined;
        onDeadline();
      }, deadlineMs);
    }
    return true;
  }

  /**
   * A message was queued for us while we are congested (the caller checks `congested`, so the
   * uncongested path costs one field read): the current producer stops being read.
   */
  stallProducer(): void {
    const p = current;
    if (p === null || p === this || p.stalled || p.closed) return;
    p.stalled = true;
    p.transport.pause();
    p.timer = setTimeout(() => p.unstall(), STALL_MAX_MS);
    this.stats.stalledClients++;
    (this.held ??= []).push(p);
  }

  /** Everything written reached the OS: the producers we held read again. */
  drained(): void {
    if (this.deadline !== undefined) {
      clearTimeout(this.deadline);
      this.deadline = undefined;
    }
    if (!this.congested) return;
    this.congested = false;
    this.release();
  }

  /** The connection is gone: whoever it held reads again, and it is never resumed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stalled = false;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
    this.timer = this.deadline = undefined;
    this.release();
  }

  /** Whether reading from this connection is paused by backpressure. */
  get isStalled(): boolean {
    return this.stalled;
  }

  private release(): void {
    const list = this.held;
    if (list === null) return;
    this.held = null;
    for (const p of list) p.unstall();
  }

  /** The receiver drained or the wait ran out, whichever came first. */
  private unstall(): void {
    if (!this.stalled) return;
    this.stalled = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.closed) this.transport.resume();
  }
}
