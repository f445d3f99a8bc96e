// Pure parts of the consumer layer: configuration decoding, defaults, checks and JSON form;
// pull request parsing and the wait queue; subject filters and helpers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkConsumerConfig, checkConsumerUpdate, consumerConfigJson, decodeCreateRequest, sameConsumerConfig, setConsumerDefaults, type ConsumerConfig } from "../../src/jetstream/consumer-config.js";
import { parseNextRequest, WaitQueue, type PullRequest, type PullSide } from "../../src/jetstream/consumer-pull.js";
import { headersOnly, numAt, subsetOf, SubjectFilter } from "../../src/jetstream/consumer-util.js";
import { FilterIndex } from "../../src/jetstream/consumer-index.js";
import { watchDeliveryInterest } from "../../src/jetstream/consumer-interest.js";
import { Sublist } from "../../src/core/sublist.js";
import { newSubscription, type Client } from "../../src/core/client.js";
import { JsonError, type StreamConfig } from "../../src/jetstream/stream-config.js";

const stream = { name: "S", subjects: ["s.>"], retention: "limits", num_replicas: 1, consumer_limits: {} } as unknown as StreamConfig;

function cfgOf(config: Record<string, unknown>): ConsumerConfig {
  return decodeCreateRequest(JSON.stringify({ stream_name: "S", config })).config;
}

test("decoding: Go's zero values, JSON errors for wrong types and unknown enums or actions", () => {
  const r = decodeCreateRequest(JSON.stringify({ stream_name: "S", config: { durable_name: "D", ack_wait: 5, backoff: [1, 2] }, action: "create", pedantic: true }));
  assert.deepEqual([r.stream_name, r.action, r.pedantic, r.config.durable_name, r.config.deliver_policy, r.config.ack_policy, r.config.max_deliver], ["S", "create", true, "D", "all", "none", 0]);
  assert.deepEqual(r.config.backoff, [1, 2]);
  assert.throws(() => decodeCreateRequest('{"config":{"max_deliver":"x"}}'), JsonError);
  assert.throws(() => decodeCreateRequest('{"config":{"ack_policy":"sometimes"}}'), /can not unmarshal/);
  assert.throws(() => decodeCreateRequest('{"config":{},"action":"upsert"}'), /unknown consumer action/);
  assert.throws(() => decodeCreateRequest('{"config":{"opt_start_time":"yesterday"}}'), /parsing time/);
  assert.throws(() => decodeCreateRequest(""), /unexpected end/);
  assert.equal(cfgOf({ deliver_policy: "undefined" }).deliver_policy, "all");
  assert.deepEqual(decodeCreateRequest('{"config":{"priority_groups":["g"],"priority_policy":"overflow"}}').unsupported, ["priority groups"]);
});

test("defaults: max_waiting for pull, ack_wait and max_ack_pending for acked consumers, backoff's first step", () => {
  const pull = cfgOf({ ack_policy: "explicit" });
  assert.equal(setConsumerDefaults(pull, stream, false), undefined);
  assert.deepEqual([pull.max_waiting, pull.ack_wait, pull.max_ack_pending, pull.max_deliver], [512, 30e9, 1000, -1]);
  const push = cfgOf({ deliver_subject: "d", ack_policy: "none" });
  setConsumerDefaults(push, stream, false);
  assert.deepEqual([push.max_waiting, push.ack_wait, push.max_ack_pending], [0, undefined, 0]);
  const bo = cfgOf({ ack_policy: "explicit", backoff: [2e9, 5e9] });
  setConsumerDefaults(bo, stream, false);
  assert.equal(bo.ack_wait, 2e9);
  const limited = { ...stream, consumer_limits: { max_ack_pending: 50, inactive_threshold: 7e9 } } as StreamConfig;
  const l = cfgOf({ ack_policy: "all" });
  setConsumerDefaults(l, limited, false);
  assert.deepEqual([l.max_ack_pending, l.inactive_threshold], [50, 7e9]);
  assert.equal(setConsumerDefaults(cfgOf({ max_deliver: -3 }), stream, true)?.err_code, 10157);
});

test("checks come in nats-server's order", () => {
  const check = (c: Record<string, unknown>) => {
    const cfg = cfgOf(c);
    setConsumerDefaults(cfg, stream, false);
    return checkConsumerConfig(cfg, stream)?.err_code;
  };
  assert.equal(check({}), undefined);
  // both a bad backoff and a bad deliver subject: the backoff is reported
  assert.equal(check({ backoff: [1e9, 2e9], max_deliver: 1, deliver_subject: "a.*" }), 10116);
  assert.equal(check({ deliver_subject: "a.*" }), 10079);
  assert.equal(check({ deliver_subject: "s.x" }), 10081);
  assert.equal(check({ filter_subjects: ["a.>", "a.b"] }), 10138);
  assert.equal(check({ deliver_policy: "by_start_time" }), 10094);
});

test("update rules: what may change, the texts of what may not", () => {
  const base = cfgOf({ durable_name: "D", ack_policy: "explicit" });
  setConsumerDefaults(base, stream, false);
  const next = { ...base, description: "x", max_deliver: 5 };
  assert.equal(checkConsumerUpdate(base, next, () => false), undefined);
  assert.equal(checkConsumerUpdate(base, { ...base, ack_policy: "all" }, () => false), "ack policy can not be updated");
  assert.equal(checkConsumerUpdate(base, { ...base, opt_start_time: 1n }, () => false), "start time can not be updated");
  const push = { ...base, deliver_subject: "a", max_waiting: 0 };
  assert.equal((checkConsumerUpdate(push, { ...push, deliver_subject: "b" }, () => true) as { err_code: number }).err_code, 10013);
  assert.equal(checkConsumerUpdate(push, { ...push, deliver_subject: "b" }, () => false), undefined);
});

test("the JSON form follows Go's field order and omits what Go omits", () => {
  const c = cfgOf({ name: "N", durable_name: "N", deliver_subject: "d", ack_policy: "explicit", filter_subject: "s.a", metadata: { b: "2", a: "1" }, pause_until: "2030-01-01T00:00:00Z" });
  setConsumerDefaults(c, stream, false);
  assert.deepEqual(Object.keys(consumerConfigJson(c)), [
    "durable_name", "name", "deliver_policy", "ack_policy", "ack_wait", "max_deliver", "filter_subject", "replay_policy",
    "max_ack_pending", "deliver_subject", "num_replicas", "metadata", "pause_until",
  ]);
  assert.deepEqual(Object.keys(consumerConfigJson(c).metadata as object), ["a", "b"]);
  assert.equal(sameConsumerConfig(c, { ...c }), true);
  assert.equal(sameConsumerConfig(c, { ...c, description: "x" }), false);
});

test("pull request bodies: empty, a number, JSON; Go's errors", () => {
  assert.deepEqual(parseNextRequest(Buffer.from("")), { batch: 1, expires: 0, maxBytes: 0, noWait: false, heartbeat: 0 });
  assert.equal(parseNextRequest(Buffer.from(" 7 ")).batch, 7);
  assert.deepEqual(parseNextRequest(Buffer.from('{"batch":3,"expires":5000000000,"max_bytes":9,"no_wait":true,"idle_heartbeat":1000000000}')), {
    batch: 3, expires: 5e9, maxBytes: 9, noWait: true, heartbeat: 1e9,
  });
  assert.throws(() => parseNextRequest(Buffer.from('{"batch":1,"expires":1000,"idle_heartbeat":600}')), /heartbeat value too large/);
  assert.throws(() => parseNextRequest(Buffer.from('{"batch":"1"}')), /cannot unmarshal string into Go struct field JSApiConsumerGetNextRequest.batch of type int/);
});

test("the wait queue: round robin between requests, byte budgets, expiry, max_waiting", () => {
  const sent: string[] = [];
  const side: PullSide = { send: (to, b) => sent.push(`${to} ${b.latin1Slice(9, b.indexOf("\r"))}`), heartbeat: (to) => sent.push(`${to} hb`), hasInterest: () => true, available: () => 10 };
  const wq = new WaitQueue(2);
  const cfg = cfgOf({});
  assert.equal(wq.request("a", Buffer.from('{"batch":2}'), cfg, side), undefined);
  assert.equal(wq.request("b", Buffer.from('{"batch":1,"max_bytes":10}'), cfg, side), undefined);
  assert.equal(wq.request("c", Buffer.from("1"), cfg, side)?.latin1Slice(0, 32), "NATS/1.0 409 Exceeded MaxWaiting");
  assert.equal(wq.next(5, side)?.reply, "a");
  // a, still wanting one, went behind b; b asked for at most 10 bytes: a 20-byte message ends it
  assert.deepEqual(wq.all().map((x) => x.reply), ["b", "a"]);
  assert.equal(wq.next(20, side)?.reply, "a");
  assert.deepEqual(sent, ["b 409 Message Size Exceeds MaxBytes"]);
  assert.equal(wq.next(20, side), undefined);
  const r: PullRequest = { reply: "x", n: 3, d: 0, b: 0, expires: Date.now() - 1, received: Date.now(), hb: 0, hbt: 0, noWait: false };
  wq.add(r);
  assert.deepEqual(wq.expire(false, side), { brp: 0, fexp: 0 });
  assert.equal(sent[1], "x 408 Request Timeout");
  assert.equal(wq.length, 0);
});

test("subject filters, subsets, ack numbers, headers only", () => {
  const f = new SubjectFilter(["a.*", "b.>", "c"]);
  assert.deepEqual(["a.x", "a.x.y", "b.1.2", "b", "c", "d"].map((s) => f.matches(s)), [true, false, true, false, true, false]);
  assert.equal(new SubjectFilter([]).matches("anything"), true);
  assert.equal(subsetOf("a.b", "a.*"), true);
  assert.equal(subsetOf("a.*", "a.b"), false);
  assert.equal(subsetOf("a.b.c", "a.>"), true);
  assert.deepEqual([numAt("x.123.y", 2, 5), numAt("x.1a3", 2, 5), numAt("", 0, 0)], [123, -1, -1]);
  assert.equal(headersOnly(undefined, 5).toString(), "NATS/1.0\r\nNats-Msg-Size: 5\r\n\r\n");
  assert.equal(headersOnly(Buffer.from("NATS/1.0\r\nK: v\r\n\r\n"), 2).toString(), "NATS/1.0\r\nK: v\r\nNats-Msg-Size: 2\r\n\r\n");
});

test("the filter index: each consumer taking a subject, once; the same answers as the consumers' own filters", () => {
  const ix = new FilterIndex<string>();
  ix.add("all", []);
  ix.add("gt", [">"]);
  ix.add("lit", ["a.b"]);
  ix.add("two", ["a.*", "a.b"]);
  ix.add("deep", ["a.>"]);
  ix.add("mid", ["*.b.*"]);
  const sorted = (s: string) => ix.match(s).sort();
  assert.deepEqual(sorted("a.b"), ["all", "deep", "gt", "lit", "two"]);
  assert.deepEqual(sorted("a.b.c"), ["all", "deep", "gt", "mid"]);
  assert.deepEqual(sorted("a"), ["all", "gt"]);
  ix.remove("all");
  ix.remove("gt");
  assert.equal(ix.has("z"), false);
  assert.equal(ix.has("x.b.y"), true);
  ix.add("two", ["z"]);
  assert.deepEqual(sorted("a.c"), ["deep"]);
  assert.deepEqual(sorted("z"), ["two"]);
  for (const x of ["lit", "two", "deep", "mid"]) ix.remove(x);
  assert.equal(ix.size, 0);
  assert.deepEqual(ix.match("a.b"), []);

  // random filters and subjects over a small alphabet, checked against SubjectFilter
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const tok = () => ["a", "b", "c"][rnd(3)]!;
  const filters = new Map<number, string[]>();
  for (let i = 0; i < 300; i++) {
    const fs: string[] = [];
    for (let k = rnd(3); k >= 0; k--) {
      const n = 1 + rnd(3);
      const t = Array.from({ length: n }, (_, j) => (rnd(4) === 0 ? "*" : j === n - 1 && rnd(5) === 0 ? ">" : tok()));
      fs.push(t.join("."));
    }
    if (rnd(30) === 0) fs.length = 0;
    filters.set(i, fs);
    ix.add(String(i), fs);
    if (rnd(5) === 0) {
      ix.remove(String(i));
      filters.delete(i);
    }
  }
  for (let r = 0; r < 200; r++) {
    const subject = Array.from({ length: 1 + rnd(4) }, tok).join(".");
    const want = [...filters].filter(([, fs]) => new SubjectFilter(fs).matches(subject)).map(([i]) => String(i)).sort();
    assert.deepEqual(ix.match(subject).sort(), want, subject);
    assert.equal(ix.has(subject), want.length > 0);
  }
});

test("deliver subject watchers: told only of subscriptions that may match their subject, once per turn", async () => {
  const sl = new Sublist();
  const client: Client = { cid: 1, kind: "internal", echo: true, deliver() {} };
  const sub = (subject: string) => newSubscription(client, subject, subject);
  const calls = { a: 0, b: 0 };
  const stopA = watchDeliveryInterest(sl, "d.a", () => calls.a++);
  watchDeliveryInterest(sl, "d.b", () => calls.b++);
  const sa = sub("d.a");
  sl.insert(sa);
  sl.insert(sub("other"));
  sl.insert(sub("d.a.deeper"));
  await Promise.resolve();
  assert.deepEqual(calls, { a: 1, b: 0 });
  sl.insert(sub("d.*"));
  sl.remove(sa);
  await Promise.resolve();
  assert.deepEqual(calls, { a: 2, b: 1 }, "a wildcard subscription concerns every subject it matches; one call per turn");
  stopA();
  sl.insert(sub(">"));
  await Promise.resolve();
  assert.deepEqual(calls, { a: 2, b: 2 });
});
