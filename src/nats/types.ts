import type { Account } from "../core/account.js";
import type { PermissionSet } from "../auth/permissions.js";
import type { FlushScheduler } from "../core/outbound.js";
import type { ResolvedOptions } from "../config/options.js";
import type { Logger } from "../logger.js";
import type { NatsConnection } from "./connection.js";

/** The CONNECT options a client sends. */
export interface ConnectOptions {
  verbose?: boolean;
  pedantic?: boolean;
  tls_required?: boolean;
  auth_token?: string;
  user?: string;
  pass?: string;
  name?: string;
  lang?: string;
  version?: string;
  protocol?: number;
  echo?: boolean;
  headers?: boolean;
  no_responders?: boolean;
  sig?: string;
  jwt?: string;
  nkey?: string;
}

/** Why a connection closed, in nats-server's words (connz `reason`). */
export type ClosedReason =
  | "Client Closed"
  | "Read Error"
  | "TLS Handshake Failure"
  | "Write Error"
  | "Stale Connection"
  | "Protocol Violation"
  | "Authentication Timeout"
  | "Authentication Failure"
  | "Maximum Payload Exceeded"
  | "Maximum Control Line Exceeded"
  | "Maximum Connections Exceeded"
  | "Slow Consumer (Pending Bytes)"
  | "Slow Consumer (Write Deadline)"
  | "Server Shutdown"
  | "Lame Duck Mode";

export interface ServerStats {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
  slowConsumers: number;
  totalConnections: number;
  /** how many times a producer was paused for a congested receiver (varz `stalled_clients`) */
  stalledClients: number;
}

export type AuthResult =
  | { ok: true; user?: string; account: Account; permissions?: PermissionSet }
  | { ok: false; reason: string };

/** What a connection needs from the server that hosts it. */
export interface ClientHost {
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly scheduler: FlushScheduler;
  readonly stats: ServerStats;
  /** the INFO JSON for this connection */
  infoFor(c: NatsConnection): string;
  authRequired(c: NatsConnection): boolean;
  /** asynchronous only when a bcrypt hash must be checked */
  authenticate(c: NatsConnection, connect: ConnectOptions | null): AuthResult | Promise<AuthResult>;
  /** a nonce for this connection's INFO, when nkey users need one */
  newNonce(): string | undefined;
  clientClosed(c: NatsConnection): void;
}
