// Consumers across a restart, as nats-server 2.9 behaves (checked side by side): every consumer of
// a file stream is saved with it, ephemerals included, and comes back with its state; a recovered
// ephemeral is still removed after its inactive_threshold (counted from the restart). mem_storage
// consumers and the consumers of memory streams do not come back.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { eventually, sleep, tmpStoreDir, withJs } from "./jetstream-helpers.js";
import { ackInfo, Collector, ms, pull } from "./consumer-helpers.js";

async function names(jsm: { consumers: { list(s: string): AsyncIterable<{ name: string }> } }, stream: string): Promise<string[]> {
  const out: string[] = [];
  for await (const ci of jsm.consumers.list(stream)) out.push(ci.name);
  return out.sort();
}

describe("ephemeral and memory consumers across a restart", () => {
  test("a pull ephemeral comes back with its state, delivers where it left off, and goes after its inactive_threshold", { timeout: 30_000 }, async () => {
    const dir = tmpStoreDir();
    try {
      let eph = "";
      let created = "";
      let unacked: string[] = [];
      await withJs({}, async ({ jsm, js, nc }) => {
        await jsm.streams.add({ name: "S", subjects: ["s.>"] });
        await jsm.streams.add({ name: "M", subjects: ["m.>"], storage: "memory" as never });
        for (let i = 1; i <= 6; i++) await js.publish("s.a", `${i}`);
        const ci = await jsm.consumers.add("S", { ack_policy: AckPolicy.Explicit, ack_wait: ms(60_000), inactive_threshold: ms(2500) });
        eph = ci.name;
        created = ci.created;
        await jsm.consumers.add("S", { name: "NAMED", ack_policy: AckPolicy.Explicit, inactive_threshold: ms(60_000) });
        await jsm.consumers.add("S", { durable_name: "MEMDUR", ack_policy: AckPolicy.Explicit, mem_storage: true });
        await jsm.consumers.add("M", { durable_name: "ONMEM", ack_policy: AckPolicy.Explicit });
        // three delivered, the first acked (double ack: recorded before the reply)
        const c = pull(nc, "S", eph, { batch: 3 });
        await c.until((x) => x.msgs.length === 3);
        await nc.request(c.msgs[0]!.msg.reply!, "+ACK");
        unacked = c.msgs.slice(1).map((r) => r.msg.reply!);
        const info = await jsm.consumers.info("S", eph);
        assert.deepEqual([info.delivered.stream_seq, info.ack_floor.stream_seq, info.num_ack_pending, info.num_pending], [3, 1, 2, 3]);
      }, dir);

      await withJs({}, async ({ jsm, nc }) => {
        assert.deepEqual(await names(jsm, "S"), [eph, "NAMED"].sort(), "ephemerals come back; the mem_storage durable does not");
        const streams: string[] = [];
        for await (const n of jsm.streams.names()) streams.push(n);
        assert.deepEqual(streams, ["S"], "the memory stream and its consumer are gone");
        const ci = await jsm.consumers.info("S", eph);
        assert.equal(ci.created, created);
        assert.equal(ci.config.durable_name, undefined);
        assert.equal(ci.config.inactive_threshold, ms(2500));
        assert.deepEqual([ci.delivered.stream_seq, ci.delivered.consumer_seq, ci.ack_floor.stream_seq, ci.num_ack_pending, ci.num_pending], [3, 3, 1, 2, 3]);
        // new messages continue after the delivered ones; the pending two are still pending
        const c = pull(nc, "S", eph, { batch: 3, expires: ms(1000) });
        await c.until((x) => x.msgs.length === 3);
        assert.deepEqual(c.msgs.map((r) => [ackInfo(r.msg.reply).sseq, ackInfo(r.msg.reply).dseq]), [[4, 4], [5, 5], [6, 6]]);
        // acks on the reply subjects of before the restart count
        for (const r of [...unacked, ...c.msgs.map((x) => x.msg.reply!)]) await nc.request(r, "+ACK");
        const after = await jsm.consumers.info("S", eph);
        assert.deepEqual([after.ack_floor.stream_seq, after.num_ack_pending], [6, 0]);
        // no more activity: removed after its threshold (plus nats-server's jitter for pull consumers)
        await eventually(async () => !(await names(jsm, "S")).includes(eph), 8000);
        assert.deepEqual(await names(jsm, "S"), ["NAMED"]);
      }, dir);

      await withJs({}, async ({ jsm }) => {
        assert.deepEqual(await names(jsm, "S"), ["NAMED"], "a removed ephemeral stays removed");
      }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a push ephemeral without a subscriber after the restart is removed; with one it delivers", { timeout: 30_000 }, async () => {
    const dir = tmpStoreDir();
    try {
      let gone = "";
      let kept = "";
      await withJs({}, async ({ jsm, js }) => {
        await jsm.streams.add({ name: "S", subjects: ["s.>"] });
        for (let i = 1; i <= 3; i++) await js.publish("s.a", `${i}`);
        gone = (await jsm.consumers.add("S", { deliver_subject: "d.gone", ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.New, inactive_threshold: ms(1000) })).name;
        kept = (await jsm.consumers.add("S", { deliver_subject: "d.kept", ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.New, inactive_threshold: ms(1000) })).name;
      }, dir);

      await withJs({}, async ({ jsm, js, nc }) => {
        assert.deepEqual(await names(jsm, "S"), [gone, kept].sort());
        const col = new Collector(nc, "d.kept");
        await nc.flush();
        await js.publish("s.a", "4");
        await col.until((x) => x.msgs.length === 1);
        assert.equal(ackInfo(col.msgs[0]!.msg.reply).sseq, 4);
        await eventually(async () => !(await names(jsm, "S")).includes(gone), 5000);
        await sleep(1500);
        assert.deepEqual(await names(jsm, "S"), [kept], "the one with a subscriber stays");
      }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("pending messages that expired while the server was down: nothing pending after the restart, the floor past them, none redelivered", { timeout: 20_000 }, async () => {
    const dir = tmpStoreDir();
    try {
      await withJs({}, async ({ jsm, js, nc }) => {
        await jsm.streams.add({ name: "S", subjects: ["s.>"], max_age: ms(1000) });
        for (let i = 1; i <= 4; i++) await js.publish("s.a", `${i}`);
        await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit, ack_wait: ms(60_000) });
        const c = pull(nc, "S", "C", { batch: 3 });
        await c.until((x) => x.msgs.length === 3);
        assert.equal((await jsm.consumers.info("S", "C")).num_ack_pending, 3);
      }, dir);
      await sleep(1300);
      await withJs({}, async ({ jsm, js, nc }) => {
        const ci = await jsm.consumers.info("S", "C");
        assert.equal(ci.num_ack_pending, 0);
        assert.ok(ci.ack_floor.stream_seq >= 3, `ack floor ${ci.ack_floor.stream_seq}`);
        assert.equal(ci.num_pending, 0);
        await js.publish("s.a", "5");
        const n = pull(nc, "S", "C", { batch: 5, expires: ms(500) });
        await n.until((x) => x.statuses(408).length > 0, 3000);
        assert.deepEqual(n.msgs.map((r) => [ackInfo(r.msg.reply).sseq, ackInfo(r.msg.reply).dc]), [[5, 1]]);
      }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
