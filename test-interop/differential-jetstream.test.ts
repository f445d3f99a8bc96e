// Differential tests of the JetStream API: the same request/reply scenarios against nats-server
// 2.9.10 (-js on a temporary store) and Junction, raw requests through @nats-io/transport-node;
// the JSON answers must be the same once what legitimately differs is taken out (timestamps,
// server and cluster identity, fields of releases after 2.9 that Junction reports). Where
// Junction keeps a later release's behaviour on purpose (it announces 2.10.0), the scenario's
// step is in EXPECTED_DIFFERENCES with both answers asserted. Needs `nats-server` on PATH.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createInbox, headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { freePort, sleep } from "../test/helpers.js";
import { startJs, tmpStoreDir } from "../test/integration/jetstream-helpers.js";
import type { Server } from "../src/server/server.js";
import { ABSENT, EXPECTED_TABLE } from "./differential-jetstream-expected.js";

let natsServer: ChildProcess;
let natsDir = "";
let junctionDir = "";
let junction: Server;
let ref: NatsConnection;
let ours: NatsConnection;

before(async () => {
  execFileSync("nats-server", ["--version"]); // fails clearly when the package is missing
  const port = await freePort();
  natsDir = mkdtempSync(join(tmpdir(), "junction-diff-js-"));
  natsServer = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", natsDir], { stdio: "ignore" });
  for (let i = 0; ; i++) {
    try {
      ref = await connect({ servers: `127.0.0.1:${port}`, reconnect: false });
      break;
    } catch (e) {
      if (i > 100) throw e;
      await sleep(50);
    }
  }
  junctionDir = tmpStoreDir();
  junction = await startJs({}, junctionDir);
  ours = await connect({ servers: junction.clientURL, reconnect: false });
  // JetStream of nats-server is ready when the account answers
  for (let i = 0; i < 100; i++) {
    try {
      await ref.request("$JS.API.INFO", "", { timeout: 500 });
      break;
    } catch {
      await sleep(50);
    }
  }
});

after(async () => {
  await ref?.close().catch(() => {});
  await ours?.close().catch(() => {});
  natsServer?.kill();
  await junction?.close();
  rmSync(natsDir, { recursive: true, force: true });
  rmSync(junctionDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- recording one side

type Body = string | Uint8Array | Record<string, unknown> | unknown[] | number | boolean | null | undefined;

function encodeBody(b: Body): Uint8Array {
  if (b === undefined) return new Uint8Array(0);
  if (typeof b === "string") return Buffer.from(b);
  if (b instanceof Uint8Array) return b;
  return Buffer.from(JSON.stringify(b));
}

/** What one message says: its JSON, or its status, or its headers and data. */
function decodeMsg(m: Msg): unknown {
  const h = m.headers;
  if (h !== undefined && h.code !== 0) {
    return { status: h.code, description: h.description };
  }
  if (h !== undefined) {
    const hs: Record<string, string> = {};
    for (const k of h.keys()) if (k !== "Nats-Time-Stamp") hs[k] = h.get(k);
    return { headers: hs, data: m.string() };
  }
  const text = m.string();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { raw: text };
  }
}

interface Rec {
  label: string;
  value: unknown;
}

class Io {
  readonly recs: Rec[] = [];
  constructor(readonly nc: NatsConnection, readonly side: "nats" | "junction") {}

  private record(label: string, value: unknown): unknown {
    this.recs.push({ label, value });
    return value;
  }

  /** A request to $JS.API.<subject>; the answer is recorded under `label` (the subject by default). */
  async api(subject: string, body?: Body, label = subject): Promise<any> {
    return this.record(label, await this.raw("$JS.API." + subject, body));
  }

  /** A request that nats-server 2.9.10 does not survive (`why`): sent to Junction only. */
  async apiNotOnNats(subject: string, body: Body, label: string, why: string): Promise<any> {
    if (this.side === "nats") return this.record(label, { notSent: why });
    return this.api(subject, body, label);
  }

  /** A request without recording it (set-up steps). */
  async raw(subject: string, body?: Body, hdrs?: Record<string, string>, timeout = 700): Promise<any> {
    let h;
    if (hdrs !== undefined) {
      h = headers();
      for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
    }
    try {
      const m = await this.nc.request(subject, encodeBody(body), { timeout, headers: h });
      return decodeMsg(m);
    } catch (e) {
      const msg = (e as Error).message;
      if (/no responders/i.test(msg) || (e as { code?: string }).code === "503") return { noResponders: true };
      if (/timeout/i.test(msg)) return { timeout: true };
      throw e;
    }
  }

  /** A publish with a reply: the PubAck (or error) is recorded. */
  async pub(subject: string, data: Body = "x", hdrs?: Record<string, string>, label = `pub ${subject}`): Promise<any> {
    return this.record(label, await this.raw(subject, data, hdrs));
  }

  /** A pull request to a consumer: everything that arrives on its inbox within `ms` is recorded. */
  async pull(stream: string, consumer: string, body: Body, ms = 400, label = `pull ${JSON.stringify(body)}`, ack?: string): Promise<unknown[]> {
    const inbox = createInbox();
    const got: unknown[] = [];
    const sub = this.nc.subscribe(inbox, {
      // delivered messages come with their data (their reply subject holds timestamps)
      callback: (_e, m) => {
        got.push(decodeMsg(m));
        if (ack !== undefined && m.reply) m.respond(ack);
      },
    });
    this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, encodeBody(body), { reply: inbox });
    await sleep(ms);
    sub.unsubscribe();
    this.record(label, got);
    return got;
  }

  note(label: string, value: unknown): void {
    this.record(label, value);
  }

  /** Removes every stream (between scenarios). */
  async reset(): Promise<void> {
    const r = await this.raw("$JS.API.STREAM.NAMES", "");
    for (const s of (r.streams as string[] | null) ?? []) await this.raw(`$JS.API.STREAM.DELETE.${s}`, "");
  }
}

// ---------------------------------------------------------------- normalising

/** Keys whose values depend on the moment or the server, not on the behaviour. */
const VOLATILE = new Set(["api", "ts", "created", "first_ts", "last_ts", "last_active", "cluster", "time", "server_id", "server_name", "domain"]);
/**
 * Fields that releases after 2.9 added to the answers (and Junction reports as 2.10+ does);
 * the scenarios do not turn on the features behind them, so they are left out on both sides.
 */
const LATER_FIELDS = new Set([
  "compression", "consumer_limits", "allow_msg_ttl", "subject_delete_marker_ttl", "metadata", "first_seq", "subject_transform",
  "api_level", "reserved_memory", "reserved_storage", "pause_until", "paused", "pause_remaining", "priority_policy", "priority_groups", "ts",
]);

function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (VOLATILE.has(k) || LATER_FIELDS.has(k)) continue;
    out[k] = normalise(x);
  }
  return out;
}

// ---------------------------------------------------------------- expected differences

/**
 * Where Junction answers as nats-server 2.10+ does and 2.9.10 answers otherwise, on purpose.
 * Key: "<scenario> › <step label>". Both answers are asserted (normalised), so neither side can
 * change without this table being revisited.
 */
const EXPECTED_DIFFERENCES: Record<string, { nats: unknown; junction: unknown; why: string }> = Object.fromEntries(
  EXPECTED_TABLE.map(([key, why, nats, junction]) => [key, { nats, junction, why }]),
);

/**
 * The answer has what `expected` says: every field given (recursively in objects; arrays and
 * values exactly), ABSENT fields missing, and no `error` unless one is expected.
 */
function matches(actual: unknown, expected: unknown): boolean {
  if (expected === ABSENT) return actual === undefined;
  if (expected === null || typeof expected !== "object" || Array.isArray(expected)) return JSON.stringify(actual) === JSON.stringify(expected);
  if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  if ("error" in a && !("error" in e)) return false;
  return Object.keys(e).every((k) => matches(a[k], e[k]));
}

type ApiErr = { code: number; err_code: number; description: string };
const errorOf = (v: unknown): ApiErr | undefined => (v as { error?: ApiErr } | null)?.error;

/**
 * Differences of a whole kind, each with the reason Junction keeps its answer; a rule returns
 * true when the two answers differ only in that way (both sides are checked).
 */
const EXPECTED_RULES: { name: string; why: string; applies: (nats: unknown, junction: unknown, label: string) => boolean }[] = [
  {
    name: "invalid JSON detail",
    why: "nats-server 2.11+ (and the reference error table) describe JSInvalidJSONErr as `invalid JSON: {err}` with the decoder's message; 2.9.10 and 2.10 say only `invalid JSON`",
    applies: (a, b) => {
      const x = errorOf(a);
      const y = errorOf(b);
      if (x === undefined || y === undefined) return false;
      const { error: _x, ...restA } = a as Record<string, unknown>;
      const { error: _y, ...restB } = b as Record<string, unknown>;
      return x.err_code === 10025 && y.err_code === 10025 && x.code === y.code && x.description === "invalid JSON" &&
        y.description.startsWith("invalid JSON: ") && JSON.stringify(restA) === JSON.stringify(restB);
    },
  },
  {
    name: "no list beside an error",
    why: "nats-server sends `streams`/`consumers` (null or []) beside `error` in names/list answers; the response schemas allow a list or an error, not both, and Junction follows the schemas",
    applies: (a, b) => {
      if (errorOf(a) === undefined || errorOf(b) === undefined || a === null || typeof a !== "object") return false;
      const rest = { ...(a as Record<string, unknown>) };
      const k = ["streams", "consumers"].find((x) => x in rest);
      if (k === undefined || (b as Record<string, unknown>)[k] !== undefined) return false;
      delete rest[k];
      return JSON.stringify(rest) === JSON.stringify(b) || EXPECTED_RULES[0]!.applies(rest, b, "");
    },
  },
  {
    name: "direct get by subject with a body",
    why: "nats-server 2.11+ decodes the body of DIRECT.GET.<stream>.<subject> and serves the message when the body asks for nothing else; 2.9/2.10 answer 408 to any body",
    applies: (a, b, label) => label.startsWith("DIRECT.GET.H.h.a ") && a === "status 408" && b === "message",
  },
  {
    name: "consumer action",
    why: "since 2.10 a consumer create request has `action` (create/update); another value is invalid JSON. 2.9.10 ignores the field",
    applies: (a, b, label) => {
      const m = /^CONSUMER\.\S+ (\S+)$/.exec(label);
      if (m === null || typeof b !== "string" || !b.endsWith("error 400/10025") || a === b) return false;
      try {
        const o = JSON.parse(Buffer.from(m[1]!, "base64").toString()) as Record<string, unknown>;
        return "action" in o && o.action !== null && o.action !== "" && o.action !== "create" && o.action !== "update";
      } catch {
        return false;
      }
    },
  },
];

// ---------------------------------------------------------------- scenarios

type Scenario = (io: Io) => Promise<void>;
const scenarios: [string, Scenario][] = [];
const scenario = (name: string, fn: Scenario) => scenarios.push([name, fn]);

const S = (name: string, extra: Record<string, unknown> = {}) => ({ name, subjects: [`${name.toLowerCase()}.>`], storage: "memory", ...extra });

// --- STREAM.CREATE / UPDATE: invalid configurations

scenario("create: names with '.', '*', '>', spaces", async (io) => {
  for (const name of ["a.b", "a*", "a>", "*", ">"]) await io.api(`STREAM.CREATE.${name}`, { name, subjects: ["n.x"] });
  for (const name of ["a b", "a\tb", "", "a.b", "x*", "x/y", "x\\y"]) await io.api("STREAM.CREATE.OK", { name, subjects: ["n.x"] }, `body name ${JSON.stringify(name)}`);
  await io.api("STREAM.CREATE.x\\y", { name: "x\\y", subjects: ["n.x"] });
  await io.api("STREAM.CREATE.x/y", { name: "x/y", subjects: ["n.x"] });
  await io.api("STREAM.CREATE." + "N".repeat(256), { name: "N".repeat(256), subjects: ["n.x"] }, "name too long");
});

scenario("create: subjects overlapping another stream", async (io) => {
  await io.api("STREAM.CREATE.A", S("A", { subjects: ["foo.*"] }));
  await io.api("STREAM.CREATE.B", S("B", { subjects: ["foo.bar"] }), "literal inside wildcard");
  await io.api("STREAM.CREATE.C", S("C", { subjects: [">"] }), "full wildcard");
  await io.api("STREAM.CREATE.D", S("D", { subjects: ["foo.>"] }), "wider wildcard");
  await io.api("STREAM.CREATE.E", S("E", { subjects: ["bar", "bar"] }), "duplicate subjects");
  await io.api("STREAM.CREATE.F", S("F", { subjects: ["baz.*", "baz.x"] }), "overlap within");
  await io.api("STREAM.UPDATE.A", S("A", { subjects: ["foo.*", "q.>"] }), "update adds a subject");
  await io.api("STREAM.CREATE.G", S("G", { subjects: ["q.x"] }), "overlaps after update");
});

scenario("create: invalid subjects", async (io) => {
  for (const subjects of [["a..b"], [".a"], ["a."], ["a.>.b"], [""], ["a b"], ["$JS.API.>"], ["$SYS.>"], [">"]]) {
    await io.api("STREAM.CREATE.V", S("V", { subjects }), `subjects ${JSON.stringify(subjects)}`);
  }
  await io.api("STREAM.CREATE.V", S("V", { subjects: [">"], no_ack: true }), "> with no_ack");
});

scenario("create: limits out of range", async (io) => {
  const cases: Record<string, unknown>[] = [
    { max_msgs: -2 }, { max_bytes: -5 }, { max_msgs_per_subject: -3 }, { max_consumers: -7 }, { max_msg_size: -9 },
    { max_age: -1 }, { max_age: 1 }, { max_age: 1e9, duplicate_window: 2e9 }, { duplicate_window: -1 }, { duplicate_window: 1 },
    { num_replicas: 3 }, { num_replicas: -1 }, { num_replicas: 6 },
  ];
  for (const c of cases) {
    await io.api("STREAM.CREATE.L", S("L", c), JSON.stringify(c));
    await io.raw("$JS.API.STREAM.DELETE.L", "");
  }
});

scenario("create: mirror and sources", async (io) => {
  await io.api("STREAM.CREATE.O", S("O"));
  const cases: [string, Record<string, unknown>][] = [
    ["mirror with subjects", { subjects: ["m.x"], mirror: { name: "O" } }],
    ["mirror and sources", { mirror: { name: "O" }, sources: [{ name: "O" }] }],
    ["mirror start seq and time", { mirror: { name: "O", opt_start_seq: 2, opt_start_time: "2020-01-01T00:00:00Z" } }],
    ["mirror without name", { mirror: { name: "" } }],
    ["mirror of a missing stream", { mirror: { name: "NOPE" } }],
    ["mirror_direct without mirror", { mirror_direct: true }],
    ["duplicate sources", { sources: [{ name: "O" }, { name: "O" }] }],
    ["source with a bad name", { sources: [{ name: "a.b" }] }],
    ["source and own subjects", { subjects: ["m.own"], sources: [{ name: "O", filter_subject: "o.x" }] }],
    ["mirror max_msg_size smaller than the origin", { mirror: { name: "O" }, max_msg_size: 10 }],
  ];
  for (const [label, c] of cases) {
    await io.api("STREAM.CREATE.M", { name: "M", storage: "memory", ...c }, label);
    await io.raw("$JS.API.STREAM.DELETE.M", "");
  }
  await io.api("STREAM.CREATE.M", { name: "M", storage: "memory", mirror: { name: "O" } }, "valid mirror");
  await io.api("STREAM.UPDATE.M", { name: "M", storage: "memory", mirror: { name: "O", filter_subject: "o.x" } }, "mirror change on update");
  await io.api("STREAM.UPDATE.M", { name: "M", storage: "memory" }, "mirror removed on update");
  await io.api("STREAM.UPDATE.M", { name: "M", storage: "memory", mirror: { name: "O" }, subjects: ["m.y"] }, "subjects added to a mirror");
});

scenario("create: sealed, deny flags and update rules", async (io) => {
  await io.api("STREAM.CREATE.U", S("U", { sealed: true }), "sealed on create");
  await io.api("STREAM.CREATE.U", S("U", { deny_delete: true, deny_purge: true }));
  await io.api("STREAM.UPDATE.U", S("U", { deny_delete: false, deny_purge: true }), "cancel deny_delete");
  await io.api("STREAM.UPDATE.U", S("U", { deny_delete: true, deny_purge: false }), "cancel deny_purge");
  await io.api("STREAM.UPDATE.U", S("U", { deny_delete: true, deny_purge: true, storage: "file" }), "storage change");
  await io.api("STREAM.UPDATE.U", S("U", { deny_delete: true, deny_purge: true, retention: "workqueue" }), "retention to workqueue");
  await io.api("STREAM.UPDATE.U", S("U", { deny_delete: true, deny_purge: true, retention: "interest" }), "retention limits to interest");
  await io.api("STREAM.UPDATE.U", S("U", { deny_delete: true, deny_purge: true, num_replicas: 3 }), "replicas change");
  await io.api("STREAM.UPDATE.U", S("U", { deny_delete: true, deny_purge: true, allow_rollup_hdrs: true }), "rollup with deny_purge");
  await io.api("STREAM.UPDATE.U", S("U", { deny_delete: true, deny_purge: true, max_msgs: 10, description: "d" }), "allowed update");
  await io.api("STREAM.UPDATE.U", S("U", { deny_delete: true, deny_purge: true, sealed: true }), "seal");
  await io.api("STREAM.UPDATE.U", S("U", { deny_delete: true, deny_purge: true, sealed: false }), "unseal");
  await io.api("STREAM.UPDATE.U", { name: "U" }, "update with only a name");
});

scenario("create: bodies that are not a configuration", async (io) => {
  const bodies: [string, Body][] = [
    ["empty", undefined], ["spaces", "   "], ["not JSON", "hello"], ["truncated", '{"name":"B"'], ["array", [1, 2]], ["string", '"B"'],
    ["number", 42], ["true", true], ["null", null], ["empty object", {}], ["trailing garbage", '{"name":"B"} x'], ["two objects", '{"name":"B"}{"name":"B"}'],
  ];
  for (const [label, b] of bodies) await io.api("STREAM.CREATE.B", b, label);
  for (const [label, b] of bodies.slice(0, 6)) await io.api("STREAM.UPDATE.B", b, `update ${label}`);
});

scenario("create: name mismatch, unknown fields, huge numbers, nested garbage", async (io) => {
  await io.api("STREAM.CREATE.A", S("B"), "name in body differs");
  await io.api("STREAM.CREATE.A", { subjects: ["a.>"] }, "no name in body");
  await io.api("STREAM.CREATE.K", S("K", { bogus: 1, another: { x: [1] } }), "unknown fields");
  await io.raw("$JS.API.STREAM.DELETE.K", "");
  const garbage: Record<string, unknown>[] = [
    { max_msgs: 1e30 }, { max_msgs: 9223372036854775807 }, { max_msgs: 1.5 }, { max_msgs: "10" }, { max_bytes: 1e19 }, { max_age: 1e30 },
    { max_msg_size: 4294967296 }, { subjects: "k.x" }, { subjects: [1] }, { subjects: [null] }, { storage: "disk" }, { storage: 1 },
    { retention: "forever" }, { discard: "newest" }, { discard: "NEW" }, { mirror: "O" }, { sources: [1] }, { sources: {} },
    { placement: [] }, { placement: { tags: "x" } }, { republish: "x" }, { republish: { dest: 1 } }, { description: 5 },
    { no_ack: "yes" }, { sealed: 1 }, { duplicate_window: "2m" }, { max_age: -1e30 }, { name: ["K"] }, { allow_direct: null },
  ];
  for (const g of garbage) {
    await io.api("STREAM.CREATE.K", { ...S("K"), ...g }, JSON.stringify(g));
    await io.raw("$JS.API.STREAM.DELETE.K", "");
  }
});

scenario("create: idempotent and 10058", async (io) => {
  await io.api("STREAM.CREATE.I", S("I"), "first");
  await io.api("STREAM.CREATE.I", S("I"), "same again");
  await io.api("STREAM.CREATE.I", S("I", { max_msgs: 5 }), "different config");
  await io.api("STREAM.CREATE.I", S("I", { subjects: ["i.>"], max_msgs: -1, duplicate_window: 120e9 }), "same with defaults spelled out");
  await io.api("STREAM.UPDATE.J", S("J"), "update of a missing stream");
  await io.api("STREAM.UPDATE.I", S("J"), "update with another name in body");
  await io.api("STREAM.INFO.I", undefined, "info");
});

scenario("create: file stream defaults", async (io) => {
  await io.api("STREAM.CREATE.FD", { name: "FD" }, "only a name");
  await io.api("STREAM.CREATE.FW", { name: "FW", retention: "workqueue", discard: "new", max_age: 1e9 }, "workqueue with max_age");
  await io.api("STREAM.CREATE.FI", { name: "FI", retention: "interest", max_msgs_per_subject: 3, allow_direct: true, allow_rollup_hdrs: true, republish: { src: "FI", dest: "rp.x" } });
  await io.api("STREAM.CREATE.FN", { name: "FN", discard: "new", discard_new_per_subject: true, max_msgs_per_subject: 1 }, "discard new per subject");
  await io.api("STREAM.CREATE.FN2", { name: "FN2", discard_new_per_subject: true }, "discard new per subject without discard new");
  await io.api("STREAM.CREATE.FR", { name: "FR", republish: { src: ">", dest: "FR" } }, "republish cycle");
});

// --- INFO / NAMES / LIST / DELETE / PURGE

scenario("info, names and list with filters and offsets", async (io) => {
  for (const n of ["L1", "L2", "L3"]) await io.raw(`$JS.API.STREAM.CREATE.${n}`, S(n));
  for (let i = 0; i < 5; i++) await io.raw(`l1.s${i % 2}`, `m${i}`);
  await io.api("STREAM.NAMES", undefined, "names");
  await io.api("STREAM.NAMES", { subject: "l2.x" }, "names by subject");
  await io.api("STREAM.NAMES", { subject: "nothing" }, "names matching none");
  await io.api("STREAM.NAMES", { offset: 2 }, "names offset");
  await io.api("STREAM.NAMES", { offset: 10 }, "names offset past the end");
  await io.apiNotOnNats("STREAM.NAMES", { offset: -1 }, "names negative offset", "2.9.10 panics on a negative offset");
  await io.api("STREAM.NAMES", { offset: "1" }, "names offset string");
  await io.api("STREAM.NAMES", "junk", "names junk body");
  await io.api("STREAM.NAMES", "[1]", "names array body");
  await io.api("STREAM.LIST", { subject: "l1.*", offset: 0 }, "list by subject");
  await io.api("STREAM.LIST", { offset: 1 }, "list offset");
  await io.api("STREAM.INFO.L1", { subjects_filter: ">" }, "info subjects");
  await io.api("STREAM.INFO.L1", { subjects_filter: "l1.s1" }, "info one subject");
  await io.api("STREAM.INFO.L1", { deleted_details: true }, "info deleted details");
  await io.api("STREAM.INFO.L1", "junk", "info junk");
  await io.api("STREAM.INFO.L1", { subjects_filter: 5 }, "info filter number");
  await io.api("STREAM.INFO.NOPE", undefined, "info of a missing stream");
  await io.api("STREAM.INFO.NOPE", "junk", "info of a missing stream with junk");
});

scenario("delete and purge", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.P", S("P"));
  for (let i = 0; i < 10; i++) await io.raw(`p.s${i % 3}`, `m${i}`);
  await io.api("STREAM.PURGE.P", { filter: "p.s0", keep: 1 }, "filter and keep");
  await io.api("STREAM.PURGE.P", { seq: 5, keep: 1 }, "seq and keep");
  await io.api("STREAM.PURGE.P", { filter: "p.s1", seq: 8 }, "filter and seq");
  await io.api("STREAM.PURGE.P", { filter: "zzz" }, "filter outside the stream");
  await io.api("STREAM.PURGE.P", { filter: "p.*.>" }, "filter with wildcards");
  await io.api("STREAM.PURGE.P", { seq: -1 }, "negative seq");
  await io.api("STREAM.PURGE.P", { keep: "2" }, "keep as a string");
  await io.api("STREAM.PURGE.P", [1], "array");
  await io.api("STREAM.INFO.P", undefined, "state after");
  await io.api("STREAM.PURGE.P", { keep: 2 }, "keep");
  await io.api("STREAM.PURGE.P", undefined, "everything");
  await io.api("STREAM.INFO.P", undefined, "state after all");
  await io.api("STREAM.PURGE.NOPE", undefined, "purge missing");
  await io.api("STREAM.DELETE.P", "junk", "delete with a body");
  await io.api("STREAM.DELETE.P", "{}", "delete with an empty object");
  await io.api("STREAM.DELETE.P", undefined, "delete");
  await io.api("STREAM.DELETE.P", undefined, "delete again");
  await io.raw("$JS.API.STREAM.CREATE.DP", S("DP", { deny_purge: true }));
  await io.api("STREAM.PURGE.DP", undefined, "purge denied");
  await io.raw("$JS.API.STREAM.CREATE.PJ", S("PJ"));
  await io.raw("pj.x", "x");
  await io.api("STREAM.PURGE.PJ", "junk", "junk");
});

// --- messages

scenario("STREAM.MSG.GET", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.G", S("G"));
  for (let i = 0; i < 4; i++) await io.raw(`g.s${i % 2}`, `m${i}`);
  await io.raw("g.h", "with headers", { "X-A": "1" });
  const bodies: Body[] = [
    { seq: 0 }, { seq: 1 }, { seq: 99 }, { last_by_subj: "g.s0" }, { last_by_subj: "g.none" }, { last_by_subj: "g.*" }, { next_by_subj: "g.s1", seq: 1 },
    { next_by_subj: "g.s1" }, { next_by_subj: "g.s1", seq: 5 }, { seq: 2, last_by_subj: "g.s0" }, { last_by_subj: "g.s0", next_by_subj: "g.s0" },
    { seq: 5 }, { seq: -1 }, { seq: "1" }, "junk", undefined, "{}", [1], { start_time: "2000-01-01T00:00:00Z" },
  ];
  for (const b of bodies) await io.api("STREAM.MSG.GET.G", b, `get ${JSON.stringify(b)}`);
  await io.api("STREAM.MSG.GET.NOPE", { seq: 1 }, "get from a missing stream");
});

scenario("STREAM.MSG.DELETE", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.D", S("D"));
  for (let i = 0; i < 4; i++) await io.raw(`d.s${i}`, `m${i}`);
  const bodies: Body[] = [{ seq: 2 }, { seq: 2 }, { seq: 3, no_erase: true }, { seq: 99 }, { seq: 0 }, {}, { seq: -1 }, { seq: 1, no_erase: "y" }, "junk", undefined];
  for (const b of bodies) await io.api("STREAM.MSG.DELETE.D", b, `delete ${JSON.stringify(b)}`);
  await io.api("STREAM.INFO.D", undefined, "state after");
  await io.api("STREAM.MSG.DELETE.NOPE", { seq: 1 }, "delete from a missing stream");
  await io.raw("$JS.API.STREAM.CREATE.DD", S("DD", { deny_delete: true }));
  await io.raw("dd.x", "x");
  await io.api("STREAM.MSG.DELETE.DD", { seq: 1 }, "delete denied");
});

scenario("DIRECT.GET", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.ND", S("ND"));
  await io.api("DIRECT.GET.ND", { seq: 1 }, "without allow_direct");
  await io.raw("$JS.API.STREAM.CREATE.DG", S("DG", { allow_direct: true }));
  for (let i = 0; i < 3; i++) await io.raw(`dg.s${i % 2}`, `m${i}`);
  const bodies: Body[] = [{ seq: 1 }, { seq: 9 }, { last_by_subj: "dg.s1" }, { last_by_subj: "dg.none" }, { next_by_subj: "dg.s0", seq: 2 }, { seq: 0 }, "junk", undefined, "{}", { seq: 1, last_by_subj: "dg.s1" }];
  for (const b of bodies) await io.api("DIRECT.GET.DG", b, `direct ${JSON.stringify(b)}`);
  await io.api("DIRECT.GET.DG.dg.s0", undefined, "last by subject in the subject");
  await io.api("DIRECT.GET.DG.dg.none", undefined, "last by subject in the subject, none");
  await io.api("DIRECT.GET.DG.dg.s0", { seq: 1 }, "subject form with a body");
});

// --- PubAcks

scenario("PubAck expectations", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.PA", S("PA"));
  await io.pub("pa.a", "1");
  await io.pub("pa.a", "2", { "Nats-Expected-Stream": "OTHER" }, "expected stream mismatch");
  await io.pub("pa.a", "3", { "Nats-Expected-Stream": "PA" }, "expected stream");
  await io.pub("pa.a", "4", { "Nats-Expected-Last-Sequence": "1" }, "expected last seq mismatch");
  await io.pub("pa.a", "5", { "Nats-Expected-Last-Sequence": "2" }, "expected last seq");
  await io.pub("pa.b", "6", { "Nats-Expected-Last-Subject-Sequence": "1" }, "expected last subject seq mismatch");
  await io.pub("pa.b", "7", { "Nats-Expected-Last-Subject-Sequence": "0" }, "expected last subject seq 0");
  await io.pub("pa.b", "8", { "Nats-Expected-Last-Subject-Sequence": "4" }, "expected last subject seq");
  await io.pub("pa.a", "9", { "Nats-Msg-Id": "m1" }, "with id");
  await io.pub("pa.a", "10", { "Nats-Expected-Last-Msg-Id": "zzz" }, "expected last msg id mismatch");
  await io.pub("pa.a", "11", { "Nats-Expected-Last-Msg-Id": "m1" }, "expected last msg id");
  await io.pub("pa.a", "12", { "Nats-Expected-Last-Sequence": "abc" }, "expected last seq not a number");
  await io.pub("pa.a", "13", { "Nats-Rollup": "sub" }, "rollup not allowed");
  await io.api("STREAM.INFO.PA", undefined, "state after");
});

scenario("PubAck limits and dedupe", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.PL", S("PL", { max_msg_size: 10, max_msgs: 2, discard: "new", duplicate_window: 60e9 }));
  await io.pub("pl.a", "0123456789", undefined, "at max_msg_size");
  await io.pub("pl.a", "0123456789A", undefined, "beyond max_msg_size");
  await io.pub("pl.a", "x", { "Nats-Msg-Id": "d1" }, "with id");
  await io.pub("pl.a", "x", { "Nats-Msg-Id": "d1" }, "duplicate");
  await io.pub("pl.a", "y", undefined, "discard new at max_msgs");
  await io.raw("$JS.API.STREAM.CREATE.PB", S("PB", { max_bytes: 100, discard: "new" }));
  await io.pub("pb.a", "x".repeat(40), undefined, "first");
  await io.pub("pb.a", "x".repeat(40), undefined, "discard new at max_bytes");
  await io.raw("$JS.API.STREAM.CREATE.PS", S("PS", { max_msgs_per_subject: 1, discard: "new", discard_new_per_subject: true }));
  await io.pub("ps.a", "1", undefined, "first of subject");
  await io.pub("ps.a", "2", undefined, "discard new per subject");
  await io.pub("ps.b", "3", undefined, "another subject");
  await io.api("STREAM.INFO.PL", undefined, "state after");
});

// --- consumers

const CS = S("CS", { subjects: ["cs.>"] });
async function withConsumerStream(io: Io, extra: Record<string, unknown> = {}): Promise<void> {
  await io.raw("$JS.API.STREAM.CREATE.CS", { ...CS, ...extra });
  for (let i = 0; i < 3; i++) await io.raw(`cs.s${i}`, `m${i}`);
}
const cc = (config: Record<string, unknown>) => ({ stream_name: "CS", config });

scenario("consumer create: push/pull combinations", async (io) => {
  await withConsumerStream(io);
  const cases: Record<string, unknown>[] = [
    { durable_name: "C", deliver_group: "g" },
    { durable_name: "C", deliver_subject: "dlv.c", ack_policy: "none", max_ack_pending: 10 },
    { durable_name: "C", ack_policy: "explicit", replay_policy: "original" },
    { durable_name: "C", ack_policy: "explicit", idle_heartbeat: 1e9 },
    { durable_name: "C", ack_policy: "explicit", flow_control: true },
    { durable_name: "C", ack_policy: "explicit", flow_control: true, idle_heartbeat: 1e9 },
    { durable_name: "C", deliver_subject: "dlv.c", ack_policy: "explicit", max_waiting: 10 },
    { durable_name: "C", deliver_subject: "dlv.c", flow_control: true },
    { durable_name: "C", deliver_subject: "dlv.c", idle_heartbeat: 1e6 },
    { durable_name: "C", deliver_subject: "dlv.*" },
    { durable_name: "C", deliver_subject: "cs.x" },
    { durable_name: "C", ack_policy: "explicit", rate_limit_bps: 100 },
    { durable_name: "C", ack_policy: "explicit", max_waiting: -1 },
    { durable_name: "C", ack_policy: "explicit", max_batch: -1 },
    { durable_name: "C", ack_policy: "explicit", max_expires: 10 },
    { durable_name: "C", ack_policy: "explicit", headers_only: true, max_bytes: 100, max_batch: 5, max_expires: 1e9 },
    { durable_name: "C", deliver_subject: "dlv.c", deliver_group: "g", ack_policy: "explicit" },
    { durable_name: "C", ack_policy: "explicit", sample_freq: "abc" },
    { durable_name: "C", ack_policy: "explicit", sample_freq: "50%" },
    { durable_name: "C", ack_policy: "explicit", description: "x".repeat(4097) },
    { durable_name: "C", ack_policy: "explicit", direct: true },
  ];
  for (const c of cases) {
    await io.api("CONSUMER.DURABLE.CREATE.CS.C", cc(c), JSON.stringify(c));
    await io.raw("$JS.API.CONSUMER.DELETE.CS.C", "");
  }
});

scenario("consumer create: names and subjects", async (io) => {
  await withConsumerStream(io);
  await io.api("CONSUMER.DURABLE.CREATE.CS.C", cc({ durable_name: "D", ack_policy: "explicit" }), "durable name differs from subject");
  await io.api("CONSUMER.DURABLE.CREATE.CS.C", cc({ ack_policy: "explicit" }), "durable without durable_name");
  await io.api("CONSUMER.CREATE.CS.N", cc({ durable_name: "X", ack_policy: "explicit" }), "named with another durable_name");
  await io.api("CONSUMER.CREATE.CS.N", cc({ name: "X", ack_policy: "explicit" }), "named with another name");
  await io.api("CONSUMER.CREATE.CS", cc({ durable_name: "X", ack_policy: "explicit" }), "ephemeral subject with durable_name");
  await io.api("CONSUMER.CREATE.CS.N", { stream_name: "OTHER", config: { ack_policy: "explicit" } }, "stream name mismatch");
  await io.api("CONSUMER.CREATE.CS.N", { config: { ack_policy: "explicit" } }, "no stream name");
  await io.api("CONSUMER.CREATE.NOPE.N", { stream_name: "NOPE", config: { ack_policy: "explicit" } }, "missing stream");
  await io.api("CONSUMER.CREATE.CS.N.cs.s1", cc({ ack_policy: "explicit" }), "filter in subject without filter in config");
  await io.api("CONSUMER.CREATE.CS.N.cs.s1", cc({ ack_policy: "explicit", filter_subject: "cs.s2" }), "filter in subject differs");
  await io.api("CONSUMER.CREATE.CS.N.cs.s1", cc({ ack_policy: "explicit", filter_subject: "cs.s1" }), "filter in subject");
  await io.api("CONSUMER.CREATE.CS.F", cc({ ack_policy: "explicit", filter_subject: "other.x" }), "filter outside the stream");
  await io.api("CONSUMER.CREATE.CS.F", cc({ ack_policy: "explicit", filter_subject: "cs..x" }), "invalid filter");
  await io.api("CONSUMER.CREATE.CS.a*b", cc({ ack_policy: "explicit" }), "name with a wildcard");
  await io.api("CONSUMER.DURABLE.CREATE.CS.a>b", cc({ durable_name: "a>b", ack_policy: "explicit" }), "durable with a wildcard");
  await io.api("CONSUMER.CREATE.CS", cc({ name: "a.b", ack_policy: "explicit" }), "ephemeral with a dotted name");
  await io.api("CONSUMER.CREATE.CS", cc({ durable_name: "a b", ack_policy: "explicit" }), "durable with a space");
  await io.api("CONSUMER.CREATE.CS", cc({ deliver_subject: "dlv.x", ack_policy: "explicit", name: "E1" }), "named ephemeral on the legacy subject");
});

scenario("consumer create: policies", async (io) => {
  await withConsumerStream(io);
  const cases: Record<string, unknown>[] = [
    { opt_start_seq: 2 },
    { deliver_policy: "by_start_sequence" },
    { deliver_policy: "by_start_sequence", opt_start_seq: 2 },
    { deliver_policy: "by_start_time" },
    { deliver_policy: "by_start_time", opt_start_time: "2020-01-01T00:00:00Z", opt_start_seq: 1 },
    { deliver_policy: "last", opt_start_time: "2020-01-01T00:00:00Z" },
    { deliver_policy: "new", opt_start_seq: 1 },
    { deliver_policy: "last_per_subject" },
    { deliver_policy: "last_per_subject", filter_subject: "cs.>" },
    { deliver_policy: "sometimes" },
    { deliver_policy: 1 },
    { ack_policy: "maybe" },
    { replay_policy: "fast" },
    { ack_wait: -1 },
    { ack_wait: 1 },
    { backoff: [1e9, 2e9, 3e9], max_deliver: 2 },
    { backoff: [1e9, 2e9], max_deliver: 3 },
    { backoff: [-1] },
    { backoff: "1s" },
    { max_deliver: -5 },
    { max_ack_pending: -5 },
    { opt_start_time: "yesterday", deliver_policy: "by_start_time" },
    { num_replicas: 3 },
    { num_replicas: -1 },
    { mem_storage: true, inactive_threshold: 5e9 },
  ];
  for (const c of cases) {
    await io.api("CONSUMER.CREATE.CS.P", cc({ ack_policy: "explicit", ...c }), JSON.stringify(c));
    await io.raw("$JS.API.CONSUMER.DELETE.CS.P", "");
  }
});

scenario("consumer create: bodies that are not a request", async (io) => {
  await withConsumerStream(io);
  const bodies: Body[] = [undefined, "junk", "[]", "1", '"x"', "null", "{}", { stream_name: "CS" }, { stream_name: "CS", config: [] }, { stream_name: "CS", config: "x" }, { stream_name: 5 }, { stream_name: "CS", config: {}, action: "upsert" }];
  for (const b of bodies) await io.api("CONSUMER.CREATE.CS.B", b, `body ${JSON.stringify(b)}`);
  for (const b of bodies.slice(0, 4)) await io.api("CONSUMER.DURABLE.CREATE.CS.B", b, `durable body ${JSON.stringify(b)}`);
});

scenario("consumer create: idempotent, update rules, actions", async (io) => {
  await withConsumerStream(io);
  const base = { durable_name: "U", ack_policy: "explicit", filter_subject: "cs.s1" };
  await io.api("CONSUMER.CREATE.CS.U", cc(base), "create");
  await io.api("CONSUMER.CREATE.CS.U", cc(base), "same again");
  await io.api("CONSUMER.CREATE.CS.U", { ...cc(base), action: "create" }, "action create, same config");
  await io.api("CONSUMER.CREATE.CS.U", cc({ ...base, ack_policy: "all" }), "ack policy change");
  await io.api("CONSUMER.CREATE.CS.U", cc({ ...base, deliver_policy: "new" }), "deliver policy change");
  await io.api("CONSUMER.CREATE.CS.U", cc({ ...base, deliver_subject: "dlv.u" }), "pull to push");
  await io.api("CONSUMER.CREATE.CS.U", cc({ ...base, max_waiting: 5 }), "max_waiting change");
  await io.api("CONSUMER.CREATE.CS.U", cc({ ...base, filter_subject: "cs.s2", description: "d", max_ack_pending: 5, ack_wait: 5e9 }), "allowed change");
  await io.api("CONSUMER.CREATE.CS.U", cc({ ...base, replay_policy: "original" }), "replay change");
  await io.api("CONSUMER.CREATE.CS.U", cc({ ...base, opt_start_seq: 2, deliver_policy: "by_start_sequence" }), "start change");
  await io.raw("$JS.API.CONSUMER.CREATE.CS.PU", cc({ deliver_subject: "dlv.pu", ack_policy: "explicit" }));
  await io.api("CONSUMER.CREATE.CS.PU", cc({ ack_policy: "explicit" }), "push to pull");
  await io.api("CONSUMER.CREATE.CS.PU", cc({ deliver_subject: "dlv.other", ack_policy: "explicit" }), "push to another deliver subject");
  await io.api("CONSUMER.CREATE.CS.PU", cc({ deliver_subject: "dlv.other", ack_policy: "explicit", idle_heartbeat: 1e9 }), "heartbeat change");
  await io.api("CONSUMER.NAMES.CS", undefined, "names");
  await io.api("CONSUMER.NAMES.CS", { offset: 1 }, "names offset");
  await io.api("CONSUMER.NAMES.CS", "junk", "names junk");
  await io.api("CONSUMER.NAMES.CS", "[1]", "names array");
  await io.api("CONSUMER.LIST.CS", undefined, "list");
  await io.api("CONSUMER.LIST.CS", { offset: 5 }, "list offset past the end");
  await io.api("CONSUMER.NAMES.NOPE", undefined, "names of a missing stream");
  await io.api("CONSUMER.LIST.NOPE", undefined, "list of a missing stream");
  await io.api("CONSUMER.INFO.CS.U", undefined, "info");
  await io.api("CONSUMER.INFO.CS.U", "junk", "info with a body");
  await io.api("CONSUMER.INFO.CS.U", "{}", "info with an empty object");
  await io.api("CONSUMER.INFO.CS.NOPE", undefined, "info of a missing consumer");
  await io.api("CONSUMER.INFO.NOPE.U", undefined, "info in a missing stream");
  await io.api("CONSUMER.DELETE.CS.NOPE", undefined, "delete of a missing consumer");
  await io.api("CONSUMER.DELETE.CS.U", "junk", "delete with a body");
  // releases after 2.9 know `action` and refuse a storage change: last, as 2.9.10 applies them
  await io.api("CONSUMER.CREATE.CS.U", { ...cc({ ...base, description: "x" }), action: "create" }, "action create, other config");
  await io.api("CONSUMER.CREATE.CS.V", { ...cc({ ...base, durable_name: "V" }), action: "update" }, "action update of a missing consumer");
  await io.api("CONSUMER.CREATE.CS.U", cc({ ...base, mem_storage: true }), "storage change");
  await io.raw("$JS.API.CONSUMER.DELETE.CS.V", "");
  await io.api("CONSUMER.DELETE.CS.U", undefined, "delete");
  await io.api("CONSUMER.DELETE.CS.U", undefined, "delete again");
});

scenario("consumer create: workqueue stream", async (io) => {
  await withConsumerStream(io, { retention: "workqueue" });
  await io.api("CONSUMER.CREATE.CS.W1", cc({ ack_policy: "none" }), "ack none");
  await io.api("CONSUMER.CREATE.CS.W1", cc({ ack_policy: "explicit", deliver_policy: "last" }), "not deliver all");
  await io.api("CONSUMER.CREATE.CS.W1", cc({ ack_policy: "explicit", filter_subject: "cs.s1" }), "first filtered");
  await io.api("CONSUMER.CREATE.CS.W2", cc({ ack_policy: "explicit", filter_subject: "cs.s1" }), "same filter");
  await io.api("CONSUMER.CREATE.CS.W2", cc({ ack_policy: "explicit", filter_subject: "cs.>" }), "overlapping filter");
  await io.api("CONSUMER.CREATE.CS.W2", cc({ ack_policy: "explicit" }), "unfiltered beside a filtered");
  await io.api("CONSUMER.CREATE.CS.W3", cc({ ack_policy: "explicit", filter_subject: "cs.s2" }), "disjoint filter");
  await io.raw("$JS.API.CONSUMER.DELETE.CS.W1", "");
  await io.raw("$JS.API.CONSUMER.DELETE.CS.W3", "");
  await io.api("CONSUMER.CREATE.CS.W4", cc({ ack_policy: "explicit" }), "unfiltered");
  await io.api("CONSUMER.CREATE.CS.W5", cc({ ack_policy: "explicit" }), "second unfiltered");
  await io.api("CONSUMER.CREATE.CS.W4", cc({ ack_policy: "explicit", deliver_subject: "dlv.w" }), "push on workqueue");
});

scenario("consumer create: interest stream and limits", async (io) => {
  await withConsumerStream(io, { retention: "interest", max_consumers: 1 });
  await io.api("CONSUMER.CREATE.CS.I1", cc({ ack_policy: "explicit" }), "first");
  await io.api("CONSUMER.CREATE.CS.I2", cc({ ack_policy: "explicit" }), "beyond max_consumers");
  await io.api("CONSUMER.CREATE.CS.I1", cc({ ack_policy: "none" }), "update of the only consumer");
});

scenario("pull requests and their statuses", async (io) => {
  await withConsumerStream(io);
  await io.raw("$JS.API.CONSUMER.CREATE.CS.PC", cc({ ack_policy: "explicit", max_waiting: 1, max_batch: 2, max_expires: 2e9, max_bytes: 1000 }));
  await io.raw("$JS.API.CONSUMER.CREATE.CS.EM", cc({ ack_policy: "none", filter_subject: "cs.none" }));
  const bodies: Body[] = [
    { batch: -1 }, { batch: 0 }, { batch: 1, expires: -1 }, { batch: 1, expires: 1 }, "junk", "[1]", '"x"', { batch: "1" },
    { batch: 5 }, { batch: 1, expires: 5e9 }, { batch: 1, max_bytes: 1 }, { batch: 1, max_bytes: -1 }, { batch: 1, idle_heartbeat: 5e9, expires: 1e9 },
  ];
  for (const b of bodies) await io.pull("CS", "PC", b, 300, `PC ${JSON.stringify(b)}`);
  for (const b of [{ batch: 1, no_wait: true }, { batch: 1, expires: 2e8 }, { batch: 1, expires: 2e8, no_wait: true }, "", "1"] as Body[]) {
    await io.pull("CS", "EM", b, 500, `EM ${JSON.stringify(b)}`);
  }
  await io.pull("CS", "NOPE", { batch: 1 }, 300, "missing consumer");
  await io.pull("NOPE", "PC", { batch: 1 }, 300, "missing stream");
});

scenario("sealed stream", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.SE", S("SE", { max_age: 60e9 }));
  await io.raw("se.a", "1");
  await io.raw("se.b", "2");
  await io.api("STREAM.UPDATE.SE", S("SE", { max_age: 60e9, sealed: true }), "seal");
  await io.pub("se.a", "3", undefined, "publish to a sealed stream");
  await io.api("STREAM.MSG.DELETE.SE", { seq: 1 }, "delete on a sealed stream");
  await io.api("STREAM.PURGE.SE", undefined, "purge a sealed stream");
  await io.api("STREAM.UPDATE.SE", S("SE", { max_age: 60e9, sealed: true, max_msgs: 5 }), "update a sealed stream");
  await io.api("STREAM.INFO.SE", undefined, "info");
  await io.api("STREAM.DELETE.SE", undefined, "delete a sealed stream");
});

scenario("rollups", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.RO", S("RO", { allow_rollup_hdrs: true }));
  for (let i = 0; i < 3; i++) await io.raw(`ro.s${i % 2}`, `m${i}`);
  await io.pub("ro.s0", "r", { "Nats-Rollup": "sub" }, "rollup subject");
  await io.api("STREAM.INFO.RO", { subjects_filter: ">" }, "after a subject rollup");
  await io.pub("ro.s1", "r", { "Nats-Rollup": "bogus" }, "rollup of an unknown kind");
  await io.pub("ro.s1", "all", { "Nats-Rollup": "all" }, "rollup all");
  await io.api("STREAM.INFO.RO", { subjects_filter: ">" }, "after a full rollup");
});

scenario("per-subject limits and discard old", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.PS", S("PS", { max_msgs_per_subject: 2, max_msgs: 5 }));
  for (let i = 0; i < 9; i++) await io.pub(`ps.s${i % 3}`, `m${i}`, undefined, `publish ${i}`);
  await io.api("STREAM.INFO.PS", { subjects_filter: "ps.*" }, "subjects after");
  await io.api("STREAM.MSG.GET.PS", { seq: 1 }, "first is gone");
  await io.api("STREAM.MSG.GET.PS", { last_by_subj: "ps.s0" }, "last of s0");
  await io.api("STREAM.MSG.GET.PS", { next_by_subj: "ps.*", seq: 1 }, "next of any subject");
});

scenario("interest retention", async (io) => {
  await withConsumerStream(io, { retention: "interest" });
  await io.api("STREAM.INFO.CS", undefined, "messages without interest");
  await io.raw("$JS.API.CONSUMER.CREATE.CS.A", cc({ ack_policy: "explicit" }));
  await io.raw("$JS.API.CONSUMER.CREATE.CS.B", cc({ ack_policy: "explicit", filter_subject: "cs.s1" }));
  for (let i = 0; i < 3; i++) await io.pub(`cs.s${i}`, `n${i}`, undefined, `publish ${i}`);
  await io.pull("CS", "A", { batch: 3, no_wait: true }, 300, "A takes all and acks", "+ACK");
  await io.api("STREAM.INFO.CS", undefined, "after A acked");
  await io.pull("CS", "B", { batch: 3, no_wait: true }, 300, "B takes its subject and acks", "+ACK");
  await io.api("STREAM.INFO.CS", undefined, "after B acked");
  await io.api("CONSUMER.INFO.CS.A", undefined, "A");
});

scenario("work queue retention", async (io) => {
  await withConsumerStream(io, { retention: "workqueue" });
  await io.raw("$JS.API.CONSUMER.CREATE.CS.W", cc({ ack_policy: "explicit" }));
  await io.pull("CS", "W", { batch: 2 }, 300, "take two and ack", "+ACK");
  await io.api("STREAM.INFO.CS", undefined, "after the acks");
  await io.pull("CS", "W", { batch: 1 }, 300, "take one, nak", "-NAK");
  await io.api("CONSUMER.INFO.CS.W", undefined, "after the nak");
  await io.pull("CS", "W", { batch: 1 }, 300, "redelivered and terminated", "+TERM");
  await io.api("STREAM.INFO.CS", undefined, "after the term");
  await io.api("CONSUMER.INFO.CS.W", undefined, "consumer after");
});

scenario("consumer state through pulls and acks", async (io) => {
  await withConsumerStream(io);
  for (let i = 3; i < 6; i++) await io.raw(`cs.s${i % 3}`, `m${i}`);
  await io.raw("$JS.API.CONSUMER.CREATE.CS.ST", cc({ ack_policy: "explicit", max_ack_pending: 3 }));
  await io.pull("CS", "ST", { batch: 2, no_wait: true }, 300, "two without ack");
  await io.api("CONSUMER.INFO.CS.ST", undefined, "two pending");
  await io.pull("CS", "ST", { batch: 5, no_wait: true }, 300, "up to max_ack_pending");
  await io.api("CONSUMER.INFO.CS.ST", undefined, "at max_ack_pending");
  await io.pull("CS", "ST", { batch: 1, no_wait: true }, 300, "beyond max_ack_pending");
  await io.raw("$JS.API.CONSUMER.CREATE.CS.ALL", cc({ ack_policy: "all" }));
  await io.pull("CS", "ALL", { batch: 3, no_wait: true }, 300, "ack all on the third");
  await io.raw("$JS.API.CONSUMER.CREATE.CS.LPS", cc({ ack_policy: "none", deliver_policy: "last_per_subject", filter_subject: "cs.*" }));
  await io.api("CONSUMER.INFO.CS.LPS", undefined, "last per subject pending");
  await io.pull("CS", "LPS", { batch: 5, no_wait: true }, 300, "last per subject");
  await io.raw("$JS.API.CONSUMER.CREATE.CS.NEW", cc({ ack_policy: "none", deliver_policy: "new" }));
  await io.api("CONSUMER.INFO.CS.NEW", undefined, "deliver new");
  await io.raw("$JS.API.CONSUMER.CREATE.CS.LAST", cc({ ack_policy: "none", deliver_policy: "last", filter_subject: "cs.s1" }));
  await io.api("CONSUMER.INFO.CS.LAST", undefined, "deliver last filtered");
});

scenario("push consumers", async (io) => {
  await withConsumerStream(io);
  await io.api("CONSUMER.CREATE.CS.PG", cc({ deliver_subject: "dlv.pg", deliver_group: "g", ack_policy: "explicit" }), "with a deliver group");
  await io.api("CONSUMER.CREATE.CS.PG", cc({ deliver_subject: "dlv.pg", deliver_group: "h", ack_policy: "explicit" }), "another deliver group");
  await io.api("CONSUMER.CREATE.CS.PF", cc({ deliver_subject: "dlv.pf", ack_policy: "explicit", flow_control: true, idle_heartbeat: 5e9 }), "flow control");
  await io.api("CONSUMER.CREATE.CS.PR", cc({ deliver_subject: "dlv.pr", ack_policy: "none", rate_limit_bps: 1000, sample_freq: "100" }), "rate limit and sampling");
  await io.api("CONSUMER.CREATE.CS.PH", cc({ deliver_subject: "dlv.ph", ack_policy: "none", headers_only: true, replay_policy: "original" }), "headers only, replay original");
  await io.api("CONSUMER.LIST.CS", undefined, "list");
});

scenario("messages after delete and purge", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.MD", S("MD", { allow_direct: true }));
  for (let i = 0; i < 5; i++) await io.raw(`md.s${i % 2}`, `m${i}`, { "Nats-Msg-Id": `id${i}` });
  await io.raw("$JS.API.STREAM.MSG.DELETE.MD", { seq: 2 });
  await io.api("STREAM.MSG.GET.MD", { seq: 2 }, "a deleted message");
  await io.api("DIRECT.GET.MD", { seq: 2 }, "direct get of a deleted message");
  await io.api("STREAM.MSG.GET.MD", { next_by_subj: "md.s1", seq: 2 }, "next after a deleted message");
  await io.api("STREAM.INFO.MD", { deleted_details: true }, "deleted details");
  await io.raw("$JS.API.STREAM.PURGE.MD", { seq: 4 });
  await io.api("STREAM.INFO.MD", undefined, "after purge up to 4");
  await io.pub("md.s0", "again", { "Nats-Msg-Id": "id0" }, "id of a purged message");
  await io.pub("md.s0", "again", { "Nats-Msg-Id": "id4" }, "id of a kept message");
  await io.api("STREAM.MSG.GET.MD", { seq: 1 }, "below the first sequence");
  await io.api("DIRECT.GET.MD", { next_by_subj: "md.*", seq: 1 }, "direct next from below the first");
});

scenario("expectations on an empty stream", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.EE", S("EE"));
  await io.pub("ee.a", "1", { "Nats-Expected-Last-Sequence": "0" }, "expected last seq 0");
  await io.pub("ee.b", "2", { "Nats-Expected-Last-Msg-Id": "" }, "expected last msg id empty");
  await io.pub("ee.b", "3", { "Nats-Expected-Last-Msg-Id": "x" }, "expected last msg id without any");
  await io.pub("ee.b", "4", { "Nats-Msg-Id": "" }, "empty msg id");
  await io.pub("ee.c", "5", { "Nats-Expected-Last-Subject-Sequence": "" }, "empty expected subject seq");
  await io.pub("ee.c", "6", { "Nats-Expected-Stream": "" }, "empty expected stream");
  await io.pub("ee.c", "", undefined, "empty payload");
  await io.api("STREAM.INFO.EE", undefined, "state");
});

scenario("account info with streams and consumers", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.AM", S("AM"));
  await io.raw("$JS.API.STREAM.CREATE.AF", { name: "AF", subjects: ["af.>"] });
  for (let i = 0; i < 3; i++) {
    await io.raw("am.x", "x".repeat(i * 10));
    await io.raw("af.x", "y".repeat(i * 7), { "H-1": "v" });
  }
  await io.raw("$JS.API.CONSUMER.CREATE.AF.C", { stream_name: "AF", config: { ack_policy: "explicit" } });
  await io.api("INFO", undefined, "account");
  await io.api("STREAM.INFO.AF", undefined, "file stream bytes");
  await io.api("STREAM.INFO.AM", undefined, "memory stream bytes");
  await io.api("STREAM.DELETE.AF", undefined, "delete a stream with a consumer");
  await io.api("CONSUMER.INFO.AF.C", undefined, "its consumer");
  await io.api("INFO", undefined, "account after");
});

scenario("update: subjects and limits", async (io) => {
  await io.raw("$JS.API.STREAM.CREATE.UA", S("UA"));
  await io.raw("$JS.API.STREAM.CREATE.UB", S("UB"));
  for (let i = 0; i < 5; i++) await io.raw("ua.x", `m${i}`);
  await io.api("STREAM.UPDATE.UA", S("UA", { subjects: ["ua.>", "ub.x"] }), "overlap with another stream");
  await io.api("STREAM.UPDATE.UA", S("UA", { subjects: ["ua.x", "ua.y"] }), "narrower subjects");
  await io.api("STREAM.UPDATE.UA", S("UA", { subjects: ["ua.x"], max_msgs: 2 }), "lower max_msgs");
  await io.api("STREAM.UPDATE.UA", S("UA", { subjects: ["ua.x"], max_msgs: 2, discard: "new" }), "discard change");
  await io.api("STREAM.UPDATE.UA", S("UA", { subjects: ["ua.x"], max_msgs: 2, discard: "new", duplicate_window: 1e9 }), "duplicate window change");
  await io.api("STREAM.UPDATE.UA", S("UA", { subjects: ["ua.x"], max_msgs: 2, discard: "new", no_ack: true }), "no_ack change");
  await io.api("STREAM.UPDATE.UA", S("UA", { subjects: ["ua.x"], max_msgs: 2, discard: "new", allow_direct: true, mirror_direct: true }), "mirror_direct without a mirror");
  await io.api("STREAM.UPDATE.UA", S("UA", { subjects: ["ua.x"], max_msgs: 2, discard: "new", description: "x".repeat(4097) }), "description too long");
  await io.api("STREAM.UPDATE.UA", S("UA", { subjects: ["ua.x"], max_msgs: 2, discard: "new", placement: { cluster: "elsewhere" } }), "placement");
});

scenario("account info", async (io) => {
  await io.api("INFO", undefined, "info of an empty account");
  await io.api("INFO", "junk", "info with a body");
  await io.api("STREAM.FROB.X", undefined, "unknown API subject");
  await io.api("STREAM", undefined, "bare STREAM");
  await io.api("CONSUMER.INFO.X", undefined, "consumer info without a consumer");
});

// --- hostile input: random bodies (fixed seed) to every API subject, answers compared by kind

/** mulberry32: a small seeded generator, so that both servers get the same sequence. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIELDS = [
  "name", "subjects", "retention", "storage", "max_msgs", "max_bytes", "max_age", "max_msg_size", "discard", "num_replicas", "mirror", "sources",
  "seq", "last_by_subj", "next_by_subj", "keep", "filter", "offset", "subject", "subjects_filter", "deleted_details", "no_erase", "stream_name",
  "config", "durable_name", "deliver_subject", "deliver_group", "ack_policy", "deliver_policy", "filter_subject", "opt_start_seq", "ack_wait",
  "max_deliver", "backoff", "max_waiting", "max_ack_pending", "idle_heartbeat", "flow_control", "batch", "no_wait", "action", "sealed", "deny_delete",
];
const STRINGS = ["", "H", "h.>", "h.a", "*", ">", "a b", "file", "memory", "limits", "workqueue", "explicit", "all", "new", "last", "create", "\u0000", "é", "x".repeat(300)];
const NUMBERS = [0, 1, -1, 2, 100, -100, 2 ** 31, 2 ** 53, 1.5, -0.5, 1e300, -1e300, 9e18];

function randomValue(r: () => number, depth: number, key?: string): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  if (key === "offset") return pick([0, 1, 2, 1000, "1", null]); // a negative offset brings nats-server 2.9.10 down
  const k = r();
  if (k < 0.1) return null;
  if (k < 0.2) return r() < 0.5;
  if (k < 0.45) return pick(NUMBERS);
  if (k < 0.7) return pick(STRINGS);
  if (depth >= 2) return pick(STRINGS);
  if (k < 0.8) return Array.from({ length: Math.floor(r() * 3) }, () => randomValue(r, depth + 1));
  return randomObject(r, depth + 1);
}

function randomObject(r: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const key = FIELDS[Math.floor(r() * FIELDS.length)]!;
    o[key] = randomValue(r, depth, key);
  }
  return o;
}

/** A body: random bytes, a JSON scalar, or a JSON object of known field names with random values. */
function randomBody(r: () => number, jsonOnly: boolean): Uint8Array {
  const k = r();
  if (!jsonOnly && k < 0.3) return Uint8Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 256));
  if (!jsonOnly && k < 0.4) return Buffer.from(JSON.stringify(randomValue(r, 2)) ?? "null");
  if (k < 0.5) return Buffer.from(JSON.stringify(Array.from({ length: Math.floor(r() * 3) }, () => randomValue(r, 1))));
  return Buffer.from(JSON.stringify(randomObject(r, 0)));
}

/** What kind of answer came: none, a status, an error (code and err_code), or a success of some type. */
function answerKind(v: any): string {
  if (v?.timeout) return "no answer";
  if (v?.noResponders) return "no responders";
  if (v?.status !== undefined) return `status ${v.status}`;
  if (v?.headers !== undefined) return "message";
  if (v?.error) return `${v.type} error ${v.error.code}/${v.error.err_code}`;
  return `${v?.type ?? "raw"} ok`;
}

// Subjects where nats-server 2.11+ (and Junction) read a body that is not a JSON object or array
// as no body at all, where 2.9.10 says it is invalid JSON: they get JSON bodies only.
const HOSTILE_SUBJECTS: [string, boolean][] = [
  ["INFO", true], ["STREAM.CREATE.H", false], ["STREAM.CREATE.H2", false], ["STREAM.UPDATE.H", false], ["STREAM.INFO.H", true],
  ["STREAM.DELETE.NOPE", false], ["STREAM.PURGE.H", true], ["STREAM.NAMES", true], ["STREAM.LIST", true], ["STREAM.MSG.GET.H", false],
  ["STREAM.MSG.DELETE.H", false], ["DIRECT.GET.H", false], ["DIRECT.GET.H.h.a", false], ["CONSUMER.CREATE.H", false], ["CONSUMER.CREATE.H.C2", false],
  ["CONSUMER.DURABLE.CREATE.H.D", false], ["CONSUMER.INFO.H.C", false], ["CONSUMER.DELETE.H.NOPE", false], ["CONSUMER.NAMES.H", true], ["CONSUMER.LIST.H", true],
];

async function hostileSetUp(io: Io): Promise<void> {
  await io.raw("$JS.API.STREAM.CREATE.H", S("H", { allow_direct: true, max_msgs: 100 }));
  for (let i = 0; i < 5; i++) await io.raw(`h.${"abc"[i % 3]}`, `m${i}`);
  await io.raw("$JS.API.CONSUMER.CREATE.H.C", { stream_name: "H", config: { ack_policy: "explicit" } });
}

for (const [i, group] of [HOSTILE_SUBJECTS.slice(0, 7), HOSTILE_SUBJECTS.slice(7, 14), HOSTILE_SUBJECTS.slice(14)].entries()) {
  scenario(`hostile input ${i + 1}: ${group.map(([s]) => s).join(", ")}`, async (io) => {
    await hostileSetUp(io);
    const r = seeded(0x5eed + i);
    for (let n = 0; n < 12; n++) {
      for (const [subject, jsonOnly] of group) {
        const body = randomBody(r, jsonOnly);
        io.note(`${subject} ${Buffer.from(body).toString("base64")}`, answerKind(await io.raw("$JS.API." + subject, body, undefined, 400)));
      }
    }
    const r2 = seeded(0xbad + i);
    for (let n = 0; n < 6; n++) {
      const body = randomBody(r2, false);
      const o = body[0] === 0x7b ? (JSON.parse(Buffer.from(body).toString()) as Record<string, unknown>) : undefined;
      if (o !== undefined) delete o.expires; // how long a request waits is timing, not input handling
      const got = await io.pull("H", "C", o ?? body, 150, `pull ${Buffer.from(body).toString("base64")}`);
      void got;
    }
    await io.api("INFO", undefined, "still answering");
    await io.api("STREAM.INFO.H", undefined, "the stream after");
  });
}

// ---------------------------------------------------------------- running scenarios

/** The paths where two JSON values differ, with both values. */
function diffPaths(a: unknown, b: unknown, path = ""): string[] {
  const isObj = (v: unknown) => v !== null && typeof v === "object";
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const out: string[] = [];
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of keys) out.push(...diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
    return out;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  return [`    ${path || "(value)"}: nats-server ${JSON.stringify(a)} | junction ${JSON.stringify(b)}`];
}

function renderDiff(name: string, label: string, a: unknown, b: unknown): string {
  const paths = diffPaths(a, b);
  const whole = JSON.stringify(a).length + JSON.stringify(b).length < 400;
  return `${name} › ${label}\n${whole ? `  nats-server: ${JSON.stringify(a)}\n  junction:    ${JSON.stringify(b)}` : paths.join("\n")}`;
}

const only = process.env.DIFF_ONLY === undefined ? undefined : new RegExp(process.env.DIFF_ONLY);
for (const [name, fn] of scenarios) {
  if (only !== undefined && !only.test(name)) continue;
  test(`same answers as nats-server 2.9.10: ${name}`, async () => {
    const a = new Io(ref, "nats");
    const b = new Io(ours, "junction");
    await Promise.all([a.reset(), b.reset()]);
    await Promise.all([fn(a), fn(b)]);
    assert.equal(b.recs.length, a.recs.length, "same number of steps");
    // DIFF_DUMP=<file>: every step's two normalised answers as JSON lines (to study a difference)
    const dump = process.env.DIFF_DUMP;
    if (dump) {
      for (let i = 0; i < a.recs.length; i++) {
        appendFileSync(dump, JSON.stringify({ key: `${name} › ${a.recs[i]!.label}`, nats: normalise(a.recs[i]!.value), junction: normalise(b.recs[i]!.value) }) + "\n");
      }
    }
    const diffs: string[] = [];
    for (let i = 0; i < a.recs.length; i++) {
      const label = a.recs[i]!.label;
      const x = normalise(a.recs[i]!.value);
      const y = normalise(b.recs[i]!.value);
      const expected = EXPECTED_DIFFERENCES[`${name} › ${label}`];
      if (expected !== undefined) {
        assert.ok(matches(x, expected.nats), `nats-server's answer changed: ${name} › ${label}: ${JSON.stringify(x)}`);
        assert.ok(matches(y, expected.junction), `Junction's answer changed: ${name} › ${label}: ${JSON.stringify(y)}`);
        assert.ok(!matches(y, expected.nats), `Junction now answers as nats-server 2.9.10: drop the entry ${name} › ${label}`);
        continue;
      }
      try {
        assert.deepEqual(y, x);
      } catch {
        if (!EXPECTED_RULES.some((r) => r.applies(x, y, label))) diffs.push(renderDiff(name, label, x, y));
      }
    }
    assert.equal(diffs.length, 0, `${diffs.length} different answers:\n${diffs.join("\n")}`);
  });
}
