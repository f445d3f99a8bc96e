// Junction's embedding API: `const s = await startServer({ port: -1 })`.
import { resolveOptions } from "./config/index.js";
import type { Options, ResolvedOptions } from "./config/options.js";
import { Logger, silentLogger } from "./logger.js";
import { startMonitor } from "./monitor/index.js";
import { Server } from "./server/server.js";
import { commandName } from "./server/files.js";
import { startWebSocket } from "./transport/websocket.js";
import { mqttWebSocketHook, startMqtt } from "./mqtt/index.js";
import { enableJetStream } from "./jetstream/index.js";

export interface StartOptions {
  /** Where log lines go. Default: none for an embedded server unless `log_file`, `debug` or `trace` is set. */
  logger?: Logger;
  /** The `<command>` of `<command>_<pid>.ports` (default: the program's name, as nats-server does). */
  portsFileName?: string;
}

/**
 * Starts a server with the given options (the configuration file's keys) and resolves once
 * every listener is up. `port: -1` picks a free port; read it from `server.port`.
 */
export async function startServer(options: Options = {}, start: StartOptions = {}): Promise<Server> {
  const resolved = resolveOptions(options);
  return startResolved(resolved, start);
}

/** Starts a server from options already resolved (the `junction` command uses this). */
export async function startResolved(resolved: ResolvedOptions, start: StartOptions = {}): Promise<Server> {
  const logger = start.logger ?? defaultLogger(resolved);
  const server = new Server(resolved, logger);
  // JetStream recovers its streams before the first client can publish to them
  if (resolved.jetstream) server.jetstream = enableJetStream(server);
  try {
    await server.start();
  } catch (e) {
    await server.close();
    throw e;
  }
  try {
    if (resolved.http_port !== 0) await startMonitor(server);
    const mqtt = resolved.mqtt ? await startMqtt(server) : undefined;
    server.mqtt = mqtt;
    if (resolved.websocket) await startWebSocket(server, mqtt ? { mqtt: mqttWebSocketHook(mqtt) } : {});
  } catch (e) {
    await server.close();
    throw e;
  }
  server.announce(start.portsFileName ?? commandName());
  return server;
}

function defaultLogger(o: ResolvedOptions): Logger {
  if (o.log_file || o.debug || o.trace) return new Logger({ debug: o.debug, trace: o.trace, logtime: o.logtime, file: o.log_file });
  return silentLogger();
}

export { Server } from "./server/server.js";
export { Logger } from "./logger.js";
export type { LoggerOptions, LogLevel } from "./logger.js";
export type { Options, ResolvedOptions, Duration, Size, WebSocketOptions, AuthorizationOptions, MqttOptions } from "./config/options.js";
export { ConfigError, loadConfig, resolveOptions } from "./config/index.js";
export { JUNCTION_VERSION, SERVER_VERSION } from "./version.js";
