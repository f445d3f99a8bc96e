// The `mqtt { }` block, with nats-server's keys and checks (parseMQTT, validateMQTTOptions):
// listen/host/port, tls, no_auth_user, authorization { username, password, token, timeout },
// ack_wait, max_ack_pending and the JetStream-related settings it accepts, plus max_keepalive
// (mosquitto's option: nats-server has no MQTT 5 and no Server Keep Alive). As in nats-server, an
// MQTT listener needs an explicit server_name, an mqtt no_auth_user must name a configured user,
// and the block's username/token cannot be mixed with a users table.
import { MQTT_DEFAULTS, type ResolvedMqttOptions } from "./mqtt-options.js";
import { describe, isMap, type Builder, type Loc, type Resolver } from "./resolve.js";
import { resolveTls } from "./resolve-tls.js";

type Partial_ = Partial<ResolvedMqttOptions> & { tls_failed?: boolean };
type KeyHandler = (r: Resolver, m: Partial_, v: unknown, loc: Loc) => void;

/** nats-server's number-of-seconds-or-duration (authorization timeout). */
function seconds(r: Resolver, loc: Loc, v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) {
    if (v < 0) return r.error(loc, `"${loc.path}" must not be negative, got ${v}`);
    return v * 1000;
  }
  if (typeof v === "string") return r.duration(loc, v);
  return r.error(loc, `"${loc.path}" must be a number of seconds or a duration, got ${describe(v)}`);
}

const AUTH_KEYS: Record<string, KeyHandler> = {
  user: (r, m, v, loc) => { const s = r.string(loc, v); if (s !== undefined) (m.authorization ??= {}).user = s; },
  password: (r, m, v, loc) => { const s = r.string(loc, v); if (s !== undefined) (m.authorization ??= {}).password = s; },
  token: (r, m, v, loc) => { const s = r.string(loc, v); if (s !== undefined) (m.authorization ??= {}).token = s; },
  timeout: (r, m, v, loc) => { const ms = seconds(r, loc, v); if (ms !== undefined) m.auth_timeout_ms = ms; },
};
AUTH_KEYS.username = AUTH_KEYS.user!;
AUTH_KEYS.pass = AUTH_KEYS.password!;

const str = (f: "js_domain"): KeyHandler => (r, m, v, loc) => { const s = r.string(loc, v); if (s !== undefined) m[f] = s; };
const bool = (f: "consumer_memory_storage" | "reject_qos2_publish" | "downgrade_qos2_subscribe"): KeyHandler =>
  (r, m, v, loc) => { const b = r.bool(loc, v); if (b !== undefined) m[f] = b; };
const dur = (f: "ack_wait_ms" | "consumer_inactive_threshold_ms" | "js_api_timeout_ms"): KeyHandler =>
  (r, m, v, loc) => { const ms = r.duration(loc, v); if (ms !== undefined) m[f] = ms; };

const MQTT_KEYS: Record<string, KeyHandler> = {
  listen: (r, m, v, loc) => {
    const hp = r.hostPort(loc, v);
    if (hp) {
      m.host = hp.host;
      m.port = hp.port;
    }
  },
  port: (r, m, v, loc) => { const p = r.port(loc, v); if (p !== undefined) m.port = p; },
  host: (r, m, v, loc) => { const s = r.string(loc, v); if (s !== undefined) m.host = s; },
  tls: (r, m, v, loc) => {
    const t = resolveTls(r, v, loc);
    if (t) m.tls = t;
    else m.tls_failed = true;
  },
  authorization: (r, m, v, loc) => {
    if (!isMap(v)) return void r.error(loc, `"${loc.path}" must be a map, got ${describe(v)}`);
    walk(r, m, v, loc.path + ".", AUTH_KEYS);
  },
  no_auth_user: (r, m, v, loc) => { const s = r.string(loc, v); if (s !== undefined) m.no_auth_user = s; },
  ack_wait: dur("ack_wait_ms"),
  js_api_timeout: dur("js_api_timeout_ms"),
  max_ack_pending: (r, m, v, loc) => {
    if (typeof v === "number" && Number.isInteger(v) && (v < 0 || v > 0xffff)) {
      return void r.error(loc, `"${loc.path}": invalid value ${v}, should in [0..65535] range`);
    }
    const n = r.int(loc, v, 0, 0xffff);
    if (n !== undefined) m.max_ack_pending = n;
  },
  js_domain: str("js_domain"),
  stream_replicas: (r, m, v, loc) => { const n = r.int(loc, v, 0); if (n !== undefined) m.stream_replicas = n; },
  consumer_replicas: (r, _m, v, loc) => {
    if (r.int(loc, v, 0) !== undefined) r.warn(loc, `"${loc.path}": consumer replicas setting ignored in this server version`);
  },
  consumer_memory_storage: bool("consumer_memory_storage"),
  consumer_inactive_threshold: dur("consumer_inactive_threshold_ms"),
  reject_qos2_publish: bool("reject_qos2_publish"),
  downgrade_qos2_subscribe: bool("downgrade_qos2_subscribe"),
  // not a nats-server key (it has no MQTT 5); mosquitto's name and unit: whole seconds, 0 = no limit
  max_keepalive: (r, m, v, loc) => {
    let secs: number | undefined;
    if (typeof v === "number") secs = r.int(loc, v, 0, 0xffff);
    else if (typeof v === "string") {
      const ms = r.duration(loc, v);
      if (ms === undefined) return;
      if (ms % 1000 !== 0) return void r.error(loc, `"${loc.path}" must be a whole number of seconds, got ${JSON.stringify(v)}`);
      if (ms > 0xffff * 1000) return void r.error(loc, `"${loc.path}" must be at most 65535 seconds, got ${JSON.stringify(v)}`);
      secs = ms / 1000;
    } else return void r.error(loc, `"${loc.path}" must be a number of seconds or a duration, got ${describe(v)}`);
    if (secs !== undefined) m.max_keepalive = secs;
  },
};
MQTT_KEYS.net = MQTT_KEYS.host!;
MQTT_KEYS.authentication = MQTT_KEYS.authorization!;
MQTT_KEYS.ackwait = MQTT_KEYS.ack_wait!;
MQTT_KEYS.api_timeout = MQTT_KEYS.js_api_timeout!;
MQTT_KEYS.max_pending = MQTT_KEYS.max_ack_pending!;
MQTT_KEYS.max_inflight = MQTT_KEYS.max_ack_pending!;
MQTT_KEYS.consumer_auto_cleanup = MQTT_KEYS.consumer_inactive_threshold!;

function walk(r: Resolver, m: Partial_, map: Record<string, unknown>, prefix: string, table: Record<string, KeyHandler>): void {
  for (const key of Object.keys(map)) {
    const v = map[key];
    if (v === undefined || v === null) continue;
    const loc: Loc = { container: map, key, path: prefix + key };
    const h = Object.prototype.hasOwnProperty.call(table, key.toLowerCase()) ? table[key.toLowerCase()] : undefined;
    if (h) h(r, m, v, loc);
    else r.error(loc, `unknown configuration key "${loc.path}"`);
  }
}

function keyOf(map: Record<string, unknown>, ...names: string[]): unknown {
  for (const k of Object.keys(map)) if (names.includes(k.toLowerCase())) return map[k];
  return undefined;
}

/** The user names configured anywhere (authorization.users and accounts' users), from the raw options. */
function configuredUsers(top: Record<string, unknown>): { names: Set<string>; any: boolean } {
  const names = new Set<string>();
  let any = false;
  const collect = (users: unknown): void => {
    if (!Array.isArray(users)) return;
    for (const u of users) {
      if (!isMap(u)) continue;
      any = true;
      const n = keyOf(u, "user", "username");
      if (typeof n === "string") names.add(n);
      const nk = keyOf(u, "nkey");
      if (typeof nk === "string") names.add(nk);
    }
  };
  const auth = keyOf(top, "authorization");
  if (isMap(auth)) {
    collect(keyOf(auth, "users"));
    collect(keyOf(auth, "nkeys"));
  }
  const accounts = keyOf(top, "accounts");
  if (isMap(accounts)) for (const a of Object.values(accounts)) if (isMap(a)) collect(keyOf(a, "users"));
  return { names, any };
}

/** Handler of the top-level `mqtt` key. */
export function resolveMqtt(r: Resolver, b: Builder, v: unknown, loc: Loc): void {
  if (!isMap(v)) {
    r.error(loc, `"${loc.path}" must be a map, got ${describe(v)}`);
    return;
  }
  const m: Partial_ = {};
  walk(r, m, v, loc.path + ".", MQTT_KEYS);
  // nats-server: with no port, nothing else in the block matters
  if (m.port === undefined || m.port === 0) return;
  const top = isMap(loc.container) ? loc.container : {};
  const serverName = keyOf(top, "server_name");
  if (typeof serverName !== "string" || serverName === "") {
    r.error(loc, "mqtt requires server name to be explicitly set");
  }
  const users = configuredUsers(top);
  if (m.no_auth_user !== undefined) {
    if (!users.any) r.error(loc, `"mqtt.no_auth_user": ${JSON.stringify(m.no_auth_user)} present, but users are not defined`);
    else if (!users.names.has(m.no_auth_user)) {
      r.error(loc, `"mqtt.no_auth_user": ${JSON.stringify(m.no_auth_user)} not present as user in authorization block or account configuration`);
    }
  }
  if (users.any && m.authorization?.user !== undefined) r.error(loc, "mqtt authentication username not compatible with presence of users/nkeys");
  if (users.any && m.authorization?.token !== undefined) r.error(loc, "mqtt authentication token not compatible with presence of users/nkeys");
  if (m.authorization?.token !== undefined && (m.authorization.user !== undefined || m.authorization.password !== undefined)) {
    r.error(loc, `"mqtt.authorization" cannot have both a user/password and a token`);
  }
  const out: ResolvedMqttOptions = {
    host: m.host || "0.0.0.0",
    port: m.port,
    // nats-server: zero means the default
    ack_wait_ms: m.ack_wait_ms || MQTT_DEFAULTS.ack_wait_ms,
    max_ack_pending: m.max_ack_pending || MQTT_DEFAULTS.max_ack_pending,
    consumer_memory_storage: m.consumer_memory_storage ?? false,
    reject_qos2_publish: m.reject_qos2_publish ?? false,
    downgrade_qos2_subscribe: m.downgrade_qos2_subscribe ?? false,
  };
  if (m.tls) out.tls = m.tls;
  if (m.no_auth_user !== undefined) out.no_auth_user = m.no_auth_user;
  if (m.authorization) out.authorization = m.authorization;
  if (m.auth_timeout_ms !== undefined) out.auth_timeout_ms = m.auth_timeout_ms;
  if (m.js_domain !== undefined) out.js_domain = m.js_domain;
  if (m.stream_replicas !== undefined) out.stream_replicas = m.stream_replicas;
  if (m.consumer_inactive_threshold_ms !== undefined) out.consumer_inactive_threshold_ms = m.consumer_inactive_threshold_ms;
  if (m.js_api_timeout_ms !== undefined) out.js_api_timeout_ms = m.js_api_timeout_ms;
  if (m.max_keepalive) out.max_keepalive = m.max_keepalive;
  b.mqtt = out;
}
