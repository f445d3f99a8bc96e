// What the routing core knows about its participants. Every participant (a NATS connection,
// an MQTT session, a JetStream consumer, an internal service) is a Client: it owns
// subscriptions and receives messages through `deliver`.

export type ClientKind = "client" | "mqtt" | "internal" | "jetstream" | "system";

export interface Client {
  readonly cid: number;
  readonly kind: ClientKind;
  /** false: the client does not receive its own publications (CONNECT `echo: false`) */
  readonly echo: boolean;
  /**
   * Hands a message to the client. `msg` holds the header block (first `hdrLen` bytes, 0 when
   * there are none) followed by the payload. Must not block and must not write to a socket:
   * a connection queues the frame and flushes it later in the turn.
   * `routed` is the subject the message was matched on when it differs from the `subject` shown
   * (a JetStream delivery routed on its deliver or reply subject shows the stored subject):
   * imports route on it, and keep showing `subject`.
   */
  deliver(sub: Subscription, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number, routed?: string): void;
}

export interface Subscription {
  readonly client: Client;
  /** latin1 string, possibly with wildcards */
  readonly subject: string;
  readonly queue?: string;
  /** the client's own handle for it (the NATS sid) */
  readonly sid: string;
  /** auto-unsubscribe after this many deliveries; 0 = never */
  max: number;
  delivered: number;
  /** set once removed from the sublist, so that a cached match never delivers to it */
  closed: boolean;
}

export function newSubscription(client: Client, subject: string, sid: string, queue?: string): Subscription {
  return { client, subject, queue, sid, max: 0, delivered: 0, closed: false };
}
