// Internal consumers of mirror and source links ("direct" consumers, made by another stream
// through the API): hidden from the consumer names and list, from consumer_count and /jsz, and
// outside max_consumers and the work-queue rules — what nats-server 2.9.10 answers, checked side
// by side.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertApiError, withJs } from "./jetstream-helpers.js";

test("direct consumers are not listed or counted, and are exempt from max_consumers and work-queue rules", { timeout: 30_000 }, async () => {
  await withJs({}, async ({ nc, api }) => {
    const created = await api("$JS.API.STREAM.CREATE.S", { name: "S", subjects: ["s.>"], max_consumers: 1, retention: "workqueue" });
    assert.equal(created.error, undefined);
    nc.subscribe("dlv.x");
    nc.subscribe("dlv.y");
    for (const d of ["dlv.x", "dlv.y"]) {
      const r = await api("$JS.API.CONSUMER.CREATE.S", { stream_name: "S", config: { deliver_subject: d, direct: true, ack_policy: "none" } });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
    }
    const names = await api("$JS.API.CONSUMER.NAMES.S", {});
    assert.equal(names.total, 0);
    assert.deepEqual(names.consumers, []);
    assert.equal((await api("$JS.API.CONSUMER.LIST.S", {})).total, 0);
    const info = (await api("$JS.API.STREAM.INFO.S", {})) as { state: { consumer_count: number } };
    assert.equal(info.state.consumer_count, 0);
    // the next consumer of the work queue meets them as "other consumers"
    assertApiError(await api("$JS.API.CONSUMER.DURABLE.CREATE.S.D", { stream_name: "S", config: { durable_name: "D", ack_policy: "explicit" } }), 10099, 400);
    assertApiError(await api("$JS.API.CONSUMER.DURABLE.CREATE.S.F", { stream_name: "S", config: { durable_name: "F", ack_policy: "explicit", filter_subject: "s.f" } }), 10100, 400);

    // max_consumers counts the public ones only
    assert.equal((await api("$JS.API.STREAM.CREATE.L", { name: "L", subjects: ["l.>"], max_consumers: 1 })).error, undefined);
    nc.subscribe("dlv.l");
    assert.equal((await api("$JS.API.CONSUMER.CREATE.L", { stream_name: "L", config: { deliver_subject: "dlv.l", direct: true, ack_policy: "none" } })).error, undefined);
    const one = await api("$JS.API.CONSUMER.DURABLE.CREATE.L.ONE", { stream_name: "L", config: { durable_name: "ONE", ack_policy: "explicit" } });
    assert.equal(one.error, undefined, JSON.stringify(one.error));
    assertApiError(await api("$JS.API.CONSUMER.DURABLE.CREATE.L.TWO", { stream_name: "L", config: { durable_name: "TWO", ack_policy: "explicit" } }), 10026, 400);
    assert.equal(((await api("$JS.API.STREAM.INFO.L", {})) as { state: { consumer_count: number } }).state.consumer_count, 1);
    assert.deepEqual((await api("$JS.API.CONSUMER.NAMES.L", {})).consumers, ["ONE"]);
  });
});
