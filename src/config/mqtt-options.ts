// The `mqtt { }` block: nats-server's keys (Options) and what the server runs on (Resolved).
import type { Duration, ResolvedTlsOptions, TlsOptions } from "./options.js";

export interface MqttOptions {
  /** "host:port" */
  listen?: string;
  host?: string;
  /** alias of host */
  net?: string;
  port?: number;
  tls?: TlsOptions;
  /** the user MQTT clients that present no user name become (overrides the top-level one) */
  no_auth_user?: string;
  /** credentials for MQTT clients when no users are configured */
  authorization?: { user?: string; username?: string; password?: string; pass?: string; token?: string; timeout?: number | string };
  /** redelivery of an unacknowledged QoS 1/2 message (default 30s) */
  ack_wait?: Duration;
  /** QoS 1/2 messages in flight per session without acknowledgement (default 1024) */
  max_ack_pending?: number;
  js_domain?: string;
  stream_replicas?: number;
  consumer_replicas?: number;
  consumer_memory_storage?: boolean;
  consumer_inactive_threshold?: Duration;
  js_api_timeout?: Duration;
  /** refuse QoS 2 PUBLISH (and QoS 2 wills) as nats-server can */
  reject_qos2_publish?: boolean;
  /** grant QoS 1 to QoS 2 subscriptions */
  downgrade_qos2_subscribe?: boolean;
  /**
   * The longest keep alive a client may ask for, in seconds (or a duration); 0 or absent: no
   * limit. A 5.0 client asking for more, or for 0, is told this value (Server Keep Alive); a 3.1.1
   * client is refused (identifier rejected), as mosquitto's max_keepalive does.
   */
  max_keepalive?: number | string;
}

export interface ResolvedMqttOptions {
  host: string;
  /** -1 picks a random port */
  port: number;
  tls?: ResolvedTlsOptions;
  no_auth_user?: string;
  /** username/password or token that replace the top-level ones for MQTT clients */
  authorization?: { user?: string; password?: string; token?: string };
  /** how long a client has to send CONNECT (and be authenticated) */
  auth_timeout_ms?: number;
  ack_wait_ms: number;
  max_ack_pending: number;
  js_domain?: string;
  stream_replicas?: number;
  consumer_memory_storage: boolean;
  consumer_inactive_threshold_ms?: number;
  js_api_timeout_ms?: number;
  reject_qos2_publish: boolean;
  downgrade_qos2_subscribe: boolean;
  /** seconds; absent: no limit */
  max_keepalive?: number;
}

export const MQTT_DEFAULTS = {
  port: 1883,
  ack_wait_ms: 30_000,
  max_ack_pending: 1024,
} as const;
