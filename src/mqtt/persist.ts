// MQTT state kept in the stream store (the engine JetStream uses): per account, three stores under
// `<store_dir>/$MQTT/<account>/` (file) or in memory when JetStream is off:
// - `sess`: one record per persistent session (subject s.<client id>, last one kept): its
//   subscriptions and expiry; and, while a client has QoS 2 publishes it has not released, the
//   set of their packet identifiers (subject i.<client id>, last one kept), so that a publish
//   resent after a restart is recognised as one already delivered;
// - `rmsg`: one record per retained message (subject r.<NATS subject>, last one kept);
// - `q`: the QoS 1/2 messages owed to persistent sessions, one record per message and session
//   (subject q.<client id>), removed when acknowledged; a QoS 2 message whose PUBREC came is
//   replaced by a PUBREL marker. A message stored before it was sent gets a small marker when it
//   goes out (subject p.<client id>: its record's sequence and packet identifier), so that after
//   a restart it is resent with DUP and the same packet identifier.
// No JetStream consumer per subscription: a session costs one record plus its pending messages.
import { join } from "node:path";
import { createStore, storeDirName, type StreamStore, type StoreConfig } from "../jetstream/store/index.js";
import { encodeProps, readProps, Reader } from "./codec.js";
import type { Properties } from "./packets.js";

const ALL_PROPS = new Set(Array.from({ length: 0x2b }, (_, i) => i));

export interface StoreSettings {
  /** undefined: memory */
  dir?: string;
  sync_interval?: number | "always";
}

/** The stores of one account. */
export class AccountStores {
  readonly sess: StreamStore;
  readonly rmsg: StreamStore;
  readonly q: StreamStore;

  constructor(account: string, s: StoreSettings) {
    const base = s.dir === undefined ? undefined : join(s.dir, "$MQTT", storeDirName(account));
    const open = (name: string, perSubject: number): StreamStore => {
      const cfg: StoreConfig = { name: `$MQTT_${name}`, storage: base === undefined ? "memory" : "file", max_msgs_per_subject: perSubject };
      if (base !== undefined) {
        cfg.directory = join(base, name);
        if (s.sync_interval !== undefined) cfg.sync_interval = s.sync_interval;
        cfg.block_size = 4 * 1024 * 1024;
      }
      return createStore(cfg);
    };
    this.sess = open("sess", 1);
    this.rmsg = open("rmsg", 1);
    this.q = open("q", 0);
  }

  stop(): void {
    for (const st of [this.sess, this.rmsg, this.q]) {
      try {
        st.stop();
      } catch {
        // already stopped
      }
    }
  }
}

/** Client identifiers may hold any character: subjects carry them base64url-encoded. */
export function idToken(clientId: string): string {
  return Buffer.from(clientId, "utf8").toString("base64url") || "_";
}

/** Every message of a store, oldest first. */
export function* allMsgs(st: StreamStore): Generator<{ seq: number; subject: string; data: Buffer; ts: bigint }> {
  let seq = st.state().first_seq;
  for (;;) {
    const m = st.loadNextMsg(undefined, seq);
    if (m === undefined) return;
    yield m;
    seq = m.seq + 1;
  }
}

// ---- messages (retained ones, and those owed to sessions)

export interface StoredMessage {
  /** byte string */
  topic: string;
  qos: number;
  retain: boolean;
  /** 1: a QoS 2 message whose PUBREC came (only the packet identifier matters) */
  released: boolean;
  pid: number;
  props?: Properties;
  payload: Buffer;
}

/** flags(1) pid(2) topicLen(2) topic propsLen(4) props payload */
export function encodeMessage(m: StoredMessage): Buffer {
  const topic = Buffer.from(m.topic, "latin1");
  const props = m.props ? encodeProps(m.props) : Buffer.alloc(0);
  const out = Buffer.allocUnsafe(9 + topic.length + props.length + m.payload.length);
  out[0] = m.qos | (m.retain ? 4 : 0) | (m.released ? 8 : 0);
  out.writeUInt16BE(m.pid, 1);
  out.writeUInt16BE(topic.length, 3);
  let p = 5 + topic.copy(out, 5);
  out.writeUInt32BE(props.length, p);
  p += 4;
  p += props.copy(out, p);
  m.payload.copy(out, p);
  return out;
}

export function decodeMessage(b: Buffer): StoredMessage {
  const flags = b[0]!;
  const pid = b.readUInt16BE(1);
  const tlen = b.readUInt16BE(3);
  const topic = b.latin1Slice(5, 5 + tlen);
  let p = 5 + tlen;
  const plen = b.readUInt32BE(p);
  p += 4;
  let props: Properties | undefined;
  if (plen > 0) {
    // readProps reads the length prefix too
    const withLen = Buffer.allocUnsafe(4 + plen);
    const lp = writeLen(withLen, plen);
    b.copy(withLen, lp, p, p + plen);
    props = readProps(new Reader(withLen, 0, lp + plen), ALL_PROPS);
  }
  p += plen;
  return { topic, qos: flags & 3, retain: (flags & 4) !== 0, released: (flags & 8) !== 0, pid, props, payload: Buffer.from(b.subarray(p)) };
}

function writeLen(b: Buffer, n: number): number {
  let p = 0;
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    b[p++] = d;
  } while (n > 0);
  return p;
}

// ---- packet identifiers

/** QoS 2 packet identifiers received and not released: u16 each. */
export function encodePids(pids: Iterable<number>): Buffer {
  const list = [...pids];
  const b = Buffer.allocUnsafe(list.length * 2);
  for (let i = 0; i < list.length; i++) b.writeUInt16BE(list[i]!, i * 2);
  return b;
}

export function decodePids(b: Buffer): number[] {
  const out: number[] = [];
  for (let p = 0; p + 1 < b.length; p += 2) {
    const pid = b.readUInt16BE(p);
    if (pid !== 0) out.push(pid);
  }
  return out;
}

/** The packet identifier a stored message went out with: its record's sequence(8) pid(2). */
export function encodeSent(seq: number, pid: number): Buffer {
  const b = Buffer.allocUnsafe(10);
  b.writeBigUInt64BE(BigInt(seq), 0);
  b.writeUInt16BE(pid, 8);
  return b;
}

export function decodeSent(b: Buffer): { seq: number; pid: number } | undefined {
  if (b.length !== 10) return undefined;
  return { seq: Number(b.readBigUInt64BE(0)), pid: b.readUInt16BE(8) };
}

// ---- sessions

export interface StoredSubscription {
  /** the filter as subscribed (with any $share/ prefix), byte string */
  f: string;
  q: number;
  /** no local | retain as published << 1 | retain handling << 2 */
  o: number;
  /** subscription identifier (5.0) */
  i?: number;
}

export interface StoredSession {
  id: string;
  /** the user it authenticated as (for its permissions after a restart) */
  u?: string;
  /** protocol version */
  v: number;
  /** session expiry in seconds; -1 = never */
  x: number;
  /** when its connection ended (ms since the epoch); 0 = connected */
  d: number;
  subs: StoredSubscription[];
}

export function encodeSession(s: StoredSession): Buffer {
  return Buffer.from(JSON.stringify(s), "utf8");
}

export function decodeSession(b: Buffer): StoredSession | undefined {
  try {
    const s = JSON.parse(b.toString("utf8")) as StoredSession;
    if (typeof s !== "object" || s === null || typeof s.id !== "string" || !Array.isArray(s.subs)) return undefined;
    return s;
  } catch {
    return undefined;
  }
}
