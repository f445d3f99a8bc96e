// `junction bench js` end to end on a small load against an embedded Junction: every mode runs and
// reports a rate (the modes check their own results: every PubAck, every ack, every get found).
import { test } from "node:test";
import assert from "node:assert/strict";
import { runBench } from "../../src/bench/index.js";
import { startJs } from "./jetstream-helpers.js";

test("bench js: pub, consume, push, kvput, kvget against a running server", { timeout: 60_000 }, async () => {
  const server = await startJs();
  try {
    const lines: string[] = [];
    const code = await runBench(["js", "--url", `127.0.0.1:${server.port}`, "--msgs", "5000", "--keys", "2000", "--batch", "100"], (l) => lines.push(l));
    assert.equal(code, 0);
    for (const mode of ["pub", "consume", "push", "kvput", "kvget"]) {
      const line = lines.find((l) => l.startsWith(`server: ${mode}: `));
      assert.ok(line, `${mode} in ${lines.join("\n")}`);
      assert.match(line, /: [\d.]+ k? ?(msgs|puts|gets)\/s$/, line);
    }
    const ci = await (await import("@nats-io/transport-node")).connect({ servers: server.clientURL });
    const si = JSON.parse((await ci.request("$JS.API.STREAM.INFO.BENCH")).string());
    assert.equal(si.state.messages, 5000);
    await ci.close();
  } finally {
    await server.close();
  }
});

test("bench js: usage and bad arguments", async () => {
  const lines: string[] = [];
  assert.equal(await runBench(["js", "--help"], (l) => lines.push(l)), 0);
  assert.match(lines.join("\n"), /junction bench js/);
  assert.equal(await runBench(["js", "--mode", "nope"], () => {}), 2);
  assert.equal(await runBench(["js", "--msgs", "-1"], () => {}), 2);
  assert.equal(await runBench(["js", "--url", "10.0.0.1:4222"], () => {}), 2);
});

test("bench js --sync: the spawned server stores with that sync_interval", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const code = await runBench(["js", "--servers", "junction", "--sync", "always", "--mode", "pub", "--msgs", "2000"], (l) => lines.push(l));
  assert.equal(code, 0);
  assert.ok(lines.some((l) => /^junction: pub: [\d.]+ k? ?msgs\/s$/.test(l)), lines.join("\n"));
  // A value the server refuses makes it unavailable rather than measured with its default.
  const bad: string[] = [];
  assert.equal(await runBench(["js", "--servers", "junction", "--sync", "sometimes", "--mode", "pub", "--msgs", "10"], (l) => bad.push(l)), 0);
  assert.ok(!bad.some((l) => l.startsWith("junction: pub")), bad.join("\n"));
});
