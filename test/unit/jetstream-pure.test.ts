// The pure parts of the JetStream layer: header blocks, subject transforms and relations,
// time formats, and stream configuration decoding/validation.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { appendHeaders, encodeHeaders, headerValue, parseHeaders, removeHeader, statusHeaders } from "../../src/jetstream/headers.js";
import { SubjectTransform, validateMapping } from "../../src/jetstream/transform.js";
import { isSubsetMatch, subjectsCollide, toWire, fromWire, tokenAt } from "../../src/jetstream/subjects.js";
import { goDuration, parseGoDuration, parseRfc3339, rfc3339Nano } from "../../src/jetstream/time.js";
import { checkStreamConfig, checkStreamUpdate, decodeStreamConfig, JsonError, sameConfig, streamConfigJson } from "../../src/jetstream/stream-config.js";
import { parseTTL } from "../../src/jetstream/stream.js";
import { parseSourceHeader, sourceIndexName } from "../../src/jetstream/sourcing.js";

describe("headers", () => {
  test("parse a block with a status line, repeated and spaced fields", () => {
    const b = parseHeaders(Buffer.from("NATS/1.0 404 Message Not Found\r\nA: 1\r\nA:2\r\nB :  x y \r\n\r\n"));
    assert.equal(b.status, 404);
    assert.equal(b.description, "Message Not Found");
    assert.deepEqual(b.fields, [["A", "1"], ["A", "2"], ["B", "x y"]]);
    assert.equal(parseHeaders(Buffer.from("NATS/1.0\r\n\r\n")).status, 0);
  });

  test("encode, append, remove, look up", () => {
    const h = encodeHeaders([["Nats-Msg-Id", "a"]]);
    assert.equal(h.toString(), "NATS/1.0\r\nNats-Msg-Id: a\r\n\r\n");
    const h2 = appendHeaders(h, [["Nats-Stream", "S"]]);
    assert.equal(h2.toString(), "NATS/1.0\r\nNats-Msg-Id: a\r\nNats-Stream: S\r\n\r\n");
    assert.equal(headerValue(h2, h2.length, "Nats-Stream"), "S");
    assert.equal(headerValue(h2, h2.length, "Nats"), undefined);
    assert.equal(removeHeader(h2, "Nats-Msg-Id")!.toString(), "NATS/1.0\r\nNats-Stream: S\r\n\r\n");
    assert.equal(removeHeader(h, "Nats-Msg-Id"), undefined);
    assert.equal(appendHeaders(undefined, [["X", "1"]]).toString(), "NATS/1.0\r\nX: 1\r\n\r\n");
    assert.equal(statusHeaders(204, "EOB", [["Nats-Num-Pending", "0"]]).toString(), "NATS/1.0 204 EOB\r\nNats-Num-Pending: 0\r\n\r\n");
  });
});

describe("subjects", () => {
  test("collide and subset as nats-server's", () => {
    assert.ok(subjectsCollide("a.*", "a.b"));
    assert.ok(subjectsCollide("a.>", "*.b.c"));
    assert.ok(!subjectsCollide("a.*", "a.b.c"));
    assert.ok(!subjectsCollide("a.b", "a.c"));
    assert.ok(subjectsCollide("a.*.c", "a.b.*"));
    assert.ok(isSubsetMatch("a.b", "a.*"));
    assert.ok(isSubsetMatch("a.*", "a.>"));
    assert.ok(!isSubsetMatch("a.>", "a.*"));
    assert.ok(isSubsetMatch("$JS.EVENT.x", "$JS.EVENT.>"));
    assert.equal(tokenAt("$JS.API.STREAM.INFO.S", 5), "S");
    assert.equal(fromWire(toWire("grüße")), "grüße");
    assert.equal(toWire("ü"), "\u00c3\u00bc");
  });
});

describe("subject transforms", () => {
  test("wildcards, $N, functions", () => {
    const t = (src: string, dest: string, subject: string) => SubjectTransform.create(src, dest)!.match(subject);
    assert.equal(t("a.*.*", "b.$2.$1", "a.x.y"), "b.y.x");
    assert.equal(t("a.*", "b.{{wildcard(1)}}", "a.x"), "b.x");
    assert.equal(t("a.>", "b.>", "a.x.y"), "b.x.y");
    assert.equal(t("a.*", "b.$1", "c.x"), undefined);
    assert.equal(t("a.*", "{{splitfromleft(1,2)}}", "a.abcde"), "ab.cde");
    assert.equal(t("a.*", "{{splitfromright(1,2)}}", "a.abcde"), "abc.de");
    assert.equal(t("a.*", "{{slicefromleft(1,2)}}", "a.abcde"), "ab.cd.e");
    assert.equal(t("a.*", "{{slicefromright(1,2)}}", "a.abcde"), "a.bc.de");
    assert.equal(t("a.*", "{{split(1,-)}}", "a.x-y--z-"), "x.y.z");
    assert.equal(t("a.*", "{{left(1,2)}}", "a.abc"), "ab");
    assert.equal(t("a.*", "{{right(1,2)}}", "a.abc"), "bc");
    assert.match(t("a.*", "p.{{partition(3,1)}}", "a.key")!, /^p\.[0-2]$/);
    assert.equal(t("a.*", "p.{{partition(3,1)}}", "a.key"), t("a.*", "p.{{partition(3,1)}}", "a.key"));
    assert.equal(t(">", ">", "any.thing"), "any.thing");
  });

  test("invalid mappings name the problem as nats-server does", () => {
    assert.throws(() => validateMapping("a.*", "b.$2"), { message: "invalid mapping destination: wildcard index out of range in $2: [2]" });
    assert.throws(() => validateMapping("a.*", "{{nope(1)}}"), { message: "invalid mapping destination: unknown function in {{nope(1)}}" });
    assert.throws(() => validateMapping("a.*", "b..c"), { message: "invalid mapping destination: invalid transform" });
    assert.throws(() => SubjectTransform.create("a.>", "b"), { message: "invalid subject" });
    assert.throws(() => validateMapping("a", "b.$1"), /wildcard index out of range/);
    assert.doesNotThrow(() => validateMapping("a.*", "b.{{wildcard(1)}}"));
  });
});

describe("times", () => {
  test("RFC 3339 with nanoseconds, both ways", () => {
    assert.equal(rfc3339Nano(1_700_000_000_123_456_789n), "2023-11-14T22:13:20.123456789Z");
    assert.equal(rfc3339Nano(1_700_000_000_000_000_000n), "2023-11-14T22:13:20Z");
    assert.equal(rfc3339Nano(1_700_000_000_100_000_000n), "2023-11-14T22:13:20.1Z");
    assert.equal(rfc3339Nano(0n), "0001-01-01T00:00:00Z");
    assert.equal(parseRfc3339("2023-11-14T22:13:20.123456789Z"), 1_700_000_000_123_456_789n);
    assert.equal(parseRfc3339("2023-11-14T23:13:20+01:00"), 1_700_000_000_000_000_000n);
    assert.equal(parseRfc3339("yesterday"), undefined);
  });

  test("Go durations", () => {
    assert.equal(goDuration(1e9), "1s");
    assert.equal(goDuration(60e9), "1m0s");
    assert.equal(goDuration(3600e9), "1h0m0s");
    assert.equal(goDuration(1.5e9), "1.5s");
    assert.equal(parseGoDuration("1h30m"), 5400e9);
    assert.equal(parseGoDuration("250ms"), 250e6);
    assert.equal(parseGoDuration("10"), undefined);
  });

  test("Nats-TTL values", () => {
    assert.equal(parseTTL("5s"), 5);
    assert.equal(parseTTL("1m"), 60);
    assert.equal(parseTTL("30"), 30);
    assert.equal(parseTTL("never"), -1);
    assert.equal(parseTTL("NEVER"), -1);
    assert.equal(parseTTL("500ms"), undefined);
    assert.equal(parseTTL("0"), undefined);
    assert.equal(parseTTL("-5"), undefined);
    assert.equal(parseTTL("soon"), undefined);
  });
});

describe("stream configuration", () => {
  const ctx = { lookup: () => undefined };
  test("decoding: zero values, wrong types and enums are Go's JSON errors", () => {
    const { cfg } = decodeStreamConfig('{"name":"S"}');
    assert.deepEqual([cfg.retention, cfg.storage, cfg.discard, cfg.max_msgs, cfg.num_replicas], ["limits", "file", "old", 0, 0]);
    assert.equal(decodeStreamConfig('{"name":"S","discard":"NEW"}').cfg.discard, "new");
    assert.throws(() => decodeStreamConfig('{"name":"S","retention":"x"}'), { message: 'can not unmarshal "\\"x\\""' });
    assert.throws(() => decodeStreamConfig('{"name":"S","max_msgs":"1"}'), JsonError);
    assert.throws(() => decodeStreamConfig('{"name":"S","max_msg_size":3000000000}'), JsonError);
    assert.throws(() => decodeStreamConfig(""), { message: "unexpected end of JSON input" });
    assert.deepEqual(decodeStreamConfig('{"name":"S","allow_msg_counter":true}').unsupported, ["allow_msg_counter"]);
  });

  test("defaults and idempotence", () => {
    const r = checkStreamConfig(decodeStreamConfig('{"name":"S","max_age":5000000000}').cfg, ctx);
    assert.ok(r.cfg);
    assert.deepEqual(r.cfg.subjects, ["S"]);
    assert.equal(r.cfg.duplicate_window, 5e9);
    const again = checkStreamConfig(decodeStreamConfig(JSON.stringify(streamConfigJson(r.cfg))).cfg, ctx);
    assert.ok(again.cfg && sameConfig(r.cfg, again.cfg));
  });

  test("update rules", () => {
    const old = checkStreamConfig(decodeStreamConfig('{"name":"S","deny_delete":true}').cfg, ctx).cfg!;
    const u = checkStreamUpdate(old, decodeStreamConfig('{"name":"S"}').cfg, ctx);
    assert.equal(u.error?.description, "stream configuration update can not cancel deny message deletes");
    const sealed = checkStreamUpdate(old, decodeStreamConfig('{"name":"S","deny_delete":true,"sealed":true,"max_age":1000000000}').cfg, ctx);
    assert.deepEqual([sealed.cfg?.max_age, sealed.cfg?.discard, sealed.cfg?.deny_purge], [0, "new", true]);
  });

  test("source index names and headers", () => {
    assert.equal(sourceIndexName({ name: "A" }), "A > >");
    assert.equal(sourceIndexName({ name: "A", filter_subject: "a.*" }), "A a.* >");
    assert.equal(sourceIndexName({ name: "A", subject_transforms: [{ src: "a.*", dest: "b.$1" }, { src: "c", dest: "" }] }), "A a.*\fc b.$1\f>");
    assert.deepEqual(parseSourceHeader("A 12 a.* > a.x"), { iname: "A a.* >", seq: 12 });
    assert.equal(parseSourceHeader("garbage"), undefined);
  });
});
