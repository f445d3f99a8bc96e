// A NATS client connection: the protocol adapter between a Transport and the routing core.
import type { Account } from "../core/account.js";
import type { Client, Subscription } from "../core/client.js";
import { Flow, producing } from "../core/backpressure.js";
import { Outbound, type Flushable } from "../core/outbound.js";
import { isValidLiteralSubject, isValidQueueName, isValidSubject } from "../core/subject.js";
import { TlsHandshakeError, type Transport } from "../transport/transport.js";
import { Parser, type ParseError, type ParserHandler } from "./parser.js";
import type { AuthResult, ConnectOptions, ClientHost, ClosedReason } from "./types.js";
import type { PermissionSet } from "../auth/permissions.js";

/** A subscription of a NATS connection; remembers the frame arguments it last built. */
interface NatsSubscription extends Subscription {
  lastSubject: string;
  lastReply: string | undefined;
  /** "<subject> <sid> [reply] " for lastSubject/lastReply, once the pair repeats */
  lastArgs: Buffer | null;
  /** a wildcard subscription overlapping a deny permission: check each message's subject */
  filtered: boolean;
}

/** allow_responses: at most this many reply subjects are remembered per connection */
const MAX_TRACKED_REPLIES = 4096;

const MSG_OP = Buffer.from("MSG ");
const HMSG_OP = Buffer.from("HMSG ");

const NO_RESPONDERS_HDR = "NATS/1.0 503\r\n\r\n";

export class NatsConnection implements Client, ParserHandler, Flushable {
  readonly kind = "client" as const;
  echo = true;
  dirty = false;
  readonly start = new Date();
  /**
   * When messages or subscriptions last came in or messages went out (ms since the epoch, from
   * the clock read once per received chunk and once per flush): connz `last_activity` and `idle`.
   */
  lastActivity = this.start.getTime();

  // from CONNECT
  connected = false;
  // nats-server's defaults before (and for fields missing from) CONNECT
  verbose = true;
  pedantic = true;
  headers = false;
  noResponders = false;
  name = "";
  lang = "";
  version = "";
  user: string | undefined;
  /** undefined = everything allowed */
  permissions: PermissionSet | undefined;
  /** the last subject the permissions allowed this client to publish to */
  private lastAllowedSubject = "";
  /** reply subjects this client may answer (allow_responses): subject → [count left, expiry] */
  private replies: Map<string, [number, number]> | null = null;
  /** the nonce its INFO carried (nkey users sign it) */
  readonly nonce: string | undefined;

  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  rttMs = 0;
  readonly subs = new Map<string, NatsSubscription>();

  closed = false;
  closedReason: ClosedReason | undefined;
  stop: Date | undefined;

  private readonly parser: Parser;
  private readonly out = new Outbound();
  private authPending: boolean;
  private pingsOut = 0;
  private pingSentAt = 0;
  private lastIn = 0;
  /** outMsgs at the last flush: a flush that carries messages counts as activity */
  private flushedMsgs = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  /** made the first time bytes wait in the transport */
  private onWriteDeadline: (() => void) | undefined;
  /** backpressure: stalls the producers feeding us while we are congested, and us as a producer */
  private readonly flow: Flow;

  constructor(
    readonly cid: number,
    readonly transport: Transport,
    private readonly host: ClientHost,
    public account: Account,
  ) {
    const o = host.options;
    this.parser = new Parser(this, { maxPayload: o.max_payload, maxControlLine: o.max_control_line });
    this.authPending = host.authRequired(this);
    this.nonce = host.newNonce();
    this.flow = new Flow(this, transport, host.stats);
  }

  /** Sends INFO and starts reading. */
  begin(): void {
    const t = this.transport;
    t.onData((chunk) => this.received(chunk));
    t.onClose((err) =>
      this.closeConnection(err ? (err instanceof TlsHandshakeError ? "TLS Handshake Failure" : "Read Error") : "Client Closed"));
    t.onDrain(() => this.flow.drained());
    this.out.text("INFO " + this.host.infoFor(this) + "\r\n");
    this.flushNow();
    const o = this.host.options;
    if (this.authPending) this.authTimer = setTimeout(() => this.authTimeout(), o.auth_timeout_ms);
    this.armPing(Math.min(o.ping_interval_ms, 2_000));
    this.host.logger.debug(`${this} - Client connection created`);
  }

  toString(): string {
    return `${this.transport.remoteAddress}:${this.transport.remotePort} - cid:${this.cid}`;
  }

  private received(chunk: Buffer): void {
    if (this.closed) return;
    this.lastIn = Date.now();
    const msgs = this.inMsgs;
    const prev = producing(this.flow);
    try {
      this.parser.parse(chunk);
    } finally {
      producing(prev);
    }
    if (this.inMsgs !== msgs) this.lastActivity = this.lastIn;
  }

  // ---- ParserHandler

  onConnect(json: string): void {
    let c: ConnectOptions;
    try {
      c = JSON.parse(json);
      if (typeof c !== "object" || c === null || Array.isArray(c)) throw new Error("not an object");
    } catch {
      this.host.logger.error(`${this} - Bad CONNECT: ${json.slice(0, 128)}`);
      this.protocolViolation("Unknown Protocol Operation");
      return;
    }
    if (this.host.logger.traceEnabled) this.host.logger.trace(`${this} - <<- [CONNECT ${redactConnect(c)}]`);
    if (c.verbose !== undefined) this.verbose = c.verbose === true;
    if (c.pedantic !== undefined) this.pedantic = c.pedantic === true;
    this.headers = c.headers === true && !this.host.options.no_header_support;
    this.noResponders = c.no_responders === true;
    this.echo = c.echo !== false;
    this.name = typeof c.name === "string" ? c.name : "";
    this.lang = typeof c.lang === "string" ? c.lang : "";
    this.version = typeof c.version === "string" ? c.version : "";
    const proto = c.protocol ?? 0;
    if (typeof proto !== "number" || proto < 0 || proto > 1) {
      this.protocolViolation("invalid client protocol");
      return;
    }
    if (this.noResponders && !this.headers) {
      this.protocolViolation("no responders requires headers support");
      return;
    }
    if (this.authPending) {
      const r = this.host.authenticate(this, c);
      if (r instanceof Promise) {
        // a bcrypt check takes a while: hold the input that follows CONNECT until it is done
        this.parser.suspend();
        this.transport.pause();
        r.then((res) => {
          if (this.closed) return;
          this.transport.resume();
          if (!this.authenticated(res)) return;
          const held = this.parser.resume();
          if (held !== null) this.received(held);
        }, (e) => this.authViolation(`authentication failed: ${(e as Error).message}`));
        return;
      }
      this.authenticated(r);
      return;
    }
    this.connected = true;
    if (this.verbose) this.ok();
  }

  /** Applies an authentication outcome; false when the connection was refused. */
  private authenticated(r: AuthResult, ack = true): boolean {
    if (!r.ok) {
      this.authViolation(r.reason);
      return false;
    }
    this.account = r.account;
    this.permissions = r.permissions;
    this.user = r.user;
    this.authPending = false;
    clearTimeout(this.authTimer);
    this.authTimer = undefined;
    this.connected = true;
    if (ack && this.verbose) this.ok();
    return true;
  }

  /**
   * An operation before CONNECT on a server that requires auth: allowed only when a
   * no_auth_user takes the client in (as nats-server allows for telnet sessions).
   */
  private preConnectAuth(what: string): boolean {
    const r = this.host.authenticate(this, null);
    if (!(r instanceof Promise) && r.ok) {
      this.authenticated(r, false); // no CONNECT, so nothing to acknowledge
      return true;
    }
    this.authViolation(`${what} before CONNECT`);
    return false;
  }

  onPub(subject: string, reply: string | undefined, msg: Buffer, hdrLen: number): void {
    if (this.authPending && !this.preConnectAuth("publish")) return;
    this.inMsgs++;
    this.inBytes += msg.length;
    const host = this.host;
    host.stats.inMsgs++;
    host.stats.inBytes += msg.length;
    if (host.logger.traceEnabled) host.logger.trace(`${this} - <<- [${hdrLen > 0 ? "HPUB" : "PUB"} ${subject}${reply ? " " + reply : ""} ${msg.length}]`);
    // nats-server reports a bad subject in pedantic mode but still routes the message, and
    // acknowledges (verbose) before delivering
    if (this.pedantic && !isValidLiteralSubject(subject)) this.sendErr("Invalid Publish Subject");
    const perms = this.permissions;
    // the parser hands a repeated subject as the same string, so the last allowed one is free
    if (perms !== undefined && subject !== this.lastAllowedSubject) {
      if (perms.canPublish(subject)) this.lastAllowedSubject = subject;
      else if (!this.responseAllowed(subject)) {
        host.logger.error(`${this} - Publish Violation - User ${JSON.stringify(this.user ?? "")}, Subject ${JSON.stringify(subject)}`);
        this.sendErr(`Permissions Violation for Publish to ${JSON.stringify(subject)}`);
        return;
      }
    }
    if (this.verbose) this.ok();
    const n = this.account.route(this, subject, reply, msg, hdrLen);
    if (n === 0 && reply !== undefined && this.noResponders) this.noRespondersReply(reply);
  }

  onSub(subject: string, queue: string | undefined, sid: string): void {
    if (this.authPending && !this.preConnectAuth("subscribe")) return;
    const log = this.host.logger;
    if (log.traceEnabled) log.trace(`${this} - <<- [SUB ${subject}${queue ? " " + queue : ""} ${sid}]`);
    if (!isValidSubject(subject) || (queue !== undefined && !isValidQueueName(queue))) {
      this.sendErr("Invalid Subject");
      return;
    }
    if (this.subs.has(sid)) {
      // nats-server treats a repeated sid as a no-op
      if (this.verbose) this.ok();
      return;
    }
    const perms = this.permissions;
    let filtered = false;
    if (perms !== undefined) {
      if (!perms.canSubscribe(subject, queue)) {
        const what = queue === undefined ? JSON.stringify(subject) : `${JSON.stringify(subject)} using queue ${JSON.stringify(queue)}`;
        log.error(`${this} - Subscription Violation - User ${JSON.stringify(this.user ?? "")}, Subject ${JSON.stringify(subject)}, SID ${sid}`);
        this.sendErr(`Permissions Violation for Subscription to ${what}`);
        return;
      }
      filtered = perms.needsDeliveryFilter(subject, queue);
    }
    const max = this.host.options.max_subscriptions;
    if (max > 0 && this.subs.size >= max) {
      log.error(`${this} - maximum subscriptions exceeded`);
      this.sendErr("maximum subscriptions exceeded");
      return;
    }
    const sub: NatsSubscription = {
      client: this, subject, queue, sid, max: 0, delivered: 0, closed: false,
      lastSubject: "", lastReply: undefined, lastArgs: null, filtered,
    };
    this.subs.set(sid, sub);
    this.account.sublist.insert(sub);
    this.lastActivity = this.lastIn;
    if (this.verbose) this.ok();
  }

  onUnsub(sid: string, max: number): void {
    if (this.authPending && !this.preConnectAuth("unsubscribe")) return;
    const log = this.host.logger;
    if (log.traceEnabled) log.trace(`${this} - <<- [UNSUB ${sid}${max > 0 ? " " + max : ""}]`);
    const sub = this.subs.get(sid);
    if (sub !== undefined) {
      this.lastActivity = this.lastIn;
      if (max > 0 && sub.delivered < max) sub.max = max;
      else this.removeSub(sub);
    }
    if (this.verbose) this.ok();
  }

  onPing(): void {
    if (this.authPending && !this.preConnectAuth("PING")) return;
    this.out.text("PONG\r\n");
    this.host.scheduler.mark(this);
  }

  onPong(): void {
    if (this.authPending && !this.preConnectAuth("PONG")) return;
    this.pingsOut = 0;
    if (this.pingSentAt > 0) {
      this.rttMs = Date.now() - this.pingSentAt;
      this.pingSentAt = 0;
    }
  }

  onPeerError(text: string): void {
    this.host.logger.error(`${this} - Client Error ${text}`);
    this.closeConnection("Client Closed");
  }

  onParseError(kind: ParseError, detail: string): void {
    const log = this.host.logger;
    switch (kind) {
      case "max_payload":
        log.error(`${this} - maximum payload exceeded: ${detail}`);
        this.sendErr("Maximum Payload Violation");
        this.closeConnection("Maximum Payload Exceeded");
        return;
      case "max_control_line":
        log.error(`${this} - maximum control line exceeded`);
        this.sendErr("maximum control line exceeded");
        this.closeConnection("Maximum Control Line Exceeded");
        return;
      default:
        log.error(`${this} - Client parser ERROR: ${detail}`);
        this.protocolViolation("Unknown Protocol Operation");
    }
  }

  // ---- Client

  deliver(s: Subscription, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number): void {
    if (this.closed) return;
    const sub = s as NatsSubscription;
    if (sub.filtered && !this.permissions!.canDeliver(subject)) return;
    sub.delivered++;
    if (reply !== undefined && this.permissions?.responses !== undefined) this.allowResponse(reply);
    let body = msg;
    let h = hdrLen;
    if (h > 0 && !this.headers) {
      body = msg.subarray(h);
      h = 0;
    }
    // The frame arguments are cached as bytes when a subscription sees the same subject and
    // reply again (the common case); a one-off (an inbox reply) is written from a string.
    let args: Buffer | string;
    if (sub.lastSubject === subject && sub.lastReply === reply) {
      args = sub.lastArgs ??= Buffer.from(argsOf(subject, sub.sid, reply), "latin1");
    } else {
      args = argsOf(subject, sub.sid, reply);
      sub.lastSubject = subject;
      sub.lastReply = reply;
      sub.lastArgs = null;
    }
    if (h === 0) this.out.msg(MSG_OP, args, -1, body);
    else this.out.msg(HMSG_OP, args, h, body);
    this.outMsgs++;
    this.outBytes += body.length;
    const stats = this.host.stats;
    stats.outMsgs++;
    stats.outBytes += body.length;
    if (sub.max > 0 && sub.delivered >= sub.max) this.removeSub(sub);
    if (this.flow.congested) this.flow.stallProducer();
    if (this.out.size > this.host.options.max_pending) {
      this.slowConsumer("MaxPending");
      return;
    }
    this.host.scheduler.mark(this);
  }

  // ---- output

  /** Queues protocol text and schedules a flush. */
  send(text: string): void {
    if (this.closed) return;
    this.out.text(text);
    this.host.scheduler.mark(this);
  }

  sendErr(text: string): void {
    this.send(`-ERR '${text}'\r\n`);
  }

  private ok(): void {
    this.send("+OK\r\n");
  }

  flush(): void {
    if (this.closed) return;
    if (this.outMsgs !== this.flushedMsgs) {
      this.flushedMsgs = this.outMsgs;
      this.lastActivity = Date.now();
    }
    this.flushNow();
  }

  private flushNow(): void {
    if (this.out.size === 0) return;
    const t = this.transport;
    t.write(this.out.take());
    const o = this.host.options;
    if (!this.flow.wrote(t.writableLength, o.max_pending, o.write_deadline_ms, (this.onWriteDeadline ??= () => this.slowConsumer("WriteDeadline")))) {
      this.slowConsumer("MaxPending");
    }
  }

  private slowConsumer(why: "MaxPending" | "WriteDeadline"): void {
    if (this.closed) return;
    const o = this.host.options;
    this.host.stats.slowConsumers++;
    this.host.logger.warn(
      why === "WriteDeadline"
        ? `${this} - Slow Consumer Detected: WriteDeadline of ${o.write_deadline_ms}ms exceeded`
        : `${this} - Slow Consumer Detected: MaxPending of ${o.max_pending} exceeded`,
    );
    this.closeConnection(why === "WriteDeadline" ? "Slow Consumer (Write Deadline)" : "Slow Consumer (Pending Bytes)", true);
  }

  private allowResponse(reply: string): void {
    const r = this.permissions!.responses!;
    const replies = (this.replies ??= new Map());
    if (replies.size >= MAX_TRACKED_REPLIES) {
      const now = Date.now();
      for (const [k, v] of replies) if (v[1] < now) replies.delete(k);
      // still full: forget the oldest
      if (replies.size >= MAX_TRACKED_REPLIES) replies.delete(replies.keys().next().value!);
    }
    replies.set(reply, [r.max, Date.now() + r.expiresMs]);
  }

  /** allow_responses: a publish to the reply subject of a message this client received. */
  private responseAllowed(subject: string): boolean {
    const e = this.replies?.get(subject);
    if (e === undefined) return false;
    if (e[1] < Date.now()) {
      this.replies!.delete(subject);
      return false;
    }
    if (--e[0] <= 0) this.replies!.delete(subject);
    return true;
  }

  /** Sends the 503 status to a requester's inbox (also used across service imports). */
  noRespondersReply(reply: string): void {
    const r = this.account.sublist.match(reply);
    let sub: Subscription | undefined;
    for (const s of r.psubs) if (s.client === this) { sub = s; break; }
    if (sub === undefined) for (const g of r.qsubs) for (const s of g) if (s.client === this) { sub = s; break; }
    if (sub === undefined) return;
    this.out.text(`HMSG ${reply} ${sub.sid} ${NO_RESPONDERS_HDR.length} ${NO_RESPONDERS_HDR.length}\r\n${NO_RESPONDERS_HDR}\r\n`);
    this.host.scheduler.mark(this);
  }

  // ---- liveness

  private armPing(ms: number): void {
    this.pingTimer = setTimeout(() => this.pingTick(), ms);
  }

  private pingTick(): void {
    if (this.closed) return;
    const o = this.host.options;
    const now = Date.now();
    // like nats-server: a client that sent something recently needs no PING (after the first RTT)
    if (this.rttMs > 0 && now - this.lastIn < o.ping_interval_ms) {
      this.armPing(o.ping_interval_ms);
      return;
    }
    if (this.pingsOut + 1 > o.ping_max) {
      this.host.logger.debug(`${this} - Stale Client Connection - Closing`);
      this.sendErr("Stale Connection");
      this.closeConnection("Stale Connection");
      return;
    }
    this.pingsOut++;
    if (this.pingSentAt === 0) this.pingSentAt = now;
    this.send("PING\r\n");
    this.armPing(o.ping_interval_ms);
  }

  private authTimeout(): void {
    if (this.closed || !this.authPending) return;
    this.host.logger.debug(`${this} - Authentication Timeout`);
    this.sendErr("Authentication Timeout");
    this.closeConnection("Authentication Timeout");
  }

  private authViolation(reason: string): void {
    if (this.closed) return;
    this.host.logger.error(`${this} - authentication error: ${reason}`);
    this.sendErr("Authorization Violation");
    this.closeConnection("Authentication Failure");
  }

  private protocolViolation(text: string): void {
    this.sendErr(text);
    this.closeConnection("Protocol Violation");
  }

  // ---- teardown

  private removeSub(sub: NatsSubscription): void {
    if (sub.closed) return;
    sub.closed = true;
    this.subs.delete(sub.sid);
    this.account.sublist.remove(sub);
  }

  /** Closes the connection: subscriptions go, queued output is flushed unless `abort`. */
  closeConnection(reason: ClosedReason, abort = false): void {
    if (this.closed) return;
    if (!abort) this.flushNow();
    this.closed = true;
    this.closedReason = reason;
    this.stop = new Date();
    this.parser.stop();
    clearTimeout(this.pingTimer);
    clearTimeout(this.authTimer);
    this.flow.close();
    for (const sub of this.subs.values()) {
      sub.closed = true;
      this.account.sublist.remove(sub);
    }
    this.host.clientClosed(this);
    this.out.release();
    if (abort) this.transport.destroy();
    else this.transport.end(reason);
    this.host.logger.debug(`${this} - Client connection closed: ${reason}`);
  }

  /** Bytes waiting to be written (here and in the transport). */
  get pendingBytes(): number {
    return this.out.size + this.transport.writableLength;
  }
}

function argsOf(subject: string, sid: string, reply: string | undefined): string {
  return reply === undefined ? subject + " " + sid + " " : subject + " " + sid + " " + reply + " ";
}

function redactConnect(c: ConnectOptions): string {
  const copy: Record<string, unknown> = { ...c };
  for (const k of ["pass", "auth_token", "sig", "jwt"]) if (k in copy) copy[k] = "[REDACTED]";
  return JSON.stringify(copy);
}
