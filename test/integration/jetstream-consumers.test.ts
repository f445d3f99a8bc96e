// JetStream consumer management through @nats-io/jetstream and the raw API: create (durable,
// named and unnamed ephemerals, the legacy subjects), defaults, idempotent create, the update
// rules, info, names, list, delete, pause, limits, advisories, and the error of each invalid
// configuration (code and err_code), with every response validated against the shared schemas.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { AckPolicy, DeliverPolicy, ReplayPolicy, type ConsumerConfig } from "@nats-io/jetstream";
import { assertApiError, eventually, rejectsApi, sec, sleep, validate, validateAs, withJs } from "./jetstream-helpers.js";

const JS_OPTS = {};
const T = "io.nats.jetstream.api.v1.";

describe("consumer create", () => {
  test("a durable pull consumer gets nats-server's defaults, in the schema's shape", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (let i = 0; i < 3; i++) await js.publish("s.a", "x");
      const r = await api("$JS.API.CONSUMER.DURABLE.CREATE.S.D", { stream_name: "S", config: { durable_name: "D", ack_policy: "explicit" } });
      assert.equal(r.type, T + "consumer_create_response");
      validateAs(r.config, T + "consumer_configuration");
      assert.deepEqual(r.config, {
        durable_name: "D", deliver_policy: "all", ack_policy: "explicit", ack_wait: 30e9, max_deliver: -1,
        replay_policy: "instant", max_waiting: 512, max_ack_pending: 1000, num_replicas: 0,
      });
      assert.equal(r.stream_name, "S");
      assert.equal(r.name, "D");
      assert.deepEqual(r.delivered, { consumer_seq: 0, stream_seq: 0 });
      assert.deepEqual(r.ack_floor, { consumer_seq: 0, stream_seq: 0 });
      assert.deepEqual([r.num_ack_pending, r.num_redelivered, r.num_waiting, r.num_pending], [0, 0, 0, 3]);
      assert.match(r.created as string, /^\d{4}-\d\d-\d\dT/);
      assert.match(r.ts as string, /^\d{4}-\d\d-\d\dT/);
      const ci = await jsm.consumers.info("S", "D");
      assert.equal(ci.config.durable_name, "D");
      assert.equal(ci.num_pending, 3);
    });
  });

  test("ephemerals: unnamed (legacy subject, generated name) and named; both get inactive_threshold 5s", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      const e = await api("$JS.API.CONSUMER.CREATE.S", { stream_name: "S", config: { ack_policy: "explicit", deliver_subject: "d.x" } });
      assert.match(e.name as string, /^[0-9A-Za-z]{8}$/);
      assert.deepEqual(e.config, {
        name: e.name, deliver_policy: "all", ack_policy: "explicit", ack_wait: 30e9, max_deliver: -1, replay_policy: "instant",
        max_ack_pending: 1000, deliver_subject: "d.x", inactive_threshold: 5e9, num_replicas: 0,
      });
      const n = await jsm.consumers.add("S", { name: "N", ack_policy: AckPolicy.None });
      assert.equal(n.name, "N");
      assert.equal(n.config.inactive_threshold, 5e9);
      assert.equal(n.config.max_ack_pending, undefined);
      const names: string[] = [];
      for await (const x of jsm.consumers.list("S")) names.push(x.name);
      assert.deepEqual(names.sort(), [e.name, "N"].sort());
    });
  });

  test("the subject's filter form (CONSUMER.CREATE.<s>.<c>.<filter>) must match the config (10131); multiple filters not allowed there (10137)", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      const ok = await api("$JS.API.CONSUMER.CREATE.S.C.s.a.*", { stream_name: "S", config: { name: "C", filter_subject: "s.a.*" } });
      assert.equal((ok.config as ConsumerConfig).filter_subject, "s.a.*");
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.X.s.b", { stream_name: "S", config: { name: "X", filter_subject: "s.c" } }), 10131, 400);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.X.s.b", { stream_name: "S", config: { name: "X", filter_subjects: ["s.b"] } }), 10137, 400);
      // through the client: filter_subjects with the new API, and a single filter in the subject
      const ci = await jsm.consumers.add("S", { name: "M", filter_subjects: ["s.a", "s.b"] });
      assert.deepEqual(ci.config.filter_subjects, ["s.a", "s.b"]);
    });
  });

  test("request errors: stream mismatch (10056), bad JSON (10025), unknown action, durable subject rules (10016-10020), path separators (10127), stream not found (10059)", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.C", { stream_name: "T", config: { name: "C" } }), 10056, 400);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.C", "{nope"), 10025, 400);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.C", ""), 10025);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.C", { stream_name: "S", config: { ack_policy: "sometimes" } }), 10025);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.C", { stream_name: "S", config: { max_deliver: "3" } }), 10025);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.C", { stream_name: "S", config: {}, action: "upsert" }), 10025);
      assertApiError(await api("$JS.API.CONSUMER.DURABLE.CREATE.S", { stream_name: "S", config: { durable_name: "D" } }), 10016, 400);
      assertApiError(await api("$JS.API.CONSUMER.DURABLE.CREATE.S.D", { stream_name: "S", config: {} }), 10018, 400);
      assertApiError(await api("$JS.API.CONSUMER.DURABLE.CREATE.S.D", { stream_name: "S", config: { durable_name: "E" } }), 10017, 400);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.D", { stream_name: "S", config: { durable_name: "E" } }), 10017, 400);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S", { stream_name: "S", config: { durable_name: "E" } }), 10020, 400);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.a\\b", { stream_name: "S", config: { name: "a\\b" } }), 10127, 400);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.NOPE.C", { stream_name: "NOPE", config: {} }), 10059, 404);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.C", { stream_name: "S", config: { num_replicas: 3 } }), 10074, 500);
      // later servers' features are refused, not ignored
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.C", { stream_name: "S", config: { priority_policy: "pinned_client", priority_groups: ["g"] } }), 10012, 500);
      await rejectsApi(jsm.consumers.add("NOPE", { durable_name: "D" }), 10059, 404, "stream not found");
    });
  });

  test("invalid configurations: each with nats-server's error", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await jsm.streams.add({ name: "W", subjects: ["w.>"], retention: "workqueue" as never });
      const cases: [string, Record<string, unknown>, number, string?][] = [
        ["S", { max_deliver: 2, backoff: [1e9, 2e9, 3e9] }, 10116, "max deliver is required to be > length of backoff values"],
        ["S", { backoff: [-1] }, 10184],
        ["S", { ack_policy: "explicit", ack_wait: -5 }, 10183],
        ["S", { description: "x".repeat(4097) }, 10107, "consumer description is too long, maximum allowed is 4096"],
        ["S", { deliver_subject: "d.*" }, 10079],
        ["S", { deliver_subject: "s.loop" }, 10081],
        ["S", { deliver_subject: "d.x", max_waiting: 5 }, 10080],
        ["S", { deliver_subject: "d.x", max_ack_pending: 5 }, 10082],
        ["S", { deliver_subject: "d.x", idle_heartbeat: 50e6 }, 10083],
        ["S", { rate_limit_bps: 1000 }, 10086],
        ["S", { idle_heartbeat: 1e9 }, 10088],
        ["S", { flow_control: true }, 10089],
        ["S", { max_batch: -1 }, 10114],
        ["S", { max_expires: 1000 }, 10115],
        ["S", { filter_subject: "s.a", filter_subjects: ["s.b"] }, 10136],
        ["S", { filter_subjects: ["s.a", ""] }, 10139],
        ["S", { filter_subjects: ["s.*", "s.a"] }, 10138],
        ["S", { filter_subject: "s..a" }, 10052, "invalid subject"],
        ["S", { deliver_policy: "all", opt_start_seq: 5 }, 10094, "consumer delivery policy is deliver all, but optional start sequence is also set"],
        ["S", { deliver_policy: "last", opt_start_time: "2024-01-01T00:00:00Z" }, 10094, "consumer delivery policy is deliver last, but optional start time is also set"],
        ["S", { deliver_policy: "last_per_subject" }, 10094, "consumer delivery policy is deliver last per subject, but optional filter subject is not set"],
        ["S", { deliver_policy: "by_start_sequence" }, 10094, "consumer delivery policy is deliver by start sequence, but optional start sequence is not set"],
        ["S", { deliver_policy: "by_start_time" }, 10094, "consumer delivery policy is deliver by start time, but optional start time is not set"],
        ["S", { deliver_policy: "new", opt_start_seq: 1 }, 10094],
        ["S", { sample_freq: "lots" }, 10095],
        ["S", { deliver_subject: "d.x", flow_control: true }, 10108],
        ["S", { num_replicas: -1 }, 10133],
        ["S", { metadata: { k: "v".repeat(128 * 1024) } }, 10135],
        ["W", { ack_policy: "none" }, 10084],
        ["W", { ack_policy: "all" }, 10098],
      ];
      // a durable and a name that differ (the legacy durable subject keeps the name as sent)
      assertApiError(await api("$JS.API.CONSUMER.DURABLE.CREATE.S.A", { stream_name: "S", config: { durable_name: "A", name: "B" } }), 10132, 400);
      for (const [stream, cfg, code, description] of cases) {
        const name = (cfg.durable_name as string) ?? "C";
        const r = await api(`$JS.API.CONSUMER.CREATE.${stream}.${name}`, { stream_name: stream, config: cfg });
        assert.ok(r.error, `expected ${code} for ${JSON.stringify(cfg).slice(0, 80)}`);
        assertApiError(r, code);
        if (description) assert.equal((r.error as { description: string }).description, description, JSON.stringify(cfg).slice(0, 80));
      }
    });
  });

  test("pedantic mode refuses what it would otherwise adjust (10157)", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.C", { stream_name: "S", config: { max_deliver: -5 }, pedantic: true }), 10157, 400);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.C", { stream_name: "S", config: { backoff: [1e9], ack_wait: 2e9 }, pedantic: true }), 10157);
      const ok = await api("$JS.API.CONSUMER.CREATE.S.C", { stream_name: "S", config: { max_deliver: -5 } });
      assert.equal((ok.config as ConsumerConfig).max_deliver, -1);
    });
  });

  test("create is idempotent for the same config; action create with a different one is 10148; update of a missing one is 10149", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      const a = await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit, max_deliver: 3 });
      const b = await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit, max_deliver: 3 });
      assert.equal(a.created, b.created);
      const n1 = await jsm.consumers.add("S", { name: "E", ack_policy: AckPolicy.None });
      const n2 = await jsm.consumers.add("S", { name: "E", ack_policy: AckPolicy.None });
      assert.equal(n1.created, n2.created);
      await rejectsApi(jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit, max_deliver: 4 }), 10148, 400, "consumer already exists");
      // without an action (create or update), an allowed change is an update
      const u = await api("$JS.API.CONSUMER.CREATE.S.D", { stream_name: "S", config: { durable_name: "D", ack_policy: "explicit", max_deliver: 4 } });
      assert.equal((u.config as ConsumerConfig).max_deliver, 4);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.X", { stream_name: "S", config: { name: "X" }, action: "update" }), 10149, 400);
    });
  });

  test("update: what may change does; what may not is refused with nats-server's text (10012)", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await jsm.consumers.add("S", { durable_name: "D", ack_policy: AckPolicy.Explicit, filter_subject: "s.a" });
      const u = await jsm.consumers.update("S", "D", {
        description: "d", max_deliver: 5, ack_wait: sec(2), max_ack_pending: 10, filter_subject: "s.b", metadata: { k: "v" },
        sample_freq: "50%", max_batch: 7, max_expires: sec(9), max_bytes: 100, headers_only: true, inactive_threshold: sec(60),
      });
      assert.equal(u.config.description, "d");
      assert.equal(u.config.max_deliver, 5);
      assert.equal(u.config.ack_wait, sec(2));
      assert.equal(u.config.filter_subject, "s.b");
      assert.deepEqual(u.config.metadata, { k: "v" });
      assert.equal(u.config.max_batch, 7);
      const cases: [Partial<ConsumerConfig>, string][] = [
        [{ deliver_policy: DeliverPolicy.New }, "deliver policy can not be updated"],
        [{ ack_policy: AckPolicy.All }, "ack policy can not be updated"],
        [{ replay_policy: ReplayPolicy.Original }, "replay policy can not be updated"],
        [{ mem_storage: true }, "storage type can not be updated"],
        [{ max_waiting: 10 }, "max waiting can not be updated"],
      ];
      for (const [delta, text] of cases) await rejectsApi(jsm.consumers.update("S", "D", delta), 10012, 500, text);
      // the client sends the whole configuration back: a pull consumer's max_waiting is a push error first (10080)
      await rejectsApi(jsm.consumers.update("S", "D", { deliver_subject: "d.x" }), 10080);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.D", { stream_name: "S", config: { durable_name: "D", ack_policy: "explicit", filter_subject: "s.b", deliver_subject: "d.x" } }), 10012, 500);
      await jsm.consumers.add("S", { durable_name: "P", deliver_subject: "d.p", idle_heartbeat: sec(1), flow_control: true });
      await rejectsApi(jsm.consumers.update("S", "P", { idle_heartbeat: sec(2) } as never), 10012, 500, "heart beats can not be updated");
      await rejectsApi(jsm.consumers.update("S", "P", { flow_control: false } as never), 10012, 500, "flow control can not be updated");
      // the client sends the heartbeat back too: a pull consumer with one is refused first (10088)
      await rejectsApi(jsm.consumers.update("S", "P", { deliver_subject: "" }), 10088);
      assertApiError(await api("$JS.API.CONSUMER.CREATE.S.P", { stream_name: "S", config: { durable_name: "P" } }), 10012, 500);
      await rejectsApi(jsm.consumers.update("S", "D", { max_deliver: 1, backoff: [sec(1), sec(2)] }), 10116);
      const p = await jsm.consumers.update("S", "P", { deliver_subject: "d.q" });
      assert.equal(p.config.deliver_subject, "d.q");
    });
  });

  test("max_consumers of the stream and of the account (10026)", { timeout: 20_000 }, async () => {
    const accounts = { A: { users: [{ user: "a", password: "a" }], jetstream: { max_consumers: 2 } } };
    await withJs({ accounts, no_auth_user: "a" }, async ({ jsm }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"], max_consumers: 1 });
      await jsm.consumers.add("S", { durable_name: "A" });
      await rejectsApi(jsm.consumers.add("S", { durable_name: "B" }), 10026, 400, "maximum consumers limit reached");
      await jsm.streams.add({ name: "T", subjects: ["t.>"] });
      await jsm.consumers.add("T", { durable_name: "A" });
      await jsm.consumers.add("T", { durable_name: "B" });
      await rejectsApi(jsm.consumers.add("T", { durable_name: "C" }), 10026);
      const ai = await jsm.getAccountInfo();
      assert.equal(ai.consumers, 3);
    });
  });

  test("a work-queue stream: explicit ack (10098), deliver all (10101), one unfiltered (10099), no overlap (10100)", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm }) => {
      await jsm.streams.add({ name: "W", subjects: ["w.>"], retention: "workqueue" as never });
      await rejectsApi(jsm.consumers.add("W", { durable_name: "A", ack_policy: AckPolicy.All }), 10098);
      await rejectsApi(jsm.consumers.add("W", { durable_name: "A", ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New }), 10101);
      await jsm.consumers.add("W", { durable_name: "A", ack_policy: AckPolicy.Explicit, filter_subject: "w.a.>" });
      await rejectsApi(jsm.consumers.add("W", { durable_name: "B", ack_policy: AckPolicy.Explicit }), 10099);
      await rejectsApi(jsm.consumers.add("W", { durable_name: "B", ack_policy: AckPolicy.Explicit, filter_subject: "w.*.x" }), 10100);
      await jsm.consumers.add("W", { durable_name: "B", ack_policy: AckPolicy.Explicit, filter_subject: "w.b.>" });
      // an update may not move onto another consumer's subjects
      await rejectsApi(jsm.consumers.update("W", "B", { filter_subject: "w.a.x" }), 10100);
    });
  });
});

describe("consumer info, names, list, delete", () => {
  test("info and delete of what is missing: 10059, 10014; non-empty requests: 10038", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      await rejectsApi(jsm.consumers.info("NOPE", "C"), 10059, 404);
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await rejectsApi(jsm.consumers.info("S", "C"), 10014, 404, "consumer not found");
      await rejectsApi(jsm.consumers.delete("S", "C"), 10014, 404);
      await jsm.consumers.add("S", { durable_name: "C" });
      assertApiError(await api("$JS.API.CONSUMER.INFO.S.C", "{\"x\":1}"), 10038, 400); // "{}" counts as empty, as in nats-server
      assertApiError(await api("$JS.API.CONSUMER.DELETE.S.C", "x"), 10038, 400);
      const d = await api("$JS.API.CONSUMER.DELETE.S.C");
      assert.deepEqual(d, { type: T + "consumer_delete_response", success: true });
      await rejectsApi(jsm.consumers.info("S", "C"), 10014);
      assert.equal((await jsm.streams.info("S")).state.consumer_count, 0);
    });
  });

  test("names and list: sorted, paged by offset, with the schemas' shapes", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (const n of ["C", "A", "B"]) await jsm.consumers.add("S", { durable_name: n });
      const names = await api("$JS.API.CONSUMER.NAMES.S");
      assert.deepEqual(names, { type: T + "consumer_names_response", total: 3, offset: 0, limit: 1024, consumers: ["A", "B", "C"] });
      const page = await api("$JS.API.CONSUMER.LIST.S", { offset: 1 });
      assert.deepEqual([page.total, page.offset, page.limit], [3, 1, 256]);
      assert.deepEqual((page.consumers as { name: string }[]).map((c) => c.name), ["B", "C"]);
      assertApiError(await api("$JS.API.CONSUMER.LIST.NOPE"), 10059, 404);
      assertApiError(await api("$JS.API.CONSUMER.NAMES.S", { offset: "x" }), 10025);
      const listed: string[] = [];
      for await (const ci of jsm.consumers.list("S")) listed.push(ci.name);
      assert.deepEqual(listed, ["A", "B", "C"]);
      assert.equal((await jsm.streams.info("S")).state.consumer_count, 3);
    });
  });

  test("deleting the stream takes its consumers with it", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await jsm.consumers.add("S", { durable_name: "C" });
      await jsm.streams.delete("S");
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await rejectsApi(jsm.consumers.info("S", "C"), 10014);
    });
  });
});

describe("monitoring", () => {
  test("/jsz counts consumers and, with consumers=true, details them per stream", { timeout: 20_000 }, async () => {
    await withJs({ http_port: -1 }, async ({ jsm, server }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await jsm.consumers.add("S", { durable_name: "A" });
      await jsm.consumers.add("S", { durable_name: "B", ack_policy: AckPolicy.Explicit });
      const get = async (path: string) => (await fetch(`http://127.0.0.1:${server.httpPort}${path}`)).json() as Promise<Record<string, unknown>>;
      assert.equal((await get("/jsz")).consumers, 2);
      const jsz = await get("/jsz?consumers=true");
      const acc = (jsz.account_details as { stream_detail: { name: string; consumer_detail?: { name: string; stream_name: string }[] }[] }[])[0]!;
      const sd = acc.stream_detail.find((d) => d.name === "S")!;
      assert.deepEqual(sd.consumer_detail?.map((c) => c.name), ["A", "B"]);
      const plain = await get("/jsz?streams=true");
      assert.equal((plain.account_details as { stream_detail: { consumer_detail?: unknown }[] }[])[0]!.stream_detail[0]!.consumer_detail, undefined);
    });
  });
});

describe("consumer pause", () => {
  test("pause and resume: the consumer info says so, nothing is delivered while paused, advisories sent", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit });
      const adv = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.PAUSE.S.C");
      const until = new Date(Date.now() + 60_000);
      const r = await jsm.consumers.pause("S", "C", until);
      assert.equal(r.paused, true);
      assert.equal(new Date(r.pause_until!).getTime(), until.getTime());
      const ci = await jsm.consumers.info("S", "C");
      assert.equal(ci.paused, true);
      validate(await api("$JS.API.CONSUMER.INFO.S.C"));
      assert.ok((ci.pause_remaining ?? 0) > 50e9);
      assert.equal(new Date(ci.config.pause_until!).getTime(), until.getTime());
      await js.publish("s.a", "x");
      const c = await js.consumers.get("S", "C");
      assert.equal(await c.next({ expires: 1000 }), null);
      const resumed = await jsm.consumers.resume("S", "C");
      assert.equal(resumed.paused, false);
      const m = await c.next({ expires: 2000 });
      assert.equal(m?.seq, 1);
      const events: Record<string, unknown>[] = [];
      for await (const m of adv) {
        const e = m.json<Record<string, unknown>>();
        validate(e);
        events.push(e);
        if (events.length === 2) break;
      }
      assert.deepEqual(events.map((e) => e.paused), [true, false]);
      // the pause response schema's success branch requires nothing, so an error matches both of its
      // branches: errors are checked without the schema
      const raw = async (subject: string, body: unknown) => (await nc.request(subject, JSON.stringify(body), { timeout: 2000 })).json<Record<string, unknown>>();
      assertApiError(await raw("$JS.API.CONSUMER.PAUSE.S.NOPE", { pause_until: until.toISOString() }), 10014, 404);
      assertApiError(await raw("$JS.API.CONSUMER.PAUSE.S.C", { pause_until: "tomorrow" }), 10025);
      validate(await api("$JS.API.CONSUMER.PAUSE.S.C", {}));
    });
  });

  test("a consumer created paused starts delivering at pause_until", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      await js.publish("s.a", "x");
      const until = new Date(Date.now() + 1200);
      await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit, pause_until: until.toISOString() });
      const c = await js.consumers.get("S", "C");
      const start = Date.now();
      const m = await c.next({ expires: 5000 });
      assert.equal(m?.seq, 1);
      assert.ok(Date.now() - start >= 900, `delivered after ${Date.now() - start}ms`);
    });
  });
});

describe("consumer advisories", () => {
  test("CREATED and DELETED, with the advisory schema's shape", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      const sub = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.>", { max: 2 });
      await jsm.consumers.add("S", { durable_name: "C" });
      await jsm.consumers.delete("S", "C");
      const got: [string, string][] = [];
      for await (const m of sub) {
        const e = m.json<Record<string, unknown>>();
        validate(e);
        assert.equal(e.type, "io.nats.jetstream.advisory.v1.consumer_action");
        assert.equal(e.consumer, "C");
        got.push([m.subject, e.action as string]);
      }
      assert.deepEqual(got, [
        ["$JS.EVENT.ADVISORY.CONSUMER.CREATED.S.C", "create"],
        ["$JS.EVENT.ADVISORY.CONSUMER.DELETED.S.C", "delete"],
      ]);
    });
  });
});

describe("ephemeral cleanup", () => {
  test("a pull consumer nobody pulls from goes after inactive_threshold; one pulled from stays", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      const del = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.DELETED.S.*");
      await jsm.consumers.add("S", { name: "GONE", inactive_threshold: sec(0.3) });
      await jsm.consumers.add("S", { name: "KEPT", inactive_threshold: sec(0.3) });
      const c = await js.consumers.get("S", "KEPT");
      const t0 = Date.now();
      // the jitter of pull consumers is up to a second above the threshold
      const kept = (async () => {
        while (Date.now() - t0 < 2500) await c.next({ expires: 1000 });
      })();
      await eventually(async () => {
        try {
          await jsm.consumers.info("S", "GONE");
          return false;
        } catch {
          return true;
        }
      }, 4000, "GONE deleted");
      await kept;
      assert.equal((await jsm.consumers.info("S", "KEPT")).name, "KEPT");
      for await (const m of del) {
        assert.equal(m.subject, "$JS.EVENT.ADVISORY.CONSUMER.DELETED.S.GONE");
        break;
      }
    });
  });

  test("a push ephemeral goes after its subscriber leaves; a durable without a threshold stays", { timeout: 20_000 }, async () => {
    await withJs(JS_OPTS, async ({ jsm, nc }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      const sub = nc.subscribe("d.e");
      await jsm.consumers.add("S", { name: "E", deliver_subject: "d.e", inactive_threshold: sec(0.3) });
      await jsm.consumers.add("S", { durable_name: "D", deliver_subject: "d.d" });
      await sleep(600);
      assert.equal((await jsm.consumers.info("S", "E")).push_bound, true);
      sub.unsubscribe();
      await nc.flush();
      await eventually(async () => {
        try {
          await jsm.consumers.info("S", "E");
          return false;
        } catch {
          return true;
        }
      }, 3000, "E deleted");
      const d = await jsm.consumers.info("S", "D");
      assert.equal(d.push_bound, undefined);
    });
  });
});
