// Memory soak of the file store (not a test: it takes minutes and writes gigabytes).
//
//   npm run soak:memory -- [--gb 5] [--small-seconds 180] [--read-msgs 1000000] [--rss-limit-mb 600]
//
// Starts Junction in a child process with a file store in a temporary store_dir, publishes
// --gb gigabytes of 1 KiB messages into stream BIG, then 64-byte messages into stream SMALL for
// --small-seconds, reads across both (direct gets at random sequences, last-by-subject gets, an
// ordered consumer from the start), restarts the server on the same store_dir, reads again, and
// prints the server's RSS and V8 heap over time. Exits 1 when the largest RSS seen exceeds
// --rss-limit-mb. The store_dir is removed at the end (--keep keeps it).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";

interface Sample {
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

const args = process.argv.slice(2);
function opt(name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}


// ---------------------------------------------------------------- the server child

async function serve(storeDir: string): Promise<void> {
  const { startServer } = await import("../src/index.js");
  const server = await startServer({ host: "127.0.0.1", port: -1, jetstream: { store_dir: storeDir, max_file_store: 200 * 1024 ** 3 } });
  const report = (): void => {
    const m = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
  };
  process.stdout.write(`READY ${server.clientURL}\n`);
  setInterval(report, 1000);
  report();
  process.on("SIGTERM", () => {
    void server.close().then(() => process.exit(0));
  });
}

// ---------------------------------------------------------------- the driver

class ServerProc {
  readonly samples: Sample[] = [];
  url = "";
  private constructor(readonly child: ChildProcess) {}

  static start(storeDir: string): Promise<ServerProc> {
    const child = spawn(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname, "--server", storeDir], { stdio: ["ignore", "pipe", "inherit"] });
    const sp = new ServerProc(child);
    return new Promise((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`server exited (${code})`)));
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line.startsWith("READY ")) {
          sp.url = line.slice(6);
          resolve(sp);
        } else if (line.startsWith("{")) {
          try {
            sp.samples.push(JSON.parse(line) as Sample);
          } catch {
            // a log line
          }
        }
      });
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGTERM");
    await exited;
  }
}

const MB = 1024 * 1024;
const phases: { name: string; from: number; to: number; note: string }[] = [];
let servers: ServerProc[] = [];

async function phase(name: string, fn: () => Promise<string>): Promise<void> {
  const from = Date.now();
  const note = await fn();
  const to = Date.now();
  phases.push({ name, from, to, note });
  const s = samplesIn(from, to);
  const peak = Math.max(0, ...s.map((x) => x.rss));
  const heap = Math.max(0, ...s.map((x) => x.heapUsed));
  console.log(`${name.padEnd(34)} ${((to - from) / 1000).toFixed(1).padStart(7)} s  peak RSS ${(peak / MB).toFixed(0).padStart(5)} MB  peak heap ${(heap / MB).toFixed(0).padStart(5)} MB  ${note}`);
}

function samplesIn(from: number, to: number): Sample[] {
  const out: Sample[] = [];
  for (const sp of servers) for (const s of sp.samples) if (s.t >= from - 1000 && s.t <= to + 1000) out.push(s);
  return out;
}

async function publishCore(nc: NatsConnection, prefix: string, subjects: number, size: number, until: (n: number, bytes: number) => boolean): Promise<{ n: number; bytes: number }> {
  const js = jetstream(nc);
  const payload = new Uint8Array(size).fill(97);
  let n = 0;
  let bytes = 0;
  while (!until(n, bytes)) {
    for (let k = 0; k < 2000; k++, n++) {
      nc.publish(`${prefix}.${n % subjects}`, payload);
      bytes += size;
    }
    await nc.flush();
    // Now and then an acknowledged publish: the stream is really storing.
    if (n % 200_000 === 0) {
      await js.publish(`${prefix}.${n % subjects}`, payload);
      n++;
      bytes += size;
    }
  }
  return { n, bytes };
}

async function randomGets(jsm: JetStreamManager, stream: string, last: number, count: number): Promise<number> {
  const t0 = Date.now();
  let x = 12345;
  const window = 64;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (done < count) {
      done++;
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const seq = 1 + (x % last);
      const m = await jsm.direct.getMessage(stream, { seq });
      if (m === null || m.seq !== seq) throw new Error(`direct get ${stream} ${seq}: ${m?.seq}`);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return count / ((Date.now() - t0) / 1000);
}

async function lastBySubject(jsm: JetStreamManager, stream: string, prefix: string, subjects: number, count: number): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < count; i += 64) {
    await Promise.all(
      Array.from({ length: 64 }, async (_, k) => {
        const m = await jsm.direct.getMessage(stream, { last_by_subj: `${prefix}.${(i + k) % subjects}` });
        if (m === null) throw new Error("last_by_subj: none");
      }),
    );
  }
  return count / ((Date.now() - t0) / 1000);
}

async function readFromStart(nc: NatsConnection, stream: string, count: number): Promise<number> {
  const js = jetstream(nc);
  const c = await js.consumers.get(stream);
  const t0 = Date.now();
  const it = await c.consume({ max_messages: 4096 });
  let n = 0;
  let expect = 1;
  for await (const m of it) {
    if (m.seq !== expect) throw new Error(`consumer: seq ${m.seq}, expected ${expect}`);
    expect++;
    if (++n >= count) break;
  }
  await it.close();
  return n / ((Date.now() - t0) / 1000);
}

async function soak(): Promise<void> {
  const gb = opt("gb", 5);
  const smallSeconds = opt("small-seconds", 180);
  const readMsgs = opt("read-msgs", 1_000_000);
  const rssLimit = opt("rss-limit-mb", 600) * MB;
  const keep = args.includes("--keep");
  const storeDir = mkdtempSync(join(tmpdir(), "junction-soak-"));
  console.log(`store_dir ${storeDir}; ${gb} GB of 1 KiB messages, then 64 B messages for ${smallSeconds} s`);
  let server = await ServerProc.start(storeDir);
  servers = [server];
  let nc = await connect({ servers: server.url });
  let jsm = await jetstreamManager(nc);
  let bigLast = 0;
  let smallLast = 0;
  try {
    await jsm.streams.add({ name: "BIG", subjects: ["big.>"], storage: "file" as never, allow_direct: true });
    await jsm.streams.add({ name: "SMALL", subjects: ["small.>"], storage: "file" as never, allow_direct: true });
    await phase("publish 1 KiB into BIG", async () => {
      const t0 = Date.now();
      const r = await publishCore(nc, "big", 100, 1024, (_n, bytes) => bytes >= gb * 1024 ** 3);
      bigLast = (await jsm.streams.info("BIG")).state.last_seq;
      return `${r.n.toLocaleString("en-US")} msgs, ${Math.round(r.n / ((Date.now() - t0) / 1000)).toLocaleString("en-US")} msgs/s`;
    });
    await phase("publish 64 B into SMALL", async () => {
      const t0 = Date.now();
      const r = await publishCore(nc, "small", 10_000, 64, () => Date.now() - t0 >= smallSeconds * 1000);
      smallLast = (await jsm.streams.info("SMALL")).state.last_seq;
      return `${r.n.toLocaleString("en-US")} msgs, ${Math.round(r.n / ((Date.now() - t0) / 1000)).toLocaleString("en-US")} msgs/s`;
    });
    const reads = async (tag: string): Promise<void> => {
      await phase(`direct get random seq BIG ${tag}`, async () => `${Math.round(await randomGets(jsm, "BIG", bigLast, 20_000)).toLocaleString("en-US")} gets/s`);
      await phase(`direct get random seq SMALL ${tag}`, async () => `${Math.round(await randomGets(jsm, "SMALL", smallLast, 20_000)).toLocaleString("en-US")} gets/s`);
      await phase(`last_by_subj SMALL ${tag}`, async () => `${Math.round(await lastBySubject(jsm, "SMALL", "small", 10_000, 20_000)).toLocaleString("en-US")} gets/s`);
      await phase(`consumer from start BIG ${tag}`, async () => `${Math.round(await readFromStart(nc, "BIG", readMsgs)).toLocaleString("en-US")} msgs/s`);
      await phase(`consumer from start SMALL ${tag}`, async () => `${Math.round(await readFromStart(nc, "SMALL", readMsgs)).toLocaleString("en-US")} msgs/s`);
    };
    await reads("");
    await phase("restart (stop, start, stream info)", async () => {
      await nc.close();
      await server.stop();
      const t0 = Date.now();
      server = await ServerProc.start(storeDir);
      servers.push(server);
      nc = await connect({ servers: server.url });
      jsm = await jetstreamManager(nc);
      const big = (await jsm.streams.info("BIG")).state;
      const small = (await jsm.streams.info("SMALL")).state;
      if (big.last_seq !== bigLast || small.last_seq !== smallLast) throw new Error(`after restart: ${big.last_seq}/${small.last_seq}, expected ${bigLast}/${smallLast}`);
      return `ready in ${((Date.now() - t0) / 1000).toFixed(1)} s with ${(big.messages + small.messages).toLocaleString("en-US")} msgs, ${((big.bytes + small.bytes) / 1024 ** 3).toFixed(2)} GiB`;
    });
    await reads("(after restart)");
    await new Promise((r) => setTimeout(r, 7000)); // idle: the index shrinks
    phases.push({ name: "idle", from: Date.now() - 2500, to: Date.now(), note: "" });
  } finally {
    await nc.close().catch(() => {});
    await server.stop().catch(() => {});
    if (!keep) rmSync(storeDir, { recursive: true, force: true });
  }
  const all = servers.flatMap((s) => s.samples);
  const peak = Math.max(...all.map((s) => s.rss));
  const t0 = all[0].t;
  console.log("\nRSS / heap used over time (MB):");
  for (let i = 0; i < all.length; i += Math.max(1, Math.floor(all.length / 40))) {
    const s = all[i];
    console.log(`  t=${String(Math.round((s.t - t0) / 1000)).padStart(5)}s  rss ${(s.rss / MB).toFixed(0).padStart(5)}  heap ${(s.heapUsed / MB).toFixed(0).padStart(5)}  arrayBuffers ${(s.arrayBuffers / MB).toFixed(0).padStart(5)}`);
  }
  const last = all[all.length - 1];
  console.log(`\npeak RSS ${(peak / MB).toFixed(0)} MB (limit ${(rssLimit / MB).toFixed(0)} MB); idle at the end: RSS ${(last.rss / MB).toFixed(0)} MB, heap ${(last.heapUsed / MB).toFixed(0)} MB`);
  if (peak > rssLimit) {
    console.log("FAIL: RSS above the limit");
    process.exit(1);
  }
}

if (args[0] === "--server") await serve(args[1]);
else await soak();
