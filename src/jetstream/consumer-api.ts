// API handlers for consumers: CONSUMER.CREATE.<stream>[.<consumer>[.<filter>]],
// CONSUMER.DURABLE.CREATE.<stream>.<durable>, CONSUMER.INFO|DELETE|PAUSE.<stream>.<consumer>,
// CONSUMER.NAMES|LIST.<stream>. The checks, their order and the errors are nats-server's
// (jetstream_api.go) for a single server. CONSUMER.MSG.NEXT is answered by the consumer itself.

import type { ApiRequest, ApiRouter } from "./api.js";
import { decodeCreateRequest, type CreateConsumerRequest } from "./consumer-config.js";
import { consumersOf } from "./consumers.js";
import { LIST_LIMIT, NAMES_LIMIT } from "./api-streams.js";
import { JsonError } from "./stream-config.js";
import { nowNs } from "./store/index.js";
import { parseRfc3339, rfc3339Nano, ZERO_TIME } from "./time.js";

const T = "io.nats.jetstream.api.v1.";
export const CONSUMER_TYPES = {
  create: T + "consumer_create_response",
  info: T + "consumer_info_response",
  delete: T + "consumer_delete_response",
  names: T + "consumer_names_response",
  list: T + "consumer_list_response",
  pause: T + "consumer_pause_response",
} as const;

export function registerConsumerApi(r: ApiRouter): void {
  r.add("CONSUMER.CREATE.>", CONSUMER_TYPES.create, consumerCreate);
  r.add("CONSUMER.DURABLE.CREATE.>", CONSUMER_TYPES.create, consumerCreate);
  r.add("CONSUMER.INFO.*.*", CONSUMER_TYPES.info, consumerInfo);
  r.add("CONSUMER.DELETE.*.*", CONSUMER_TYPES.delete, consumerDelete);
  r.add("CONSUMER.NAMES.*", CONSUMER_TYPES.names, consumerNames);
  r.add("CONSUMER.LIST.*", CONSUMER_TYPES.list, consumerList);
  r.add("CONSUMER.PAUSE.*.*", CONSUMER_TYPES.pause, consumerPause);
}

// ---------------------------------------------------------------- create

function consumerCreate(req: ApiRequest): void {
  let cr: CreateConsumerRequest;
  try {
    cr = decodeCreateRequest(req.text());
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    return req.fail("JSInvalidJSONErr", { err: e.message });
  }
  const t = req.tokens;
  // tokens after $JS.API: CONSUMER CREATE <stream> [<consumer> [<filter>...]] | CONSUMER DURABLE CREATE <stream> <durable>
  let streamName: string;
  let consumerName: string;
  let filtered = "";
  let kind: "legacyEphemeral" | "legacyDurable" | "new";
  if (t[1] === "DURABLE") {
    kind = "legacyDurable";
    if (t.length !== 5) return req.fail("JSConsumerDurableNameNotInSubjectErr");
    streamName = t[3]!;
    consumerName = t[4]!;
  } else if (t.length === 3) {
    kind = "legacyEphemeral";
    streamName = t[2]!;
    consumerName = cr.config.name ?? "";
  } else {
    kind = "new";
    streamName = t[2]!;
    consumerName = t[3]!;
    if (t.length > 4) filtered = t.slice(4).join(".");
  }
  const cfg = cr.config;
  if (streamName !== cr.stream_name) return req.fail("JSStreamMismatchErr");
  if (consumerName !== "" && /[\\/]/.test(consumerName)) return req.fail("JSConsumerNameContainsPathSeparatorsErr");
  if (kind === "legacyDurable") {
    if (!cfg.durable_name) return req.fail("JSConsumerDurableNameNotSetErr");
    if (consumerName !== cfg.durable_name) return req.fail("JSConsumerDurableNameNotMatchSubjectErr");
  }
  if (kind === "new") {
    if (cfg.durable_name && consumerName !== cfg.durable_name) return req.fail("JSConsumerDurableNameNotMatchSubjectErr");
    cfg.name = consumerName;
  }
  if (kind === "legacyEphemeral" && cfg.durable_name) return req.fail("JSConsumerEphemeralWithDurableNameErr");
  if (filtered !== "" && (cfg.filter_subjects?.length ?? 0) > 0) return req.fail("JSConsumerMultipleFiltersNotAllowed");
  if (filtered !== "" && cfg.filter_subject !== filtered) return req.fail("JSConsumerCreateFilterSubjectMismatchErr");
  if (cfg.num_replicas > 1) return req.fail("JSStreamReplicasNotSupportedErr");
  if (cr.unsupported.length > 0) return req.fail("JSConsumerCreateErrF", { err: `${cr.unsupported.join(", ")} not supported` });
  const stream = req.jsa.streams.get(streamName);
  if (stream === undefined) return req.fail("JSStreamNotFoundErr");
  const set = consumersOf(stream);
  const existing = set.consumers.get(consumerName !== "" ? consumerName : cfg.durable_name ?? "");
  // an existing consumer's pause is changed by CONSUMER.PAUSE only
  if (existing !== undefined) {
    if (existing.cfg.pause_until !== undefined) cfg.pause_until = existing.cfg.pause_until;
    else delete cfg.pause_until;
  }
  const r = set.add(cfg, cr.action, cr.pedantic);
  if ("error" in r) return req.failWith(r.error);
  req.respond(r.consumer.info());
  if (r.created && r.consumer.cfg.pause_until !== undefined && r.consumer.cfg.pause_until > nowNs()) r.consumer.pauseAdvisory();
}

// ---------------------------------------------------------------- info / delete

function lookup(req: ApiRequest) {
  const stream = req.jsa.streams.get(req.tokens[2]!);
  if (stream === undefined) {
    req.fail("JSStreamNotFoundErr");
    return undefined;
  }
  const set = consumersOf(stream);
  const c = set.consumers.get(req.tokens[3]!);
  if (c === undefined) {
    req.fail("JSConsumerNotFoundErr");
    return undefined;
  }
  return { set, c };
}

function consumerInfo(req: ApiRequest): void {
  if (!req.isEmpty()) return req.fail("JSNotEmptyRequestErr");
  const x = lookup(req);
  if (x === undefined) return;
  req.respond(x.c.info());
}

function consumerDelete(req: ApiRequest): void {
  if (!req.isEmpty()) return req.fail("JSNotEmptyRequestErr");
  const x = lookup(req);
  if (x === undefined) return;
  x.set.remove(x.c);
  req.respond({ success: true });
}

// ---------------------------------------------------------------- names / list

function pagedOffset(req: ApiRequest, extra: Record<string, unknown>): number | undefined {
  if (!req.isJson()) return 0;
  try {
    const o = JSON.parse(req.text()) as Record<string, unknown> | null;
    if (Array.isArray(o)) throw new Error("json: cannot unmarshal array into Go value of type server.JSApiConsumersRequest");
    const v = o?.offset;
    if (v === undefined || v === null) return 0;
    if (typeof v !== "number" || !Number.isInteger(v)) throw new Error(`json: cannot unmarshal ${typeof v} into Go struct field JSApiConsumersRequest.offset of type int`);
    return Math.max(0, v);
  } catch (e) {
    req.fail("JSInvalidJSONErr", { err: (e as Error).message }, extra);
    return undefined;
  }
}

function sortedConsumers(req: ApiRequest, extra: Record<string, unknown>) {
  const offset = pagedOffset(req, extra);
  if (offset === undefined) return undefined;
  const stream = req.jsa.streams.get(req.tokens[2]!);
  if (stream === undefined) {
    req.fail("JSStreamNotFoundErr", undefined, extra);
    return undefined;
  }
  const all = [...consumersOf(stream).consumers.values()].filter((c) => !c.isDirect).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { all, offset: Math.min(offset, all.length) };
}

function consumerNames(req: ApiRequest): void {
  const x = sortedConsumers(req, { total: 0, offset: 0, limit: 0 });
  if (x === undefined) return;
  req.respond({ total: x.all.length, offset: x.offset, limit: NAMES_LIMIT, consumers: x.all.slice(x.offset, x.offset + NAMES_LIMIT).map((c) => c.name) });
}

function consumerList(req: ApiRequest): void {
  const x = sortedConsumers(req, { total: 0, offset: 0, limit: 0 });
  if (x === undefined) return;
  req.respond({ total: x.all.length, offset: x.offset, limit: LIST_LIMIT, consumers: x.all.slice(x.offset, x.offset + LIST_LIMIT).map((c) => c.info()) });
}

// ---------------------------------------------------------------- pause

function consumerPause(req: ApiRequest): void {
  let until = 0n;
  if (req.isJson()) {
    try {
      const o = JSON.parse(req.text()) as Record<string, unknown> | null;
      const v = o?.pause_until;
      if (v !== undefined && v !== null) {
        if (typeof v !== "string") throw new Error(`json: cannot unmarshal ${typeof v} into Go struct field JSApiConsumerPauseRequest.pause_until of type time.Time`);
        const t = parseRfc3339(v);
        if (t === undefined) throw new Error(`parsing time ${JSON.stringify(JSON.stringify(v))} as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse`);
        until = t;
      }
    } catch (e) {
      return req.fail("JSInvalidJSONErr", { err: (e as Error).message });
    }
  }
  const x = lookup(req);
  if (x === undefined) return;
  const c = x.c;
  const cfg = { ...c.cfg };
  if (until !== 0n) cfg.pause_until = until;
  else delete cfg.pause_until;
  c.updateConfig(cfg);
  c.store.writeMeta(c.metaJson());
  const now = nowNs();
  const out: Record<string, unknown> = { paused: until > now, pause_until: until === 0n ? ZERO_TIME : rfc3339Nano(until) };
  if (until > now) out.pause_remaining = Number(until - now);
  req.respond(out);
}
