/** Junction's own version (package.json). */
export const JUNCTION_VERSION = "0.1.0";

/**
 * The nats-server version announced in INFO: the release whose client-visible core features
 * Junction implements. The official clients gate features on it (nats.js needs 2.10 for
 * `filter_subjects`), so it moves only when those features really work.
 */
export const SERVER_VERSION = "2.10.0";
