// MQTT interop with the mosquitto command line clients (Debian `mosquitto-clients`) against
// Junction, at 3.1.1 and 5.0, with NATS clients on the same server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { connect as natsConnect } from "@nats-io/transport-node";
import type { Server } from "../src/server/server.js";
import { Collector, mqttConnack, mqttConnect, startMqttServer } from "../test/mqtt-helpers.js";

const run = promisify(execFile);
let s: Server;
let port = 0;

before(async () => {
  execFileSync("sh", ["-c", "command -v mosquitto_pub && command -v mosquitto_sub"]); // fails clearly when the package is missing
  s = await startMqttServer({
    authorization: { users: [{ user: "app", password: "secret", permissions: { publish: ["app.>"], subscribe: ["app.>"] } }, { user: "any", password: "any" }] },
  });
  port = s.mqttPort!;
}, { timeout: 10_000 });

after(async () => {
  await s?.close();
});

/** mosquitto_sub for `count` messages; resolves with its output lines. */
function sub(args: string[], count: number): { ready: Promise<void>; lines: Promise<string[]> } {
  const child = spawn("mosquitto_sub", ["-h", "127.0.0.1", "-p", String(port), "-C", String(count), "-W", "10", ...args]);
  let out = "";
  let err = "";
  child.stdout.on("data", (b) => (out += b));
  child.stderr.on("data", (b) => (err += b));
  const lines = new Promise<string[]>((resolve, reject) => child.on("exit", (code) =>
    code === 0 ? resolve(out.trim().split("\n")) : reject(new Error(`mosquitto_sub exited ${code}: ${err}${out}`))));
  // mosquitto_sub has no "subscribed" signal: give it a moment
  const ready = new Promise<void>((r) => setTimeout(r, 400));
  return { ready, lines };
}

for (const v of ["mqttv311", "mqttv5"]) {
  test(`mosquitto_pub → NATS and MQTT.js, mosquitto_sub ← NATS (${v})`, async () => {
    const nc = await natsConnect({ servers: s.clientURL, user: "any", pass: "any" });
    const ns = nc.subscribe("app.>", { max: 1 });
    await nc.flush();
    const m = await mqttConnect(s, { username: "any", password: "any" });
    const got = new Collector(m);
    await m.subscribeAsync("app/#", { qos: 1 });
    await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(port), "-V", v, "-u", "app", "-P", "secret", "-q", "1", "-t", "app/sensors/1", "-m", "hello"]);
    for await (const msg of ns) assert.deepEqual([msg.subject, msg.string()], ["app.sensors.1", "hello"]);
    const r = await got.next();
    assert.deepEqual([r.topic, r.payload, r.packet.qos], ["app/sensors/1", "hello", 1]);
    // mosquitto_sub receives from NATS (and its -v prints the topic)
    const ms = sub(["-V", v, "-u", "app", "-P", "secret", "-q", "1", "-t", "app/out/#", "-v"], 2);
    await ms.ready;
    nc.publish("app.out.a", "one");
    nc.publish("app.out.b.c", "two");
    await nc.flush();
    assert.deepEqual(await ms.lines, ["app/out/a one", "app/out/b/c two"]);
    await m.endAsync();
    await nc.close();
  });
}

test("mosquitto clients: retained messages, bad password, denied subscription", async () => {
  await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(port), "-u", "app", "-P", "secret", "-r", "-q", "1", "-t", "app/state", "-m", "on"]);
  const ms = sub(["-u", "app", "-P", "secret", "-t", "app/state", "-v"], 1);
  assert.deepEqual(await ms.lines, ["app/state on"]);
  await assert.rejects(run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(port), "-u", "app", "-P", "wrong", "-t", "app/x", "-m", "x"]),
    (e: Error & { stderr?: string }) => /not authori[sz]ed|bad user name or password|Connection Refused/i.test(String(e.stderr) + e.message));
  // a denied subscription (3.1.1: SUBACK 0x80)
  const denied = await run("mosquitto_sub", ["-h", "127.0.0.1", "-p", String(port), "-u", "app", "-P", "secret", "-t", "secret/x", "-C", "1", "-W", "1", "-d"]).catch((e) => e as { stdout: string });
  assert.match(String(denied.stdout), /Subscribed \(mid: \d+\): 128/);
  // mosquitto_pub with a QoS 2 message to an MQTT.js subscriber
  const { client, collector } = await mqttConnack(s, { username: "any", password: "any" });
  await client.subscribeAsync("app/q2", { qos: 2 });
  await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(port), "-u", "app", "-P", "secret", "-q", "2", "-t", "app/q2", "-m", "exactly once"]);
  const r = await collector.next();
  assert.deepEqual([r.payload, r.packet.qos], ["exactly once", 2]);
  await client.endAsync();
});
