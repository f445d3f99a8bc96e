// `junction bench mqtt`: MQTT load, side by side with mosquitto (when installed) and aedes (when
// its npm package is there), each a child process on a free port of 127.0.0.1.
// Modes: qos0 and qos1 (one publisher → one subscriber, 16-byte messages, a window of unreceived
// or unacknowledged messages so that nobody buffers without bound), storm (connections opened,
// CONNACKed and closed per second) and idle (server memory per idle connection).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, junctionCommand, repoRoot, which } from "./servers.js";

type Out = (line: string) => void;

interface Target {
  name: string;
  port: number;
  child: ChildProcess;
}

const MODES = ["qos0", "qos1", "storm", "idle"] as const;
type Mode = (typeof MODES)[number];

export const MQTT_USAGE = `Usage: junction bench mqtt [options]

MQTT load: one publisher → one subscriber at QoS 0 and QoS 1 (16-byte messages), a connection
storm, and memory per idle connection; Junction beside mosquitto and aedes when they are there.

  --mode a,b        ${MODES.join(",")} (default: all)
  --duration S      seconds per throughput run (default 5)
  --size N          payload bytes (default 16)
  --conns N         idle connections (default 10000); storm connections (default 2000)
  --servers a,b     junction,mosquitto,aedes (default: those installed)
`;

export async function runMqttBench(args: string[], out: Out): Promise<number> {
  let modes: Mode[] = [...MODES];
  let duration = 5;
  let size = 16;
  let conns = 0;
  let servers = ["junction", "mosquitto", "aedes"];
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
    else if (a === "--servers") servers = v.split(",");
    else {
      process.stderr.write(`junction bench mqtt: unknown option ${a}\n\n${MQTT_USAGE}`);
      return 2;
    }
  }
  // every server is started afresh for each mode: a crash or a grown heap does not carry over
  const names: string[] = [];
  for (const name of servers) {
    const t = await startTarget(name).catch(() => undefined);
    if (t) {
      names.push(name);
      t.child.kill("SIGKILL");
    } else process.stderr.write(`junction bench mqtt: ${name} is not installed, skipped\n`);
  }
  const rows: string[][] = [["mode", ...names]];
  for (const mode of modes) {
    const row: string[] = [mode];
    for (const name of names) {
      let v: string;
      let t: Target | undefined;
      try {
        t = await startTarget(name);
        v = await runMode(mode, t!, { duration, size, conns });
      } catch (e) {
        v = `error: ${(e as Error).message}`;
      } finally {
        t?.child.kill("SIGKILL");
      }
      row.push(v);
      await sleep(300);
    }
    rows.push(row);
    out(`${row[0]}: ${row.slice(1).map((x, i) => `${names[i]} ${x}`).join(", ")}`);
  }
  out("");
  for (const r of rows) out(r.map((c, i) => (i === 0 ? c.padEnd(8) : c.padStart(22))).join(""));
  return 0;
}

async function runMode(mode: Mode, t: Target, o: { duration: number; size: number; conns: number }): Promise<string> {
  switch (mode) {
    case "qos0":
      return `${fmt(await pubSub(t.port, 0, o.duration, o.size))} msgs/s`;
    case "qos1":
      return `${fmt(await pubSub(t.port, 1, o.duration, o.size))} msgs/s`;
    case "storm":
      return `${fmt(await storm(t.port, o.conns || 2000))} conns/s`;
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

async function startTarget(name: string): Promise<Target | undefined> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `bench-mqtt-${name}-`));
  let child: ChildProcess;
  if (name === "junction") {
    const cmd = junctionCommand();
    if (!cmd) return undefined;
    const conf = join(dir, "j.conf");
    writeFileSync(conf, `listen: 127.0.0.1:-1\nserver_name: bench\nmqtt { listen: 127.0.0.1:${port} }\nmax_pending: 256MB\n`);
    child = spawn(cmd.cmd, [...cmd.args, "-c", conf], { stdio: "ignore" });
  } else if (name === "mosquitto") {
    const bin = which("mosquitto") ?? (which("sh") && "/usr/sbin/mosquitto");
    try {
      readFileSync(bin!);
    } catch {
      return undefined;
    }
    const conf = join(dir, "m.conf");
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\npersistence false\n`);
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
  const t = { name, port, child };
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

function connectFrame(id: string): Buffer {
  const idb = Buffer.from(id);
  const body = Buffer.concat([Buffer.from([0, 4, 77, 81, 84, 84, 4, 2, 0, 60, idb.length >> 8, idb.length & 255]), idb]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

class MqttRaw {
  private pending: Buffer | null = null;
  onPacket: (first: number, body: Buffer) => void = () => {};
  private constructor(readonly sock: Socket) {
    sock.on("data", (chunk: Buffer) => this.data(chunk));
    sock.on("error", () => {});
  }

  static open(port: number, id: string): Promise<MqttRaw> {
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
      sock.once("connect", () => sock.write(connectFrame(id)));
    });
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
}

/** One publisher → one subscriber; returns messages received per second. */
async function pubSub(port: number, qos: number, seconds: number, size: number): Promise<number> {
  const sub = await MqttRaw.open(port, `bench-sub-${Date.now()}`);
  await sub.subscribe("bench/topic", qos);
  const pub = await MqttRaw.open(port, `bench-pub-${Date.now()}`);
  const topic = Buffer.from("bench/topic");
  const payload = Buffer.alloc(size, 97);
  const BATCH = 256;
  const WINDOW = 16_384;
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
  const q1Header = Buffer.from([0x32, ...varint(2 + topic.length + 2 + payload.length), 0, topic.length]);
  let running = true;
  let wake: (() => void) | null = null;
  const kick = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  sub.onPacket = (first, body) => {
    if (first >> 4 !== 3) return;
    received++;
    if (qos === 1) {
      const off = 2 + ((body[0]! << 8) | body[1]!);
      sub.sock.write(Buffer.from([0x40, 2, body[off]!, body[off + 1]!]));
    }
    if (sent - received < WINDOW / 2) kick();
  };
  pub.onPacket = (first) => {
    if (first >> 4 === 4) {
      acked++;
      if (sent - acked < WINDOW / 2) kick();
    }
  };
  const frame1 = (): Buffer => {
    pid = pid === 65535 ? 1 : pid + 1;
    return Buffer.concat([q1Header, topic, Buffer.from([pid >> 8, pid & 255]), payload]);
  };
  const producer = (async () => {
    while (running) {
      const outstanding = qos === 1 ? Math.max(sent - received, sent - acked) : sent - received;
      if (outstanding >= WINDOW) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      if (qos === 0) pub.sock.write(q0Batch);
      else {
        const frames: Buffer[] = [];
        for (let i = 0; i < BATCH; i++) frames.push(frame1());
        pub.sock.write(Buffer.concat(frames));
      }
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
  for (const c of open) c.close();
  await sleep(500);
  return n / dt;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** Server memory per idle MQTT connection (RSS before and after `n` connections). */
async function idle(t: Target, n: number): Promise<number> {
  const pid = t.child.pid!;
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
