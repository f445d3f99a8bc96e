// Micro-benchmark of the stream stores (run ad hoc, not in tests):
//   node --import tsx src/bench/store.ts [--quick]
// Appends are stored in batches of `batch` followed by awaiting flush(), which is what the
// JetStream layer does per event-loop turn before sending PubAcks.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { FileStore } from "../jetstream/store/filestore.js";
import { MemoryStore } from "../jetstream/store/memstore.js";
import type { StoreConfig, StreamStore } from "../jetstream/store/types.js";

export interface StoreBenchResult {
  name: string;
  msgs: number;
  seconds: number;
  rate: number;
  mbPerSec?: number;
}

export interface StoreBenchOptions {
  /** Messages for the 16-byte runs (1 KB runs use a fifth). */
  msgs?: number;
  batch?: number;
  log?: (line: string) => void;
}

function secs(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function append(make: () => StreamStore, msgs: number, size: number, batch: number): Promise<{ st: StreamStore; seconds: number }> {
  const st = make();
  const data = Buffer.alloc(size, 120);
  const subjects = Array.from({ length: 16 }, (_, i) => `bench.sub.${i}`);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < msgs; ) {
    const end = Math.min(msgs, i + batch);
    for (; i < end; i++) st.storeMsg(subjects[i & 15], undefined, data);
    await st.flush();
  }
  return { st, seconds: secs(t0) };
}

function loads(st: StreamStore, msgs: number, random: boolean): number {
  const n = Math.min(msgs, 200_000);
  let x = 12345;
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    let seq: number;
    if (random) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      seq = 1 + (x % msgs);
    } else seq = 1 + (i % msgs);
    bytes += st.loadMsg(seq)!.data.length;
  }
  if (bytes < 0) throw new Error("unreachable");
  return n / secs(t0);
}

export async function runStoreBench(opts: StoreBenchOptions = {}): Promise<StoreBenchResult[]> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const msgs16 = opts.msgs ?? 1_000_000;
  const batch = opts.batch ?? 256;
  const root = mkdtempSync(join(tmpdir(), "junction-store-bench-"));
  const results: StoreBenchResult[] = [];
  const report = (name: string, count: number, seconds: number, bytes?: number): void => {
    const r: StoreBenchResult = { name, msgs: count, seconds, rate: count / seconds };
    if (bytes !== undefined) r.mbPerSec = bytes / seconds / 1e6;
    results.push(r);
    log(`${name.padEnd(44)} ${Math.round(r.rate).toLocaleString("en-US").padStart(12)} msgs/s${r.mbPerSec !== undefined ? `  ${r.mbPerSec.toFixed(1)} MB/s` : ""}`);
  };
  let dirs = 0;
  const fileCfg = (extra?: Partial<StoreConfig>): StoreConfig => ({ name: "B", storage: "file", directory: join(root, `d${++dirs}`), ...extra });
  try {
    for (const size of [16, 1024]) {
      const count = size === 16 ? msgs16 : Math.max(1000, Math.floor(msgs16 / 5));
      {
        const { st, seconds } = await append(() => new MemoryStore({ name: "B", storage: "memory" }), count, size, batch);
        report(`memory append ${size}B`, count, seconds, count * size);
        report(`memory load by seq (random) ${size}B`, Math.min(count, 200_000), Math.min(count, 200_000) / loads(st, count, true));
        st.stop();
      }
      {
        const cfg = fileCfg();
        const { st, seconds } = await append(() => new FileStore(cfg), count, size, batch);
        report(`file append ${size}B (batch ${batch})`, count, seconds, count * size);
        report(`file load by seq (sequential) ${size}B`, Math.min(count, 200_000), Math.min(count, 200_000) / loads(st, count, false));
        report(`file load by seq (random) ${size}B`, Math.min(count, 200_000), Math.min(count, 200_000) / loads(st, count, true));
        st.stop();
        const t0 = process.hrtime.bigint();
        const again = new FileStore(cfg);
        report(`file restart (recover ${count} msgs) ${size}B`, count, secs(t0));
        again.stop();
      }
      {
        const cfg = fileCfg({ sync_interval: "always" });
        const n = Math.min(count, 100_000);
        const { st, seconds } = await append(() => new FileStore(cfg), n, size, batch);
        report(`file append ${size}B sync always (batch ${batch})`, n, seconds, n * size);
        st.stop();
      }
    }
    {
      // KV-style: 100k keys, last-by-subject lookups.
      const keys = 100_000;
      const st = new FileStore(fileCfg({ max_msgs_per_subject: 1 }));
      const data = Buffer.alloc(100, 1);
      let t0 = process.hrtime.bigint();
      for (let r = 0; r < 2; r++) {
        for (let i = 0; i < keys; ) {
          const end = Math.min(keys, i + batch);
          for (; i < end; i++) st.storeMsg(`$KV.b.key${i}`, undefined, data);
          await st.flush();
        }
      }
      report("file KV put (max_msgs_per_subject 1, 100k keys)", 2 * keys, secs(t0));
      let x = 7;
      const n = 200_000;
      t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) & 0x7fffffff;
        st.loadLastMsg(`$KV.b.key${x % keys}`);
      }
      report("file KV get (loadLastMsg, random key)", n, secs(t0));
      st.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes("--quick");
  await runStoreBench({ msgs: quick ? 100_000 : 1_000_000 });
}
