// Message gets: the request shape shared by STREAM.MSG.GET and DIRECT.GET, and direct get
// itself ($JS.API.DIRECT.GET.<stream> with a JSON request, $JS.API.DIRECT.GET.<stream>.<subject>
// for the last message on a subject). Direct get answers with the stored message, its headers
// extended with Nats-Stream, Nats-Subject, Nats-Sequence and Nats-Time-Stamp, or a status-only
// message (404 Message Not Found, 408 for bad requests); batch and multi_last requests end with
// a 204 EOB status.

import { appendHeaders, encodeHeaders, H, statusHeaders } from "./headers.js";
import { isStoreError, type StoredMsg, type StreamStore } from "./store/index.js";
import type { Stream } from "./stream.js";
import { parseRfc3339, rfc3339Nano } from "./time.js";
import { toWire } from "./subjects.js";

export interface MsgGetRequest {
  seq: number;
  last_by_subj: string;
  next_by_subj: string;
  batch: number;
  max_bytes: number;
  /** ns since the epoch, or undefined */
  start_time: bigint | undefined;
  multi_last: string[];
  up_to_seq: number;
  up_to_time: bigint | undefined;
  no_hdrs: boolean;
}

/** Decodes a message-get request; throws Error (its message is the JSON error) when malformed. */
export function decodeMsgGetRequest(body: string): MsgGetRequest {
  const v: unknown = JSON.parse(body);
  const o = (v === null ? {} : v) as Record<string, unknown>;
  if (typeof o !== "object" || Array.isArray(o)) throw new Error("json: cannot unmarshal into Go value of type server.JSApiMsgGetRequest");
  const num = (k: string, unsigned: boolean): number => {
    const x = o[k];
    if (x === undefined || x === null) return 0;
    // beyond 64 bits Go's decoder refuses the number as well
    if (typeof x !== "number" || !Number.isInteger(x) || (unsigned ? x < 0 || x >= 2 ** 64 : x >= 2 ** 63 || x < -(2 ** 63))) {
      throw new Error(`json: cannot unmarshal ${typeof x === "number" ? "number " + x : typeof x} into Go struct field JSApiMsgGetRequest.${k} of type ${unsigned ? "uint64" : "int"}`);
    }
    return x;
  };
  const str = (k: string): string => {
    const x = o[k];
    if (x === undefined || x === null) return "";
    if (typeof x !== "string") throw new Error(`json: cannot unmarshal ${typeof x} into Go struct field JSApiMsgGetRequest.${k} of type string`);
    return x;
  };
  const time = (k: string): bigint | undefined => {
    const s = str(k);
    if (s === "") return undefined;
    const t = parseRfc3339(s);
    if (t === undefined) throw new Error(`parsing time ${JSON.stringify(JSON.stringify(s))} as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse`);
    return t;
  };
  const ml = o.multi_last;
  if (ml !== undefined && ml !== null && (!Array.isArray(ml) || ml.some((x) => typeof x !== "string"))) {
    throw new Error("json: cannot unmarshal into Go struct field JSApiMsgGetRequest.multi_last of type []string");
  }
  const nh = o.no_hdrs;
  return {
    seq: num("seq", true),
    last_by_subj: toWire(str("last_by_subj")),
    next_by_subj: toWire(str("next_by_subj")),
    batch: num("batch", false),
    max_bytes: num("max_bytes", false),
    start_time: time("start_time"),
    multi_last: ((ml as string[] | undefined | null) ?? []).map(toWire),
    up_to_seq: num("up_to_seq", true),
    up_to_time: time("up_to_time"),
    no_hdrs: nh === true,
  };
}

/** The message a single get asks for (seq, next_by_subj from seq, last_by_subj, start_time). */
export function loadForGet(store: StreamStore, req: MsgGetRequest): StoredMsg | undefined {
  const seq = req.start_time !== undefined ? store.getSeqFromTime(req.start_time) : req.seq;
  if (seq > 0 && req.next_by_subj === "") return store.loadMsg(seq);
  if (req.next_by_subj !== "") return store.loadNextMsg(req.next_by_subj, seq);
  return store.loadLastMsg(req.last_by_subj);
}

const EMPTY = Buffer.alloc(0);
const DIRECT_PREFIX_LEN = "$JS.API.DIRECT.GET.".length;

function reply(stream: Stream, to: string, hdr: Buffer, data: Buffer = EMPTY): void {
  stream.send(to, data.length === 0 ? hdr : Buffer.concat([hdr, data]), hdr.length);
}

function status(stream: Stream, to: string, code: number, text: string, fields: [string, string][] = []): void {
  reply(stream, to, statusHeaders(code, text, fields));
}

/** The headers of a direct-get response for a stored message. */
function messageHeaders(name: string, m: StoredMsg, extra: [string, string][]): Buffer {
  const fields: [string, string][] = [
    [H.Stream, toWire(name)],
    [H.Subject, m.subject],
    [H.Sequence, String(m.seq)],
    [H.TimeStamp, rfc3339Nano(m.ts)],
    ...extra,
  ];
  return m.hdr === undefined || m.hdr.length === 0 ? encodeHeaders(fields) : appendHeaders(m.hdr, fields);
}

/**
 * The reply to a single get of a message without headers of its own, in one buffer: the header
 * block messageHeaders() would encode, then the payload.
 */
function replyPlain(stream: Stream, to: string, m: StoredMsg): void {
  const h = `NATS/1.0\r\n${H.Stream}: ${toWire(stream.name)}\r\n${H.Subject}: ${m.subject}\r\n${H.Sequence}: ${m.seq}\r\n${H.TimeStamp}: ${rfc3339Nano(m.ts)}\r\n\r\n`;
  const data = m.data;
  const out = Buffer.allocUnsafe(h.length + data.length);
  out.latin1Write(h, 0, h.length);
  data.copy(out, h.length);
  stream.send(to, out, h.length);
}

/** Handles a request on $JS.API.DIRECT.GET.<stream>[.<subject>] (the stream's queue subscription). */
export function handleDirectGet(stream: Stream, subject: string, replyTo: string, msg: Buffer, hdrLen: number): void {
  // the stream's own name, or its origin's for a mirror answering with mirror_direct
  const nameEnd = subject.indexOf(".", DIRECT_PREFIX_LEN);
  const prefixLen = nameEnd < 0 ? subject.length : nameEnd;
  const key = subject.length > prefixLen + 1 ? subject.slice(prefixLen + 1) : "";
  if (key !== "" && msg.length <= hdrLen) {
    // kv.get(): the last message on the subject in the request subject, with no body to decode
    const m = stream.store.loadLastMsg(key);
    if (m === undefined) return status(stream, replyTo, 404, "Message Not Found");
    if (m.hdr === undefined || m.hdr.length === 0) return replyPlain(stream, replyTo, m);
    return reply(stream, replyTo, messageHeaders(stream.name, m, []), m.data);
  }
  const body = msg.length > hdrLen ? msg.toString("utf8", hdrLen) : "";
  let req: MsgGetRequest;
  if (subject.length > prefixLen) {
    // last message for the subject in the request subject
    try {
      req = decodeMsgGetRequest(body.trim() === "" ? "{}" : body);
    } catch {
      return status(stream, replyTo, 408, "Malformed Request");
    }
    if (key === "") return status(stream, replyTo, 408, "Bad Request");
    if (req.last_by_subj || req.next_by_subj || req.multi_last.length > 0 || req.seq !== 0 || req.batch !== 0 ||
      req.start_time !== undefined || req.up_to_seq !== 0 || req.up_to_time !== undefined) {
      return status(stream, replyTo, 408, "Bad Request");
    }
    req.last_by_subj = key;
  } else {
    if (body.trim() === "") return status(stream, replyTo, 408, "Empty Request");
    try {
      req = decodeMsgGetRequest(body);
    } catch {
      return status(stream, replyTo, 408, "Malformed Request");
    }
    if (req.seq === 0 && req.last_by_subj === "" && req.next_by_subj === "" && req.multi_last.length === 0 && req.start_time === undefined) {
      return status(stream, replyTo, 408, "Empty Request");
    }
    if ((req.seq > 0 && req.last_by_subj !== "") ||
      (req.seq > 0 && req.start_time !== undefined) ||
      (req.start_time !== undefined && req.last_by_subj !== "") ||
      (req.last_by_subj !== "" && req.next_by_subj !== "") ||
      (req.last_by_subj !== "" && req.batch > 0) ||
      (req.last_by_subj !== "" && req.multi_last.length > 0) ||
      (req.next_by_subj !== "" && req.multi_last.length > 0) ||
      (req.up_to_seq > 0 && req.up_to_time !== undefined)) {
      return status(stream, replyTo, 408, "Bad Request");
    }
  }
  if (req.multi_last.length > 0) return directMulti(stream, replyTo, req);
  directGet(stream, replyTo, req);
}

function directGet(stream: Stream, to: string, req: MsgGetRequest): void {
  const store = stream.store;
  const name = stream.name;
  if (req.batch <= 0) {
    const m = loadForGet(store, req);
    if (m === undefined) return status(stream, to, 404, "Message Not Found");
    if (!req.no_hdrs && (m.hdr === undefined || m.hdr.length === 0)) return replyPlain(stream, to, m);
    const hdr = req.no_hdrs ? EMPTY : messageHeaders(name, m, []);
    if (hdr.length === 0) stream.send(to, m.data, 0);
    else reply(stream, to, hdr, m.data);
    return;
  }
  // batch: from seq (or start_time) on, optionally filtered by next_by_subj
  let seq = req.start_time !== undefined ? store.getSeqFromTime(req.start_time) : req.seq;
  const filter = req.next_by_subj || undefined;
  let np = store.numPending(seq, filter);
  const mb = req.max_bytes > 0 ? req.max_bytes : stream.maxPending;
  let sent = 0;
  let bytes = 0;
  let lseq = 0;
  for (let i = 0; i < req.batch; i++) {
    const m = store.loadNextMsg(filter, seq);
    if (m === undefined) {
      if (i > 0) break;
      return status(stream, to, 404, "Message Not Found");
    }
    seq = m.seq + 1;
    if (np > 0) np--;
    const hdr = req.no_hdrs ? EMPTY : messageHeaders(name, m, [[H.NumPending, String(np)], [H.LastSequence, String(lseq)]]);
    lseq = m.seq;
    if (hdr.length === 0) stream.send(to, m.data, 0);
    else reply(stream, to, hdr, m.data);
    sent++;
    bytes += m.subject.length + (m.hdr?.length ?? 0) + m.data.length;
    if (bytes >= mb) break;
  }
  if (sent > 0 || lseq > 0) np = store.numPending(seq, filter);
  status(stream, to, 204, "EOB", [[H.NumPending, String(np)], [H.LastSequence, String(lseq)]]);
}

function directMulti(stream: Stream, to: string, req: MsgGetRequest): void {
  const store = stream.store;
  let upTo = req.up_to_seq;
  if (req.up_to_time !== undefined) {
    upTo = store.getSeqFromTime(req.up_to_time);
    if (upTo <= store.state().first_seq) return status(stream, to, 404, "No Results");
    upTo--;
  }
  if (upTo === 0) upTo = store.state().last_seq;
  let seqs: number[];
  try {
    seqs = store.multiLastSeqs(req.multi_last, upTo, 1024);
  } catch (e) {
    if (isStoreError(e, "TOO_MANY_RESULTS")) return status(stream, to, 413, "Too Many Results");
    throw e;
  }
  const mb = req.max_bytes > 0 ? req.max_bytes : stream.maxPending;
  let lseq = 0;
  let bytes = 0;
  let sent = 0;
  const total = seqs.length;
  for (const s of seqs) {
    const m = store.loadMsg(s);
    if (m === undefined) continue;
    const np = total - sent - 1;
    const hdr = messageHeaders(stream.name, m, [[H.NumPending, String(np)], [H.LastSequence, String(lseq)]]);
    lseq = m.seq;
    reply(stream, to, hdr, m.data);
    sent++;
    bytes += m.subject.length + (m.hdr?.length ?? 0) + m.data.length;
    if (bytes >= mb || (req.batch > 0 && sent >= req.batch)) break;
  }
  if (sent === 0) return status(stream, to, 404, "No Results");
  status(stream, to, 204, "EOB", [[H.NumPending, String(total - sent)], [H.LastSequence, String(lseq)], [H.UpToSequence, String(upTo)]]);
}
