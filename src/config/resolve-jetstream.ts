// `jetstream` at the top level (server settings) and inside an account (its limits).
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResolvedAccountJetStream, ResolvedJetStreamOptions } from "./options.js";
import { describe, isMap, type Builder, type Loc, type Resolver } from "./resolve.js";

/** nats-server's default sync interval. */
const DEFAULT_SYNC_MS = 2 * 60 * 1000;

function enabledWord(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") {
    const w = v.toLowerCase();
    if (["enabled", "enable", "true", "yes", "on"].includes(w)) return true;
    if (["disabled", "disable", "false", "no", "off"].includes(w)) return false;
  }
  return undefined;
}

/** `jetstream: enabled`, `jetstream: false`, or `jetstream { store_dir, max_memory_store, ... }`. */
export function resolveJetStream(r: Resolver, b: Builder, v: unknown, loc: Loc): void {
  const word = enabledWord(v);
  if (word !== undefined) {
    b.js = word ? (b.js ?? {}) : undefined;
    b.js_disabled = !word;
    return;
  }
  if (!isMap(v)) {
    r.error(loc, `"${loc.path}" must be enabled/disabled or a map, got ${describe(v)}`);
    return;
  }
  const js: Partial<ResolvedJetStreamOptions> = b.js ?? {};
  let enabled = true;
  for (const [k, val] of Object.entries(v)) {
    const l: Loc = { container: v, key: k, path: `${loc.path}.${k}` };
    switch (k.toLowerCase()) {
      case "enabled":
      case "enable": {
        const e = r.bool(l, val);
        if (e !== undefined) enabled = e;
        break;
      }
      case "store_dir":
      case "storedir":
      case "store":
        js.store_dir = r.string(l, val);
        break;
      case "max_memory_store":
      case "max_mem_store":
      case "max_mem":
        js.max_memory_store = limitSize(r, l, val);
        break;
      case "max_file_store":
      case "max_file":
        js.max_file_store = limitSize(r, l, val);
        break;
      case "sync_interval":
      case "sync": {
        if (typeof val === "string" && val.toLowerCase() === "always") js.sync_interval = "always";
        else {
          const ms = r.duration(l, val);
          if (ms !== undefined) js.sync_interval = ms;
        }
        break;
      }
      case "domain": {
        const d = r.string(l, val);
        if (d !== undefined && !/^[A-Za-z0-9_-]+$/.test(d)) r.error(l, `"${l.path}": invalid domain name ${JSON.stringify(d)}`);
        else js.domain = d;
        break;
      }
      case "max_buffered_msgs":
      case "max_buffered_size":
      case "unique_tag":
      case "cipher":
      case "key":
      case "prev_key":
      case "limits":
      case "max_outstanding_catchup":
      case "max_ack_pending":
      case "max_ha_assets":
      case "request_queue_limit":
      case "strict":
      case "extension_hint":
        r.error(l, `"${l.path}" is not supported yet`);
        break;
      default:
        r.error(l, `unknown configuration key "${l.path}"`);
    }
  }
  b.js = enabled ? js : undefined;
  b.js_disabled = !enabled;
}

function limitSize(r: Resolver, l: Loc, v: unknown): number | undefined {
  if (v === -1) return -1;
  return r.size(l, v);
}

/** An account's `jetstream`: enabled, or limits { max_mem, max_file, max_streams, max_consumers }. */
export function resolveAccountJetStream(r: Resolver, v: unknown, loc: Loc): ResolvedAccountJetStream | undefined {
  const word = enabledWord(v);
  if (word !== undefined) return word ? { max_mem: -1, max_file: -1, max_streams: -1, max_consumers: -1 } : undefined;
  if (!isMap(v)) return r.error(loc, `"${loc.path}" must be enabled/disabled or a map of limits, got ${describe(v)}`);
  const lim: ResolvedAccountJetStream = { max_mem: -1, max_file: -1, max_streams: -1, max_consumers: -1 };
  for (const [k, val] of Object.entries(v)) {
    const l: Loc = { container: v, key: k, path: `${loc.path}.${k}` };
    switch (k.toLowerCase()) {
      case "max_mem":
      case "max_memory":
      case "max_memory_store":
      case "mem":
        lim.max_mem = limitSize(r, l, val) ?? -1;
        break;
      case "max_file":
      case "max_file_store":
      case "max_store":
      case "store":
        lim.max_file = limitSize(r, l, val) ?? -1;
        break;
      case "max_streams":
      case "streams":
        lim.max_streams = val === -1 ? -1 : r.int(l, val, 0) ?? -1;
        break;
      case "max_consumers":
      case "consumers":
        lim.max_consumers = val === -1 ? -1 : r.int(l, val, 0) ?? -1;
        break;
      default:
        r.error(l, `unknown field "${l.path}" in account jetstream limits`);
    }
  }
  return lim;
}

/** The resolved server settings, defaults filled; undefined when JetStream is off. */
export function finishJetStream(b: Builder): ResolvedJetStreamOptions | undefined {
  if (!b.js) return undefined;
  const js = b.js;
  const dir = js.store_dir || b.js_store_dir;
  const out: ResolvedJetStreamOptions = {
    store_dir: dir || join(tmpdir(), "junction", "jetstream"),
    store_dir_default: !dir,
    max_memory_store: js.max_memory_store ?? -1,
    max_file_store: js.max_file_store ?? -1,
    sync_interval: js.sync_interval ?? DEFAULT_SYNC_MS,
  };
  if (js.domain !== undefined) out.domain = js.domain;
  return out;
}
