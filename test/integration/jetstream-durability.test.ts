// Durability through the whole server: a client publishes with acknowledgements to a file stream
// while the server process is killed with SIGKILL at random moments, several rounds on the same
// store_dir; after each restart every acknowledged message is there with its sequence, subject,
// headers and payload, in order, and the stream has no gaps. With sync_interval "always" and with
// the default policy (a process kill loses nothing that was handed to the operating system).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { connect, createInbox, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { tmpStoreDir } from "./jetstream-helpers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const INDEX = new URL("../../src/index.ts", import.meta.url).href;

async function spawnServer(dir: string, sync: "always" | "default"): Promise<{ child: ChildProcess; port: number }> {
  const js = sync === "always" ? `{ store_dir: ${JSON.stringify(dir)}, sync_interval: "always" }` : `{ store_dir: ${JSON.stringify(dir)} }`;
  const script = `
    import { startServer } from ${JSON.stringify(INDEX)};
    const s = await startServer({ host: "127.0.0.1", port: -1, jetstream: ${js} });
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

interface Stored {
  seq: number;
  subject: string;
  payload: string;
  id: string | undefined;
  round: string | undefined;
}

/** Every message of stream D, in one batched direct get. */
async function readAll(nc: NatsConnection): Promise<Stored[]> {
  const inbox = createInbox();
  const sub = nc.subscribe(inbox);
  nc.publish("$JS.API.DIRECT.GET.D", JSON.stringify({ seq: 1, batch: 1_000_000 }), { reply: inbox });
  const out: Stored[] = [];
  for await (const m of sub) {
    const code = m.headers?.code ?? 0;
    if (code !== 0) break;
    out.push({
      seq: Number(m.headers!.get("Nats-Sequence")),
      subject: m.headers!.get("Nats-Subject"),
      payload: m.string(),
      id: m.headers!.get("Nats-Msg-Id") || undefined,
      round: m.headers!.get("X-Round") || undefined,
    });
  }
  sub.unsubscribe();
  return out;
}

interface Acked {
  subject: string;
  payload: string;
  id: string;
}

test("acknowledged messages survive SIGKILL of the server, round after round", { timeout: 120_000 }, async () => {
  const dir = tmpStoreDir();
  const acked = new Map<number, Acked>();
  let counter = 0;
  try {
    for (let round = 0; round < 6; round++) {
      const sync = round % 2 === 0 ? "always" : "default";
      const { child, port } = await spawnServer(dir, sync);
      let nc: NatsConnection | undefined;
      try {
        nc = await connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false });
        const jsm = await jetstreamManager(nc);
        if (round === 0) await jsm.streams.add({ name: "D", subjects: ["d.*"], allow_direct: true });

        // everything acknowledged before the kill is there, in order, with nothing in between
        const st = (await jsm.streams.info("D")).state;
        assert.equal(st.messages, st.last_seq, `round ${round}: no gaps`);
        const all = await readAll(nc);
        assert.equal(all.length, st.messages);
        const bySeq = new Map(all.map((m) => [m.seq, m]));
        all.forEach((m, i) => assert.equal(m.seq, i + 1));
        for (const [seq, a] of acked) {
          const m = bySeq.get(seq);
          assert.ok(m, `round ${round}: message ${seq} lost (${sync})`);
          assert.deepEqual([m.subject, m.payload, m.id, m.round], [a.subject, a.payload, a.id, a.payload.split(":")[0]]);
        }

        // publish with a window of outstanding acks; the server dies at a random moment
        const js = jetstream(nc, { timeout: 2000 });
        const killAt = 150 + Math.floor(Math.random() * 400);
        const killer = setTimeout(() => child.kill("SIGKILL"), killAt);
        let stop = false;
        const worker = async () => {
          while (!stop) {
            const n = ++counter;
            const a: Acked = { subject: `d.${n % 5}`, payload: `${round}:${n}`, id: `id-${n}` };
            const h = natsHeaders();
            h.set("X-Round", String(round));
            try {
              const pa = await js.publish(a.subject, a.payload, { headers: h, msgID: a.id });
              if (!pa.duplicate) acked.set(pa.seq, a);
            } catch {
              stop = true;
            }
          }
        };
        await Promise.all(Array.from({ length: 32 }, worker));
        clearTimeout(killer);
      } finally {
        await nc?.close().catch(() => {});
        if (child.exitCode === null && child.signalCode === null) await kill(child);
      }
    }
    assert.ok(acked.size > 100, `only ${acked.size} messages were acknowledged`);
    // a last look with everything that was acknowledged
    const { child, port } = await spawnServer(dir, "default");
    try {
      const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
      const jsm = await jetstreamManager(nc);
      const st = (await jsm.streams.info("D")).state;
      const maxAcked = Math.max(...acked.keys());
      assert.ok(st.last_seq >= maxAcked);
      const bySeq = new Map((await readAll(nc)).map((m) => [m.seq, m]));
      for (const [seq, a] of acked) assert.equal(bySeq.get(seq)?.payload, a.payload);
      await nc.close();
    } finally {
      await kill(child);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
