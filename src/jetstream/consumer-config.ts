// Consumer configuration: decoding a CONSUMER.CREATE request as nats-server's JSON decoder would,
// the defaults of setConsumerConfigDefaults, the checks of checkConsumerCfg (same order, same
// errors), the update rules of checkNewConsumerConfig, and the JSON the API returns (Go's field
// order and omitempty rules). Durations are ns; times are bigint ns since the epoch.

import { jsError, type JsErrorName } from "./errors.js";
import { enumField, field, JsonError, jsonType, JS_MAX_DESCRIPTION_LEN, JS_MAX_METADATA_LEN, JS_MAX_NAME_LEN, type ApiError, type StreamConfig } from "./stream-config.js";
import { hasWildcard, isSubsetMatch, isValidAssetName, isValidSubject } from "./subjects.js";
import { goDuration, parseRfc3339, rfc3339Nano } from "./time.js";

export type DeliverPolicy = "all" | "last" | "new" | "by_start_sequence" | "by_start_time" | "last_per_subject";
export type AckPolicy = "none" | "all" | "explicit";
export type ReplayPolicy = "instant" | "original";
export type ConsumerAction = "" | "create" | "update";

export interface ConsumerConfig {
  durable_name?: string;
  name?: string;
  description?: string;
  deliver_policy: DeliverPolicy;
  opt_start_seq?: number;
  /** ns since the epoch */
  opt_start_time?: bigint;
  ack_policy: AckPolicy;
  /** ns */
  ack_wait?: number;
  max_deliver: number;
  /** ns each */
  backoff?: number[];
  filter_subject?: string;
  filter_subjects?: string[];
  replay_policy: ReplayPolicy;
  rate_limit_bps?: number;
  sample_freq?: string;
  max_waiting: number;
  max_ack_pending: number;
  flow_control?: boolean;
  headers_only?: boolean;
  max_batch?: number;
  /** ns */
  max_expires?: number;
  max_bytes?: number;
  deliver_subject?: string;
  deliver_group?: string;
  /** ns */
  idle_heartbeat?: number;
  /** ns */
  inactive_threshold?: number;
  num_replicas: number;
  mem_storage?: boolean;
  direct?: boolean;
  metadata?: Record<string, string>;
  /** ns since the epoch */
  pause_until?: bigint;
}

export interface CreateConsumerRequest {
  stream_name: string;
  config: ConsumerConfig;
  action: ConsumerAction;
  pedantic: boolean;
  /** features of later servers asked for (priority groups): refused */
  unsupported: string[];
}

/** nats-server's defaults (JSWaitQueueDefaultMax, JsAckWaitDefault, JsDefaultMaxAckPending, JsDeleteWaitTimeDefault). */
export const WAIT_QUEUE_DEFAULT_MAX = 512;
export const ACK_WAIT_DEFAULT_NS = 30e9;
export const DEFAULT_MAX_ACK_PENDING = 1000;
export const DELETE_WAIT_DEFAULT_NS = 5e9;
const MS_NS = 1e6;

const C = "CreateConsumerRequest.config";

function timeField(o: Record<string, unknown>, k: string): bigint | undefined {
  const v = field<string>(o, k, "string", C);
  if (v === undefined) return undefined;
  const t = parseRfc3339(v);
  if (t === undefined) throw new JsonError(`parsing time ${JSON.stringify(JSON.stringify(v))} as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse`);
  return t;
}

/** Decodes the config object of a request (Go's zero values for what is absent). Throws JsonError. */
export function decodeConsumerConfig(o: Record<string, unknown>): { cfg: ConsumerConfig; unsupported: string[] } {
  const unsupported: string[] = [];
  if (o.ack_policy === "flow_control") {
    // a later server's ack policy: refused (not a JSON error)
    unsupported.push("flow control ack policy");
    o = { ...o, ack_policy: "none" };
  }
  const dp = o.deliver_policy === "undefined" ? "all" : o.deliver_policy;
  const cfg: ConsumerConfig = {
    deliver_policy: enumField({ deliver_policy: dp }, "deliver_policy", ["all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"] as const) ?? "all",
    ack_policy: enumField(o, "ack_policy", ["none", "all", "explicit"] as const) ?? "none",
    max_deliver: field<number>(o, "max_deliver", "int", C) ?? 0,
    replay_policy: enumField(o, "replay_policy", ["instant", "original"] as const) ?? "instant",
    max_waiting: field<number>(o, "max_waiting", "int", C) ?? 0,
    max_ack_pending: field<number>(o, "max_ack_pending", "int", C) ?? 0,
    num_replicas: field<number>(o, "num_replicas", "int", C) ?? 0,
  };
  const str = (k: keyof ConsumerConfig) => {
    const v = field<string>(o, k, "string", C);
    if (v) (cfg as unknown as Record<string, unknown>)[k] = v;
  };
  const num = (k: keyof ConsumerConfig, kind: "uint64" | "int" | "duration") => {
    const v = field<number>(o, k, kind, C);
    if (v) (cfg as unknown as Record<string, unknown>)[k] = v;
  };
  const bool = (k: keyof ConsumerConfig) => {
    if (field<boolean>(o, k, "bool", C)) (cfg as unknown as Record<string, unknown>)[k] = true;
  };
  str("durable_name");
  str("name");
  str("description");
  num("opt_start_seq", "uint64");
  const ost = timeField(o, "opt_start_time");
  if (ost !== undefined) cfg.opt_start_time = ost;
  num("ack_wait", "duration");
  if (o.backoff !== undefined && o.backoff !== null) {
    if (!Array.isArray(o.backoff)) throw new JsonError(`json: cannot unmarshal ${jsonType(o.backoff)} into Go struct field ${C}.backoff of type []time.Duration`);
    const bo = o.backoff.map((v) => {
      if (typeof v !== "number" || !Number.isInteger(v)) throw new JsonError(`json: cannot unmarshal ${jsonType(v)} into Go struct field ${C}.backoff of type time.Duration`);
      return v;
    });
    if (bo.length > 0) cfg.backoff = bo;
  }
  str("filter_subject");
  const fss = field<string[]>(o, "filter_subjects", "strings", C);
  if (fss !== undefined && fss.length > 0) cfg.filter_subjects = fss;
  num("rate_limit_bps", "uint64");
  str("sample_freq");
  bool("flow_control");
  bool("headers_only");
  num("max_batch", "int");
  num("max_expires", "duration");
  num("max_bytes", "int");
  str("deliver_subject");
  str("deliver_group");
  num("idle_heartbeat", "duration");
  num("inactive_threshold", "duration");
  bool("mem_storage");
  bool("direct");
  const md = field<Record<string, unknown>>(o, "metadata", "object", C);
  if (md !== undefined) {
    const m: Record<string, string> = {};
    for (const [k, val] of Object.entries(md)) {
      if (typeof val !== "string" && val !== null) throw new JsonError(`json: cannot unmarshal ${jsonType(val)} into Go struct field ${C}.metadata of type string`);
      m[k] = val ?? "";
    }
    if (Object.keys(m).length > 0) cfg.metadata = m;
  }
  const pu = timeField(o, "pause_until");
  if (pu !== undefined) cfg.pause_until = pu;
  const pp = o.priority_policy;
  if ((pp !== undefined && pp !== null && pp !== "none") || (Array.isArray(o.priority_groups) && o.priority_groups.length > 0)) unsupported.push("priority groups");
  if (o.sourcing === true) unsupported.push("sourcing consumers");
  return { cfg, unsupported };
}

/** Decodes a CONSUMER.CREATE body. Throws JsonError. */
export function decodeCreateRequest(text: string): CreateConsumerRequest {
  if (text.trim() === "") throw new JsonError("unexpected end of JSON input");
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new JsonError((e as Error).message);
  }
  if (v === null) v = {};
  if (typeof v !== "object" || Array.isArray(v)) throw new JsonError(`json: cannot unmarshal ${jsonType(v)} into Go value of type server.CreateConsumerRequest`);
  const o = v as Record<string, unknown>;
  const R = "CreateConsumerRequest";
  const stream_name = field<string>(o, "stream_name", "string", R) ?? "";
  const c = field<Record<string, unknown>>(o, "config", "object", R) ?? {};
  const { cfg, unsupported } = decodeConsumerConfig(c);
  return { stream_name, config: cfg, action: decodeAction(o.action), pedantic: field<boolean>(o, "pedantic", "bool", R) ?? false, unsupported };
}

function decodeAction(v: unknown): ConsumerAction {
  if (v === undefined || v === null || v === "") return "";
  if (v === "create" || v === "update") return v;
  throw new JsonError(`unknown consumer action: ${JSON.stringify(v)}`);
}

// ---------------------------------------------------------------- defaults and checks

function pedanticErr(text: string): ApiError {
  return jsError("JSPedanticErrF", { err: text });
}

function invalid(text: string): ApiError {
  return jsError("JSStreamInvalidConfigF", { err: text });
}

function err(name: JsErrorName, args?: Record<string, string | number>): ApiError {
  return jsError(name, args);
}

/** The filters of a configuration (filter_subject or filter_subjects), possibly empty. */
export function filtersOf(cfg: ConsumerConfig): string[] {
  if (cfg.filter_subject) return [cfg.filter_subject];
  return cfg.filter_subjects ?? [];
}

export function isDurable(cfg: ConsumerConfig): boolean {
  return cfg.durable_name !== undefined && cfg.durable_name !== "";
}

export function isPush(cfg: ConsumerConfig): boolean {
  return cfg.deliver_subject !== undefined && cfg.deliver_subject !== "";
}

/** setConsumerConfigDefaults (in place); a pedantic error when asked to be strict. */
export function setConsumerDefaults(cfg: ConsumerConfig, stream: StreamConfig, pedantic: boolean): ApiError | undefined {
  if (cfg.max_deliver === 0 || cfg.max_deliver < -1) {
    if (pedantic && cfg.max_deliver < -1) return pedanticErr("max_deliver must be set to -1");
    cfg.max_deliver = -1;
  }
  if (cfg.max_waiting < 0 && pedantic) return pedanticErr("max_waiting must not be negative");
  if (cfg.max_ack_pending < -1) {
    if (pedantic) return pedanticErr("max_ack_pending must be set to -1");
    cfg.max_ack_pending = -1;
  }
  // 2.10 refuses a negative max_batch, max_expires or max_waiting in its checks; pedantic mode says so first
  for (const k of ["max_batch", "max_expires", "max_bytes", "idle_heartbeat", "inactive_threshold"] as const) {
    const v = cfg[k] ?? 0;
    if (v < 0) {
      if (pedantic) return pedanticErr(`${k} must not be negative`);
      if (k === "idle_heartbeat" || k === "inactive_threshold" || k === "max_bytes") delete cfg[k];
    }
  }
  if (!isPush(cfg) && cfg.max_waiting === 0) cfg.max_waiting = WAIT_QUEUE_DEFAULT_MAX;
  if (!cfg.ack_wait && (cfg.ack_policy === "explicit" || cfg.ack_policy === "all")) cfg.ack_wait = ACK_WAIT_DEFAULT_NS;
  if (cfg.backoff !== undefined && cfg.backoff.length > 0) {
    if (pedantic && cfg.ack_wait !== cfg.backoff[0]) return pedanticErr("first backoff value has to equal batch AckWait");
    cfg.ack_wait = cfg.backoff[0];
  }
  const lim = stream.consumer_limits;
  if (cfg.max_ack_pending === 0) {
    if (pedantic && (lim.max_ack_pending ?? 0) > 0) return pedanticErr("max_ack_pending must be set if it's configured in stream limits");
    cfg.max_ack_pending = lim.max_ack_pending ?? 0;
  }
  if (!cfg.inactive_threshold) {
    if (pedantic && (lim.inactive_threshold ?? 0) > 0) return pedanticErr("inactive_threshold must be set if it's configured in stream limits");
    if (lim.inactive_threshold) cfg.inactive_threshold = lim.inactive_threshold;
  }
  if (cfg.max_ack_pending === 0 && cfg.ack_policy !== "none") cfg.max_ack_pending = DEFAULT_MAX_ACK_PENDING;
  return undefined;
}

/** Ephemerals always have an inactive threshold (nats-server stamps the default without its jitter). */
export function stampInactiveThreshold(cfg: ConsumerConfig): void {
  if (!isDurable(cfg) && !cfg.inactive_threshold) cfg.inactive_threshold = DELETE_WAIT_DEFAULT_NS;
}

/** A deliver subject that the stream would store again (a cycle). */
function deliveryFormsCycle(stream: StreamConfig, deliver: string): boolean {
  for (const s of stream.subjects ?? [stream.name]) if (isSubsetMatch(deliver, s)) return true;
  return false;
}

/** checkConsumerCfg: the checks in nats-server's order, on a configuration with defaults applied. */
export function checkConsumerConfig(cfg: ConsumerConfig, stream: StreamConfig): ApiError | undefined {
  if (cfg.name !== undefined && cfg.name !== "" && !isValidAssetName(cfg.name)) return invalid("consumer name can not contain '.', '*', '>', '\\', '/'");
  if (isDurable(cfg) && !isValidAssetName(cfg.durable_name!)) return invalid("consumer durable name can not contain '.', '*', '>', '\\', '/'");
  if (cfg.num_replicas > 0 && cfg.num_replicas > stream.num_replicas) return err("JSConsumerReplicasExceedsStream");
  if (cfg.num_replicas < 0) return err("JSReplicasCountCannotBeNegative");
  if ((stream.retention === "interest" || stream.retention === "workqueue") && cfg.num_replicas !== 0 && cfg.num_replicas !== stream.num_replicas) {
    return err("JSConsumerReplicasShouldMatchStream");
  }
  for (const b of cfg.backoff ?? []) if (b < 0) return err("JSConsumerBackOffNegativeErr");
  if ((cfg.ack_wait ?? 0) < 0) return err("JSConsumerAckWaitNegativeErr");
  const lbo = cfg.backoff?.length ?? 0;
  if (lbo > 0 && cfg.max_deliver !== -1 && lbo > cfg.max_deliver) return err("JSConsumerMaxDeliverBackoffErr");
  if ((cfg.description?.length ?? 0) > JS_MAX_DESCRIPTION_LEN) return err("JSConsumerDescriptionTooLongErrF", { max: JS_MAX_DESCRIPTION_LEN });

  if (isPush(cfg)) {
    const ds = cfg.deliver_subject!;
    if (hasWildcard(ds)) return err("JSConsumerDeliverToWildcardsErr");
    if (!isValidSubject(ds)) return err("JSConsumerInvalidDeliverSubject");
    if (deliveryFormsCycle(stream, ds)) return err("JSConsumerDeliverCycleErr");
    if (cfg.max_waiting !== 0) return err("JSConsumerPushMaxWaitingErr");
    if (cfg.max_ack_pending > 0 && cfg.ack_policy === "none") return err("JSConsumerMaxPendingAckPolicyRequiredErr");
    if ((cfg.idle_heartbeat ?? 0) > 0 && cfg.idle_heartbeat! < 100 * MS_NS) return err("JSConsumerSmallHeartbeatErr");
  } else {
    if (cfg.ack_policy === "none" && stream.retention === "workqueue") return err("JSConsumerPullRequiresAckErr");
    if ((cfg.rate_limit_bps ?? 0) > 0) return err("JSConsumerPullWithRateLimitErr");
    if (cfg.max_waiting < 0) return err("JSConsumerMaxWaitingNegativeErr");
    if ((cfg.idle_heartbeat ?? 0) > 0) return err("JSConsumerHBRequiresPushErr");
    if (cfg.flow_control) return err("JSConsumerFCRequiresPushErr");
    if ((cfg.max_batch ?? 0) < 0) return err("JSConsumerMaxRequestBatchNegativeErr");
    if (cfg.max_expires !== undefined && cfg.max_expires !== 0 && cfg.max_expires < MS_NS) return err("JSConsumerMaxRequestExpiresTooSmall");
  }
  const lim = stream.consumer_limits;
  if ((lim.max_ack_pending ?? 0) > 0 && cfg.max_ack_pending > lim.max_ack_pending!) return err("JSConsumerMaxPendingAckExcessErrF", { limit: lim.max_ack_pending! });
  if ((lim.inactive_threshold ?? 0) > 0 && (cfg.inactive_threshold ?? 0) > lim.inactive_threshold!) {
    return err("JSConsumerInactiveThresholdExcess", { limit: goDuration(lim.inactive_threshold!) });
  }
  if (cfg.direct) {
    if (!isPush(cfg)) return err("JSConsumerDirectRequiresPushErr");
    if (isDurable(cfg)) return err("JSConsumerDirectRequiresEphemeralErr");
  }
  if (cfg.filter_subject && (cfg.filter_subjects?.length ?? 0) > 0) return err("JSConsumerDuplicateFilterSubjects");
  if (cfg.filter_subject && !isValidSubject(cfg.filter_subject)) return invalid("invalid subject");
  for (const f of cfg.filter_subjects ?? []) if (f === "") return err("JSConsumerEmptyFilter");
  const filters = filtersOf(cfg);
  for (let i = 0; i < filters.length; i++) {
    if (!isValidSubject(filters[i]!)) return invalid("invalid subject");
    for (let j = 0; j < filters.length; j++) {
      // one filter inside another (a.* and a.b); a.* and *.b only intersect and are allowed, as in nats-server
      if (i !== j && isSubsetMatch(filters[i]!, filters[j]!)) return err("JSConsumerOverlappingSubjectFilters");
    }
  }
  const badStart = (dp: string, start: string) => err("JSConsumerInvalidPolicyErrF", { err: `consumer delivery policy is deliver ${dp}, but optional start ${start} is also set` });
  const notSet = (dp: string, what: string) => err("JSConsumerInvalidPolicyErrF", { err: `consumer delivery policy is deliver ${dp}, but optional ${what} is not set` });
  const seq = cfg.opt_start_seq ?? 0;
  const time = cfg.opt_start_time;
  switch (cfg.deliver_policy) {
    case "all":
      if (seq > 0) return badStart("all", "sequence");
      if (time !== undefined) return badStart("all", "time");
      break;
    case "last":
      if (seq > 0) return badStart("last", "sequence");
      if (time !== undefined) return badStart("last", "time");
      break;
    case "last_per_subject":
      if (seq > 0) return badStart("last per subject", "sequence");
      if (time !== undefined) return badStart("last per subject", "time");
      if (filters.length === 0) return notSet("last per subject", "filter subject");
      break;
    case "new":
      if (seq > 0) return badStart("new", "sequence");
      if (time !== undefined) return badStart("new", "time");
      break;
    case "by_start_sequence":
      if (seq === 0) return notSet("by start sequence", "start sequence");
      if (time !== undefined) return badStart("by start sequence", "time");
      break;
    case "by_start_time":
      if (time === undefined) return notSet("by start time", "start time");
      if (seq !== 0) return badStart("by start time", "start sequence");
      break;
  }
  if (cfg.sample_freq) {
    const s = cfg.sample_freq.endsWith("%") ? cfg.sample_freq.slice(0, -1) : cfg.sample_freq;
    if (!/^[+-]?\d+$/.test(s)) return err("JSConsumerInvalidSamplingErrF", { err: `strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax` });
    if (Number(s) < 0) return err("JSConsumerInvalidSamplingErrF", { err: "<nil>" });
  }
  if (cfg.flow_control && !cfg.idle_heartbeat) return err("JSConsumerWithFlowControlNeedsHeartbeats");
  if (isDurable(cfg) && cfg.name && cfg.name !== cfg.durable_name) return err("JSConsumerCreateDurableAndNameMismatch");
  let mdLen = 0;
  for (const [k, v] of Object.entries(cfg.metadata ?? {})) mdLen += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (mdLen > JS_MAX_METADATA_LEN) return err("JSConsumerMetadataLengthErrF", { limit: `${JS_MAX_METADATA_LEN / 1024}KB` });
  if (isDurable(cfg) && cfg.durable_name!.length > JS_MAX_NAME_LEN) return err("JSConsumerNameTooLongErrF", { max: JS_MAX_NAME_LEN });
  return undefined;
}

function eqBig(a: bigint | undefined, b: bigint | undefined): boolean {
  return (a ?? -1n) === (b ?? -1n);
}

/**
 * checkNewConsumerConfig: what an update may change. Returns an error text (JSConsumerCreateErrF,
 * 500) or an ApiError, or undefined when the update is allowed.
 */
export function checkConsumerUpdate(old: ConsumerConfig, next: ConsumerConfig, deliverHasInterest: (subject: string) => boolean): string | ApiError | undefined {
  if (sameConsumerConfig(old, next)) return undefined;
  if (old.deliver_policy !== next.deliver_policy) return "deliver policy can not be updated";
  if (!!old.mem_storage !== !!next.mem_storage) return "storage type can not be updated";
  if (!!old.direct !== !!next.direct) return "direct can not be updated";
  if ((old.opt_start_seq ?? 0) !== (next.opt_start_seq ?? 0)) return "start sequence can not be updated";
  if (!eqBig(old.opt_start_time, next.opt_start_time)) return "start time can not be updated";
  if (old.ack_policy !== next.ack_policy) return "ack policy can not be updated";
  if (old.replay_policy !== next.replay_policy) return "replay policy can not be updated";
  if ((old.idle_heartbeat ?? 0) !== (next.idle_heartbeat ?? 0)) return "heart beats can not be updated";
  if (!!old.flow_control !== !!next.flow_control) return "flow control can not be updated";
  const od = old.deliver_subject ?? "";
  const nd = next.deliver_subject ?? "";
  if (od !== nd) {
    if (od === "") return "can not update pull consumer to push based";
    if (nd === "") return "can not update push consumer to pull based";
    if (deliverHasInterest(od)) return jsError("JSConsumerNameExistErr");
  }
  if (old.max_waiting !== next.max_waiting) return "max waiting can not be updated";
  const lbo = next.backoff?.length ?? 0;
  if (lbo > 0 && next.max_deliver !== -1 && lbo > next.max_deliver) return jsError("JSConsumerMaxDeliverBackoffErr");
  return undefined;
}

// ---------------------------------------------------------------- output

/** The configuration as nats-server's JSON encoder writes it (field order, omitempty). */
export function consumerConfigJson(c: ConsumerConfig): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (c.durable_name) o.durable_name = c.durable_name;
  if (c.name) o.name = c.name;
  if (c.description) o.description = c.description;
  o.deliver_policy = c.deliver_policy;
  if (c.opt_start_seq) o.opt_start_seq = c.opt_start_seq;
  if (c.opt_start_time !== undefined) o.opt_start_time = rfc3339Nano(c.opt_start_time);
  o.ack_policy = c.ack_policy;
  if (c.ack_wait) o.ack_wait = c.ack_wait;
  if (c.max_deliver) o.max_deliver = c.max_deliver;
  if (c.backoff && c.backoff.length > 0) o.backoff = [...c.backoff];
  if (c.filter_subject) o.filter_subject = c.filter_subject;
  if (c.filter_subjects && c.filter_subjects.length > 0) o.filter_subjects = [...c.filter_subjects];
  o.replay_policy = c.replay_policy;
  if (c.rate_limit_bps) o.rate_limit_bps = c.rate_limit_bps;
  if (c.sample_freq) o.sample_freq = c.sample_freq;
  if (c.max_waiting) o.max_waiting = c.max_waiting;
  if (c.max_ack_pending) o.max_ack_pending = c.max_ack_pending;
  if (c.flow_control) o.flow_control = true;
  if (c.headers_only) o.headers_only = true;
  if (c.max_batch) o.max_batch = c.max_batch;
  if (c.max_expires) o.max_expires = c.max_expires;
  if (c.max_bytes) o.max_bytes = c.max_bytes;
  if (c.deliver_subject) o.deliver_subject = c.deliver_subject;
  if (c.deliver_group) o.deliver_group = c.deliver_group;
  if (c.idle_heartbeat) o.idle_heartbeat = c.idle_heartbeat;
  if (c.inactive_threshold) o.inactive_threshold = c.inactive_threshold;
  o.num_replicas = c.num_replicas;
  if (c.mem_storage) o.mem_storage = true;
  if (c.direct) o.direct = true;
  if (c.metadata && Object.keys(c.metadata).length > 0) {
    const md: Record<string, string> = {};
    for (const k of Object.keys(c.metadata).sort()) md[k] = c.metadata[k]!;
    o.metadata = md;
  }
  if (c.pause_until !== undefined && c.pause_until !== 0n) o.pause_until = rfc3339Nano(c.pause_until);
  return o;
}

/** nats-server's DeepEqual of two configurations (same API form). */
export function sameConsumerConfig(a: ConsumerConfig, b: ConsumerConfig): boolean {
  return JSON.stringify(consumerConfigJson(a)) === JSON.stringify(consumerConfigJson(b));
}

/** A configuration saved with the consumer (meta.json), or undefined when unusable. */
export function consumerConfigFromJson(v: unknown): ConsumerConfig | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  try {
    return decodeConsumerConfig(v as Record<string, unknown>).cfg;
  } catch {
    return undefined;
  }
}
