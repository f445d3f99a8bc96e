// The mqtt { } block: nats-server's keys, defaults and checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, resolveOptions, ConfigError } from "../../src/config/index.js";

function conf(text: string) {
  return resolveOptions(parseConfig(text, "j.conf"), "j.conf");
}

function fails(text: string, messages: string[]) {
  try {
    conf(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    const got = e.issues.length > 0 ? e.issues.map((i) => i.message) : [e.message];
    assert.deepEqual(got, messages);
    return;
  }
  assert.fail("resolved");
}

test("listen, host/port, defaults", () => {
  const a = conf("server_name: s\nmqtt { listen: 127.0.0.1:1884 }").mqtt!;
  assert.equal(a.host, "127.0.0.1");
  assert.equal(a.port, 1884);
  assert.equal(a.ack_wait_ms, 30_000);
  assert.equal(a.max_ack_pending, 1024);
  const b = conf('server_name: s\nmqtt { host: "::1", port: 1885, ack_wait: "1m", max_ack_pending: 100, js_domain: d }').mqtt!;
  assert.deepEqual([b.host, b.port, b.ack_wait_ms, b.max_ack_pending, b.js_domain], ["::1", 1885, 60_000, 100, "d"]);
  // nats-server: zero means the default
  assert.equal(conf('server_name: s\nmqtt { port: 1, ack_wait: "0s", max_ack_pending: 0 }').mqtt!.ack_wait_ms, 30_000);
  // no port, no listener (and no checks)
  assert.equal(conf("mqtt { ack_wait: \"5s\" }").mqtt, undefined);
});

test("authorization block and no_auth_user", () => {
  const a = conf("server_name: s\nmqtt { port: 1, authorization { username: u, password: p, timeout: 1.5 } }").mqtt!;
  assert.deepEqual(a.authorization, { user: "u", password: "p" });
  assert.equal(a.auth_timeout_ms, 1500);
  assert.deepEqual(conf("server_name: s\nmqtt { port: 1, authorization { token: t } }").mqtt!.authorization, { token: "t" });
  const n = conf("server_name: s\nauthorization { users: [{user: a, password: b}] }\nmqtt { port: 1, no_auth_user: a }").mqtt!;
  assert.equal(n.no_auth_user, "a");
});

test("nats-server's checks", () => {
  fails("mqtt { port: 1883 }", ["j.conf:1:1: mqtt requires server name to be explicitly set"]);
  fails("server_name: s\nmqtt { port: 1, no_auth_user: x }", ['j.conf:2:1: "mqtt.no_auth_user": "x" present, but users are not defined']);
  fails("server_name: s\nauthorization { users: [{user: a, password: b}] }\nmqtt { port: 1, no_auth_user: x }",
    ['j.conf:3:1: "mqtt.no_auth_user": "x" not present as user in authorization block or account configuration']);
  fails("server_name: s\nauthorization { users: [{user: a, password: b}] }\nmqtt { port: 1, authorization { username: u, password: p } }",
    ["j.conf:3:1: mqtt authentication username not compatible with presence of users/nkeys"]);
  fails("server_name: s\nmqtt { port: 1, max_ack_pending: 70000 }", ['j.conf:2:17: "mqtt.max_ack_pending": invalid value 70000, should in [0..65535] range']);
  fails("server_name: s\nmqtt { port: 1, bogus: 1 }", ['j.conf:2:17: unknown configuration key "mqtt.bogus"']);
  fails('server_name: s\nmqtt { port: 1, ack_wait: "soon" }', ['j.conf:2:17: "mqtt.ack_wait": invalid duration "soon" (use e.g. "2s", "1m30s", "250ms", "1h")']);
});

test("programmatic options", () => {
  const r = resolveOptions({ server_name: "s", mqtt: { port: -1, max_ack_pending: 10 } });
  assert.equal(r.mqtt!.port, -1);
  assert.equal(r.mqtt!.max_ack_pending, 10);
  assert.throws(() => resolveOptions({ mqtt: { port: -1 } }), { message: "mqtt requires server name to be explicitly set" });
});

test("max_keepalive: seconds or a duration, 0 = no limit; bad values refused", () => {
  assert.equal(conf("server_name: s\nmqtt { port: 1, max_keepalive: 30 }").mqtt!.max_keepalive, 30);
  assert.equal(conf('server_name: s\nmqtt { port: 1, max_keepalive: "2m" }').mqtt!.max_keepalive, 120);
  assert.equal(conf("server_name: s\nmqtt { port: 1, max_keepalive: 65535 }").mqtt!.max_keepalive, 65535);
  assert.equal(conf("server_name: s\nmqtt { port: 1, max_keepalive: 0 }").mqtt!.max_keepalive, undefined);
  assert.equal(conf("server_name: s\nmqtt { port: 1 }").mqtt!.max_keepalive, undefined);
  assert.equal(resolveOptions({ server_name: "s", mqtt: { port: -1, max_keepalive: 5 } }).mqtt!.max_keepalive, 5);
  fails("server_name: s\nmqtt { port: 1, max_keepalive: 65536 }", ['j.conf:2:17: "mqtt.max_keepalive" must be between 0 and 65535, got 65536']);
  fails("server_name: s\nmqtt { port: 1, max_keepalive: -1 }", ['j.conf:2:17: "mqtt.max_keepalive" must be between 0 and 65535, got -1']);
  fails("server_name: s\nmqtt { port: 1, max_keepalive: 1.5 }", ['j.conf:2:17: "mqtt.max_keepalive" must be an integer, got number 1.5']);
  fails('server_name: s\nmqtt { port: 1, max_keepalive: "1500ms" }', ['j.conf:2:17: "mqtt.max_keepalive" must be a whole number of seconds, got "1500ms"']);
  fails('server_name: s\nmqtt { port: 1, max_keepalive: "19h" }', ['j.conf:2:17: "mqtt.max_keepalive" must be at most 65535 seconds, got "19h"']);
  fails('server_name: s\nmqtt { port: 1, max_keepalive: "often" }', ['j.conf:2:17: "mqtt.max_keepalive": invalid duration "often" (use e.g. "2s", "1m30s", "250ms", "1h")']);
  fails("server_name: s\nmqtt { port: 1, max_keepalive: true }", ['j.conf:2:17: "mqtt.max_keepalive" must be a number of seconds or a duration, got boolean true']);
});
