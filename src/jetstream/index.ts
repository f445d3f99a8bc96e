// JetStream: streams, consumers and their API on top of the core (see jetstream.ts for the engine,
// consumers.ts for the consumer layer).
import { JetStream, type JetStreamServerHost } from "./jetstream.js";
import { registerConsumers } from "./consumers.js";

export { JetStream, JS_API_LEVEL, friendlyBytes } from "./jetstream.js";
export type { JetStreamServerHost, StreamHook } from "./jetstream.js";
export { JsAccount } from "./account.js";
export { Stream } from "./stream.js";
export type { StreamConsumer, StreamHost } from "./stream.js";
export { ApiRouter } from "./api.js";
export type { ApiHandler, ApiRequest } from "./api.js";
export { TYPES as API_TYPES } from "./api-streams.js";
export type { StreamConfig } from "./stream-config.js";
export { jsError, JS_ERRORS } from "./errors.js";
export { publishAdvisory, ADVISORY_PREFIX } from "./advisories.js";
export { Consumer } from "./consumer.js";
export { consumersOf, ConsumerSet } from "./consumers.js";
export { CONSUMER_TYPES } from "./consumer-api.js";
export type { ConsumerConfig } from "./consumer-config.js";

/**
 * Creates the engine for a server whose options enable JetStream, recovers its streams and starts
 * its API. Layers on top (consumers) register here, before start: API routes on `js.router`,
 * stream hooks on `js.streamHooks`.
 */
export function enableJetStream(host: JetStreamServerHost & { onShutdown(fn: () => void): void }): JetStream {
  const js = new JetStream(host);
  registerConsumers(js);
  js.start();
  host.onShutdown(() => js.stop());
  return js;
}
