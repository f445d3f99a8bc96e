// The server's options. `Options` uses the configuration file's own keys (snake_case, as
// nats-server names them) so that an embedded server and a config file say the same thing.
// `ResolvedOptions` is what the server runs on: defaults filled, units normalised
// (durations in milliseconds, sizes in bytes).

/** A duration as the config file writes it: a number of seconds, or a string like "2s", "1m30s", "250ms". */
export type Duration = number | string;
/** A size as the config file writes it: a number of bytes, or a string like "1KB", "64MB". */
export type Size = number | string;

export interface WebSocketOptions {
  host?: string;
  port?: number;
  listen?: string;
  no_tls?: boolean;
  compression?: boolean;
  same_origin?: boolean;
  allowed_origins?: string[];
  handshake_timeout?: Duration;
  no_auth_user?: string;
  advertise?: string;
}

export interface AuthorizationOptions {
  user?: string;
  password?: string;
  token?: string;
  timeout?: Duration;
}

export interface Options {
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
}

export interface ResolvedWebSocketOptions {
  host: string;
  port: number;
  no_tls: boolean;
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

  debug: boolean;
  trace: boolean;
  logtime: boolean;
  log_file?: string;
  pid_file?: string;
  ports_file_dir?: string;

  lame_duck_duration_ms: number;
  lame_duck_grace_period_ms: number;

  websocket?: ResolvedWebSocketOptions;

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
