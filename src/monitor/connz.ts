// /connz: open and recently closed client connections (NATS and MQTT), sorted and paged as
// nats-server does.
import { viewOf, type ConnView, type MonitoredConnection } from "./conn-view.js";
import type { MonitorContext } from "./context.js";
import { BadRequest, goDurationMs, page, rfc3339, uptime, type Query } from "./format.js";

export const DEFAULT_CONN_LIST_SIZE = 1024;

const SORT_OPTIONS = [
  "cid", "start", "subs", "pending", "msgs_to", "msgs_from", "bytes_to", "bytes_from",
  "last", "idle", "uptime", "stop", "reason", "rtt",
] as const;
type SortOpt = (typeof SORT_OPTIONS)[number];

type ConnState = "open" | "closed" | "all";

export interface ConnzOptions {
  sort: SortOpt;
  auth: boolean;
  subs: boolean;
  subsDetail: boolean;
  offset: number;
  limit: number;
  cid: number;
  state: ConnState;
  user: string;
  acc: string;
  /** only the MQTT connection with this client identifier */
  mqttClient: string;
}

/** Reads and checks the query; throws BadRequest with nats-server's texts. */
export function connzOptions(q: Query): ConnzOptions {
  const sortRaw = q.get("sort");
  const auth = q.bool("auth");
  const { subs, detail } = q.subs();
  const offset = q.int("offset");
  const limit = q.int("limit");
  const cid = q.uint64("cid");
  const state = decodeState(q.get("state"));
  let sort: SortOpt = "cid";
  if (sortRaw !== "") {
    if (!(SORT_OPTIONS as readonly string[]).includes(sortRaw)) throw new BadRequest(`invalid sorting option: ${sortRaw}`);
    sort = sortRaw as SortOpt;
  }
  if (sort === "stop" && state !== "closed") throw new BadRequest("sort by stop only valid on closed connections");
  if (sort === "reason" && state !== "closed") throw new BadRequest("sort by reason only valid on closed connections");
  return {
    sort, auth, subs, subsDetail: detail,
    offset: offset < 0 ? 0 : offset,
    limit: cid > 0 ? 1 : limit <= 0 ? DEFAULT_CONN_LIST_SIZE : limit,
    cid, state,
    user: q.get("user"),
    acc: q.get("acc"),
    mqttClient: q.get("mqtt_client"),
  };
}

function decodeState(s: string): ConnState {
  switch (s.toLowerCase()) {
    case "":
    case "open":
      return "open";
    case "closed":
      return "closed";
    case "any":
    case "all":
      return "all";
  }
  throw new BadRequest(`Error decoding state for ${s}`);
}

type Row = ConnView;

export function connz(ctx: MonitorContext, opts: ConnzOptions): Record<string, unknown> {
  const s = ctx.server;
  const now = Date.now();
  const wantOpen = opts.state !== "closed";
  const wantClosed = opts.state !== "open";
  const matches = (c: ConnView): boolean =>
    (opts.acc === "" || c.account === opts.acc) && (opts.user === "" || c.user === opts.user) &&
    (opts.mqttClient === "" || c.mqttClient === opts.mqttClient);

  const mqtt = s.mqtt?.conns;
  let rows: Row[] = [];
  if (opts.cid > 0) {
    let open: MonitoredConnection | undefined;
    if (wantOpen) {
      open = s.clients.get(opts.cid);
      if (open === undefined && mqtt) for (const c of mqtt) if (c.cid === opts.cid) open = c;
    }
    if (open) rows.push(viewOf(open));
    else if (wantClosed) {
      const closed = s.closedClients.find((c) => c.cid === opts.cid);
      if (closed) rows.push(viewOf(closed));
    }
    rows = rows.filter(matches);
  } else {
    const add = (c: MonitoredConnection): void => {
      const v = viewOf(c);
      if (matches(v)) rows.push(v);
    };
    if (wantOpen) {
      for (const c of s.clients.values()) add(c);
      if (mqtt) for (const c of mqtt) add(c);
    }
    if (wantClosed) for (const c of s.closedClients) add(c);
  }
  const total = rows.length;
  sortRows(rows, opts.sort, now);
  const shown = page(rows, opts.offset, opts.limit).map((r) => connInfo(r, now, opts));
  return {
    server_id: s.serverId,
    now: rfc3339(now),
    num_connections: shown.length,
    total,
    offset: opts.offset,
    limit: opts.limit,
    connections: shown,
  };
}


function sortRows(rows: Row[], sort: SortOpt, now: number): void {
  // nats-server sorts every key but cid, start, uptime and reason in descending order
  const desc = (f: (r: Row) => number) => (a: Row, b: Row) => f(b) - f(a) || a.cid - b.cid;
  const asc = (f: (r: Row) => number) => (a: Row, b: Row) => f(a) - f(b) || a.cid - b.cid;
  let cmp: (a: Row, b: Row) => number;
  switch (sort) {
    case "cid":
    case "start":
      cmp = asc((r) => r.cid);
      break;
    case "subs":
      cmp = desc((r) => r.numSubs);
      break;
    case "pending":
      cmp = desc((r) => r.pending());
      break;
    case "msgs_to":
      cmp = desc((r) => r.outMsgs);
      break;
    case "msgs_from":
      cmp = desc((r) => r.inMsgs);
      break;
    case "bytes_to":
      cmp = desc((r) => r.outBytes);
      break;
    case "bytes_from":
      cmp = desc((r) => r.inBytes);
      break;
    case "last":
      cmp = desc((r) => r.last);
      break;
    case "idle":
      cmp = desc((r) => (r.stop || now) - r.last);
      break;
    case "uptime":
      cmp = asc((r) => (r.stop || now) - r.start);
      break;
    case "stop":
      cmp = desc((r) => r.stop);
      break;
    case "reason":
      cmp = (a, b) => cmpStr(a.reason ?? "", b.reason ?? "") || a.cid - b.cid;
      break;
    case "rtt":
      cmp = desc((r) => r.rttMs);
      break;
  }
  rows.sort(cmp);
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One connection as connz lists it, fields in nats-server's order; empty optional ones are left out. */
function connInfo(c: Row, now: number, opts: ConnzOptions): Record<string, unknown> {
  // a closed connection is shown as it was when it closed
  const at = c.closed && c.stop > 0 ? c.stop : now;
  const t = c.transport;
  const ci: Record<string, unknown> = {
    cid: c.cid,
    kind: "Client",
    type: c.type,
    ip: "",
    port: 0,
  };
  if (t.remotePort) {
    ci.ip = t.remoteAddress;
    ci.port = t.remotePort;
  }
  ci.start = rfc3339(c.start);
  ci.last_activity = rfc3339(c.last);
  if (c.closed) {
    if (c.stop > 0) ci.stop = rfc3339(c.stop);
    if (c.reason) ci.reason = c.reason;
  }
  ci.rtt = goDurationMs(c.rttMs);
  ci.uptime = uptime(at - c.start);
  ci.idle = uptime(at - c.last);
  ci.pending_bytes = c.pending();
  ci.in_msgs = c.inMsgs;
  ci.out_msgs = c.outMsgs;
  ci.in_bytes = c.inBytes;
  ci.out_bytes = c.outBytes;
  ci.subscriptions = c.numSubs;
  if (c.name) ci.name = c.name;
  if (c.lang) ci.lang = c.lang;
  if (c.version) ci.version = c.version;
  const tls = t.tlsState;
  if (tls) {
    ci.tls_version = tls.version;
    ci.tls_cipher_suite = tls.cipherSuite;
    if (opts.auth && tls.peerCerts) {
      ci.tls_peer_certs = tls.peerCerts.map((p) => ({ subject: p.subject, spki_sha256: p.spkiSha256, cert_sha256: p.certSha256 }));
    }
    if (tls.handshakeFirst) ci.tls_first = true;
  }
  if (opts.auth) {
    if (c.user) ci.authorized_user = c.user;
    if (c.account !== undefined && c.account !== "$G") ci.account = c.account;
  }
  if (c.numSubs > 0) {
    if (opts.subsDetail) {
      ci.subscriptions_list_detail = c.subs().map((sub) => {
        const d: Record<string, unknown> = { subject: sub.subject };
        if (sub.queue !== undefined) d.qgroup = sub.queue;
        d.sid = sub.sid;
        d.msgs = sub.msgs;
        if (sub.max > 0) d.max = sub.max;
        d.cid = c.cid;
        return d;
      });
    } else if (opts.subs) {
      ci.subscriptions_list = c.subs().map((sub) => sub.subject);
    }
  }
  if (c.mqttClient !== undefined) ci.mqtt_client = c.mqttClient;
  return ci;
}
