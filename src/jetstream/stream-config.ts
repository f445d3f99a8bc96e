// Stream configuration: decoding a request as nats-server's JSON decoder would (zero values for
// what is absent, a JSON error for a wrong type), validation and defaults as its checkStreamCfg,
// the update rules of configUpdateCheck, and the JSON the API returns (Go's field order and
// omitempty rules, so that the official clients see what nats-server sends).

import { jsError, type JsErrorName } from "./errors.js";
import { hasWildcard, isSubsetMatch, isValidAssetName, isValidPublishSubject, isValidSubject, subjectsCollide } from "./subjects.js";
import { ERR_BAD_SUBJECT, SubjectTransform, TransformError, validateMapping } from "./transform.js";
import { parseRfc3339 } from "./time.js";
import { sourceIndexName } from "./sourcing.js";

export type ApiError = { code: number; err_code: number; description: string };
export type RetentionPolicy = "limits" | "interest" | "workqueue";
export type StorageType = "file" | "memory";
export type DiscardPolicy = "old" | "new";

export interface SubjectTransformConfig {
  src: string;
  dest: string;
}

export interface RePublish {
  src?: string;
  dest: string;
  headers_only?: boolean;
}

export interface ExternalStream {
  api: string;
  deliver: string;
}

export interface StreamConsumerSource {
  name?: string;
  deliver_subject?: string;
}

export interface StreamSource {
  name: string;
  opt_start_seq?: number;
  /** RFC 3339 */
  opt_start_time?: string;
  filter_subject?: string;
  subject_transforms?: SubjectTransformConfig[];
  external?: ExternalStream;
  consumer?: StreamConsumerSource;
}

export interface Placement {
  cluster?: string;
  tags?: string[];
  preferred?: string;
}

export interface StreamConsumerLimits {
  /** ns */
  inactive_threshold?: number;
  max_ack_pending?: number;
}

/** A stream configuration as the API carries it (durations in ns). Absent optional fields are undefined. */
export interface StreamConfig {
  name: string;
  description?: string;
  subjects?: string[];
  retention: RetentionPolicy;
  max_consumers: number;
  max_msgs: number;
  max_bytes: number;
  /** ns */
  max_age: number;
  max_msgs_per_subject: number;
  max_msg_size?: number;
  discard: DiscardPolicy;
  storage: StorageType;
  num_replicas: number;
  no_ack?: boolean;
  /** ns */
  duplicate_window?: number;
  placement?: Placement;
  mirror?: StreamSource;
  sources?: StreamSource[];
  compression: "none" | "s2";
  first_seq?: number;
  subject_transform?: SubjectTransformConfig;
  republish?: RePublish;
  allow_direct: boolean;
  mirror_direct: boolean;
  discard_new_per_subject?: boolean;
  sealed: boolean;
  deny_delete: boolean;
  deny_purge: boolean;
  allow_rollup_hdrs: boolean;
  consumer_limits: StreamConsumerLimits;
  allow_msg_ttl: boolean;
  /** ns */
  subject_delete_marker_ttl?: number;
  metadata?: Record<string, string>;
}

export const JS_MAX_NAME_LEN = 255;
export const JS_MAX_DESCRIPTION_LEN = 4 * 1024;
export const JS_MAX_METADATA_LEN = 128 * 1024;
export const STREAM_MAX_REPLICAS = 5;
/** nats-server's StreamDefaultDuplicatesWindow (2 minutes), in ns. */
export const DEFAULT_DUPLICATE_WINDOW_NS = 120e9;
const MS_100_NS = 100e6;
const SECOND_NS = 1e9;

// ---------------------------------------------------------------- decoding

/** A request body that Go's decoder would refuse; the text becomes JSInvalidJSONErr's {err}. */
export class JsonError extends Error {}

const TWO_POW_63 = 2 ** 63;
const TWO_POW_64 = 2 ** 64;
const INT32_MAX = 2147483647;

export type Kind = "string" | "bool" | "int" | "int64" | "int32" | "uint64" | "duration" | "strings" | "object";

/** A JSON value's kind as Go's decoder names it in its errors. */
export function jsonType(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "boolean") return "bool";
  return typeof v === "object" ? "object" : typeof v;
}

function goType(kind: Kind): string {
  switch (kind) {
    case "strings":
      return "[]string";
    case "duration":
      return "time.Duration";
    case "int":
      return "int";
    case "object":
      return "struct";
    case "bool":
      return "bool";
    default:
      return kind;
  }
}

export function typeError(v: unknown, struct: string, field: string, kind: Kind): JsonError {
  const what = typeof v === "number" ? `number ${v}` : jsonType(v);
  return new JsonError(`json: cannot unmarshal ${what} into Go struct field ${struct}.${field} of type ${goType(kind)}`);
}

/** Reads field `k` of a JSON object as Go would into a field of the given kind; undefined for absent or null. */
export function field<T>(o: Record<string, unknown>, k: string, kind: Kind, struct: string): T | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  switch (kind) {
    case "string":
      if (typeof v !== "string") throw typeError(v, struct, k, kind);
      return v as T;
    case "bool":
      if (typeof v !== "boolean") throw typeError(v, struct, k, kind);
      return v as T;
    case "strings":
      if (!Array.isArray(v)) throw typeError(v, struct, k, kind);
      for (const x of v) if (typeof x !== "string" && x !== null) throw typeError(x, struct, k, "string");
      return v.map((x) => (x === null ? "" : x)) as T;
    case "object":
      if (typeof v !== "object" || Array.isArray(v)) throw typeError(v, struct, k, kind);
      return v as T;
    default: {
      if (typeof v !== "number" || !Number.isInteger(v)) throw typeError(v, struct, k, kind);
      if (kind === "int32" && (v > INT32_MAX || v < -INT32_MAX - 1)) throw typeError(v, struct, k, kind);
      if (kind === "uint64" && (v < 0 || v >= TWO_POW_64)) throw typeError(v, struct, k, kind);
      // a double this large may stand for 2^63-1 in the text, but Go refuses everything it rounds up from
      if (kind !== "uint64" && (v >= TWO_POW_63 || v < -TWO_POW_63)) throw typeError(v, struct, k, kind);
      return v as T;
    }
  }
}

export function enumField<T extends string>(o: Record<string, unknown>, k: string, values: readonly T[], lower = false): T | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  const s = typeof v === "string" ? (lower ? v.toLowerCase() : v) : undefined;
  if (s === undefined || !(values as readonly string[]).includes(s)) {
    // Go's custom UnmarshalJSON: fmt.Errorf("can not unmarshal %q", data)
    throw new JsonError(`can not unmarshal ${JSON.stringify(JSON.stringify(v))}`);
  }
  return s as T;
}

function decodeTransform(v: unknown, struct: string, k: string): SubjectTransformConfig | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw typeError(v, struct, k, "object");
  const o = v as Record<string, unknown>;
  return {
    src: field<string>(o, "src", "string", "SubjectTransformConfig") ?? "",
    dest: field<string>(o, "dest", "string", "SubjectTransformConfig") ?? "",
  };
}

function decodeTransforms(v: unknown, struct: string): SubjectTransformConfig[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw typeError(v, struct, "subject_transforms", "object");
  return v.map((x) => decodeTransform(x, "SubjectTransformConfig", "subject_transforms") ?? { src: "", dest: "" });
}

function decodeSource(v: unknown, k: string): StreamSource | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw typeError(v, "StreamConfigRequest", k, "object");
  const o = v as Record<string, unknown>;
  const S = "StreamSource";
  const src: StreamSource = { name: field<string>(o, "name", "string", S) ?? "" };
  const seq = field<number>(o, "opt_start_seq", "uint64", S);
  if (seq) src.opt_start_seq = seq;
  const t = field<string>(o, "opt_start_time", "string", S);
  if (t !== undefined) {
    if (parseRfc3339(t) === undefined) throw new JsonError(`parsing time ${JSON.stringify(JSON.stringify(t))} as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse`);
    src.opt_start_time = t;
  }
  const fs = field<string>(o, "filter_subject", "string", S);
  if (fs) src.filter_subject = fs;
  const trs = decodeTransforms(o.subject_transforms, S);
  if (trs !== undefined && trs.length > 0) src.subject_transforms = trs;
  const ext = field<Record<string, unknown>>(o, "external", "object", S);
  if (ext !== undefined) {
    src.external = {
      api: field<string>(ext, "api", "string", "ExternalStream") ?? "",
      deliver: field<string>(ext, "deliver", "string", "ExternalStream") ?? "",
    };
  }
  const c = field<Record<string, unknown>>(o, "consumer", "object", S);
  if (c !== undefined) {
    src.consumer = {};
    const n = field<string>(c, "name", "string", "StreamConsumerSource");
    if (n) src.consumer.name = n;
    const d = field<string>(c, "deliver_subject", "string", "StreamConsumerSource");
    if (d) src.consumer.deliver_subject = d;
  }
  return src;
}

/** Options of the API that are not part of the stream's configuration. */
export interface StreamConfigRequestExtras {
  pedantic: boolean;
}

/** Features of newer nats-server releases that Junction does not implement: refused when turned on. */
const UNSUPPORTED_FLAGS = ["allow_msg_counter", "allow_atomic", "allow_msg_schedules", "allow_batched"] as const;

/**
 * Decodes a STREAM.CREATE / STREAM.UPDATE body into a configuration with Go's zero values for
 * what is absent (before defaults). Throws JsonError.
 */
export function decodeStreamConfig(body: Buffer | string): { cfg: StreamConfig; extras: StreamConfigRequestExtras; unsupported: string[] } {
  let v: unknown;
  const text = typeof body === "string" ? body : body.toString("utf8");
  if (text.trim() === "") throw new JsonError("unexpected end of JSON input");
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new JsonError((e as Error).message);
  }
  if (v === null) v = {};
  if (typeof v !== "object" || Array.isArray(v)) throw new JsonError(`json: cannot unmarshal ${jsonType(v)} into Go value of type server.StreamConfigRequest`);
  const o = v as Record<string, unknown>;
  const R = "StreamConfigRequest";
  const cfg: StreamConfig = {
    name: field<string>(o, "name", "string", R) ?? "",
    retention: enumField(o, "retention", ["limits", "interest", "workqueue"] as const) ?? "limits",
    max_consumers: field<number>(o, "max_consumers", "int", R) ?? 0,
    max_msgs: field<number>(o, "max_msgs", "int64", R) ?? 0,
    max_bytes: field<number>(o, "max_bytes", "int64", R) ?? 0,
    max_age: field<number>(o, "max_age", "duration", R) ?? 0,
    max_msgs_per_subject: field<number>(o, "max_msgs_per_subject", "int64", R) ?? 0,
    discard: enumField(o, "discard", ["old", "new"] as const, true) ?? "old",
    storage: enumField(o, "storage", ["file", "memory"] as const) ?? "file",
    num_replicas: field<number>(o, "num_replicas", "int", R) ?? 0,
    compression: "none",
    allow_direct: field<boolean>(o, "allow_direct", "bool", R) ?? false,
    mirror_direct: field<boolean>(o, "mirror_direct", "bool", R) ?? false,
    sealed: field<boolean>(o, "sealed", "bool", R) ?? false,
    deny_delete: field<boolean>(o, "deny_delete", "bool", R) ?? false,
    deny_purge: field<boolean>(o, "deny_purge", "bool", R) ?? false,
    allow_rollup_hdrs: field<boolean>(o, "allow_rollup_hdrs", "bool", R) ?? false,
    consumer_limits: {},
    allow_msg_ttl: field<boolean>(o, "allow_msg_ttl", "bool", R) ?? false,
  };
  const desc = field<string>(o, "description", "string", R);
  if (desc) cfg.description = desc;
  const subjects = field<string[]>(o, "subjects", "strings", R);
  if (subjects !== undefined && subjects.length > 0) cfg.subjects = subjects;
  const mms = field<number>(o, "max_msg_size", "int32", R);
  if (mms) cfg.max_msg_size = mms;
  if (field<boolean>(o, "no_ack", "bool", R)) cfg.no_ack = true;
  const dw = field<number>(o, "duplicate_window", "duration", R);
  if (dw) cfg.duplicate_window = dw;
  const pl = field<Record<string, unknown>>(o, "placement", "object", R);
  if (pl !== undefined) {
    const p: Placement = {};
    const c = field<string>(pl, "cluster", "string", "Placement");
    if (c) p.cluster = c;
    const tags = field<string[]>(pl, "tags", "strings", "Placement");
    if (tags && tags.length > 0) p.tags = tags;
    const pref = field<string>(pl, "preferred", "string", "Placement");
    if (pref) p.preferred = pref;
    cfg.placement = p;
  }
  const mirror = decodeSource(o.mirror, "mirror");
  if (mirror !== undefined) cfg.mirror = mirror;
  if (o.sources !== undefined && o.sources !== null) {
    if (!Array.isArray(o.sources)) throw typeError(o.sources, R, "sources", "object");
    const sources = o.sources.map((s) => decodeSource(s, "sources"));
    if (sources.length > 0) cfg.sources = sources as StreamSource[];
  }
  if (o.compression !== undefined && o.compression !== null) {
    if (typeof o.compression !== "string") throw typeError(o.compression, R, "compression", "string");
    if (o.compression !== "s2" && o.compression !== "none") throw new JsonError("unknown compression algorithm");
    cfg.compression = o.compression;
  }
  const fseq = field<number>(o, "first_seq", "uint64", R);
  if (fseq) cfg.first_seq = fseq;
  const st = decodeTransform(o.subject_transform, R, "subject_transform");
  if (st !== undefined) cfg.subject_transform = st;
  const rp = field<Record<string, unknown>>(o, "republish", "object", R);
  if (rp !== undefined) {
    const r: RePublish = { dest: field<string>(rp, "dest", "string", "RePublish") ?? "" };
    const src = field<string>(rp, "src", "string", "RePublish");
    if (src) r.src = src;
    if (field<boolean>(rp, "headers_only", "bool", "RePublish")) r.headers_only = true;
    cfg.republish = r;
  }
  if (field<boolean>(o, "discard_new_per_subject", "bool", R)) cfg.discard_new_per_subject = true;
  const cl = field<Record<string, unknown>>(o, "consumer_limits", "object", R);
  if (cl !== undefined) {
    const it = field<number>(cl, "inactive_threshold", "duration", "StreamConsumerLimits");
    if (it) cfg.consumer_limits.inactive_threshold = it;
    const map = field<number>(cl, "max_ack_pending", "int", "StreamConsumerLimits");
    if (map) cfg.consumer_limits.max_ack_pending = map;
  }
  const sdm = field<number>(o, "subject_delete_marker_ttl", "duration", R);
  if (sdm) cfg.subject_delete_marker_ttl = sdm;
  const md = field<Record<string, unknown>>(o, "metadata", "object", R);
  if (md !== undefined) {
    const m: Record<string, string> = {};
    for (const [k, val] of Object.entries(md)) {
      if (typeof val !== "string" && val !== null) throw typeError(val, R, "metadata", "string");
      m[k] = val ?? "";
    }
    if (Object.keys(m).length > 0) cfg.metadata = m;
  }
  const unsupported: string[] = [];
  for (const f of UNSUPPORTED_FLAGS) if (field<boolean>(o, f, "bool", R)) unsupported.push(f);
  const pm = o.persist_mode;
  if (pm !== undefined && pm !== null && pm !== "" && pm !== "default") {
    if (pm !== "async") throw new JsonError(`can not unmarshal ${JSON.stringify(JSON.stringify(pm))}`);
    unsupported.push("persist_mode");
  }
  return { cfg, extras: { pedantic: field<boolean>(o, "pedantic", "bool", R) ?? false }, unsupported };
}

// ---------------------------------------------------------------- validation

/** What validation needs to know about the account and server. */
export interface ConfigContext {
  /** Another stream's configuration in the same account, if it exists. */
  lookup(name: string): StreamConfig | undefined;
  /** Server limit on the duplicate window, ns (0 = none). */
  maxDuplicateWindow?: number;
  /** The account requires max_bytes; the largest allowed per stream (0 = no limit). */
  maxBytesRequired?: boolean;
  maxStreamBytes?: number;
}

type Result = { cfg: StreamConfig; error?: undefined } | { cfg?: undefined; error: ApiError };

function invalid(text: string): { error: ApiError } {
  return { error: jsError("JSStreamInvalidConfigF", { err: text }) };
}

function err(name: JsErrorName, args: Record<string, string | number> = {}): { error: ApiError } {
  return { error: jsError(name, args) };
}

function pedanticErr(text: string): { error: ApiError } {
  return { error: jsError("JSPedanticErrF", { err: text }) };
}

function clone(cfg: StreamConfig): StreamConfig {
  return JSON.parse(JSON.stringify(cfg)) as StreamConfig;
}

/** checkStreamCfg: validates a decoded configuration and fills the defaults. */
export function checkStreamConfig(input: StreamConfig, ctx: ConfigContext, pedantic = false): Result {
  if (!isValidAssetName(input.name)) return invalid(`stream name is required and can not contain '.', '*', '>', '\\', '/'`);
  if (input.name.length > JS_MAX_NAME_LEN) return invalid(`stream name is too long, maximum allowed is ${JS_MAX_NAME_LEN}`);
  if ((input.description?.length ?? 0) > JS_MAX_DESCRIPTION_LEN) return invalid(`stream description is too long, maximum allowed is ${JS_MAX_DESCRIPTION_LEN}`);
  let mdLen = 0;
  for (const [k, v] of Object.entries(input.metadata ?? {})) mdLen += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (mdLen > JS_MAX_METADATA_LEN) return invalid(`stream metadata exceeds maximum size of ${JS_MAX_METADATA_LEN} bytes`);

  const cfg = clone(input);
  if (cfg.num_replicas === 0) cfg.num_replicas = 1;
  if (cfg.num_replicas > STREAM_MAX_REPLICAS) return invalid(`maximum replicas is ${STREAM_MAX_REPLICAS}`);
  if (cfg.num_replicas < 0) return err("JSReplicasCountCannotBeNegative");

  for (const [f, label] of [
    ["max_msgs", "max_msgs"],
    ["max_msgs_per_subject", "max_msgs_per_subject"],
    ["max_bytes", "max_bytes"],
    ["max_msg_size", "max_msg_size"],
    ["max_consumers", "max_consumers"],
  ] as const) {
    const v = (cfg[f] as number | undefined) ?? 0;
    if (v === 0 || v < -1) {
      if (pedantic && v < -1) return pedanticErr(`${label} must be set to -1`);
      (cfg as unknown as Record<string, number>)[f] = -1;
    }
  }
  if (cfg.max_age < 0) return invalid("max age can not be negative");
  if (cfg.max_age !== 0 && cfg.max_age < MS_100_NS) return invalid("max age needs to be >= 100ms");

  const limDup = ctx.maxDuplicateWindow ?? 0;
  if (!cfg.duplicate_window && cfg.mirror === undefined && (cfg.sources?.length ?? 0) === 0) {
    let maxWindow = DEFAULT_DUPLICATE_WINDOW_NS;
    if (limDup > 0 && maxWindow > limDup) {
      if (pedantic) return pedanticErr("duplicate window limits are higher than current limits");
      maxWindow = limDup;
    }
    if (cfg.max_age !== 0 && cfg.max_age < maxWindow) {
      if (pedantic) return pedanticErr("duplicate window cannot be bigger than max age");
      cfg.duplicate_window = cfg.max_age;
    } else {
      cfg.duplicate_window = maxWindow;
    }
  }
  const dup = cfg.duplicate_window ?? 0;
  if (dup < 0) return invalid("duplicates window can not be negative");
  if (cfg.max_age !== 0 && dup > cfg.max_age) return invalid("duplicates window can not be larger then max age");
  if (limDup > 0 && dup > limDup) return invalid(`duplicates window can not be larger then server limit of ${limDup}`);
  if (dup > 0 && dup < MS_100_NS) return invalid("duplicates window needs to be >= 100ms");

  if (cfg.deny_purge && cfg.allow_rollup_hdrs) return invalid("roll-ups require the purge permission");

  if (cfg.discard_new_per_subject) {
    if (cfg.discard !== "new") return invalid("discard new per subject requires discard new policy to be set");
    if (cfg.max_msgs_per_subject <= 0) return invalid("discard new per subject requires max msgs per subject > 0");
  }

  const sdm = cfg.subject_delete_marker_ttl ?? 0;
  if (sdm > 0) {
    if (sdm < SECOND_NS) return invalid("subject delete marker TTL must be at least 1 second");
    if (!cfg.allow_msg_ttl) {
      if (pedantic) return invalid("subject delete marker cannot be set if message TTLs are disabled");
      cfg.allow_msg_ttl = true;
    }
    if (!cfg.allow_rollup_hdrs) {
      if (pedantic) return invalid("subject delete marker cannot be set if roll-ups are disabled");
      cfg.allow_rollup_hdrs = true;
      cfg.deny_purge = false;
    }
  } else if (sdm < 0) {
    return invalid("subject delete marker TTL must not be negative");
  }

  const streamSubs: string[] = [];
  const deliveryPrefixes: string[] = [];
  const apiPrefixes: string[] = [];

  const m = cfg.mirror;
  if (m !== undefined) {
    if ((cfg.first_seq ?? 0) > 0) return err("JSMirrorWithFirstSeqErr");
    if ((cfg.subjects?.length ?? 0) > 0) return err("JSMirrorWithSubjectsErr");
    if ((cfg.sources?.length ?? 0) > 0) return err("JSMirrorWithSourcesErr");
    if (m.consumer !== undefined) return invalid("mirroring through a durable consumer is not supported");
    if (m.filter_subject && (m.subject_transforms?.length ?? 0) > 0) return err("JSMirrorMultipleFiltersNotAllowed");
    if (sdm > 0) return invalid("subject delete markers forbidden on mirrors");
    const trs = m.subject_transforms ?? [];
    for (let i = 0; i < trs.length; i++) {
      const tr = trs[i]!;
      if (tr.src !== "" && !isValidSubject(tr.src)) return err("JSMirrorInvalidSubjectFilter", { err: `${ERR_BAD_SUBJECT} ${tr.src}` });
      const e = mappingError(tr.src, tr.dest);
      if (e !== undefined) return err("JSMirrorInvalidTransformDestination", { err: e });
      for (let j = 0; j < trs.length; j++) if (i !== j && subjectsCollide(tr.src, trs[j]!.src)) return err("JSMirrorOverlappingSubjectFilters");
    }
    if (m.external === undefined) {
      if (!isValidAssetName(m.name)) return err("JSMirrorInvalidStreamName");
      const origin = ctx.lookup(m.name);
      if (origin !== undefined) {
        streamSubs.push(...(origin.subjects ?? []));
        const oms = origin.max_msg_size ?? -1;
        const mms = cfg.max_msg_size ?? -1;
        if (mms > 0 && oms > 0 && mms < oms) return err("JSMirrorMaxMessageSizeTooBigErr");
        if (pedantic && cfg.mirror_direct !== origin.allow_direct) return pedanticErr("origin stream has direct get set, mirror has it disabled");
        cfg.mirror_direct = origin.allow_direct;
      }
    } else {
      if (m.external.deliver) deliveryPrefixes.push(m.external.deliver);
      if (m.external.api) apiPrefixes.push(m.external.api);
    }
  }

  const inames = new Set<string>();
  for (const src of cfg.sources ?? []) {
    if (src === undefined || src === null || !isValidAssetName(src.name)) return err("JSSourceInvalidStreamName");
    const iname = sourceIndexName(src);
    if (inames.has(iname)) return err("JSSourceDuplicateDetected");
    inames.add(iname);
    if (src.filter_subject && (src.subject_transforms?.length ?? 0) > 0) return err("JSSourceMultipleFiltersNotAllowed");
    const trs = src.subject_transforms ?? [];
    for (const tr of trs) {
      if (tr.src !== "" && !isValidSubject(tr.src)) return err("JSSourceInvalidSubjectFilter", { err: `${ERR_BAD_SUBJECT} ${tr.src}` });
      const e = mappingError(tr.src, tr.dest);
      if (e !== undefined) return err("JSSourceInvalidTransformDestination", { err: e });
    }
    for (let i = 0; i < trs.length; i++) {
      for (let j = 0; j < trs.length; j++) if (i !== j && isSubsetMatch(trs[i]!.src, trs[j]!.src)) return err("JSSourceOverlappingSubjectFilters");
    }
    if (src.consumer !== undefined) return invalid("sourcing through a durable consumer is not supported");
    if (src.external === undefined) {
      const origin = ctx.lookup(src.name);
      if (origin !== undefined) {
        streamSubs.push(...(origin.subjects ?? []));
        const oms = origin.max_msg_size ?? -1;
        const mms = cfg.max_msg_size ?? -1;
        if (mms > 0 && oms > 0 && mms < oms) return err("JSSourceMaxMessageSizeTooBigErr");
      }
    } else {
      if (src.external.deliver) deliveryPrefixes.push(src.external.deliver);
      if (src.external.api) apiPrefixes.push(src.external.api);
    }
  }

  for (const pfx of deliveryPrefixes) {
    if (!isValidPublishSubject(pfx)) return err("JSStreamInvalidExternalDeliverySubjErrF", { prefix: pfx });
    for (const sub of streamSubs) if (subjectsCollide(sub, `${pfx}.${sub}`)) return err("JSStreamExternalDelPrefixOverlapsErrF", { prefix: pfx, subject: sub });
  }
  for (const pfx of apiPrefixes) {
    if (!isValidPublishSubject(pfx)) return invalid(`stream external api prefix ${JSON.stringify(pfx)} must be a valid subject without wildcards`);
    if (subjectsCollide(pfx, "$JS.API")) return err("JSStreamExternalApiOverlapErrF", { prefix: pfx, subject: "$JS.API" });
  }

  // cycles through sources and mirrors of streams that exist
  {
    const toVisit: StreamConfig[] = [cfg];
    const visited = new Set<string>();
    const overlaps = (subjects: string[] | undefined, filter: string | undefined) =>
      !filter || (subjects ?? []).some((s) => subjectsCollide(s, filter));
    while (toVisit.length > 0) {
      const c = toVisit.shift()!;
      visited.add(c.name);
      for (const src of c.sources ?? []) {
        if (src.external !== undefined) continue;
        if (visited.has(src.name)) {
          if (overlaps(c.subjects, src.filter_subject)) return invalid("detected cycle");
        } else {
          const o = ctx.lookup(src.name);
          if (o !== undefined) toVisit.push(o);
        }
      }
      const mm = c.mirror;
      if (mm !== undefined && mm.external === undefined) {
        if (visited.has(mm.name)) return invalid("detected cycle");
        const o = ctx.lookup(mm.name);
        if (o !== undefined) toVisit.push(o);
      }
    }
  }

  if ((cfg.subjects?.length ?? 0) === 0) {
    if (cfg.mirror === undefined && (cfg.sources?.length ?? 0) === 0) cfg.subjects = [cfg.name];
  } else {
    if (cfg.mirror !== undefined) return err("JSMirrorWithSubjectsErr");
    const seen = new Set<string>();
    const subs = cfg.subjects!;
    for (let i = 0; i < subs.length; i++) {
      const subj = subs[i]!;
      if (!isValidSubject(subj)) return invalid("invalid subject");
      if (seen.has(subj)) return invalid("duplicate subjects detected");
      if (subj === ">") {
        if (!cfg.no_ack) return invalid("capturing all subjects requires no-ack to be true");
        if (cfg.num_replicas !== 1) return invalid("capturing all subjects requires replicas of 1");
      }
      if (!cfg.no_ack) {
        for (const ns of ["$JS.>", "$JSC.>", "$NRG.>"]) {
          if (subjectsCollide(subj, ns) && !isSubsetMatch(subj, "$JS.EVENT.>")) return invalid("subjects that overlap with jetstream api require no-ack to be true");
        }
        if (subjectsCollide(subj, "$SYS.>") && !isSubsetMatch(subj, "$SYS.ACCOUNT.>")) return invalid("subjects that overlap with system api require no-ack to be true");
      }
      for (const t of subs.slice(i + 1)) {
        if (subjectsCollide(t, subj)) return invalid(`subject ${JSON.stringify(subj)} overlaps with ${JSON.stringify(t)}`);
      }
      seen.add(subj);
    }
  }

  if ((cfg.subjects?.length ?? 0) === 0 && (cfg.sources?.length ?? 0) === 0 && cfg.mirror === undefined) {
    return invalid("stream needs at least one configured subject or be a source/mirror");
  }

  if (ctx.maxBytesRequired && cfg.max_bytes <= 0) return err("JSStreamMaxBytesRequired");
  if ((ctx.maxStreamBytes ?? 0) > 0 && cfg.max_bytes > ctx.maxStreamBytes!) return err("JSStreamMaxStreamBytesExceeded");

  if (cfg.subject_transform !== undefined) {
    const st = cfg.subject_transform;
    if (st.src !== "" && !isValidSubject(st.src)) return err("JSStreamTransformInvalidSource", { err: `${ERR_BAD_SUBJECT} ${st.src}` });
    const e = mappingError(st.src, st.dest);
    if (e !== undefined) return err("JSStreamTransformInvalidDestination", { err: e });
  }

  if (cfg.republish !== undefined) {
    const rp = cfg.republish;
    if (!rp.src) {
      if (pedantic) return pedanticErr("republish source can not be empty");
      rp.src = ">";
    }
    if (rp.dest === ">" && rp.src === ">" && cfg.subject_transform !== undefined && cfg.subjects?.length === 1 && cfg.subject_transform.src === cfg.subjects[0]) {
      if (pedantic) return pedanticErr("implicit republish based on subject transform");
      rp.src = cfg.subject_transform.dest;
      rp.dest = cfg.subject_transform.dest;
    }
    for (const subj of cfg.subjects ?? []) {
      if (subjectsCollide(rp.dest, subj)) return invalid("stream configuration for republish destination forms a cycle");
    }
    try {
      SubjectTransform.create(rp.src, rp.dest);
    } catch {
      return invalid(`stream configuration for republish with transform from '${rp.src}' to '${rp.dest}' not valid`);
    }
  }

  if (cfg.placement !== undefined && Object.keys(cfg.placement).length === 0) delete cfg.placement;
  if (cfg.placement?.preferred) return invalid("preferred server not permitted in placement");

  return { cfg };
}

function mappingError(src: string, dest: string): string | undefined {
  try {
    validateMapping(src, dest);
    return undefined;
  } catch (e) {
    if (e instanceof TransformError) return e.message;
    throw e;
  }
}

/** configUpdateCheck: the new configuration, checked against the old one; an ApiError otherwise. */
export function checkStreamUpdate(old: StreamConfig, input: StreamConfig, ctx: ConfigContext, pedantic = false): Result {
  const r = checkStreamConfig(input, ctx, pedantic);
  if (r.error !== undefined) return r;
  const cfg = r.cfg;
  if (cfg.name !== old.name) return invalid("stream configuration name must match original");
  if (cfg.num_replicas > 1) return err("JSStreamReplicasNotSupportedErr");
  if (cfg.storage !== old.storage) return invalid("stream configuration update can not change storage type");
  if (cfg.retention !== old.retention && (old.retention === "workqueue" || cfg.retention === "workqueue")) {
    return invalid("stream configuration update can not change retention policy to/from workqueue");
  }
  if (!cfg.sealed && old.sealed) return invalid("stream configuration update can not unseal a sealed stream");
  if (!cfg.deny_delete && old.deny_delete) return invalid("stream configuration update can not cancel deny message deletes");
  if (!cfg.deny_purge && old.deny_purge) return invalid("stream configuration update can not cancel deny purge");
  if (cfg.mirror !== undefined && JSON.stringify(cfg.mirror) !== JSON.stringify(old.mirror)) return err("JSStreamMirrorNotUpdatableErr");
  if (old.allow_msg_ttl && !cfg.allow_msg_ttl) return invalid("message TTL status can not be disabled");
  if (cfg.sealed) {
    cfg.max_age = 0;
    cfg.discard = "new";
    cfg.deny_delete = true;
    cfg.deny_purge = true;
    cfg.allow_rollup_hdrs = false;
  }
  return { cfg };
}

// ---------------------------------------------------------------- output

/** The configuration as nats-server's JSON encoder writes it (field order, omitempty). */
export function streamConfigJson(c: StreamConfig): Record<string, unknown> {
  const o: Record<string, unknown> = { name: c.name };
  if (c.description) o.description = c.description;
  if (c.subjects && c.subjects.length > 0) o.subjects = [...c.subjects];
  o.retention = c.retention;
  o.max_consumers = c.max_consumers;
  o.max_msgs = c.max_msgs;
  o.max_bytes = c.max_bytes;
  o.max_age = c.max_age;
  o.max_msgs_per_subject = c.max_msgs_per_subject;
  if (c.max_msg_size) o.max_msg_size = c.max_msg_size;
  o.discard = c.discard;
  o.storage = c.storage;
  o.num_replicas = c.num_replicas;
  if (c.no_ack) o.no_ack = true;
  if (c.duplicate_window) o.duplicate_window = c.duplicate_window;
  if (c.placement) o.placement = c.placement;
  if (c.mirror) o.mirror = sourceJson(c.mirror);
  if (c.sources && c.sources.length > 0) o.sources = c.sources.map(sourceJson);
  o.compression = c.compression;
  if (c.first_seq) o.first_seq = c.first_seq;
  if (c.subject_transform) o.subject_transform = { src: c.subject_transform.src, dest: c.subject_transform.dest };
  if (c.republish) {
    const r: Record<string, unknown> = {};
    if (c.republish.src) r.src = c.republish.src;
    r.dest = c.republish.dest;
    if (c.republish.headers_only) r.headers_only = true;
    o.republish = r;
  }
  o.allow_direct = c.allow_direct;
  o.mirror_direct = c.mirror_direct;
  if (c.discard_new_per_subject) o.discard_new_per_subject = true;
  o.sealed = c.sealed;
  o.deny_delete = c.deny_delete;
  o.deny_purge = c.deny_purge;
  o.allow_rollup_hdrs = c.allow_rollup_hdrs;
  const cl: Record<string, unknown> = {};
  if (c.consumer_limits.inactive_threshold) cl.inactive_threshold = c.consumer_limits.inactive_threshold;
  if (c.consumer_limits.max_ack_pending) cl.max_ack_pending = c.consumer_limits.max_ack_pending;
  o.consumer_limits = cl;
  o.allow_msg_ttl = c.allow_msg_ttl;
  if (c.subject_delete_marker_ttl) o.subject_delete_marker_ttl = c.subject_delete_marker_ttl;
  if (c.metadata && Object.keys(c.metadata).length > 0) {
    const md: Record<string, string> = {};
    for (const k of Object.keys(c.metadata).sort()) md[k] = c.metadata[k]!;
    o.metadata = md;
  }
  return o;
}

function sourceJson(s: StreamSource): Record<string, unknown> {
  const o: Record<string, unknown> = { name: s.name };
  if (s.opt_start_seq) o.opt_start_seq = s.opt_start_seq;
  if (s.opt_start_time) o.opt_start_time = s.opt_start_time;
  if (s.filter_subject) o.filter_subject = s.filter_subject;
  if (s.subject_transforms && s.subject_transforms.length > 0) o.subject_transforms = s.subject_transforms.map((t) => ({ src: t.src, dest: t.dest }));
  if (s.external) o.external = { api: s.external.api, deliver: s.external.deliver };
  if (s.consumer) o.consumer = { ...s.consumer };
  return o;
}

/** Two configurations are the same when their API forms are (nats-server's DeepEqual for idempotent create). */
export function sameConfig(a: StreamConfig, b: StreamConfig): boolean {
  return JSON.stringify(streamConfigJson(a)) === JSON.stringify(streamConfigJson(b));
}

/** A configuration read back from disk (meta.json): decoded and normalised, or undefined if unusable. */
export function configFromJson(v: unknown): StreamConfig | undefined {
  try {
    const { cfg } = decodeStreamConfig(JSON.stringify(v));
    return cfg;
  } catch {
    return undefined;
  }
}

export { hasWildcard };
