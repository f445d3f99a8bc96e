// Consumer delivery: pull requests (batch, expires, no_wait, max_bytes, idle heartbeats and the
// status messages 404/408/409/100/400), the consumer's request limits (max_waiting, max_batch,
// max_expires, max_bytes), push delivery (deliver_subject, deliver_group, flow control, idle
// heartbeats), start positions (deliver_policy), filters, headers_only, replay_policy,
// rate_limit_bps, and the official client's fetch/next/consume and ordered consumers.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, ReplayPolicy } from "@nats-io/jetstream";
import { sec, sleep, withJs } from "./jetstream-helpers.js";
import { ackInfo, Collector, ms, pull } from "./consumer-helpers.js";

const JS_OPTS = {};

describe("pull requests", () => {
  test("batch: at most that many; what is missing waits for new messages until expires, then 408 with what is left", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (let i = 0; i < 5; i++) await js.publish("s.a", `m${i}`);
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.None });
      const a = pull(nc, "S", "C", { batch: 3, expires: ms(300) });
      await a.until((c) => c.msgs.length === 3);
      await sleep(400);
      assert.equal(a.got.length, 3, "a fulfilled request gets no status");
      const b = pull(nc, "S", "C", { batch: 5, expires: ms(400) });
      await b.until((c) => c.msgs.length === 2);
      await js.publish("s.a", "late");
      await b.until((c) => c.msgs.length === 3);
      await b.until((c) => c.statuses(408).length === 1);
      const s = b.statuses(408)[0]!;
      assert.equal(s.description, "Request Timeout");
      assert.equal(s.msg.headers?.get("Nats-Pending-Messages"), "2");
      assert.equal(s.msg.headers?.get("Nats-Pending-Bytes"), "0");
      assert.ok(s.at >= 350, `expired after ${s.at}ms`);
      assert.deepEqual(b.msgs.map((r) => r.msg.string()), ["m3", "m4", "late"]);
      // a body that is a number is a batch; an empty body is one message
      for (let i = 0; i < 3; i++) await js.publish("s.b", `n${i}`);
      const c = pull(nc, "S", "C", "2");
      await c.until((x) => x.msgs.length === 2);
      const d = pull(nc, "S", "C");
      await d.until((x) => x.msgs.length === 1);
      await sleep(100);
      assert.equal(d.got.length, 1);
    });
  });

  test("no_wait: 404 No Messages when there is nothing; otherwise what there is, then 404", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit });
      const a = pull(nc, "S", "C", { batch: 5, no_wait: true });
      await a.until((c) => c.got.length === 1);
      assert.deepEqual([a.got[0]!.code, a.got[0]!.description], [404, "No Messages"]);
      await js.publish("s.a", "1");
      await js.publish("s.a", "2");
      const b = pull(nc, "S", "C", { batch: 5, no_wait: true });
      await b.until((c) => c.statuses().length === 1);
      assert.equal(b.msgs.length, 2);
      assert.equal(b.statuses(404).length, 1);
    });
  });

  test("max_bytes: a message larger than what is left ends the request (409 Message Size Exceeds MaxBytes); a batch done with bytes left says Batch Completed", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "x".repeat(100));
      await js.publish("s.a", "x".repeat(2000));
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.None });
      const a = pull(nc, "S", "C", { batch: 10, max_bytes: 1000, expires: ms(500) });
      await a.until((c) => c.statuses().length === 1);
      assert.equal(a.msgs.length, 1);
      const st = a.statuses(409)[0]!;
      assert.equal(st.description, "Message Size Exceeds MaxBytes");
      assert.equal(st.msg.headers?.get("Nats-Pending-Messages"), "9");
      const b = pull(nc, "S", "C", { batch: 1, max_bytes: 100000, expires: ms(500) });
      await b.until((c) => c.statuses().length === 1);
      assert.equal(b.msgs.length, 1);
      assert.equal(b.statuses(409)[0]!.description, "Batch Completed");
      assert.equal(b.statuses(409)[0]!.msg.headers?.get("Nats-Pending-Messages"), "0");
    });
  });

  test("request limits: max_waiting (409 Exceeded MaxWaiting), max_batch, max_expires, max_bytes (409), bad requests (400)", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await jsm.consumers.add("S", { durable_name: "C", max_waiting: 1, max_batch: 5, max_expires: sec(1), max_bytes: 1000 });
      const a = pull(nc, "S", "C", { batch: 1, expires: ms(800) });
      await nc.flush();
      const b = pull(nc, "S", "C", { batch: 1, expires: ms(800) });
      await b.until((c) => c.got.length === 1);
      assert.deepEqual([b.got[0]!.code, b.got[0]!.description], [409, "Exceeded MaxWaiting"]);
      const first = async (body: Record<string, unknown>) => {
        const c = pull(nc, "S", "C", body);
        await c.until((x) => x.got.length === 1);
        return `${c.got[0]!.code} ${c.got[0]!.description}`;
      };
      assert.equal(await first({ batch: 6 }), "409 Exceeded MaxRequestBatch of 5");
      assert.equal(await first({ batch: 1, expires: sec(2) }), "409 Exceeded MaxRequestExpires of 1s");
      assert.equal(await first({ batch: 1, max_bytes: 2000 }), "409 Exceeded MaxRequestMaxBytes of 1000");
      assert.equal(await first({ batch: 1, expires: ms(100), idle_heartbeat: ms(80) }), "400 Bad Request - heartbeat value too large");
      assert.match(await first({ batch: "1" } as never), /^400 Bad Request - json: cannot unmarshal string/);
      await a.until((c) => c.statuses(408).length === 1);
      await jsm.consumers.add("S", { durable_name: "P", deliver_subject: "d.p" });
      const p = pull(nc, "S", "P", { batch: 1 });
      await p.until((c) => c.got.length === 1);
      assert.equal(`${p.got[0]!.code} ${p.got[0]!.description}`, "409 Consumer is push based");
    });
  });

  test("idle heartbeats while a request waits (100 Idle Heartbeat); 409 Consumer Deleted when the consumer goes", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await jsm.consumers.add("S", { durable_name: "C" });
      const a = pull(nc, "S", "C", { batch: 1, expires: sec(5), idle_heartbeat: ms(150) });
      await a.until((c) => c.statuses(100).length >= 3, 2000);
      const hb = a.statuses(100)[0]!;
      assert.equal(hb.description, "Idle Heartbeat");
      assert.equal(hb.msg.headers?.get("Nats-Last-Consumer"), "0");
      assert.equal(hb.msg.headers?.get("Nats-Last-Stream"), "0");
      assert.ok(hb.at >= 120 && hb.at < 400, `first heartbeat after ${hb.at}ms`);
      await jsm.consumers.delete("S", "C");
      await a.until((c) => c.statuses(409).length === 1);
      assert.equal(a.statuses(409)[0]!.description, "Consumer Deleted");
    });
  });

  test("+NXT acks and asks for the next message on the reply subject", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (let i = 1; i <= 3; i++) await js.publish("s.a", `${i}`);
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit });
      const a = pull(nc, "S", "C", { batch: 1 });
      await a.until((c) => c.msgs.length === 1);
      const inbox = a.sub.getSubject();
      nc.publish(a.msgs[0]!.msg.reply!, "+NXT", { reply: inbox });
      await a.until((c) => c.msgs.length === 2);
      assert.equal(a.msgs[1]!.msg.string(), "2");
      const ci = await jsm.consumers.info("S", "C");
      assert.equal(ci.ack_floor.stream_seq, 1);
      assert.equal(ci.num_ack_pending, 1);
    });
  });
});

describe("the official client's pull consumers", () => {
  test("next, fetch and consume take every message once, in order", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (let i = 1; i <= 30; i++) await js.publish(`s.${i % 3}`, `${i}`);
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit });
      const c = await js.consumers.get("S", "C");
      const seen: number[] = [];
      const m = await c.next();
      seen.push(m!.seq);
      m!.ack();
      const f = await c.fetch({ max_messages: 9, expires: 1000 });
      for await (const x of f) {
        seen.push(x.seq);
        x.ack();
      }
      const it = await c.consume({ max_messages: 7 });
      for await (const x of it) {
        seen.push(x.seq);
        x.ack();
        if (seen.length === 30) break;
      }
      assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => i + 1));
      const ci = await c.info();
      assert.equal(ci.num_pending, 0);
      assert.equal(ci.delivered.stream_seq, 30);
      // a fetch with nothing there ends when it expires
      const start = Date.now();
      const empty = await c.fetch({ max_messages: 5, expires: 1000 });
      let n = 0;
      for await (const _ of empty) n++;
      assert.equal(n, 0);
      assert.ok(Date.now() - start >= 900);
    });
  });

  test("fetch by max_bytes: what fits, then the client's error for the message that does not (as with nats-server)", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (let i = 0; i < 10; i++) await js.publish("s.a", "x".repeat(100));
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.None });
      const c = await js.consumers.get("S", "C");
      // each message counts subject + ack reply + payload (about 150 bytes here)
      const f = await c.fetch({ max_bytes: 600, expires: 1000 });
      let n = 0;
      await assert.rejects(async () => {
        for await (const _ of f) n++;
      }, /message size exceeds maxbytes/);
      assert.equal(n, 4);
    });
  });

  test("ordered consumers: every message in order, starting where asked, and recreated when their consumer goes", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (let i = 1; i <= 20; i++) await js.publish("s.a", `${i}`);
      const oc = await js.consumers.get("S", { opt_start_seq: 5 });
      // short expires: the client notices the lost consumer by missed heartbeats (expires / 2 each)
      const it = await oc.consume({ max_messages: 10, expires: 1000 });
      const seqs: number[] = [];
      for await (const m of it) {
        seqs.push(m.seq);
        if (m.seq === 10) {
          // its server-side consumer goes away: the client makes another one from where it was
          const ci = await oc.info(true);
          await jsm.consumers.delete("S", ci.name);
          await js.publish("s.a", "21");
        }
        if (m.seq === 21) break;
      }
      assert.deepEqual(seqs, Array.from({ length: 17 }, (_, i) => i + 5));
      const f = await js.consumers.get("S", { filter_subjects: ["s.a"] });
      const all = await f.fetch({ max_messages: 100, expires: 1000 });
      let n = 0;
      for await (const _ of all) n++;
      assert.equal(n, 21);
    });
  });
});

describe("push consumers", () => {
  test("deliver_subject: messages keep their subject, with ack metadata; deliver_group spreads them over a queue group", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      const c = new Collector(nc, "d.x");
      await jsm.consumers.add("S", { durable_name: "C", deliver_subject: "d.x", ack_policy: AckPolicy.None });
      const h = natsHeaders();
      h.set("K", "v");
      await js.publish("s.a", "1", { headers: h });
      await js.publish("s.b", "2");
      await c.until((x) => x.msgs.length === 2);
      assert.deepEqual(c.msgs.map((r) => r.msg.subject), ["s.a", "s.b"]);
      assert.equal(c.msgs[0]!.msg.headers?.get("K"), "v");
      const i = ackInfo(c.msgs[1]!.msg.reply);
      assert.deepEqual([i.stream, i.consumer, i.dc, i.sseq, i.dseq, i.pending], ["S", "C", 1, 2, 2, 0]);
      const q1 = new Collector(nc, "d.q", "g");
      const q2 = new Collector(nc, "d.q", "g");
      await jsm.consumers.add("S", { durable_name: "Q", deliver_subject: "d.q", deliver_group: "g", ack_policy: AckPolicy.None });
      for (let k = 0; k < 40; k++) await js.publish("s.q", `${k}`);
      await q1.until(() => q1.msgs.length + q2.msgs.length === 42);
      assert.ok(q1.msgs.length > 0 && q2.msgs.length > 0, `${q1.msgs.length}/${q2.msgs.length}`);
      const ci = await jsm.consumers.info("S", "Q");
      assert.equal(ci.push_bound, true);
    });
  });

  test("nothing is delivered until someone subscribes to the deliver subject", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "1");
      await jsm.consumers.add("S", { durable_name: "C", deliver_subject: "d.late", ack_policy: AckPolicy.Explicit });
      await sleep(200);
      assert.equal((await jsm.consumers.info("S", "C")).delivered.stream_seq, 0);
      const c = new Collector(nc, "d.late");
      await c.until((x) => x.msgs.length === 1);
      assert.equal(c.msgs[0]!.msg.string(), "1");
    });
  });

  test("idle heartbeats carry the last sequences; flow control holds delivery until answered", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      const big = "x".repeat(64 * 1024);
      for (let i = 0; i < 80; i++) await js.publish("s.a", big);
      const c = new Collector(nc, "d.fc");
      await jsm.consumers.add("S", { durable_name: "C", deliver_subject: "d.fc", ack_policy: AckPolicy.None, flow_control: true, idle_heartbeat: ms(250) });
      await c.until((x) => x.statuses(100).some((r) => r.description === "FlowControl Request"));
      await sleep(400);
      const held = c.msgs.length;
      assert.ok(held > 10 && held < 80, `delivered ${held} before the answer`);
      // the heartbeat says it is stalled on that flow control request
      const hb = c.statuses(100).filter((r) => r.description === "Idle Heartbeat");
      assert.ok(hb.length >= 1);
      const fc = c.statuses(100).find((r) => r.description === "FlowControl Request")!;
      assert.equal(hb[hb.length - 1]!.msg.headers?.get("Nats-Consumer-Stalled"), fc.msg.reply);
      assert.equal(hb[hb.length - 1]!.msg.headers?.get("Nats-Last-Consumer"), String(held));
      // answering each flow control request lets the rest through
      const answered = new Set<string>();
      const answer = () => {
        for (const r of c.statuses(100)) {
          if (r.description === "FlowControl Request" && !answered.has(r.msg.reply!)) {
            answered.add(r.msg.reply!);
            r.msg.respond();
          }
        }
      };
      const t = setInterval(answer, 20);
      try {
        await c.until((x) => x.msgs.length === 80, 5000);
      } finally {
        clearInterval(t);
      }
      assert.deepEqual(c.msgs.map((r) => ackInfo(r.msg.reply).sseq), Array.from({ length: 80 }, (_, i) => i + 1));
    });
  });

  test("the official client's push consumer answers flow control and heartbeats", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      const big = "y".repeat(100 * 1024);
      for (let i = 0; i < 40; i++) await js.publish("s.a", big);
      await jsm.consumers.add("S", { durable_name: "C", deliver_subject: "d.c", ack_policy: AckPolicy.Explicit, flow_control: true, idle_heartbeat: sec(1) });
      const pc = await js.consumers.getPushConsumer("S", "C");
      const it = await pc.consume();
      let n = 0;
      for await (const m of it) {
        m.ack();
        if (++n === 40) break;
      }
      assert.equal(n, 40);
    });
  });
});

describe("where a consumer starts and what it takes", () => {
  test("deliver_policy all, last, new, by_start_sequence, by_start_time, last_per_subject", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (const s of ["s.a", "s.b", "s.a", "s.c"]) await js.publish(s, s);
      await sleep(50);
      const t = new Date();
      await sleep(10);
      await js.publish("s.b", "after");
      const first = async (name: string, cfg: Record<string, unknown>, n = 1) => {
        await jsm.consumers.add("S", { durable_name: name, ack_policy: AckPolicy.None, ...cfg });
        const c = pull(nc, "S", name, { batch: n, expires: ms(300) });
        await c.until((x) => x.got.length >= n || x.statuses().length > 0);
        return c.msgs.map((r) => ackInfo(r.msg.reply).sseq);
      };
      assert.deepEqual(await first("ALL", {}), [1]);
      assert.deepEqual(await first("LAST", { deliver_policy: DeliverPolicy.Last }), [5]);
      assert.deepEqual(await first("LASTF", { deliver_policy: DeliverPolicy.Last, filter_subject: "s.a" }), [3]);
      assert.deepEqual(await first("SEQ", { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 3 }), [3]);
      assert.deepEqual(await first("TIME", { deliver_policy: DeliverPolicy.StartTime, opt_start_time: t.toISOString() }), [5]);
      assert.deepEqual(await first("LPS", { deliver_policy: DeliverPolicy.LastPerSubject, filter_subject: "s.*" }, 3), [3, 4, 5]);
      await jsm.consumers.add("S", { durable_name: "NEW", ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.New });
      const n = pull(nc, "S", "NEW", { batch: 1, expires: sec(2) });
      await sleep(100);
      assert.equal(n.got.length, 0);
      await js.publish("s.z", "new");
      await n.until((x) => x.msgs.length === 1);
      assert.equal(ackInfo(n.msgs[0]!.msg.reply).sseq, 6);
      // the pending count of last_per_subject counts subjects
      const lps = await jsm.consumers.add("S", { durable_name: "LPS2", deliver_policy: DeliverPolicy.LastPerSubject, filter_subject: "s.*" });
      assert.equal(lps.num_pending, 4);
    });
  });

  test("filter_subject and filter_subjects: only those subjects, num_pending counts them", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (const s of ["s.a", "s.b", "s.c", "s.a.x", "s.b"]) await js.publish(s, s);
      const one = await jsm.consumers.add("S", { durable_name: "ONE", ack_policy: AckPolicy.None, filter_subject: "s.b" });
      assert.equal(one.num_pending, 2);
      const two = await jsm.consumers.add("S", { durable_name: "TWO", ack_policy: AckPolicy.None, filter_subjects: ["s.a.>", "s.c"] });
      assert.equal(two.num_pending, 2);
      const c = pull(nc, "S", "TWO", { batch: 5, expires: ms(300) });
      await c.until((x) => x.statuses(408).length === 1);
      assert.deepEqual(c.msgs.map((r) => r.msg.subject), ["s.c", "s.a.x"]);
      assert.deepEqual(c.msgs.map((r) => ackInfo(r.msg.reply).pending), [1, 0]);
    });
  });

  test("headers_only: headers and Nats-Msg-Size, no payload", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      const h = natsHeaders();
      h.set("K", "v");
      await js.publish("s.a", "hello", { headers: h });
      await js.publish("s.a", "world!");
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.None, headers_only: true });
      const c = pull(nc, "S", "C", { batch: 2 });
      await c.until((x) => x.msgs.length === 2);
      assert.equal(c.msgs[0]!.msg.data.length, 0);
      assert.equal(c.msgs[0]!.msg.headers?.get("K"), "v");
      assert.equal(c.msgs[0]!.msg.headers?.get("Nats-Msg-Size"), "5");
      assert.equal(c.msgs[1]!.msg.headers?.get("Nats-Msg-Size"), "6");
    });
  });

  test("replay_policy original keeps the time between messages; instant does not", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "1");
      await sleep(400);
      await js.publish("s.a", "2");
      const o = new Collector(nc, "d.o");
      const i = new Collector(nc, "d.i");
      await jsm.consumers.add("S", { durable_name: "O", deliver_subject: "d.o", ack_policy: AckPolicy.None, replay_policy: ReplayPolicy.Original });
      await jsm.consumers.add("S", { durable_name: "I", deliver_subject: "d.i", ack_policy: AckPolicy.None });
      await o.until((x) => x.msgs.length === 2);
      await i.until((x) => x.msgs.length === 2);
      const gap = o.msgs[1]!.at - o.msgs[0]!.at;
      assert.ok(gap >= 330, `original gap ${gap}ms`);
      assert.ok(i.msgs[1]!.at - i.msgs[0]!.at < 200);
    });
  });

  test("rate_limit_bps paces a push consumer", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"], max_msg_size: 1000 });
      for (let i = 0; i < 4; i++) await js.publish("s.a", "x".repeat(450));
      const c = new Collector(nc, "d.r");
      // 8000 bits/s = 1000 bytes/s, a burst of one max_msg_size
      await jsm.consumers.add("S", { durable_name: "R", deliver_subject: "d.r", ack_policy: AckPolicy.None, rate_limit_bps: 8000 });
      await c.until((x) => x.msgs.length === 4, 4000);
      assert.ok(c.msgs[3]!.at - c.msgs[0]!.at >= 700, `4 messages in ${c.msgs[3]!.at - c.msgs[0]!.at}ms`);
    });
  });
});
