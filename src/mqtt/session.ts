// An MQTT session: a client of the routing core that outlives its network connection when it is
// persistent. It owns the session's subscriptions (in the account's sublist, mapped to NATS
// subjects), the QoS 1/2 messages in flight (by packet identifier) and those queued behind the
// window, and writes what must survive a restart to the account's stores.
import type { Account } from "../core/account.js";
import type { Client, Subscription } from "../core/client.js";
import { subjectMatches } from "../core/subject.js";
import type { PermissionSet } from "../auth/permissions.js";
import type { StreamStore } from "../jetstream/store/index.js";
import type { AccountState, MqttBroker } from "./broker.js";
import type { MqttConnection } from "./connection.js";
import { headersToProps } from "./headers.js";
import type { Properties } from "./packets.js";
import {
  encodeMessage, encodePids, encodeSent, encodeSession, idToken, type StoredSession, type StoredSubscription,
} from "./persist.js";
import { subjectToTopic } from "./topic.js";

/** What the publishing side knows of a message while it is being routed (MQTT publishes only). */
export interface PubContext {
  msg: Buffer;
  session: Session | null;
  qos: number;
  retain: boolean;
  /** byte string */
  topic: string;
  topicBytes: Buffer;
  subject: string;
  props: Properties | undefined;
}

/** The MQTT publish being routed right now (routing is synchronous). */
export const routing: { ctx: PubContext | null } = { ctx: null };

export interface MqttSub extends Subscription {
  readonly session: Session;
  /** the filter as the client gave it (with any $share/ prefix) */
  readonly filter: string;
  qos: number;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: number;
  subId: number | undefined;
  /** a filter starting with a wildcard does not match topics starting with '$' */
  readonly wildFirst: boolean;
  /** overlaps a deny permission: check each message's subject */
  filtered: boolean;
  /** the session's other plain subscriptions that can match the same subjects (null: none) */
  peers: MqttSub[] | null;
  lastSubject: string;
  lastTopic: Buffer | null;
  lastTopicStr: string;
}

/** A QoS 1/2 message owed to the session. */
export interface Outgoing {
  /** byte string */
  topic: string;
  topicBytes: Buffer | null;
  payload: Buffer;
  qos: number;
  retain: boolean;
  props: Properties | undefined;
  /** ms since the epoch; 0 = never */
  expiresAt: number;
  subId: number | undefined;
  /** 0 until sent */
  pid: number;
  /** QoS 2: PUBREC received, PUBREL sent */
  released: boolean;
  sentAt: number;
  /** its record in the `q` store; 0 = not stored */
  seq: number;
  /** the stored record (or its `p.` marker) holds the packet identifier */
  pidStored?: boolean;
  /** its `p.` marker in the `q` store; 0 = none */
  marker?: number;
}

export class Session implements Client {
  readonly kind = "mqtt" as const;
  readonly echo = true;
  readonly subs = new Map<string, MqttSub[]>();
  conn: MqttConnection | null = null;
  persistent = false;
  /** 5.0 Session Expiry Interval in seconds; -1 = never (3.1.1 persistent sessions) */
  expiry = 0;
  version = 4;
  user: string | undefined;
  permissions: PermissionSet | undefined;
  /** when the connection ended; 0 while connected */
  disconnectedAt = 0;
  readonly inflight = new Map<number, Outgoing>();
  private queue: Outgoing[] = [];
  private queueHead = 0;
  private nextPid = 1;
  /** QoS 2 packet identifiers received and not yet released (PUBREL) */
  readonly inboundQos2 = new Set<number>();
  /** the stored copy of inboundQos2 (`i.` record in `sess`); 0 = none */
  private inboundSeq = 0;
  /** inboundQos2 changed since it was stored (persistent sessions; see saveInbound) */
  inboundDirty = false;
  /** the in-flight window: min(max_ack_pending, the client's Receive Maximum) */
  window: number;
  private tokenCache: string | undefined;
  /**
   * Something of this session may be in the stores (it wrote, or was read back from them). A
   * session that never did (every clean one) ends without touching them.
   */
  stored = false;
  expiryTimer: NodeJS.Timeout | undefined;
  /** a will waiting for its delay (5.0) */
  pendingWill: NodeJS.Timeout | undefined;
  closed = false;
  /** 3.1.1 with overlapping subscriptions: the message (and subject) delivered during this routing */
  private oneCopyMsg: Buffer | null = null;
  private oneCopySubject = "";
  private oneCopyClear = false;

  constructor(
    readonly cid: number,
    readonly clientId: string,
    readonly state: AccountState,
    private readonly broker: MqttBroker,
  ) {
    this.window = broker.options.max_ack_pending;
  }

  /** the client identifier as the stores' subjects carry it (computed when first stored) */
  get token(): string {
    return (this.tokenCache ??= idToken(this.clientId));
  }

  get account(): Account {
    return this.state.account;
  }

  toString(): string {
    return this.conn ? this.conn.toString() : `session ${JSON.stringify(this.clientId)}`;
  }

  // ---- the core delivers here

  deliver(s: Subscription, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number): void {
    const sub = s as MqttSub;
    if (sub.filtered && !this.permissions!.canDeliver(subject)) return;
    if (sub.wildFirst && subject.charCodeAt(0) === 36 /* $ */) return;
    const ctx = routing.ctx;
    let qos = sub.qos;
    if (sub.peers !== null && this.version !== 5) {
      // 3.1.1: one copy however many of the session's subscriptions match, at the highest of their
      // QoS (as mosquitto; 5.0 gets a copy per subscription, each with its QoS and identifier)
      if (msg === this.oneCopyMsg && subject === this.oneCopySubject) return;
      qos = this.oneCopy(sub, subject, msg);
    }
    let retain = false;
    let topic: string;
    let topicBytes: Buffer | null = null;
    let props: Properties | undefined;
    let payload: Buffer;
    if (ctx !== null && ctx.msg === msg) {
      if (sub.noLocal && ctx.session === this) return;
      if (ctx.qos < qos) qos = ctx.qos;
      retain = sub.retainAsPublished && ctx.retain;
      if (subject === ctx.subject) {
        topic = ctx.topic;
        topicBytes = ctx.topicBytes;
      } else topic = subjectToTopic(subject);
      props = ctx.props;
      payload = hdrLen > 0 ? msg.subarray(hdrLen) : msg;
    } else {
      if (sub.lastSubject === subject && sub.lastTopic !== null) {
        topicBytes = sub.lastTopic;
        topic = sub.lastTopicStr;
      } else {
        topic = subjectToTopic(subject);
        topicBytes = Buffer.from(topic, "latin1");
        sub.lastSubject = subject;
        sub.lastTopic = topicBytes;
        sub.lastTopicStr = topic;
      }
      if (hdrLen > 0) {
        props = headersToProps(msg, hdrLen);
        payload = msg.subarray(hdrLen);
      } else payload = msg;
      if (reply !== undefined) props = { ...props, responseTopic: subjectToTopic(reply) };
    }
    const conn = this.conn;
    if (qos === 0) {
      if (conn !== null) conn.sendPublish(topic, topicBytes, payload, 0, retain, false, 0, props, sub.subId);
      return;
    }
    if (conn === null && !this.persistent) return;
    const expiry = props?.messageExpiry;
    this.enqueue({
      topic, topicBytes: null, payload: Buffer.from(payload), qos, retain, props,
      expiresAt: expiry !== undefined ? Date.now() + expiry * 1000 : 0, subId: sub.subId,
      pid: 0, released: false, sentAt: 0, seq: 0,
    });
  }

  /** The first of several matching subscriptions delivers: the highest QoS among those that match. */
  private oneCopy(sub: MqttSub, subject: string, msg: Buffer): number {
    this.oneCopyMsg = msg;
    this.oneCopySubject = subject;
    if (!this.oneCopyClear) {
      // forgotten once this routing is over: a later message may reuse the buffer
      this.oneCopyClear = true;
      queueMicrotask(() => {
        this.oneCopyMsg = null;
        this.oneCopyClear = false;
      });
    }
    let qos = sub.qos;
    for (const p of sub.peers!) {
      if (p.qos <= qos || p.closed || !subjectMatches(p.subject, subject)) continue;
      if (p.wildFirst && subject.charCodeAt(0) === 36) continue;
      if (p.filtered && !this.permissions!.canDeliver(subject)) continue;
      qos = p.qos;
    }
    return qos;
  }

  /** Takes a QoS 1/2 message: sent at once when the window allows, else queued (and stored when persistent). */
  enqueue(o: Outgoing): void {
    if (this.closed) return;
    const conn = this.conn;
    const now = conn !== null && this.queueHead === this.queue.length && this.inflight.size < this.window;
    // going out at once: the stored record carries its packet identifier
    if (now) o.pid = this.allocPid();
    if (this.persistent) this.store(o);
    if (now) this.send(conn, o);
    else this.queue.push(o);
  }

  private store(o: Outgoing): void {
    const q = this.state.stores.q;
    // a 5.0 subscription identifier travels in the stored properties (what a resend must carry)
    const props = o.subId === undefined ? o.props : { ...o.props, subscriptionIds: [o.subId] };
    this.stored = true;
    try {
      o.seq = q.storeMsg(`q.${this.token}`, undefined, encodeMessage({
        topic: o.topic, qos: o.qos, retain: o.retain, released: o.released, pid: o.pid, props, payload: o.payload,
      })).seq;
      o.pidStored = o.pid !== 0;
      this.broker.wrote(q);
    } catch (e) {
      this.broker.logger.error(`${this} - could not store a message: ${(e as Error).message}`);
    }
  }

  /** A stored message goes out for the first time: its packet identifier is kept beside it. */
  private markSent(o: Outgoing): void {
    const q = this.state.stores.q;
    try {
      if (o.marker) q.removeMsg(o.marker);
      o.marker = q.storeMsg(`p.${this.token}`, undefined, encodeSent(o.seq, o.pid)).seq;
      o.pidStored = true;
    } catch (e) {
      this.broker.logger.error(`${this} - could not store a packet identifier: ${(e as Error).message}`);
    }
  }

  private unstore(o: Outgoing): void {
    if (o.seq === 0) return;
    const q = this.state.stores.q;
    try {
      q.removeMsg(o.seq);
      if (o.marker) q.removeMsg(o.marker);
    } catch {
      // the store is closing
    }
    o.seq = 0;
    o.marker = 0;
    o.pidStored = false;
  }

  // ---- QoS 2 publishes received (the receiving half of exactly once)

  /** A QoS 2 PUBLISH was received: its packet identifier is remembered until PUBREL (and stored). */
  addInboundQos2(pid: number): void {
    this.inboundQos2.add(pid);
    this.inboundChanged();
  }

  /** PUBREL: false when the packet identifier was not known. */
  releaseInboundQos2(pid: number): boolean {
    if (!this.inboundQos2.delete(pid)) return false;
    this.inboundChanged();
    return true;
  }

  private inboundChanged(): void {
    if (this.persistent && !this.closed) this.inboundDirty = true;
  }

  /**
   * Stores the set of unreleased QoS 2 identifiers when it changed. The connection calls this
   * once per input chunk, before its PUBREC/PUBCOMP wait for the store: one record however many
   * QoS 2 packets the chunk held (the record holds the whole set, so one per packet would cost
   * the square of the packets in flight). Returns the store written.
   */
  saveInbound(): StreamStore | undefined {
    if (!this.inboundDirty) return undefined;
    this.inboundDirty = false;
    if (!this.persistent || this.closed) return undefined;
    const st = this.state.stores.sess;
    this.stored = true;
    try {
      if (this.inboundQos2.size === 0) {
        if (this.inboundSeq !== 0) st.removeMsg(this.inboundSeq);
        this.inboundSeq = 0;
      } else this.inboundSeq = st.storeMsg(`i.${this.token}`, undefined, encodePids(this.inboundQos2)).seq;
      return st;
    } catch (e) {
      this.broker.logger.error(`${this} - could not store QoS 2 packet identifiers: ${(e as Error).message}`);
      return undefined;
    }
  }

  private allocPid(): number {
    for (let i = 0; i < 65535; i++) {
      const pid = this.nextPid;
      this.nextPid = pid === 65535 ? 1 : pid + 1;
      if (!this.inflight.has(pid)) return pid;
    }
    return 0;
  }

  private send(conn: MqttConnection, o: Outgoing): void {
    if (o.pid === 0) o.pid = this.allocPid();
    if (o.seq !== 0 && !o.pidStored) this.markSent(o);
    this.inflight.set(o.pid, o);
    o.sentAt = Date.now();
    if (o.released) conn.sendAck(6, o.pid);
    else {
      const props = remainingExpiry(o);
      conn.sendPublish(o.topic, o.topicBytes, o.payload, o.qos, o.retain, false, o.pid, props, o.subId);
    }
    this.broker.tracking(this);
  }

  /** Sends queued messages while the window has room. */
  pump(): void {
    const conn = this.conn;
    if (conn === null) return;
    const q = this.queue;
    const now = Date.now();
    while (this.queueHead < q.length && this.inflight.size < this.window) {
      const o = q[this.queueHead]!;
      q[this.queueHead++] = undefined as unknown as Outgoing;
      if (o.expiresAt !== 0 && o.expiresAt <= now && !o.released) {
        this.unstore(o);
        continue;
      }
      this.send(conn, o);
    }
    if (this.queueHead === q.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > q.length) {
      this.queue = q.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Resends everything in flight (with DUP), in order: on reconnect and after ack_wait. */
  resend(olderThan = Infinity): void {
    const conn = this.conn;
    if (conn === null) return;
    const now = Date.now();
    for (const o of this.inflight.values()) {
      if (olderThan !== Infinity && now - o.sentAt < olderThan) break;
      o.sentAt = now;
      if (o.released) conn.sendAck(6, o.pid);
      else conn.sendPublish(o.topic, o.topicBytes, o.payload, o.qos, o.retain, true, o.pid, remainingExpiry(o), o.subId);
    }
  }

  /** The oldest send time of what is in flight (0 when nothing is). */
  oldestInflight(): number {
    for (const o of this.inflight.values()) return o.sentAt;
    return 0;
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  onPuback(pid: number): boolean {
    const o = this.inflight.get(pid);
    if (o === undefined || o.qos !== 1) return false;
    this.inflight.delete(pid);
    this.unstore(o);
    this.pump();
    return true;
  }

  /** PUBREC: true when a PUBREL must be sent. */
  onPubrec(pid: number, reason: number): boolean {
    const o = this.inflight.get(pid);
    if (o === undefined || o.qos !== 2) return false;
    if (reason >= 0x80) {
      this.inflight.delete(pid);
      this.unstore(o);
      this.pump();
      return false;
    }
    if (!o.released) {
      o.released = true;
      o.payload = EMPTY;
      o.props = undefined;
      if (o.seq !== 0) {
        this.unstore(o);
        this.store(o);
      }
    }
    o.sentAt = Date.now();
    return true;
  }

  onPubcomp(pid: number): void {
    const o = this.inflight.get(pid);
    if (o === undefined || !o.released) return;
    this.inflight.delete(pid);
    this.unstore(o);
    this.pump();
  }

  // ---- restore

  /**
   * A message read back from the store after a restart: in flight again when it had gone out
   * (resent with DUP and its packet identifier on reconnect), else queued.
   */
  restoreOutgoing(o: Outgoing): void {
    if (o.pid !== 0) {
      if (!this.inflight.has(o.pid)) {
        o.pidStored = true;
        this.inflight.set(o.pid, o);
        this.broker.tracking(this);
        return;
      }
      // an identifier seen twice (a removal lost in a crash): the newer message goes out afresh
      if (o.released) {
        this.unstore(o);
        return;
      }
      o.pid = 0;
    }
    o.pidStored = false;
    this.queue.push(o);
  }

  /** The QoS 2 packet identifiers received and not released, read back after a restart. */
  restoreInbound(pids: number[], seq: number): void {
    for (const pid of pids) this.inboundQos2.add(pid);
    this.inboundSeq = seq;
  }

  // ---- persistence of the session record

  record(): StoredSession {
    const subs: StoredSubscription[] = [];
    for (const list of this.subs.values()) {
      const s = list[0]!;
      const rec: StoredSubscription = { f: s.filter, q: s.qos, o: (s.noLocal ? 1 : 0) | (s.retainAsPublished ? 2 : 0) | (s.retainHandling << 2) };
      if (s.subId !== undefined) rec.i = s.subId;
      subs.push(rec);
    }
    const r: StoredSession = { id: this.clientId, v: this.version, x: this.expiry, d: this.disconnectedAt, subs };
    if (this.user !== undefined) r.u = this.user;
    return r;
  }

  /** Writes the session record (persistent sessions only). */
  save(): void {
    if (!this.persistent || this.closed) return;
    const st = this.state.stores.sess;
    this.stored = true;
    try {
      st.storeMsg(`s.${this.token}`, undefined, encodeSession(this.record()));
      this.broker.wrote(st);
    } catch (e) {
      this.broker.logger.error(`${this} - could not store the session: ${(e as Error).message}`);
    }
  }

  /** Removes the stored session (it is no longer persistent). */
  forget(): void {
    try {
      this.purgeStored();
    } catch {
      // stores closing
    }
    this.inboundSeq = 0;
    for (const o of this.inflight.values()) o.seq = o.marker = 0;
    for (let i = this.queueHead; i < this.queue.length; i++) this.queue[i]!.seq = this.queue[i]!.marker = 0;
  }

  /** Ends the session: subscriptions leave the sublist, stored state is removed. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.expiryTimer);
    const sl = this.state.account.sublist;
    for (const list of this.subs.values()) for (const s of list) {
      s.closed = true;
      sl.remove(s);
    }
    this.subs.clear();
    try {
      this.purgeStored();
    } catch {
      // stores closing
    }
    this.inflight.clear();
    this.queue = [];
    this.queueHead = 0;
    this.broker.untrack(this);
  }

  private purgeStored(): void {
    if (!this.stored) return;
    const { sess, q } = this.state.stores;
    sess.purge({ subject: `s.${this.token}` });
    sess.purge({ subject: `i.${this.token}` });
    q.purge({ subject: `q.${this.token}` });
    q.purge({ subject: `p.${this.token}` });
    this.stored = false;
  }

  /** Drops in-memory state without touching the stores (server shutdown). */
  shutdown(): void {
    this.closed = true;
    clearTimeout(this.expiryTimer);
    for (const list of this.subs.values()) for (const s of list) {
      s.closed = true;
      this.state.account.sublist.remove(s);
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** 5.0: a queued message goes out with what is left of its expiry interval. */
function remainingExpiry(o: Outgoing): Properties | undefined {
  if (o.expiresAt === 0 || o.props === undefined) return o.props;
  const left = Math.max(1, Math.ceil((o.expiresAt - Date.now()) / 1000));
  return left === o.props.messageExpiry ? o.props : { ...o.props, messageExpiry: left };
}
