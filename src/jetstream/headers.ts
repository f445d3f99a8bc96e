// NATS header blocks: "NATS/1.0[ <status>[ <description>]]\r\nName: value\r\n...\r\n\r\n".
// Parsing is done over a latin1 view of the block (bytes preserved one char per byte) and only
// when a message has headers. Lookups are case-sensitive, as nats-server's getHeader.

export const HDR_LINE = "NATS/1.0";
const CRLF = "\r\n";

/** The headers JetStream acts on when a message is published to a stream. */
export const H = {
  MsgId: "Nats-Msg-Id",
  ExpectedStream: "Nats-Expected-Stream",
  ExpectedLastSeq: "Nats-Expected-Last-Sequence",
  ExpectedLastSubjSeq: "Nats-Expected-Last-Subject-Sequence",
  ExpectedLastSubjSeqSubj: "Nats-Expected-Last-Subject-Sequence-Subject",
  ExpectedLastMsgId: "Nats-Expected-Last-Msg-Id",
  Rollup: "Nats-Rollup",
  TTL: "Nats-TTL",
  MarkerReason: "Nats-Marker-Reason",
  Incr: "Nats-Incr",
  Schedule: "Nats-Schedule",
  Scheduler: "Nats-Scheduler",
  Stream: "Nats-Stream",
  Sequence: "Nats-Sequence",
  TimeStamp: "Nats-Time-Stamp",
  Subject: "Nats-Subject",
  LastSequence: "Nats-Last-Sequence",
  NumPending: "Nats-Num-Pending",
  UpToSequence: "Nats-UpTo-Sequence",
  MsgSize: "Nats-Msg-Size",
  StreamSource: "Nats-Stream-Source",
  RequiredApiLevel: "Nats-Required-Api-Level",
  KvOperation: "KV-Operation",
} as const;

export interface HeaderBlock {
  /** 0 when the first line has no status */
  status: number;
  description: string;
  /** name/value pairs in order (names as sent, values trimmed) */
  fields: [string, string][];
}

/** Parses a header block (the first `hdrLen` bytes of `msg`). Tolerant of a missing final CRLF. */
export function parseHeaders(msg: Buffer, hdrLen = msg.length): HeaderBlock {
  const s = msg.latin1Slice(0, hdrLen);
  const out: HeaderBlock = { status: 0, description: "", fields: [] };
  let eol = s.indexOf(CRLF);
  if (eol < 0) eol = s.length;
  const first = s.slice(0, eol);
  if (first.startsWith(HDR_LINE)) {
    const rest = first.slice(HDR_LINE.length).trim();
    if (rest.length > 0) {
      const sp = rest.indexOf(" ");
      const code = sp < 0 ? rest : rest.slice(0, sp);
      if (/^\d{3}$/.test(code)) {
        out.status = Number(code);
        out.description = sp < 0 ? "" : rest.slice(sp + 1).trim();
      }
    }
  }
  let pos = eol + 2;
  while (pos < s.length) {
    let end = s.indexOf(CRLF, pos);
    if (end < 0) end = s.length;
    if (end === pos) break;
    const line = s.slice(pos, end);
    const colon = line.indexOf(":");
    if (colon > 0) out.fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    pos = end + 2;
  }
  return out;
}

/** The first value of `name` in the header block, or undefined. */
export function getHeader(block: HeaderBlock, name: string): string | undefined {
  for (const [k, v] of block.fields) if (k === name) return v;
  return undefined;
}

/** The value of `name` in a raw header block (first `hdrLen` bytes), without parsing the rest. */
export function headerValue(msg: Buffer, hdrLen: number, name: string): string | undefined {
  if (hdrLen <= 0) return undefined;
  const s = msg.latin1Slice(0, hdrLen);
  const key = CRLF + name + ":";
  const i = s.indexOf(key);
  if (i < 0) return undefined;
  const start = i + key.length;
  let end = s.indexOf(CRLF, start);
  if (end < 0) end = s.length;
  return s.slice(start, end).trim();
}

/** Encodes a header block. Names and values are latin1 strings (one char per byte). */
export function encodeHeaders(fields: Iterable<readonly [string, string]>, status = 0, description = ""): Buffer {
  let s = HDR_LINE;
  if (status > 0) s += description ? ` ${status} ${description}` : ` ${status}`;
  s += CRLF;
  for (const [k, v] of fields) s += `${k}: ${v}${CRLF}`;
  s += CRLF;
  return Buffer.from(s, "latin1");
}

/** A status-only header block, e.g. "NATS/1.0 404 Message Not Found\r\n\r\n". */
export function statusHeaders(status: number, description: string, fields: Iterable<readonly [string, string]> = []): Buffer {
  return encodeHeaders(fields, status, description);
}

/** `hdr` (a full block, or undefined for none) with `fields` appended. Always a new buffer. */
export function appendHeaders(hdr: Buffer | undefined, fields: Iterable<readonly [string, string]>): Buffer {
  if (hdr === undefined || hdr.length === 0) return encodeHeaders(fields);
  let add = "";
  for (const [k, v] of fields) add += `${k}: ${v}${CRLF}`;
  let base = hdr.latin1Slice(0, hdr.length);
  // drop the block's final empty line, add the fields, close again
  if (base.endsWith(CRLF + CRLF)) base = base.slice(0, -2);
  else if (!base.endsWith(CRLF)) base += CRLF;
  return Buffer.from(base + add + CRLF, "latin1");
}

/** `hdr` without any `name` field (undefined when nothing is left but the first line). */
export function removeHeader(hdr: Buffer, name: string): Buffer | undefined {
  const b = parseHeaders(hdr);
  const fields = b.fields.filter(([k]) => k !== name);
  if (fields.length === b.fields.length) return hdr;
  if (fields.length === 0 && b.status === 0) return undefined;
  return encodeHeaders(fields, b.status, b.description);
}

/** Latin1 (one char per byte) to a UTF-8 decoded string, for texts shown to people. */
export function latin1ToUtf8(s: string): string {
  return Buffer.from(s, "latin1").toString("utf8");
}
