// The server's options. `Options` uses the configuration file's own keys (snake_case, as
// nats-server names them) so that an embedded server and a config file say the same thing.
// `ResolvedOptions` is what the server runs on: defaults filled, units normalised
// (durations in milliseconds, sizes in bytes).
import type { MqttOptions, ResolvedMqttOptions } from "./mqtt-options.js";

export type { MqttOptions, ResolvedMqttOptions } from "./mqtt-options.js";

/** A duration as the config file writes it: a number of seconds, or a string like "2s", "1m30s", "250ms". */
export type Duration = number | string;
/** A size as the config file writes it: a number of bytes, or a string like "1KB", "64MB". */
export type Size = number | string;

/** A `tls { }` block: the client port's (top level) or the websocket listener's. Keys as nats-server's. */
export interface TlsOptions {
  cert_file?: string;
  key_file?: string;
  /** the CAs that client certificates must chain to (with `verify`) */
  ca_file?: string;
  /** require a client certificate signed by `ca_file` */
  verify?: boolean;
  /** `verify`, and the certificate's email/DNS SAN or subject names the user */
  verify_and_map?: boolean;
  /** accepted for compatibility; no effect on a server listener */
  insecure?: boolean;
  /** how long the handshake may take: seconds, or a duration string; default 2s */
  timeout?: Duration;
  /** TLS before INFO: true/false, or "auto"/a duration to fall back to INFO-first after that delay */
  handshake_first?: boolean | string;
  /** alias of handshake_first */
  first?: boolean | string;
  /** alias of handshake_first */
  immediate?: boolean | string;
  /** "1.2" (default) or "1.3" */
  min_version?: string;
  /** Go's names, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" (TLS 1.2 suites; TLS 1.3's are fixed) */
  cipher_suites?: string[];
  /** "X25519", "CurveP256", "CurveP384", "CurveP521" */
  curve_preferences?: string[];
  allow_insecure_cipher_suites?: boolean;
  /** hex SHA-256 of the peer certificate's DER SubjectPublicKeyInfo (as nats-server) */
  pinned_certs?: string[];
}

export interface WebSocketOptions {
  host?: string;
  port?: number;
  listen?: string;
  no_tls?: boolean;
  tls?: TlsOptions;
  compression?: boolean;
  same_origin?: boolean;
  allowed_origins?: string[];
  handshake_timeout?: Duration;
  no_auth_user?: string;
  advertise?: string;
}

/** A subject list, or allow/deny lists (deny wins). Subscribe entries may be "subject queue". */
export type SubjectPermissionOption = string | string[] | { allow?: string | string[]; deny?: string | string[] };

export interface PermissionsOptions {
  publish?: SubjectPermissionOption;
  /** alias of publish */
  pub?: SubjectPermissionOption;
  subscribe?: SubjectPermissionOption;
  /** alias of subscribe */
  sub?: SubjectPermissionOption;
  /** publishing to the reply subjects of received requests: `true`, or `{ max, expires }` */
  allow_responses?: boolean | { max?: number; expires?: Duration };
}

/** "STANDARD", "WEBSOCKET", "MQTT", "LEAFNODE" */
export type ConnectionTypeName = string;

export interface UserOptions {
  user?: string;
  /** plain text, or a bcrypt hash ($2a$, $2b$, $2y$) */
  password?: string;
  /** a user nkey (public, starts with U) */
  nkey?: string;
  permissions?: PermissionsOptions;
  allowed_connection_types?: ConnectionTypeName[];
  /** aliases of allowed_connection_types */
  connection_types?: ConnectionTypeName[];
  clients?: ConnectionTypeName[];
}

export interface AuthorizationOptions {
  user?: string;
  password?: string;
  token?: string;
  timeout?: Duration;
  users?: UserOptions[];
  default_permissions?: PermissionsOptions;
}

export interface ExportOptions {
  stream?: string;
  service?: string;
  response_type?: "single" | "stream" | "chunked";
  accounts?: string[];
}

export interface ImportOptions {
  stream?: { account: string; subject: string };
  service?: { account: string; subject: string };
  /** local prefix for an imported stream */
  prefix?: string;
  /** local subject for an imported service (or stream) */
  to?: string;
}

export interface JetStreamOptions {
  enabled?: boolean;
  store_dir?: string;
  max_memory_store?: Size;
  max_file_store?: Size;
  /** a duration, or "always" */
  sync_interval?: Duration;
  domain?: string;
}

export interface AccountJetStreamOptions {
  max_mem?: Size;
  max_file?: Size;
  max_streams?: number;
  max_consumers?: number;
}

export interface AccountOptions {
  jetstream?: boolean | "enabled" | "disabled" | AccountJetStreamOptions;
  users?: UserOptions[];
  exports?: ExportOptions[];
  imports?: ImportOptions[];
  default_permissions?: PermissionsOptions;
}

export interface Options {
  /** `true`/"enabled", or the settings */
  jetstream?: boolean | "enabled" | "disabled" | JetStreamOptions;
  /** where JetStream stores (nats-server's top-level store_dir, flag -sd); does not enable it */
  store_dir?: string;
  accounts?: Record<string, AccountOptions>;
  no_auth_user?: string;
  /** default "$SYS" */
  system_account?: string;
  host?: string;
  /** alias of host */
  net?: string;
  /** "host:port" */
  listen?: string;
  port?: number;
  server_name?: string;
  client_advertise?: string;

  http_port?: number;
  /** alias of http_port */
  monitor_port?: number;
  http_host?: string;
  /** "host:port" for monitoring */
  http?: string | number;
  http_base_path?: string;

  max_payload?: Size;
  max_control_line?: Size;
  max_pending?: Size;
  max_connections?: number;
  /** alias of max_connections */
  max_conn?: number;
  max_subscriptions?: number;
  /** alias of max_subscriptions */
  max_subs?: number;
  ping_interval?: Duration;
  ping_max?: number;
  write_deadline?: Duration;
  no_header_support?: boolean;
  disable_sublist_cache?: boolean;

  authorization?: AuthorizationOptions;

  debug?: boolean;
  trace?: boolean;
  logtime?: boolean;
  log_file?: string;
  pid_file?: string;
  ports_file_dir?: string;

  lame_duck_duration?: Duration;
  lame_duck_grace_period?: Duration;

  websocket?: WebSocketOptions;
  mqtt?: MqttOptions;

  tls?: TlsOptions;
  /** with `tls`: clients may also connect without TLS (INFO says tls_available) */
  allow_non_tls?: boolean;
}

/** A resolved `tls { }` block: files read and checked, the node:tls settings ready. */
export interface ResolvedTlsOptions {
  cert_file: string;
  key_file: string;
  ca_file?: string;
  /** the PEM contents of the files above */
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** a client certificate is required and verified */
  verify: boolean;
  /** verify_and_map: the verified client certificate names the user */
  map: boolean;
  insecure: boolean;
  timeout_ms: number;
  handshake_first: boolean;
  /** with handshake_first: how long to wait for the client's TLS hello before sending INFO first (0 = never) */
  handshake_first_fallback_ms: number;
  min_version: "TLSv1.2" | "TLSv1.3";
  /** as configured (Go names); undefined = the defaults */
  cipher_suites?: string[];
  curve_preferences?: string[];
  allow_insecure_cipher_suites: boolean;
  /** lower-case hex SHA-256 of DER SubjectPublicKeyInfo; undefined = no pinning */
  pinned_certs?: string[];
  /** what node:tls servers take (tls.createServer / https.createServer), built from the above */
  context: {
    cert: Buffer;
    key: Buffer;
    ca?: Buffer;
    minVersion: "TLSv1.2" | "TLSv1.3";
    ciphers?: string;
    ecdhCurve?: string;
    honorCipherOrder: boolean;
    requestCert: boolean;
    rejectUnauthorized: boolean;
  };
}

export interface ResolvedWebSocketOptions {
  host: string;
  port: number;
  no_tls: boolean;
  tls?: ResolvedTlsOptions;
  compression: boolean;
  same_origin: boolean;
  allowed_origins: string[];
  handshake_timeout_ms: number;
  no_auth_user?: string;
  advertise?: string;
}

export interface ResolvedOptions {
  host: string;
  /** -1 picks a random port */
  port: number;
  server_name?: string;
  client_advertise?: string;

  /** 0 = monitoring off, -1 = random */
  http_port: number;
  http_host: string;
  http_base_path: string;

  max_payload: number;
  max_control_line: number;
  max_pending: number;
  /** default 65536 (nats-server's); 0 = unlimited; -1 = refuse every client connection (what
   *  nats-server does with `max_connections: 0`, so that is what a config file's 0 resolves to) */
  max_connections: number;
  /** 0 = unlimited */
  max_subscriptions: number;
  ping_interval_ms: number;
  ping_max: number;
  write_deadline_ms: number;
  no_header_support: boolean;
  disable_sublist_cache: boolean;

  authorization?: { user?: string; password?: string; token?: string };
  auth_timeout_ms: number;
  /** every configured user, from `authorization.users` and from the accounts */
  users: ResolvedUser[];
  /** JetStream; undefined = off */
  jetstream?: ResolvedJetStreamOptions;
  /** the configured accounts (not including $G) */
  accounts: ResolvedAccount[];
  no_auth_user?: string;
  system_account: string;

  debug: boolean;
  trace: boolean;
  logtime: boolean;
  log_file?: string;
  pid_file?: string;
  ports_file_dir?: string;

  lame_duck_duration_ms: number;
  lame_duck_grace_period_ms: number;

  websocket?: ResolvedWebSocketOptions;
  mqtt?: ResolvedMqttOptions;

  tls?: ResolvedTlsOptions;
  /** with `tls`: plaintext clients are accepted too (set only when true) */
  allow_non_tls?: boolean;

  /** Where these options came from (a config file path), for reload and messages. */
  config_file?: string;
}

export const DEFAULTS = {
  host: "0.0.0.0",
  port: 4222,
  http_host: "0.0.0.0",
  max_payload: 1024 * 1024,
  max_control_line: 4096,
  max_pending: 64 * 1024 * 1024,
  ping_interval_ms: 2 * 60 * 1000,
  ping_max: 2,
  write_deadline_ms: 10_000,
  auth_timeout_ms: 2_000,
  lame_duck_duration_ms: 2 * 60 * 1000,
  lame_duck_grace_period_ms: 10_000,
  websocket_handshake_timeout_ms: 2_000,
  max_connections: 64 * 1024,
  logtime: true,
  http_base_path: "/",
} as const;

export interface SubjectPermission {
  allow?: string[];
  deny?: string[];
}

export interface ResolvedPermissions {
  publish?: SubjectPermission;
  subscribe?: SubjectPermission;
  allow_responses?: { max: number; expires_ms: number };
}

export interface ResolvedUser {
  user?: string;
  password?: string;
  nkey?: string;
  /** the account the user belongs to ("$G" for users outside any account) */
  account: string;
  permissions?: ResolvedPermissions;
  /** upper case; undefined = every type */
  allowed_connection_types?: string[];
}

export interface ResolvedExport {
  stream?: string;
  service?: string;
  response_type: "single" | "stream" | "chunked";
  /** undefined = public */
  accounts?: string[];
}

export interface ResolvedImport {
  stream?: { account: string; subject: string };
  service?: { account: string; subject: string };
  prefix?: string;
  to?: string;
}

export interface ResolvedAccountJetStream {
  /** bytes; -1 = unlimited */
  max_mem: number;
  max_file: number;
  max_streams: number;
  max_consumers: number;
}

export interface ResolvedJetStreamOptions {
  store_dir: string;
  /** true when store_dir was not configured (a default under the OS temp directory) */
  store_dir_default: boolean;
  /** bytes; -1 = unlimited */
  max_memory_store: number;
  max_file_store: number;
  /** milliseconds between fsyncs, or "always" (fsync before every acknowledgement) */
  sync_interval: number | "always";
  domain?: string;
}

export interface ResolvedAccount {
  /** JetStream for this account, with its limits; undefined = not enabled */
  jetstream?: ResolvedAccountJetStream;
  name: string;
  exports: ResolvedExport[];
  imports: ResolvedImport[];
}
