// HTTP monitoring as nats-server serves it on `http_port` (`-m`): /varz, /connz, /subsz,
// /healthz, /accountz, /routez, /gatewayz, /leafz, under `http_base_path`.
import type { Listener, Server } from "../server/server.js";
import { Monitor } from "./http.js";

/**
 * Starts the monitoring HTTP server on `options.http_host:options.http_port` (a free port when
 * -1), registers it with the server as the "monitoring" listener and returns that listener.
 */
export async function startMonitor(server: Server): Promise<Listener> {
  const monitor = new Monitor(server);
  await monitor.listen();
  const listener: Listener = {
    name: "monitoring",
    port: monitor.httpPort,
    close: () => monitor.close(),
  };
  server.addListener(listener);
  return listener;
}

export { Monitor, normalizeBasePath } from "./http.js";
export { goDuration, uptime, rfc3339 } from "./format.js";
