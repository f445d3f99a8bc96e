// A clean session never touches the MQTT stores (a connection storm of clean sessions costs no
// store work); a session that did write is still removed from them when it ends or turns clean,
// also when it was read back from the stores after a restart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../../src/index.js";
import type { Server } from "../../src/server/server.js";
import type { StreamStore } from "../../src/jetstream/store/index.js";
import { mqttConnack, mqttConnect } from "../mqtt-helpers.js";

function url(s: Server): string {
  return `mqtt://127.0.0.1:${s.mqttPort}`;
}

function stores(s: Server): { sess: StreamStore; q: StreamStore } {
  const st = [...s.mqtt!.states.values()][0]!;
  return st.stores;
}

test("clean sessions make no store calls; a persistent session turned clean leaves none behind, before and after a restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), "junction-mqtt-clean-"));
  const opts = { host: "127.0.0.1", port: -1, server_name: "c", jetstream: { store_dir: dir }, mqtt: { host: "127.0.0.1", port: -1 } };
  const s1 = await startServer(opts);
  try {
    // the account's MQTT state (and stores) exist once a first client came
    const first = await mqttConnect(url(s1));
    await first.endAsync();
    const { sess, q } = stores(s1);
    const calls: string[] = [];
    for (const [name, st] of [["sess", sess], ["q", q]] as const) {
      for (const m of ["storeMsg", "removeMsg", "purge"] as const) {
        const orig = (st[m] as (...a: unknown[]) => unknown).bind(st);
        (st as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
          calls.push(`${name}.${m}`);
          return orig(...a);
        };
      }
    }
    for (const protocolVersion of [4, 5] as const) {
      const sub = await mqttConnack(url(s1), { clientId: `clean-sub-${protocolVersion}`, protocolVersion });
      await sub.client.subscribeAsync("c/#", { qos: 2 });
      const pub = await mqttConnect(url(s1), { clientId: `clean-pub-${protocolVersion}`, protocolVersion });
      await pub.publishAsync("c/1", "one", { qos: 1 });
      await pub.publishAsync("c/2", "two", { qos: 2 });
      await sub.collector.count(2);
      await pub.endAsync();
      await sub.client.endAsync();
    }
    assert.equal(calls.length, 0, `store calls: ${calls.join(", ")}`);

    // a persistent session writes its record; reconnecting clean removes it
    const p = await mqttConnect(url(s1), { clientId: "turns-clean", clean: false });
    await p.subscribeAsync("t/#", { qos: 1 });
    await p.endAsync();
    assert.ok(calls.includes("sess.storeMsg"));
    assert.equal(sess.state().messages, 1);
    const c = await mqttConnack(url(s1), { clientId: "turns-clean", clean: true });
    assert.equal(c.sessionPresent, false);
    await c.client.endAsync();
    assert.equal(sess.state().messages, 0);

    // one left persistent with a queued message, for after the restart
    const k = await mqttConnect(url(s1), { clientId: "kept", clean: false });
    await k.subscribeAsync("k/#", { qos: 1 });
    await k.endAsync();
    const kp = await mqttConnect(url(s1));
    await kp.publishAsync("k/1", "queued", { qos: 1 });
    await kp.endAsync();
    assert.equal(q.state().messages, 1);
  } finally {
    await s1.close();
  }
  const s2 = await startServer(opts);
  try {
    // read back from the stores, then ended by a clean connect: its record and queue go
    const c = await mqttConnack(url(s2), { clientId: "kept", clean: true });
    assert.equal(c.sessionPresent, false);
    await c.client.endAsync();
    const { sess, q } = stores(s2);
    assert.equal(sess.state().messages, 0);
    assert.equal(q.state().messages, 0);
  } finally {
    await s2.close();
  }
});
