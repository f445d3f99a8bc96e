// MQTT clients in HTTP monitoring, as nats-server shows them: /connz lists them (type "mqtt",
// `mqtt_client` = the client identifier) beside the NATS ones, open and closed; /varz counts them
// and has an `mqtt` section; /accountz counts them in their account.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { connect } from "@nats-io/transport-node";
import type { MqttClient } from "mqtt";
import type { Options } from "../../src/config/options.js";
import type { Server } from "../../src/server/server.js";
import { until } from "../helpers.js";
import { Collector, connectPacket, mqttConnect, RawMqtt, startMqttServer } from "../mqtt-helpers.js";

const VARZ_SCHEMA = fileURLToPath(new URL("../../../shared/reference/schemas/server/monitor/v1/varz.json", import.meta.url));
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function varzValidator() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  return ajv.compile(JSON.parse(readFileSync(VARZ_SCHEMA, "utf8")));
}

async function withServer(opts: Options, fn: (s: Server, url: string) => Promise<void>): Promise<void> {
  const s = await startMqttServer({ http_port: -1, http_host: "127.0.0.1", ...opts });
  try {
    await fn(s, `http://127.0.0.1:${s.httpPort}`);
  } finally {
    await s.close();
  }
}

async function json(url: string): Promise<Record<string, any>> {
  const r = await fetch(url);
  const text = await r.text();
  assert.equal(r.status, 200, `${url}: ${text}`);
  return JSON.parse(text);
}

function localPort(c: MqttClient): number {
  return (c.stream as unknown as { localPort: number }).localPort;
}

test("/connz lists MQTT clients with their client identifier and counters; /varz counts them", async () => {
  await withServer({ server_name: "mqtt-mon" }, async (s, url) => {
    const nc = await connect({ servers: s.clientURL, name: "nats-one" });
    const sub = await mqttConnect(s, { clientId: "dev-sub", protocolVersion: 4 });
    const got = new Collector(sub);
    await sub.subscribeAsync("t/a", { qos: 0 });
    const pub = await mqttConnect(s, { clientId: "dev-pub", protocolVersion: 5 });
    for (let i = 0; i < 3; i++) await pub.publishAsync("t/a", "hello", { qos: 1 });
    await got.count(3);

    const z = await json(`${url}/connz?subs=1`);
    assert.equal(z.num_connections, 3);
    assert.equal(z.total, 3);
    const byId = (id: string) => z.connections.find((c: any) => c.mqtt_client === id);
    const nats = z.connections.find((c: any) => c.name === "nats-one");
    assert.equal(nats.type, "nats");
    assert.equal(nats.mqtt_client, undefined);

    const zs = byId("dev-sub");
    assert.ok(zs, JSON.stringify(z.connections));
    assert.equal(zs.kind, "Client");
    assert.equal(zs.type, "mqtt");
    assert.equal(zs.ip, "127.0.0.1");
    assert.equal(zs.port, localPort(sub));
    assert.match(zs.start, RFC3339);
    assert.match(zs.last_activity, RFC3339);
    assert.equal(zs.rtt, "0s");
    assert.equal(zs.pending_bytes, 0);
    assert.equal(zs.in_msgs, 0);
    assert.equal(zs.out_msgs, 3);
    assert.equal(zs.out_bytes, 15);
    assert.equal(zs.subscriptions, 1);
    assert.deepEqual(zs.subscriptions_list, ["t.a"]);
    assert.equal(zs.stop, undefined);
    assert.equal(zs.reason, undefined);
    assert.equal(zs.name, undefined);
    assert.deepEqual(Object.keys(zs).slice(0, 5), ["cid", "kind", "type", "ip", "port"]);
    assert.equal(Object.keys(zs).at(-1), "mqtt_client");

    const zp = byId("dev-pub");
    assert.equal(zp.type, "mqtt");
    assert.equal(zp.port, localPort(pub));
    assert.equal(zp.in_msgs, 3);
    assert.equal(zp.in_bytes, 15);
    assert.equal(zp.out_msgs, 0);
    assert.equal(zp.subscriptions, 0);

    // filters, one cid, sorting
    const only = await json(`${url}/connz?mqtt_client=dev-pub`);
    assert.deepEqual(only.connections.map((c: any) => c.cid), [zp.cid]);
    const none = await json(`${url}/connz?mqtt_client=nobody`);
    assert.equal(none.num_connections, 0);
    const one = await json(`${url}/connz?cid=${zs.cid}`);
    assert.equal(one.connections[0].mqtt_client, "dev-sub");
    const from = await json(`${url}/connz?sort=msgs_from`);
    assert.equal(from.connections[0].mqtt_client, "dev-pub");
    const to = await json(`${url}/connz?sort=msgs_to`);
    assert.equal(to.connections[0].mqtt_client, "dev-sub");
    const detail = await json(`${url}/connz?subs=detail&mqtt_client=dev-sub`);
    const d = detail.connections[0].subscriptions_list_detail;
    assert.equal(d.length, 1);
    assert.equal(d[0].subject, "t.a");
    assert.equal(d[0].cid, zs.cid);

    const v = await json(`${url}/varz`);
    const validate = varzValidator();
    assert.ok(validate(v), JSON.stringify(validate.errors, null, 2));
    assert.equal(v.connections, 3);
    assert.equal(v.total_connections, 3);
    assert.equal(v.in_msgs, 3);
    assert.equal(v.in_bytes, 15);
    assert.equal(v.out_msgs, 3);
    assert.equal(v.out_bytes, 15);
    assert.deepEqual(v.mqtt, { host: "127.0.0.1", port: s.mqttPort, tls_timeout: 2 });

    const acc = await json(`${url}/accountz?acc=$G`);
    assert.equal(acc.account_detail.client_connections, 3);

    await pub.endAsync();
    await until(async () => (await json(`${url}/varz`)).connections === 2, 3000, "the MQTT connection to be gone");
    assert.equal((await json(`${url}/varz`)).total_connections, 3);
    await sub.endAsync();
    await nc.close();
  });
});

test("/connz state=closed keeps closed MQTT connections, with nats-server's reasons", async () => {
  await withServer({}, async (s, url) => {
    // a clean DISCONNECT
    const a = await mqttConnect(s, { clientId: "gone-clean" });
    await a.publishAsync("x/y", "12345", { qos: 0 });
    await until(() => s.stats.inMsgs === 1);
    await a.endAsync();
    // a second connection with the same client identifier takes the session over
    const b1 = await mqttConnect(s, { clientId: "twin" });
    b1.on("error", () => {});
    const b2 = await mqttConnect(s, { clientId: "twin" });
    // a malformed packet after CONNECT
    const raw = await RawMqtt.connect(s);
    raw.send(connectPacket("broken"));
    await raw.waitBytes(4);
    raw.send([0xf0, 0]); // reserved packet type 15
    await raw.waitClosed();

    const closedOf = async () => (await json(`${url}/connz?state=closed`)).connections as any[];
    await until(async () => (await closedOf()).length === 3, 3000, "three closed connections");
    const closed = await closedOf();
    const reason = (id: string) => closed.find((c) => c.mqtt_client === id)?.reason;
    assert.equal(reason("gone-clean"), "Client Closed");
    assert.equal(reason("twin"), "Duplicate Client ID");
    assert.equal(reason("broken"), "Protocol Violation");
    const clean = closed.find((c) => c.mqtt_client === "gone-clean");
    assert.equal(clean.type, "mqtt");
    assert.equal(clean.in_msgs, 1);
    assert.equal(clean.in_bytes, 5);
    assert.match(clean.stop, RFC3339);
    assert.ok(Date.parse(clean.stop) >= Date.parse(clean.start));

    // the open twin is still listed as open, and state=all has both
    const open = await json(`${url}/connz`);
    assert.deepEqual(open.connections.map((c: any) => c.mqtt_client), ["twin"]);
    const all = await json(`${url}/connz?state=all&mqtt_client=twin`);
    assert.equal(all.total, 2);
    const sorted = await json(`${url}/connz?state=closed&sort=reason`);
    assert.deepEqual(sorted.connections.map((c: any) => c.reason), ["Client Closed", "Duplicate Client ID", "Protocol Violation"]);
    const byCid = await json(`${url}/connz?state=closed&cid=${clean.cid}`);
    assert.equal(byCid.connections[0].mqtt_client, "gone-clean");
    await b2.endAsync();
    b1.end(true);
  });
});

test("/connz auth=true shows an MQTT client's user and account; /varz mqtt shows its settings", async () => {
  const opts: Options = {
    accounts: { A: { users: [{ user: "dev", password: "pw" }] } },
    mqtt: { port: -1, host: "127.0.0.1", no_auth_user: "dev", ack_wait: "45s", max_ack_pending: 200, authorization: { timeout: 3 } },
  };
  await withServer(opts, async (s, url) => {
    const c = await mqttConnect(s, { clientId: "in-a", username: "dev", password: "pw" });
    await c.subscribeAsync("a/#");
    const z = await json(`${url}/connz?auth=1&acc=A`);
    assert.equal(z.num_connections, 1);
    assert.equal(z.connections[0].mqtt_client, "in-a");
    assert.equal(z.connections[0].authorized_user, "dev");
    assert.equal(z.connections[0].account, "A");
    assert.equal((await json(`${url}/connz?user=dev`)).num_connections, 1);
    assert.equal((await json(`${url}/accountz?acc=A`)).account_detail.client_connections, 1);

    const v = await json(`${url}/varz`);
    const validate = varzValidator();
    assert.ok(validate(v), JSON.stringify(validate.errors, null, 2));
    assert.deepEqual(v.mqtt, {
      host: "127.0.0.1", port: s.mqttPort, no_auth_user: "dev", auth_timeout: 3, tls_timeout: 2,
      ack_wait: 45e9, max_ack_pending: 200,
    });
    await c.endAsync();
  });
});
