// /subsz (alias /subscriptionsz): sublist statistics over the accounts, and optionally the
// subscriptions themselves, filtered by a publish subject they would receive.
import type { Account } from "../core/account.js";
import type { Subscription } from "../core/client.js";
import { isValidLiteralSubject, subjectMatches } from "../core/subject.js";
import type { SublistStats } from "../core/sublist.js";
import type { MonitorContext } from "./context.js";
import { BadRequest, page, rfc3339, type Query } from "./format.js";

export const DEFAULT_SUB_LIST_SIZE = 1024;

export interface SubszOptions {
  subs: boolean;
  offset: number;
  limit: number;
  test: string;
  acc: string;
}

export function subszOptions(q: Query): SubszOptions {
  const subs = q.bool("subs");
  const offset = q.int("offset");
  const limit = q.int("limit");
  const test = q.get("test");
  if (test !== "" && !isValidLiteralSubject(test)) {
    throw new BadRequest(`invalid test subject, must be valid publish subject: ${test}`);
  }
  return {
    subs,
    offset: offset < 0 ? 0 : offset,
    limit: limit <= 0 ? DEFAULT_SUB_LIST_SIZE : limit,
    test,
    acc: q.get("acc"),
  };
}

/** Statistics of several sublists as one, the way nats-server adds them up. */
export function addStats(list: SublistStats[]): SublistStats {
  let subs = 0, cache = 0, inserts = 0, removes = 0, matches = 0, hits = 0, maxFanout = 0, totFanout = 0, computed = 0;
  for (const st of list) {
    subs += st.num_subscriptions;
    cache += st.num_cache;
    inserts += st.num_inserts;
    removes += st.num_removes;
    matches += st.num_matches;
    const h = Math.round(st.cache_hit_rate * st.num_matches);
    hits += h;
    if (st.max_fanout > maxFanout) maxFanout = st.max_fanout;
    // the average is over the matches that were computed (not cache hits)
    const n = st.num_matches - h;
    computed += n;
    totFanout += st.avg_fanout * n;
  }
  return {
    num_subscriptions: subs,
    num_cache: cache,
    num_inserts: inserts,
    num_removes: removes,
    num_matches: matches,
    cache_hit_rate: matches > 0 ? hits / matches : 0,
    max_fanout: maxFanout,
    avg_fanout: computed > 0 ? totFanout / computed : 0,
  };
}

export function subsz(ctx: MonitorContext, opts: SubszOptions): Record<string, unknown> {
  const s = ctx.server;
  const accounts: Account[] = [];
  for (const a of s.accounts.values()) if (opts.acc === "" || a.name === opts.acc) accounts.push(a);
  const stats = addStats(accounts.map((a) => a.sublist.stats()));
  const out: Record<string, unknown> = { server_id: s.serverId, now: rfc3339(Date.now()), ...stats };
  let total = 0;
  let list: Record<string, unknown>[] = [];
  if (opts.subs) {
    const details: Record<string, unknown>[] = [];
    for (const a of accounts) {
      for (const sub of a.sublist.all()) {
        if (opts.test !== "" && !subjectMatches(sub.subject, opts.test)) continue;
        details.push(subDetail(a, sub));
      }
    }
    total = details.length;
    list = page(details, opts.offset, opts.limit);
  }
  out.total = total;
  out.offset = opts.offset;
  out.limit = opts.limit;
  if (list.length > 0) out.subscriptions_list = list;
  return out;
}

function subDetail(a: Account, sub: Subscription): Record<string, unknown> {
  const d: Record<string, unknown> = { account: a.name, subject: sub.subject };
  if (sub.queue !== undefined) d.qgroup = sub.queue;
  d.sid = sub.sid;
  d.msgs = sub.delivered;
  if (sub.max > 0) d.max = sub.max;
  d.cid = sub.client.cid;
  return d;
}
