// /varz: the server's identity, configuration limits and runtime counters, with nats-server's
// field names and units (Go durations in nanoseconds, timeouts in seconds, times in RFC 3339).
import { MQTT_DEFAULTS } from "../config/mqtt-options.js";
import { JUNCTION_VERSION, SERVER_VERSION } from "../version.js";
import { cores, type MonitorContext } from "./context.js";
import { rfc3339, uptime } from "./format.js";

const NS_PER_MS = 1e6;
/** nats-server's TLS_TIMEOUT, reported when no `tls {}` is configured */
const TLS_TIMEOUT_SECONDS = 2;

export function varz(ctx: MonitorContext): Record<string, unknown> {
  const s = ctx.server;
  const o = s.options;
  const now = Date.now();
  const v: Record<string, unknown> = {
    server_id: s.serverId,
    server_name: s.serverName,
    version: SERVER_VERSION,
    junction_version: JUNCTION_VERSION,
    proto: 1,
    go: `node${process.versions.node}`,
    host: o.host,
    port: s.port,
  };
  if (s.authRequiredGlobally) v.auth_required = true;
  if (o.tls) {
    // as in INFO
    if (!o.allow_non_tls || (o.tls.handshake_first && o.tls.handshake_first_fallback_ms === 0)) v.tls_required = true;
    if (o.tls.verify) v.tls_verify = true;
  }
  if (o.client_advertise) v.connect_urls = [o.client_advertise];
  v.max_connections = o.max_connections;
  if (o.max_subscriptions > 0) v.max_subscriptions = o.max_subscriptions;
  v.ping_interval = o.ping_interval_ms * NS_PER_MS;
  v.ping_max = o.ping_max;
  v.http_host = o.http_host;
  v.http_port = ctx.httpPort;
  v.http_base_path = o.http_base_path;
  v.https_port = 0;
  v.auth_timeout = o.auth_timeout_ms / 1000;
  v.max_control_line = o.max_control_line;
  v.max_payload = o.max_payload;
  v.max_pending = o.max_pending;
  v.cluster = {};
  v.gateway = {};
  v.leaf = {};
  v.mqtt = mqttVarz(ctx);
  v.websocket = websocketVarz(ctx);
  const js = s.jetstream;
  v.jetstream = js === undefined ? {} : { config: js.configJson(), stats: js.statsJson(), limits: {} };
  v.tls_timeout = o.tls ? o.tls.timeout_ms / 1000 : TLS_TIMEOUT_SECONDS;
  v.write_deadline = o.write_deadline_ms * NS_PER_MS;
  v.start = rfc3339(s.startTime);
  v.now = rfc3339(now);
  v.uptime = uptime(now - s.startTime.getTime());
  v.mem = process.memoryUsage.rss();
  v.cores = cores();
  // one event loop runs the server: the counterpart of GOMAXPROCS
  v.gomaxprocs = 1;
  v.cpu = ctx.cpu.sample();
  const st = s.stats;
  // MQTT clients are clients too (nats-server counts them alike)
  v.connections = s.clients.size + (s.mqtt?.conns.size ?? 0);
  v.total_connections = st.totalConnections;
  v.routes = 0;
  v.remotes = 0;
  v.leafnodes = 0;
  v.in_msgs = st.inMsgs;
  v.in_bytes = st.inBytes;
  v.in_client_msgs = st.inMsgs;
  v.in_client_bytes = st.inBytes;
  v.out_msgs = st.outMsgs;
  v.out_bytes = st.outBytes;
  v.out_client_msgs = st.outMsgs;
  v.out_client_bytes = st.outBytes;
  v.slow_consumers = st.slowConsumers;
  v.stale_connections = 0;
  v.stalled_clients = st.stalledClients;
  v.subscriptions = s.numSubscriptions();
  v.http_req_stats = Object.fromEntries(ctx.reqStats);
  v.config_load_time = rfc3339(configLoadTime(ctx));
  v.config_digest = "";
  if (s.accounts.has("$SYS")) v.system_account = "$SYS";
  v.slow_consumer_stats = { clients: st.slowConsumers, routes: 0, gateways: 0, leafs: 0 };
  v.stale_connection_stats = { clients: 0, routes: 0, gateways: 0, leafs: 0 };
  v.disk_io_wait_stats = { waiters: 0, waits: 0, wait_time: 0, max_wait_time: 0 };
  return v;
}

/** The `websocket` section: empty unless configured; unset fields are left out (Go's omitempty). */
function websocketVarz(ctx: MonitorContext): Record<string, unknown> {
  const ws = ctx.server.options.websocket;
  if (!ws) return {};
  const out: Record<string, unknown> = {};
  if (ws.host) out.host = ws.host;
  const port = ctx.server.listeners.get("websocket")?.port ?? ws.port;
  if (port) out.port = port;
  if (ws.advertise) out.advertise = ws.advertise;
  if (ws.no_auth_user) out.no_auth_user = ws.no_auth_user;
  if (ws.handshake_timeout_ms) out.handshake_timeout = ws.handshake_timeout_ms * NS_PER_MS;
  if (ws.no_tls) out.no_tls = true;
  if (ws.tls?.map) out.tls_map = true;
  if (ws.tls?.pinned_certs) out.tls_pinned_certs = [...ws.tls.pinned_certs];
  if (ws.same_origin) out.same_origin = true;
  if (ws.allowed_origins.length > 0) out.allowed_origins = [...ws.allowed_origins];
  if (ws.compression) out.compression = true;
  return out;
}

/**
 * The `mqtt` section: empty unless configured; unset fields are left out (Go's omitempty), so
 * ack_wait and max_ack_pending show only when set to something else than the defaults.
 */
function mqttVarz(ctx: MonitorContext): Record<string, unknown> {
  const m = ctx.server.options.mqtt;
  if (!m) return {};
  const out: Record<string, unknown> = {};
  if (m.host) out.host = m.host;
  const port = ctx.server.mqttPort ?? m.port;
  if (port > 0) out.port = port;
  if (m.no_auth_user) out.no_auth_user = m.no_auth_user;
  if (m.auth_timeout_ms) out.auth_timeout = m.auth_timeout_ms / 1000;
  if (m.tls?.map) out.tls_map = true;
  // nats-server reports its TLS timeout default even without tls {}
  out.tls_timeout = m.tls ? m.tls.timeout_ms / 1000 : TLS_TIMEOUT_SECONDS;
  if (m.tls?.pinned_certs) out.tls_pinned_certs = [...m.tls.pinned_certs];
  if (m.js_domain) out.js_domain = m.js_domain;
  if (m.ack_wait_ms !== MQTT_DEFAULTS.ack_wait_ms) out.ack_wait = m.ack_wait_ms * NS_PER_MS;
  if (m.max_ack_pending !== MQTT_DEFAULTS.max_ack_pending) out.max_ack_pending = m.max_ack_pending;
  return out;
}

/** When the configuration was (re)loaded: the server's own record once reload keeps one, else its start. */
function configLoadTime(ctx: MonitorContext): Date {
  const t = (ctx.server as { configLoadTime?: unknown }).configLoadTime;
  return t instanceof Date ? t : ctx.server.startTime;
}
