// Sessions, their subscriptions and queued QoS 1/2 messages, and retained messages survive a
// restart and a SIGKILL (the file store under the JetStream store_dir).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../../src/index.js";
import { sleep, until } from "../helpers.js";
import { mqttConnack, mqttConnect } from "../mqtt-helpers.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Fills a store: a persistent session with messages queued for it, and retained messages. */
async function fill(url: string): Promise<void> {
  const d = await mqttConnect(url, { clientId: "keeper", clean: false });
  await d.subscribeAsync({ "dev/+/temp": { qos: 1 }, "cmd/#": { qos: 2 } });
  await d.endAsync();
  const v5 = await mqttConnect(url, { clientId: "keeper5", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } });
  await v5.subscribeAsync("dev/#", { qos: 1 });
  await v5.endAsync();
  const p = await mqttConnect(url);
  await p.publishAsync("dev/1/temp", "21.5", { qos: 1 });
  await p.publishAsync("dev/2/temp", "19.0", { qos: 1 });
  await p.publishAsync("cmd/reboot", "now", { qos: 2 });
  await p.publishAsync("status/a", "up", { qos: 1, retain: true });
  await p.publishAsync("status/b", "up", { qos: 1, retain: true });
  await p.publishAsync("status/b", "", { qos: 1, retain: true }); // deleted
  await p.endAsync();
}

async function check(url: string): Promise<void> {
  const k = await mqttConnack(url, { clientId: "keeper", clean: false });
  assert.equal(k.sessionPresent, true);
  const m = await k.collector.count(3);
  assert.deepEqual(m.map((x) => [x.topic, x.payload, x.packet.qos]).sort(), [
    ["cmd/reboot", "now", 2], ["dev/1/temp", "21.5", 1], ["dev/2/temp", "19.0", 1],
  ]);
  // the subscriptions came back too
  const p = await mqttConnect(url);
  await p.publishAsync("dev/3/temp", "18", { qos: 1 });
  assert.equal((await k.collector.count(4))[3]!.payload, "18");
  await k.collector.none();
  const k5 = await mqttConnack(url, { clientId: "keeper5", protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } });
  assert.equal(k5.sessionPresent, true);
  const m5 = await k5.collector.count(3);
  assert.deepEqual(m5.map((x) => x.payload).sort(), ["18", "19.0", "21.5"]);
  const r = await mqttConnack(url);
  await r.client.subscribeAsync("status/#", { qos: 1 });
  const ret = await r.collector.count(1);
  assert.deepEqual(ret.map((x) => [x.topic, x.payload, x.packet.retain]), [["status/a", "up", true]]);
  await r.collector.none();
  for (const c of [k.client, k5.client, r.client, p]) await c.endAsync();
}

test("a restart keeps sessions, queued messages and retained messages", async () => {
  const dir = mkdtempSync(join(tmpdir(), "junction-mqtt-"));
  const opts = { host: "127.0.0.1", port: -1, server_name: "r", jetstream: { store_dir: dir }, mqtt: { host: "127.0.0.1", port: -1 } };
  const s1 = await startServer(opts);
  await fill(`mqtt://127.0.0.1:${s1.mqttPort}`);
  await s1.close();
  const s2 = await startServer(opts);
  try {
    await check(`mqtt://127.0.0.1:${s2.mqttPort}`);
  } finally {
    await s2.close();
  }
});

test("SIGKILL: what was acknowledged survives", async () => {
  const dir = mkdtempSync(join(tmpdir(), "junction-mqtt-kill-"));
  const port = await freePort();
  const conf = join(dir, "j.conf");
  writeFileSync(conf, `listen: 127.0.0.1:-1\nserver_name: k\njetstream { store_dir: "${join(dir, "js")}" }\nmqtt { listen: 127.0.0.1:${port} }\n`);
  const url = `mqtt://127.0.0.1:${port}`;
  const start = async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "-e", `import(${JSON.stringify(CLI)}).then((m) => m.main(process.argv.slice(1)))`, "--", "-c", conf],
      { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (b) => (out += b));
    child.stderr!.on("data", (b) => (out += b));
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    await until(async () => {
      try {
        const c = await mqttConnect(url, { connectTimeout: 500 });
        await c.endAsync();
        return true;
      } catch {
        return false;
      }
    }, 15_000, `server up; output: ${out}`);
    return { child, exited };
  };
  const a = await start();
  await fill(url);
  a.child.kill("SIGKILL");
  await a.exited;
  await sleep(50);
  const b = await start();
  try {
    await check(url);
  } finally {
    b.child.kill("SIGTERM");
    await b.exited;
  }
});
