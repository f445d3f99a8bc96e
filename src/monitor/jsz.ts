// /jsz: JetStream's configuration, usage and API counters, with per-account and per-stream
// details on request (accounts, streams, consumers, config, acc, offset, limit), in nats-server's shape.
// Junction stores streams configured with compression "s2" uncompressed: config.compress_ok is
// false and each such stream's detail says so.
import { consumersOf, type JetStream } from "../jetstream/index.js";
import type { MonitorContext } from "./context.js";
import { BadRequest, rfc3339, type Query } from "./format.js";

export interface JszOptions {
  account: string;
  accounts: boolean;
  streams: boolean;
  consumers: boolean;
  config: boolean;
  offset: number;
  limit: number;
}

export function jszOptions(q: Query): JszOptions {
  const o: JszOptions = {
    accounts: q.bool("accounts"),
    streams: q.bool("streams"),
    consumers: q.bool("consumers"),
    config: q.bool("config"),
    offset: q.int("offset"),
    limit: q.int("limit"),
    account: q.get("acc"),
  };
  q.bool("direct-consumers");
  q.bool("leader-only");
  q.bool("raft");
  q.bool("stream-leader-only");
  if (o.offset < 0) o.offset = 0;
  if (o.limit === 0) o.limit = 1024;
  if (o.consumers) o.streams = true;
  if (o.streams && o.account === "") o.accounts = true;
  return o;
}

export function jsz(ctx: MonitorContext, o: JszOptions): Record<string, unknown> {
  const s = ctx.server;
  const js = s.jetstream;
  const out: Record<string, unknown> = { server_id: s.serverId, now: rfc3339(Date.now()) };
  if (js === undefined) {
    out.disabled = true;
    Object.assign(out, { config: {}, memory: 0, storage: 0, reserved_memory: 0, reserved_storage: 0, accounts: 0, ha_assets: 0,
      api: { level: 0, total: 0, errors: 0 }, streams: 0, consumers: 0, messages: 0, bytes: 0, total: 0 });
    return out;
  }
  Object.assign(out, js.statsJson());
  out.config = js.configJson();
  out.limits = {};
  const totals = js.totals();
  out.streams = js.numStreams();
  out.consumers = js.numConsumers();
  out.messages = totals.messages;
  out.bytes = totals.bytes;
  let accounts = [...js.accounts.values()];
  out.total = accounts.length;
  const target = accounts.find((a) => a.name === o.account);
  if (target !== undefined) {
    accounts = [target];
  } else if (o.accounts) {
    accounts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const off = Math.min(o.offset, accounts.length);
    accounts = accounts.slice(off, off + (o.limit > 0 ? o.limit : accounts.length));
  } else {
    accounts = [];
  }
  if (accounts.length > 0) out.account_details = accounts.map((a) => accountDetail(js, a.name, o));
  return out;
}

export function accountDetail(js: JetStream, name: string, o: Pick<JszOptions, "streams" | "config"> & { consumers?: boolean }): Record<string, unknown> {
  const a = js.accounts.get(name);
  if (a === undefined) throw new BadRequest(`account ${JSON.stringify(name)} not jetstream enabled`);
  const u = a.usage();
  const d: Record<string, unknown> = {
    name,
    id: name,
    memory: u.memory,
    storage: u.store,
    reserved_memory: a.reserved("memory"),
    reserved_storage: a.reserved("file"),
    accounts: 0,
    ha_assets: 0,
    api: { level: 0, total: a.apiTotal, errors: a.apiErrors },
  };
  if (o.streams && a.streams.size > 0) {
    d.stream_detail = [...a.streams.values()].map((st) => {
      const { info } = st.info();
      const sd: Record<string, unknown> = { name: st.name, created: info.created };
      if (o.config) sd.config = info.config;
      sd.state = info.state;
      if (st.cfg.compression === "s2") sd.compression = "s2 requested; stored uncompressed";
      if (o.consumers && st.consumers.size > 0) sd.consumer_detail = [...consumersOf(st).consumers.values()].filter((c) => !c.isDirect).map((c) => c.info());
      return sd;
    });
  }
  return d;
}
