// The MQTT codec: framing (fixed header, remaining length), decoders for what clients send and
// encoders for what the server sends, 3.1.1 and 5.0. PUBLISH and the acknowledgements are on the
// hot path: they are decoded and encoded here by hand, without per-message allocation beyond the
// payload slice. (mqtt-packet, the field-standard codec, decodes ~0.6 M PUBLISH/s on this machine:
// too slow for the broker's hot path; the tests check this codec against it instead.)
import { isUtf8 } from "node:buffer";
import type {
  AckPacket, AuthPacket, ConnectPacket, DisconnectPacket, Properties, PublishPacket, SubscribePacket,
  UnsubscribePacket, Will,
} from "./packets.js";

/** A malformed packet (→ close; 5.0: DISCONNECT with `reason` first). */
export class MqttProtocolError extends Error {
  override readonly name = "MqttProtocolError";
  constructor(message: string, readonly reason = 0x81) {
    super(message);
  }
}

const MAX_REMAINING = 268_435_455;

// ---- reading

export class Reader {
  pos: number;
  constructor(readonly buf: Buffer, start = 0, readonly end = buf.length) {
    this.pos = start;
  }

  get left(): number {
    return this.end - this.pos;
  }

  need(n: number, what: string): void {
    if (this.end - this.pos < n) throw new MqttProtocolError(`packet too short reading ${what}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const b = this.buf;
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  varint(what: string): number {
    let mult = 1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const b = this.u8(what);
      v += (b & 0x7f) * mult;
      if ((b & 0x80) === 0) return v;
      mult *= 128;
    }
    throw new MqttProtocolError(`malformed variable byte integer in ${what}`);
  }

  bytes(what: string): Buffer {
    const n = this.u16(what);
    this.need(n, what);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** A UTF-8 string field, checked, as a JS string. */
  utf8(what: string): string {
    const b = this.bytes(what);
    // ASCII (client identifiers, user names): latin1 decodes it the same, without the dispatch
    return checkUtf8(b, what) ? b.latin1Slice(0, b.length) : b.toString("utf8");
  }

  /** A UTF-8 string field, checked, as a byte string (latin1: one char per byte). */
  raw(what: string): string {
    const b = this.bytes(what);
    checkUtf8(b, what);
    return b.latin1Slice(0, b.length);
  }
}

/** [MQTT-1.5.4-1/2]: well-formed UTF-8 without U+0000. Returns whether it is all ASCII. */
export function checkUtf8(b: Buffer, what: string): boolean {
  let ascii = true;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0) throw new MqttProtocolError(`${what} contains U+0000`);
    if (c >= 0x80) ascii = false;
  }
  if (!ascii && !isUtf8(b)) throw new MqttProtocolError(`${what} is not valid UTF-8`);
  return ascii;
}

// ---- properties

const enum T { Byte, U16, U32, Var, Str, Raw, Bin, Pair }

const PROPS: Record<number, [keyof Properties, T]> = {
  0x01: ["payloadFormat", T.Byte],
  0x02: ["messageExpiry", T.U32],
  0x03: ["contentType", T.Raw],
  0x08: ["responseTopic", T.Raw],
  0x09: ["correlationData", T.Bin],
  0x0b: ["subscriptionIds", T.Var],
  0x11: ["sessionExpiry", T.U32],
  0x12: ["assignedClientId", T.Str],
  0x13: ["serverKeepAlive", T.U16],
  0x15: ["authMethod", T.Str],
  0x16: ["authData", T.Bin],
  0x17: ["requestProblemInfo", T.Byte],
  0x18: ["willDelay", T.U32],
  0x19: ["requestResponseInfo", T.Byte],
  0x1a: ["responseInfo", T.Str],
  0x1c: ["serverReference", T.Str],
  0x1f: ["reasonString", T.Str],
  0x21: ["receiveMaximum", T.U16],
  0x22: ["topicAliasMaximum", T.U16],
  0x23: ["topicAlias", T.U16],
  0x24: ["maximumQoS", T.Byte],
  0x25: ["retainAvailable", T.Byte],
  0x26: ["userProperties", T.Pair],
  0x27: ["maximumPacketSize", T.U32],
  0x28: ["wildcardSubAvailable", T.Byte],
  0x29: ["subIdAvailable", T.Byte],
  0x2a: ["sharedSubAvailable", T.Byte],
};
const PROP_IDS = new Map<keyof Properties, number>(Object.entries(PROPS).map(([id, [k]]) => [k, Number(id)]));

/** Reads a property block; `allowed` lists the ids this packet may carry. */
export function readProps(r: Reader, allowed: ReadonlySet<number>): Properties | undefined {
  const len = r.varint("properties length");
  if (len === 0) return undefined;
  r.need(len, "properties");
  const end = r.pos + len;
  const p: Properties = {};
  const rec = p as Record<string, unknown>;
  while (r.pos < end) {
    const id = r.varint("property identifier");
    const def = PROPS[id];
    if (def === undefined || !allowed.has(id)) throw new MqttProtocolError(`property 0x${id.toString(16)} not allowed here`, 0x82);
    const [key, type] = def;
    if (type !== T.Pair && !(type === T.Var && key === "subscriptionIds") && rec[key] !== undefined) {
      throw new MqttProtocolError(`property ${key} given twice`, 0x82);
    }
    switch (type) {
      case T.Byte: rec[key] = r.u8(key); break;
      case T.U16: rec[key] = r.u16(key); break;
      case T.U32: rec[key] = r.u32(key); break;
      case T.Var: {
        const v = r.varint(key);
        if (v === 0) throw new MqttProtocolError("subscription identifier 0", 0x82);
        ((rec[key] as number[] | undefined) ?? (rec[key] = [] as number[]) as number[]).push(v);
        break;
      }
      case T.Str: rec[key] = r.utf8(key); break;
      case T.Raw: rec[key] = r.raw(key); break;
      case T.Bin: rec[key] = Buffer.from(r.bytes(key)); break;
      case T.Pair: {
        const k = r.raw("user property name");
        const v = r.raw("user property value");
        ((rec[key] as [string, string][] | undefined) ?? (rec[key] = [] as [string, string][]) as [string, string][]).push([k, v]);
        break;
      }
    }
  }
  if (r.pos !== end) throw new MqttProtocolError("properties overrun their length");
  return p;
}

const ids = (...xs: number[]) => new Set(xs);
export const CONNECT_PROPS = ids(0x11, 0x21, 0x27, 0x22, 0x19, 0x17, 0x26, 0x15, 0x16);
export const WILL_PROPS = ids(0x18, 0x01, 0x02, 0x03, 0x08, 0x09, 0x26);
export const PUBLISH_PROPS = ids(0x01, 0x02, 0x23, 0x08, 0x09, 0x26, 0x0b, 0x03);
export const ACK_PROPS = ids(0x1f, 0x26);
export const SUBSCRIBE_PROPS = ids(0x0b, 0x26);
export const UNSUBSCRIBE_PROPS = ids(0x26);
export const DISCONNECT_PROPS = ids(0x11, 0x1f, 0x26, 0x1c);
export const AUTH_PROPS = ids(0x15, 0x16, 0x1f, 0x26);

/** Size of a variable byte integer. */
export function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

export function writeVarint(b: Buffer, p: number, n: number): number {
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    b[p++] = d;
  } while (n > 0);
  return p;
}

/** Encodes a property block's content (without its length). */
export function encodeProps(p: Properties | undefined): Buffer {
  if (p === undefined) return EMPTY;
  const parts: Buffer[] = [];
  for (const key of Object.keys(p) as (keyof Properties)[]) {
    const v = p[key];
    if (v === undefined) continue;
    const id = PROP_IDS.get(key);
    if (id === undefined) continue;
    const type = PROPS[id]![1];
    const head = Buffer.from([id]);
    switch (type) {
      case T.Byte: parts.push(head, Buffer.from([v as number])); break;
      case T.U16: { const b = Buffer.allocUnsafe(2); b.writeUInt16BE(v as number); parts.push(head, b); break; }
      case T.U32: { const b = Buffer.allocUnsafe(4); b.writeUInt32BE(v as number >>> 0); parts.push(head, b); break; }
      case T.Var:
        for (const n of v as number[]) {
          const b = Buffer.allocUnsafe(varintSize(n));
          writeVarint(b, 0, n);
          parts.push(head, b);
        }
        break;
      case T.Str: parts.push(head, lenPrefixed(Buffer.from(v as string, "utf8"))); break;
      case T.Raw: parts.push(head, lenPrefixed(Buffer.from(v as string, "latin1"))); break;
      case T.Bin: parts.push(head, lenPrefixed(v as Buffer)); break;
      case T.Pair:
        for (const [k, val] of v as [string, string][]) {
          parts.push(head, lenPrefixed(Buffer.from(k, "latin1")), lenPrefixed(Buffer.from(val, "latin1")));
        }
        break;
    }
  }
  return Buffer.concat(parts);
}

function lenPrefixed(b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length);
  b.copy(out, 2);
  return out;
}

const EMPTY = Buffer.alloc(0);

// ---- decoding client packets (body = the bytes after the fixed header)

export function decodeConnect(body: Buffer): ConnectPacket {
  const r = new Reader(body);
  const protocolName = r.bytes("protocol name").toString("latin1");
  if (protocolName !== "MQTT" && protocolName !== "MQIsdp") {
    throw new MqttProtocolError(`expected connect packet with protocol name "MQTT", got ${JSON.stringify(protocolName)}`);
  }
  const version = r.u8("protocol level");
  const c: ConnectPacket = { protocolName, version, clean: false, keepAlive: 0, clientId: "" };
  if (!((protocolName === "MQTT" && (version === 4 || version === 5)) || (protocolName === "MQIsdp" && version === 3))) {
    return c; // the caller answers "unacceptable protocol version"
  }
  const flags = r.u8("connect flags");
  if (flags & 0x01) throw new MqttProtocolError("connect flags reserved bit set");
  c.clean = (flags & 0x02) !== 0;
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  const hasUser = (flags & 0x80) !== 0;
  if (!willFlag && (willQos !== 0 || willRetain)) throw new MqttProtocolError("will QoS/retain set without a will");
  if (willQos === 3) throw new MqttProtocolError("will QoS 3");
  if (version !== 5 && hasPassword && !hasUser) throw new MqttProtocolError("password flag without user name flag");
  c.keepAlive = r.u16("keep alive");
  if (version === 5) c.props = readProps(r, CONNECT_PROPS);
  c.clientId = r.utf8("client identifier");
  if (willFlag) {
    const props = version === 5 ? readProps(r, WILL_PROPS) : undefined;
    const topic = r.raw("will topic");
    const payload = Buffer.from(r.bytes("will payload"));
    const will: Will = { topic, payload, qos: willQos as 0 | 1 | 2, retain: willRetain };
    if (props) will.props = props;
    c.will = will;
  }
  if (hasUser) c.username = r.utf8("user name");
  if (hasPassword) c.password = Buffer.from(r.bytes("password"));
  if (r.left !== 0) throw new MqttProtocolError("extra bytes after CONNECT payload");
  return c;
}

/** PUBLISH (flags = the low nibble of the first byte). */
export function decodePublish(flags: number, body: Buffer, v5: boolean): PublishPacket {
  const qos = (flags >> 1) & 3;
  if (qos === 3) throw new MqttProtocolError("PUBLISH with QoS 3");
  const dup = (flags & 8) !== 0;
  if (dup && qos === 0) throw new MqttProtocolError("PUBLISH with DUP set at QoS 0");
  const n = body.length;
  if (n < 2) throw new MqttProtocolError("packet too short reading topic");
  const tlen = (body[0]! << 8) | body[1]!;
  let p = 2 + tlen;
  if (p > n) throw new MqttProtocolError("packet too short reading topic");
  const topicBytes = body.subarray(2, p);
  let pid = 0;
  if (qos > 0) {
    if (p + 2 > n) throw new MqttProtocolError("packet too short reading packet identifier");
    pid = (body[p]! << 8) | body[p + 1]!;
    if (pid === 0) throw new MqttProtocolError("packet identifier 0", 0x82);
    p += 2;
  }
  let props: Properties | undefined;
  if (v5) {
    if (p < n && body[p] === 0) p++; // the common case: no properties
    else {
      const r = new Reader(body, p);
      props = readProps(r, PUBLISH_PROPS);
      p = r.pos;
    }
  }
  return {
    qos: qos as 0 | 1 | 2, dup, retain: (flags & 1) !== 0, topic: "", topicBytes, pid,
    payload: body.subarray(p), props,
  };
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP. */
export function decodeAck(body: Buffer, v5: boolean): AckPacket {
  if (body.length < 2) throw new MqttProtocolError("packet too short reading packet identifier");
  const pid = (body[0]! << 8) | body[1]!;
  if (!v5 || body.length === 2) {
    if (!v5 && body.length !== 2) throw new MqttProtocolError("acknowledgement with a wrong remaining length");
    return { pid, reason: 0 };
  }
  const r = new Reader(body, 2);
  const reason = r.u8("reason code");
  const props = r.left > 0 ? readProps(r, ACK_PROPS) : undefined;
  if (r.left !== 0) throw new MqttProtocolError("extra bytes after acknowledgement");
  return { pid, reason, props };
}

export function decodeSubscribe(body: Buffer, v5: boolean): SubscribePacket {
  const r = new Reader(body);
  const pid = r.u16("packet identifier");
  if (pid === 0) throw new MqttProtocolError("packet identifier 0", 0x82);
  const props = v5 ? readProps(r, SUBSCRIBE_PROPS) : undefined;
  if (props?.subscriptionIds && props.subscriptionIds.length > 1) throw new MqttProtocolError("several subscription identifiers", 0x82);
  const subs: SubscribePacket["subs"] = [];
  while (r.left > 0) {
    const filter = r.raw("topic filter");
    const o = r.u8("subscription options");
    if (v5 ? (o & 0xc0) !== 0 : (o & 0xfc) !== 0) throw new MqttProtocolError("subscription options reserved bits set");
    const qos = o & 3;
    if (qos === 3) throw new MqttProtocolError("subscription QoS 3");
    const retainHandling = (o >> 4) & 3;
    if (retainHandling === 3) throw new MqttProtocolError("retain handling 3", 0x82);
    subs.push({ filter, qos, noLocal: v5 && (o & 4) !== 0, retainAsPublished: v5 && (o & 8) !== 0, retainHandling: v5 ? retainHandling : 0 });
  }
  if (subs.length === 0) throw new MqttProtocolError("SUBSCRIBE without topic filters", 0x82);
  return { pid, subs, props };
}

export function decodeUnsubscribe(body: Buffer, v5: boolean): UnsubscribePacket {
  const r = new Reader(body);
  const pid = r.u16("packet identifier");
  if (pid === 0) throw new MqttProtocolError("packet identifier 0", 0x82);
  const props = v5 ? readProps(r, UNSUBSCRIBE_PROPS) : undefined;
  const filters: string[] = [];
  while (r.left > 0) filters.push(r.raw("topic filter"));
  if (filters.length === 0) throw new MqttProtocolError("UNSUBSCRIBE without topic filters", 0x82);
  return { pid, filters, props };
}

export function decodeDisconnect(body: Buffer, v5: boolean): DisconnectPacket {
  if (!v5 || body.length === 0) {
    if (body.length !== 0) throw new MqttProtocolError("DISCONNECT with a payload");
    return { reason: 0 };
  }
  const r = new Reader(body);
  const reason = r.u8("reason code");
  const props = r.left > 0 ? readProps(r, DISCONNECT_PROPS) : undefined;
  if (r.left !== 0) throw new MqttProtocolError("extra bytes after DISCONNECT");
  return { reason, props };
}

export function decodeAuth(body: Buffer): AuthPacket {
  if (body.length === 0) return { reason: 0 };
  const r = new Reader(body);
  const reason = r.u8("reason code");
  const props = r.left > 0 ? readProps(r, AUTH_PROPS) : undefined;
  return { reason, props };
}

// ---- encoding server packets

/** A whole packet: fixed header byte, remaining length, then `body`. */
export function frame(first: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + varintSize(body.length) + body.length);
  out[0] = first;
  const p = writeVarint(out, 1, body.length);
  body.copy(out, p);
  return out;
}

function withProps(fixed: number[], props: Properties | undefined, v5: boolean): Buffer {
  if (!v5) return Buffer.from(fixed);
  const pb = encodeProps(props);
  const out = Buffer.allocUnsafe(fixed.length + varintSize(pb.length) + pb.length);
  for (let i = 0; i < fixed.length; i++) out[i] = fixed[i]!;
  const p = writeVarint(out, fixed.length, pb.length);
  pb.copy(out, p);
  return out;
}

export function encodeConnack(sessionPresent: boolean, code: number, v5: boolean, props?: Properties): Buffer {
  if (!v5 && code === 0) return sessionPresent ? CONNACK_PRESENT : CONNACK_ACCEPTED;
  return frame(0x20, withProps([sessionPresent ? 1 : 0, code], props, v5));
}

// 3.1.1 acceptances, the same bytes for every connection (the outbound buffer copies them)
const CONNACK_ACCEPTED = Buffer.from([0x20, 2, 0, 0]);
const CONNACK_PRESENT = Buffer.from([0x20, 2, 1, 0]);

/** PUBACK/PUBREC/PUBREL/PUBCOMP: short form when the reason is success and there are no properties. */
export function encodeAck(type: number, pid: number, v5: boolean, reason = 0, props?: Properties): Buffer {
  const first = (type << 4) | (type === 6 ? 2 : 0);
  if (!v5 || (reason === 0 && props === undefined)) return Buffer.from([first, 2, pid >> 8, pid & 0xff]);
  if (props === undefined) return Buffer.from([first, 3, pid >> 8, pid & 0xff, reason]);
  return frame(first, withProps([pid >> 8, pid & 0xff, reason], props, true));
}

export function encodeSuback(pid: number, codes: number[], v5: boolean, props?: Properties): Buffer {
  const head = withProps([pid >> 8, pid & 0xff], props, v5);
  return frame(0x90, Buffer.concat([head, Buffer.from(codes)]));
}

export function encodeUnsuback(pid: number, codes: number[], v5: boolean, props?: Properties): Buffer {
  if (!v5) return Buffer.from([0xb0, 2, pid >> 8, pid & 0xff]);
  const head = withProps([pid >> 8, pid & 0xff], props, true);
  return frame(0xb0, Buffer.concat([head, Buffer.from(codes)]));
}

export const PINGRESP_FRAME = Buffer.from([0xd0, 0]);

export function encodeDisconnect(reason: number, props?: Properties): Buffer {
  if (reason === 0 && props === undefined) return Buffer.from([0xe0, 0]);
  return frame(0xe0, withProps([reason], props, true));
}

export function encodeAuth(reason: number, props?: Properties): Buffer {
  return frame(0xf0, withProps([reason], props, true));
}

/**
 * The fixed header, topic, packet identifier and (5.0) properties of a PUBLISH, written into
 * `out` at 0; returns the header's length. The payload follows it on the wire.
 * `propsBytes` is the encoded property content (5.0), or undefined for none.
 */
export function writePublishHeader(
  out: Buffer, qos: number, retain: boolean, dup: boolean, topic: Buffer, pid: number,
  payloadLen: number, v5: boolean, propsBytes: Buffer | undefined,
): number {
  const plen = propsBytes === undefined ? 0 : propsBytes.length;
  const remaining = 2 + topic.length + (qos > 0 ? 2 : 0) + (v5 ? varintSize(plen) + plen : 0) + payloadLen;
  out[0] = 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  let p = writeVarint(out, 1, remaining);
  out[p++] = topic.length >> 8;
  out[p++] = topic.length & 0xff;
  if (topic.length <= 32) for (let i = 0; i < topic.length; i++) out[p++] = topic[i]!;
  else p += topic.copy(out, p);
  if (qos > 0) {
    out[p++] = pid >> 8;
    out[p++] = pid & 0xff;
  }
  if (v5) {
    p = writeVarint(out, p, plen);
    if (plen > 0) p += propsBytes!.copy(out, p);
  }
  return p;
}

/** The size of a PUBLISH packet on the wire. */
export function publishSize(topicLen: number, qos: number, payloadLen: number, v5: boolean, propsLen: number): number {
  const remaining = 2 + topicLen + (qos > 0 ? 2 : 0) + (v5 ? varintSize(propsLen) + propsLen : 0) + payloadLen;
  return 1 + varintSize(remaining) + remaining;
}

// ---- framing

export interface FrameHandler {
  /** One complete packet: the first byte and the bytes after the remaining length. */
  packet(first: number, body: Buffer): void;
  /** Framing failed (the connection is closed by the handler). */
  frameError(err: MqttProtocolError): void;
}

/** Cuts the byte stream into packets; holds a partial packet across chunks. */
export class Framer {
  private pending: Buffer | null = null;
  /** the largest packet accepted (remaining length plus fixed header) */
  maxPacket = MAX_REMAINING + 5;
  stopped = false;
  /** set while a handler wants input held (async authentication) */
  private held: Buffer[] | null = null;

  constructor(private readonly h: FrameHandler) {}

  hold(): void {
    this.held ??= [];
  }

  /** Resumes after hold(): feeds what arrived meanwhile. */
  release(): void {
    const held = this.held;
    this.held = null;
    if (held !== null) for (const c of held) if (!this.stopped) this.push(c);
  }

  push(chunk: Buffer): void {
    if (this.held !== null) {
      this.held.push(chunk);
      return;
    }
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const n = buf.length;
    let p = 0;
    while (p < n && !this.stopped) {
      const held = this.held as Buffer[] | null;
      if (held !== null) {
        held.push(buf.subarray(p));
        return;
      }
      if (n - p < 2) break;
      // remaining length: 1 to 4 bytes
      let len = 0;
      let mult = 1;
      let q = p + 1;
      let done = false;
      for (let i = 0; i < 4; i++) {
        if (q >= n) break;
        const b = buf[q++]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          done = true;
          break;
        }
        if (i === 3) {
          this.stopped = true;
          this.h.frameError(new MqttProtocolError("malformed remaining length"));
          return;
        }
      }
      if (!done) break; // the length's bytes have not all arrived
      const total = q - p + len;
      if (total > this.maxPacket) {
        this.stopped = true;
        this.h.frameError(new MqttProtocolError(`packet of ${total} bytes over the maximum of ${this.maxPacket}`, 0x95));
        return;
      }
      if (q + len > n) break;
      const first = buf[p]!;
      const body = buf.subarray(q, q + len);
      p = q + len;
      this.h.packet(first, body);
    }
    if (p < n && !this.stopped) this.pending = p === 0 ? buf : buf.subarray(p);
  }

  stop(): void {
    this.stopped = true;
    this.pending = null;
    this.held = null;
  }
}
