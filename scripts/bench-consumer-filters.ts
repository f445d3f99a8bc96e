// Measures publishing into a stream that has thousands of filtered consumers (each taking one
// subject), the case the consumer filter index is for: thousands of key/value watchers, each on
// its own key. Not a test: it prints figures.
//
//   node --import tsx scripts/bench-consumer-filters.ts [kv|pull] [consumers] [messages] [url]
//
// kv:   a key/value bucket with <consumers> watchers (one key each), then puts to random keys
//       (each put reaches one watcher); prints puts/s and checks every watcher saw its puts.
// pull: a stream with <consumers> durable pull consumers filtered to s.<i>, then publishes with
//       acks to random s.<i>; prints msgs/s.
// Without a url the script starts Junction in-process on a temporary store_dir; with one it
// measures that server (e.g. nats-server -js).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, AckPolicy } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { startServer } from "../src/index.js";

const mode = process.argv[2] ?? "kv";
const nConsumers = Number(process.argv[3] ?? 5000);
const nMsgs = Number(process.argv[4] ?? 20000);
const url = process.argv[5];
/** publishes in flight at once */
const WINDOW = 64;

async function pipelined(n: number, one: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) await one(next++);
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  return n / ((performance.now() - t0) / 1000);
}

async function kvBench(nc: NatsConnection): Promise<void> {
  const kv = await new Kvm(nc).create(`bench${Date.now()}`, { history: 1 });
  // with history 1 a put may replace the one before it before it is delivered: each watcher must
  // end with the last revision of its key
  const last = new Array<number>(nConsumers).fill(0);
  const t0 = performance.now();
  const watchers = [];
  for (let i = 0; i < nConsumers; i++) {
    const w = await kv.watch({ key: `k${i}` });
    watchers.push(w);
    void (async () => {
      for await (const e of w) if (e.operation === "PUT") last[i] = e.revision;
    })();
  }
  console.log(`${nConsumers} watchers created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const want = new Array<number>(nConsumers).fill(0);
  const keys = Array.from({ length: nMsgs }, () => Math.floor(Math.random() * nConsumers));
  const value = new Uint8Array(64);
  const rate = await pipelined(nMsgs, async (i) => {
    const rev = await kv.put(`k${keys[i]}`, value);
    if (rev > want[keys[i]!]!) want[keys[i]!] = rev;
  });
  console.log(`kv put: ${Math.round(rate)} puts/s (${nMsgs} puts, ${nConsumers} watchers)`);
  const deadline = Date.now() + 30_000;
  const behind = () => last.filter((v, i) => v !== want[i]).length;
  while (behind() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  console.log(behind() === 0 ? "every watcher saw the last revision of its key" : `${behind()} watchers did not see the last revision of their key`);
  for (const w of watchers) w.stop();
}

async function pullBench(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const name = `bench${Date.now()}`;
  await jsm.streams.add({ name, subjects: [`${name}.>`] });
  const t0 = performance.now();
  for (let i = 0; i < nConsumers; i++) {
    await jsm.consumers.add(name, { durable_name: `c${i}`, filter_subject: `${name}.${i}`, ack_policy: AckPolicy.Explicit });
  }
  console.log(`${nConsumers} consumers created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const js = jetstream(nc);
  const payload = new Uint8Array(64);
  const rate = await pipelined(nMsgs, () => js.publish(`${name}.${Math.floor(Math.random() * nConsumers)}`, payload));
  console.log(`publish with ack: ${Math.round(rate)} msgs/s (${nMsgs} msgs, ${nConsumers} filtered consumers)`);
  const c = await jsm.consumers.info(name, "c0");
  console.log(`c0 num_pending ${c.num_pending}`);
  await jsm.streams.delete(name);
}

const storeDir = url === undefined ? mkdtempSync(join(tmpdir(), "junction-bench-")) : undefined;
const server = storeDir !== undefined ? await startServer({ host: "127.0.0.1", port: -1, jetstream: { store_dir: storeDir } }) : undefined;
const nc = await connect({ servers: url ?? server!.clientURL });
try {
  if (mode === "kv") await kvBench(nc);
  else await pullBench(nc);
} finally {
  await nc.close();
  await server?.close();
  if (storeDir !== undefined) rmSync(storeDir, { recursive: true, force: true });
}
