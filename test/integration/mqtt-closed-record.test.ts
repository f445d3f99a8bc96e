// A closed MQTT connection is kept for /connz?state=closed (up to 10,000 of them): it keeps who
// the peer was, and lets its socket go.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TcpTransport } from "../../src/transport/tcp.js";
import type { MqttConnection } from "../../src/mqtt/connection.js";
import { until } from "../helpers.js";
import { mqttConnect, startMqttServer } from "../mqtt-helpers.js";

test("a closed MQTT connection's record keeps the peer's address, not its socket", async () => {
  const s = await startMqttServer();
  try {
    const c = await mqttConnect(s, { clientId: "closed-record" });
    const open = [...s.mqtt!.conns].find((x) => x.clientId === "closed-record")!;
    assert.ok(open.transport instanceof TcpTransport);
    const { remoteAddress, remotePort } = open.transport;
    await c.endAsync();
    await until(async () => s.closedClients.some((x) => "clientId" in x && x.clientId === "closed-record"), 3000, "closed record");
    const rec = s.closedClients.find((x) => "clientId" in x && x.clientId === "closed-record") as MqttConnection;
    assert.equal(rec, open);
    assert.ok(!(rec.transport instanceof TcpTransport), "the socket is let go");
    assert.deepEqual([rec.transport.type, rec.transport.remoteAddress, rec.transport.remotePort], ["tcp", remoteAddress, remotePort]);
    assert.ok(remotePort > 0);
    assert.equal(rec.closedReason, "Client Closed");
    assert.equal(rec.transport.writableLength, 0);
  } finally {
    await s.close();
  }
});
