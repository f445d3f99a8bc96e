// Options (from a parsed configuration file, or given by an embedding program) → ResolvedOptions:
// every key checked, aliases folded, units normalised (durations in ms, sizes in bytes), defaults
// filled. Problems are collected and thrown together as one ConfigError naming file:line:col (or,
// for programmatic options, the key path) of each.
//
// The supported keys are the tables TOP_KEYS, AUTHORIZATION_KEYS and WEBSOCKET_KEYS below: one
// line per key. Keys nats-server knows that Junction does not do yet are listed in the NOT_YET_*
// sets and refused with "... is not supported yet". Anything else is an unknown key — except, as
// in nats-server, a key that was only defined to be used as a `$variable`.

import {
  ConfigError, type ConfigMap, formatPosition, isUsedVariable, positionOf,
} from "./parser.js";
import {
  DEFAULTS, type Options, type ResolvedAccount, type ResolvedImport, type ResolvedOptions,
  type ResolvedPermissions, type ResolvedUser, type ResolvedWebSocketOptions, type ResolvedJetStreamOptions,
} from "./options.js";
import { finishJetStream, resolveJetStream } from "./resolve-jetstream.js";
import {
  DEFAULT_SYSTEM_ACCOUNT, finishAuth, resolveAccounts, resolvePermissions, resolveUsers, GLOBAL_ACCOUNT,
} from "./resolve-auth.js";
import { resolveTls } from "./resolve-tls.js";
import { resolveMqtt } from "./resolve-mqtt.js";

export interface ResolveHooks {
  /** Called with each warning (nats-server warns about the same things). */
  warn?: (message: string) => void;
}

/** int32 max: nats-server keeps max_payload and max_control_line in an int32. */
const INT32_MAX = 2 ** 31 - 1;
/** nats-server warns about payloads larger than this. */
const MAX_PAYLOAD_WARN = 8 * 1024 * 1024;

// ---- what a value is, for messages ----

export function describe(v: unknown): string {
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  if (typeof v === "number") return `number ${v}`;
  if (typeof v === "boolean") return `boolean ${v}`;
  if (v instanceof Date) return `datetime ${v.toISOString()}`;
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "object") return "a map";
  return typeof v;
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

// ---- units ----

const SIZE_SUFFIX: Record<string, number> = (() => {
  const t: Record<string, number> = { "": 1, b: 1 };
  ["k", "m", "g", "t", "p", "e"].forEach((l, i) => {
    t[l] = 1000 ** (i + 1);
    t[l + "b"] = t[l + "i"] = t[l + "ib"] = 1024 ** (i + 1);
  });
  return t;
})();

/** "64MB", "1k", "512" → bytes (the configuration format's own suffixes); undefined if not a size. */
export function parseSize(s: string): number | undefined {
  const m = /^\s*(-?\d+)\s*([a-zA-Z]*)\s*$/.exec(s);
  if (!m) return undefined;
  const mult = SIZE_SUFFIX[m[2]!.toLowerCase()];
  if (mult === undefined) return undefined;
  return Number(m[1]) * mult;
}

const DURATION_UNIT_MS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000,
};

/** Go duration syntax ("2s", "1m30s", "250ms", "1.5h", "-1s", "0") → milliseconds; undefined if invalid. */
export function parseDuration(s: string): number | undefined {
  let str = s;
  let sign = 1;
  if (str.startsWith("-") || str.startsWith("+")) {
    if (str[0] === "-") sign = -1;
    str = str.slice(1);
  }
  if (str === "0") return 0;
  if (str === "") return undefined;
  const re = /(\d*)(?:\.(\d*))?([a-zµμ]+)/y;
  let total = 0;
  let pos = 0;
  while (pos < str.length) {
    re.lastIndex = pos;
    const m = re.exec(str);
    if (!m || m.index !== pos) return undefined;
    const [whole, int, frac, unit] = m as unknown as [string, string, string | undefined, string];
    if (int === "" && (frac === undefined || frac === "")) return undefined;
    const mult = DURATION_UNIT_MS[unit];
    if (mult === undefined) return undefined;
    total += Number(`${int || "0"}.${frac || "0"}`) * mult;
    pos += whole.length;
  }
  return sign * total;
}

/** Go's net.SplitHostPort. */
function splitHostPort(s: string): { host: string; port: string } | string {
  if (s.startsWith("[")) {
    const end = s.indexOf("]");
    if (end < 0) return "missing ']' in address";
    if (s[end + 1] !== ":") return end + 1 === s.length ? "missing port in address" : "unexpected characters after ']'";
    return { host: s.slice(1, end), port: s.slice(end + 2) };
  }
  const i = s.lastIndexOf(":");
  if (i < 0) return "missing port in address";
  if (s.indexOf(":") !== i) return "too many colons in address";
  return { host: s.slice(0, i), port: s.slice(i + 1) };
}

// ---- the resolver ----

/** Where a value sits: its container (for the position registry), its key, and its dotted path. */
export interface Loc {
  container: object;
  key: string;
  path: string;
}

export type Builder = {
  -readonly [K in keyof ResolvedOptions]?: ResolvedOptions[K];
} & {
  auth_user?: string;
  auth_password?: string;
  auth_token?: string;
  auth_users?: ResolvedUser[];
  default_permissions?: ResolvedPermissions;
  account_list?: ResolvedAccount[];
  account_users?: ResolvedUser[];
  account_locs?: Map<string, Loc>;
  import_locs?: Map<ResolvedImport, Loc>;
  ws_no_auth_user?: string;
  js?: Partial<ResolvedJetStreamOptions>;
  js_disabled?: boolean;
  js_store_dir?: string;
  ws?: Partial<ResolvedWebSocketOptions>;
  ws_port_set?: boolean;
};

/** Array elements are registered by numeric index, map keys by name. */
function locPosition(loc: Loc) {
  return positionOf(loc.container, loc.key) ??
    (Array.isArray(loc.container) ? positionOf(loc.container, Number(loc.key)) : undefined);
}

export class Resolver {
  readonly issues: ConfigError[] = [];
  /** where each resolved field was set, for checks across fields */
  readonly locs = new Map<string, Loc>();

  constructor(private readonly hooks: ResolveHooks) {}

  error(loc: Loc | undefined, reason: string): undefined {
    const pos = loc ? locPosition(loc) : undefined;
    this.issues.push(new ConfigError(reason, pos));
    return undefined;
  }

  warn(loc: Loc, reason: string): void {
    const pos = locPosition(loc);
    this.hooks.warn?.(pos ? `${formatPosition(pos)}: ${reason}` : reason);
  }

  // typed readers: the value, or undefined after recording an error

  string(loc: Loc, v: unknown): string | undefined {
    if (typeof v === "string") return v;
    return this.error(loc, `"${loc.path}" must be a string, got ${describe(v)}`);
  }

  bool(loc: Loc, v: unknown): boolean | undefined {
    if (typeof v === "boolean") return v;
    return this.error(loc, `"${loc.path}" must be a boolean (true/false), got ${describe(v)}`);
  }

  int(loc: Loc, v: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number | undefined {
    if (typeof v !== "number" || !Number.isInteger(v)) {
      return this.error(loc, `"${loc.path}" must be an integer, got ${describe(v)}`);
    }
    if (v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
      return this.error(loc, `"${loc.path}" must be ${range}, got ${v}`);
    }
    return v;
  }

  port(loc: Loc, v: unknown): number | undefined {
    return this.int(loc, v, -1, 65535);
  }

  /** A size: an integer number of bytes, or a string like "64MB". */
  size(loc: Loc, v: unknown, max: number = Number.MAX_SAFE_INTEGER): number | undefined {
    let n: number | undefined;
    if (typeof v === "number") n = v;
    else if (typeof v === "string") {
      n = parseSize(v);
      if (n === undefined) {
        return this.error(loc, `"${loc.path}": invalid size ${JSON.stringify(v)} (use e.g. 1048576, "1MB", "64KB")`);
      }
    } else return this.error(loc, `"${loc.path}" must be a size (bytes, or e.g. "1MB"), got ${describe(v)}`);
    if (!Number.isInteger(n)) return this.error(loc, `"${loc.path}" must be a whole number of bytes, got ${n}`);
    if (n < 0) return this.error(loc, `"${loc.path}" must not be negative, got ${n}`);
    if (n > max) return this.error(loc, `"${loc.path}" is too big: ${n} is over the limit of ${max}`);
    return n;
  }

  /** A duration: a Go duration string ("2s", "1m30s"), or a number of seconds. Result in ms. */
  duration(loc: Loc, v: unknown): number | undefined {
    let ms: number | undefined;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return this.error(loc, `"${loc.path}" must be a duration, got ${describe(v)}`);
      ms = v * 1000;
      this.warn(loc, `"${loc.path}" should be written as a duration (e.g. "${v}s"); a number is taken as seconds`);
    } else if (typeof v === "string") {
      ms = parseDuration(v);
      if (ms === undefined) {
        return this.error(loc, `"${loc.path}": invalid duration ${JSON.stringify(v)} (use e.g. "2s", "1m30s", "250ms", "1h")`);
      }
    } else {
      return this.error(loc, `"${loc.path}" must be a duration (e.g. "2s"), got ${describe(v)}`);
    }
    if (ms < 0) return this.error(loc, `"${loc.path}" must not be negative, got ${JSON.stringify(v)}`);
    return ms;
  }

  /** "host:port", or a port number alone (host then ""). */
  hostPort(loc: Loc, v: unknown): { host: string; port: number } | undefined {
    if (typeof v === "number") {
      const port = this.port(loc, v);
      return port === undefined ? undefined : { host: "", port };
    }
    if (typeof v !== "string") {
      return this.error(loc, `"${loc.path}" must be "host:port" or a port number, got ${describe(v)}`);
    }
    const hp = splitHostPort(v);
    if (typeof hp === "string") return this.error(loc, `"${loc.path}": could not parse address ${JSON.stringify(v)}: ${hp}`);
    if (!/^[+-]?\d+$/.test(hp.port)) return this.error(loc, `"${loc.path}": could not parse port ${JSON.stringify(hp.port)}`);
    const port = this.port(loc, Number(hp.port));
    return port === undefined ? undefined : { host: hp.host, port };
  }

  /** Walk a map with a key table. */
  walk(
    map: Record<string, unknown>, prefix: string, table: Record<string, Handler>,
    notYet: ReadonlySet<string>, b: Builder,
  ): void {
    for (const key of Object.keys(map)) {
      const v = map[key];
      if (v === undefined || v === null) continue;
      const lower = key.toLowerCase();
      const loc: Loc = { container: map, key, path: prefix + key };
      const h = Object.prototype.hasOwnProperty.call(table, lower) ? table[lower] : undefined;
      if (h) {
        h(this, b, v, loc);
        this.locs.set(prefix + lower, loc);
      } else if (notYet.has(lower)) {
        this.error(loc, `"${loc.path}" is not supported yet`);
      } else if (!isUsedVariable(map, key)) {
        this.error(loc, `unknown configuration key "${loc.path}"`);
      }
    }
  }
}

export type Handler = (r: Resolver, b: Builder, v: unknown, loc: Loc) => void;

// Handler builders for the common shapes.
type Field<T> = { [K in keyof Builder]-?: Builder[K] extends T | undefined ? K : never }[keyof Builder];
const str = (f: Field<string>): Handler => (r, b, v, loc) => { const x = r.string(loc, v); if (x !== undefined) (b[f] as string) = x; };
const bool = (f: Field<boolean>): Handler => (r, b, v, loc) => { const x = r.bool(loc, v); if (x !== undefined) (b[f] as boolean) = x; };
const int = (f: Field<number>, min: number, max?: number): Handler => (r, b, v, loc) => { const x = r.int(loc, v, min, max); if (x !== undefined) (b[f] as number) = x; };
const port = (f: Field<number>): Handler => (r, b, v, loc) => { const x = r.port(loc, v); if (x !== undefined) (b[f] as number) = x; };
const size = (f: Field<number>, max?: number): Handler => (r, b, v, loc) => { const x = r.size(loc, v, max); if (x !== undefined) (b[f] as number) = x; };
const duration = (f: Field<number>): Handler => (r, b, v, loc) => { const x = r.duration(loc, v); if (x !== undefined) (b[f] as number) = x; };

// ---- authorization { } ----

const AUTHORIZATION_KEYS: Record<string, Handler> = {
  user: str("auth_user"),
  username: str("auth_user"),
  password: str("auth_password"),
  pass: str("auth_password"),
  token: str("auth_token"),
  timeout: (r, b, v, loc) => {
    // nats-server: a number of seconds (integer or fractional), or a duration string
    let ms: number | undefined;
    if (typeof v === "number" && Number.isFinite(v)) {
      if (v < 0) return r.error(loc, `"${loc.path}" must not be negative, got ${v}`);
      ms = v * 1000;
    } else if (typeof v === "string") {
      ms = r.duration(loc, v);
    } else {
      return r.error(loc, `"${loc.path}" must be a number of seconds or a duration, got ${describe(v)}`);
    }
    if (ms === undefined) return;
    if (ms > 60_000) {
      r.warn(loc, `"${loc.path}" of ${ms / 1000} seconds is high, consider keeping it under 60 seconds (an unquoted 1m is 1000000: write "1m")`);
    }
    b.auth_timeout_ms = ms;
  },
};
Object.assign(AUTHORIZATION_KEYS, {
  users: (r: Resolver, b: Builder, v: unknown, loc: Loc) => {
    b.auth_users = resolveUsers(r, v, loc, GLOBAL_ACCOUNT);
  },
  default_permissions: defaultPermissions,
  default_permission: defaultPermissions,
  permissions: defaultPermissions,
} satisfies Record<string, Handler>);
function defaultPermissions(r: Resolver, b: Builder, v: unknown, loc: Loc): void {
  b.default_permissions = resolvePermissions(r, v, loc);
}
const NOT_YET_AUTHORIZATION = new Set([
  "nkeys", "auth_callout", "auth_hook", "proxy_required",
]);

// ---- websocket { } ----

const WEBSOCKET_KEYS: Record<string, Handler> = {
  listen: (r, b, v, loc) => {
    const hp = r.hostPort(loc, v);
    if (hp) {
      b.ws!.host = hp.host;
      b.ws!.port = hp.port;
    }
  },
  port: (r, b, v, loc) => { const p = r.port(loc, v); if (p !== undefined) b.ws!.port = p; },
  host: (r, b, v, loc) => { const s = r.string(loc, v); if (s !== undefined) b.ws!.host = s; },
  net: (r, b, v, loc) => { const s = r.string(loc, v); if (s !== undefined) b.ws!.host = s; },
  advertise: (r, b, v, loc) => { const s = r.string(loc, v); if (s !== undefined) b.ws!.advertise = s; },
  no_tls: (r, b, v, loc) => { const x = r.bool(loc, v); if (x !== undefined) b.ws!.no_tls = x; },
  tls: (r, b, v, loc) => { const t = resolveTls(r, v, loc); if (t) b.ws!.tls = t; },
  same_origin: (r, b, v, loc) => { const x = r.bool(loc, v); if (x !== undefined) b.ws!.same_origin = x; },
  compression: (r, b, v, loc) => { const x = r.bool(loc, v); if (x !== undefined) b.ws!.compression = x; },
  compress: (r, b, v, loc) => { const x = r.bool(loc, v); if (x !== undefined) b.ws!.compression = x; },
  handshake_timeout: (r, b, v, loc) => {
    const ms = r.duration(loc, v);
    if (ms !== undefined) b.ws!.handshake_timeout_ms = ms;
  },
  no_auth_user: (r, b, v, loc) => {
    const s = r.string(loc, v);
    if (s !== undefined) b.ws_no_auth_user = s;
  },
  allowed_origins: origins, allowed_origin: origins, allow_origins: origins, allow_origin: origins,
  origins, origin: origins,
};
const NOT_YET_WEBSOCKET = new Set([
  "authorization", "authentication", "jwt_cookie", "user_cookie", "pass_cookie",
  "token_cookie", "headers", "ping_interval",
]);

function origins(r: Resolver, b: Builder, v: unknown, loc: Loc): void {
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list)) {
    r.error(loc, `"${loc.path}" must be a string or an array of strings, got ${describe(v)}`);
    return;
  }
  const out: string[] = [];
  list.forEach((o, i) => {
    const eloc: Loc = { container: list, key: String(i), path: `${loc.path}[${i}]` };
    if (typeof o !== "string") {
      // positions of array elements are registered by index
      r.issues.push(new ConfigError(`"${eloc.path}" must be a string, got ${describe(o)}`,
        positionOf(list, i) ?? positionOf(loc.container, loc.key)));
      return;
    }
    let u: URL | undefined;
    try {
      u = new URL(o);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== "http:" && u.protocol !== "https:") || u.host === "") {
      r.issues.push(new ConfigError(
        `"${eloc.path}": allowed origins must be absolute http or https URLs with a host, got ${JSON.stringify(o)}`,
        positionOf(list, i) ?? positionOf(loc.container, loc.key)));
      return;
    }
    out.push(o);
  });
  b.ws!.allowed_origins = out;
}

// ---- the top level ----

const TOP_KEYS: Record<string, Handler> = {
  host: str("host"),
  net: str("host"),
  listen: (r, b, v, loc) => {
    const hp = r.hostPort(loc, v);
    if (hp) {
      b.host = hp.host;
      b.port = hp.port;
    }
  },
  port: port("port"),
  server_name: (r, b, v, loc) => {
    const s = r.string(loc, v);
    if (s === undefined) return;
    if (s.includes(" ")) return r.error(loc, `"${loc.path}" cannot contain spaces, got ${JSON.stringify(s)}`);
    b.server_name = s;
  },
  client_advertise: str("client_advertise"),

  http: (r, b, v, loc) => {
    const hp = r.hostPort(loc, v);
    if (hp) {
      b.http_host = hp.host;
      b.http_port = hp.port;
    }
  },
  http_port: port("http_port"),
  monitor_port: port("http_port"),
  http_host: str("http_host"),
  http_base_path: str("http_base_path"),

  max_payload: size("max_payload", INT32_MAX),
  max_control_line: size("max_control_line", INT32_MAX),
  max_pending: size("max_pending"),
  max_connections: int("max_connections", 0),
  max_conn: int("max_connections", 0),
  max_subscriptions: int("max_subscriptions", 0),
  max_subs: int("max_subscriptions", 0),
  ping_interval: duration("ping_interval_ms"),
  ping_max: int("ping_max", 0),
  write_deadline: duration("write_deadline_ms"),
  no_header_support: bool("no_header_support"),
  disable_sublist_cache: bool("disable_sublist_cache"),
  no_sublist_cache: bool("disable_sublist_cache"),

  authorization: (r, b, v, loc) => {
    if (!isMap(v)) return r.error(loc, `"${loc.path}" must be a map, got ${describe(v)}`);
    r.walk(v, loc.path + ".", AUTHORIZATION_KEYS, NOT_YET_AUTHORIZATION, b);
    if ((b.auth_user !== undefined || b.auth_password !== undefined) && b.auth_token !== undefined) {
      r.error(loc, `"${loc.path}" cannot have both a user/password and a token`);
    }
  },

  debug: bool("debug"),
  trace: bool("trace"),
  logtime: bool("logtime"),
  log_file: str("log_file"),
  logfile: str("log_file"),
  pid_file: str("pid_file"),
  pidfile: str("pid_file"),
  ports_file_dir: str("ports_file_dir"),

  lame_duck_duration: duration("lame_duck_duration_ms"),
  lame_duck_grace_period: duration("lame_duck_grace_period_ms"),

  websocket: websocket,
  ws: websocket,
  mqtt: resolveMqtt,

  tls: (r, b, v, loc) => { const t = resolveTls(r, v, loc); if (t) b.tls = t; },
  allow_non_tls: bool("allow_non_tls"),

  accounts: resolveAccounts,
  jetstream: resolveJetStream,
  js: resolveJetStream,
  // nats-server's top-level store_dir (also -sd): where JetStream stores, without enabling it
  store_dir: (r, b, v, loc) => {
    const s = r.string(loc, v);
    if (s !== undefined) b.js_store_dir = s;
  },
  no_auth_user: str("no_auth_user"),
  system_account: str("system_account"),
  system: str("system_account"),
};

function websocket(r: Resolver, b: Builder, v: unknown, loc: Loc): void {
  if (!isMap(v)) {
    r.error(loc, `"${loc.path}" must be a map, got ${describe(v)}`);
    return;
  }
  b.ws ??= {};
  r.walk(v, loc.path + ".", WEBSOCKET_KEYS, NOT_YET_WEBSOCKET, b);
}

/** nats-server keys that Junction does not support yet. */
const NOT_YET_TOP = new Set([
  "storedir", "cluster", "gateway", "leaf", "leafnodes",
  "https", "https_port", "ocsp", "ocsp_cache",
  "no_system_account", "no_system",
  "no_sys_acc", "operator", "operators", "roots", "root", "root_operators", "root_operator",
  "resolver", "account_resolver", "accounts_resolver", "resolver_tls", "resolver_preload",
  "resolver_pinned_accounts", "trusted", "trusted_keys", "default_sentinel",
  "mappings", "maps", "trace_verbose", "trace_headers", "logtime_utc", "syslog", "remote_syslog",
  "logfile_size_limit", "log_size_limit", "logfile_max_num", "log_max_num", "prof_port",
  "prof_block_rate", "proxy_protocol", "max_traced_msg_len", "max_sub_tokens",
  "max_subscription_tokens", "write_timeout", "connect_error_reports", "reconnect_error_reports",
  "server_tags", "server_metadata", "feature_flags", "default_js_domain", "no_fast_producer_stall",
  "max_closed_clients", "proxies",
]);

function normaliseBasePath(p: string): string {
  let s = p.trim();
  if (!s.startsWith("/")) s = "/" + s;
  s = s.replace(/\/+/g, "/");
  if (s.length > 1 && s.endsWith("/")) s = s.slice(0, -1);
  return s;
}

/**
 * Validate and normalise options: a parsed configuration (ConfigMap, positions known) or options
 * given by an embedding program. Throws a ConfigError listing every problem found.
 */
export function resolveOptions(
  opts: Options | ConfigMap, configFile?: string, hooks: ResolveHooks = {},
): ResolvedOptions {
  const r = new Resolver(hooks);
  const b: Builder = {};
  if (!isMap(opts)) {
    throw new ConfigError(`options must be an object, got ${describe(opts)}`);
  }
  r.walk(opts as Record<string, unknown>, "", TOP_KEYS, NOT_YET_TOP, b);

  const at = (k: string) => r.locs.get(k);

  const max_pending = b.max_pending || DEFAULTS.max_pending;
  const max_payload = b.max_payload || DEFAULTS.max_payload;
  if (max_payload > max_pending) {
    r.error(at("max_payload") ?? at("max_pending"),
      `"max_payload" (${max_payload}) cannot be higher than "max_pending" (${max_pending})`);
  } else if (b.max_payload !== undefined && b.max_payload > MAX_PAYLOAD_WARN) {
    r.warn(at("max_payload")!, `"max_payload" over 8MB is generally discouraged and could lead to poor performance`);
  }

  const ldd = b.lame_duck_duration_ms ?? DEFAULTS.lame_duck_duration_ms;
  const ldg = b.lame_duck_grace_period_ms || DEFAULTS.lame_duck_grace_period_ms;
  if (b.lame_duck_duration_ms !== undefined && ldd < 30_000) {
    r.error(at("lame_duck_duration"), `"lame_duck_duration" must be at least 30 seconds, got ${ldd / 1000}s`);
  } else if (ldg >= ldd) {
    r.error(at("lame_duck_grace_period") ?? at("lame_duck_duration"),
      `"lame_duck_grace_period" (${ldg / 1000}s) must be lower than "lame_duck_duration" (${ldd / 1000}s)`);
  }

  let websocket: ResolvedWebSocketOptions | undefined;
  if (b.ws && b.ws.port !== undefined && b.ws.port !== 0) {
    const ws = b.ws;
    // (a tls block that failed was reported already)
    if (!ws.no_tls && !ws.tls && !at("websocket.tls") && !at("ws.tls")) {
      r.error(at("websocket") ?? at("ws"),
        `"websocket" requires TLS configuration: add a "tls { cert_file, key_file }" block, or set "no_tls: true"`);
    }
    websocket = {
      host: ws.host || DEFAULTS.host,
      port: ws.port!,
      no_tls: ws.no_tls ?? false,
      compression: ws.compression ?? false,
      same_origin: ws.same_origin ?? false,
      allowed_origins: ws.allowed_origins ?? [],
      handshake_timeout_ms: ws.handshake_timeout_ms || DEFAULTS.websocket_handshake_timeout_ms,
    };
    if (ws.advertise !== undefined) websocket.advertise = ws.advertise;
    if (ws.tls) websocket.tls = ws.tls;
    if (b.ws_no_auth_user !== undefined) websocket.no_auth_user = b.ws_no_auth_user;
  }

  const auth = finishAuth(r, b, at);
  if (b.ws_no_auth_user !== undefined && !auth.users.some((u) => u.user === b.ws_no_auth_user)) {
    r.error(at("websocket.no_auth_user") ?? at("websocket"),
      `"websocket.no_auth_user": ${JSON.stringify(b.ws_no_auth_user)} not present as user in authorization block or account configuration`);
  }

  if (r.issues.length === 1) throw r.issues[0];
  if (r.issues.length > 1) throw new ConfigError(r.issues[0]!.reason, r.issues[0]!.position, r.issues);

  const host = b.host || DEFAULTS.host;
  const out: ResolvedOptions = {
    host,
    port: b.port || DEFAULTS.port,
    http_port: b.http_port ?? 0,
    http_host: b.http_host || host,
    http_base_path: normaliseBasePath(b.http_base_path ?? DEFAULTS.http_base_path),
    max_payload,
    max_control_line: b.max_control_line || DEFAULTS.max_control_line,
    max_pending,
    // nats-server: max_connections: 0 refuses every client; unset is 64K
    max_connections: b.max_connections === undefined ? DEFAULTS.max_connections
      : b.max_connections === 0 ? -1 : b.max_connections,
    max_subscriptions: b.max_subscriptions ?? 0,
    ping_interval_ms: b.ping_interval_ms || DEFAULTS.ping_interval_ms,
    ping_max: b.ping_max || DEFAULTS.ping_max,
    write_deadline_ms: b.write_deadline_ms || DEFAULTS.write_deadline_ms,
    no_header_support: b.no_header_support ?? false,
    disable_sublist_cache: b.disable_sublist_cache ?? false,
    // nats-server: with TLS, the default leaves the handshake its time and one second more
    auth_timeout_ms: b.auth_timeout_ms || (b.tls ? b.tls.timeout_ms + 1000 : DEFAULTS.auth_timeout_ms),
    users: auth.users,
    accounts: auth.accounts,
    system_account: b.system_account ?? DEFAULT_SYSTEM_ACCOUNT,
    debug: b.debug ?? false,
    trace: b.trace ?? false,
    logtime: b.logtime ?? DEFAULTS.logtime,
    lame_duck_duration_ms: ldd,
    lame_duck_grace_period_ms: ldg,
  };
  if (b.server_name !== undefined) out.server_name = b.server_name;
  if (b.client_advertise !== undefined) out.client_advertise = b.client_advertise;
  if (b.auth_user !== undefined || b.auth_password !== undefined || b.auth_token !== undefined) {
    const a: { user?: string; password?: string; token?: string } = {};
    if (b.auth_user !== undefined) a.user = b.auth_user;
    if (b.auth_password !== undefined) a.password = b.auth_password;
    if (b.auth_token !== undefined) a.token = b.auth_token;
    out.authorization = a;
  }
  if (b.no_auth_user !== undefined) out.no_auth_user = b.no_auth_user;
  const js = b.js_disabled ? undefined : finishJetStream(b);
  if (js) out.jetstream = js;
  if (b.log_file !== undefined) out.log_file = b.log_file;
  if (b.pid_file !== undefined) out.pid_file = b.pid_file;
  if (b.ports_file_dir !== undefined) out.ports_file_dir = b.ports_file_dir;
  if (websocket) out.websocket = websocket;
  if (b.mqtt) out.mqtt = b.mqtt;
  if (b.tls) out.tls = b.tls;
  if (b.tls && b.allow_non_tls) out.allow_non_tls = true;
  if (configFile !== undefined) out.config_file = configFile;
  return out;
}
