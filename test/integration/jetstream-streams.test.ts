// JetStream stream management through @nats-io/jetstream and the raw API: account info,
// create/update/info/delete/purge/names/list, message get/delete, direct get, domains,
// account and server limits, and the errors of each (code, err_code), with every response
// validated against the shared JSON schemas.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createInbox, headers as natsHeaders } from "@nats-io/transport-node";
import { jetstreamManager, JetStreamApiError, type StreamConfig } from "@nats-io/jetstream";
import { assertApiError, rejectsApi, validate, validateAs, withJs } from "./jetstream-helpers.js";

const JS_OPTS = {};

describe("JetStream account info", () => {
  test("INFO: usage, limits and API counters, with the schema's shape", async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      const r = await api("$JS.API.INFO");
      assert.equal(r.type, "io.nats.jetstream.api.v1.account_info_response");
      assert.deepEqual(r.limits, {
        max_memory: -1, max_storage: -1, max_streams: -1, max_consumers: -1, max_ack_pending: -1,
        memory_max_stream_bytes: -1, storage_max_stream_bytes: -1, max_bytes_required: false,
      });
      assert.equal(r.streams, 0);
      await jsm.streams.add({ name: "A", subjects: ["a.>"] });
      await jsm.streams.add({ name: "M", storage: "memory" as never, max_bytes: 1000 });
      const ai = await jsm.getAccountInfo();
      assert.equal(ai.streams, 2);
      assert.equal(ai.consumers, 0);
      assert.equal(ai.reserved_memory, 1000);
      assert.ok(ai.api.total >= 3);
      assert.equal(ai.api.errors, 0);
    });
  });

  test("an account without JetStream is told so (10039), and the client reports it not enabled", async () => {
    const accounts = {
      JS: { users: [{ user: "j", password: "j" }], jetstream: { max_streams: 1 } },
      NOJS: { users: [{ user: "n", password: "n" }] },
    };
    await withJs({ accounts, no_auth_user: "j" }, async ({ connect }) => {
      const nc = await connect({ user: "n", pass: "n" });
      const m = await nc.request("$JS.API.INFO", undefined, { timeout: 2000 });
      const r = JSON.parse(m.string());
      validate(r);
      assertApiError(r, 10039, 503);
      await assert.rejects(jetstreamManager(nc), { name: "JetStreamNotEnabled" });
      const ncj = await connect({ user: "j", pass: "j" });
      const jsm = await jetstreamManager(ncj);
      const ai = await jsm.getAccountInfo();
      assert.equal(ai.limits.max_streams, 1);
    });
  });

  test("an unknown API subject is a bad request (10003) in a system_response", async () => {
    await withJs(JS_OPTS, async ({ nc }) => {
      const m = await nc.request("$JS.API.NOPE.X", undefined, { timeout: 2000 });
      const r = JSON.parse(m.string());
      assert.equal(r.type, "io.nats.jetstream.api.v1.system_response");
      assertApiError(r, 10003, 400);
    });
  });
});

describe("stream create", () => {
  test("defaults are filled as nats-server fills them", async () => {
    await withJs(JS_OPTS, async ({ api }) => {
      const r = await api("$JS.API.STREAM.CREATE.ORDERS", { name: "ORDERS" });
      assert.equal(r.type, "io.nats.jetstream.api.v1.stream_create_response");
      assert.equal(r.did_create, true);
      const cfg = r.config as Record<string, unknown>;
      validateAs(cfg, "io.nats.jetstream.api.v1.stream_configuration");
      assert.deepEqual(cfg, {
        name: "ORDERS", subjects: ["ORDERS"], retention: "limits", max_consumers: -1, max_msgs: -1, max_bytes: -1,
        max_age: 0, max_msgs_per_subject: -1, max_msg_size: -1, discard: "old", storage: "file", num_replicas: 1,
        duplicate_window: 120e9, compression: "none", allow_direct: false, mirror_direct: false, sealed: false,
        deny_delete: false, deny_purge: false, allow_rollup_hdrs: false, consumer_limits: {}, allow_msg_ttl: false,
      });
      assert.deepEqual(r.state, {
        messages: 0, bytes: 0, first_seq: 0, first_ts: "0001-01-01T00:00:00Z", last_seq: 0, last_ts: "0001-01-01T00:00:00Z", consumer_count: 0,
      });
      assert.match(r.created as string, /^\d{4}-\d\d-\d\dT/);
    });
  });

  test("creating again with the same configuration is idempotent; a different one is 10058", async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      const si = await jsm.streams.add({ name: "S", subjects: ["s.*"], max_msgs: 10 });
      assert.equal(si.config.max_msgs, 10);
      const again = await api("$JS.API.STREAM.CREATE.S", { name: "S", subjects: ["s.*"], max_msgs: 10 });
      assert.equal(again.did_create, true); // nats-server says so for the same configuration again (checked side by side)
      assert.equal(again.created, si.created);
      await rejectsApi(jsm.streams.add({ name: "S", subjects: ["s.*"], max_msgs: 11 }), 10058, 400, "stream name already in use with a different configuration");
    });
  });

  test("subjects overlapping another stream's are refused (10065)", async () => {
    await withJs(JS_OPTS, async ({ jsm }) => {
      await jsm.streams.add({ name: "A", subjects: ["orders.*"] });
      await rejectsApi(jsm.streams.add({ name: "B", subjects: ["orders.new"] }), 10065, 400, "subjects overlap with an existing stream");
      await rejectsApi(jsm.streams.add({ name: "C", subjects: [">"], no_ack: true }), 10065);
      await jsm.streams.add({ name: "D", subjects: ["orders.new.x"] }); // orders.* does not match three tokens
      // an update may not take another stream's subjects either
      await rejectsApi(jsm.streams.update("D", { subjects: ["orders.x"] }), 10065);
    });
  });

  test("request errors: name mismatch (10056), bad JSON (10025), path separators (10128), sealed (10052)", async () => {
    await withJs(JS_OPTS, async ({ api }) => {
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "B" }), 10056, 400);
      assertApiError(await api("$JS.API.STREAM.CREATE.A", "{not json"), 10025, 400);
      assertApiError(await api("$JS.API.STREAM.CREATE.A", ""), 10025);
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", max_msgs: "ten" }), 10025);
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", retention: "forever" }), 10025);
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", storage: "tape" }), 10025);
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", discard: "all" }), 10025);
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", compression: "zip" }), 10025);
      assertApiError(await api("$JS.API.STREAM.CREATE.a\\b", { name: "a\\b" }), 10128, 400);
      const sealed = await api("$JS.API.STREAM.CREATE.A", { name: "A", sealed: true });
      assertApiError(sealed, 10052, 500);
      assert.equal((sealed.error as { description: string }).description, "stream configuration for create can not be sealed");
      const md = await api("$JS.API.STREAM.CREATE.A", { name: "A", mirror_direct: true });
      assertApiError(md, 10052);
      // features of later servers are refused, not ignored
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", allow_msg_counter: true }), 10052);
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", allow_atomic: true }), 10052);
    });
  });

  test("invalid configurations are refused with nats-server's descriptions (10052)", async () => {
    await withJs(JS_OPTS, async ({ api }) => {
      const cases: [Record<string, unknown>, string][] = [
        [{ name: "A", max_age: -1 }, "max age can not be negative"],
        [{ name: "A", max_age: 1e6 }, "max age needs to be >= 100ms"],
        [{ name: "A", duplicate_window: -5 }, "duplicates window can not be negative"],
        [{ name: "A", duplicate_window: 1e6 }, "duplicates window needs to be >= 100ms"],
        [{ name: "A", max_age: 1e9, duplicate_window: 2e9 }, "duplicates window can not be larger then max age"],
        [{ name: "A", deny_purge: true, allow_rollup_hdrs: true }, "roll-ups require the purge permission"],
        [{ name: "A", discard_new_per_subject: true }, "discard new per subject requires discard new policy to be set"],
        [{ name: "A", discard: "new", discard_new_per_subject: true }, "discard new per subject requires max msgs per subject > 0"],
        [{ name: "A", subject_delete_marker_ttl: 5e8 }, "subject delete marker TTL must be at least 1 second"],
        [{ name: "A", subjects: ["a..b"] }, "invalid subject"],
        // the overlap check of a subject with the later ones comes before the duplicate check (nats-server's order)
        [{ name: "A", subjects: ["a", "a"] }, 'subject "a" overlaps with "a"'],
        [{ name: "A", subjects: ["a.*", "a.b"] }, 'subject "a.*" overlaps with "a.b"'],
        [{ name: "A", subjects: [">"] }, "capturing all subjects requires no-ack to be true"],
        [{ name: "A", subjects: ["$JS.API.>"] }, "subjects that overlap with jetstream api require no-ack to be true"],
        [{ name: "A", subjects: ["$SYS.>"] }, "subjects that overlap with system api require no-ack to be true"],
        [{ name: "A", num_replicas: 6 }, "maximum replicas is 5"],
        [{ name: "A", subjects: ["a"], republish: { src: ">", dest: "a" } }, "stream configuration for republish destination forms a cycle"],
        [{ name: "A", subjects: ["a.>"], republish: { src: "a.*", dest: "r.$2" } }, "stream configuration for republish with transform from 'a.*' to 'r.$2' not valid"],
        [{ name: "A", placement: { preferred: "x" } }, "preferred server not permitted in placement"],
        [{ name: "A", description: "x".repeat(4097) }, "stream description is too long, maximum allowed is 4096"],
        [{ name: "x".repeat(256) }, "stream name is too long, maximum allowed is 255"],
      ];
      for (const [cfg, description] of cases) {
        const r = await api(`$JS.API.STREAM.CREATE.${cfg.name || "A"}`, cfg);
        assertApiError(r, 10052, 500);
        assert.equal((r.error as { description: string }).description, description, JSON.stringify(cfg).slice(0, 100));
      }
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", num_replicas: -1 }), 10133, 400);
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", num_replicas: 3 }), 10074, 500);
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", subject_transform: { src: "a.*", dest: "{{nope(1)}}" } }), 10156, 400);
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", subject_transform: { src: "a..", dest: "b" } }), 10155, 400);
    });
  });

  test("pedantic mode refuses what it would otherwise adjust (10157)", async () => {
    await withJs(JS_OPTS, async ({ api }) => {
      assertApiError(await api("$JS.API.STREAM.CREATE.A", { name: "A", max_msgs: -5, pedantic: true }), 10157, 400);
      const ok = await api("$JS.API.STREAM.CREATE.A", { name: "A", max_msgs: -5 });
      assert.equal((ok.config as { max_msgs: number }).max_msgs, -1);
    });
  });
});

describe("stream info, names, list", () => {
  test("info of a missing stream is 404/10059; info with subjects_filter and deleted_details", async () => {
    await withJs(JS_OPTS, async ({ jsm, js, api }) => {
      await rejectsApi(jsm.streams.info("NOPE"), 10059, 404, "stream not found");
      await jsm.streams.add({ name: "S", subjects: ["s.>"] });
      for (const s of ["s.a", "s.b", "s.b", "s.c.d"]) await js.publish(s, "x");
      await jsm.streams.deleteMessage("S", 2);
      const si = await jsm.streams.info("S", { subjects_filter: "s.*", deleted_details: true });
      assert.deepEqual(si.state.subjects, { "s.a": 1, "s.b": 1 });
      assert.deepEqual(si.state.deleted, [2]);
      assert.equal(si.state.num_deleted, 1);
      assert.equal(si.state.num_subjects, 3);
      const raw = await api("$JS.API.STREAM.INFO.S", { subjects_filter: ">" });
      assert.deepEqual([raw.total, raw.offset, raw.limit], [3, 0, 100000]);
      const plain = await api("$JS.API.STREAM.INFO.S");
      assert.deepEqual([plain.total, plain.offset, plain.limit], [0, 0, 0]);
      assert.equal((plain.state as { deleted?: unknown }).deleted, undefined);
      assertApiError(await api("$JS.API.STREAM.INFO.S", "{bad"), 10025);
    });
  });

  test("names and list: sorted, filtered by subject, paged by offset", async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      for (const n of ["C", "A", "B"]) await jsm.streams.add({ name: n, subjects: [`${n.toLowerCase()}.>`], storage: "memory" as never });
      const names: string[] = [];
      for await (const n of jsm.streams.names()) names.push(n);
      assert.deepEqual(names, ["A", "B", "C"]);
      const filtered: string[] = [];
      for await (const n of jsm.streams.names("b.x")) filtered.push(n);
      assert.deepEqual(filtered, ["B"]);
      const infos = [];
      for await (const si of jsm.streams.list()) infos.push(si.config.name);
      assert.deepEqual(infos, ["A", "B", "C"]);
      const page = await api("$JS.API.STREAM.NAMES", { offset: 1 });
      assert.deepEqual([page.total, page.offset, page.limit, page.streams], [3, 1, 1024, ["B", "C"]]);
      const lpage = await api("$JS.API.STREAM.LIST", { offset: 2, subject: ">" });
      assert.equal(lpage.total, 3);
      assert.deepEqual((lpage.streams as { config: { name: string } }[]).map((s) => s.config.name), ["C"]);
      const none = await api("$JS.API.STREAM.NAMES", { subject: "zzz" });
      assert.deepEqual([none.total, none.streams], [0, null]); // Go's nil slice, as nats-server sends it
      assert.equal(await jsm.streams.find("a.b"), "A");
    });
  });

  test("list pages at 256 streams and the client collects them all", async () => {
    await withJs(JS_OPTS, async ({ jsm, api }) => {
      for (let i = 0; i < 260; i++) await api(`$JS.API.STREAM.CREATE.S${String(i).padStart(3, "0")}`, { name: `S${String(i).padStart(3, "0")}`, storage: "memory" });
      const first = await api("$JS.API.STREAM.LIST");
      assert.equal((first.streams as unknown[]).length, 256);
      assert.equal(first.limit, 256);
      let n = 0;
      for await (const _ of jsm.streams.list()) n++;
      assert.equal(n, 260);
    });
  });
});

describe("stream update", () => {
  test("changes take effect; what may not change is refused (10052), a missing stream is 10059", async () => {
    await withJs(JS_OPTS, async ({ jsm, js, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["a"] });
      const u = await jsm.streams.update("S", { subjects: ["a", "b"], description: "two", max_msgs: 5 });
      assert.deepEqual(u.config.subjects, ["a", "b"]);
      assert.equal(u.config.description, "two");
      const pa = await js.publish("b", "x");
      assert.equal(pa.seq, 1);
      await jsm.streams.update("S", { subjects: ["b"] });
      await assert.rejects(js.publish("a", "x"), { name: "JetStreamNotEnabled" }); // nobody listens on "a" any more
      await rejectsApi(jsm.streams.update("S", { storage: "memory" } as never), 10052, 500, "stream configuration update can not change storage type");
      await rejectsApi(jsm.streams.update("S", { retention: "workqueue" } as never), 10052, 500, "stream configuration update can not change retention policy to/from workqueue");
      await rejectsApi(jsm.streams.update("NOPE", {}), 10059);
      assertApiError(await api("$JS.API.STREAM.UPDATE.S", { name: "T" }), 10056);
      const r = await api("$JS.API.STREAM.UPDATE.S", { name: "S", subjects: ["b"], deny_delete: true, deny_purge: true });
      assert.equal(r.type, "io.nats.jetstream.api.v1.stream_update_response");
      await rejectsApi(jsm.streams.update("S", { deny_delete: false }), 10052, 500, "stream configuration update can not cancel deny message deletes");
      await rejectsApi(jsm.streams.update("S", { deny_purge: false }), 10052, 500, "stream configuration update can not cancel deny purge");
    });
  });

  test("sealing a stream: it takes no more messages and cannot be unsealed", async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"], max_age: 60e9 });
      await js.publish("s", "1");
      const u = await jsm.streams.update("S", { sealed: true } as never);
      assert.deepEqual([u.config.sealed, u.config.deny_delete, u.config.deny_purge, u.config.max_age, u.config.discard],
        [true, true, true, 0, "new"]);
      await rejectsApi(js.publish("s", "2"), 10109, 400, "invalid operation on sealed stream");
      await rejectsApi(jsm.streams.purge("S"), 10109);
      await rejectsApi(jsm.streams.deleteMessage("S", 1), 10109);
      await rejectsApi(jsm.streams.update("S", { sealed: false } as never), 10052, 500, "stream configuration update can not unseal a sealed stream");
      assert.equal((await jsm.streams.info("S")).state.messages, 1);
    });
  });
});

describe("stream delete and purge", () => {
  test("delete: success, then not found; a body is refused (10038)", async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"] });
      await js.publish("s", "x");
      assertApiError(await api("$JS.API.STREAM.DELETE.S", { x: 1 }), 10038, 400);
      const r = await api("$JS.API.STREAM.DELETE.S");
      assert.deepEqual(r, { type: "io.nats.jetstream.api.v1.stream_delete_response", success: true });
      await rejectsApi(jsm.streams.delete("S"), 10059);
      // its subject is free again: a plain publish now has no stream behind it
      await assert.rejects(nc.request("s", "x", { timeout: 500 }));
      await jsm.streams.add({ name: "S", subjects: ["s"] });
      assert.equal((await jsm.streams.info("S")).state.messages, 0);
    });
  });

  test("purge: everything, by subject, up to a sequence, keeping N", async () => {
    await withJs(JS_OPTS, async ({ nc, jsm, js, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.*"] });
      const fill = async () => { for (let i = 0; i < 10; i++) await js.publish(i % 2 ? "s.odd" : "s.even", String(i)); };
      await fill();
      const p1 = await jsm.streams.purge("S", { filter: "s.odd" });
      assert.deepEqual([p1.success, p1.purged], [true, 5]);
      assert.deepEqual((await jsm.streams.info("S")).state.messages, 5);
      assert.equal((await jsm.streams.purge("S", { filter: "s.even", keep: 2 })).purged, 3);
      assert.equal((await jsm.streams.purge("S")).purged, 2);
      const st = (await jsm.streams.info("S")).state;
      assert.deepEqual([st.messages, st.first_seq, st.last_seq], [0, 11, 10]);
      await fill(); // 11..20
      assert.equal((await jsm.streams.purge("S", { seq: 15 })).purged, 4);
      assert.equal((await jsm.streams.info("S")).state.first_seq, 15);
      const bad = await api("$JS.API.STREAM.PURGE.S", { seq: 3, keep: 1 });
      assertApiError(bad, 10003, 400);
      // a garbled body is an error, never "purge everything"
      for (const junk of ["junk", " ", "5", '"filter"']) {
        const r = JSON.parse((await nc.request("$JS.API.STREAM.PURGE.S", junk)).string());
        assertApiError(r, 10025, 400);
      }
      assert.equal((await jsm.streams.info("S")).state.messages, 6);
      await rejectsApi(jsm.streams.purge("NOPE"), 10059);
      await jsm.streams.add({ name: "D", subjects: ["d"], deny_purge: true });
      await rejectsApi(jsm.streams.purge("D"), 10110, 500, "stream purge not permitted");
    });
  });
});

describe("messages: get and delete", () => {
  test("get by sequence, last by subject, next by subject; headers and data come back", async () => {
    await withJs(JS_OPTS, async ({ jsm, js, api }) => {
      await jsm.streams.add({ name: "S", subjects: ["s.*"] });
      const h = natsHeaders();
      h.set("X-Kind", "first");
      await js.publish("s.a", "one", { headers: h });
      await js.publish("s.b", "two");
      await js.publish("s.a", "three");
      const m1 = await jsm.streams.getMessage("S", { seq: 1 });
      assert.ok(m1);
      assert.equal(m1.subject, "s.a");
      assert.equal(m1.string(), "one");
      assert.equal(m1.header.get("X-Kind"), "first");
      const last = await jsm.streams.getMessage("S", { last_by_subj: "s.a" });
      assert.deepEqual([last?.seq, last?.string()], [3, "three"]);
      const next = await jsm.streams.getMessage("S", { next_by_subj: "s.b", seq: 1 } as never);
      assert.deepEqual([next?.seq, next?.string()], [2, "two"]);
      assert.equal(await jsm.streams.getMessage("S", { seq: 99 }), null);
      const raw = await api("$JS.API.STREAM.MSG.GET.S", { seq: 99 });
      assertApiError(raw, 10037, 404);
      const ok = await api("$JS.API.STREAM.MSG.GET.S", { seq: 2 });
      const msg = ok.message as Record<string, string>;
      assert.deepEqual([msg.subject, msg.seq, Buffer.from(msg.data, "base64").toString()], ["s.b", 2, "two"]);
      assert.equal(msg.hdrs, undefined);
      assertApiError(await api("$JS.API.STREAM.MSG.GET.S", ""), 10003);
      assertApiError(await api("$JS.API.STREAM.MSG.GET.S", { seq: 1, last_by_subj: "s.a" }), 10003);
      assertApiError(await api("$JS.API.STREAM.MSG.GET.S", { batch: 2, seq: 1 }), 10003);
      assertApiError(await api("$JS.API.STREAM.MSG.GET.NOPE", { seq: 1 }), 10059);
    });
  });

  test("delete: erase or not, a missing sequence (10043), deny_delete (10057)", async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      await jsm.streams.add({ name: "S", subjects: ["s"] });
      for (let i = 0; i < 3; i++) await js.publish("s", String(i));
      assert.equal(await jsm.streams.deleteMessage("S", 1), true);
      assert.equal(await jsm.streams.deleteMessage("S", 2, false), true);
      await rejectsApi(jsm.streams.deleteMessage("S", 2), 10043, 400, "sequence 2 not found");
      const st = (await jsm.streams.info("S")).state;
      assert.deepEqual([st.messages, st.first_seq], [1, 3]);
      await jsm.streams.add({ name: "D", subjects: ["d"], deny_delete: true });
      await js.publish("d", "x");
      await rejectsApi(jsm.streams.deleteMessage("D", 1), 10057, 500, "message delete not permitted");
    });
  });
});

describe("direct get", () => {
  test("only with allow_direct; by sequence, last for a subject, next by subject; not found is null", async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "KV", subjects: ["kv.>"] });
      await js.publish("kv.a", "1");
      // no direct get subscription: no responders
      await assert.rejects(jsm.direct.getMessage("KV", { seq: 1 }));
      await jsm.streams.update("KV", { allow_direct: true });
      const h = natsHeaders();
      h.set("Who", "me");
      await js.publish("kv.b", "2", { headers: h });
      await js.publish("kv.a", "3");
      const m = await jsm.direct.getMessage("KV", { seq: 2 });
      assert.ok(m);
      assert.deepEqual([m.seq, m.subject, m.string(), (m as unknown as { stream: string }).stream], [2, "kv.b", "2", "KV"]);
      assert.equal(m.header.get("Who"), "me");
      assert.ok(m.time instanceof Date);
      const last = await jsm.direct.getMessage("KV", { last_by_subj: "kv.a" });
      assert.deepEqual([last?.seq, last?.string()], [3, "3"]);
      const next = await jsm.direct.getMessage("KV", { next_by_subj: "kv.a", seq: 2 });
      assert.equal(next?.seq, 3);
      assert.equal(await jsm.direct.getMessage("KV", { last_by_subj: "kv.none" }), null);
      assert.equal(await jsm.direct.getMessage("KV", { seq: 42 }), null);
      // the raw response: headers only, with the stream's fields and the time in RFC 3339 with nanoseconds
      const raw = await nc.request("$JS.API.DIRECT.GET.KV.kv.a", undefined, { timeout: 1000 });
      assert.equal(raw.headers?.get("Nats-Stream"), "KV");
      assert.equal(raw.headers?.get("Nats-Subject"), "kv.a");
      assert.equal(raw.headers?.get("Nats-Sequence"), "3");
      assert.match(raw.headers?.get("Nats-Time-Stamp") ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      const empty = await nc.request("$JS.API.DIRECT.GET.KV", undefined, { timeout: 1000 });
      assert.deepEqual([empty.headers?.code, empty.headers?.description], [408, "Empty Request"]);
      const bad = await nc.request("$JS.API.DIRECT.GET.KV", JSON.stringify({ seq: 1, last_by_subj: "kv.a" }), { timeout: 1000 });
      assert.equal(bad.headers?.code, 408);
      const nf = await nc.request("$JS.API.DIRECT.GET.KV", JSON.stringify({ seq: 100 }), { timeout: 1000 });
      assert.deepEqual([nf.headers?.code, nf.headers?.description], [404, "Message Not Found"]);
    });
  });

  test("batch and multi_last requests end with a 204 EOB", async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "KV", subjects: ["kv.>"], allow_direct: true });
      for (const [k, v] of [["a", "1"], ["b", "2"], ["a", "3"], ["c", "4"]]) await js.publish(`kv.${k}`, v);
      const collect = async (req: unknown) => {
        const inbox = createInbox();
        const sub = nc.subscribe(inbox);
        nc.publish("$JS.API.DIRECT.GET.KV", JSON.stringify(req), { reply: inbox });
        const out: { code: number; seq?: string; pending?: string; last?: string; data: string }[] = [];
        for await (const m of sub) {
          const code = m.headers?.code ?? 0;
          out.push({ code, seq: m.headers?.get("Nats-Sequence") || undefined, pending: m.headers?.get("Nats-Num-Pending"), last: m.headers?.get("Nats-Last-Sequence"), data: m.string() });
          if (code !== 0) break;
        }
        return out;
      };
      const b = await collect({ seq: 2, batch: 2 });
      assert.deepEqual(b.map((x) => [x.code, x.seq, x.pending, x.last]), [[0, "2", "2", "0"], [0, "3", "1", "2"], [204, undefined, "1", "3"]]);
      const ml = await collect({ multi_last: ["kv.a", "kv.c"] });
      assert.deepEqual(ml.map((x) => [x.code, x.seq, x.data]), [[0, "3", "3"], [0, "4", "4"], [204, undefined, ""]]);
      const nothing = await collect({ multi_last: ["kv.zzz"] });
      assert.deepEqual(nothing.map((x) => x.code), [404]);
    });
  });
});

describe("domains", () => {
  test("the API answers under $JS.<domain>.API too, and PubAcks and infos name the domain", async () => {
    await withJs({ jetstream: { domain: "hub" } }, async ({ connect, api }) => {
      const nc = await connect();
      const jsm = await jetstreamManager(nc, { domain: "hub" });
      const ai = await jsm.getAccountInfo();
      assert.equal(ai.domain, "hub");
      await jsm.streams.add({ name: "S", subjects: ["s"], allow_direct: true });
      const { jetstream } = await import("@nats-io/jetstream");
      const pa = await jetstream(nc, { domain: "hub" }).publish("s", "x");
      assert.deepEqual([pa.stream, pa.seq, pa.domain], ["S", 1, "hub"]);
      const info = await api("$JS.hub.API.STREAM.INFO.S");
      assert.equal(info.domain, "hub");
      const dm = await jsm.direct.getMessage("S", { seq: 1 });
      assert.equal(dm?.string(), "x");
      assert.equal((nc.info as { domain?: string } | undefined)?.domain, "hub");
    });
  });
});

describe("limits", () => {
  test("account limits: max_streams (10027), max_mem/max_file (10028/10047), max_consumers (10026)", async () => {
    const accounts = { A: { users: [{ user: "a", password: "a" }], jetstream: { max_streams: 2, max_mem: 1000, max_file: "2KB", max_consumers: 5 } } };
    await withJs({ accounts, no_auth_user: "a" }, async ({ connect }) => {
      const nc = await connect({ user: "a", pass: "a" });
      const jsm = await jetstreamManager(nc);
      await rejectsApi(jsm.streams.add({ name: "M", storage: "memory" as never, max_bytes: 2000 }), 10028, 500, "insufficient memory resources available");
      await rejectsApi(jsm.streams.add({ name: "F", max_bytes: 4096 }), 10047, 500, "insufficient storage resources available");
      await rejectsApi(jsm.streams.add({ name: "C", max_consumers: 10 }), 10026, 400);
      await jsm.streams.add({ name: "F1", max_bytes: 1024 });
      await jsm.streams.add({ name: "F2", max_bytes: 1024 });
      await rejectsApi(jsm.streams.add({ name: "F3", max_bytes: 1 }), 10027, 400, "maximum number of streams reached");
      // an update that grows max_bytes beyond the account's storage is refused
      await rejectsApi(jsm.streams.update("F1", { max_bytes: 2000 }), 10047);
      const ai = await jsm.getAccountInfo();
      assert.deepEqual([ai.limits.max_memory, ai.limits.max_storage, ai.limits.max_streams, ai.limits.max_consumers], [1000, 2048, 2, 5]);
      assert.equal(ai.reserved_storage, 2048);
    });
  });

  test("account storage in use: a publish that would exceed max_file is refused (10002)", async () => {
    const accounts = { A: { users: [{ user: "a", password: "a" }], jetstream: { max_file: 1000 } } };
    await withJs({ accounts, no_auth_user: "a" }, async ({ connect }) => {
      const nc = await connect({ user: "a", pass: "a" });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "S", subjects: ["s"] });
      const { jetstream } = await import("@nats-io/jetstream");
      const js = jetstream(nc);
      await js.publish("s", Buffer.alloc(600));
      await rejectsApi(js.publish("s", Buffer.alloc(600)), 10002, 400, "resource limits exceeded for account");
      assert.equal((await jsm.streams.info("S")).state.messages, 1);
    });
  });

  test("server limits: max_memory_store / max_file_store cap what streams may reserve", async () => {
    await withJs({ jetstream: { max_memory_store: 10_000, max_file_store: 20_000 } }, async ({ jsm, js, server }) => {
      await rejectsApi(jsm.streams.add({ name: "M", storage: "memory" as never, max_bytes: 20_000 }), 10028);
      await jsm.streams.add({ name: "M", subjects: ["m"], storage: "memory" as never, max_bytes: 8_000 });
      await rejectsApi(jsm.streams.add({ name: "M2", storage: "memory" as never, max_bytes: 5_000 }), 10028);
      await rejectsApi(jsm.streams.add({ name: "F", max_bytes: 30_000 }), 10047);
      assert.equal(server.jetstream?.maxMemory, 10_000);
      await js.publish("m", "x");
    });
  });
});

describe("advisories", () => {
  test("stream created, updated and deleted, with the advisory schema's shape", async () => {
    await withJs(JS_OPTS, async ({ jsm, nc }) => {
      const sub = nc.subscribe("$JS.EVENT.ADVISORY.STREAM.>", { max: 3 });
      await jsm.streams.add({ name: "S", subjects: ["s"] });
      await jsm.streams.update("S", { description: "x" });
      await jsm.streams.delete("S");
      const got: [string, string][] = [];
      for await (const m of sub) {
        const a = JSON.parse(m.string());
        validate(a);
        got.push([m.subject, a.action]);
      }
      assert.deepEqual(got, [
        ["$JS.EVENT.ADVISORY.STREAM.CREATED.S", "create"],
        ["$JS.EVENT.ADVISORY.STREAM.UPDATED.S", "modify"],
        ["$JS.EVENT.ADVISORY.STREAM.DELETED.S", "delete"],
      ]);
    });
  });
});

describe("UTF-8 names and subjects", () => {
  test("a stream named and bound in UTF-8 stores, lists and serves its subjects unchanged", async () => {
    await withJs(JS_OPTS, async ({ jsm, js, nc }) => {
      await jsm.streams.add({ name: "ÜBER", subjects: ["grüße.>"], allow_direct: true });
      const pa = await js.publish("grüße.straße", "hallo");
      assert.deepEqual([pa.stream, pa.seq], ["ÜBER", 1]);
      const m = await jsm.streams.getMessage("ÜBER", { last_by_subj: "grüße.straße" });
      assert.deepEqual([m?.subject, m?.string()], ["grüße.straße", "hallo"]);
      const si = await jsm.streams.info("ÜBER", { subjects_filter: "grüße.*" });
      assert.deepEqual(si.state.subjects, { "grüße.straße": 1 });
      const d = await jsm.direct.getMessage("ÜBER", { last_by_subj: "grüße.straße" });
      assert.equal(d?.subject, "grüße.straße");
      assert.equal(d?.string(), "hallo");
      const raw = await nc.request("$JS.API.DIRECT.GET.ÜBER", JSON.stringify({ seq: 1 }), { timeout: 1000 });
      assert.equal(raw.headers?.get("Nats-Stream"), "ÜBER");
      assert.equal((await jsm.streams.purge("ÜBER", { filter: "grüße.straße" })).purged, 1);
    });
  });
});

describe("the client's view", () => {
  test("streams.get() and Stream helpers work against Junction", async () => {
    await withJs(JS_OPTS, async ({ jsm, js }) => {
      const cfg = { name: "S", subjects: ["s.*"], metadata: { owner: "team-a" }, description: "d" } satisfies Partial<StreamConfig>;
      await jsm.streams.add(cfg);
      await js.publish("s.x", "hi");
      const s = await jsm.streams.get("S");
      const info = await s.info();
      assert.deepEqual(info.config.metadata, { owner: "team-a" });
      const m = await s.getMessage({ seq: 1 });
      assert.equal(m?.string(), "hi");
      assert.equal(await s.deleteMessage(1), true);
      assert.ok(!(await s.info()).config.sealed);
      assert.ok(JetStreamApiError);
    });
  });
});

// Found by test-interop/differential-jetstream.test.ts (nats-server side by side); kept here so that
// npm test holds them without nats-server.
describe("malformed requests, answered as nats-server answers them", () => {
  test("numbers beyond 64 bits are invalid JSON, not limits", async () => {
    await withJs(JS_OPTS, async ({ api, js }) => {
      // JSON.stringify writes 2^63 as 9223372036854776000, which Go's int64 refuses
      for (const f of ["max_msgs", "max_bytes", "max_age"]) {
        const r = await api("$JS.API.STREAM.CREATE.N", `{"name":"N","${f}":9223372036854776000}`);
        assertApiError(r, 10025, 400);
        assert.match((r.error as { description: string }).description, new RegExp(`Go struct field StreamConfigRequest\\.${f} of type`));
      }
      assertApiError(await api("$JS.API.STREAM.CREATE.N", '{"name":"N","no_ack":"yes"}'), 10025);
      assert.match(((await api("$JS.API.STREAM.CREATE.N", '{"name":"N","sealed":1}')).error as { description: string }).description, /number 1 into .* of type bool/);
      assert.match(((await api("$JS.API.STREAM.CREATE.N", '{"name":"N","description":true}')).error as { description: string }).description, /cannot unmarshal bool into/);
      await api("$JS.API.STREAM.CREATE.N", { name: "N" });
      await js.publish("N", "x");
      assertApiError(await api("$JS.API.STREAM.MSG.GET.N", '{"seq":1e300}'), 10025);
      assertApiError(await api("$JS.API.STREAM.MSG.GET.N", '{"seq":18446744073709551616}'), 10025);
      assert.equal(((await api("$JS.API.STREAM.MSG.GET.N", '{"seq":1}')).message as { seq: number }).seq, 1);
    });
  });

  test("STREAM.NAMES with no names says null, as Go's nil slice; errors carry no list (the schema's oneOf)", async () => {
    await withJs(JS_OPTS, async ({ api }) => {
      const none = await api("$JS.API.STREAM.NAMES", "");
      assert.equal(none.streams, null);
      assert.equal(none.total, 0);
      await api("$JS.API.STREAM.CREATE.A", { name: "A" });
      assert.deepEqual((await api("$JS.API.STREAM.NAMES", "")).streams, ["A"]);
      assert.equal((await api("$JS.API.STREAM.NAMES", { offset: 5 })).streams, null);
      assert.equal((await api("$JS.API.STREAM.NAMES", { subject: "zzz" })).streams, null);
      for (const what of ["NAMES", "LIST"]) {
        const bad = await api(`$JS.API.STREAM.${what}`, { offset: "1" });
        assertApiError(bad, 10025);
        assert.ok(!("streams" in bad));
        assertApiError(await api(`$JS.API.CONSUMER.${what}.NOPE`, ""), 10059, 404);
        assertApiError(await api(`$JS.API.CONSUMER.${what}.A`, "[1]"), 10025);
      }
    });
  });

  test("an empty request is no bytes or {} (nats-server's isEmptyRequest): whitespace is not, {} is", async () => {
    await withJs(JS_OPTS, async ({ api, js }) => {
      await api("$JS.API.STREAM.CREATE.E", { name: "E" });
      await js.publish("E", "x");
      assertApiError(await api("$JS.API.STREAM.MSG.DELETE.E", "{}"), 10003, 400);
      assertApiError(await api("$JS.API.STREAM.MSG.DELETE.E", " { } "), 10003, 400);
      assertApiError(await api("$JS.API.STREAM.MSG.GET.E", "{}"), 10003, 400);
      assertApiError(await api("$JS.API.STREAM.DELETE.E", "  "), 10038, 400);
      assertApiError(await api("$JS.API.STREAM.DELETE.E", "null"), 10038, 400);
      await api("$JS.API.CONSUMER.CREATE.E.C", { stream_name: "E", config: { ack_policy: "explicit" } });
      assert.equal((await api("$JS.API.CONSUMER.INFO.E.C", "{}")).name, "C");
      assertApiError(await api("$JS.API.CONSUMER.INFO.E.C", " "), 10038);
      assert.equal((await api("$JS.API.STREAM.DELETE.E", "{}")).success, true);
    });
  });
});
