// Lame duck mode with an mqtt listener: like the client port (and nats-server), the MQTT port
// stops taking connections while the MQTT clients already connected stay until the end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect } from "node:net";
import { mqttConnect, startMqttServer } from "../mqtt-helpers.js";

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

test("lame duck: the MQTT port refuses new connections, connected MQTT clients stay until shutdown", { timeout: 20_000 }, async () => {
  const s = await startMqttServer();
  // the config insists on 30 s at least; the resolved options can be made short for the test
  Object.assign(s.options, { lame_duck_duration_ms: 1000, lame_duck_grace_period_ms: 500 });
  const port = s.mqttPort!;
  const m = await mqttConnect(s, { protocolVersion: 4 });
  assert.equal(await refused(port), false);
  const ldm = s.enterLameDuckMode();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(await refused(port), true, "the MQTT port must stop accepting in lame duck mode");
  assert.equal(m.connected, true, "the client already there stays");
  await ldm;
  await s.close();
  await m.endAsync(true);
});
