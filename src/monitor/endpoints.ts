// The smaller endpoints: /healthz, /accountz, and the cluster views (/routez, /gatewayz,
// /leafz) in the shapes nats-server gives when it has no routes, gateways or leaf nodes.
import type { MonitorContext } from "./context.js";
import { BadRequest, rfc3339, type Query } from "./format.js";

export interface HealthResult {
  code: number;
  body: Record<string, unknown>;
}

/** /healthz: {"status":"ok"}, or why not (nats-server's texts and status codes). */
export function healthz(ctx: MonitorContext, q: Query): HealthResult {
  const jsEnabledOnly = q.bool("js-enabled") || q.bool("js-enabled-only");
  const jsServerOnly = q.bool("js-server-only");
  q.bool("js-meta-only");
  const details = q.bool("details");
  const account = q.get("account");
  const stream = q.get("stream");
  const consumer = q.get("consumer");

  const fail = (code: number, type: string, error: string): HealthResult =>
    details
      ? { code, body: { status: "error", errors: [{ type, error }] } }
      : { code, body: { status: code === 503 || code === 404 ? "unavailable" : "error", error } };

  if (account === "" && stream !== "") return fail(400, "BAD_REQUEST", `"account" must not be empty when checking stream health`);
  if (stream === "" && consumer !== "") return fail(400, "BAD_REQUEST", `"stream" must not be empty when checking consumer health`);
  const s = ctx.server;
  if (!s.running || s.lameDuck) return fail(500, "CONNECTION", "failed to be ready for connections after 1ms: client");
  const ok: HealthResult = { code: 200, body: { status: "ok" } };
  // without JetStream configured, or asked about the server only, that is all
  const js = s.jetstream;
  if (jsServerOnly || !s.options.jetstream) return ok;
  if (js === undefined) return fail(503, "JETSTREAM", "JetStream not enabled");
  if (jsEnabledOnly) return ok;
  // single server: the accounts and streams asked about must be there (recovered)
  if (account !== "") {
    const a = js.accounts.get(account);
    if (a === undefined) return fail(404, "ACCOUNT", `JetStream account ${JSON.stringify(account)} not found`);
    if (stream !== "") {
      const st = a.streams.get(stream);
      if (st === undefined) return fail(404, "STREAM", `JetStream stream ${JSON.stringify(stream)} not found on account ${JSON.stringify(account)}`);
      if (consumer !== "" && !st.consumers.has(consumer)) {
        return fail(404, "CONSUMER", `JetStream consumer ${JSON.stringify(consumer)} not found for stream ${JSON.stringify(stream)} on account ${JSON.stringify(account)}`);
      }
    }
  }
  return ok;
}

/** /accountz: the account names, or one account's details with `acc`. */
export function accountz(ctx: MonitorContext, q: Query): Record<string, unknown> {
  const s = ctx.server;
  const out: Record<string, unknown> = { server_id: s.serverId, now: rfc3339(Date.now()) };
  if (s.accounts.has("$SYS")) out.system_account = "$SYS";
  const name = q.get("acc");
  if (name === "") {
    out.accounts = [...s.accounts.keys()];
    return out;
  }
  const a = s.accounts.get(name);
  if (!a) throw new BadRequest(`Account ${name} does not exist`);
  let clients = 0;
  for (const c of s.clients.values()) if (c.account === a) clients++;
  if (s.mqtt) for (const c of s.mqtt.conns) if (c.state?.account === a) clients++;
  const detail: Record<string, unknown> = { account_name: name, update_time: rfc3339(s.startTime) };
  if (name === "$SYS") detail.is_system = true;
  Object.assign(detail, {
    expired: false,
    complete: true,
    jetstream_enabled: s.jetstream?.accounts.has(name) ?? false,
    leafnode_connections: 0,
    client_connections: clients,
    subscriptions: a.sublist.size,
    sublist_stats: a.sublist.stats(),
  });
  out.account_detail = detail;
  return out;
}

export function routez(ctx: MonitorContext, q: Query): Record<string, unknown> {
  q.subs();
  const s = ctx.server;
  return { server_id: s.serverId, server_name: s.serverName, now: rfc3339(Date.now()), num_routes: 0, routes: [] };
}

export function gatewayz(ctx: MonitorContext, q: Query): Record<string, unknown> {
  q.subs();
  q.bool("accs");
  return { server_id: ctx.server.serverId, now: rfc3339(Date.now()), outbound_gateways: {}, inbound_gateways: {} };
}

export function leafz(ctx: MonitorContext, q: Query): Record<string, unknown> {
  q.bool("subs");
  return { server_id: ctx.server.serverId, now: rfc3339(Date.now()), leafnodes: 0, leafs: [] };
}

const INDEX: [string, string][] = [
  ["General", "/varz"],
  ["Connections", "/connz"],
  ["Accounts", "/accountz"],
  ["Subscriptions", "/subsz"],
  ["Routes", "/routez"],
  ["LeafNodes", "/leafz"],
  ["Gateways", "/gatewayz"],
  ["JetStream", "/jsz"],
  ["Health Probe", "/healthz"],
];

/** The root page: links to the endpoints under the base path. */
export function rootPage(version: string, junctionVersion: string, basePath: string): string {
  const base = basePath === "/" ? "" : basePath;
  const links = INDEX.map(([label, p]) => `    <a href="${base}${p}">${label}<span class="endpoint"> ${p}</span></a>`).join("\n");
  return `<html lang="en">
  <head>
    <title>Junction monitoring</title>
    <style type="text/css">
      body { font-family: ui-sans-serif, system-ui, sans-serif; margin-left: 32px }
      a { display: block; margin-left: 7px; padding-bottom: 6px; color: rgb(72 72 92); text-decoration: none }
      a:hover { font-weight: 600; color: rgb(59 50 202) }
      .endpoint { font-size: 12px; color: #999; font-family: monospace; display: none }
      a:hover .endpoint { display: inline }
    </style>
  </head>
  <body>
    <h1>Junction</h1>
    <p>v${junctionVersion} (nats-server v${version} compatible)</p>
${links}
    <a href="https://docs.nats.io/running-a-nats-service/nats_admin/monitoring">Help</a>
  </body>
</html>
`;
}
