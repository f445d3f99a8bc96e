// `junction bench mqtt`: MQTT load, side by side with mosquitto (when installed) and aedes (when
// its npm package is there), each a child process on a free port of 127.0.0.1.
// Modes: qos0, qos1 and qos2 (one publisher → one subscriber, 16-byte messages, a window of
// unreceived or unacknowledged messages so that nobody buffers without bound; qos2p with
// persistent sessions, stored in a file store), storm (connections opened and CONNACKed per
// second, on a fresh server and on a warmed one) and idle (server memory per idle connection).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, junctionCommand, repoRoot, which } from "./servers.js";

type Out = (line: string) => void;

interface Target {
  name: string;
  port: number;
  /** undefined: a server given with --url */
  child: ChildProcess | undefined;
  pid: number | undefined;
}

const MODES = ["qos0", "qos1", "qos2", "qos2p", "storm", "storm-warm", "idle"] as const;
type Mode = (typeof MODES)[number];

/** Modes whose servers keep sessions in a store: Junction gets a JetStream store_dir, mosquitto persistence. */
const PERSISTENT: readonly Mode[] = ["qos2p"];

export const MQTT_USAGE = `Usage: junction bench mqtt [options]

MQTT load: one publisher → one subscriber at QoS 0, 1 and 2 (16-byte messages), a connection
storm, and memory per idle connection; Junction beside mosquitto and aedes when they are there.

  --mode a,b        ${MODES.join(",")} (default: all)
                    qos2p: QoS 2 with persistent sessions (clean session 0) for publisher and
                    subscriber; Junction stores them in a file store (jetstream store_dir),
                    mosquitto runs with persistence true
                    storm: connections opened on a fresh server; storm-warm: the same after
                    three rounds of connect/DISCONNECT, the median of three rounds (the
                    generator warms up first, against a stand-in)
  --duration S      seconds per throughput run (default 5)
  --size N          payload bytes (default 16)
  --window N        messages unreceived or unacknowledged at most (default 16384 for qos0 and
                    qos1; 512 for qos2 and qos2p, under aedes's limit of 1000 unreleased)
  --conns N         idle connections (default 10000); storm connections (default 2000)
  --servers a,b     junction,mosquitto,aedes (default: those installed)
  --url host:port   measure this running server instead (127.0.0.1); --pid N for idle
`;

export async function runMqttBench(args: string[], out: Out): Promise<number> {
  let modes: Mode[] = [...MODES];
  let duration = 5;
  let size = 16;
  let conns = 0;
  let window = 0;
  let servers = ["junction", "mosquitto", "aedes"];
  let url: string | undefined;
  let pid: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    if (a === "-h" || a === "--help") {
      out(MQTT_USAGE.trimEnd());
      return 0;
    }
    if (v === undefined) {
      process.stderr.write(`junction bench mqtt: ${a} needs a value\n\n${MQTT_USAGE}`);
      return 2;
    }
    i++;
    if (a === "--mode" || a === "--modes") modes = v.split(",").filter((m): m is Mode => (MODES as readonly string[]).includes(m));
    else if (a === "--duration") duration = Number(v);
    else if (a === "--size") size = Number(v);
    else if (a === "--conns") conns = Number(v);
    else if (a === "--window") window = Number(v);
    else if (a === "--servers") servers = v.split(",");
    else if (a === "--url") url = v;
    else if (a === "--pid") pid = Number(v);
    else {
      process.stderr.write(`junction bench mqtt: unknown option ${a}\n\n${MQTT_USAGE}`);
      return 2;
    }
  }
  if (url !== undefined) {
    const colon = url.lastIndexOf(":");
    const host = url.slice(0, colon).replace(/^mqtt:\/\//, "");
    const port = Number(url.slice(colon + 1));
    if (!(port > 0 && port < 65536) || (host !== "127.0.0.1" && host !== "localhost")) {
      process.stderr.write(`junction bench mqtt: bad --url ${url} (127.0.0.1:<port>)\n`);
      return 2;
    }
    const t: Target = { name: url, port, child: undefined, pid };
    if (modes.includes("storm") || modes.includes("storm-warm")) await warmGenerator(conns || 2000);
    for (const mode of modes) {
      let v: string;
      try {
        v = await runMode(mode, t, { duration, size, conns, window });
      } catch (e) {
        v = `error: ${(e as Error).message}`;
      }
      out(`${mode}: ${v}`);
    }
    return 0;
  }
  // every server is started afresh for each mode: a crash or a grown heap does not carry over
  const names: string[] = [];
  for (const name of servers) {
    const t = await startTarget(name, false).catch(() => undefined);
    if (t) {
      names.push(name);
      t.child?.kill("SIGKILL");
    } else process.stderr.write(`junction bench mqtt: ${name} is not installed, skipped\n`);
  }
  const rows: string[][] = [["mode", ...names]];
  if (modes.includes("storm") || modes.includes("storm-warm")) await warmGenerator(conns || 2000);
  for (const mode of modes) {
    const row: string[] = [mode];
    for (const name of names) {
      let v: string;
      let t: Target | undefined;
      try {
        t = await startTarget(name, PERSISTENT.includes(mode));
        v = await runMode(mode, t!, { duration, size, conns, window });
      } catch (e) {
        v = `error: ${(e as Error).message}`;
      } finally {
        t?.child?.kill("SIGKILL");
      }
      row.push(v);
      await sleep(300);
    }
    rows.push(row);
    out(`${row[0]}: ${row.slice(1).map((x, i) => `${names[i]} ${x}`).join(", ")}`);
  }
  out("");
  for (const r of rows) out(r.map((c, i) => (i === 0 ? c.padEnd(11) : c.padStart(22))).join(""));
  return 0;
}

async function runMode(mode: Mode, t: Target, o: { duration: number; size: number; conns: number; window: number }): Promise<string> {
  switch (mode) {
    case "qos0":
      return `${fmt(await pubSub(t.port, 0, o.duration, o.size, o.window || 16_384))} msgs/s`;
    case "qos1":
      return `${fmt(await pubSub(t.port, 1, o.duration, o.size, o.window || 16_384))} msgs/s`;
    case "qos2":
      return `${fmt(await pubSub(t.port, 2, o.duration, o.size, o.window || 512))} msgs/s`;
    case "qos2p":
      return `${fmt(await pubSub(t.port, 2, o.duration, o.size, o.window || 512, true))} msgs/s`;
    case "storm":
      return `${fmt(await storm(t.port, o.conns || 2000))} conns/s`;
    case "storm-warm": {
      const n = o.conns || 2000;
      for (let i = 0; i < 3; i++) await storm(t.port, n);
      const r: number[] = [];
      for (let i = 0; i < 3; i++) r.push(await storm(t.port, n));
      r.sort((a, b) => a - b);
      return `${fmt(r[1]!)} conns/s`;
    }
    case "idle": {
      const kib = await idle(t, o.conns || 10_000);
      return `${kib.toFixed(1)} KiB/conn`;
    }
  }
}

function fmt(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
}

// ---- servers

async function startTarget(name: string, persistent: boolean): Promise<Target | undefined> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `bench-mqtt-${name}-`));
  let child: ChildProcess;
  if (name === "junction") {
    const cmd = junctionCommand();
    if (!cmd) return undefined;
    const conf = join(dir, "j.conf");
    const js = persistent ? `jetstream { store_dir: "${join(dir, "js")}" }\n` : "";
    writeFileSync(conf, `listen: 127.0.0.1:-1\nserver_name: bench\nmqtt { listen: 127.0.0.1:${port} }\nmax_pending: 256MB\n${js}`);
    child = spawn(cmd.cmd, [...cmd.args, "-c", conf], { stdio: "ignore" });
  } else if (name === "mosquitto") {
    const bin = which("mosquitto") ?? (which("sh") && "/usr/sbin/mosquitto");
    try {
      readFileSync(bin!);
    } catch {
      return undefined;
    }
    const conf = join(dir, "m.conf");
    const persistence = persistent ? `persistence true\npersistence_location ${dir}/\n` : "persistence false\n";
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n${persistence}`);
    child = spawn(bin!, ["-c", conf], { stdio: "ignore" });
  } else if (name === "aedes") {
    const root = repoRoot();
    try {
      readFileSync(join(root, "node_modules", "aedes", "package.json"));
    } catch {
      return undefined;
    }
    const script = join(dir, "aedes.mjs");
    writeFileSync(script, `import { createRequire } from "node:module";\nconst require = createRequire(${JSON.stringify(join(root, "package.json"))});\n` +
      `const { Aedes } = await import(require.resolve("aedes"));\nconst net = await import("node:net");\n` +
      `const broker = await Aedes.createBroker();\nnet.createServer(broker.handle).listen(${port}, "127.0.0.1");\n`);
    child = spawn(process.execPath, [script], { stdio: ["ignore", "ignore", "inherit"] });
  } else return undefined;
  const t: Target = { name, port, child, pid: child.pid };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const c = await MqttRaw.open(port, "probe");
      c.close();
      return t;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill("SIGKILL");
        throw new Error(`${name} did not start`);
      }
      await sleep(100);
    }
  }
}

// ---- a raw MQTT 3.1.1 client (the generator must cost less than the server)

function connectFrame(id: string, clean: boolean): Buffer {
  const idb = Buffer.from(id);
  const body = Buffer.concat([Buffer.from([0, 4, 77, 81, 84, 84, 4, clean ? 2 : 0, 0, 60, idb.length >> 8, idb.length & 255]), idb]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

const DISCONNECT = Buffer.from([0xe0, 0]);

class MqttRaw {
  private pending: Buffer | null = null;
  /** acknowledgements queued while a chunk is read, written in one go after it */
  private acks: Buffer | null = null;
  private ackLen = 0;
  onPacket: (first: number, body: Buffer) => void = () => {};
  private constructor(readonly sock: Socket) {
    sock.on("data", (chunk: Buffer) => this.data(chunk));
    sock.on("error", () => {});
  }

  static open(port: number, id: string, clean = true): Promise<MqttRaw> {
    return new Promise((resolve, reject) => {
      const sock = connect(port, "127.0.0.1");
      sock.setNoDelay(true);
      const c = new MqttRaw(sock);
      const t = setTimeout(() => {
        sock.destroy();
        reject(new Error("CONNACK timeout"));
      }, 10_000);
      sock.once("error", (e) => {
        clearTimeout(t);
        reject(e);
      });
      c.onPacket = (first, body) => {
        clearTimeout(t);
        if (first >> 4 === 2 && body[1] === 0) resolve(c);
        else reject(new Error(`refused: ${body.toString("hex")}`));
      };
      sock.once("connect", () => sock.write(connectFrame(id, clean)));
    });
  }

  /** Queues a 4-byte acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP) for the end of this chunk. */
  ack(first: number, hi: number, lo: number): void {
    if (this.acks === null || this.ackLen + 4 > this.acks.length) {
      if (this.acks !== null && this.ackLen > 0) this.sock.write(this.acks.subarray(0, this.ackLen));
      this.acks = Buffer.allocUnsafe(64 * 1024);
      this.ackLen = 0;
    }
    const b = this.acks;
    const p = this.ackLen;
    b[p] = first;
    b[p + 1] = 2;
    b[p + 2] = hi;
    b[p + 3] = lo;
    this.ackLen = p + 4;
  }

  private data(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let p = 0;
    const n = buf.length;
    while (n - p >= 2) {
      let len = 0;
      let mult = 1;
      let q = p + 1;
      let ok = false;
      while (q < n) {
        const b = buf[q++]!;
        len += (b & 127) * mult;
        mult *= 128;
        if ((b & 128) === 0) {
          ok = true;
          break;
        }
      }
      if (!ok || q + len > n) break;
      this.onPacket(buf[p]!, buf.subarray(q, q + len));
      p = q + len;
    }
    if (p < n) this.pending = buf.subarray(p);
    if (this.ackLen > 0) {
      // the buffer goes to the socket: later acknowledgements start a new one
      this.sock.write(this.acks!.subarray(0, this.ackLen));
      this.acks = this.acks!.length - this.ackLen >= 4096 ? this.acks!.subarray(this.ackLen) : null;
      this.ackLen = 0;
    }
  }

  subscribe(filter: string, qos: number): Promise<void> {
    const f = Buffer.from(filter);
    const body = Buffer.concat([Buffer.from([0, 1, f.length >> 8, f.length & 255]), f, Buffer.from([qos])]);
    return new Promise((resolve) => {
      this.onPacket = (first) => {
        if (first >> 4 === 9) resolve();
      };
      this.sock.write(Buffer.concat([Buffer.from([0x82, body.length]), body]));
    });
  }

  close(): void {
    this.sock.destroy();
  }

  /** DISCONNECT, then close. */
  disconnect(): void {
    this.sock.end(DISCONNECT);
  }
}

/**
 * One publisher → one subscriber at `qos`, at most WINDOW messages unreceived or unacknowledged;
 * returns messages received per second. `persistent`: both with clean session 0 (the
 * subscriber's messages are kept for it).
 */
async function pubSub(port: number, qos: number, seconds: number, size: number, WINDOW: number, persistent = false): Promise<number> {
  const tag = persistent ? "p" : String(Date.now());
  const sub = await MqttRaw.open(port, `bench-sub-${tag}`, !persistent);
  await sub.subscribe("bench/topic", qos);
  const pub = await MqttRaw.open(port, `bench-pub-${tag}`, !persistent);
  const topic = Buffer.from("bench/topic");
  const payload = Buffer.alloc(size, 97);
  const BATCH = Math.max(1, Math.min(256, WINDOW >> 2));
  let received = 0;
  let sent = 0;
  let acked = 0;
  let pid = 0;
  const qos0Frame = (): Buffer => {
    const rem = 2 + topic.length + payload.length;
    return Buffer.concat([Buffer.from([0x30, ...varint(rem)]), Buffer.from([0, topic.length]), topic, payload]);
  };
  const q0 = qos0Frame();
  const q0Batch = Buffer.concat(Array(BATCH).fill(q0));
  const qHeader = Buffer.from([0x30 | (qos << 1), ...varint(2 + topic.length + 2 + payload.length), 0, topic.length]);
  const frameLen = qHeader.length + topic.length + 2 + payload.length;
  let running = true;
  let wake: (() => void) | null = null;
  const kick = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  sub.onPacket = (first, body) => {
    const type = first >> 4;
    if (type === 3) {
      received++;
      const q = (first >> 1) & 3;
      if (q > 0) {
        // PUBACK or PUBREC with the packet identifier after the topic
        const off = 2 + ((body[0]! << 8) | body[1]!);
        sub.ack(q === 1 ? 0x40 : 0x50, body[off]!, body[off + 1]!);
      }
      if (sent - received < WINDOW / 2) kick();
    } else if (type === 6) sub.ack(0x70, body[0]!, body[1]!); // PUBREL → PUBCOMP
  };
  pub.onPacket = (first, body) => {
    const type = first >> 4;
    if (type === 5) {
      pub.ack(0x62, body[0]!, body[1]!); // PUBREC → PUBREL
      return;
    }
    if (type === 4 || type === 7) {
      acked++;
      if (sent - acked < WINDOW / 2) kick();
    }
  };
  const frames = (): Buffer => {
    const b = Buffer.allocUnsafe(frameLen * BATCH);
    let p = 0;
    for (let i = 0; i < BATCH; i++) {
      pid = pid === 65535 ? 1 : pid + 1;
      p += qHeader.copy(b, p);
      p += topic.copy(b, p);
      b[p++] = pid >> 8;
      b[p++] = pid & 255;
      p += payload.copy(b, p);
    }
    return b;
  };
  const producer = (async () => {
    while (running) {
      const outstanding = qos > 0 ? Math.max(sent - received, sent - acked) : sent - received;
      if (outstanding >= WINDOW) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      pub.sock.write(qos === 0 ? q0Batch : frames());
      sent += BATCH;
      if (pub.sock.writableLength > 1 << 20) await new Promise<void>((r) => pub.sock.once("drain", () => r()));
      else await new Promise<void>((r) => setImmediate(r));
    }
  })();
  // warm up, then measure
  await sleep(1000);
  const r0 = received;
  const t0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const r1 = received;
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  running = false;
  kick();
  await producer;
  pub.close();
  sub.close();
  return (r1 - r0) / dt;
}

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 128;
    out.push(d);
  } while (n > 0);
  return out;
}

/**
 * The generator's own connection code is compiled by the JIT only after some thousands of
 * connections: until then it is slower than the server it measures, and the first server
 * measured would pay for it. It warms up against a stand-in that answers every CONNECT.
 */
async function warmGenerator(n: number): Promise<void> {
  const srv = createServer((s) => {
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      if (d[0] === 0x10) s.write(Buffer.from([0x20, 2, 0, 0]));
      if (d.includes(0xe0)) s.destroy();
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  for (let i = 0; i < 3; i++) await storm(port, n);
  await new Promise<void>((r) => srv.close(() => r()));
}

/** Opens `n` connections (CONNECT/CONNACK), 100 at a time; returns connections per second. */
async function storm(port: number, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const open: MqttRaw[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      open.push(await MqttRaw.open(port, `storm-${i}`));
    }
  };
  await Promise.all(Array.from({ length: 100 }, worker));
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const c of open) c.disconnect();
  await sleep(500);
  return n / dt;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** Server memory per idle MQTT connection (RSS before and after `n` connections). */
async function idle(t: Target, n: number): Promise<number> {
  const pid = t.pid;
  if (pid === undefined) throw new Error("idle needs the server's process id (--pid)");
  await sleep(500);
  const before = rssKiB(pid);
  const open: MqttRaw[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      open.push(await MqttRaw.open(t.port, `idle-${i}`));
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  await sleep(2000);
  const after = rssKiB(pid);
  for (const c of open) c.close();
  await sleep(1000);
  return (after - before) / n;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
