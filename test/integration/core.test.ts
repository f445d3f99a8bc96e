// Core NATS with the official client (@nats-io/transport-node) over real sockets.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, headers as natsHeaders, type NatsConnection, type Msg } from "@nats-io/transport-node";
import { startTestServer, sleep, until } from "../helpers.js";
import type { Server } from "../../src/server/server.js";
import { SERVER_VERSION, JUNCTION_VERSION } from "../../src/version.js";

let server: Server;
const conns: NatsConnection[] = [];

async function client(opts: Parameters<typeof connect>[0] = {}): Promise<NatsConnection> {
  const nc = await connect({ servers: server.clientURL, ...opts });
  conns.push(nc);
  return nc;
}

before(async () => {
  server = await startTestServer({ server_name: "core-test" });
});

after(async () => {
  for (const nc of conns) if (!nc.isClosed()) await nc.close();
  await server.close();
});

function collect(nc: NatsConnection, subject: string, opts: { queue?: string; max?: number } = {}): Msg[] {
  const got: Msg[] = [];
  nc.subscribe(subject, { ...opts, callback: (_e, m) => void got.push(m) });
  return got;
}

test("INFO carries what the clients gate features on", async () => {
  const nc = await client();
  const info = nc.info!;
  assert.equal(info.version, SERVER_VERSION);
  assert.equal((info as unknown as Record<string, unknown>).junction_version, JUNCTION_VERSION);
  assert.equal(info.proto, 1);
  assert.equal(info.headers, true);
  assert.equal(info.max_payload, 1024 * 1024);
  assert.match(info.server_id, /^N[A-Z2-7]{55}$/);
  assert.equal(info.server_name, "core-test");
  assert.equal(typeof info.client_id, "number");
  assert.equal(info.client_ip, "127.0.0.1");
  assert.equal(info.port, server.port);
});

test("publish/subscribe with * and > wildcards, in order", async () => {
  const sub = await client();
  const pub = await client();
  const exact = collect(sub, "orders.eu.created");
  const star = collect(sub, "orders.*.created");
  const gt = collect(sub, "orders.>");
  await sub.flush();
  const subjects = ["orders.eu.created", "orders.us.created", "orders.eu.deleted", "orders.eu.created.x", "other.eu.created"];
  for (let i = 0; i < subjects.length; i++) pub.publish(subjects[i], String(i));
  await pub.flush();
  await until(() => gt.length === 4);
  await sub.flush();
  assert.deepEqual(exact.map((m) => m.string()), ["0"]);
  assert.deepEqual(star.map((m) => m.subject), ["orders.eu.created", "orders.us.created"]);
  assert.deepEqual(gt.map((m) => m.subject), ["orders.eu.created", "orders.us.created", "orders.eu.deleted", "orders.eu.created.x"]);
});

test("many messages arrive complete and in order", async () => {
  const sub = await client();
  const pub = await client();
  const got: number[] = [];
  sub.subscribe("seq", { callback: (_e, m) => void got.push(Number(m.string())) });
  await sub.flush();
  const N = 20_000;
  for (let i = 0; i < N; i++) pub.publish("seq", String(i));
  await pub.flush();
  await until(() => got.length >= N, 10_000, "all messages");
  await sleep(20);
  assert.equal(got.length, N);
  for (let i = 0; i < N; i++) if (got[i] !== i) assert.fail(`message ${i} was ${got[i]}`);
});

test("queue groups: one member per group gets each message, spread across members", async () => {
  const a = await client(), b = await client(), c = await client(), plain = await client();
  const qa = collect(a, "jobs", { queue: "workers" });
  const qb = collect(b, "jobs", { queue: "workers" });
  const qc = collect(c, "jobs", { queue: "workers" });
  const other = collect(c, "jobs", { queue: "auditors" });
  const all = collect(plain, "jobs");
  await Promise.all([a.flush(), b.flush(), c.flush(), plain.flush()]);
  const pub = await client();
  const N = 600;
  for (let i = 0; i < N; i++) pub.publish("jobs", String(i));
  await pub.flush();
  await until(() => all.length === N && qa.length + qb.length + qc.length === N && other.length === N);
  await sleep(30);
  assert.equal(qa.length + qb.length + qc.length, N, "each message to exactly one worker");
  for (const q of [qa, qb, qc]) assert.ok(q.length > N / 10, `spread: ${qa.length}/${qb.length}/${qc.length}`);
  assert.equal(other.length, N);
  assert.equal(all.length, N);
  const seen = new Set([...qa, ...qb, ...qc].map((m) => m.string()));
  assert.equal(seen.size, N);
});

test("request/reply, multiple responders (first wins), and no responders", async () => {
  const r1 = await client(), r2 = await client();
  r1.subscribe("svc.echo", { callback: (_e, m) => void m.respond(`r1:${m.string()}`) });
  r2.subscribe("svc.echo", { callback: (_e, m) => void setTimeout(() => m.respond(`r2:${m.string()}`), 50) });
  await Promise.all([r1.flush(), r2.flush()]);
  const req = await client();
  const m = await req.request("svc.echo", "hi", { timeout: 2000 });
  assert.equal(m.string(), "r1:hi");

  const t0 = Date.now();
  await assert.rejects(req.request("svc.nobody", "x", { timeout: 5000 }), (e: Error) => {
    assert.match(e.message, /no responders/i);
    return true;
  });
  assert.ok(Date.now() - t0 < 1000, "no-responders answer comes at once, not after the timeout");

  // requestMany collects every responder
  const many: string[] = [];
  for await (const r of await req.requestMany("svc.echo", "all", { maxWait: 500 })) many.push(r.string());
  assert.deepEqual(many.sort(), ["r1:all", "r2:all"]);
});

test("headers, including a status line, survive the round trip", async () => {
  const sub = await client(), pub = await client();
  const got = collect(sub, "hdr");
  await sub.flush();
  const h = natsHeaders();
  h.append("X-Id", "42");
  h.append("X-Multi", "a");
  h.append("X-Multi", "b");
  pub.publish("hdr", "body", { headers: h });
  pub.publish("hdr", "plain");
  const h503 = natsHeaders(503, "No Responders");
  pub.publish("hdr", "", { headers: h503 });
  await pub.flush();
  await until(() => got.length === 3);
  assert.equal(got[0].headers?.get("X-Id"), "42");
  assert.deepEqual(got[0].headers?.values("X-Multi"), ["a", "b"]);
  assert.equal(got[0].string(), "body");
  assert.equal(got[1].headers, undefined);
  assert.equal(got[1].string(), "plain");
  assert.equal(got[2].headers?.code, 503);
  assert.equal(got[2].headers?.description, "No Responders");
});

test("auto-unsubscribe after max messages", async () => {
  const sub = await client(), pub = await client();
  const got = collect(sub, "limited", { max: 3 });
  await sub.flush();
  for (let i = 0; i < 10; i++) pub.publish("limited", String(i));
  await pub.flush();
  await sleep(100);
  assert.deepEqual(got.map((m) => m.string()), ["0", "1", "2"]);
  await until(() => server.globalAccount.sublist.match("limited").psubs.length === 0, 2000, "subscription removed");
});

test("echo: false keeps a client's own messages from it", async () => {
  const noEcho = await client({ noEcho: true });
  const other = await client();
  const mine = collect(noEcho, "echo.test");
  const theirs = collect(other, "echo.test");
  await Promise.all([noEcho.flush(), other.flush()]);
  noEcho.publish("echo.test", "from-noecho");
  other.publish("echo.test", "from-other");
  await Promise.all([noEcho.flush(), other.flush()]);
  await until(() => theirs.length === 2 && mine.length === 1);
  await sleep(30);
  assert.deepEqual(mine.map((m) => m.string()), ["from-other"]);
  assert.deepEqual(theirs.map((m) => m.string()).sort(), ["from-noecho", "from-other"]);
});

test("drain delivers what is pending, then closes", async () => {
  const sub = await client(), pub = await client();
  const got: string[] = [];
  sub.subscribe("drain.me", {
    callback: (_e, m) => {
      got.push(m.string());
    },
  });
  await sub.flush();
  for (let i = 0; i < 100; i++) pub.publish("drain.me", String(i));
  await pub.flush();
  await sleep(50);
  await sub.drain();
  assert.equal(got.length, 100);
  assert.equal(sub.isClosed(), true);
});

test("a connection's name, lang and version reach the server", async () => {
  const nc = await client({ name: "my-app" });
  await nc.flush();
  const c = [...server.clients.values()].find((x) => x.name === "my-app");
  assert.ok(c, "connection by name");
  assert.equal(c.lang, "nats.js");
  assert.match(c.version, /^\d+\.\d+/);
});

test("rtt and flush work (PING/PONG)", async () => {
  const nc = await client();
  const rtt = await nc.rtt();
  assert.ok(rtt >= 0 && rtt < 1000);
  await nc.flush();
});

test("the older `nats` v2 package works unchanged", async () => {
  const v2 = await import("nats");
  const nc = await v2.connect({ servers: server.clientURL });
  const sc = v2.StringCodec();
  const got: string[] = [];
  nc.subscribe("v2.>", { callback: (_e, m) => got.push(m.subject + "=" + sc.decode(m.data)) });
  nc.subscribe("v2.svc", { callback: (_e, m) => m.respond(sc.encode("pong")) });
  await nc.flush();
  nc.publish("v2.a", sc.encode("1"));
  const r = await nc.request("v2.svc", sc.encode("ping"), { timeout: 2000 });
  assert.equal(sc.decode(r.data), "pong");
  await nc.flush();
  await until(() => got.length === 2);
  assert.deepEqual(got, ["v2.a=1", "v2.svc=ping"]);
  await nc.close();
});

test("a payload bigger than the server's max_payload is refused by the client", async () => {
  const nc = await client();
  assert.throws(() => nc.publish("big", new Uint8Array(1024 * 1024 + 1)), /payload/i);
  // exactly max_payload is fine
  const got = collect(nc, "big");
  await nc.flush();
  nc.publish("big", new Uint8Array(1024 * 1024).fill(7));
  await nc.flush();
  await until(() => got.length === 1);
  assert.equal(got[0].data.length, 1024 * 1024);
  assert.equal(got[0].data[12345], 7);
});
