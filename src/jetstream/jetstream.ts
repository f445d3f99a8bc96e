// The JetStream engine of a server: where it stores (store_dir), its server-wide limits
// (max_memory_store, max_file_store), the accounts that have JetStream with their limits, the
// API clients that answer $JS.API.> in each account, and recovery of file streams at start-up.
//
// Layout on disk, as nats-server's: <store_dir>/jetstream/<account>/streams/<stream>/ (with no
// store_dir configured: <tmp>/junction/jetstream/<account>/...).

import { accessSync, constants, mkdirSync, statfsSync } from "node:fs";
import { totalmem } from "node:os";
import { join } from "node:path";
import type { ResolvedJetStreamOptions, ResolvedOptions } from "../config/options.js";
import type { Account } from "../core/account.js";
import type { Logger } from "../logger.js";
import { JsAccount, UNLIMITED } from "./account.js";
import { ApiClient, ApiRouter } from "./api.js";
import { registerStreamApi } from "./api-streams.js";
import type { StorageType } from "./stream-config.js";
import type { Stream } from "./stream.js";

/** The JetStream API level this server implements (1: per-message TTLs and delete markers). */
export const JS_API_LEVEL = 1;
/** nats-server's JetStreamMaxStoreDefault (1 TB), when the disk cannot be asked. */
const MAX_STORE_DEFAULT = 1024 ** 4;

export interface StreamHook {
  opened?(stream: Stream, jsa: JsAccount, recovered: boolean): void;
  deleted?(stream: Stream, jsa: JsAccount): void;
}

/** What the engine needs from the server. */
export interface JetStreamServerHost {
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly accounts: Map<string, Account>;
  readonly systemAccount: Account;
  /** the server's name (its ID when none is configured), for advisories */
  readonly serverName?: string;
}

export function friendlyBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
  if (n < 1024) return `${n} B`;
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(2)} ${units[u]}`;
}

export class JetStream {
  readonly config: ResolvedJetStreamOptions;
  /** where the accounts' directories are */
  readonly root: string;
  readonly logger: Logger;
  readonly domain: string | undefined;
  readonly syncInterval: number | "always";
  readonly maxMemory: number;
  readonly maxStore: number;
  /** limits configured explicitly (checked on every publish); otherwise the dynamic defaults are for reservations only */
  readonly memoryLimited: boolean;
  readonly storeLimited: boolean;
  readonly maxPending: number;
  readonly apiLevel = JS_API_LEVEL;
  readonly accounts = new Map<string, JsAccount>();
  readonly router = new ApiRouter();
  apiTotal = 0;
  apiErrors = 0;
  /**
   * Told of every stream opened (created through the API, or recovered at start-up before any
   * client connects) and deleted: where the consumer layer attaches, and recovers its consumers.
   */
  readonly streamHooks: StreamHook[] = [];
  private readonly apiClients: ApiClient[] = [];
  private stopped = false;

  constructor(private readonly host: JetStreamServerHost) {
    const o = host.options;
    this.config = o.jetstream!;
    const c = this.config;
    this.logger = host.logger;
    this.root = c.store_dir_default ? c.store_dir : join(c.store_dir, "jetstream");
    this.domain = c.domain;
    this.syncInterval = c.sync_interval;
    this.maxPending = o.max_pending;
    this.memoryLimited = c.max_memory_store >= 0;
    this.storeLimited = c.max_file_store >= 0;
    this.maxMemory = this.memoryLimited ? c.max_memory_store : Math.floor((totalmem() / 4) * 3);
    mkdirSync(this.root, { recursive: true });
    this.maxStore = this.storeLimited ? c.max_file_store : diskAvailable(this.root);
    registerStreamApi(this.router);
  }

  get serverName(): string {
    return this.host.serverName ?? "";
  }

  streamOpened(stream: Stream, jsa: JsAccount, recovered: boolean): void {
    for (const h of this.streamHooks) h.opened?.(stream, jsa, recovered);
  }

  streamDeleted(stream: Stream, jsa: JsAccount): void {
    for (const h of this.streamHooks) h.deleted?.(stream, jsa);
  }

  /** Enables the accounts, recovers their streams and starts answering the API. */
  start(): void {
    const log = this.logger;
    const c = this.config;
    log.info("Starting JetStream");
    if (c.store_dir_default) log.warn("Temporary storage directory used, data could be lost on system reboot");
    try {
      accessSync(this.root, constants.W_OK);
    } catch {
      throw new Error(`JetStream: store directory ${JSON.stringify(this.root)} is not writable`);
    }
    log.info("---------------- JETSTREAM ----------------");
    log.info(`  Max Memory:      ${friendlyBytes(this.maxMemory)}`);
    log.info(`  Max Storage:     ${friendlyBytes(this.maxStore)}`);
    log.info(`  Store Directory: "${this.root}"`);
    if (this.domain) log.info(`  Domain:          ${this.domain}`);
    log.info(`  API Level:       ${JS_API_LEVEL}`);
    log.info(`  Sync:            ${c.sync_interval === "always" ? "always" : `every ${c.sync_interval}ms`}`);
    log.info("-------------------------------------------");

    const o = this.host.options;
    const enabled = new Map<string, typeof UNLIMITED>();
    if (o.accounts.length === 0) {
      enabled.set("$G", UNLIMITED);
    } else {
      for (const a of o.accounts) if (a.jetstream !== undefined) enabled.set(a.name, a.jetstream);
    }
    for (const [name, limits] of enabled) {
      const acc = this.host.accounts.get(name);
      if (acc === undefined || acc === this.host.systemAccount) continue;
      const jsa = new JsAccount(this, acc, limits);
      this.accounts.set(name, jsa);
      log.info(`  Enabled JetStream for account "${name}"`);
      jsa.recover();
    }
    // every account but the system account gets an API responder (the disabled ones answer
    // "JetStream not enabled for account")
    for (const acc of this.host.accounts.values()) {
      if (acc === this.host.systemAccount) continue;
      this.apiClients.push(new ApiClient(this, acc, this.accounts.get(acc.name)));
    }
  }

  /** Shutdown: stop answering, write and close every stream. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.apiClients) c.close();
    for (const a of this.accounts.values()) a.stop();
  }

  // ---------------------------------------------------------------- usage and limits

  usage(): { memory: number; store: number } {
    let memory = 0;
    let store = 0;
    for (const a of this.accounts.values()) {
      const u = a.usage();
      memory += u.memory;
      store += u.store;
    }
    return { memory, store };
  }

  /** max_bytes reserved on the server for a storage type (without one stream being re-checked). */
  reserved(storage: StorageType, exceptAccount?: JsAccount, exceptStream?: string): number {
    let n = 0;
    for (const a of this.accounts.values()) n += a.reserved(storage, a === exceptAccount ? exceptStream : undefined);
    return n;
  }

  /** The server is over its configured limit for a storage type. */
  limitsExceeded(storage: StorageType): boolean {
    const u = this.usage();
    return storage === "memory" ? u.memory > this.maxMemory : u.store > this.maxStore;
  }

  numStreams(): number {
    let n = 0;
    for (const a of this.accounts.values()) n += a.streams.size;
    return n;
  }

  numConsumers(): number {
    let n = 0;
    for (const a of this.accounts.values()) n += a.numConsumers();
    return n;
  }

  /** Totals over every stream (messages and bytes), for /jsz. */
  totals(): { messages: number; bytes: number } {
    let messages = 0;
    let bytes = 0;
    for (const a of this.accounts.values()) {
      for (const s of a.streams.values()) {
        const st = s.store.state();
        messages += st.messages;
        bytes += st.bytes;
      }
    }
    return { messages, bytes };
  }

  /** The `config` object of /jsz and varz's `jetstream` section. */
  configJson(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      max_memory: this.maxMemory,
      max_storage: this.maxStore,
      store_dir: this.root,
      sync_interval: this.config.sync_interval === "always" ? 0 : this.config.sync_interval * 1e6,
    };
    if (this.config.sync_interval === "always") out.sync_always = true;
    if (this.domain) out.domain = this.domain;
    // streams configured with compression: "s2" are accepted and stored uncompressed
    out.compress_ok = false;
    return out;
  }

  /** JetStreamStats (server-wide usage and API counters). */
  statsJson(): Record<string, unknown> {
    const u = this.usage();
    return {
      memory: u.memory,
      storage: u.store,
      reserved_memory: this.reserved("memory"),
      reserved_storage: this.reserved("file"),
      accounts: this.accounts.size,
      ha_assets: 0,
      api: { level: JS_API_LEVEL, total: this.apiTotal, errors: this.apiErrors },
    };
  }
}

function diskAvailable(dir: string): number {
  try {
    const s = statfsSync(dir);
    return Math.floor(((s.bavail * s.bsize) / 4) * 3);
  } catch {
    return MAX_STORE_DEFAULT;
  }
}
