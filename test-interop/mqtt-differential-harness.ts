// The machinery of the differential MQTT tests (differential-mqtt.test.ts): packets built by hand,
// a raw client that records every packet a broker sends back (normalized) and whether it closes,
// and the runner of one scenario script against one broker.
import { connect as netConnect, type Socket } from "node:net";
import { sleep } from "../test/helpers.js";

export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, "127.0.0.1");
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

// ---- building packets by hand

export type Bytes = Buffer | number[] | string;
export const buf = (b: Bytes): Buffer => (Buffer.isBuffer(b) ? b : typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b));
export const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
export function vbi(n: number): Buffer {
  const out: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    out.push(d);
  } while (n > 0);
  return Buffer.from(out);
}
/** A length-prefixed string (or raw bytes, for invalid UTF-8). */
export const str = (s: Bytes): Buffer => {
  const b = buf(s);
  return Buffer.concat([u16(b.length), b]);
};
/** A whole packet: first byte, remaining length computed from the parts. */
export function pkt(first: number, ...parts: Bytes[]): Buffer {
  const body = Buffer.concat(parts.map(buf));
  return Buffer.concat([Buffer.from([first]), vbi(body.length), body]);
}

/** 5.0 properties, each an id and its encoded value; `props()` is the empty block. */
export const props = (...ps: [number, Buffer][]): Buffer => {
  const body = Buffer.concat(ps.flatMap(([id, v]) => [vbi(id), v]));
  return Buffer.concat([vbi(body.length), body]);
};
export const P = {
  sessionExpiry: (n: number): [number, Buffer] => [0x11, u32(n)],
  willDelay: (n: number): [number, Buffer] => [0x18, u32(n)],
  topicAlias: (n: number): [number, Buffer] => [0x23, u16(n)],
  topicAliasMax: (n: number): [number, Buffer] => [0x22, u16(n)],
  subId: (n: number): [number, Buffer] => [0x0b, vbi(n)],
  userProp: (k: string, v: string): [number, Buffer] => [0x26, Buffer.concat([str(k), str(v)])],
};

export interface WillOpts { topic: Bytes; payload: Bytes; qos?: number; retain?: boolean; props?: Buffer }
export interface ConnectOpts {
  id?: Bytes; clean?: boolean; keepAlive?: number; will?: WillOpts; user?: string; pass?: string;
  props?: Buffer; name?: string; level?: number;
  /** connect flags as sent, when the script wants them inconsistent */
  flags?: number;
  /** the fixed header's first byte (reserved bits) */
  first?: number;
}

/** Packet builders for one protocol level (4 = 3.1.1, 5 = 5.0). */
export class Packets {
  constructor(readonly v: 4 | 5) {}

  connect(o: ConnectOpts = {}): Buffer {
    let flags = o.clean === false ? 0 : 2;
    if (o.will) flags |= 4 | ((o.will.qos ?? 0) << 3) | (o.will.retain ? 0x20 : 0);
    if (o.user !== undefined) flags |= 0x80;
    if (o.pass !== undefined) flags |= 0x40;
    const parts: Bytes[] = [str(o.name ?? "MQTT"), [o.level ?? this.v, o.flags ?? flags], u16(o.keepAlive ?? 60)];
    if (this.v === 5) parts.push(o.props ?? props());
    parts.push(str(o.id ?? ""));
    if (o.will) {
      if (this.v === 5) parts.push(o.will.props ?? props());
      parts.push(str(o.will.topic), str(o.will.payload));
    }
    if (o.user !== undefined) parts.push(str(o.user));
    if (o.pass !== undefined) parts.push(str(o.pass));
    return pkt(o.first ?? 0x10, ...parts);
  }

  publish(topic: Bytes, payload: Bytes, o: { qos?: number; retain?: boolean; dup?: boolean; pid?: number; props?: Buffer } = {}): Buffer {
    const qos = o.qos ?? 0;
    const first = 0x30 | (o.dup ? 8 : 0) | (qos << 1) | (o.retain ? 1 : 0);
    const parts: Bytes[] = [str(topic)];
    if (qos > 0) parts.push(u16(o.pid ?? 1));
    if (this.v === 5) parts.push(o.props ?? props());
    parts.push(payload);
    return pkt(first, ...parts);
  }

  /** SUBSCRIBE with [filter, options byte] pairs. */
  subscribe(pid: number, subs: [Bytes, number][], o: { props?: Buffer; first?: number } = {}): Buffer {
    const parts: Bytes[] = [u16(pid)];
    if (this.v === 5) parts.push(o.props ?? props());
    for (const [f, opt] of subs) parts.push(str(f), [opt]);
    return pkt(o.first ?? 0x82, ...parts);
  }

  unsubscribe(pid: number, filters: Bytes[], o: { first?: number } = {}): Buffer {
    const parts: Bytes[] = [u16(pid)];
    if (this.v === 5) parts.push(props());
    for (const f of filters) parts.push(str(f));
    return pkt(o.first ?? 0xa2, ...parts);
  }

  ack(type: "puback" | "pubrec" | "pubrel" | "pubcomp", pid: number): Buffer {
    const first = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 }[type];
    return pkt(first, u16(pid));
  }

  pingreq(): Buffer {
    return Buffer.from([0xc0, 0]);
  }

  disconnect(reason?: number, p?: Buffer): Buffer {
    if (this.v === 4 || (reason === undefined && p === undefined)) return Buffer.from([0xe0, 0]);
    return p === undefined ? pkt(0xe0, [reason ?? 0]) : pkt(0xe0, [reason ?? 0], p);
  }
}

// ---- reading what a broker sends

const NAMES = ["RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"];

/** Property value encodings (5.0 section 2.2.2.2), for walking a property block. */
export const PROP_TYPES: Record<number, "byte" | "u16" | "u32" | "vbi" | "str" | "pair"> = {
  0x01: "byte", 0x02: "u32", 0x03: "str", 0x08: "str", 0x09: "str", 0x0b: "vbi", 0x11: "u32", 0x12: "str",
  0x13: "u16", 0x15: "str", 0x16: "str", 0x17: "byte", 0x18: "u32", 0x19: "byte", 0x1a: "str", 0x1c: "str",
  0x1f: "str", 0x21: "u16", 0x22: "u16", 0x23: "u16", 0x24: "byte", 0x25: "byte", 0x26: "pair", 0x27: "u32",
  0x28: "byte", 0x29: "byte", 0x2a: "byte",
};

/**
 * What legitimately differs between two correct brokers, decided property by property:
 * - server configuration, each broker picks its own (pinned on their own in the "CONNACK server
 *   configuration properties" test): Receive Maximum, Topic Alias Maximum, Maximum Packet Size;
 * - Reason String: free text, optional wherever it may appear;
 * - Assigned Client Identifier: its value is the server's choice, its presence is compared.
 * Everything else (Server Keep Alive, Maximum QoS, the availability flags, user properties,
 * subscription identifiers, topic aliases, ...) is compared as sent. Properties are sorted by
 * identifier: the specification gives their order no meaning.
 */
export const CONFIG_PROPS = new Set([0x21, 0x22, 0x27]);
export function normalizeProps(block: Buffer): Buffer {
  let p = 0;
  const out: [number, Buffer][] = [];
  while (p < block.length) {
    const id = block[p++]!;
    const t = PROP_TYPES[id];
    if (t === undefined) return block; // unknown: keep the block as it came, the comparison shows it
    const start = p;
    if (t === "byte") p += 1;
    else if (t === "u16") p += 2;
    else if (t === "u32") p += 4;
    else if (t === "vbi") while (block[p++]! & 0x80);
    else if (t === "str") p += 2 + block.readUInt16BE(p);
    else {
      p += 2 + block.readUInt16BE(p);
      p += 2 + block.readUInt16BE(p);
    }
    const value = block.subarray(start, p);
    if (CONFIG_PROPS.has(id) || id === 0x1f) continue;
    out.push([id, id === 0x12 ? str("<assigned>") : value]);
  }
  out.sort((a, b) => a[0] - b[0]);
  return props(...out);
}

export function readVbi(b: Buffer, p: number): [number, number] {
  let v = 0;
  let mult = 1;
  for (let i = 0; i < 4 && p < b.length; i++) {
    const d = b[p++]!;
    v += (d & 0x7f) * mult;
    if ((d & 0x80) === 0) return [v, p];
    mult *= 128;
  }
  return [-1, p];
}

/** Where a packet's property block starts in its body (5.0), or -1 when it has none. */
function propsOffset(type: number, first: number, body: Buffer): number {
  switch (type) {
    case 2: return body.length > 2 ? 2 : -1; // CONNACK
    case 3: return 2 + body.readUInt16BE(0) + (((first >> 1) & 3) > 0 ? 2 : 0); // PUBLISH
    case 4: case 5: case 6: case 7: return body.length > 3 ? 3 : -1; // PUBACK..PUBCOMP
    case 9: case 11: return 2; // SUBACK, UNSUBACK
    case 14: case 15: return body.length > 1 ? 1 : -1; // DISCONNECT, AUTH
    default: return -1;
  }
}

/** One packet as "NAME hex", normalized (see normalizeProps). */
export function normalize(first: number, body: Buffer, v5: boolean): string {
  const type = first >> 4;
  let b = body;
  const at = v5 ? propsOffset(type, first, body) : -1;
  if (at >= 0 && at < body.length) {
    const [len, p] = readVbi(body, at);
    if (len >= 0 && p + len <= body.length) {
      b = Buffer.concat([body.subarray(0, at), normalizeProps(body.subarray(p, p + len)), body.subarray(p + len)]);
    }
  }
  if (v5) b = shortForm(type, b);
  return `${NAMES[type]} ${pkt(first, b).toString("hex")}`;
}

/**
 * 5.0 lets a sender leave out an empty property block, and a success reason with it, on the
 * acknowledgements and DISCONNECT (3.4.2.1, 3.14.2.1): both spellings mean the same, the short
 * one is compared.
 */
function shortForm(type: number, body: Buffer): Buffer {
  if (type >= 4 && type <= 7) {
    if (body.length === 4 && body[3] === 0) body = body.subarray(0, 3);
    if (body.length === 3 && body[2] === 0) body = body.subarray(0, 2);
  } else if (type === 14) {
    if (body.length === 2 && body[1] === 0) body = body.subarray(0, 1);
    if (body.length === 1 && body[0] === 0) body = body.subarray(0, 0);
  }
  return body;
}

// ---- one side of a scenario

/** A raw client: records every packet the broker sends and whether the connection closed. */
export class Peer {
  private data = Buffer.alloc(0);
  /** normalized packets, then "closed" if the broker closed the connection */
  readonly events: string[] = [];
  private packets = 0;
  private cursor = 0;
  closed = false;
  /** closed by the script (drop()): that close is not the broker's doing */
  dropped = false;
  closedAt = 0;
  sentAt = Date.now();
  private waiters: (() => void)[] = [];

  constructor(private readonly socket: Socket, readonly v5: boolean) {
    socket.on("data", (b: Buffer) => {
      this.data = Buffer.concat([this.data, b]);
      this.parse();
      this.wake();
    });
    socket.on("close", () => {
      if (this.dropped) return;
      if (this.data.length > 0) this.events.push(`partial ${this.data.toString("hex")}`);
      this.closed = true;
      this.closedAt = Date.now();
      this.events.push("closed");
      this.wake();
    });
    socket.on("error", () => {});
  }

  private parse(): void {
    for (;;) {
      if (this.data.length < 2) return;
      const [len, p] = readVbi(this.data, 1);
      if (len < 0 || p + len > this.data.length) return;
      this.events.push(normalize(this.data[0]!, this.data.subarray(p, p + len), this.v5));
      this.packets++;
      this.data = this.data.subarray(p + len);
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until(cond: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  send(...bs: Buffer[]): this {
    if (!this.closed) this.socket.write(Buffer.concat(bs));
    this.sentAt = Date.now();
    return this;
  }

  /** Waits for `n` more packets (or the close, or time out: the transcript shows what came). */
  async read(n = 1, ms = 2000): Promise<this> {
    const want = this.cursor + n;
    await this.until(() => this.packets >= want || this.closed, ms);
    this.cursor = Math.min(want, this.packets);
    return this;
  }

  /** Waits for the broker to close the connection; resolves with ms since the last send, or -1. */
  async closes(ms = 2000): Promise<number> {
    return (await this.until(() => this.closed, ms)) ? this.closedAt - this.sentAt : -1;
  }

  /** Closes without DISCONNECT (an abnormal close: the will goes). */
  drop(): void {
    this.dropped = true;
    this.socket.destroy();
  }
}

export interface Ctx {
  v: 4 | 5;
  m: Packets;
  /** a client identifier unique to this scenario and protocol level */
  id(x?: string): string;
  /** a topic unique to this scenario and protocol level */
  t(x?: string): string;
  open(): Promise<Peer>;
  /** opens, sends CONNECT and reads the CONNACK */
  connected(o?: ConnectOpts): Promise<Peer>;
  /** a value the two brokers must agree on (e.g. a time bucket) */
  note(key: string, value: unknown): void;
}

export interface Transcript {
  peers: string[][];
  notes: Record<string, unknown>;
}

export const topicOf = (slug: string, v: 4 | 5) => (x = "t"): string => `diff/${slug}/${v}/${x}`;

export async function run(port: number, v: 4 | 5, slug: string, script: (c: Ctx) => Promise<void>): Promise<Transcript> {
  const peers: Peer[] = [];
  const notes: Record<string, unknown> = {};
  const m = new Packets(v);
  const ctx: Ctx = {
    v, m,
    id: (x = "c") => `${slug}-${v}-${x}`,
    t: topicOf(slug, v),
    open: async () => {
      const p = new Peer(await openSocket(port), v === 5);
      peers.push(p);
      return p;
    },
    connected: async (o = {}) => {
      const p = await ctx.open();
      await p.send(m.connect({ id: ctx.id(), ...o })).read();
      return p;
    },
    note: (k, val) => (notes[k] = val),
  };
  let transcript: Transcript;
  try {
    await script(ctx);
    await sleep(150); // anything still on its way, and closes that follow the last answer
  } finally {
    transcript = { peers: peers.map((p) => [...p.events]), notes };
    for (const p of peers) p.drop();
  }
  return transcript;
}

export /** A packet as the transcripts spell it. */
function seen(b: Buffer, v5 = true): string {
  const [len, p] = readVbi(b, 1);
  return normalize(b[0]!, b.subarray(p, p + len), v5);
}
