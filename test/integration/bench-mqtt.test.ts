// `junction bench mqtt` end to end on a small load against an embedded Junction: every mode that
// needs no child process runs and reports a rate above zero.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBench } from "../../src/bench/index.js";
import { startServer } from "../../src/index.js";

test("bench mqtt --url: qos0, qos1, qos2, qos2p, storm, storm-warm against a running server", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "junction-bench-mqtt-"));
  const server = await startServer({ host: "127.0.0.1", port: -1, server_name: "b", jetstream: { store_dir: dir }, mqtt: { host: "127.0.0.1", port: -1 } });
  try {
    const lines: string[] = [];
    const modes = ["qos0", "qos1", "qos2", "qos2p", "storm", "storm-warm"];
    const code = await runBench(["mqtt", "--url", `127.0.0.1:${server.mqttPort}`, "--mode", modes.join(","), "--duration", "0.3", "--conns", "50"], (l) => lines.push(l));
    assert.equal(code, 0);
    for (const mode of modes) {
      const line = lines.find((l) => l.startsWith(`${mode}: `));
      assert.ok(line, `${mode} in ${lines.join("\n")}`);
      const m = /: ([\d.]+)(k?) (msgs|conns)\/s$/.exec(line);
      assert.ok(m, line);
      assert.ok(Number(m[1]) > 0, line);
    }
    // the persistent sessions of qos2p were stored
    const st = [...server.mqtt!.states.values()][0]!.stores.sess;
    assert.ok(st.state().messages >= 2, "two persistent sessions stored");
  } finally {
    await server.close();
  }
});

test("bench mqtt: usage and bad arguments", async () => {
  const lines: string[] = [];
  assert.equal(await runBench(["mqtt", "--help"], (l) => lines.push(l)), 0);
  assert.match(lines.join("\n"), /qos2p/);
  assert.equal(await runBench(["mqtt", "--nope", "1"], () => {}), 2);
  assert.equal(await runBench(["mqtt", "--url", "nowhere"], () => {}), 2);
  assert.equal(await runBench(["mqtt", "--url", "10.0.0.1:1883"], () => {}), 2);
});
