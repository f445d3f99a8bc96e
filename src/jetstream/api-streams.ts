// API handlers for the account and its streams: INFO, STREAM.CREATE|UPDATE|INFO|DELETE|PURGE,
// STREAM.NAMES, STREAM.LIST, STREAM.MSG.GET|DELETE. The checks, their order and the errors are
// nats-server's (jetstream_api.go), for a single server.

import { streamActionAdvisory } from "./advisories.js";
import type { ApiRequest, ApiRouter } from "./api.js";
import { decodeMsgGetRequest, loadForGet } from "./direct.js";
import { nowNs, type PurgeOptions } from "./store/index.js";
import type { Stream } from "./stream.js";
import { checkStreamConfig, checkStreamUpdate, decodeStreamConfig, JsonError, type StreamConfig } from "./stream-config.js";
import { fromWire, subjectsCollide, toWire } from "./subjects.js";
import { rfc3339Nano } from "./time.js";

const T = "io.nats.jetstream.api.v1.";
export const TYPES = {
  accountInfo: T + "account_info_response",
  streamCreate: T + "stream_create_response",
  streamUpdate: T + "stream_update_response",
  streamInfo: T + "stream_info_response",
  streamDelete: T + "stream_delete_response",
  streamPurge: T + "stream_purge_response",
  streamNames: T + "stream_names_response",
  streamList: T + "stream_list_response",
  msgGet: T + "stream_msg_get_response",
  msgDelete: T + "stream_msg_delete_response",
} as const;

/** nats-server's JSApiNamesLimit and JSApiListLimit. */
export const NAMES_LIMIT = 1024;
export const LIST_LIMIT = 256;

export function registerStreamApi(r: ApiRouter): void {
  r.add("INFO", TYPES.accountInfo, accountInfo);
  r.add("STREAM.CREATE.*", TYPES.streamCreate, streamCreate);
  r.add("STREAM.UPDATE.*", TYPES.streamUpdate, streamUpdate);
  r.add("STREAM.INFO.*", TYPES.streamInfo, streamInfo);
  r.add("STREAM.DELETE.*", TYPES.streamDelete, streamDelete);
  r.add("STREAM.PURGE.*", TYPES.streamPurge, streamPurge);
  r.add("STREAM.NAMES", TYPES.streamNames, streamNames);
  r.add("STREAM.LIST", TYPES.streamList, streamList);
  r.add("STREAM.MSG.GET.*", TYPES.msgGet, msgGet);
  r.add("STREAM.MSG.DELETE.*", TYPES.msgDelete, msgDelete);
}

/** A JSON request body as an object, or undefined (with the error sent) when it does not decode. */
function jsonBody(req: ApiRequest, extra?: Record<string, unknown>): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(req.text());
    if (v === null) return {};
    if (typeof v !== "object" || Array.isArray(v)) throw new Error(`json: cannot unmarshal ${Array.isArray(v) ? "array" : typeof v} into Go value`);
    return v as Record<string, unknown>;
  } catch (e) {
    req.fail("JSInvalidJSONErr", { err: (e as Error).message }, extra);
    return undefined;
  }
}

function intField(o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new JsonError(`json: cannot unmarshal ${typeof v} into Go struct field .${k} of type int`);
  return v;
}

function strField(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new JsonError(`json: cannot unmarshal ${typeof v} into Go struct field .${k} of type string`);
  return v;
}

function now(): string {
  return rfc3339Nano(nowNs());
}

/** A stream's info for create/update/info/list responses. */
function streamInfoFields(req: ApiRequest, s: Stream, withDomain: boolean, opts?: Parameters<Stream["info"]>[0]) {
  const { info, paged } = s.info(opts);
  if (withDomain && req.js.domain) info.domain = req.js.domain;
  info.ts = now();
  return { info, paged };
}

// ---------------------------------------------------------------- account

function accountInfo(req: ApiRequest): void {
  req.respond(req.jsa.info());
}

// ---------------------------------------------------------------- create / update

function decodeConfig(req: ApiRequest): { cfg: StreamConfig; pedantic: boolean; unsupported: string[] } | undefined {
  try {
    const d = decodeStreamConfig(req.text());
    return { cfg: d.cfg, pedantic: d.extras.pedantic, unsupported: d.unsupported };
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    req.fail("JSInvalidJSONErr", { err: e.message });
    return undefined;
  }
}

function streamCreate(req: ApiRequest): void {
  const d = decodeConfig(req);
  if (d === undefined) return;
  const name = req.tokens[2]!;
  if (name !== d.cfg.name) return req.fail("JSStreamMismatchErr");
  if (/[\\/]/.test(name)) return req.fail("JSStreamNameContainsPathSeparatorsErr");
  if (d.cfg.sealed) return req.fail("JSStreamInvalidConfigF", { err: "stream configuration for create can not be sealed" });
  if (d.cfg.mirror_direct && d.cfg.mirror === undefined) return req.fail("JSStreamInvalidConfigF", { err: "stream has no mirror but does have mirror direct" });
  if (d.unsupported.length > 0) return req.fail("JSStreamInvalidConfigF", { err: `${d.unsupported.join(", ")} not supported` });
  const jsa = req.jsa;
  const checked = checkStreamConfig(d.cfg, jsa.configContext(), d.pedantic);
  if (checked.error !== undefined) return req.failWith(checked.error);
  const unsup = unsupportedFeatures(checked.cfg);
  if (unsup !== undefined) return req.fail("JSStreamInvalidConfigF", { err: unsup });
  const r = jsa.addStream(checked.cfg);
  if ("error" in r) return req.failWith(r.error);
  const { info } = streamInfoFields(req, r.stream, false);
  // nats-server says did_create for an idempotent create of the same configuration too
  req.respond({ ...info, did_create: true });
}

/** Configuration Junction accepts but cannot honour yet (refused rather than ignored): none at the moment. */
function unsupportedFeatures(_cfg: StreamConfig): string | undefined {
  return undefined;
}

function streamUpdate(req: ApiRequest): void {
  const d = decodeConfig(req);
  if (d === undefined) return;
  const jsa = req.jsa;
  const checked = checkStreamConfig(d.cfg, jsa.configContext(), d.pedantic);
  if (checked.error !== undefined) return req.failWith(checked.error);
  const name = req.tokens[2]!;
  if (name !== checked.cfg.name) return req.fail("JSStreamMismatchErr");
  const s = jsa.streams.get(name);
  if (s === undefined) return req.fail("JSStreamNotFoundErr");
  if (d.unsupported.length > 0) return req.fail("JSStreamInvalidConfigF", { err: `${d.unsupported.join(", ")} not supported` });
  const u = checkStreamUpdate(s.cfg, d.cfg, jsa.configContext(), d.pedantic);
  if (u.error !== undefined) return req.failWith(u.error);
  const cfg = u.cfg;
  const unsup = unsupportedFeatures(cfg);
  if (unsup !== undefined) return req.fail("JSStreamInvalidConfigF", { err: unsup });
  // limits: only what max_bytes grows by is reserved anew
  const diff = Math.max(0, Math.max(cfg.max_bytes, 0) - Math.max(s.cfg.max_bytes, 0));
  const limErr = jsa.checkStreamLimits({ ...cfg, max_bytes: diff }, Math.max(0, cfg.max_bytes - diff));
  if (limErr !== undefined) return req.failWith(limErr);
  if (jsa.overlapsOthers(cfg)) return req.fail("JSStreamSubjectOverlapErr");
  s.update(cfg);
  streamActionAdvisory(jsa.account, s.name, "modify", req.js.domain);
  const { info } = streamInfoFields(req, s, true);
  req.respond(info);
}

// ---------------------------------------------------------------- info / names / list

function streamInfo(req: ApiRequest): void {
  const paged0 = { total: 0, offset: 0, limit: 0 };
  let details = false;
  let subjectsFilter = "";
  let offset = 0;
  if (req.isJson()) {
    const o = jsonBody(req, paged0);
    if (o === undefined) return;
    try {
      details = o.deleted_details === true;
      subjectsFilter = strField(o, "subjects_filter");
      offset = Math.max(0, intField(o, "offset"));
    } catch (e) {
      return req.fail("JSInvalidJSONErr", { err: (e as Error).message }, paged0);
    }
  }
  const s = req.jsa.streams.get(req.tokens[2]!);
  if (s === undefined) return req.fail("JSStreamNotFoundErr", undefined, paged0);
  const { info, paged } = streamInfoFields(req, s, true, { details, subjectsFilter, offset });
  req.respond({ ...(paged ?? paged0), ...info });
}

/** The names of the streams whose subjects can match `filter` (all with no filter), sorted. */
function filteredStreams(req: ApiRequest, filter: string): Stream[] {
  const out: Stream[] = [];
  for (const s of req.jsa.streams.values()) {
    if (filter === "" || (s.cfg.subjects ?? []).some((subj) => subjectsCollide(filter, subj))) out.push(s);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function pagedRequest(req: ApiRequest, extra: Record<string, unknown>): { offset: number; filter: string } | undefined {
  let offset = 0;
  let filter = "";
  if (req.isJson()) {
    const o = jsonBody(req, extra);
    if (o === undefined) return undefined;
    try {
      offset = Math.max(0, intField(o, "offset"));
      filter = strField(o, "subject");
    } catch (e) {
      req.fail("JSInvalidJSONErr", { err: (e as Error).message }, extra);
      return undefined;
    }
  }
  return { offset, filter };
}

function streamNames(req: ApiRequest): void {
  // Go's nil slice: no names is `null`, as nats-server sends it. Errors leave the list out (nats-server
  // sends it there too, but the response schema allows a list or an error, not both).
  const p = pagedRequest(req, { total: 0, offset: 0, limit: 0 });
  if (p === undefined) return;
  const all = filteredStreams(req, p.filter).map((s) => s.name);
  const offset = Math.min(p.offset, all.length);
  const page = all.slice(offset, offset + NAMES_LIMIT);
  req.respond({ total: all.length, offset, limit: NAMES_LIMIT, streams: page.length > 0 ? page : null });
}

function streamList(req: ApiRequest): void {
  const p = pagedRequest(req, { total: 0, offset: 0, limit: 0 });
  if (p === undefined) return;
  const all = filteredStreams(req, p.filter);
  const offset = Math.min(p.offset, all.length);
  const streams = all.slice(offset, offset + LIST_LIMIT).map((s) => streamInfoFields(req, s, true).info);
  req.respond({ total: all.length, offset, limit: LIST_LIMIT, streams });
}

// ---------------------------------------------------------------- delete / purge

function streamDelete(req: ApiRequest): void {
  if (!req.isEmpty()) return req.fail("JSNotEmptyRequestErr");
  const jsa = req.jsa;
  const s = jsa.streams.get(req.tokens[2]!);
  if (s === undefined) return req.fail("JSStreamNotFoundErr");
  try {
    jsa.deleteStream(s);
  } catch (e) {
    return req.fail("JSStreamDeleteErrF", { err: (e as Error).message });
  }
  req.respond({ success: true });
}

function streamPurge(req: ApiRequest): void {
  let opts: PurgeOptions | undefined;
  const zero = { purged: 0 };
  // Later nats-server releases read a body that is not a JSON object as no body, which here
  // means "purge everything": a garbled request must not empty a stream, so it stays an error
  // (as 2.9 and 2.10 answer it).
  if (!req.isJson() && req.text().length > 0) {
    return req.fail("JSInvalidJSONErr", { err: "json: cannot unmarshal the request into Go value of type server.JSApiStreamPurgeRequest" }, zero);
  }
  if (req.isJson()) {
    const o = jsonBody(req, zero);
    if (o === undefined) return;
    try {
      const seq = intField(o, "seq");
      const keep = intField(o, "keep");
      const filter = strField(o, "filter");
      if (seq < 0 || keep < 0) throw new JsonError("json: cannot unmarshal number into Go struct field of type uint64");
      if (seq > 0 && keep > 0) return req.fail("JSBadRequestErr", undefined, zero);
      opts = {};
      if (filter !== "") opts.subject = toWire(filter);
      if (seq > 0) opts.seq = seq;
      if (keep > 0) opts.keep = keep;
    } catch (e) {
      return req.fail("JSInvalidJSONErr", { err: (e as Error).message }, zero);
    }
  }
  const s = req.jsa.streams.get(req.tokens[2]!);
  if (s === undefined) return req.fail("JSStreamNotFoundErr", undefined, zero);
  if (s.cfg.sealed) return req.fail("JSStreamSealedErr", undefined, zero);
  if (s.cfg.deny_purge) return req.fail("JSStreamPurgeFailedF", { err: "stream purge not permitted" }, zero);
  const purged = s.purge(opts);
  req.respond({ success: true, purged });
}

// ---------------------------------------------------------------- messages

function msgGet(req: ApiRequest): void {
  if (req.isEmpty()) return req.fail("JSBadRequestErr");
  let r: ReturnType<typeof decodeMsgGetRequest>;
  try {
    r = decodeMsgGetRequest(req.text());
  } catch (e) {
    return req.fail("JSInvalidJSONErr", { err: (e as Error).message });
  }
  if (r.batch > 0 || r.max_bytes > 0 || r.multi_last.length > 0) return req.fail("JSBadRequestErr");
  if ((r.seq > 0 && r.last_by_subj !== "") ||
    (r.seq === 0 && r.last_by_subj === "" && r.next_by_subj === "" && r.start_time === undefined) ||
    (r.seq > 0 && r.start_time !== undefined) ||
    (r.start_time !== undefined && r.last_by_subj !== "") ||
    (r.last_by_subj !== "" && r.next_by_subj !== "")) {
    return req.fail("JSBadRequestErr");
  }
  const s = req.jsa.streams.get(req.tokens[3]!);
  if (s === undefined) return req.fail("JSStreamNotFoundErr");
  const m = loadForGet(s.store, r);
  if (m === undefined) return req.fail("JSNoMessageFoundErr");
  const message: Record<string, unknown> = { subject: fromWire(m.subject), seq: m.seq };
  if (!r.no_hdrs && m.hdr !== undefined && m.hdr.length > 0) message.hdrs = m.hdr.toString("base64");
  if (m.data.length > 0) message.data = m.data.toString("base64");
  message.time = rfc3339Nano(m.ts);
  req.respond({ message });
}

function msgDelete(req: ApiRequest): void {
  if (req.isEmpty()) return req.fail("JSBadRequestErr");
  const o = jsonBody(req);
  if (o === undefined) return;
  let seq: number;
  try {
    seq = intField(o, "seq");
    if (seq < 0) throw new JsonError(`json: cannot unmarshal number ${seq} into Go struct field JSApiMsgDeleteRequest.seq of type uint64`);
    if (o.no_erase !== undefined && o.no_erase !== null && typeof o.no_erase !== "boolean") {
      throw new JsonError("json: cannot unmarshal into Go struct field JSApiMsgDeleteRequest.no_erase of type bool");
    }
  } catch (e) {
    return req.fail("JSInvalidJSONErr", { err: (e as Error).message });
  }
  const s = req.jsa.streams.get(req.tokens[3]!);
  if (s === undefined) return req.fail("JSStreamNotFoundErr");
  if (s.cfg.sealed) return req.fail("JSStreamSealedErr");
  if (s.cfg.deny_delete) return req.fail("JSStreamMsgDeleteFailedF", { err: "message delete not permitted" });
  const removed = s.deleteMsg(seq, o.no_erase === true);
  if (!removed) return req.fail("JSSequenceNotFoundErrF", { seq });
  req.respond({ success: true });
}
