// One client connection as monitoring sees it, whatever its protocol: NATS (TCP or WebSocket)
// and MQTT connections are listed side by side in /connz, as nats-server lists them.
import type { MqttConnection } from "../mqtt/connection.js";
import type { NatsConnection } from "../nats/connection.js";
import type { Transport } from "../transport/transport.js";

export type MonitoredConnection = NatsConnection | MqttConnection;

export interface SubView {
  subject: string;
  queue?: string;
  sid: string;
  msgs: number;
  max: number;
}

export interface ConnView {
  readonly cid: number;
  readonly type: "nats" | "websocket" | "mqtt";
  readonly transport: Transport;
  readonly closed: boolean;
  readonly reason: string | undefined;
  /** ms since the epoch */
  readonly start: number;
  readonly last: number;
  /** 0 while open */
  readonly stop: number;
  readonly rttMs: number;
  readonly inMsgs: number;
  readonly outMsgs: number;
  readonly inBytes: number;
  readonly outBytes: number;
  readonly numSubs: number;
  readonly name: string;
  readonly lang: string;
  readonly version: string;
  readonly user: string | undefined;
  /** undefined before an MQTT connection was accepted into an account */
  readonly account: string | undefined;
  /** the MQTT client identifier */
  readonly mqttClient: string | undefined;
  pending(): number;
  subs(): SubView[];
}

export function viewOf(c: MonitoredConnection): ConnView {
  return "clientId" in c ? mqttView(c) : natsView(c);
}

function natsView(c: NatsConnection): ConnView {
  return {
    cid: c.cid,
    type: c.transport.type === "websocket" ? "websocket" : "nats",
    transport: c.transport,
    closed: c.closed,
    reason: c.closedReason,
    start: c.start.getTime(),
    last: c.lastActivity,
    stop: c.stop?.getTime() ?? 0,
    rttMs: c.rttMs,
    inMsgs: c.inMsgs,
    outMsgs: c.outMsgs,
    inBytes: c.inBytes,
    outBytes: c.outBytes,
    numSubs: c.subs.size,
    name: c.name,
    lang: c.lang,
    version: c.version,
    user: c.user,
    account: c.account.name,
    mqttClient: undefined,
    pending: () => pendingOf(c),
    subs: () => [...c.subs.values()].map((s) => ({ subject: s.subject, queue: s.queue, sid: s.sid, msgs: s.delivered, max: s.max })),
  };
}

function mqttView(c: MqttConnection): ConnView {
  // the session's subscriptions are the connection's while it is attached; a closed
  // connection (its session gone or resumed elsewhere) shows none
  const s = c.session !== null && c.session.conn === c ? c.session : null;
  let numSubs = 0;
  if (s !== null) for (const list of s.subs.values()) numSubs += list.length;
  return {
    cid: c.cid,
    type: "mqtt",
    transport: c.transport,
    closed: c.closed,
    reason: c.closedReason,
    start: c.start.getTime(),
    last: c.lastActivity,
    stop: c.stop?.getTime() ?? 0,
    rttMs: 0,
    inMsgs: c.inMsgs,
    outMsgs: c.outMsgs,
    inBytes: c.inBytes,
    outBytes: c.outBytes,
    numSubs,
    name: "",
    lang: "",
    version: "",
    user: c.session?.user,
    account: c.state?.account.name,
    mqttClient: c.clientId === "" ? undefined : c.clientId,
    pending: () => (c.closed ? 0 : c.transport.writableLength),
    subs: () => {
      const out: SubView[] = [];
      if (s !== null) {
        for (const list of s.subs.values()) {
          for (const sub of list) out.push({ subject: sub.subject, queue: sub.queue, sid: sub.sid, msgs: sub.delivered, max: sub.max });
        }
      }
      return out;
    },
  };
}

function pendingOf(c: NatsConnection): number {
  if (c.closed) return 0;
  try {
    return c.pendingBytes;
  } catch {
    return 0;
  }
}
