// The `junction` command line, modelled on nats-server's flags (Go's flag package rules):
// `-p 4222`, `-p=4222`, `--port 4222` and `--port=4222` are the same; boolean flags take no
// separate argument (`-D`, `-T=false`); `--` or the first non-flag argument ends the flags.
// A first argument `bench` selects the load generator instead. Flags override the file.

import {
  copyConfigMap, parseConfigFile, resolveOptions, setPosition,
  type ConfigMap, type Options, type ResolveHooks, type ResolvedOptions,
} from "../config/index.js";

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlagError";
  }
}

export interface ServerFlags {
  command: "server";
  /** -c/--config */
  config?: string;
  /** -t: check the configuration and exit */
  checkConfig: boolean;
  /** only what the flags set, as configuration keys */
  options: Options;
  /** -js: enable JetStream (keeping the file's jetstream settings) */
  jetstream?: boolean;
  /** which flag (as typed) set each option key ("port" → "-p", "authorization.user" → "--user") */
  flagOf: Record<string, string>;
  /** --tls, --tlsverify, --tlscert, --tlskey, --tlscacert: they replace the file's `tls` block */
  tls?: TlsFlags;
}

export interface TlsFlags {
  /** --tls (false: no TLS at all, whatever the file and the other flags say) */
  enabled?: boolean;
  cert_file?: string;
  key_file?: string;
  ca_file?: string;
  verify?: boolean;
}

export type ParsedFlags =
  | ServerFlags
  | { command: "bench"; args: string[] }
  | { command: "help" }
  | { command: "version" };

type Target =
  | { kind: "option"; key: "host" | "server_name" | "log_file" | "pid_file" | "ports_file_dir" | "client_advertise"; type: "string" }
  | { kind: "option"; key: "port" | "http_port"; type: "int" }
  | { kind: "option"; key: "debug" | "trace" | "logtime"; type: "bool" }
  | { kind: "auth"; key: "user" | "password" | "token" }
  | { kind: "tls"; key: "cert_file" | "key_file" | "ca_file" }
  | { kind: "tls_bool"; key: "enabled" | "verify" }
  | { kind: "debug_trace" }
  | { kind: "jetstream" }
  | { kind: "store_dir" }
  | { kind: "config" }
  | { kind: "check" }
  | { kind: "help" }
  | { kind: "version" };

const s = (key: "host" | "server_name" | "log_file" | "pid_file" | "ports_file_dir" | "client_advertise"): Target =>
  ({ kind: "option", key, type: "string" });
const i = (key: "port" | "http_port"): Target => ({ kind: "option", key, type: "int" });
const b = (key: "debug" | "trace" | "logtime"): Target => ({ kind: "option", key, type: "bool" });

/** Every supported flag, by name (without dashes). */
const FLAGS: Record<string, Target> = {
  a: s("host"), addr: s("host"), net: s("host"),
  p: i("port"), port: i("port"),
  n: s("server_name"), name: s("server_name"), server_name: s("server_name"),
  c: { kind: "config" }, config: { kind: "config" },
  m: i("http_port"), http_port: i("http_port"),
  l: s("log_file"), log: s("log_file"),
  P: s("pid_file"), pid: s("pid_file"),
  ports_file_dir: s("ports_file_dir"),
  client_advertise: s("client_advertise"),
  D: b("debug"), debug: b("debug"),
  V: b("trace"), trace: b("trace"),
  DV: { kind: "debug_trace" },
  T: b("logtime"), logtime: b("logtime"),
  user: { kind: "auth", key: "user" },
  pass: { kind: "auth", key: "password" },
  auth: { kind: "auth", key: "token" },
  tls: { kind: "tls_bool", key: "enabled" },
  tlsverify: { kind: "tls_bool", key: "verify" },
  tlscert: { kind: "tls", key: "cert_file" },
  tlskey: { kind: "tls", key: "key_file" },
  tlscacert: { kind: "tls", key: "ca_file" },
  js: { kind: "jetstream" }, jetstream: { kind: "jetstream" },
  sd: { kind: "store_dir" }, store_dir: { kind: "store_dir" },
  t: { kind: "check" },
  v: { kind: "version" }, version: { kind: "version" },
  h: { kind: "help" }, help: { kind: "help" },
};

/** nats-server flags Junction does not support yet. */
const NOT_YET = new Set([
  "VV", "DVV", "ms", "https_port", "sl", "signal", "s", "syslog", "r", "remote_syslog",
  "log_size_limit", "logtime_utc", "max_traced_msg_len", "profile", "routes", "cluster",
  "cluster_listen", "cluster_advertise", "cluster_name", "no_advertise", "connect_retries",
  "help_tls",
]);

const isBoolTarget = (t: Target) =>
  (t.kind === "option" && t.type === "bool") || t.kind === "tls_bool" || t.kind === "debug_trace" || t.kind === "check" ||
  t.kind === "jetstream" ||
  t.kind === "help" || t.kind === "version";

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return undefined;
}

/** Parse the arguments after the program name. Throws FlagError. */
export function parseFlags(argv: readonly string[]): ParsedFlags {
  if (argv[0] === "bench") return { command: "bench", args: argv.slice(1) };

  const out: ServerFlags = { command: "server", checkConfig: false, options: {}, flagOf: {} };
  let help = false;
  let version = false;
  let k = 0;
  for (; k < argv.length; k++) {
    const arg = argv[k]!;
    if (arg === "--") {
      k++;
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") break;
    const dashes = arg[1] === "-" ? 2 : 1;
    const body = arg.slice(dashes);
    if (body === "" || body[0] === "-" || body[0] === "=") throw new FlagError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const typed = arg.slice(0, dashes) + name;
    const target = Object.prototype.hasOwnProperty.call(FLAGS, name) ? FLAGS[name]! : undefined;
    if (!target) {
      if (NOT_YET.has(name)) throw new FlagError(`flag ${typed} is not supported yet`);
      throw new FlagError(`unknown flag: ${typed}`);
    }
    let value: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
    let flag: boolean | undefined;
    if (isBoolTarget(target)) {
      if (value === undefined) flag = true;
      else {
        flag = parseBool(value);
        if (flag === undefined) throw new FlagError(`invalid boolean value ${JSON.stringify(value)} for ${typed}`);
      }
    } else if (value === undefined) {
      if (k + 1 >= argv.length) throw new FlagError(`flag needs an argument: ${typed}`);
      value = argv[++k]!;
    }

    switch (target.kind) {
      case "option": {
        const o = out.options as Record<string, unknown>;
        if (target.type === "bool") o[target.key] = flag;
        else if (target.type === "int") {
          if (!/^[+-]?\d+$/.test(value!)) {
            throw new FlagError(`invalid value ${JSON.stringify(value)} for ${typed}: expected an integer`);
          }
          o[target.key] = Number(value);
        } else o[target.key] = value;
        out.flagOf[target.key] = typed;
        break;
      }
      case "auth":
        out.options.authorization = { ...out.options.authorization, [target.key]: value };
        out.flagOf[`authorization.${target.key}`] = typed;
        break;
      case "tls":
      case "tls_bool":
        out.tls = { ...out.tls, [target.key]: target.kind === "tls" ? value : flag };
        out.flagOf["tls"] ??= typed;
        if (target.key !== "enabled") out.flagOf[`tls.${target.key}`] = typed;
        break;
      case "jetstream":
        out.jetstream = flag;
        out.flagOf["jetstream"] = typed;
        break;
      case "store_dir":
        out.options.store_dir = value;
        out.flagOf["store_dir"] = typed;
        break;
      case "debug_trace":
        out.options.debug = flag;
        out.options.trace = flag;
        out.flagOf["debug"] = typed;
        out.flagOf["trace"] = typed;
        break;
      case "config":
        out.config = value;
        break;
      case "check":
        out.checkConfig = flag!;
        break;
      case "help":
        help = flag!;
        break;
      case "version":
        version = flag!;
        break;
    }
  }
  if (version) return { command: "version" };
  if (help) return { command: "help" };
  // Arguments after the flags: nats-server knows "version" and "help".
  for (const rest of argv.slice(k)) {
    if (rest === "version") return { command: "version" };
    if (rest === "help") return { command: "help" };
    throw new FlagError(`unrecognized command: ${JSON.stringify(rest)}`);
  }
  return out;
}

/**
 * The file's options with the flags' applied on top (flags win, as in nats-server). Positions of
 * the file's keys are kept; keys set by a flag are reported as "command line flag -p".
 */
export function mergeFlags(fileOptions: Options | ConfigMap, flags: ServerFlags): ConfigMap {
  const out = copyConfigMap(fileOptions as ConfigMap);
  const where = (key: string) => ({ file: `command line flag ${flags.flagOf[key] ?? key}`, line: 0, col: 0 });
  for (const [key, value] of Object.entries(flags.options)) {
    if (value === undefined || key === "authorization") continue;
    // re-inserted last, so it is applied after any alias the file has (listen, net, ...)
    delete out[key];
    out[key] = value as ConfigMap[string];
    setPosition(out, key, where(key));
  }
  if (flags.jetstream !== undefined) {
    const key = Object.keys(out).find((k) => k.toLowerCase() === "jetstream" || k.toLowerCase() === "js") ?? "jetstream";
    const existing = out[key];
    if (existing !== null && typeof existing === "object" && !Array.isArray(existing) && !(existing instanceof Date)) {
      const base = copyConfigMap(existing as ConfigMap);
      base.enabled = flags.jetstream;
      setPosition(base, "enabled", where("jetstream"));
      out[key] = base;
    } else {
      out[key] = flags.jetstream;
      setPosition(out, key, where("jetstream"));
    }
  }
  const auth = flags.options.authorization;
  if (auth) {
    const existingKey = Object.keys(out).find((k) => k.toLowerCase() === "authorization");
    const existing = existingKey === undefined ? undefined : out[existingKey];
    if (existing === undefined || (typeof existing === "object" && !Array.isArray(existing) && !(existing instanceof Date))) {
      const base = existing ? copyConfigMap(existing as ConfigMap) : {};
      for (const [k, v] of Object.entries(auth)) {
        if (v === undefined) continue;
        delete base[k];
        base[k] = v as ConfigMap[string];
        setPosition(base, k, where(`authorization.${k}`));
      }
      const key = existingKey ?? "authorization";
      out[key] = base;
      if (existingKey === undefined) {
        const first = Object.keys(auth)[0]!;
        setPosition(out, key, where(`authorization.${first}`));
      }
    }
    // an authorization that is not a map is left for resolveOptions to report
  }
  // as nats-server: any TLS flag replaces the file's tls block with one made of the flags;
  // --tls=false removes it
  const tls = flags.tls;
  if (tls) {
    const existingKey = Object.keys(out).find((k) => k.toLowerCase() === "tls");
    if (existingKey !== undefined) delete out[existingKey];
    if (tls.enabled !== false) {
      const block: ConfigMap = {};
      for (const k of ["cert_file", "key_file", "ca_file", "verify"] as const) {
        const v = tls[k];
        if (v === undefined) continue;
        block[k] = v;
        setPosition(block, k, where(`tls.${k}`));
      }
      out.tls = block;
      setPosition(out, "tls", where("tls"));
    }
  }
  return out;
}

/**
 * What the `junction` command runs on: the config file (if -c), the flags over it, resolved.
 * Throws ConfigError.
 */
export function resolveFlags(flags: ServerFlags, hooks?: ResolveHooks): ResolvedOptions {
  const file: ConfigMap = flags.config !== undefined ? parseConfigFile(flags.config) : {};
  return resolveOptions(mergeFlags(file, flags), flags.config, hooks);
}

export const HELP_TEXT = `
Usage: junction [options]
       junction bench [bench options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222, -1 for a random port)
    -n, --name
        --server_name <server_name>  Server name (default: auto)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring
    -c, --config <file>              Configuration file (nats-server format)
    -t                               Test configuration and exit
        --client_advertise <string>  Client URL to advertise to other servers
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports).

Logging Options:
    -l, --log <file>                 File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true; -T=false to turn off)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -DV                              Debug and trace

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options (they replace the configuration file's tls block):
        --tls                        Enable TLS, do not verify clients (default: false)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

JetStream Options:
    -js, --jetstream                 Enable JetStream functionality
    -sd, --store_dir <dir>           Set the storage directory

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version

Flags may be written -flag, --flag, -flag=value or --flag value. Flags override the
configuration file. Not supported yet: cluster, syslog and signal flags.
`;
