// /connz: open and recently closed client connections, sorted and paged as nats-server does.
import type { NatsConnection } from "../nats/connection.js";
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

interface Row {
  c: NatsConnection;
  start: number;
  last: number;
  stop: number;
}

export function connz(ctx: MonitorContext, opts: ConnzOptions): Record<string, unknown> {
  const s = ctx.server;
  const now = Date.now();
  const wantOpen = opts.state !== "closed";
  const wantClosed = opts.state !== "open";
  const matches = (c: NatsConnection): boolean =>
    (opts.acc === "" || c.account.name === opts.acc) && (opts.user === "" || c.user === opts.user);

  let conns: NatsConnection[] = [];
  if (opts.cid > 0) {
    const open = wantOpen ? s.clients.get(opts.cid) : undefined;
    if (open) conns.push(open);
    else if (wantClosed) {
      const closed = s.closedClients.find((c) => c.cid === opts.cid);
      if (closed) conns.push(closed);
    }
    conns = conns.filter(matches);
  } else {
    if (wantOpen) for (const c of s.clients.values()) if (matches(c)) conns.push(c);
    if (wantClosed) for (const c of s.closedClients) if (matches(c)) conns.push(c);
  }
  const total = conns.length;

  const rows: Row[] = conns.map((c) => ({
    c,
    start: c.start.getTime(),
    last: c.lastActivity,
    stop: c.stop?.getTime() ?? 0,
  }));
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
  const desc = (f: (r: Row) => number) => (a: Row, b: Row) => f(b) - f(a) || a.c.cid - b.c.cid;
  const asc = (f: (r: Row) => number) => (a: Row, b: Row) => f(a) - f(b) || a.c.cid - b.c.cid;
  let cmp: (a: Row, b: Row) => number;
  switch (sort) {
    case "cid":
    case "start":
      cmp = asc((r) => r.c.cid);
      break;
    case "subs":
      cmp = desc((r) => r.c.subs.size);
      break;
    case "pending":
      cmp = desc((r) => pending(r.c));
      break;
    case "msgs_to":
      cmp = desc((r) => r.c.outMsgs);
      break;
    case "msgs_from":
      cmp = desc((r) => r.c.inMsgs);
      break;
    case "bytes_to":
      cmp = desc((r) => r.c.outBytes);
      break;
    case "bytes_from":
      cmp = desc((r) => r.c.inBytes);
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
      cmp = (a, b) => cmpStr(a.c.closedReason ?? "", b.c.closedReason ?? "") || a.c.cid - b.c.cid;
      break;
    case "rtt":
      cmp = desc((r) => r.c.rttMs);
      break;
  }
  rows.sort(cmp);
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function pending(c: NatsConnection): number {
  if (c.closed) return 0;
  try {
    return c.pendingBytes;
  } catch {
    return 0;
  }
}

/** One connection as connz lists it, fields in nats-server's order; empty optional ones are left out. */
function connInfo(r: Row, now: number, opts: ConnzOptions): Record<string, unknown> {
  const c = r.c;
  // a closed connection is shown as it was when it closed
  const at = c.closed && r.stop > 0 ? r.stop : now;
  const t = c.transport;
  const ci: Record<string, unknown> = {
    cid: c.cid,
    kind: "Client",
    type: t.type === "websocket" ? "websocket" : "nats",
    ip: "",
    port: 0,
  };
  if (t.remotePort) {
    ci.ip = t.remoteAddress;
    ci.port = t.remotePort;
  }
  ci.start = rfc3339(r.start);
  ci.last_activity = rfc3339(r.last);
  if (c.closed) {
    if (r.stop > 0) ci.stop = rfc3339(r.stop);
    if (c.closedReason) ci.reason = c.closedReason;
  }
  ci.rtt = goDurationMs(c.rttMs);
  ci.uptime = uptime(at - r.start);
  ci.idle = uptime(at - r.last);
  ci.pending_bytes = pending(c);
  ci.in_msgs = c.inMsgs;
  ci.out_msgs = c.outMsgs;
  ci.in_bytes = c.inBytes;
  ci.out_bytes = c.outBytes;
  ci.subscriptions = c.subs.size;
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
    if (c.account.name !== "$G") ci.account = c.account.name;
  }
  if (c.subs.size > 0) {
    if (opts.subsDetail) {
      ci.subscriptions_list_detail = [...c.subs.values()].map((sub) => {
        const d: Record<string, unknown> = { subject: sub.subject };
        if (sub.queue !== undefined) d.qgroup = sub.queue;
        d.sid = sub.sid;
        d.msgs = sub.delivered;
        if (sub.max > 0) d.max = sub.max;
        d.cid = c.cid;
        return d;
      });
    } else if (opts.subs) {
      ci.subscriptions_list = [...c.subs.values()].map((sub) => sub.subject);
    }
  }
  return ci;
}
