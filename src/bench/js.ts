// `junction bench js`: JetStream load, Junction beside nats-server (when installed), each a child
// process with JetStream on a fresh store directory on 127.0.0.1, measured one after the other.
// Modes, in order (the later ones read what the earlier ones wrote):
//   pub      publish --msgs messages (--size bytes) to a file stream with a window of --window
//            unacknowledged PubAcks
//   consume  a durable pull consumer with explicit acks reads them all: pull requests of --batch
//            messages, a new one when half of the last is in, every message acked
//   push     a push consumer (ack none, flow control answered, idle heartbeats) reads them all
//   kvput    --keys puts to a key/value bucket (the stream @nats-io/kv creates), --window PubAcks
//            outstanding
//   kvget    --keys gets of random keys by direct get (what kv.get() does), --window requests
//            outstanding
// The client speaks the NATS protocol itself over node:net, in this process.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, junctionCommand, which } from "./servers.js";

type Out = (line: string) => void;

const MODES = ["pub", "consume", "push", "kvput", "kvget"] as const;
type Mode = (typeof MODES)[number];

export const JS_USAGE = `Usage: junction bench js [options]

JetStream load, Junction beside nats-server when it is on PATH (each with -js on a fresh store
directory): publish with PubAcks to a file stream, read it back with a pull consumer acking every
message and with a push consumer, then key/value puts and gets.

  --mode a,b        ${MODES.join(",")} (default: all; consume and push need pub first)
  --msgs N          messages published and consumed (default 1000000)
  --size N          payload bytes (default 16)
  --window N        PubAcks (and kvget requests) outstanding (default 256)
  --batch N         messages per pull request (default 500)
  --keys N          key/value keys (default 100000)
  --sync V          the servers' jetstream sync_interval: "always" or a duration such as 1s
                    (default: each server's own; nats-server before 2.10 has no such setting
                    and is then skipped)
  --servers a,b     junction,nats-server (default: those installed)
  --url host:port   measure a server already running with JetStream instead (127.0.0.1 only;
                    its streams BENCH and KV_BENCHKV must not exist)
`;

interface Opts {
  modes: Mode[];
  msgs: number;
  size: number;
  window: number;
  batch: number;
  keys: number;
  sync: string | undefined;
}

const CRLF = Buffer.from("\r\n");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ================================================================ a raw client

type MsgHandler = (subject: string, reply: string, hdrLen: number, payload: Buffer) => void;

/** A NATS connection that parses whole messages (control line and payload) and batches its writes per turn. */
class JsConn {
  private buf: Buffer = Buffer.alloc(0);
  private out: (Buffer | string)[] = [];
  private scheduled = false;
  private pongs: (() => void)[] = [];
  private handlers = new Map<string, MsgHandler>();
  private sid = 0;
  private inbox = `_INBOX.bench${Math.random().toString(36).slice(2, 8)}`;
  private reqs = new Map<string, (p: Buffer, hdrLen: number) => void>();
  private reqSeq = 0;
  failure: Error | undefined;
  private infoSeen!: () => void;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => this.feed(d));
    socket.on("error", (e) => (this.failure ??= e));
    socket.on("close", () => (this.failure ??= new Error("server closed the connection")));
  }

  static async open(port: number): Promise<JsConn> {
    const s = net.connect({ host: "127.0.0.1", port });
    const c = new JsConn(s);
    await new Promise<void>((res, rej) => {
      c.infoSeen = res;
      s.once("error", rej);
    });
    s.write('CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1,"name":"junction-bench-js"}\r\n');
    await c.ping();
    c.subscribe(`${c.inbox}.*`, (subject, _r, hdrLen, payload) => {
      const f = c.reqs.get(subject);
      if (f !== undefined) {
        c.reqs.delete(subject);
        f(payload, hdrLen);
      }
    });
    return c;
  }

  private feed(d: Buffer): void {
    let b = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    let i = 0;
    for (;;) {
      const nl = b.indexOf(CRLF, i);
      if (nl < 0) break;
      const c0 = b[i];
      if (c0 === 77 /* M */ || c0 === 72 /* H */) {
        const line = b.latin1Slice(i, nl);
        const t = line.split(" ");
        const h = c0 === 72;
        const size = Number(t[t.length - 1]);
        const hdrLen = h ? Number(t[t.length - 2]) : 0;
        const reply = t.length === (h ? 6 : 5) ? t[3]! : "";
        if (nl + 2 + size + 2 > b.length) break;
        const payload = b.subarray(nl + 2, nl + 2 + size);
        const fn = this.handlers.get(t[2]!);
        if (fn !== undefined) fn(t[1]!, reply, hdrLen, payload);
        i = nl + 2 + size + 2;
        continue;
      }
      const line = b.latin1Slice(i, nl);
      i = nl + 2;
      if (line === "PING") this.write("PONG\r\n");
      else if (line === "PONG") this.pongs.shift()?.();
      else if (line.startsWith("INFO")) this.infoSeen?.();
      else if (line.startsWith("-ERR")) this.failure ??= new Error(`server sent ${line}`);
    }
    this.buf = i >= b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(i));
  }

  write(x: Buffer | string): void {
    this.out.push(x);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const parts = this.out;
      this.out = [];
      this.socket.cork();
      for (const p of parts) this.socket.write(p);
      this.socket.uncork();
    });
  }

  /** Resolves once the socket has room again (backpressure). */
  async drain(): Promise<void> {
    if (this.socket.writableLength < 4 * 1024 * 1024) return;
    await new Promise<void>((r) => this.socket.once("drain", () => r()));
  }

  ping(): Promise<void> {
    return new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error("no PONG within 30 s")), 30_000);
      this.pongs.push(() => {
        clearTimeout(t);
        res();
      });
      this.write("PING\r\n");
    });
  }

  subscribe(subject: string, fn: MsgHandler): string {
    const sid = String(++this.sid);
    this.handlers.set(sid, fn);
    this.write(`SUB ${subject} ${sid}\r\n`);
    return sid;
  }

  pub(subject: string, reply: string, payload: Buffer | string): void {
    const n = typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
    this.write(`PUB ${subject}${reply ? " " + reply : ""} ${n}\r\n`);
    this.write(payload);
    this.write("\r\n");
  }

  /** A request on the connection's inbox: the reply payload (and its header length). */
  request(subject: string, body: string | Buffer, timeoutMs = 10_000): Promise<{ payload: Buffer; hdrLen: number }> {
    const reply = `${this.inbox}.${++this.reqSeq}`;
    return new Promise((res, rej) => {
      const t = setTimeout(() => {
        this.reqs.delete(reply);
        rej(new Error(`no reply to ${subject} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.reqs.set(reply, (payload, hdrLen) => {
        clearTimeout(t);
        res({ payload, hdrLen });
      });
      this.pub(subject, reply, body);
    });
  }

  async api(subject: string, body: unknown): Promise<Record<string, unknown>> {
    const r = await this.request(`$JS.API.${subject}`, body === undefined ? "" : JSON.stringify(body));
    const o = JSON.parse(r.payload.subarray(r.hdrLen).toString()) as Record<string, unknown>;
    if (o.error !== undefined) throw new Error(`${subject}: ${JSON.stringify(o.error)}`);
    return o;
  }

  close(): void {
    this.socket.destroy();
  }
}

// ================================================================ the modes

const STREAM = "BENCH";
const SUBJECT = "bench.js";

/** Publishes `count` messages to `subject(i)` with at most `window` PubAcks outstanding; messages per second. */
async function publishWithAcks(c: JsConn, count: number, window: number, subject: (i: number) => string, payload: Buffer): Promise<number> {
  let acked = 0;
  let sent = 0;
  let errors = 0;
  let wake: (() => void) | undefined;
  const inbox = `_INBOX.pa${Math.random().toString(36).slice(2, 8)}`;
  c.subscribe(`${inbox}.*`, (_s, _r, hdrLen, p) => {
    acked++;
    if (hdrLen > 0 || p.includes('"error"')) errors++;
    if (wake !== undefined && (sent - acked < window / 2 || acked === count)) {
      const w = wake;
      wake = undefined;
      w();
    }
  });
  await c.ping();
  const t0 = process.hrtime.bigint();
  while (sent < count) {
    const n = Math.min(count - sent, window - (sent - acked));
    for (let k = 0; k < n; k++) c.pub(subject(sent), `${inbox}.${sent}`, payload), sent++;
    if (c.failure) throw c.failure;
    await new Promise<void>((r) => (wake = r));
  }
  while (acked < count) await new Promise<void>((r) => (wake = r));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (errors > 0) throw new Error(`${errors} publishes were refused`);
  return count / secs;
}

async function runPub(c: JsConn, o: Opts): Promise<number> {
  await c.api(`STREAM.CREATE.${STREAM}`, { name: STREAM, subjects: [SUBJECT], storage: "file" });
  const payload = Buffer.alloc(o.size, 120);
  return publishWithAcks(c, o.msgs, o.window, () => SUBJECT, payload);
}

/** Waits until `done()` holds, failing when nothing progresses for 10 s. */
async function until(c: JsConn, done: () => boolean, progress: () => number): Promise<void> {
  let last = -1;
  let since = Date.now();
  while (!done()) {
    if (c.failure) throw c.failure;
    const p = progress();
    if (p !== last) {
      last = p;
      since = Date.now();
    } else if (Date.now() - since > 10_000) throw new Error(`stalled at ${p}`);
    await sleep(5);
  }
}

async function runConsume(c: JsConn, o: Opts): Promise<number> {
  await c.api(`CONSUMER.CREATE.${STREAM}.PULL`, { stream_name: STREAM, config: { durable_name: "PULL", ack_policy: "explicit", max_ack_pending: 20_000, ack_wait: 60e9 } });
  let got = 0;
  let asked = 0;
  const inbox = `_INBOX.pull${Math.random().toString(36).slice(2, 8)}`;
  const ask = () => {
    const n = Math.min(o.batch, o.msgs - asked);
    if (n <= 0) return;
    asked += n;
    c.pub(`$JS.API.CONSUMER.MSG.NEXT.${STREAM}.PULL`, inbox, `{"batch":${n}}`);
  };
  c.subscribe(inbox, (_s, reply) => {
    if (!reply.startsWith("$JS.ACK.")) return; // a status
    got++;
    c.pub(reply, "", "");
    if (asked - got < o.batch / 2) ask();
  });
  await c.ping();
  const t0 = process.hrtime.bigint();
  ask();
  ask();
  await until(c, () => got >= o.msgs, () => got);
  await c.ping();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  // every ack counted (a server may still be working through the last ones: not timed)
  let floor = 0;
  for (let k = 0; k < 100 && floor !== o.msgs; k++) {
    if (k > 0) await sleep(50);
    const ci = await c.api(`CONSUMER.INFO.${STREAM}.PULL`, undefined);
    floor = (ci.ack_floor as { stream_seq: number }).stream_seq;
  }
  if (floor !== o.msgs) throw new Error(`ack floor ${floor} after ${o.msgs} acks`);
  return o.msgs / secs;
}

async function runPush(c: JsConn, o: Opts): Promise<number> {
  const deliver = `_INBOX.push${Math.random().toString(36).slice(2, 8)}`;
  let got = 0;
  c.subscribe(deliver, (_s, reply) => {
    if (reply.startsWith("$JS.ACK.")) got++;
    else if (reply.startsWith("$JS.FC.")) c.pub(reply, "", "");
  });
  await c.ping();
  const t0 = process.hrtime.bigint();
  await c.api(`CONSUMER.CREATE.${STREAM}`, {
    stream_name: STREAM,
    config: { ack_policy: "none", deliver_subject: deliver, flow_control: true, idle_heartbeat: 5e9, deliver_policy: "all" },
  });
  await until(c, () => got >= o.msgs, () => got);
  return o.msgs / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const BUCKET = "BENCHKV";

async function runKvPut(c: JsConn, o: Opts): Promise<number> {
  // the stream @nats-io/kv creates for a bucket with the defaults
  await c.api(`STREAM.CREATE.KV_${BUCKET}`, {
    name: `KV_${BUCKET}`, subjects: [`$KV.${BUCKET}.>`], retention: "limits", max_msgs_per_subject: 1, max_msg_size: -1,
    storage: "file", discard: "new", allow_direct: true, allow_rollup_hdrs: true, num_replicas: 1, deny_delete: true,
  });
  const payload = Buffer.alloc(o.size, 118);
  return publishWithAcks(c, o.keys, o.window, (i) => `$KV.${BUCKET}.k${i}`, payload);
}

async function runKvGet(c: JsConn, o: Opts): Promise<number> {
  let done = 0;
  let sent = 0;
  let missing = 0;
  let wake: (() => void) | undefined;
  const inbox = `_INBOX.kg${Math.random().toString(36).slice(2, 8)}`;
  c.subscribe(`${inbox}.*`, (_s, _r, hdrLen, p) => {
    done++;
    // a found message has Nats-Sequence among its headers; "404 Message Not Found" otherwise
    if (hdrLen === 0 || p.latin1Slice(0, 12) === "NATS/1.0 404") missing++;
    if (wake !== undefined && (sent - done < o.window / 2 || done === o.keys)) {
      const w = wake;
      wake = undefined;
      w();
    }
  });
  await c.ping();
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % o.keys;
  const t0 = process.hrtime.bigint();
  while (sent < o.keys) {
    const n = Math.min(o.keys - sent, o.window - (sent - done));
    for (let k = 0; k < n; k++) c.pub(`$JS.API.DIRECT.GET.KV_${BUCKET}.$KV.${BUCKET}.k${rnd()}`, `${inbox}.${sent++}`, "");
    await new Promise<void>((r) => (wake = r));
    if (c.failure) throw c.failure;
  }
  while (done < o.keys) await new Promise<void>((r) => (wake = r));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (missing > 0) throw new Error(`${missing} gets found nothing`);
  return o.keys / secs;
}

// ================================================================ servers and the run

interface Target {
  name: string;
  port: number;
  /** undefined for a server we did not start */
  child: ChildProcess | undefined;
  dir: string;
}

async function start(name: string, sync: string | undefined): Promise<Target | undefined> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `bench-js-${name}-`));
  // Both servers read the same configuration file; sync_interval exists only there.
  const conf = join(dir, "bench.conf");
  const store = join(dir, "store");
  writeFileSync(conf, `jetstream {\n  store_dir: ${JSON.stringify(store)}\n${sync !== undefined ? `  sync_interval: ${JSON.stringify(sync)}\n` : ""}}\n`);
  const args = ["-c", conf, "-a", "127.0.0.1", "-p", String(port)];
  let child: ChildProcess;
  if (name === "junction") {
    const cmd = junctionCommand();
    if (!cmd) return undefined;
    child = spawn(cmd.cmd, [...cmd.args, ...args], { stdio: "ignore", detached: true });
  } else if (name === "nats-server") {
    const bin = which("nats-server");
    if (!bin) return undefined;
    child = spawn(bin, args, { stdio: "ignore", detached: true });
  } else return undefined;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const c = await JsConn.open(port);
      c.close();
      return { name, port, child, dir };
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        stop({ name, port, child, dir });
        return undefined;
      }
      await sleep(100);
    }
  }
}

function stop(t: Target): void {
  if (t.child === undefined) return;
  try {
    if (t.child.pid !== undefined) process.kill(-t.child.pid, "SIGKILL");
  } catch {
    t.child.kill("SIGKILL");
  }
  rmSync(t.dir, { recursive: true, force: true });
}

const UNITS: Record<Mode, string> = { pub: "msgs/s", consume: "msgs/s", push: "msgs/s", kvput: "puts/s", kvget: "gets/s" };

function fmt(n: number): string {
  if (!Number.isFinite(n)) return "-";
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

export async function runJsBench(args: string[], out: Out): Promise<number> {
  const o: Opts = { modes: [...MODES], msgs: 1_000_000, size: 16, window: 256, batch: 500, keys: 100_000, sync: undefined };
  let servers = ["junction", "nats-server"];
  let url: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-h" || a === "--help") {
      out(JS_USAGE.trimEnd());
      return 0;
    }
    const v = args[++i];
    if (v === undefined) {
      process.stderr.write(`junction bench js: ${a} needs a value\n\n${JS_USAGE}`);
      return 2;
    }
    const n = Number(v.replace(/_/g, ""));
    if (a === "--mode" || a === "--modes") {
      const ms = v.split(",");
      for (const m of ms) {
        if (!(MODES as readonly string[]).includes(m)) {
          process.stderr.write(`junction bench js: unknown mode ${m}\n\n${JS_USAGE}`);
          return 2;
        }
      }
      o.modes = MODES.filter((m) => ms.includes(m));
    } else if (a === "--servers") servers = v.split(",");
    else if (a === "--sync") o.sync = v;
    else if (a === "--url") {
      const m = /^(?:127\.0\.0\.1|localhost):(\d+)$/.exec(v);
      if (m === null) {
        process.stderr.write(`junction bench js: --url must be 127.0.0.1:<port>\n`);
        return 2;
      }
      url = Number(m[1]);
      servers = ["server"];
    }
    else if (a === "--msgs" || a === "--size" || a === "--window" || a === "--batch" || a === "--keys") {
      if (!Number.isInteger(n) || n <= 0) {
        process.stderr.write(`junction bench js: ${a} needs a positive integer\n`);
        return 2;
      }
      o[a.slice(2) as "msgs" | "size" | "window" | "batch" | "keys"] = n;
    } else {
      process.stderr.write(`junction bench js: unknown option ${a}\n\n${JS_USAGE}`);
      return 2;
    }
  }
  if ((o.modes.includes("consume") || o.modes.includes("push")) && !o.modes.includes("pub")) o.modes.unshift("pub");
  if (o.modes.includes("kvget") && !o.modes.includes("kvput")) o.modes.splice(o.modes.indexOf("kvget"), 0, "kvput");
  const results = new Map<string, Map<Mode, number | string>>();
  for (const name of servers) {
    const t = url !== undefined ? { name, port: url, child: undefined, dir: "" } : await start(name, o.sync);
    if (t === undefined) {
      const why = o.sync !== undefined ? ` (or does not accept sync_interval: ${o.sync})` : "";
      process.stderr.write(`junction bench js: ${name} is not available${why}, skipped\n`);
      continue;
    }
    const res = new Map<Mode, number | string>();
    results.set(name, res);
    let c: JsConn | undefined;
    try {
      c = await JsConn.open(t.port);
      for (const mode of o.modes) {
        let v: number | string;
        try {
          v = await (mode === "pub" ? runPub : mode === "consume" ? runConsume : mode === "push" ? runPush : mode === "kvput" ? runKvPut : runKvGet)(c, o);
        } catch (e) {
          v = `error: ${(e as Error).message}`;
        }
        res.set(mode, v);
        out(`${name}: ${mode}: ${typeof v === "number" ? `${fmt(v)} ${UNITS[mode]}` : v}`);
      }
    } finally {
      c?.close();
      stop(t);
    }
    await sleep(500);
  }
  const names = [...results.keys()];
  out("");
  out(["mode".padEnd(10), ...names.map((n) => n.padStart(16)), names.length === 2 ? "ratio".padStart(8) : ""].join(""));
  for (const mode of o.modes) {
    const vals = names.map((n) => results.get(n)!.get(mode));
    const cells = vals.map((v) => (typeof v === "number" ? `${fmt(v)} ${UNITS[mode].split("/")[0]}/s` : "error").padStart(16));
    const ratio = names.length === 2 && typeof vals[0] === "number" && typeof vals[1] === "number" ? (vals[0] / vals[1]).toFixed(2).padStart(8) : "";
    out([mode.padEnd(10), ...cells, ratio].join(""));
  }
  return 0;
}
