import { fileURLToPath } from "node:url";
// HTTP monitoring (/varz, /connz, /subsz, /healthz, ...) against real clients and real sockets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { once } from "node:events";
import { Ajv } from "ajv";
import WebSocket from "ws";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startServer } from "../../src/index.js";
import type { Options } from "../../src/config/options.js";
import type { Server } from "../../src/server/server.js";
import { goDuration, uptime, rfc3339 } from "../../src/monitor/index.js";
import { JUNCTION_VERSION, SERVER_VERSION } from "../../src/version.js";

// shared/ sits beside the repository (locally and in CI)
const VARZ_SCHEMA = fileURLToPath(new URL("../../../shared/reference/schemas/server/monitor/v1/varz.json", import.meta.url));
const GO_DURATION = /^(0s|\d+(\.\d+)?(ns|µs|ms)|(\d+h)?(\d+m)?\d+(\.\d+)?s)$/;
const UPTIME = /^(\d+y)?(\d+d)?(\d+h)?(\d+m)?\d+s$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

interface Ctx {
  server: Server;
  /** base URL of the monitor, with the base path */
  url: string;
  port: number;
  client(opts?: Parameters<typeof connect>[0]): Promise<NatsConnection>;
}

/** A fresh server with monitoring on a random port, so that every count is exact. */
async function withServer(opts: Options, fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  const server = await startServer({ host: "127.0.0.1", port: -1, http_port: -1, http_host: "127.0.0.1", ...opts });
  const conns: NatsConnection[] = [];
  const mon = server.listeners.get("monitoring");
  assert.ok(mon, "monitoring listener registered");
  const base = (opts.http_base_path ?? "").replace(/\/+$/, "");
  const ctx: Ctx = {
    server,
    port: mon.port,
    url: `http://127.0.0.1:${mon.port}${base && !base.startsWith("/") ? "/" + base : base}`,
    async client(o = {}) {
      const nc = await connect({ servers: server.clientURL, ...o });
      conns.push(nc);
      return nc;
    },
  };
  try {
    await fn(ctx);
  } finally {
    for (const nc of conns) if (!nc.isClosed()) await nc.close().catch(() => {});
    await server.close();
  }
}

function varzValidator() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  return ajv.compile(JSON.parse(readFileSync(VARZ_SCHEMA, "utf8")));
}

async function get(url: string): Promise<{ status: number; text: string; type: string | null }> {
  const r = await fetch(url);
  return { status: r.status, text: await r.text(), type: r.headers.get("content-type") };
}

async function json<T = Record<string, any>>(url: string): Promise<T> {
  const r = await get(url);
  assert.equal(r.status, 200, `${url}: ${r.text}`);
  assert.equal(r.type, "application/json");
  return JSON.parse(r.text) as T;
}

/** A raw GET with an arbitrary request target (fetch normalises URLs). */
function rawGet(port: number, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function until(fn: () => Promise<boolean> | boolean, ms = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("formatting helpers write what nats-server writes", () => {
  assert.equal(goDuration(0), "0s");
  assert.equal(goDuration(850), "850ns");
  assert.equal(goDuration(1500), "1.5µs");
  assert.equal(goDuration(12_250_000), "12.25ms");
  assert.equal(goDuration(1_000_000), "1ms");
  assert.equal(goDuration(3_200_000_000), "3.2s");
  assert.equal(goDuration(60e9), "1m0s");
  assert.equal(goDuration(2 * 3600e9 + 3 * 60e9 + 4.5e9), "2h3m4.5s");
  assert.equal(goDuration(120e9), "2m0s");
  assert.equal(uptime(0), "0s");
  assert.equal(uptime(45_999), "45s");
  assert.equal(uptime(62_000), "1m2s");
  assert.equal(uptime((3600 + 5) * 1000), "1h0m5s");
  assert.equal(uptime((2 * 86400 + 3600) * 1000), "2d1h0m0s");
  assert.equal(uptime((366 * 86400) * 1000), "1y1d0h0m0s");
  assert.equal(rfc3339(Date.UTC(2024, 0, 2, 3, 4, 5, 120)), "2024-01-02T03:04:05.12Z");
  assert.equal(rfc3339(Date.UTC(2024, 0, 2, 3, 4, 5, 0)), "2024-01-02T03:04:05Z");
});

test("/varz validates against the schema and counts connections, subscriptions and messages", async () => {
  await withServer({ server_name: "mon-varz", max_payload: 512 * 1024, ping_interval: "30s" }, async (t) => {
    const sub = await t.client({ name: "sub" });
    const pub = await t.client({ name: "pub" });
    let got = 0;
    sub.subscribe("v.>", { callback: () => { got++; } });
    sub.subscribe("v.a");
    await sub.flush();
    for (let i = 0; i < 5; i++) pub.publish("v.a", "hello");
    pub.publish("other", "x");
    await pub.flush();
    await until(() => got === 5, 3000, "deliveries");
    await sub.flush();

    const v = await json(`${t.url}/varz`);
    const validate = varzValidator();
    assert.ok(validate(v), JSON.stringify(validate.errors, null, 2));

    assert.equal(v.server_id, t.server.serverId);
    assert.equal(v.server_name, "mon-varz");
    assert.equal(v.version, SERVER_VERSION);
    assert.equal(v.junction_version, JUNCTION_VERSION);
    assert.equal(v.proto, 1);
    assert.equal(v.host, "127.0.0.1");
    assert.equal(v.port, t.server.port);
    assert.equal(v.http_host, "127.0.0.1");
    assert.equal(v.http_port, t.port);
    assert.equal(v.https_port, 0);
    assert.equal(v.max_payload, 512 * 1024);
    assert.equal(v.max_control_line, 4096);
    assert.equal(v.max_pending, 64 * 1024 * 1024);
    assert.equal(v.ping_interval, 30e9, "a Go duration: nanoseconds");
    assert.equal(v.ping_max, 2);
    assert.equal(v.write_deadline, 10e9);
    assert.equal(v.auth_timeout, 2, "seconds");
    assert.equal(v.connections, 2);
    assert.equal(v.total_connections, 2);
    assert.equal(v.subscriptions, 2);
    assert.equal(v.in_msgs, 6);
    assert.equal(v.in_bytes, 5 * 5 + 1);
    assert.equal(v.out_msgs, 10, "5 messages to 2 matching subscriptions");
    assert.equal(v.out_bytes, 50);
    assert.equal(v.in_client_msgs, 6);
    assert.equal(v.out_client_msgs, 10);
    assert.equal(v.slow_consumers, 0);
    assert.deepEqual(v.slow_consumer_stats, { clients: 0, routes: 0, gateways: 0, leafs: 0 });
    assert.match(v.uptime, UPTIME);
    assert.match(v.start, RFC3339);
    assert.match(v.now, RFC3339);
    assert.match(v.config_load_time, RFC3339);
    assert.ok(Date.parse(v.now) >= Date.parse(v.start));
    assert.ok(Number.isInteger(v.mem) && v.mem > 0);
    assert.ok(Number.isInteger(v.cores) && v.cores > 0);
    assert.equal(typeof v.cpu, "number");
    assert.ok(v.cpu >= 0);
    assert.deepEqual(v.cluster, {});
    assert.deepEqual(v.websocket, {}, "no websocket configured");
    assert.deepEqual(v.jetstream, {});
    assert.deepEqual(v.http_req_stats, { "/varz": 1 });

    await json(`${t.url}/connz`);
    await json(`${t.url}/connz?subs=1`);
    await json(`${t.url}/subscriptionsz`);
    await get(`${t.url}/healthz`);
    await get(`${t.url}/nothing-here`);
    const v2 = await json(`${t.url}/varz`);
    assert.deepEqual(v2.http_req_stats, { "/varz": 2, "/connz": 2, "/subsz": 1, "/healthz": 1 });
    assert.equal(v2.total_connections, 2);

    await pub.close();
    await until(async () => (await json(`${t.url}/varz`)).connections === 1, 3000, "connections to drop");
    const v3 = await json(`${t.url}/varz`);
    assert.equal(v3.total_connections, 2);
    assert.equal(v3.subscriptions, 2);
  });
});

test("/varz shows the websocket section when configured", async () => {
  await withServer({ websocket: { host: "127.0.0.1", port: -1, no_tls: true, compression: true } }, async (t) => {
    const v = await json(`${t.url}/varz`);
    const ws = t.server.listeners.get("websocket");
    assert.equal(v.websocket.host, "127.0.0.1");
    assert.equal(v.websocket.no_tls, true);
    assert.equal(v.websocket.compression, true);
    if (ws) assert.equal(v.websocket.port, ws.port);
    assert.equal(typeof v.websocket.handshake_timeout, "number");
    const validate = varzValidator();
    assert.ok(validate(v), JSON.stringify(validate.errors));

    // a connection over WebSocket is listed with type "websocket"
    if (ws) {
      const sock = new WebSocket(`ws://127.0.0.1:${ws.port}`);
      sock.on("error", () => {});
      await once(sock, "open");
      sock.send(`CONNECT {"name":"over-ws","lang":"raw","version":"1"}\r\nSUB w.x 1\r\nPING\r\n`);
      await until(async () => (await json(`${t.url}/connz`)).connections.some((c: any) => c.name === "over-ws"), 3000, "ws client");
      const z = await json(`${t.url}/connz`);
      const c = z.connections.find((x: any) => x.name === "over-ws");
      assert.equal(c.type, "websocket");
      assert.equal(c.kind, "Client");
      assert.equal(c.subscriptions, 1);
      sock.close();
      await until(async () => (await json(`${t.url}/connz?state=closed`)).total === 1, 3000, "ws close");
    }
  });
});

test("/connz lists connections with their counters, subscriptions, sorting and paging", async () => {
  await withServer({}, async (t) => {
    const a = await t.client({ name: "alpha" });
    const b = await t.client({ name: "bravo" });
    const c = await t.client({ name: "charlie" });
    const received: string[] = [];
    b.subscribe("c.one", { callback: (_e, m) => { received.push(m.subject); } });
    b.subscribe("c.two", { queue: "workers" });
    c.subscribe("c.*", { callback: (_e, m) => { received.push(m.subject); } });
    c.subscribe("c.three");
    c.subscribe("c.four", { max: 10 });
    await b.flush();
    await c.flush();
    for (let i = 0; i < 3; i++) a.publish("c.one", "abcd"); // b and c get 3 each
    a.publish("c.zzz", "12345678"); // c only
    await a.flush();
    await until(() => received.length === 7, 3000, "deliveries");
    await b.flush();
    await c.flush();

    const z = await json(`${t.url}/connz`);
    assert.equal(z.server_id, t.server.serverId);
    assert.match(z.now, RFC3339);
    assert.equal(z.num_connections, 3);
    assert.equal(z.total, 3);
    assert.equal(z.offset, 0);
    assert.equal(z.limit, 1024);
    assert.deepEqual(z.connections.map((x: any) => x.name), ["alpha", "bravo", "charlie"], "sorted by cid");
    const [ca, cb, cc] = z.connections;
    assert.ok(ca.cid < cb.cid && cb.cid < cc.cid);
    for (const ci of z.connections) {
      assert.equal(ci.kind, "Client");
      assert.equal(ci.type, "nats");
      assert.equal(ci.ip, "127.0.0.1");
      assert.ok(ci.port > 0);
      assert.match(ci.start, RFC3339);
      assert.match(ci.last_activity, RFC3339);
      assert.match(ci.rtt, GO_DURATION);
      assert.match(ci.uptime, UPTIME);
      assert.match(ci.idle, UPTIME);
      assert.equal(ci.pending_bytes, 0);
      assert.ok(ci.lang, "lang from CONNECT");
      assert.ok(ci.version, "version from CONNECT");
      assert.equal(ci.stop, undefined);
      assert.equal(ci.reason, undefined);
      assert.equal(ci.subscriptions_list, undefined);
    }
    assert.deepEqual([ca.in_msgs, ca.in_bytes, ca.out_msgs, ca.out_bytes, ca.subscriptions], [4, 20, 0, 0, 0]);
    assert.deepEqual([cb.in_msgs, cb.out_msgs, cb.out_bytes, cb.subscriptions], [0, 3, 12, 2]);
    assert.deepEqual([cc.in_msgs, cc.out_msgs, cc.out_bytes, cc.subscriptions], [0, 4, 20, 3]);

    // subscriptions
    const zs = await json(`${t.url}/connz?subs=1&cid=${cc.cid}`);
    assert.equal(zs.num_connections, 1);
    assert.equal(zs.limit, 1);
    assert.deepEqual([...zs.connections[0].subscriptions_list].sort(), ["c.*", "c.four", "c.three"]);
    const zd = await json(`${t.url}/connz?subs=detail&cid=${cb.cid}`);
    const detail = zd.connections[0].subscriptions_list_detail;
    assert.equal(zd.connections[0].subscriptions_list, undefined);
    assert.deepEqual(
      detail.map((d: any) => ({ subject: d.subject, qgroup: d.qgroup, msgs: d.msgs, cid: d.cid })).sort((x: any, y: any) => x.subject.localeCompare(y.subject)),
      [
        { subject: "c.one", qgroup: undefined, msgs: 3, cid: cb.cid },
        { subject: "c.two", qgroup: "workers", msgs: 0, cid: cb.cid },
      ],
    );
    for (const d of detail) assert.equal(typeof d.sid, "string");
    const zmax = await json(`${t.url}/connz?subs=detail&cid=${cc.cid}`);
    assert.equal(zmax.connections[0].subscriptions_list_detail.find((d: any) => d.subject === "c.four").max, 10);

    // sorting
    const names = async (q: string) => (await json(`${t.url}/connz?${q}`)).connections.map((x: any) => x.name);
    assert.deepEqual(await names("sort=subs"), ["charlie", "bravo", "alpha"]);
    assert.deepEqual(await names("sort=msgs_from"), ["alpha", "bravo", "charlie"]);
    assert.deepEqual(await names("sort=msgs_to"), ["charlie", "bravo", "alpha"]);
    assert.deepEqual(await names("sort=bytes_to"), ["charlie", "bravo", "alpha"]);
    assert.deepEqual(await names("sort=bytes_from"), ["alpha", "bravo", "charlie"]);
    assert.deepEqual(await names("sort=start"), ["alpha", "bravo", "charlie"]);
    assert.deepEqual(await names("sort=uptime"), ["charlie", "bravo", "alpha"], "shortest uptime first, as nats-server");
    for (const key of ["cid", "pending", "last", "idle", "rtt"]) assert.equal((await names(`sort=${key}`)).length, 3, key);

    // paging
    const p1 = await json(`${t.url}/connz?offset=1&limit=1`);
    assert.deepEqual([p1.num_connections, p1.total, p1.offset, p1.limit], [1, 3, 1, 1]);
    assert.equal(p1.connections[0].name, "bravo");
    const p2 = await json(`${t.url}/connz?offset=2&limit=5&sort=subs`);
    assert.deepEqual(p2.connections.map((x: any) => x.name), ["alpha"]);
    const far = await json(`${t.url}/connz?offset=1000000000000`);
    assert.deepEqual([far.num_connections, far.total, far.connections.length], [0, 3, 0]);
    const neg = await json(`${t.url}/connz?offset=-5&limit=-1`);
    assert.deepEqual([neg.offset, neg.limit, neg.num_connections], [0, 1024, 3]);

    // one connection by cid; an unknown cid gives none
    const one = await json(`${t.url}/connz?cid=${cb.cid}`);
    assert.deepEqual(one.connections.map((x: any) => x.name), ["bravo"]);
    const none = await json(`${t.url}/connz?cid=99999`);
    assert.equal(none.num_connections, 0);
    assert.deepEqual(none.connections, []);

    // last_activity moves when a client publishes
    const before = Date.parse((await json(`${t.url}/connz?cid=${ca.cid}`)).connections[0].last_activity);
    await new Promise((r) => setTimeout(r, 30));
    a.publish("nobody.listens", "x");
    await a.flush();
    const after = Date.parse((await json(`${t.url}/connz?cid=${ca.cid}`)).connections[0].last_activity);
    assert.ok(after >= before + 25, `last_activity ${after} after ${before}`);
  });
});

test("/connz state=closed remembers closed connections and why they closed", async () => {
  await withServer({}, async (t) => {
    const keep = await t.client({ name: "keep" });
    const gone = await t.client({ name: "gone" });
    gone.subscribe("g.a");
    gone.subscribe("g.b");
    gone.publish("g.a", "12");
    await gone.flush();
    const goneCid = (await json(`${t.url}/connz`)).connections.find((x: any) => x.name === "gone").cid;
    await gone.close();
    await until(async () => (await json(`${t.url}/connz`)).num_connections === 1, 3000, "close to be seen");

    const open = await json(`${t.url}/connz`);
    assert.deepEqual(open.connections.map((x: any) => x.name), ["keep"]);
    const closed = await json(`${t.url}/connz?state=closed&subs=1`);
    assert.equal(closed.num_connections, 1);
    assert.equal(closed.total, 1);
    const cc = closed.connections[0];
    assert.equal(cc.cid, goneCid);
    assert.equal(cc.name, "gone");
    assert.equal(cc.reason, "Client Closed");
    assert.match(cc.stop, RFC3339);
    assert.ok(Date.parse(cc.stop) >= Date.parse(cc.start));
    assert.equal(cc.in_msgs, 1);
    assert.equal(cc.out_msgs, 1);
    assert.equal(cc.subscriptions, 2);
    assert.deepEqual([...cc.subscriptions_list].sort(), ["g.a", "g.b"]);

    const all = await json(`${t.url}/connz?state=all`);
    assert.deepEqual(all.connections.map((x: any) => x.name), ["keep", "gone"]);
    assert.equal(all.total, 2);
    const any = await json(`${t.url}/connz?state=ANY`);
    assert.equal(any.total, 2);
    const byCid = await json(`${t.url}/connz?state=closed&cid=${goneCid}`);
    assert.equal(byCid.connections[0].name, "gone");
    const notOpen = await json(`${t.url}/connz?cid=${goneCid}`);
    assert.equal(notOpen.num_connections, 0, "a closed cid is not among the open ones");
    const stopSorted = await json(`${t.url}/connz?state=closed&sort=stop`);
    assert.equal(stopSorted.num_connections, 1);
    const reasonSorted = await json(`${t.url}/connz?state=closed&sort=reason`);
    assert.equal(reasonSorted.connections[0].reason, "Client Closed");
    void keep;
  });
});

test("/connz auth=true shows the authorized user", async () => {
  await withServer({ authorization: { user: "mon", password: "s3cret" } }, async (t) => {
    await t.client({ user: "mon", pass: "s3cret", name: "authed" });
    const plain = await json(`${t.url}/connz`);
    assert.equal(plain.connections[0].authorized_user, undefined);
    const z = await json(`${t.url}/connz?auth=true`);
    assert.equal(z.connections[0].authorized_user, "mon");
    assert.equal(z.connections[0].account, undefined, "the global account is not named");
    const filtered = await json(`${t.url}/connz?auth=1&user=someone-else`);
    assert.equal(filtered.num_connections, 0);
    const v = await json(`${t.url}/varz`);
    assert.equal(v.auth_required, true);
  });
});

test("/connz rejects bad parameters with 400 and nats-server's texts", async () => {
  await withServer({}, async (t) => {
    const cases: [string, string][] = [
      ["sort=bogus", "invalid sorting option: bogus"],
      ["sort=stop", "sort by stop only valid on closed connections"],
      ["sort=reason&state=all", "sort by reason only valid on closed connections"],
      ["cid=abc", `Error decoding uint64 for 'cid': strconv.ParseUint: parsing "abc": invalid syntax`],
      ["cid=-1", `Error decoding uint64 for 'cid': strconv.ParseUint: parsing "-1": invalid syntax`],
      ["cid=99999999999999999999999", `Error decoding uint64 for 'cid': strconv.ParseUint: parsing "99999999999999999999999": value out of range`],
      ["offset=1.5", `Error decoding int for 'offset': strconv.Atoi: parsing "1.5": invalid syntax`],
      ["limit=ten", `Error decoding int for 'limit': strconv.Atoi: parsing "ten": invalid syntax`],
      ["offset=99999999999999999999", `Error decoding int for 'offset': strconv.Atoi: parsing "99999999999999999999": value out of range`],
      ["subs=maybe", `Error decoding boolean for 'subs': strconv.ParseBool: parsing "maybe": invalid syntax`],
      ["auth=yes", `Error decoding boolean for 'auth': strconv.ParseBool: parsing "yes": invalid syntax`],
      ["state=sleeping", "Error decoding state for sleeping"],
    ];
    for (const [q, text] of cases) {
      const r = await get(`${t.url}/connz?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.text, text, q);
    }
  });
});

test("/subsz reports sublist statistics and lists, filters and pages subscriptions", async () => {
  await withServer({}, async (t) => {
    const nc = await t.client();
    const other = await t.client();
    nc.subscribe("s.a");
    nc.subscribe("s.*");
    nc.subscribe("s.>", { queue: "q1" });
    other.subscribe("t.x");
    other.subscribe("s.b");
    await nc.flush();
    await other.flush();
    other.publish("s.a", "1");
    other.publish("s.a", "2");
    await other.flush();

    const z = await json(`${t.url}/subsz`);
    assert.equal(z.server_id, t.server.serverId);
    assert.match(z.now, RFC3339);
    assert.equal(z.num_subscriptions, 5);
    assert.equal(z.num_inserts, 5);
    assert.equal(z.num_removes, 0);
    assert.ok(z.num_matches >= 2);
    assert.equal(typeof z.cache_hit_rate, "number");
    assert.equal(typeof z.avg_fanout, "number");
    assert.ok(z.max_fanout >= 3, "s.a reaches s.a, s.* and the queue group");
    assert.equal(z.total, 0, "no list asked for");
    assert.equal(z.subscriptions_list, undefined);
    assert.equal(z.limit, 1024);

    const all = await json(`${t.url}/subsz?subs=1`);
    assert.equal(all.total, 5);
    assert.equal(all.subscriptions_list.length, 5);
    const qs = all.subscriptions_list.find((d: any) => d.subject === "s.>");
    assert.equal(qs.qgroup, "q1");
    assert.equal(qs.account, "$G");
    assert.equal(typeof qs.sid, "string");
    assert.equal(typeof qs.cid, "number");
    const sa = all.subscriptions_list.find((d: any) => d.subject === "s.a");
    assert.equal(sa.msgs, 2);

    const test1 = await json(`${t.url}/subsz?subs=1&test=s.a`);
    assert.deepEqual(test1.subscriptions_list.map((d: any) => d.subject).sort(), ["s.*", "s.>", "s.a"]);
    assert.equal(test1.total, 3);
    const test2 = await json(`${t.url}/subsz?subs=1&test=s.b.c`);
    assert.deepEqual(test2.subscriptions_list.map((d: any) => d.subject), ["s.>"]);
    const none = await json(`${t.url}/subsz?subs=1&test=nothing.here`);
    assert.equal(none.total, 0);
    assert.equal(none.subscriptions_list, undefined);

    const paged = await json(`${t.url}/subsz?subs=1&offset=1&limit=2`);
    assert.deepEqual([paged.total, paged.offset, paged.limit, paged.subscriptions_list.length], [5, 1, 2, 2]);
    const far = await json(`${t.url}/subsz?subs=1&offset=4000000000`);
    assert.equal(far.subscriptions_list, undefined);
    assert.equal(far.total, 5);

    const alias = await json(`${t.url}/subscriptionsz`);
    assert.equal(alias.num_subscriptions, 5);

    const bad = await get(`${t.url}/subsz?subs=1&test=s.*`);
    assert.equal(bad.status, 400);
    assert.equal(bad.text, "invalid test subject, must be valid publish subject: s.*");
    const bad2 = await get(`${t.url}/subsz?limit=x`);
    assert.equal(bad2.status, 400);

    await other.close();
    await until(async () => (await json(`${t.url}/subsz`)).num_subscriptions === 3, 3000, "subscriptions removed");
    const after = await json(`${t.url}/subsz`);
    assert.equal(after.num_removes, 2);
  });
});

test("/healthz answers ok, and as nats-server does without JetStream", async () => {
  await withServer({}, async (t) => {
    const h = await get(`${t.url}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(h.type, "application/json");
    assert.deepEqual(JSON.parse(h.text), { status: "ok" });
    const js = await get(`${t.url}/healthz?js-enabled-only=true`);
    assert.equal(js.status, 200);
    assert.deepEqual(JSON.parse(js.text), { status: "ok" });
    const bad = await get(`${t.url}/healthz?js-enabled-only=perhaps`);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /^Error decoding boolean for 'js-enabled-only'/);
    const noAcc = await get(`${t.url}/healthz?stream=S`);
    assert.equal(noAcc.status, 400);
    assert.deepEqual(JSON.parse(noAcc.text), { status: "error", error: `"account" must not be empty when checking stream health` });
    const details = await get(`${t.url}/healthz?account=A&consumer=C&details=true`);
    assert.equal(details.status, 400);
    assert.deepEqual(JSON.parse(details.text), {
      status: "error",
      errors: [{ type: "BAD_REQUEST", error: `"stream" must not be empty when checking consumer health` }],
    });
  });
});

test("/accountz, /routez, /gatewayz and /leafz give nats-server's shapes", async () => {
  await withServer({}, async (t) => {
    const nc = await t.client();
    nc.subscribe("acc.x");
    await nc.flush();
    const a = await json(`${t.url}/accountz`);
    assert.equal(a.server_id, t.server.serverId);
    assert.deepEqual(a.accounts, ["$G", "$SYS"]); // the system account always exists, as in nats-server
    const ad = await json(`${t.url}/accountz?acc=$G`);
    assert.equal(ad.account_detail.account_name, "$G");
    assert.equal(ad.account_detail.client_connections, 1);
    assert.equal(ad.account_detail.subscriptions, 1);
    assert.equal(ad.account_detail.sublist_stats.num_subscriptions, 1);
    const missing = await get(`${t.url}/accountz?acc=NOPE`);
    assert.equal(missing.status, 400);
    assert.equal(missing.text, "Account NOPE does not exist");

    const r = await json(`${t.url}/routez`);
    assert.deepEqual({ ...r, now: 0 }, { server_id: t.server.serverId, server_name: t.server.serverName, now: 0, num_routes: 0, routes: [] });
    const g = await json(`${t.url}/gatewayz`);
    assert.deepEqual({ ...g, now: 0 }, { server_id: t.server.serverId, now: 0, outbound_gateways: {}, inbound_gateways: {} });
    const l = await json(`${t.url}/leafz`);
    assert.deepEqual({ ...l, now: 0 }, { server_id: t.server.serverId, now: 0, leafnodes: 0, leafs: [] });
  });
});

test("unknown paths are 404, hostile requests get 4xx and the server keeps serving", async () => {
  await withServer({}, async (t) => {
    await t.client({ name: "survivor" });
    const root = await get(`${t.url}/`);
    assert.equal(root.status, 200);
    assert.match(root.type ?? "", /^text\/html/);
    assert.match(root.text, /href="\/varz"/);
    for (const p of ["/nope", "/varz/", "/VARZ", "/connz/extra", "/debug/vars/../../etc/passwd"]) {
      const r = await rawGet(t.port, p);
      assert.equal(r.status, 404, p);
      assert.equal(r.text, "404 page not found\n");
    }
    assert.equal((await rawGet(t.port, "/%zz")).status, 400);
    assert.equal((await rawGet(t.port, "//varz")).status, 404);
    assert.equal((await rawGet(t.port, "/var%7a")).status, 200, "the path is percent-decoded");
    assert.equal((await rawGet(t.port, `http://127.0.0.1:${t.port}/varz`)).status, 200, "absolute-form target");

    // very long URLs: a long query is answered, an over-long one refused by the HTTP layer
    const longQuery = await rawGet(t.port, `/connz?junk=${"x".repeat(6000)}&limit=2`);
    assert.equal(longQuery.status, 200);
    const tooLong = await rawGet(t.port, `/connz?junk=${"x".repeat(100_000)}`);
    assert.ok(tooLong.status === 431 || tooLong.status === 414 || tooLong.status === 400, String(tooLong.status));
    const longBad = await rawGet(t.port, `/connz?cid=${"9".repeat(5000)}`);
    assert.equal(longBad.status, 400);

    // many at once, with odd parameters
    const odd = [
      "/connz?limit=0", "/connz?limit=-99999999", "/connz?offset=-1", "/connz?subs=detail&sort=rtt",
      "/connz?cid=0", "/connz?state=", "/subsz?subs=t&limit=-1&offset=-1", "/subsz?test=", "/varz?x=%00",
      "/connz?sort=", "/connz?sort=cid&sort=bogus", "/healthz?details=1", "/accountz?acc=",
    ];
    const results = await Promise.all(odd.map((p) => rawGet(t.port, p)));
    results.forEach((r, i) => assert.equal(r.status, 200, `${odd[i]}: ${r.text}`));
    const zero = await json(`${t.url}/connz?limit=0`);
    assert.equal(zero.limit, 1024);

    const survivor = await json(`${t.url}/connz`);
    assert.equal(survivor.connections[0].name, "survivor");
  });
});

test("http_base_path prefixes every endpoint", async () => {
  await withServer({ http_base_path: "/mon/" }, async (t) => {
    assert.ok(t.url.endsWith("/mon"));
    const v = await json(`${t.url}/varz`);
    assert.equal(v.http_port, t.port);
    await json(`${t.url}/connz`);
    await json(`${t.url}/subsz`);
    assert.equal((await get(`${t.url}/healthz`)).status, 200);
    const root = await get(t.url);
    assert.equal(root.status, 200);
    assert.match(root.text, /href="\/mon\/varz"/);
    assert.equal((await rawGet(t.port, "/varz")).status, 404);
    assert.equal((await rawGet(t.port, "/")).status, 404);
  });
});

test("the monitoring listener closes with the server", async () => {
  const server = await startServer({ host: "127.0.0.1", port: -1, http_port: -1, http_host: "127.0.0.1" });
  const port = server.listeners.get("monitoring")!.port;
  // a keep-alive connection must not hold the shutdown up
  assert.equal((await fetch(`http://127.0.0.1:${port}/varz`)).status, 200);
  await server.close();
  await assert.rejects(fetch(`http://127.0.0.1:${port}/varz`));
});
