// Acknowledgements and what follows from them: ack policies (explicit, all, none), +ACK, -NAK
// (with a delay), +WPI, +TERM (MSG_TERMINATED), double acks, redelivery after ack_wait and along
// backoff, max_deliver (MAX_DELIVERIES), max_ack_pending, the metadata in the reply subject,
// sampled ack metrics, interest and work-queue retention, and durable consumers across restarts.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { AckPolicy, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import { eventually, sleep, tmpStoreDir, validate, withJs } from "./jetstream-helpers.js";
import { ackInfo, Collector, ms, pull } from "./consumer-helpers.js";

const JS_OPTS = {};

describe("ack policies", () => {
  test("explicit: each message acked on its own; the ack floor moves past contiguous acks", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (let i = 0; i < 4; i++) await js.publish("s.a", `${i}`);
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit });
      const c = pull(nc, "S", "C", { batch: 4 });
      await c.until((x) => x.msgs.length === 4);
      nc.publish(c.msgs[1]!.msg.reply!, "+ACK");
      nc.publish(c.msgs[0]!.msg.reply!, "");
      nc.publish(c.msgs[3]!.msg.reply!, "+ACK");
      await nc.flush();
      const ci = await jsm.consumers.info("S", "C");
      assert.deepEqual([ci.ack_floor.stream_seq, ci.ack_floor.consumer_seq, ci.num_ack_pending], [2, 2, 1]);
      assert.deepEqual([ci.delivered.stream_seq, ci.delivered.consumer_seq], [4, 4]);
      assert.ok(ci.ack_floor.last_active && ci.delivered.last_active);
      nc.publish(c.msgs[2]!.msg.reply!, "+ACK");
      await nc.flush();
      const after = await jsm.consumers.info("S", "C");
      assert.deepEqual([after.ack_floor.stream_seq, after.num_ack_pending], [4, 0]);
    });
  });

  test("all: acking one acks everything before it; none: nothing waits for an ack", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (let i = 0; i < 5; i++) await js.publish("s.a", `${i}`);
      await jsm.consumers.add("S", { durable_name: "ALL", ack_policy: AckPolicy.All });
      const c = pull(nc, "S", "ALL", { batch: 5 });
      await c.until((x) => x.msgs.length === 5);
      assert.equal((await jsm.consumers.info("S", "ALL")).num_ack_pending, 5);
      nc.publish(c.msgs[2]!.msg.reply!, "+ACK");
      await nc.flush();
      const ci = await jsm.consumers.info("S", "ALL");
      assert.deepEqual([ci.ack_floor.stream_seq, ci.num_ack_pending], [3, 2]);
      await jsm.consumers.add("S", { durable_name: "NONE", ack_policy: AckPolicy.None });
      const n = pull(nc, "S", "NONE", { batch: 5 });
      await n.until((x) => x.msgs.length === 5);
      const ni = await jsm.consumers.info("S", "NONE");
      assert.deepEqual([ni.ack_floor.stream_seq, ni.num_ack_pending], [5, 0]);
    });
  });

  test("the reply subject carries delivery count, sequences, time and pending", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      // the store's nanosecond clock and Date.now() may disagree by a few milliseconds
      const before = BigInt(Date.now() - 50) * 1_000_000n;
      for (let i = 0; i < 3; i++) await js.publish("s.a", `${i}`);
      const after = BigInt(Date.now() + 50) * 1_000_000n;
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit });
      const c = pull(nc, "S", "C", { batch: 2 });
      await c.until((x) => x.msgs.length === 2);
      const i0 = ackInfo(c.msgs[0]!.msg.reply);
      const i1 = ackInfo(c.msgs[1]!.msg.reply);
      assert.deepEqual([i0.stream, i0.consumer, i0.dc, i0.sseq, i0.dseq, i0.pending], ["S", "C", 1, 1, 1, 2]);
      assert.deepEqual([i1.dc, i1.sseq, i1.dseq, i1.pending], [1, 2, 2, 1]);
      assert.ok(i0.ts >= before && i0.ts <= after, "the message's own time");
      const m = await jsm.streams.getMessage("S", { seq: 1 });
      assert.equal(BigInt(Date.parse(m!.time.toISOString())), i0.ts / 1_000_000n);
    });
  });
});

describe("nak, progress, term, double ack", () => {
  test("-NAK redelivers at once (delivery count 2); -NAK with a delay waits that long", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "1");
      await js.publish("s.a", "2");
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit, ack_wait: ms(5000) });
      const c = await js.consumers.get("S", "C");
      const m1 = (await c.next())!;
      m1.nak();
      const again = (await c.next())!;
      assert.deepEqual([again.seq, again.info.deliveryCount, again.redelivered], [1, 2, true]);
      again.ack();
      const m2 = (await c.next())!;
      const t0 = Date.now();
      m2.nak(400);
      const later = (await c.next({ expires: 3000 }))!;
      assert.equal(later.seq, 2);
      assert.ok(Date.now() - t0 >= 350, `redelivered after ${Date.now() - t0}ms`);
      // a delay in the JSON form
      later.nak();
      const m3 = (await c.next())!;
      const t1 = Date.now();
      nc.publish((m3 as unknown as { reply: string }).reply, `-NAK {"delay": ${ms(300)}}`);
      const later2 = (await c.next({ expires: 3000 }))!;
      assert.equal(later2.info.deliveryCount, 4);
      assert.ok(Date.now() - t1 >= 250);
      assert.equal((await c.info()).num_redelivered, 1);
      // each nak is announced (MSG_NAKED)
      const adv = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.S.C", { max: 1 });
      later2.nak();
      for await (const a of adv) {
        const e = a.json<Record<string, unknown>>();
        assert.deepEqual([e.stream_seq, e.deliveries], [2, 4]);
        // the schema types consumer_seq as a string; nats-server (and Junction) send the number
        validate({ ...e, consumer_seq: String(e.consumer_seq) });
      }
    });
  });

  test("+WPI resets the ack timer; without it the message comes again after ack_wait", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "1");
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit, ack_wait: ms(400) });
      const c = await js.consumers.get("S", "C");
      const m = (await c.next())!;
      const t0 = Date.now();
      for (let i = 0; i < 3; i++) {
        await sleep(250);
        m.working();
      }
      const again = (await c.next({ expires: 2000 }))!;
      const waited = Date.now() - t0;
      assert.equal(again.info.deliveryCount, 2);
      assert.ok(waited >= 1050, `redelivered after ${waited}ms in spite of the progress acks`);
      const t1 = Date.now();
      const third = (await c.next({ expires: 2000 }))!;
      assert.equal(third.info.deliveryCount, 3);
      const gap = Date.now() - t1;
      assert.ok(gap >= 300 && gap < 900, `ack_wait 400ms, redelivered after ${gap}ms`);
    });
  });

  test("+TERM stops redelivery and publishes MSG_TERMINATED with the reason", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "1");
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit, ack_wait: ms(200) });
      const adv = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.S.C", { max: 1 });
      const c = await js.consumers.get("S", "C");
      const m = (await c.next())!;
      m.term("bad input");
      for await (const a of adv) {
        const e = a.json<Record<string, unknown>>();
        assert.deepEqual([e.stream, e.consumer, e.stream_seq, e.consumer_seq, e.deliveries, e.reason], ["S", "C", 1, 1, 1, "bad input"]);
        // the schema types consumer_seq as a string; nats-server (and Junction) send the number
        validate({ ...e, consumer_seq: String(e.consumer_seq) });
      }
      assert.equal(await c.next({ expires: 1000 }), null);
      assert.equal((await c.info()).num_ack_pending, 0);
    });
  });

  test("double ack: the ack is answered once recorded", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "1");
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit });
      const c = await js.consumers.get("S", "C");
      const m = (await c.next())!;
      assert.equal(await m.ackAck({ timeout: 1000 }), true);
      assert.equal((await c.info()).ack_floor.stream_seq, 1);
    });
  });
});

describe("redelivery", () => {
  test("ack_wait: an unacked message comes again after it, with its delivery count", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "1");
      const col = new Collector(nc, "d.r");
      await jsm.consumers.add("S", { durable_name: "C", deliver_subject: "d.r", ack_policy: AckPolicy.Explicit, ack_wait: ms(300) });
      await col.until((x) => x.msgs.length === 3, 3000);
      const at = col.msgs.map((r) => r.at);
      assert.deepEqual(col.msgs.map((r) => ackInfo(r.msg.reply).dc), [1, 2, 3]);
      for (const gap of [at[1]! - at[0]!, at[2]! - at[1]!]) assert.ok(gap >= 270 && gap < 700, `gaps ${at}`);
      col.msgs[2]!.msg.respond("+ACK");
      await nc.flush();
      const ci = await jsm.consumers.info("S", "C");
      assert.deepEqual([ci.num_ack_pending, ci.num_redelivered, ci.delivered.consumer_seq], [0, 0, 3]);
    });
  });

  test("backoff sets the wait before each redelivery; max_deliver ends them with MAX_DELIVERIES", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "1");
      const adv = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.C", { max: 1 });
      const col = new Collector(nc, "d.b");
      await jsm.consumers.add("S", { durable_name: "C", deliver_subject: "d.b", ack_policy: AckPolicy.Explicit, backoff: [ms(200), ms(600)], max_deliver: 3 });
      await col.until((x) => x.msgs.length === 3, 3000);
      const at = col.msgs.map((r) => r.at);
      assert.ok(at[1]! - at[0]! >= 170 && at[1]! - at[0]! < 450, `first wait ${at[1]! - at[0]!}`);
      assert.ok(at[2]! - at[1]! >= 550 && at[2]! - at[1]! < 1000, `second wait ${at[2]! - at[1]!}`);
      for await (const a of adv) {
        const e = a.json<Record<string, unknown>>();
        validate(e);
        assert.deepEqual([e.stream, e.consumer, e.stream_seq, e.deliveries], ["S", "C", 1, 3]);
      }
      await sleep(800);
      assert.equal(col.msgs.length, 3);
      const ci = await jsm.consumers.info("S", "C");
      assert.deepEqual([ci.num_ack_pending, ci.num_redelivered, ci.ack_floor.stream_seq], [0, 1, 1]);
    });
  });

  test("max_deliver with a pull consumer: the advisory comes without another pull", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "1");
      const adv = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.C", { max: 1 });
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit, ack_wait: ms(200), max_deliver: 2 });
      const c = await js.consumers.get("S", "C");
      assert.equal((await c.next())!.info.deliveryCount, 1);
      assert.equal((await c.next({ expires: 2000 }))!.info.deliveryCount, 2);
      for await (const a of adv) assert.equal(a.json<{ deliveries: number }>().deliveries, 2);
      assert.equal(await c.next({ expires: 1000 }), null);
    });
  });

  test("max_ack_pending: delivery stops at that many unacked, and resumes with acks", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (let i = 0; i < 5; i++) await js.publish("s.a", `${i}`);
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit, max_ack_pending: 2 });
      const c = pull(nc, "S", "C", { batch: 5, expires: ms(1500) });
      await c.until((x) => x.msgs.length === 2);
      await sleep(200);
      assert.equal(c.msgs.length, 2);
      c.msgs[0]!.msg.respond("+ACK");
      await c.until((x) => x.msgs.length === 3);
      assert.equal(ackInfo(c.msgs[2]!.msg.reply).sseq, 3);
    });
  });

  test("sample_freq: acks are reported as consumer_ack metrics", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "1");
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit, sample_freq: "100%" });
      const metric = nc.subscribe("$JS.EVENT.METRIC.CONSUMER.ACK.S.C", { max: 1 });
      const c = await js.consumers.get("S", "C");
      (await c.next())!.ack();
      for await (const m of metric) {
        const e = m.json<Record<string, unknown>>();
        assert.equal(e.type, "io.nats.jetstream.metric.v1.consumer_ack");
        assert.deepEqual([e.stream_seq, e.consumer_seq, e.deliveries], [1, 1, 1]);
        assert.ok((e.ack_time as number) > 0);
      }
    });
  });
});

describe("retention completed by consumers", () => {
  test("interest: a message stays until every interested consumer acked it; a consumer's delete releases its interest", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "I", subjects: ["i.>"], retention: "interest" as never });
      await js.publish("i.a", "nobody listens");
      assert.equal((await jsm.streams.info("I")).state.messages, 0);
      await jsm.consumers.add("I", { durable_name: "A", ack_policy: AckPolicy.Explicit });
      await jsm.consumers.add("I", { durable_name: "B", ack_policy: AckPolicy.Explicit });
      await jsm.consumers.add("I", { durable_name: "X", ack_policy: AckPolicy.Explicit, filter_subject: "i.x" });
      for (let i = 0; i < 3; i++) await js.publish("i.a", `${i}`);
      const a = await js.consumers.get("I", "A");
      const b = await js.consumers.get("I", "B");
      const ma = (await a.next())!;
      await ma.ackAck();
      assert.equal((await jsm.streams.info("I")).state.messages, 3, "B has not acked");
      await (await b.next())!.ackAck();
      assert.equal((await jsm.streams.info("I")).state.messages, 2);
      await (await a.next())!.ackAck();
      await jsm.consumers.delete("I", "B");
      const st = (await jsm.streams.info("I")).state;
      assert.deepEqual([st.messages, st.first_seq], [1, 4]);
      await jsm.consumers.delete("I", "A");
      await jsm.consumers.delete("I", "X");
      assert.equal((await jsm.streams.info("I")).state.messages, 0);
    });
  });

  test("interest with ack none: delivered is acked", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "I", subjects: ["i.>"], retention: "interest" as never });
      await jsm.consumers.add("I", { durable_name: "N", ack_policy: AckPolicy.None });
      await js.publish("i.a", "1");
      await js.publish("i.a", "2");
      const c = pull(nc, "I", "N", { batch: 1 });
      await c.until((x) => x.msgs.length === 1);
      await eventually(async () => (await jsm.streams.info("I")).state.messages === 1);
    });
  });

  test("work queue: a message goes when acked, stays when nak'ed or unacked", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "W", subjects: ["w.>"], retention: "workqueue" as never });
      for (let i = 0; i < 3; i++) await js.publish("w.a", `${i}`);
      await jsm.consumers.add("W", { durable_name: "C", ack_policy: AckPolicy.Explicit, ack_wait: ms(5000) });
      const c = await js.consumers.get("W", "C");
      await (await c.next())!.ackAck();
      const m2 = (await c.next())!;
      m2.nak();
      await sleep(50);
      const st = (await jsm.streams.info("W")).state;
      assert.deepEqual([st.messages, st.first_seq], [2, 2]);
      const again = (await c.next())!;
      assert.equal(again.seq, 2);
      await again.ackAck();
      assert.equal((await jsm.streams.info("W")).state.messages, 1);
    });
  });
});

describe("what the stream does to pending messages", () => {
  test("a pending message removed by the stream's limits is terminated (MSG_TERMINATED) and leaves pending", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"], max_msgs: 2 });
      await js.publish("s.a", "1");
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit, ack_wait: ms(60_000) });
      const c = pull(nc, "S", "C", { batch: 1 });
      await c.until((x) => x.msgs.length === 1);
      const adv = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.S.C", { max: 1 });
      await js.publish("s.a", "2");
      await js.publish("s.a", "3");
      for await (const a of adv) {
        const e = a.json<Record<string, unknown>>();
        assert.deepEqual([e.stream_seq, e.reason], [1, "Unacknowledged message was deleted"]);
      }
      const ci = await jsm.consumers.info("S", "C");
      assert.deepEqual([ci.num_ack_pending, ci.ack_floor.stream_seq, ci.num_pending], [0, 1, 2]);
    });
  });

  test("a purge moves the consumers past what it removed; a filtered purge only those it concerns", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (let i = 0; i < 4; i++) await js.publish(i % 2 ? "s.b" : "s.a", `${i}`);
      await jsm.consumers.add("S", { durable_name: "ALL", ack_policy: AckPolicy.Explicit });
      await jsm.consumers.add("S", { durable_name: "B", ack_policy: AckPolicy.Explicit, filter_subject: "s.b" });
      const c = pull(nc, "S", "ALL", { batch: 2 });
      await c.until((x) => x.msgs.length === 2);
      await jsm.streams.purge("S", { filter: "s.a" });
      const all = await jsm.consumers.info("S", "ALL");
      assert.deepEqual([all.num_ack_pending, all.num_pending], [1, 1], "seq 1 (s.a) left pending, seq 2 (s.b) still pending; 4 (s.b) to come");
      const b = await jsm.consumers.info("S", "B");
      assert.equal(b.num_pending, 2);
      await jsm.streams.purge("S");
      const after = await jsm.consumers.info("S", "ALL");
      assert.deepEqual([after.num_ack_pending, after.num_pending, after.ack_floor.stream_seq], [0, 0, 4]);
      await js.publish("s.b", "next");
      const n = pull(nc, "S", "B", { batch: 1 });
      await n.until((x) => x.msgs.length === 1);
      assert.equal(ackInfo(n.msgs[0]!.msg.reply).sseq, 5);
    });
  });

  test("a work queue keeps its messages when its consumer is deleted", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "W", subjects: ["w.>"], retention: "workqueue" as never });
      await jsm.consumers.add("W", { durable_name: "C", ack_policy: AckPolicy.Explicit });
      for (let i = 0; i < 3; i++) await js.publish("w.a", `${i}`);
      await jsm.consumers.delete("W", "C");
      assert.equal((await jsm.streams.info("W")).state.messages, 3);
      await jsm.consumers.add("W", { durable_name: "D", ack_policy: AckPolicy.Explicit });
      const c = await js.consumers.get("W", "D");
      assert.equal((await c.next())!.seq, 1);
    });
  });
});

describe("the ack floor catches up with what the stream removed", () => {
  /** The stream sequences a pull of up to `batch` gets within `expires` ms, with their delivery counts. */
  async function pullSeqs(nc: Parameters<typeof pull>[0], stream: string, consumer: string, batch: number, expires = 600): Promise<[number, number][]> {
    const c = pull(nc, stream, consumer, { batch, expires: ms(expires) });
    await c.until((x) => x.msgs.length >= batch || x.statuses().length > 0, expires + 2000);
    return c.msgs.map((r) => [ackInfo(r.msg.reply).sseq, ackInfo(r.msg.reply).dc]);
  }

  test("pending messages purged or pushed out by max_msgs leave pending, the floor moves past them, none is redelivered", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "P", subjects: ["p.>"] });
      await jsm.streams.add({ name: "M", subjects: ["m.>"], max_msgs: 3 });
      for (let i = 0; i < 5; i++) {
        await js.publish("p.a", `${i}`);
        await js.publish("m.a", `${i}`);
      }
      await jsm.consumers.add("P", { durable_name: "C", ack_policy: AckPolicy.Explicit, ack_wait: ms(300) });
      await jsm.consumers.add("M", { durable_name: "C", ack_policy: AckPolicy.Explicit, ack_wait: ms(300) });
      assert.equal((await pullSeqs(nc, "P", "C", 5)).length, 5);
      assert.deepEqual(await pullSeqs(nc, "M", "C", 3), [[3, 1], [4, 1], [5, 1]]);
      await jsm.streams.purge("P");
      for (let i = 5; i < 8; i++) await js.publish("m.a", `${i}`);
      const p = await jsm.consumers.info("P", "C");
      assert.deepEqual([p.num_ack_pending, p.ack_floor.stream_seq, p.ack_floor.consumer_seq, p.num_pending], [0, 5, 5, 0]);
      const m = await jsm.consumers.info("M", "C");
      assert.deepEqual([m.num_ack_pending, m.ack_floor.stream_seq, m.ack_floor.consumer_seq, m.num_pending], [0, 5, 3, 3]);
      // past ack_wait: nothing removed comes again
      await sleep(500);
      await js.publish("p.a", "new");
      assert.deepEqual(await pullSeqs(nc, "P", "C", 1), [[6, 1]]);
      assert.deepEqual(await pullSeqs(nc, "M", "C", 3), [[6, 1], [7, 1], [8, 1]]);
    });
  });

  test("a purge of some subjects: pending messages it removed leave pending even above the ack floor", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "F", subjects: ["f.>"] });
      for (const s of ["f.b", "f.a", "f.a", "f.b"]) await js.publish(s, "x");
      await jsm.consumers.add("F", { durable_name: "ALL", ack_policy: AckPolicy.Explicit, ack_wait: ms(300) });
      await jsm.consumers.add("F", { durable_name: "A", ack_policy: AckPolicy.Explicit, ack_wait: ms(300), filter_subject: "f.a" });
      const all = pull(nc, "F", "ALL", { batch: 4 });
      await all.until((x) => x.msgs.length === 4);
      await nc.request(all.msgs[0]!.msg.reply!, "+ACK");
      assert.deepEqual((await pullSeqs(nc, "F", "A", 2)).map((x) => x[0]), [2, 3]);
      await jsm.streams.purge("F", { filter: "f.a" });
      const ci = await jsm.consumers.info("F", "ALL");
      // 2 and 3 are gone; 4 is still pending, so the floor stops just below it
      assert.deepEqual([ci.num_ack_pending, ci.ack_floor.stream_seq, ci.ack_floor.consumer_seq], [1, 3, 3]);
      const a = await jsm.consumers.info("F", "A");
      assert.deepEqual([a.num_ack_pending, a.ack_floor.stream_seq, a.num_pending], [0, 3, 0]);
      await sleep(500);
      // (a pull shorter than ack_wait, so that 4 comes once)
      assert.deepEqual(await pullSeqs(nc, "F", "ALL", 3, 200), [[4, 2]], "only the message still in the stream is redelivered");
      assert.deepEqual(await pullSeqs(nc, "F", "A", 1, 300), []);
    });
  });
});

describe("durable consumers across a restart", () => {
  test("a durable resumes where it was: acked not delivered again, pending redelivered, sequences continue", { timeout: 20_000 }, async () => {
    const dir = tmpStoreDir();
    try {
      let created = "";
      await withJs({}, async ({ jsm, js }) => {
        await jsm.streams.add({ name: "S", subjects: ["s.>"] });
        for (let i = 1; i <= 10; i++) await js.publish("s.a", `${i}`);
        const ci = await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit, ack_wait: ms(60000), filter_subject: "s.a", description: "kept" });
        created = ci.created;
        await jsm.consumers.add("S", { name: "EPH", ack_policy: AckPolicy.Explicit });
        await jsm.consumers.add("S", { durable_name: "MEM", ack_policy: AckPolicy.Explicit, mem_storage: true });
        const c = await js.consumers.get("S", "D");
        const got: JsMsg[] = [];
        const f = await c.fetch({ max_messages: 6, expires: 1000 });
        for await (const m of f) got.push(m);
        // 1..4 acked (4 with a double ack), 5 and 6 delivered but not acked
        for (const m of got.slice(0, 3)) m.ack();
        await got[3]!.ackAck();
        const info = await c.info();
        assert.deepEqual([info.ack_floor.stream_seq, info.num_ack_pending, info.delivered.stream_seq], [4, 2, 6]);
      }, dir);

      await withJs({}, async ({ jsm, js }) => {
        const names: string[] = [];
        for await (const ci of jsm.consumers.list("S")) names.push(ci.name);
        // as nats-server: the ephemeral of a file stream is saved with it, a mem_storage consumer is not
        assert.deepEqual(names.sort(), ["D", "EPH"], "ephemerals come back, memory consumers do not");
        const ci = await jsm.consumers.info("S", "D");
        assert.equal(ci.created, created);
        assert.equal(ci.config.description, "kept");
        assert.deepEqual([ci.ack_floor.stream_seq, ci.ack_floor.consumer_seq, ci.delivered.stream_seq, ci.delivered.consumer_seq], [4, 4, 6, 6]);
        assert.equal(ci.num_ack_pending, 2);
        assert.equal(ci.num_pending, 4);
        const c = await js.consumers.get("S", "D");
        const seen: [number, number, number][] = [];
        const f = await c.fetch({ max_messages: 6, expires: 1000 });
        for await (const m of f) {
          seen.push([m.seq, m.info.deliverySequence, m.info.deliveryCount]);
          m.ack();
        }
        // the four never delivered come first, then the two pending ones are redelivered when asked
        const seqs = seen.map((s) => s[0]).sort((a, b) => a - b);
        assert.deepEqual(seqs, [7, 8, 9, 10]);
        assert.deepEqual(seen.map((s) => s[1]), [7, 8, 9, 10]);
        const r = await jsm.consumers.update("S", "D", { ack_wait: ms(300) });
        assert.equal(r.config.ack_wait, ms(300));
        const again: [number, number][] = [];
        const f2 = await c.fetch({ max_messages: 2, expires: 2000 });
        for await (const m of f2) {
          again.push([m.seq, m.info.deliveryCount]);
          m.ack();
        }
        assert.deepEqual(again, [[5, 2], [6, 2]]);
        await js.publish("s.a", "11");
        const m = (await c.next())!;
        assert.deepEqual([m.seq, m.info.deliverySequence], [11, 13]);
      }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a durable push consumer and an interest stream's consumers come back", { timeout: 20_000 }, async () => {
    const dir = tmpStoreDir();
    try {
      await withJs({}, async ({ jsm, js }) => {
        await jsm.streams.add({ name: "I", subjects: ["i.>"], retention: "interest" as never });
        await jsm.consumers.add("I", { durable_name: "P", deliver_subject: "d.p", ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
        for (let i = 0; i < 3; i++) await js.publish("i.a", `${i}`);
      }, dir);
      await withJs({}, async ({ jsm, js, nc }) => {
        assert.equal((await jsm.streams.info("I")).state.messages, 3);
        await js.publish("i.a", "3");
        assert.equal((await jsm.streams.info("I")).state.messages, 4, "the recovered consumer keeps interest");
        const col = new Collector(nc, "d.p");
        await col.until((x) => x.msgs.length === 4);
        for (const r of col.msgs) r.msg.respond("+ACK");
        await eventually(async () => (await jsm.streams.info("I")).state.messages === 0);
      }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
