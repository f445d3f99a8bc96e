// The configuration module: nats-server's configuration format → validated, normalised options.
import { parseConfigFile } from "./parser.js";
import { resolveOptions, type ResolveHooks } from "./resolve.js";
import type { ResolvedOptions } from "./options.js";

export {
  parseConfig, parseConfigFile, ConfigError, positionOf, setPosition, isUsedVariable,
  copyConfigMap, formatPosition,
} from "./parser.js";
export type { ConfigMap, ConfigValue, Position } from "./parser.js";
export { resolveOptions, parseDuration, parseSize } from "./resolve.js";
export type { ResolveHooks } from "./resolve.js";
export { DEFAULTS } from "./options.js";
export type {
  Options, ResolvedOptions, Duration, Size, WebSocketOptions, AuthorizationOptions,
  ResolvedWebSocketOptions,
} from "./options.js";

/** Parse and resolve a configuration file. Throws ConfigError naming file:line:col. */
export function loadConfig(path: string, hooks?: ResolveHooks): ResolvedOptions {
  return resolveOptions(parseConfigFile(path), path, hooks);
}
