// One MQTT network connection: frames and decodes what the client sends, runs CONNECT (auth,
// session takeover/resume), PUBLISH and the QoS flows, SUBSCRIBE/UNSUBSCRIBE, keep alive and
// DISCONNECT, and writes packets through a coalesced outbound queue flushed once per turn.
import { isUtf8 } from "node:buffer";
import { Flow, producing } from "../core/backpressure.js";
import { Outbound, type Flushable } from "../core/outbound.js";
import type { AuthOutcome } from "../auth/authenticator.js";
import type { StreamStore } from "../jetstream/store/index.js";
import { TcpTransport } from "../transport/tcp.js";
import { TlsHandshakeError, type Transport } from "../transport/transport.js";
import type { AccountState, MqttBroker } from "./broker.js";
import {
  checkUtf8, decodeAck, decodeAuth, decodeConnect, decodeDisconnect, decodePublish, decodeSubscribe,
  decodeUnsubscribe, encodeAck, encodeConnack, encodeDisconnect, encodeProps, encodeSuback, encodeUnsuback,
  Framer, MqttProtocolError, PINGRESP_FRAME, publishSize, writePublishHeader, type FrameHandler,
} from "./codec.js";
import {
  AUTH, CONNECT, DISCONNECT, PACKET_NAMES, PINGREQ, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBSCRIBE,
  UNSUBSCRIBE, type ConnectPacket, type Properties, type Will,
} from "./packets.js";
import { closedReasonOf } from "./closed-reason.js";
import type { Session } from "./session.js";
import { checkFilter, checkTopicName, TopicError, topicToSubject } from "./topic.js";

/** Topic aliases a client may use towards us (5.0 Topic Alias Maximum in CONNACK). */
const TOPIC_ALIAS_MAX = 100;
/** QoS 2 publishes a client may have unreleased (5.0 Receive Maximum in CONNACK). */
const RECEIVE_MAX = 65535;

const EMPTY = Buffer.alloc(0);
let scratch = Buffer.allocUnsafe(4096);

export class MqttConnection implements FrameHandler, Flushable {
  dirty = false;
  private readonly out = new Outbound();
  private readonly framer: Framer;
  /** protocol level: 0 before CONNECT, 3, 4 or 5 */
  version = 0;
  connected = false;
  closed = false;
  session: Session | null = null;
  state: AccountState | null = null;
  clientId = "";
  private will: Will | undefined;
  private keepAliveMs = 0;
  private lastIn = Date.now();
  private kaTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private willOnClose = true;
  // 5.0
  private aliasesIn: Map<number, Buffer> | null = null;
  private aliasesOut: Map<string, number> | null = null;
  private clientAliasMax = 0;
  private clientMaxPacket = 0;
  // the last topic published on, and what it maps to
  private lastTopicBytes: Buffer | null = null;
  private lastTopic = "";
  private lastSubject = "";
  private lastAllowed = true;
  /** acknowledgements waiting for stored state to reach the OS, in order */
  private acks: { buf: Buffer; ready: boolean }[] | null = null;
  /** those of them read in this turn, and the stores they wait for (see ack) */
  private storeBatch: { acks: { buf: Buffer; ready: boolean }[]; stores: Set<StreamStore> } | null = null;
  /** backpressure: stalls the producers feeding us while we are congested, and us as a producer */
  private flow: Flow;
  /** made the first time bytes wait in the transport */
  private onWriteDeadline: (() => void) | undefined;
  // for monitoring (connz)
  readonly start = new Date();
  /** when messages or subscriptions last came in or messages went out (ms since the epoch) */
  lastActivity = this.start.getTime();
  /** outMsgs at the last flush: a flush that carries messages counts as activity */
  private flushedMsgs = 0;
  stop: Date | undefined;
  /** why the connection ended, in nats-server's words (connz `reason`) */
  closedReason: string | undefined;
  inMsgs = 0;
  outMsgs = 0;
  inBytes = 0;
  outBytes = 0;

  /** the connection's transport; once closed, only what monitoring shows of it (see finish) */
  transport: Transport;

  constructor(readonly cid: number, transport: Transport, private readonly broker: MqttBroker) {
    this.transport = transport;
    this.framer = new Framer(this);
    // nats-server: a packet may not be larger than max_payload
    this.framer.maxPacket = broker.server.options.max_payload;
    this.flow = new Flow(this, transport, broker.server.stats);
  }

  toString(): string {
    const id = this.clientId ? ` - "${this.clientId}"` : "";
    return `${this.transport.remoteAddress}:${this.transport.remotePort} - mid:${this.cid}${id}`;
  }

  private get v5(): boolean {
    return this.version === 5;
  }

  begin(): void {
    const t = this.transport;
    t.onData((chunk) => this.received(chunk));
    t.onClose((err) => this.finish(err ? (err instanceof TlsHandshakeError ? "TLS handshake failure" : `read error: ${err.message}`) : "client closed", true));
    t.onDrain(() => this.flow.drained());
    this.connectTimer = setTimeout(() => {
      if (!this.connected && !this.closed) {
        this.broker.logger.debug(`${this} - no CONNECT in time`);
        this.finish("authentication timeout", true);
      }
    }, this.broker.authTimeoutMs);
    // log lines name the connection: built only when they are written
    if (this.broker.logger.debugEnabled) this.broker.logger.debug(`${this} - Client connection created`);
  }

  private received(chunk: Buffer): void {
    if (this.closed) return;
    this.lastIn = Date.now();
    const prev = producing(this.flow);
    try {
      this.framer.push(chunk);
    } finally {
      producing(prev);
    }
  }

  // ---- FrameHandler

  frameError(err: MqttProtocolError): void {
    this.protocolError(err.message, err.reason);
  }

  packet(first: number, body: Buffer): void {
    const type = first >> 4;
    const flags = first & 15;
    try {
      if (!this.connected) {
        if (type !== CONNECT || this.version !== 0) {
          this.protocolError(this.version !== 0 ? "packet before CONNACK" : `expected CONNECT, got ${PACKET_NAMES[type]}`, 0x82);
          return;
        }
        if (flags !== 0) throw new MqttProtocolError("CONNECT with reserved flags set");
        this.onConnect(body);
        return;
      }
      if (type === PUBLISH) {
        this.onPublish(flags, body);
        return;
      }
      const want = type === PUBREL || type === SUBSCRIBE || type === UNSUBSCRIBE ? 2 : 0;
      if (flags !== want) throw new MqttProtocolError(`${PACKET_NAMES[type]} with reserved flags set`);
      const s = this.session!;
      switch (type) {
        case PUBACK:
          s.onPuback(decodeAck(body, this.v5).pid);
          return;
        case PUBREC: {
          const a = decodeAck(body, this.v5);
          if (s.onPubrec(a.pid, a.reason)) this.sendAck(PUBREL, a.pid);
          else if (a.reason < 0x80 && !s.inflight.has(a.pid)) this.sendAck(PUBREL, a.pid, 0x92);
          return;
        }
        case PUBREL: {
          const a = decodeAck(body, this.v5);
          this.broker.dirtyStores.clear();
          const known = s.releaseInboundQos2(a.pid);
          this.ack(PUBCOMP, a.pid, known ? 0 : 0x92, true);
          return;
        }
        case PUBCOMP:
          s.onPubcomp(decodeAck(body, this.v5).pid);
          return;
        case SUBSCRIBE:
          this.onSubscribe(body);
          return;
        case UNSUBSCRIBE:
          this.onUnsubscribe(body);
          return;
        case PINGREQ:
          if (body.length !== 0) throw new MqttProtocolError("PINGREQ with a payload");
          this.write(PINGRESP_FRAME);
          return;
        case DISCONNECT:
          this.onDisconnect(body);
          return;
        case AUTH:
          if (!this.v5) throw new MqttProtocolError("AUTH is a 5.0 packet");
          decodeAuth(body);
          // a CONNECT with an authentication method is refused (CONNACK 0x8C), so every AUTH comes
          // from a client that gave none: a Protocol Error [MQTT-4.12.0-7]
          this.protocolError("AUTH without an authentication method in CONNECT", 0x82);
          return;
        default:
          throw new MqttProtocolError(`unexpected ${PACKET_NAMES[type]} packet`, 0x82);
      }
    } catch (e) {
      if (e instanceof MqttProtocolError) this.protocolError(e.message, e.reason);
      else if (e instanceof TopicError) this.protocolError(e.message, 0x90);
      else {
        this.broker.logger.error(`${this} - internal error: ${(e as Error).stack ?? e}`);
        this.protocolError("internal error", 0x83);
      }
    }
  }

  // ---- CONNECT

  private onConnect(body: Buffer): void {
    let c: ConnectPacket;
    try {
      c = decodeConnect(body);
    } catch (e) {
      // a 5.0 client hears why (when its header got that far); a CONNECT of another protocol
      // name is not answered in this protocol's terms at all [MQTT-3.1.2-1]
      if (body.length > 6 && body[6] === 5 && body.latin1Slice(0, 6) === "\x00\x04MQTT") this.version = 5;
      throw e;
    }
    const log = this.broker.logger;
    const supported = (c.protocolName === "MQTT" && (c.version === 4 || c.version === 5)) || (c.protocolName === "MQIsdp" && c.version === 3);
    if (!supported) {
      log.error(`${this} - unacceptable protocol version of ${c.version}`);
      // the 3.1.1 form: every client version understands it
      this.writeNow(Buffer.from([0x20, 2, 0, c.version === 5 ? 0x84 : 0x01]));
      this.finish("unacceptable protocol version", false);
      return;
    }
    this.version = c.version;
    const v5 = this.v5;
    const o = this.broker.options;
    if (log.traceEnabled) log.trace(`${this} - <<- [CONNECT ${connectTrace(c)}]`);
    const refuse = (v3code: number, v5code: number, why: string): void => {
      log.error(`${this} - ${why}`);
      this.writeNow(encodeConnack(false, v5 ? v5code : v3code, v5, v5 ? { reasonString: why } : undefined));
      this.finish(why, false);
    };
    const p = c.props;
    if (p?.authMethod !== undefined) return refuse(0x05, 0x8c, `authentication method ${JSON.stringify(p.authMethod)} not supported`);
    if (p?.receiveMaximum === 0) throw new MqttProtocolError("receive maximum of 0", 0x82);
    if (p?.maximumPacketSize === 0) throw new MqttProtocolError("maximum packet size of 0", 0x82);
    let assigned: string | undefined;
    if (c.clientId === "") {
      if (!v5 && !c.clean) return refuse(0x02, 0x85, "client identifier must not be empty with a persistent session");
      c.clientId = `auto-${this.broker.server.serverId.slice(0, 8)}-${Date.now().toString(36)}-${this.cid.toString(36)}`;
      if (v5) assigned = c.clientId;
    }
    if (c.version === 3 && c.clientId.length > 23 && assigned === undefined) return refuse(0x02, 0x85, "client identifier longer than 23 characters (MQTT 3.1)");
    this.clientId = c.clientId;
    const will = c.will;
    if (will !== undefined) {
      const bad = checkTopicName(will.topic);
      if (bad !== undefined) {
        // a wildcard or empty will topic breaks the protocol (3.1.1 [MQTT-4.7.1-1], [MQTT-4.7.3-1];
        // 5.0 [MQTT-4.7.0-1]): 3.1.1 has no return code for that, so no CONNACK [MQTT-3.2.2-6]
        if (!v5) {
          log.error(`${this} - will topic: ${bad}`);
          this.finish(`will topic: ${bad}`, false);
          return;
        }
        throw new MqttProtocolError(`will topic: ${bad}`, 0x82);
      }
      try {
        topicToSubject(will.topic, false);
      } catch (e) {
        return refuse(0x05, 0x90, `will topic: ${(e as Error).message}`);
      }
      if (will.qos === 2 && o.reject_qos2_publish) return refuse(0x05, 0x9b, "server does not accept QoS2 for Will messages");
      if (will.props?.payloadFormat === 1 && !isUtf8(will.payload)) return refuse(0x05, 0x99, "will payload is not valid UTF-8");
    }
    const r = this.broker.authenticate(this, c.username, c.password);
    if (r instanceof Promise) {
      this.framer.hold();
      this.transport.pause();
      r.then((res) => {
        if (this.closed) return;
        this.transport.resume();
        this.authenticated(c, res, assigned);
        this.framer.release();
      }, (e) => refuse(0x05, 0x87, `authentication failed: ${(e as Error).message}`));
      return;
    }
    this.authenticated(c, r, assigned);
  }

  private authenticated(c: ConnectPacket, r: AuthOutcome, assigned: string | undefined): void {
    const v5 = this.v5;
    const log = this.broker.logger;
    if (!r.ok) {
      // credentials that do not match are "bad user name or password"; none, or a user not
      // allowed over MQTT, is "not authorized"
      const bad = !/no credentials|connection type|certificate/.test(r.reason);
      log.error(`${this} - authentication error: ${r.reason}`);
      this.writeNow(encodeConnack(false, v5 ? (bad ? 0x86 : 0x87) : (bad ? 0x04 : 0x05), v5));
      this.finish("authentication failure", false);
      return;
    }
    const account = this.broker.accountNamed(r.account);
    if (account === undefined) {
      this.writeNow(encodeConnack(false, v5 ? 0x88 : 0x03, v5));
      this.finish(`account ${r.account} not found`, false);
      return;
    }
    // max_keepalive (mosquitto's option): a 5.0 client asking for more, or for none, is told the
    // limit (Server Keep Alive); a 3.1.1 client cannot be told, so it is refused rather than cut
    // off at a keep alive it never asked for
    const maxKa = this.broker.options.max_keepalive ?? 0;
    let keepAlive = c.keepAlive;
    let serverKeepAlive: number | undefined;
    if (maxKa > 0 && (keepAlive === 0 || keepAlive > maxKa)) {
      if (!v5) {
        log.error(`${this} - keep alive of ${keepAlive}s refused (max_keepalive ${maxKa}s)`);
        this.writeNow(encodeConnack(false, 0x02, false));
        this.finish("keep alive refused", false);
        return;
      }
      keepAlive = serverKeepAlive = maxKa;
    }
    clearTimeout(this.connectTimer);
    const broker = this.broker;
    const st = broker.state(account);
    this.state = st;
    const p = c.props;
    // session takeover: the connection that holds this client identifier goes
    let existing = st.sessions.get(c.clientId);
    if (existing?.conn) {
      log.debug(`${existing.conn} - replaced by a new connection with the same client identifier`);
      existing.conn.takenOver();
      existing = st.sessions.get(c.clientId);
    }
    if (existing !== undefined) broker.cancelWill(existing);
    if (c.clean && existing !== undefined) {
      broker.dropSession(existing);
      existing = undefined;
    }
    const s = existing ?? broker.newSession(st, c.clientId);
    clearTimeout(s.expiryTimer);
    const wasPersistent = s.persistent;
    s.version = v5 ? 5 : 4;
    s.user = r.user;
    s.permissions = r.permissions;
    const sessionExpiry = p?.sessionExpiry ?? 0;
    s.persistent = v5 ? sessionExpiry > 0 : !c.clean;
    s.expiry = v5 ? (sessionExpiry === 0xffffffff ? -1 : sessionExpiry) : s.persistent ? -1 : 0;
    const maxAck = broker.options.max_ack_pending || 1024;
    s.window = Math.min(maxAck, p?.receiveMaximum ?? 65535);
    s.conn = this;
    s.disconnectedAt = 0;
    this.session = s;
    if (s.persistent) s.save();
    else if (wasPersistent) s.forget();
    this.will = c.will;
    this.connected = true;
    if (v5) {
      this.clientAliasMax = p?.topicAliasMaximum ?? 0;
      this.clientMaxPacket = p?.maximumPacketSize ?? 0;
    }
    this.keepAliveMs = keepAlive * 1000;
    if (this.keepAliveMs > 0) this.armKeepAlive(this.keepAliveMs * 1.5);
    let props: Properties | undefined;
    if (v5) {
      props = { topicAliasMaximum: TOPIC_ALIAS_MAX, maximumPacketSize: this.framer.maxPacket };
      if (assigned !== undefined) props.assignedClientId = assigned;
      if (serverKeepAlive !== undefined) props.serverKeepAlive = serverKeepAlive;
      if (broker.options.reject_qos2_publish) props.maximumQoS = 1;
    }
    const present = existing !== undefined && !c.clean;
    this.write(encodeConnack(present, 0, v5, props));
    if (log.debugEnabled) log.debug(`${this} - connected (${v5 ? "5.0" : c.version === 3 ? "3.1" : "3.1.1"}${s.persistent ? ", persistent session" : ""}${present ? ", session present" : ""})`);
    // what the session owes: first what was in flight (DUP), then the queue
    s.resend();
    s.pump();
  }

  /** Another connection took the client identifier: this one goes (its will is published). */
  takenOver(): void {
    if (this.v5) this.writeNow(encodeDisconnect(0x8e));
    this.finish("session taken over", true);
  }

  // ---- PUBLISH

  private onPublish(flags: number, body: Buffer): void {
    const v5 = this.v5;
    const p = decodePublish(flags, body, v5);
    let topicBytes = p.topicBytes;
    const props = p.props;
    let fwdProps = props;
    if (props !== undefined) {
      if (props.subscriptionIds !== undefined) throw new MqttProtocolError("PUBLISH from a client with a subscription identifier", 0x82);
      const alias = props.topicAlias;
      if (alias !== undefined) {
        // 0x94 is for an alias over the maximum we announced; 0 is just not allowed [MQTT-3.3.2-8]
        if (alias === 0) throw new MqttProtocolError("topic alias 0", 0x82);
        if (alias > TOPIC_ALIAS_MAX) throw new MqttProtocolError(`topic alias ${alias} over the maximum of ${TOPIC_ALIAS_MAX}`, 0x94);
        if (topicBytes.length === 0) {
          const t = this.aliasesIn?.get(alias);
          if (t === undefined) throw new MqttProtocolError(`unknown topic alias ${alias}`, 0x82);
          topicBytes = t;
        } else (this.aliasesIn ??= new Map()).set(alias, Buffer.from(topicBytes));
        fwdProps = { ...props };
        delete fwdProps.topicAlias;
        if (Object.keys(fwdProps).length === 0) fwdProps = undefined;
      }
    }
    if (topicBytes.length === 0) throw new MqttProtocolError("PUBLISH without a topic", v5 ? 0x82 : 0x81);
    const last = this.lastTopicBytes;
    if (last === null || last.length !== topicBytes.length || !last.equals(topicBytes)) {
      checkUtf8(topicBytes, "topic name");
      const topic = topicBytes.latin1Slice(0, topicBytes.length);
      // wildcards break the protocol [MQTT-3.3.2-2]: 0x90 is for a well-formed topic we refuse
      // (the TopicError of a character NATS subjects cannot carry)
      const bad = checkTopicName(topic);
      if (bad !== undefined) throw new MqttProtocolError(bad, 0x82);
      const subject = topicToSubject(topic, false);
      const perms = this.session!.permissions;
      this.lastAllowed = perms === undefined || perms.canPublish(subject);
      this.lastTopicBytes = Buffer.from(topicBytes);
      this.lastTopic = topic;
      this.lastSubject = subject;
    }
    const qos = p.qos;
    if (qos === 2 && this.broker.options.reject_qos2_publish) throw new MqttProtocolError("QoS 2 PUBLISH not accepted", 0x9b);
    const s = this.session!;
    const server = this.broker.server;
    this.inMsgs++;
    this.inBytes += p.payload.length;
    this.lastActivity = this.lastIn;
    server.stats.inMsgs++;
    server.stats.inBytes += p.payload.length;
    if (!this.lastAllowed) {
      this.broker.logger.error(`${this} - Publish Violation - User ${JSON.stringify(s.user ?? "")}, Subject ${JSON.stringify(this.lastSubject)}`);
      // 3.1.1 has no way to say no: the message is dropped (and acknowledged, or the client retries forever)
      if (qos === 1) this.ack(PUBACK, p.pid, 0x87, false);
      else if (qos === 2) {
        if (!v5) s.addInboundQos2(p.pid);
        this.ack(PUBREC, p.pid, 0x87, !v5);
      }
      return;
    }
    // 5.0 Payload Format Indicator 1 promises UTF-8: a payload that is not is refused (0x99 on
    // the acknowledgement; dropped at QoS 0, which has none). Checked only when the flag is set.
    if (props?.payloadFormat === 1 && !isUtf8(p.payload)) {
      this.broker.logger.debug(`${this} - payload of a PUBLISH to ${JSON.stringify(this.lastTopic)} is not valid UTF-8 (payload format indicator 1)`);
      if (qos === 1) this.ack(PUBACK, p.pid, 0x99, false);
      else if (qos === 2) this.ack(PUBREC, p.pid, 0x99, false);
      return;
    }
    if (qos === 2) {
      if (s.inboundQos2.has(p.pid)) {
        // a resent QoS 2 message: delivered once already
        this.ack(PUBREC, p.pid, 0, false);
        return;
      }
      if (s.inboundQos2.size >= RECEIVE_MAX) throw new MqttProtocolError("receive maximum exceeded", 0x93);
    }
    if (qos > 0) this.broker.dirtyStores.clear();
    // stored (persistent sessions) before PUBREC goes out: a resend after a restart is known
    if (qos === 2) s.addInboundQos2(p.pid);
    const n = this.broker.publish(s, s.state, this.lastTopic, topicBytes, this.lastSubject, qos, p.retain, p.payload, fwdProps);
    // 5.0 may tell a QoS 1 publisher nobody subscribes (0x10), as mosquitto does
    if (qos === 1) this.ack(PUBACK, p.pid, n === 0 && v5 ? 0x10 : 0, true);
    else if (qos === 2) this.ack(PUBREC, p.pid, 0, true);
  }

  /**
   * An acknowledgement of a client's publish. When the publish was stored (a persistent session's
   * queue, a retained message, the session's unreleased QoS 2 identifiers), it waits until the
   * store wrote it; acknowledgements stay in order. Those of one input chunk wait together.
   */
  private ack(type: number, pid: number, reason: number, afterStore: boolean): void {
    const buf = this.v5 ? encodeAck(type, pid, true, reason) : encodeAck(type, pid, false);
    const dirty = this.broker.dirtyStores;
    if (afterStore && (dirty.size > 0 || this.session!.inboundDirty)) {
      let batch = this.storeBatch;
      if (batch === null) {
        batch = this.storeBatch = { acks: [], stores: new Set() };
        // after the rest of the chunk: the packets read in this turn share one wait
        queueMicrotask(() => this.storeAcks());
      }
      for (const st of dirty) batch.stores.add(st);
      dirty.clear();
      const entry = { buf, ready: false };
      (this.acks ??= []).push(entry);
      batch.acks.push(entry);
      return;
    }
    if (this.acks !== null && this.acks.length > 0) {
      this.acks.push({ buf, ready: true });
      return;
    }
    this.write(buf);
  }

  private storeAcks(): void {
    const batch = this.storeBatch!;
    this.storeBatch = null;
    const inbound = this.session?.saveInbound();
    if (inbound !== undefined) batch.stores.add(inbound);
    const done = (): void => {
      for (const e of batch.acks) e.ready = true;
      this.drainAcks();
    };
    if (batch.stores.size === 0) {
      done();
      return;
    }
    let left = batch.stores.size;
    for (const st of batch.stores) {
      st.afterWrite(() => {
        if (--left === 0) done();
      });
    }
  }

  private drainAcks(): void {
    const acks = this.acks;
    if (acks === null || this.closed) return;
    let i = 0;
    while (i < acks.length && acks[i]!.ready) this.write(acks[i++]!.buf);
    if (i > 0) acks.splice(0, i);
  }

  // ---- SUBSCRIBE / UNSUBSCRIBE

  private onSubscribe(body: Buffer): void {
    const v5 = this.v5;
    const pkt = decodeSubscribe(body, v5);
    const s = this.session!;
    this.lastActivity = this.lastIn;
    const subId = pkt.props?.subscriptionIds?.[0];
    const codes: number[] = [];
    const fresh: { filter: string; rh: number; isNew: boolean }[] = [];
    const log = this.broker.logger;
    // a filter that breaks the topic filter rules [MQTT-4.7.1-1..3, MQTT-4.7.3-1] or the shared
    // subscription syntax [MQTT-4.8.2-1/2] makes the whole packet malformed, at both levels (5.0's
    // SUBACK 0x8F is for a well-formed filter the server refuses), as mosquitto treats it
    for (const req of pkt.subs) {
      checkUtf8(Buffer.from(req.filter, "latin1"), "topic filter");
      let inner = req.filter;
      if (inner.startsWith("$share/")) {
        // a share name: not empty, no wildcards, then "/" and a filter (a share name NATS cannot
        // take as a queue group is refused later, with 0x8F)
        const rest = inner.slice(7);
        const slash = rest.indexOf("/");
        if (slash <= 0 || /[+#]/.test(rest.slice(0, slash))) throw new MqttProtocolError(`malformed shared subscription: ${JSON.stringify(req.filter)}`);
        if (req.noLocal) throw new MqttProtocolError("no local on a shared subscription", 0x82); // [MQTT-3.8.3-4]
        inner = rest.slice(slash + 1);
      }
      const bad = checkFilter(inner);
      if (bad !== undefined) throw new MqttProtocolError(bad);
    }
    for (const req of pkt.subs) {
      const r = this.broker.subscribe(s, req.filter, req.qos, { noLocal: req.noLocal, rap: req.retainAsPublished, rh: req.retainHandling, subId }, v5);
      if (r.code === 0x82) throw new MqttProtocolError("no local on a shared subscription", 0x82);
      if (log.traceEnabled) log.trace(`${this} - <<- [SUBSCRIBE ${req.filter} QoS=${req.qos}] -> ${r.code}`);
      codes.push(r.code);
      if (r.code < 0x80) fresh.push({ filter: req.filter, rh: req.retainHandling, isNew: r.isNew });
    }
    s.save();
    this.write(encodeSuback(pkt.pid, codes, v5));
    for (const f of fresh) if (f.rh === 0 || (f.rh === 1 && f.isNew)) this.broker.sendRetained(s, f.filter);
  }

  private onUnsubscribe(body: Buffer): void {
    const v5 = this.v5;
    const pkt = decodeUnsubscribe(body, v5);
    for (const f of pkt.filters) {
      checkUtf8(Buffer.from(f, "latin1"), "topic filter");
      // the topic filter rules hold here too; mosquitto closes as well
      const bad = checkFilter(f.startsWith("$share/") ? f.slice(f.indexOf("/", 7) + 1) : f);
      if (bad !== undefined) throw new MqttProtocolError(bad);
    }
    const s = this.session!;
    const codes = pkt.filters.map((f) => (this.broker.unsubscribe(s, f) ? 0 : 0x11));
    s.save();
    this.write(encodeUnsuback(pkt.pid, codes, v5));
  }

  // ---- DISCONNECT

  private onDisconnect(body: Buffer): void {
    const d = decodeDisconnect(body, this.v5);
    const s = this.session!;
    const exp = d.props?.sessionExpiry;
    if (exp !== undefined) {
      if (s.expiry === 0 && exp !== 0) {
        this.protocolError("session expiry interval changed from 0 at DISCONNECT", 0x82);
        return;
      }
      s.expiry = exp === 0xffffffff ? -1 : exp;
      s.persistent = exp !== 0;
    }
    // a normal disconnect drops the will; 5.0's reason 0x04 asks for it
    this.willOnClose = d.reason === 0x04;
    if (this.broker.logger.debugEnabled) this.broker.logger.debug(`${this} - DISCONNECT${d.reason ? ` reason 0x${d.reason.toString(16)}` : ""}`);
    this.finish("client disconnected", this.willOnClose);
  }

  // ---- output

  private write(b: Buffer): void {
    if (this.closed) return;
    this.out.bytes(b);
    this.broker.server.scheduler.mark(this);
  }

  /** Writes at once (before a close). */
  private writeNow(b: Buffer): void {
    if (this.closed) return;
    this.out.bytes(b);
    this.flushNow();
  }

  sendAck(type: number, pid: number, reason = 0): void {
    this.write(this.v5 ? encodeAck(type, pid, true, reason) : encodeAck(type, pid, false));
  }

  /** Queues a PUBLISH; false when it could not go (too large for the client, connection gone). */
  sendPublish(
    topic: string, topicBytes: Buffer | null, payload: Buffer, qos: number, retain: boolean, dup: boolean,
    pid: number, props: Properties | undefined, subId: number | undefined,
  ): boolean {
    if (this.closed) return false;
    const v5 = this.v5;
    let tb = topicBytes ?? Buffer.from(topic, "latin1");
    let propsBytes: Buffer | undefined;
    if (v5) {
      let pp = props;
      if (subId !== undefined) pp = { ...pp, subscriptionIds: [subId] };
      if (this.clientAliasMax > 0) {
        const map = (this.aliasesOut ??= new Map());
        const a = map.get(topic);
        if (a !== undefined) {
          tb = EMPTY;
          pp = { ...pp, topicAlias: a };
        } else if (map.size < this.clientAliasMax) {
          const na = map.size + 1;
          map.set(topic, na);
          pp = { ...pp, topicAlias: na };
        }
      }
      if (pp !== undefined) {
        const pb = encodeProps(pp);
        if (pb.length > 0) propsBytes = pb;
      }
    }
    const plen = propsBytes === undefined ? 0 : propsBytes.length;
    if (this.clientMaxPacket > 0 && publishSize(tb.length, qos, payload.length, v5, plen) > this.clientMaxPacket) return false;
    const need = 16 + tb.length + plen;
    if (scratch.length < need) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
    const n = writePublishHeader(scratch, qos, retain, dup, tb, pid, payload.length, v5, propsBytes);
    this.out.bytes(n >= 8192 ? Buffer.from(scratch.subarray(0, n)) : scratch.subarray(0, n));
    this.out.bytes(payload);
    this.outMsgs++;
    this.outBytes += payload.length;
    const stats = this.broker.server.stats;
    stats.outMsgs++;
    stats.outBytes += payload.length;
    if (this.flow.congested) this.flow.stallProducer();
    if (this.out.size > this.broker.server.options.max_pending) {
      this.slowConsumer();
      return false;
    }
    this.broker.server.scheduler.mark(this);
    return true;
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
    const o = this.broker.server.options;
    const onDeadline = this.connected ? (this.onWriteDeadline ??= () => this.slowConsumer()) : undefined;
    if (!this.flow.wrote(t.writableLength, o.max_pending, o.write_deadline_ms, onDeadline)) this.slowConsumer();
  }

  private slowConsumer(): void {
    if (this.closed) return;
    this.broker.server.stats.slowConsumers++;
    this.broker.logger.warn(`${this} - Slow Consumer Detected`);
    this.finish("slow consumer", true, true);
  }

  // ---- keep alive

  private armKeepAlive(ms: number): void {
    this.kaTimer = setTimeout(() => {
      if (this.closed) return;
      const limit = this.keepAliveMs * 1.5;
      const idle = Date.now() - this.lastIn;
      if (idle >= limit) {
        this.broker.logger.debug(`${this} - keep alive timeout`);
        if (this.v5) this.writeNow(encodeDisconnect(0x8d));
        this.finish("keep alive timeout", true);
      } else this.armKeepAlive(limit - idle);
    }, ms);
  }

  // ---- errors and teardown

  private protocolError(text: string, reason: number): void {
    if (this.closed) return;
    this.broker.logger.error(`${this} - MQTT protocol error: ${text}`);
    if (this.v5) {
      if (this.connected) this.writeNow(encodeDisconnect(reason, { reasonString: text.slice(0, 200) }));
      else this.writeNow(encodeConnack(false, reason, true, { reasonString: text.slice(0, 200) }));
    }
    this.finish(text, true);
  }

  /** Server shutdown: 5.0 clients are told; no wills. */
  shutdown(): void {
    if (this.closed) return;
    if (this.v5 && this.connected) this.writeNow(encodeDisconnect(0x8b));
    this.finish("server shutdown", false);
  }

  private finish(reason: string, abnormal: boolean, abort = false): void {
    if (this.closed) return;
    if (!abort) this.flushNow();
    this.closed = true;
    this.stop = new Date();
    this.closedReason = closedReasonOf(reason);
    this.framer.stop();
    clearTimeout(this.kaTimer);
    clearTimeout(this.connectTimer);
    this.kaTimer = this.connectTimer = undefined;
    this.flow.close();
    const s = this.session;
    if (s !== null && s.conn === this) {
      s.conn = null;
      const will = this.will;
      if (abnormal && will !== undefined && !this.broker.closed) {
        let delay = 0;
        if (this.v5) {
          const wd = will.props?.willDelay ?? 0;
          delay = (s.expiry < 0 ? wd : Math.min(wd, s.expiry)) * 1000;
        }
        this.broker.sendWill(s, will, delay);
      }
      if (!this.broker.closed) this.broker.detached(s);
    }
    this.will = undefined;
    this.broker.connectionClosed(this);
    this.broker.server.rememberClosed(this);
    this.out.release();
    const t = this.transport;
    // after a DISCONNECT with everything handed to the OS, the socket closes at once: the client
    // sends nothing more, so there is no half-close to wait for (a TLS or WebSocket close has
    // its own goodbye to say)
    if (abort || (reason === "client disconnected" && t instanceof TcpTransport && t.writableLength === 0)) t.destroy();
    else t.end(this.closedReason); // over WebSocket: the close frame nats-server sends for it
    // kept for /connz?state=closed (up to 10,000 of them): without the socket and its streams, a
    // few hundred bytes instead of some kilobytes
    this.transport = closedTransport(t);
    this.flow = CLOSED_FLOW;
    this.aliasesIn = this.aliasesOut = null;
    this.lastTopicBytes = null;
    this.acks = null;
    if (this.broker.logger.debugEnabled) this.broker.logger.debug(`${this} - Client connection closed: ${reason}`);
  }
}

const noop = (): void => {};

/** What a closed connection keeps of its transport: who the peer was, and no socket. */
function closedTransport(t: Transport): Transport {
  return {
    type: t.type, remoteAddress: t.remoteAddress, remotePort: t.remotePort, tlsPeer: t.tlsPeer, tlsState: t.tlsState,
    writableLength: 0, write: noop, onData: noop, onClose: noop, onDrain: noop, pause: noop, resume: noop, end: noop, destroy: noop,
  };
}

/** The flow of every closed connection (its own held the transport) */
const CLOSED_FLOW = new Flow({}, { pause: noop, resume: noop }, { stalledClients: 0 });
CLOSED_FLOW.close();

function connectTrace(c: ConnectPacket): string {
  let s = `clientID=${c.clientId} keepAlive=${c.keepAlive}s`;
  if (c.will) s += ` will=(topic=${c.will.topic} QoS=${c.will.qos} retain=${c.will.retain})`;
  if (c.clean) s += " clean";
  if (c.username !== undefined) s += ` username=${c.username}`;
  if (c.password !== undefined) s += " password=****";
  return s;
}
