// A durable consumer's state through SIGKILL of the server process: what was acknowledged with a
// double ack (answered once recorded) is never delivered again, what was delivered and not acked
// is, and the delivery sequences carry on. Several rounds on the same store_dir.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { tmpStoreDir } from "./jetstream-helpers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const INDEX = new URL("../../src/index.ts", import.meta.url).href;

async function spawnServer(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const script = `
    import { startServer } from ${JSON.stringify(INDEX)};
    const s = await startServer({ host: "127.0.0.1", port: -1, jetstream: { store_dir: ${JSON.stringify(dir)} } });
    process.stdout.write("PORT " + s.port + "\\n");
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening`)));
  });
  return { child, port };
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

test("double-acked messages are never delivered again after SIGKILL; unacked ones are", { timeout: 90_000 }, async () => {
  const dir = tmpStoreDir();
  try {
    const acked = new Set<number>();
    let lastDseq = 0;
    for (let round = 0; round < 3; round++) {
      const { child, port } = await spawnServer(dir);
      try {
        const nc = await connect({ servers: `127.0.0.1:${port}` });
        const jsm = await jetstreamManager(nc);
        const js = jetstream(nc);
        if (round === 0) {
          await jsm.streams.add({ name: "K", subjects: ["k.>"] });
          await jsm.consumers.add("K", { durable_name: "D", ack_policy: AckPolicy.Explicit, ack_wait: 60e9 });
        }
        for (let i = 0; i < 20; i++) await js.publish("k.a", `${round}.${i}`);
        const c = await js.consumers.get("K", "D");
        const it = await c.fetch({ max_messages: 15, expires: 2000 });
        let n = 0;
        for await (const m of it) {
          assert.ok(!acked.has(m.seq), `round ${round}: ${m.seq} was acknowledged before the kill`);
          assert.ok(m.info.deliverySequence > lastDseq, `round ${round}: delivery sequence ${m.info.deliverySequence} after ${lastDseq}`);
          lastDseq = m.info.deliverySequence;
          // every other one acknowledged durably, the rest left pending
          if (n++ % 2 === 0) {
            assert.equal(await m.ackAck(), true);
            acked.add(m.seq);
          }
        }
        await nc.close();
      } finally {
        await kill(child);
      }
    }
    // after the last kill: the unacked ones come again (once asked, ack_wait made short), the acked never
    const { child, port } = await spawnServer(dir);
    try {
      const nc = await connect({ servers: `127.0.0.1:${port}` });
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const ci = await jsm.consumers.info("K", "D");
      assert.equal(ci.delivered.consumer_seq, lastDseq);
      await jsm.consumers.update("K", "D", { ack_wait: 200e6 });
      const c = await js.consumers.get("K", "D");
      const it = await c.fetch({ max_messages: 100, expires: 2000 });
      const seen = new Set<number>();
      for await (const m of it) {
        assert.ok(!acked.has(m.seq), `${m.seq} was acknowledged`);
        seen.add(m.seq);
        m.ack();
      }
      for (let seq = 1; seq <= 60; seq++) if (!acked.has(seq)) assert.ok(seen.has(seq), `${seq} (never acked) not delivered again`);
      await nc.close();
    } finally {
      await kill(child);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
