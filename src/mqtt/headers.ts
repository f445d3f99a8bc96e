// MQTT 5 properties ↔ NATS headers. An MQTT publish's user properties become NATS headers (and
// its content type a `Content-Type` header); NATS headers become MQTT 5 user properties on the
// way out. Names and values are byte strings (latin1), so UTF-8 passes through unchanged.
import type { Properties } from "./packets.js";

const CONTENT_TYPE = "Content-Type";

function clean(s: string): string {
  // a header line cannot hold CR or LF
  return /[\r\n]/.test(s) ? s.replace(/[\r\n]+/g, " ") : s;
}

/** The NATS header block for an MQTT publish's properties; undefined when it has none to carry. */
export function propsToHeaders(p: Properties | undefined): Buffer | undefined {
  if (p === undefined) return undefined;
  const ups = p.userProperties;
  if (ups === undefined && p.contentType === undefined) return undefined;
  let h = "NATS/1.0\r\n";
  if (p.contentType !== undefined) h += `${CONTENT_TYPE}: ${clean(p.contentType)}\r\n`;
  if (ups !== undefined) {
    for (const [k, v] of ups) {
      const name = clean(k).replace(/[:\s]/g, "_");
      if (name.length === 0) continue;
      h += `${name}: ${clean(v)}\r\n`;
    }
  }
  return Buffer.from(h + "\r\n", "latin1");
}

let lastMsg: Buffer | null = null;
let lastLen = -1;
let lastProps: Properties | undefined;

/** A NATS message's headers as MQTT 5 properties (user properties, content type). */
export function headersToProps(msg: Buffer, hdrLen: number): Properties | undefined {
  if (hdrLen <= 0) return undefined;
  // a message fanned out to many sessions is converted once
  if (msg === lastMsg && hdrLen === lastLen) return lastProps;
  const text = msg.latin1Slice(0, hdrLen);
  const lines = text.split("\r\n");
  const ups: [string, string][] = [];
  let contentType: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    const c = line.indexOf(":");
    if (c <= 0) continue;
    const k = line.slice(0, c).trim();
    const v = line.slice(c + 1).trim();
    if (k === CONTENT_TYPE && contentType === undefined) contentType = v;
    else ups.push([k, v]);
  }
  let p: Properties | undefined;
  if (ups.length > 0 || contentType !== undefined) {
    p = {};
    if (contentType !== undefined) p.contentType = contentType;
    if (ups.length > 0) p.userProperties = ups;
  }
  lastMsg = msg;
  lastLen = hdrLen;
  lastProps = p;
  return p;
}
