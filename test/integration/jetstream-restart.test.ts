// JetStream across restarts (file streams and their messages recovered from store_dir, memory
// streams gone, de-duplication state rebuilt) and its monitoring (/jsz, varz, healthz, accountz,
// INFO), plus the default store directory.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { request } from "node:http";
import { headers as natsHeaders, connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Logger, startServer } from "../../src/index.js";
import { startJs, tmpStoreDir, withJs } from "./jetstream-helpers.js";

async function httpGet(port: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
    }).on("error", reject).end();
  });
}

describe("restart on the same store_dir", () => {
  test("file streams come back with their configuration, creation time, messages and headers", async () => {
    const dir = tmpStoreDir();
    try {
      let created = "";
      await withJs({}, async ({ jsm, js }) => {
        const si = await jsm.streams.add({ name: "ORDERS", subjects: ["orders.*"], max_msgs_per_subject: 10, description: "kept", allow_direct: true });
        created = si.created;
        await jsm.streams.add({ name: "MEM", subjects: ["mem"], storage: "memory" as never });
        await jsm.streams.add({ name: "GONE", subjects: ["gone"] });
        const h = natsHeaders();
        h.set("X-Trace", "abc");
        for (let i = 1; i <= 20; i++) await js.publish(i % 2 ? "orders.odd" : "orders.even", `m${i}`, i === 7 ? { headers: h, msgID: "seven" } : { msgID: `id${i}` });
        await js.publish("mem", "x");
        await jsm.streams.deleteMessage("ORDERS", 3);
        await jsm.streams.delete("GONE");
        await jsm.streams.update("ORDERS", { description: "updated" });
      }, dir);

      await withJs({}, async ({ jsm, js }) => {
        const names: string[] = [];
        for await (const n of jsm.streams.names()) names.push(n);
        assert.deepEqual(names, ["ORDERS"]);
        const si = await jsm.streams.info("ORDERS", { deleted_details: true });
        assert.equal(si.created, created);
        assert.equal(si.config.description, "updated");
        assert.equal(si.config.max_msgs_per_subject, 10);
        assert.deepEqual([si.state.messages, si.state.first_seq, si.state.last_seq, si.state.deleted], [19, 1, 20, [3]]);
        const m7 = await jsm.streams.getMessage("ORDERS", { seq: 7 });
        assert.deepEqual([m7?.subject, m7?.string(), m7?.header.get("X-Trace")], ["orders.odd", "m7", "abc"]);
        const last = await jsm.direct.getMessage("ORDERS", { last_by_subj: "orders.even" });
        assert.equal(last?.seq, 20);
        // de-duplication survives: a recent id is still a duplicate, the last id is known
        const dup = await js.publish("orders.odd", "again", { msgID: "seven" });
        assert.deepEqual([dup.duplicate, dup.seq], [true, 7]);
        const next = await js.publish("orders.odd", "21", { expect: { lastMsgID: "id20", lastSequence: 20 } });
        assert.equal(next.seq, 21);
      }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("purges and limits are kept across a restart", async () => {
    const dir = tmpStoreDir();
    try {
      await withJs({}, async ({ jsm, js }) => {
        await jsm.streams.add({ name: "S", subjects: ["s"], max_msgs: 5 });
        for (let i = 0; i < 8; i++) await js.publish("s", String(i));
        await jsm.streams.purge("S", { seq: 6 });
      }, dir);
      await withJs({}, async ({ jsm, js }) => {
        const st = (await jsm.streams.info("S")).state;
        assert.deepEqual([st.messages, st.first_seq, st.last_seq], [3, 6, 8]);
        for (let i = 0; i < 4; i++) await js.publish("s", "more");
        const st2 = (await jsm.streams.info("S")).state;
        assert.deepEqual([st2.messages, st2.last_seq], [5, 12]);
      }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("sync_interval always: acknowledged messages are on disk when the ack arrives", async () => {
    const dir = tmpStoreDir();
    try {
      const server = await startJs({ jetstream: { sync_interval: "always" } }, dir);
      const nc = await connect({ servers: server.clientURL });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "S", subjects: ["s"] });
      const js = jetstream(nc);
      const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => js.publish("s", String(i))));
      assert.equal(acks[49]!.seq, 50);
      await nc.close();
      await server.close();
      const again = await startJs({}, dir);
      const nc2 = await connect({ servers: again.clientURL });
      const jsm2 = await jetstreamManager(nc2);
      assert.equal((await jsm2.streams.info("S")).state.messages, 50);
      await nc2.close();
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("store directory", () => {
  test("with no store_dir the default is used and logged", async () => {
    const lines: string[] = [];
    const logger = new Logger({ sink: (l: string) => lines.push(l) });
    const server = await startServer({ host: "127.0.0.1", port: -1, jetstream: true }, { logger });
    try {
      assert.ok(server.jetstream?.config.store_dir_default);
      const text = lines.join("\n");
      assert.match(text, /Temporary storage directory used, data could be lost on system reboot/);
      assert.ok(text.includes(`Store Directory: "${server.jetstream!.root}"`), text);
    } finally {
      await server.close();
    }
  });

  test("a configured store_dir gets a jetstream directory inside, as nats-server's", async () => {
    const dir = tmpStoreDir();
    try {
      const server = await startJs({}, dir);
      assert.equal(server.jetstream?.root, `${dir}/jetstream`);
      await server.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("monitoring", () => {
  test("/jsz, varz jetstream, healthz, accountz and INFO", async () => {
    await withJs({ http_port: -1, http_host: "127.0.0.1" }, async ({ jsm, js, server, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"], compression: "s2" as never });
      await js.publish("s", "x");
      const port = server.httpPort!;
      const jsz = (await httpGet(port, "/jsz")).body;
      assert.equal(jsz.streams, 1);
      assert.equal(jsz.messages, 1);
      assert.equal(jsz.accounts, 1);
      assert.equal(jsz.total, 1);
      const cfg = jsz.config as Record<string, unknown>;
      assert.equal(cfg.store_dir, server.jetstream!.root);
      assert.equal(cfg.compress_ok, false);
      assert.equal(cfg.sync_interval, 120e9);
      assert.ok((jsz.api as { total: number }).total > 0);
      assert.equal(jsz.account_details, undefined);
      const detail = (await httpGet(port, "/jsz?streams=true&config=true")).body;
      const acc = (detail.account_details as Record<string, unknown>[])[0]!;
      assert.equal(acc.name, "$G");
      const sd = (acc.stream_detail as Record<string, unknown>[])[0]!;
      assert.equal(sd.name, "S");
      assert.equal((sd.config as { compression: string }).compression, "s2");
      assert.equal(sd.compression, "s2 requested; stored uncompressed");
      assert.equal((sd.state as { messages: number }).messages, 1);
      const varz = (await httpGet(port, "/varz")).body;
      const vj = varz.jetstream as Record<string, Record<string, unknown>>;
      assert.equal(vj.config!.store_dir, server.jetstream!.root);
      assert.equal((vj.stats!.api as { level: number }).level, 1);
      assert.deepEqual((await httpGet(port, "/healthz?js-enabled-only=true")).body, { status: "ok" });
      assert.deepEqual((await httpGet(port, "/healthz")).body, { status: "ok" });
      assert.deepEqual((await httpGet(port, "/healthz?account=$G&stream=S")).body, { status: "ok" });
      const missing = await httpGet(port, "/healthz?account=$G&stream=NOPE");
      assert.equal(missing.status, 404);
      assert.deepEqual(missing.body, { status: "unavailable", error: 'JetStream stream "NOPE" not found on account "$G"' });
      const az = (await httpGet(port, "/accountz?acc=$G")).body;
      assert.equal((az.account_detail as { jetstream_enabled: boolean }).jetstream_enabled, true);
      assert.equal((nc.info as { jetstream?: boolean } | undefined)?.jetstream, true);
    });
  });

  test("without JetStream: /jsz says disabled, healthz with js-enabled-only is ok", async () => {
    const server = await startServer({ host: "127.0.0.1", port: -1, http_port: -1, http_host: "127.0.0.1" });
    try {
      const jsz = (await httpGet(server.httpPort!, "/jsz")).body;
      assert.equal(jsz.disabled, true);
      assert.deepEqual((await httpGet(server.httpPort!, "/healthz?js-enabled-only=true")).body, { status: "ok" });
    } finally {
      await server.close();
    }
  });
});
