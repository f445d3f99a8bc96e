// The bench modes. Each runs against one server and returns its figures; the main thread
// only orchestrates (workers do the traffic), except for idle mode, whose connections sit
// still once open.

import { RawConn, BenchError } from "./conn.js";
import type { BenchOptions } from "./args.js";
import { NatsScanner } from "./scanner.js";
import { frameBatch, makePayload } from "./frames.js";
import { BenchWorker } from "./workers.js";
import { findListenerPid, openFds, openFilesSoftLimit, rssBytes } from "./proc.js";

export interface ServerTarget {
  name: string;
  host: string;
  port: number;
  /** Known server pid (child we started, or --pid). */
  pid?: number;
}

/** One figure. `better` says which direction wins, for reading ratios. */
export interface Figure {
  mode: string;
  metric: string;
  unit: string;
  value: number;
  better: "higher" | "lower";
  /** Each measured run's figure, when the value is the median of several. */
  runs?: number[];
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface ModeContext {
  opts: BenchOptions;
  warn: (msg: string) => void;
}

const TIMEOUT_MS = 10_000;
const STALL_MS = 5_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rand = (): string => Math.random().toString(36).slice(2, 10);
const secs = (a: bigint, b: bigint): number => Number(b - a) / 1e9;

async function withWorkers<T>(workers: BenchWorker[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** Publish-only: how many messages per second the server takes in (no subscribers). */
export async function runPub(t: ServerTarget, ctx: ModeContext): Promise<Figure[]> {
  const { opts } = ctx;
  const subject = `bench.pub.${rand()}`;
  const pub = new BenchWorker({ role: "pub", host: t.host, port: t.port, subject, size: opts.size, timeoutMs: TIMEOUT_MS });
  return withWorkers([pub], async () => {
    await pub.wait("ready", TIMEOUT_MS);
    if (opts.warmup > 0) {
      pub.send({ cmd: "run", count: Math.min(opts.warmup, opts.msgs), durationMs: opts.durationMs, timeoutMs: 60_000 });
      await pub.wait("pubDone", opts.durationMs + 60_000);
    }
    const rates: number[] = [];
    for (let r = 0; r < opts.runs; r++) {
      pub.send({ cmd: "run", count: opts.msgs, durationMs: opts.durationMs, timeoutMs: 60_000 });
      const d = await pub.wait("pubDone", opts.durationMs + 60_000);
      rates.push(d.sent / secs(d.t0, d.tEnd));
    }
    return [{ mode: "pub", metric: "msgs/s", unit: "msgs/s", value: median(rates), better: "higher", runs: rates }];
  });
}

/** 1 publisher → `subs` subscribers; per second: messages received by each (pubsub) or deliveries in all (fanout). */
export async function runFlow(t: ServerTarget, ctx: ModeContext, mode: "pubsub" | "fanout"): Promise<Figure[]> {
  const { opts } = ctx;
  const subs = mode === "pubsub" ? 1 : opts.subs;
  const subject = `bench.${mode}.${rand()}`;
  const nWorkers = Math.min(subs, opts.subWorkers);
  const workers: BenchWorker[] = [];
  const subWorkers: BenchWorker[] = [];
  let first = 0;
  for (let k = 0; k < nWorkers; k++) {
    const conns = Math.floor(subs / nWorkers) + (k < subs % nWorkers ? 1 : 0);
    const w = new BenchWorker({ role: "sub", host: t.host, port: t.port, subject, size: opts.size, timeoutMs: TIMEOUT_MS, conns, firstIndex: first });
    first += conns;
    subWorkers.push(w);
    workers.push(w);
  }
  const pub = new BenchWorker({ role: "pub", host: t.host, port: t.port, subject, size: opts.size, timeoutMs: TIMEOUT_MS });
  workers.push(pub);
  return withWorkers(workers, async () => {
    await Promise.all(workers.map((w) => w.wait("ready", TIMEOUT_MS + subs * 1000)));
    let total = 0;
    const round = async (count: number): Promise<number> => {
      pub.send({ cmd: "run", count, durationMs: opts.durationMs, timeoutMs: 60_000 });
      const d = await pub.wait("pubDone", opts.durationMs + 60_000);
      total += d.sent;
      for (const w of subWorkers) w.send({ cmd: "expect", total, stallMs: STALL_MS });
      const done = await Promise.all(subWorkers.map((w) => w.wait("subDone", opts.durationMs + 120_000)));
      let tLast = d.t0;
      for (const r of done) {
        if (!r.ok) {
          const short = r.counts.map((c) => `${c}`).join(", ");
          throw new BenchError(`${mode}: subscribers received ${short} of ${total} messages (no progress for ${STALL_MS / 1000} s): the server dropped messages`);
        }
        if (r.tLast > tLast) tLast = r.tLast;
      }
      return (d.sent * subs) / secs(d.t0, tLast);
    };
    if (opts.warmup > 0) await round(Math.min(opts.warmup, opts.msgs));
    const rates: number[] = [];
    for (let r = 0; r < opts.runs; r++) rates.push(await round(opts.msgs));
    if (mode === "pubsub") return [{ mode, metric: "msgs/s", unit: "msgs/s", value: median(rates), better: "higher", runs: rates }];
    return [{ mode, metric: `deliveries/s (${subs} subs)`, unit: "deliveries/s", value: median(rates), better: "higher", runs: rates }];
  });
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k];
}

/** One requester in sequence, one responder: latency percentiles and requests per second. */
export async function runReqRep(t: ServerTarget, ctx: ModeContext): Promise<Figure[]> {
  const { opts } = ctx;
  const subject = `bench.req.${rand()}`;
  const base = { host: t.host, port: t.port, subject, size: opts.size, timeoutMs: TIMEOUT_MS };
  const responder = new BenchWorker({ role: "responder", ...base });
  const requester = new BenchWorker({ role: "requester", ...base });
  return withWorkers([responder, requester], async () => {
    await responder.wait("ready", TIMEOUT_MS);
    await requester.wait("ready", TIMEOUT_MS);
    const run = async (count: number) => {
      requester.send({ cmd: "run", count, durationMs: opts.durationMs, timeoutMs: 5000 });
      return requester.wait("reqDone", opts.durationMs + 15_000);
    };
    if (opts.warmup > 0) await run(Math.min(2000, opts.warmup, opts.requests));
    const r = await run(opts.requests);
    const lat = r.lat.slice().sort();
    const f = (metric: string, value: number, better: "higher" | "lower" = "lower", unit = "µs"): Figure => ({ mode: "reqrep", metric, unit, value, better });
    return [
      f("p50 µs", percentile(lat, 50)),
      f("p90 µs", percentile(lat, 90)),
      f("p99 µs", percentile(lat, 99)),
      f("max µs", lat.length ? lat[lat.length - 1] : NaN),
      f("req/s", r.n / secs(r.t0, r.t1), "higher", "req/s"),
    ];
  });
}

/** How many idle connections the fd limits allow (ours and the server's), with a margin. */
export function idleConnectionBudget(wanted: number, serverPid: number | undefined): { conns: number; reason?: string } {
  const margin = 128;
  let conns = wanted;
  let reason: string | undefined;
  const mine = openFilesSoftLimit("self");
  if (mine !== undefined && Number.isFinite(mine)) {
    const room = mine - (openFds("self") ?? 64) - margin;
    if (room < conns) {
      conns = Math.max(1, room);
      reason = `this process may open ${mine} files (ulimit -n)`;
    }
  }
  if (serverPid !== undefined) {
    const theirs = openFilesSoftLimit(serverPid);
    if (theirs !== undefined && Number.isFinite(theirs)) {
      const room = theirs - (openFds(serverPid) ?? 64) - margin;
      if (room < conns) {
        conns = Math.max(1, room);
        reason = `the server (pid ${serverPid}) may open ${theirs} files (ulimit -n)`;
      }
    }
  }
  return { conns, reason };
}

/** C idle connections, each through the handshake; the server's RSS growth per connection. */
export async function runIdle(t: ServerTarget, ctx: ModeContext): Promise<Figure[]> {
  const { opts, warn } = ctx;
  const pid = t.pid ?? findListenerPid(t.port);
  if (pid === undefined) {
    throw new BenchError(`cannot tell which process serves 127.0.0.1:${t.port}; pass its pid with --pid (or --vs-pid)`);
  }
  if (rssBytes(pid) === undefined) throw new BenchError(`cannot read /proc/${pid}/status (is pid ${pid} the server?)`);
  const budget = idleConnectionBudget(opts.conns, pid);
  const C = budget.conns;
  if (C < opts.conns) warn(`idle: ${opts.conns} connections wanted but ${budget.reason}; using ${C} (raise it with ulimit -n)`);
  const conns: RawConn[] = [];
  try {
    await sleep(500);
    const before = rssBytes(pid)!;
    let next = 0;
    let failure: Error | undefined;
    const deadline = Date.now() + Math.max(60_000, C * 10);
    const lane = async (): Promise<void> => {
      while (next < C && !failure) {
        next++;
        if (Date.now() > deadline) throw new BenchError(`opening ${C} connections took longer than ${Math.max(60_000, C * 10)} ms`);
        const c = await RawConn.connect({ host: t.host, port: t.port, timeoutMs: TIMEOUT_MS, label: `idle connection ${conns.length + 1} → ${t.host}:${t.port}` });
        conns.push(c);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(200, C) }, () =>
        lane().catch((e: Error) => {
          failure ??= e;
        }),
      ),
    );
    if (failure) throw new BenchError(`${failure.message} (after ${conns.length} of ${C} idle connections)`);
    // Let the server settle (buffers allocated on the first reads, first PINGs), then check all are alive.
    await sleep(1500);
    await Promise.all(conns.map((c) => c.ping(TIMEOUT_MS)));
    await sleep(500);
    const after = rssBytes(pid);
    if (after === undefined) throw new BenchError(`the server (pid ${pid}) is gone`);
    const dead = conns.filter((c) => c.failure).length;
    if (dead > 0) throw new BenchError(`${dead} of ${C} connections were closed by the server`);
    return [
      { mode: "idle", metric: `KiB/conn (${C} conns)`, unit: "KiB", value: (after - before) / 1024 / C, better: "lower" },
    ];
  } finally {
    for (const c of conns) c.close();
    await sleep(300);
  }
}

/** The scanner alone on a pre-built buffer of MSG frames, fed in 64 KiB chunks: msgs/s on one core. */
export function scannerThroughput(size: number, totalBytes = 64 << 20): number {
  const head = Buffer.from(`MSG bench.self.subject 1 ${size}\r\n`);
  const frame = Buffer.concat([head, makePayload(size), Buffer.from("\r\n")]);
  const n = Math.max(1, Math.floor(totalBytes / frame.length));
  const buf = frameBatch(frame, n);
  const chunk = 64 * 1024;
  let best = 0;
  for (let rep = 0; rep < 5; rep++) {
    const s = new NatsScanner();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < buf.length; i += chunk) s.feed(buf.subarray(i, Math.min(buf.length, i + chunk)));
    const dt = secs(t0, process.hrtime.bigint());
    if (s.msgs !== n) throw new Error(`scanner self-test counted ${s.msgs} of ${n} frames`);
    best = Math.max(best, n / dt);
  }
  return best;
}

/** The generator's own ceilings: scanner on a buffer, publisher into a sink, a source into a subscriber. */
export async function runSelf(ctx: ModeContext): Promise<Figure[]> {
  const { opts } = ctx;
  const figures: Figure[] = [{ mode: "self", metric: "scanner msgs/s (1 core, no I/O)", unit: "msgs/s", value: scannerThroughput(opts.size), better: "higher" }];
  const subject = `bench.self.${rand()}`;
  // Publisher → a sink that only answers PINGs.
  const sink = new BenchWorker({ role: "sink" });
  const pubRate = await withWorkers([sink], async () => {
    const { port } = await sink.wait("ready", TIMEOUT_MS);
    const t: ServerTarget = { name: "sink", host: "127.0.0.1", port: port! };
    const [f] = await runPub(t, ctx);
    return f.value;
  });
  figures.push({ mode: "self", metric: "publisher → sink msgs/s", unit: "msgs/s", value: pubRate, better: "higher" });
  // A source that writes pre-built MSG frames → one subscriber worker.
  const source = new BenchWorker({ role: "source", subject, size: opts.size });
  const subRate = await withWorkers([source], async () => {
    const { port } = await source.wait("ready", TIMEOUT_MS);
    const sub = new BenchWorker({ role: "sub", host: "127.0.0.1", port: port!, subject, size: opts.size, timeoutMs: TIMEOUT_MS, conns: 1, firstIndex: 0 });
    return withWorkers([sub], async () => {
      await sub.wait("ready", TIMEOUT_MS);
      let total = 0;
      let rate = 0;
      for (const count of [Math.min(opts.warmup, opts.msgs), opts.msgs]) {
        if (count === 0) continue;
        source.send({ cmd: "run", count, durationMs: 0, timeoutMs: 60_000 });
        const d = await source.wait("pubDone", 120_000);
        total += count;
        sub.send({ cmd: "expect", total, stallMs: STALL_MS });
        const r = await sub.wait("subDone", 120_000);
        if (!r.ok) throw new BenchError(`self: subscriber received ${r.counts[0]} of ${total}`);
        rate = count / secs(d.t0, r.tLast);
      }
      return rate;
    });
  });
  figures.push({ mode: "self", metric: "source → subscriber msgs/s", unit: "msgs/s", value: subRate, better: "higher" });
  // Requester ↔ an echo that answers each request at once: the generator's own round trip.
  const echo = new BenchWorker({ role: "echo", size: opts.size });
  const rr = await withWorkers([echo], async () => {
    const { port } = await echo.wait("ready", TIMEOUT_MS);
    const requester = new BenchWorker({ role: "requester", host: "127.0.0.1", port: port!, subject, size: opts.size, timeoutMs: TIMEOUT_MS });
    return withWorkers([requester], async () => {
      await requester.wait("ready", TIMEOUT_MS);
      requester.send({ cmd: "run", count: Math.min(2000, opts.requests), durationMs: opts.durationMs, timeoutMs: 5000 });
      await requester.wait("reqDone", opts.durationMs + 15_000);
      requester.send({ cmd: "run", count: opts.requests, durationMs: opts.durationMs, timeoutMs: 5000 });
      return requester.wait("reqDone", opts.durationMs + 15_000);
    });
  });
  const lat = rr.lat.slice().sort();
  figures.push({ mode: "self", metric: "requester ↔ echo p50 µs", unit: "µs", value: percentile(lat, 50), better: "lower" });
  figures.push({ mode: "self", metric: "requester ↔ echo p99 µs", unit: "µs", value: percentile(lat, 99), better: "lower" });
  return figures;
}
