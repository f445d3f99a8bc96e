// JetStream in one account: its streams, its limits (max_mem, max_file, max_streams,
// max_consumers), its usage, and its directory (<store root>/<account>/streams/<stream>/).

import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedAccountJetStream } from "../config/options.js";
import type { Account } from "../core/account.js";
import type { Logger } from "../logger.js";
import { streamActionAdvisory } from "./advisories.js";
import { jsError } from "./errors.js";
import type { JetStream } from "./jetstream.js";
import { createStore, memMsgSize, fileMsgSize, nowNs, readStreamMeta, storeDirName, type StreamStore } from "./store/index.js";
import { Stream, type StreamHost } from "./stream.js";
import type { LinkHost } from "./sourcing.js";
import { checkStreamConfig, configFromJson, sameConfig, type ApiError, type ConfigContext, type StorageType, type StreamConfig } from "./stream-config.js";
import { subjectsCollide as subjectsOverlap } from "./subjects.js";
import { parseRfc3339 } from "./time.js";

export const UNLIMITED: ResolvedAccountJetStream = { max_mem: -1, max_file: -1, max_streams: -1, max_consumers: -1 };

/** A directory name for an account: its name when the filesystem takes it as is. */
function accountDirName(name: string): string {
  return /^[A-Za-z0-9_$-][A-Za-z0-9_$.-]*$/.test(name) ? name : storeDirName(name);
}

export class JsAccount implements StreamHost {
  readonly streams = new Map<string, Stream>();
  apiTotal = 0;
  apiErrors = 0;
  readonly dir: string;
  /** how mirrors and sources find their origin: a stream of this account, or another account's through its API */
  private readonly linkHost: LinkHost;

  constructor(
    readonly js: JetStream,
    readonly account: Account,
    public limits: ResolvedAccountJetStream,
  ) {
    this.dir = join(js.root, accountDirName(account.name));
    this.linkHost = { lookup: (name) => this.streams.get(name), account, domain: js.domain, logger: js.logger };
  }

  get name(): string {
    return this.account.name;
  }

  get logger(): Logger {
    return this.js.logger;
  }

  get domain(): string | undefined {
    return this.js.domain;
  }

  get maxPending(): number {
    return this.js.maxPending;
  }

  get streamsDir(): string {
    return join(this.dir, "streams");
  }

  /** What stream configuration checks need to see of this account. */
  configContext(): ConfigContext {
    return { lookup: (name) => this.streams.get(name)?.cfg };
  }

  // ---------------------------------------------------------------- usage and limits

  /** Bytes stored in this account's streams, by storage type. */
  usage(): { memory: number; store: number } {
    let memory = 0;
    let store = 0;
    for (const s of this.streams.values()) {
      const b = s.store.state().bytes;
      if (s.cfg.storage === "memory") memory += b;
      else store += b;
    }
    return { memory, store };
  }

  /** Sum of max_bytes reserved by this account's streams of a storage type (other than `except`). */
  reserved(storage: StorageType, except?: string): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.cfg.storage === storage && s.cfg.max_bytes > 0 && s.cfg.name !== except) n += s.cfg.max_bytes;
    return n;
  }

  numConsumers(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.consumers.size;
    return n;
  }

  /**
   * nats-server's checkLimits for a stream about to be created or updated (max_consumers, bytes).
   * On update, cfg.max_bytes is what max_bytes grows by and `extraReserved` the stream's current reservation.
   */
  checkStreamLimits(cfg: StreamConfig, extraReserved = 0): ApiError | undefined {
    const lim = this.limits;
    if (cfg.max_consumers > 0 && lim.max_consumers > 0 && cfg.max_consumers > lim.max_consumers) return jsError("JSMaximumConsumersLimitErr");
    const add = cfg.max_bytes < 0 ? 1 : cfg.max_bytes;
    const res = this.reserved(cfg.storage, cfg.name) + extraReserved;
    if (cfg.storage === "memory") {
      if (lim.max_mem >= 0 && (res > lim.max_mem || add > lim.max_mem - res)) return jsError("JSMemoryResourcesExceededErr");
      const sres = this.js.reserved("memory", this, cfg.name) + extraReserved;
      if (sres > this.js.maxMemory || add > this.js.maxMemory - sres) return jsError("JSMemoryResourcesExceededErr");
    } else {
      if (lim.max_file >= 0 && (res > lim.max_file || add > lim.max_file - res)) return jsError("JSStorageResourcesExceededErr");
      const sres = this.js.reserved("file", this, cfg.name) + extraReserved;
      if (sres > this.js.maxStore || add > this.js.maxStore - sres) return jsError("JSStorageResourcesExceededErr");
    }
    return undefined;
  }

  /** StreamHost: the account's and the server's byte limits for one more message. */
  checkLimits(stream: Stream, subject: string, hdrLen: number, dataLen: number): ApiError | undefined {
    const mem = stream.cfg.storage === "memory";
    const accountLimit = mem ? this.limits.max_mem : this.limits.max_file;
    const serverLimited = mem ? this.js.memoryLimited : this.js.storeLimited;
    if (accountLimit < 0 && !serverLimited) return undefined;
    if (serverLimited && this.js.limitsExceeded(mem ? "memory" : "file")) return jsError("JSInsufficientResourcesErr");
    if (accountLimit >= 0) {
      const u = this.usage();
      const size = mem ? memMsgSize(subject.length, hdrLen, dataLen) : fileMsgSize(subject.length, hdrLen, dataLen);
      if ((mem ? u.memory : u.store) + size > accountLimit) return jsError("JSAccountResourcesExceededErr");
    }
    return undefined;
  }

  // ---------------------------------------------------------------- streams

  /** Creates a stream from a checked configuration (the API's add), or reports why not. Idempotent for the same configuration. */
  addStream(cfg: StreamConfig): { stream: Stream; created: boolean } | { error: ApiError } {
    if (cfg.num_replicas > 1) return { error: jsError("JSStreamReplicasNotSupportedErr") };
    const existing = this.streams.get(cfg.name);
    if (existing !== undefined) {
      if (sameConfig(existing.cfg, cfg)) return { stream: existing, created: false };
      return { error: jsError("JSStreamNameExistErr") };
    }
    const lim = this.limits;
    if (lim.max_streams > 0 && this.streams.size >= lim.max_streams) return { error: jsError("JSMaximumStreamsLimitErr") };
    const limErr = this.checkStreamLimits(cfg);
    if (limErr !== undefined) return { error: limErr };
    for (const s of this.streams.values()) {
      for (const a of s.cfg.subjects ?? []) {
        for (const b of cfg.subjects ?? []) if (subjectsOverlap(a, b)) return { error: jsError("JSStreamSubjectOverlapErr") };
      }
    }
    let stream: Stream;
    try {
      stream = this.openStream(cfg, nowNs(), true);
    } catch (e) {
      this.logger.warn(`Stream create failed for '${this.name} > ${cfg.name}': ${(e as Error).message}`);
      return { error: jsError("JSStreamCreateErrF", { err: "error creating store for stream" }) };
    }
    streamActionAdvisory(this.account, cfg.name, "create", this.domain);
    return { stream, created: true };
  }

  private openStream(cfg: StreamConfig, created: bigint, fresh: boolean): Stream {
    const dir = join(this.streamsDir, storeDirName(cfg.name));
    const store: StreamStore = createStore(
      Stream.storeConfig(cfg, cfg.storage === "file" ? { directory: dir, sync_interval: this.js.syncInterval } : {}),
    );
    let stream: Stream;
    try {
      stream = new Stream(this, cfg, store, created);
      if (fresh || cfg.storage === "file") stream.saveMeta();
    } catch (e) {
      if (fresh) store.delete();
      else store.stop();
      throw e;
    }
    this.streams.set(cfg.name, stream);
    stream.startLinks(this.linkHost);
    for (const s of this.streams.values()) if (s !== stream) s.originChanged(cfg.name);
    this.js.streamOpened(stream, this, !fresh);
    return stream;
  }

  /** Subjects of `cfg` overlapping another stream's. */
  overlapsOthers(cfg: StreamConfig): boolean {
    for (const s of this.streams.values()) {
      if (s.cfg.name === cfg.name) continue;
      for (const a of s.cfg.subjects ?? []) for (const b of cfg.subjects ?? []) if (subjectsOverlap(a, b)) return true;
    }
    return false;
  }

  deleteStream(stream: Stream): void {
    this.streams.delete(stream.name);
    stream.delete();
    for (const s of this.streams.values()) s.originChanged(stream.name);
    streamActionAdvisory(this.account, stream.name, "delete", this.domain);
    this.js.streamDeleted(stream, this);
  }

  /** Start-up: the file streams found under the account's directory. */
  recover(): void {
    const dir = this.streamsDir;
    if (!existsSync(dir)) return;
    for (const d of readdirSync(dir).sort()) {
      const path = join(dir, d);
      const meta = readStreamMeta(path) as { config?: unknown; created?: unknown } | undefined;
      const cfg = meta?.config !== undefined ? configFromJson(meta.config) : undefined;
      if (cfg === undefined) {
        this.logger.warn(`  Error unmarshalling stream metafile in ${JSON.stringify(path)}: no valid configuration; skipped`);
        continue;
      }
      const checked = checkStreamConfig(cfg, this.configContext());
      if (checked.error !== undefined) {
        this.logger.warn(`  Error recreating stream ${JSON.stringify(cfg.name)}: ${checked.error.description}`);
        continue;
      }
      const created = typeof meta?.created === "string" ? parseRfc3339(meta.created) ?? nowNs() : nowNs();
      try {
        const s = this.openStream({ ...checked.cfg, storage: "file" }, created, false);
        const st = s.store.state();
        this.logger.info(`  Restored ${st.messages.toLocaleString("en-US")} messages for stream '${this.name} > ${cfg.name}'`);
        const lost = st.lost;
        if (lost && (lost.msgs.length > 0 || lost.bytes > 0)) {
          this.logger.warn(`  Stream '${this.name} > ${cfg.name}': ${lost.msgs.length} damaged messages (${lost.bytes} bytes) dropped during recovery`);
        }
      } catch (e) {
        this.logger.error(`  Error recreating stream ${JSON.stringify(cfg.name)}: ${(e as Error).message}`);
      }
    }
  }

  ensureDir(): void {
    mkdirSync(this.streamsDir, { recursive: true });
  }

  stop(): void {
    for (const s of this.streams.values()) {
      try {
        s.stop();
      } catch (e) {
        this.logger.error(`Stopping stream '${this.name} > ${s.name}': ${(e as Error).message}`);
      }
    }
  }

  /** The account info of $JS.API.INFO (without the response envelope). */
  info(): Record<string, unknown> {
    const u = this.usage();
    const lim = this.limits;
    const out: Record<string, unknown> = {
      memory: u.memory,
      storage: u.store,
      reserved_memory: this.reserved("memory"),
      reserved_storage: this.reserved("file"),
      streams: this.streams.size,
      consumers: this.numConsumers(),
      limits: {
        max_memory: lim.max_mem,
        max_storage: lim.max_file,
        max_streams: lim.max_streams,
        max_consumers: lim.max_consumers,
        max_ack_pending: -1,
        memory_max_stream_bytes: -1,
        storage_max_stream_bytes: -1,
        max_bytes_required: false,
      },
    };
    if (this.js.domain) out.domain = this.js.domain;
    out.api = { level: this.js.apiLevel, total: this.apiTotal, errors: this.apiErrors };
    return out;
  }
}
