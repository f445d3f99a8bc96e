// The MQTT side of a server: the listener (TCP or TLS, and the WebSocket hook), authentication
// with the server's users, the sessions of each account with their persistence, retained
// messages, wills, request/reply correlation and redelivery. Connections (connection.ts) hand
// decoded packets here; sessions (session.ts) receive from the routing core.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { Account } from "../core/account.js";
import type { Client, Subscription } from "../core/client.js";
import { Authenticator, type AuthOutcome } from "../auth/authenticator.js";
import type { PermissionSet } from "../auth/permissions.js";
import type { ResolvedMqttOptions } from "../config/mqtt-options.js";
import { storeNameFromDir, type StreamStore } from "../jetstream/store/index.js";
import type { Logger } from "../logger.js";
import type { Server } from "../server/server.js";
import { TcpTransport } from "../transport/tcp.js";
import { TlsHandshaker, TlsTransport, isProbeError } from "../transport/tls.js";
import type { Transport } from "../transport/transport.js";
import { MqttConnection } from "./connection.js";
import { headersToProps as headersProps, propsToHeaders } from "./headers.js";
import type { Properties, Will } from "./packets.js";
import {
  AccountStores, allMsgs, decodeMessage, decodePids, decodeSent, decodeSession, encodeMessage, type StoreSettings,
} from "./persist.js";
import { RetainedIndex, type Retained } from "./retained.js";
import { routing, Session, type MqttSub, type PubContext } from "./session.js";
import { filterSubjects, parseShared, subjectsIntersect, topicToSubject } from "./topic.js";

export interface AccountState {
  readonly account: Account;
  readonly sessions: Map<string, Session>;
  readonly retained: RetainedIndex;
  readonly stores: AccountStores;
  replier: Replier | undefined;
}

/** Granted QoS of a subscription request, or a failure code (0x80, or 5.0's reason). */
export type SubscribeResult = number;

export type { Retained } from "./retained.js";

const ACK_WAIT_TICK_MIN = 100;
/** how often retained messages past their expiry are removed */
const RETAINED_SWEEP_MS = 10_000;

export class MqttBroker {
  readonly logger: Logger;
  readonly authenticator: Authenticator;
  readonly states = new Map<Account, AccountState>();
  readonly conns = new Set<MqttConnection>();
  private readonly tracked = new Set<Session>();
  /** stores written since the last check (a QoS 1/2 acknowledgement waits for them) */
  readonly dirtyStores = new Set<StreamStore>();
  private readonly storeSettings: StoreSettings;
  private netServer: NetServer | undefined;
  private readonly tlsHandshaker: TlsHandshaker | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private readonly willTimers = new Set<NodeJS.Timeout>();
  private lastSweep = Date.now();
  port = 0;
  closed = false;

  constructor(readonly server: Server, readonly options: ResolvedMqttOptions) {
    this.logger = server.logger;
    const so = server.options;
    const a = options.authorization;
    // nats-server: username/token in mqtt {} replace the top-level ones for MQTT clients, and
    // certificates map (verify_and_map) as the mqtt listener's tls {} says, whatever the top level's
    const override = a?.user !== undefined || a?.token !== undefined;
    this.authenticator = new Authenticator({
      ...so,
      tls: options.tls,
      ...(override ? { authorization: a, no_auth_user: options.no_auth_user } : {}),
    });
    const js = so.jetstream;
    this.storeSettings = js ? { dir: js.store_dir, sync_interval: js.sync_interval } : {};
    if (options.tls) this.tlsHandshaker = new TlsHandshaker(options.tls);
  }

  get authTimeoutMs(): number {
    return this.options.auth_timeout_ms ?? this.server.options.auth_timeout_ms;
  }

  /** Loads what the stores hold, then listens. */
  async start(): Promise<void> {
    this.restoreAll();
    const o = this.options;
    const srv = createNetServer({ noDelay: true }, (s) => this.accept(s));
    this.netServer = srv;
    await new Promise<void>((resolve, reject) => {
      const failed = (e: Error): void => reject(new Error(`Unable to listen for MQTT connections: ${e.message}`));
      srv.once("error", failed);
      srv.listen(o.port === -1 ? 0 : o.port, o.host, () => {
        srv.off("error", failed);
        resolve();
      });
    });
    srv.on("error", (e) => this.logger.error(`MQTT listener error: ${e.message}`));
    const addr = srv.address();
    this.port = typeof addr === "object" && addr ? addr.port : o.port;
    this.logger.info(`Listening for MQTT clients on ${o.tls ? "tls" : "mqtt"}://${o.host}:${this.port}`);
    const tick = Math.max(ACK_WAIT_TICK_MIN, Math.min(1000, o.ack_wait_ms / 4));
    this.ackTimer = setInterval(() => this.redeliver(), tick);
    this.ackTimer.unref();
  }

  private accept(socket: Socket): void {
    if (this.closed || !this.server.running || this.server.lameDuck) {
      socket.destroy();
      return;
    }
    const hs = this.tlsHandshaker;
    if (!hs) {
      this.addConnection(new TcpTransport(socket));
      return;
    }
    const t = new TlsTransport(socket, hs, { handshakeFirst: true, fallbackMs: 0, allowNonTls: false });
    const c = this.addConnection(t);
    t.start().catch((e: Error) => {
      if (isProbeError(e)) this.logger.debug(`${c} - TLS handshake error: ${e.message}`);
      else this.logger.error(`${c} - TLS handshake error: ${e.message}`);
    });
  }

  /** A connection over any transport (TCP, TLS, WebSocket). */
  addConnection(t: Transport): MqttConnection {
    const c = new MqttConnection(this.server.newCid(), t, this);
    this.conns.add(c);
    this.server.stats.totalConnections++;
    c.begin();
    return c;
  }

  connectionClosed(c: MqttConnection): void {
    this.conns.delete(c);
  }

  /** Records a store written during this turn (see dirtyStores). */
  wrote(st: StreamStore): void {
    this.dirtyStores.add(st);
  }

  // ---- authentication

  authenticate(c: MqttConnection, username: string | undefined, password: Buffer | undefined): AuthOutcome | Promise<AuthOutcome> {
    const pass = password?.toString("utf8");
    const creds: { user?: string; pass?: string; auth_token?: string } = {};
    if (username !== undefined && username !== "") creds.user = username;
    if (pass !== undefined) {
      creds.pass = pass;
      creds.auth_token = pass;
    }
    return this.authenticator.authenticate({
      credentials: creds,
      connectionType: c.transport.type === "websocket" ? "MQTT_WS" : "MQTT",
      tlsPeer: c.transport.tlsPeer,
      noAuthUser: this.options.no_auth_user,
    });
  }

  accountNamed(name: string): Account | undefined {
    return this.server.accounts.get(name);
  }

  state(account: Account): AccountState {
    let st = this.states.get(account);
    if (st === undefined) {
      st = { account, sessions: new Map(), retained: new RetainedIndex(), stores: new AccountStores(account.name, this.storeSettings), replier: undefined };
      this.states.set(account, st);
    }
    return st;
  }

  newSession(st: AccountState, clientId: string): Session {
    const s = new Session(this.server.newCid(), clientId, st, this);
    st.sessions.set(clientId, s);
    return s;
  }

  dropSession(s: Session): void {
    if (s.state.sessions.get(s.clientId) === s) s.state.sessions.delete(s.clientId);
    s.destroy();
  }

  /** A disconnected session: ended now (not persistent) or when its expiry interval runs out. */
  detached(s: Session): void {
    if (!s.persistent) {
      this.dropSession(s);
      return;
    }
    s.disconnectedAt = Date.now();
    if (s.expiry >= 0) {
      s.save();
      this.armExpiry(s, s.expiry * 1000);
    }
  }

  armExpiry(s: Session, ms: number): void {
    clearTimeout(s.expiryTimer);
    // setTimeout's limit is 2^31-1 ms; longer ones are re-armed when it fires
    const wait = Math.min(ms, 2 ** 31 - 1);
    s.expiryTimer = setTimeout(() => {
      if (s.conn !== null || s.closed) return;
      const left = s.disconnectedAt + s.expiry * 1000 - Date.now();
      if (left > 0) this.armExpiry(s, left);
      else {
        this.logger.debug(`${s} - session expired`);
        this.dropSession(s);
      }
    }, Math.max(0, wait));
    s.expiryTimer.unref();
  }

  // ---- subscriptions

  /** Adds (or replaces) one subscription of a session; returns the granted QoS or a failure code. */
  subscribe(s: Session, filter: string, qos: number, o: { noLocal: boolean; rap: boolean; rh: number; subId?: number }, v5: boolean): { code: number; isNew: boolean } {
    const fail = v5 ? 0x8f : 0x80;
    let shared;
    try {
      shared = parseShared(filter);
    } catch {
      return { code: fail, isNew: false };
    }
    const f = shared ? shared.filter : filter;
    let subjects: string[];
    try {
      subjects = filterSubjects(f);
    } catch {
      return { code: fail, isNew: false };
    }
    if (v5 && shared && o.noLocal) return { code: 0x82 as number, isNew: false }; // [MQTT-3.8.3-4]: protocol error
    const perms = s.permissions;
    let filtered = false;
    if (perms !== undefined) {
      if (!perms.canSubscribe(subjects[0]!, shared?.group)) {
        this.logger.error(`${s} - Subscription Violation - User ${JSON.stringify(s.user ?? "")}, Subject ${JSON.stringify(subjects[0])}`);
        return { code: v5 ? 0x87 : 0x80, isNew: false };
      }
      // `x/#` matches `x` too, where the permissions allow it
      subjects = subjects.filter((subj, i) => i === 0 || perms.canSubscribe(subj, shared?.group));
      for (const subj of subjects) if (perms.needsDeliveryFilter(subj, shared?.group)) filtered = true;
    }
    if (qos === 2 && this.options.downgrade_qos2_subscribe) qos = 1;
    const existing = s.subs.get(filter);
    if (existing !== undefined) {
      for (const sub of existing) {
        sub.qos = qos;
        sub.noLocal = o.noLocal;
        sub.retainAsPublished = o.rap;
        sub.retainHandling = o.rh;
        sub.subId = o.subId;
      }
      return { code: qos, isNew: false };
    }
    const wildFirst = f.charCodeAt(0) === 43 || f.charCodeAt(0) === 35;
    const list: MqttSub[] = subjects.map((subject) => ({
      client: s, session: s, subject, queue: shared?.group, sid: filter, max: 0, delivered: 0, closed: false,
      filter, qos, noLocal: o.noLocal, retainAsPublished: o.rap, retainHandling: o.rh, subId: o.subId,
      wildFirst, filtered, peers: null, lastSubject: "", lastTopic: null, lastTopicStr: "",
    }));
    if (shared === undefined) linkPeers(s, list);
    s.subs.set(filter, list);
    for (const sub of list) s.account.sublist.insert(sub);
    return { code: qos, isNew: true };
  }

  unsubscribe(s: Session, filter: string): boolean {
    const list = s.subs.get(filter);
    if (list === undefined) return false;
    s.subs.delete(filter);
    for (const sub of list) {
      sub.closed = true;
      s.account.sublist.remove(sub);
      if (sub.peers === null) continue;
      for (const p of sub.peers) {
        const i = p.peers!.indexOf(sub);
        if (i >= 0) p.peers!.splice(i, 1);
        if (p.peers!.length === 0) p.peers = null;
      }
      sub.peers = null;
    }
    return true;
  }

  /**
   * Retained messages for a new subscription (not for shared ones). The index visits only the
   * retained subjects the filter can match; a filter's subjects (`x.>` and `x` for `x/#`) match
   * disjoint sets, so no message comes twice.
   */
  sendRetained(s: Session, filter: string): void {
    const list = s.subs.get(filter);
    if (list === undefined || list[0]!.queue !== undefined) return;
    const st = s.state;
    if (st.retained.size === 0) return;
    const now = Date.now();
    for (const sub of list) {
      for (const r of st.retained.match(sub.subject, sub.wildFirst)) {
        if (r.expiresAt !== 0 && r.expiresAt <= now) {
          this.removeRetained(st, r.subject);
          continue;
        }
        if (sub.filtered && !s.permissions!.canDeliver(r.subject)) continue;
        const qos = Math.min(sub.qos, r.qos);
        let props = r.props;
        if (r.expiresAt !== 0) props = { ...props, messageExpiry: Math.max(1, Math.ceil((r.expiresAt - now) / 1000)) };
        if (qos === 0) s.conn?.sendPublish(r.topic, null, r.payload, 0, true, false, 0, props, sub.subId);
        else {
          s.enqueue({
            topic: r.topic, topicBytes: null, payload: r.payload, qos, retain: true, props, expiresAt: r.expiresAt,
            subId: sub.subId, pid: 0, released: false, sentAt: 0, seq: 0,
          });
        }
      }
    }
  }

  // ---- publishing

  /**
   * Routes an MQTT publish into the account (NATS subscribers, MQTT sessions, streams) and keeps
   * it as the retained message when asked. Returns the number of deliveries.
   */
  publish(
    from: Session | null, st: AccountState, topic: string, topicBytes: Buffer, subject: string, qos: number,
    retain: boolean, payload: Buffer, props: Properties | undefined,
  ): number {
    if (retain) this.retain(st, topic, subject, qos, payload, props);
    let msg = payload;
    let hdrLen = 0;
    let reply: string | undefined;
    if (props !== undefined) {
      const h = propsToHeaders(props);
      if (h !== undefined) {
        msg = Buffer.concat([h, payload]);
        hdrLen = h.length;
      }
      if (props.responseTopic !== undefined) reply = this.replySubject(st, props.responseTopic, props.correlationData);
    }
    const ctx: PubContext = { msg, session: from, qos, retain, topic, topicBytes, subject, props };
    const prev = routing.ctx;
    routing.ctx = ctx;
    try {
      return st.account.route(from, subject, reply, msg, hdrLen);
    } finally {
      routing.ctx = prev;
    }
  }

  private retain(st: AccountState, topic: string, subject: string, qos: number, payload: Buffer, props: Properties | undefined): void {
    if (payload.length === 0) {
      this.removeRetained(st, subject);
      return;
    }
    const kept: Properties | undefined = props && { ...props };
    if (kept) {
      delete kept.topicAlias;
      delete kept.subscriptionIds;
    }
    const expiry = kept?.messageExpiry;
    const r: Retained = {
      topic, subject, qos, payload: Buffer.from(payload), props: kept,
      expiresAt: expiry !== undefined ? Date.now() + expiry * 1000 : 0, seq: 0,
    };
    try {
      r.seq = st.stores.rmsg.storeMsg(`r.${subject}`, undefined, encodeMessage({ topic, qos, retain: true, released: false, pid: 0, props: kept, payload })).seq;
      this.wrote(st.stores.rmsg);
    } catch (e) {
      this.logger.error(`could not store a retained message: ${(e as Error).message}`);
    }
    st.retained.set(subject, r);
  }

  private removeRetained(st: AccountState, subject: string): void {
    const old = st.retained.get(subject);
    if (old === undefined) return;
    st.retained.delete(subject);
    try {
      if (old.seq !== 0) st.stores.rmsg.removeMsg(old.seq);
      this.wrote(st.stores.rmsg);
    } catch {
      // closing
    }
  }

  /**
   * The NATS reply subject of an MQTT 5 request: its response topic as a subject; with correlation
   * data, a subject of the account's replier, which re-publishes the answer to the response topic
   * with the correlation data (a NATS responder knows nothing of it).
   */
  private replySubject(st: AccountState, responseTopic: string, corr: Buffer | undefined): string | undefined {
    let subject: string;
    try {
      subject = topicToSubject(responseTopic, false);
    } catch {
      return undefined;
    }
    if (corr === undefined) return subject;
    st.replier ??= new Replier(this, st);
    return st.replier.track(responseTopic, subject, corr);
  }

  /** Publishes a will (abnormal disconnect), at once or after its delay. */
  sendWill(s: Session, will: Will, delayMs: number): void {
    const fire = (): void => {
      if (this.closed) return;
      let subject: string;
      try {
        subject = topicToSubject(will.topic, false);
      } catch {
        return;
      }
      if (s.permissions !== undefined && !s.permissions.canPublish(subject)) {
        this.logger.error(`${s} - Publish Violation (will) - User ${JSON.stringify(s.user ?? "")}, Subject ${JSON.stringify(subject)}`);
        return;
      }
      const props = will.props ? { ...will.props } : undefined;
      if (props) delete props.willDelay;
      this.publish(s, s.state, will.topic, Buffer.from(will.topic, "latin1"), subject, will.qos, will.retain, will.payload, props);
    };
    if (delayMs <= 0) {
      fire();
      return;
    }
    const t = setTimeout(() => {
      this.willTimers.delete(t);
      if (s.pendingWill === t) s.pendingWill = undefined;
      fire();
    }, delayMs);
    t.unref();
    this.willTimers.add(t);
    s.pendingWill = t;
  }

  cancelWill(s: Session): void {
    if (s.pendingWill !== undefined) {
      clearTimeout(s.pendingWill);
      this.willTimers.delete(s.pendingWill);
      s.pendingWill = undefined;
    }
  }

  // ---- redelivery (3.1.1: after ack_wait; 5.0 resends only on reconnect, as its spec requires)

  tracking(s: Session): void {
    this.tracked.add(s);
  }

  untrack(s: Session): void {
    this.tracked.delete(s);
  }

  private redeliver(): void {
    const wait = this.options.ack_wait_ms;
    const now = Date.now();
    if (now - this.lastSweep >= RETAINED_SWEEP_MS) {
      this.lastSweep = now;
      for (const st of this.states.values()) for (const r of st.retained.expired(now)) this.removeRetained(st, r.subject);
    }
    for (const s of this.tracked) {
      if (s.inflight.size === 0 || s.closed) {
        this.tracked.delete(s);
        continue;
      }
      if (s.conn === null || s.version === 5) continue;
      const oldest = s.oldestInflight();
      if (oldest !== 0 && now - oldest >= wait) s.resend(wait);
    }
  }

  // ---- restart

  private restoreAll(): void {
    const dir = this.storeSettings.dir;
    if (dir === undefined) return;
    const base = join(dir, "$MQTT");
    if (!existsSync(base)) return;
    for (const d of readdirSync(base)) {
      const account = this.server.accounts.get(storeNameFromDir(d));
      if (account === undefined) continue;
      try {
        this.restore(this.state(account));
      } catch (e) {
        this.logger.error(`MQTT: could not restore the state of account ${account.name}: ${(e as Error).message}`);
      }
    }
  }

  private restore(st: AccountState): void {
    const now = Date.now();
    const byToken = new Map<string, Session>();
    let sessions = 0;
    const inbound: { token: string; seq: number; data: Buffer }[] = [];
    for (const m of allMsgs(st.stores.sess)) {
      if (m.subject.startsWith("i.")) {
        inbound.push({ token: m.subject.slice(2), seq: m.seq, data: m.data });
        continue;
      }
      const rec = decodeSession(m.data);
      if (rec === undefined) continue;
      const s = this.newSession(st, rec.id);
      s.stored = true;
      s.persistent = true;
      s.version = rec.v;
      s.expiry = rec.x;
      s.user = rec.u;
      s.disconnectedAt = rec.d || now;
      s.permissions = this.permissionsOf(rec.u);
      if (s.expiry >= 0 && s.disconnectedAt + s.expiry * 1000 <= now) {
        this.dropSession(s);
        continue;
      }
      for (const sub of rec.subs) {
        this.subscribe(s, sub.f, sub.q, { noLocal: (sub.o & 1) !== 0, rap: (sub.o & 2) !== 0, rh: sub.o >> 2, subId: sub.i }, s.version === 5);
      }
      if (s.expiry >= 0) this.armExpiry(s, s.disconnectedAt + s.expiry * 1000 - now);
      byToken.set(s.token, s);
      sessions++;
    }
    for (const i of inbound) {
      const s = byToken.get(i.token);
      if (s === undefined) st.stores.sess.removeMsg(i.seq);
      else s.restoreInbound(decodePids(i.data), i.seq);
    }
    // messages owed, and the packet identifiers of those that had gone out (markers come later)
    const owed: { s: Session; seq: number; ts: bigint; data: Buffer }[] = [];
    const sent = new Map<number, { pid: number; marker: number }>();
    for (const m of allMsgs(st.stores.q)) {
      const s = byToken.get(m.subject.slice(2));
      if (s === undefined) {
        st.stores.q.removeMsg(m.seq);
        continue;
      }
      if (m.subject.startsWith("p.")) {
        const d = decodeSent(m.data);
        if (d !== undefined) sent.set(d.seq, { pid: d.pid, marker: m.seq });
        else st.stores.q.removeMsg(m.seq);
      } else owed.push({ s, seq: m.seq, ts: m.ts, data: m.data });
    }
    let queued = 0;
    for (const m of owed) {
      const d = decodeMessage(m.data);
      const exp = d.props?.messageExpiry;
      const mark = sent.get(m.seq);
      sent.delete(m.seq);
      let props = d.props;
      const subId = props?.subscriptionIds?.[0];
      if (subId !== undefined) {
        props = { ...props };
        delete props.subscriptionIds;
        if (Object.keys(props).length === 0) props = undefined;
      }
      m.s.restoreOutgoing({
        topic: d.topic, topicBytes: null, payload: d.payload, qos: d.qos, retain: d.retain, props,
        expiresAt: exp !== undefined ? Number(m.ts / 1_000_000n) + exp * 1000 : 0, subId,
        pid: mark?.pid ?? d.pid, released: d.released, sentAt: 0, seq: m.seq, marker: mark?.marker ?? 0,
      });
      queued++;
    }
    // markers of messages no longer there
    for (const { marker } of sent.values()) st.stores.q.removeMsg(marker);
    let retained = 0;
    for (const m of allMsgs(st.stores.rmsg)) {
      const d = decodeMessage(m.data);
      const subject = m.subject.slice(2);
      const exp = d.props?.messageExpiry;
      st.retained.set(subject, {
        topic: d.topic, subject, qos: d.qos, payload: d.payload, props: d.props,
        expiresAt: exp !== undefined ? Number(m.ts / 1_000_000n) + exp * 1000 : 0, seq: m.seq,
      });
      retained++;
    }
    if (sessions + queued + retained > 0) {
      this.logger.info(`MQTT: restored ${sessions} sessions, ${queued} pending messages and ${retained} retained messages of account ${st.account.name}`);
    }
  }

  private permissionsOf(user: string | undefined): PermissionSet | undefined {
    if (user === undefined) return undefined;
    const u = this.server.options.users.find((x) => x.user === user || x.nkey === user);
    return u ? this.authenticator.permissionsOf(u) ?? this.server.authenticator.permissionsOf(u) : undefined;
  }

  // ---- shutdown

  /** Lame duck mode: no new MQTT connections; the ones here stay until the server closes them. */
  stopAccepting(): void {
    const srv = this.netServer;
    if (srv?.listening) srv.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ackTimer);
    for (const t of this.willTimers) clearTimeout(t);
    const srv = this.netServer;
    const done = srv?.listening ? new Promise<void>((r) => srv.close(() => r())) : Promise.resolve();
    for (const c of [...this.conns]) c.shutdown();
    for (const st of this.states.values()) {
      for (const s of st.sessions.values()) {
        if (s.persistent && s.conn === null) continue;
        if (s.persistent) {
          s.disconnectedAt = Date.now();
          s.save();
        }
      }
      for (const s of st.sessions.values()) s.shutdown();
      st.replier?.close();
      st.stores.stop();
    }
    await done;
  }
}

/** Links a new filter's subscriptions with the session's plain ones they overlap (see MqttSub.peers). */
function linkPeers(s: Session, list: MqttSub[]): void {
  for (const other of s.subs.values()) {
    if (other[0]!.queue !== undefined) continue;
    for (const o of other) {
      for (const sub of list) {
        if (!subjectsIntersect(sub.subject, o.subject)) continue;
        (sub.peers ??= []).push(o);
        (o.peers ??= []).push(sub);
      }
    }
  }
}

/** Answers to MQTT 5 requests with correlation data: re-published to the response topic with it. */
class Replier implements Client {
  readonly cid: number;
  readonly kind = "internal" as const;
  readonly echo = true;
  private readonly prefix: string;
  private readonly sub: Subscription;
  private readonly pending = new Map<string, { topic: string; subject: string; corr: Buffer; expires: number }>();
  private seq = 0;

  constructor(private readonly broker: MqttBroker, private readonly st: AccountState) {
    this.cid = broker.server.newCid();
    this.prefix = `$MQTT.rr.${Math.random().toString(36).slice(2, 10)}.`;
    this.sub = { client: this, subject: this.prefix + "*", sid: "rr", max: 0, delivered: 0, closed: false };
    st.account.sublist.insert(this.sub);
  }

  track(topic: string, subject: string, corr: Buffer): string {
    const id = (++this.seq).toString(36);
    if (this.pending.size >= 100_000) this.sweep(true);
    this.pending.set(id, { topic, subject, corr: Buffer.from(corr), expires: Date.now() + 120_000 });
    return this.prefix + id;
  }

  private sweep(force: boolean): void {
    const now = Date.now();
    for (const [k, v] of this.pending) {
      if (v.expires < now || force) this.pending.delete(k);
      if (force && this.pending.size < 90_000) break;
    }
  }

  deliver(_s: Subscription, subject: string, _reply: string | undefined, msg: Buffer, hdrLen: number): void {
    const id = subject.slice(this.prefix.length);
    const p = this.pending.get(id);
    if (p === undefined) return;
    if (p.expires < Date.now()) {
      this.pending.delete(id);
      return;
    }
    const ctx = routing.ctx;
    // an MQTT responder's own properties are kept; the correlation data is the request's
    let props: Properties = { correlationData: p.corr };
    let payload = msg;
    let qos = 0;
    if (ctx !== null && ctx.msg === msg) {
      props = { ...ctx.props, correlationData: ctx.props?.correlationData ?? p.corr };
      delete props.responseTopic;
      qos = ctx.qos;
      payload = hdrLen > 0 ? msg.subarray(hdrLen) : msg;
      this.broker.publish(ctx.session, this.st, p.topic, Buffer.from(p.topic, "latin1"), p.subject, qos, false, payload, props);
      return;
    }
    // from NATS: its headers travel as they are
    const prev = routing.ctx;
    routing.ctx = {
      msg, session: null, qos: 2, retain: false, topic: p.topic, topicBytes: Buffer.from(p.topic, "latin1"), subject: p.subject,
      props: hdrLen > 0 ? { ...headersProps(msg, hdrLen), correlationData: p.corr } : props,
    };
    try {
      this.st.account.route(null, p.subject, undefined, msg, hdrLen);
    } finally {
      routing.ctx = prev;
    }
  }

  close(): void {
    this.sub.closed = true;
    this.st.account.sublist.remove(this.sub);
    this.pending.clear();
  }
}
