// The consumers of one stream: creating (nats-server's addConsumerWithAssignment: defaults,
// checks, idempotent create, updates, limits, work-queue rules), recovering after a restart,
// deleting (by the API or for inactivity), and the retention the stream's policy asks for:
// interest and work-queue streams drop a message once no consumer needs it.
//
// The layer plugs into the engine through stream hooks (every stream gets a ConsumerSet when it is
// created or recovered) and API routes (consumer-api.ts).

import type { Account } from "../core/account.js";
import type { JsAccount } from "./account.js";
import { ADVISORY_PREFIX, publishAdvisory } from "./advisories.js";
import { checkConsumerConfig, checkConsumerUpdate, consumerConfigFromJson, filtersOf, isDurable, sameConsumerConfig, setConsumerDefaults, stampInactiveThreshold, type ConsumerAction, type ConsumerConfig } from "./consumer-config.js";
import { Consumer, type ConsumerOwner } from "./consumer.js";
import { generateName } from "./consumer-util.js";
import { jsError } from "./errors.js";
import type { JetStream } from "./jetstream.js";
import { MemoryConsumerStore } from "./store/consumer-state.js";
import { nowNs, type ConsumerStore } from "./store/index.js";
import type { ApiError } from "./stream-config.js";
import type { Stream } from "./stream.js";
import { isValidAssetName, subjectsCollide, toWire } from "./subjects.js";
import { parseRfc3339 } from "./time.js";
import { registerConsumerApi } from "./consumer-api.js";

const CONSUMER_ACTION = "io.nats.jetstream.advisory.v1.consumer_action";
/** Above this many messages, removing what lost interest is left to the messages' own acks (nats-server's bailThresh). */
const CLEANUP_SCAN_LIMIT = 100_000;

const sets = new WeakMap<Stream, ConsumerSet>();

/** The consumer layer of an engine: API routes and stream hooks. Call before js.start(). */
export function registerConsumers(js: JetStream): void {
  registerConsumerApi(js.router);
  js.streamHooks.push({
    opened(stream, jsa, recovered) {
      const set = new ConsumerSet(jsa, stream);
      sets.set(stream, set);
      if (recovered) set.recover();
    },
    deleted(stream) {
      const set = sets.get(stream);
      if (set !== undefined) set.consumers.clear();
      sets.delete(stream);
    },
  });
}

/** The consumers of a stream (created with the stream by the hook). */
export function consumersOf(stream: Stream): ConsumerSet {
  let set = sets.get(stream);
  if (set === undefined) throw new Error(`stream ${stream.name} has no consumer set`);
  return set;
}

export type AddResult = { consumer: Consumer; created: boolean } | { error: ApiError };

export class ConsumerSet implements ConsumerOwner {
  readonly consumers = new Map<string, Consumer>();

  constructor(
    readonly jsa: JsAccount,
    readonly stream: Stream,
  ) {}

  get account(): Account {
    return this.jsa.account;
  }

  get domain(): string | undefined {
    return this.jsa.domain;
  }

  get logger() {
    return this.jsa.logger;
  }

  // ================================================================ create / update

  /** Adds (or, for an existing name, updates) a consumer as nats-server's addConsumerWithAssignment does. */
  add(input: ConsumerConfig, action: ConsumerAction, pedantic: boolean): AddResult {
    const stream = this.stream;
    if (stream.isClosed) return { error: jsError("JSStreamInvalidErr") };
    const cfg: ConsumerConfig = { ...input };
    const derr = setConsumerDefaults(cfg, stream.cfg, pedantic);
    if (derr !== undefined) return { error: derr };
    const cerr = checkConsumerConfig(cfg, stream.cfg);
    if (cerr !== undefined) return { error: cerr };
    const workqueue = stream.cfg.retention === "workqueue";
    const cname = isDurable(cfg) ? cfg.durable_name! : cfg.name ?? "";
    if (cname !== "") {
      const eo = this.consumers.get(cname);
      if (eo !== undefined) {
        stampInactiveThreshold(cfg);
        if (action === "create" && !sameConsumerConfig(cfg, eo.cfg)) return { error: jsError("JSConsumerAlreadyExists") };
        if (workqueue && !this.partitionUnique(cname, filtersOf(cfg))) return { error: jsError("JSConsumerWQConsumerNotUniqueErr") };
        const uerr = checkConsumerUpdate(eo.cfg, cfg, (s) => this.account.sublist.hasInterest(toWire(s)));
        if (uerr !== undefined) return { error: typeof uerr === "string" ? jsError("JSConsumerCreateErrF", { err: uerr }) : uerr };
        if (!sameConsumerConfig(cfg, eo.cfg)) {
          eo.updateConfig(cfg);
          eo.store.writeMeta(eo.metaJson());
        }
        return { consumer: eo, created: false };
      }
    }
    if (action === "update") return { error: jsError("JSConsumerDoesNotExist") };
    let maxc = stream.cfg.max_consumers;
    const accMax = this.jsa.limits.max_consumers;
    if (maxc <= 0 || (accMax > 0 && accMax < maxc)) maxc = accMax;
    if (maxc > 0 && stream.publicConsumerCount() >= maxc) return { error: jsError("JSMaximumConsumersLimitErr") };
    // A link's internal consumer is exempt from the work-queue rules, but counts as "another
    // consumer" for the next one made on the stream (nats-server 2.9.10, checked side by side).
    if (workqueue && cfg.direct !== true) {
      if (cfg.ack_policy !== "explicit") return { error: jsError("JSConsumerWQRequiresExplicitAckErr") };
      if (this.consumers.size > 0) {
        const subjects = filtersOf(cfg);
        if (subjects.length === 0) return { error: jsError("JSConsumerWQMultipleUnfilteredErr") };
        if (!this.partitionUnique(cname, subjects)) return { error: jsError("JSConsumerWQConsumerNotUniqueErr") };
      }
      if (cfg.deliver_policy !== "all") return { error: jsError("JSConsumerWQConsumerNotDeliverAllErr") };
    }
    let name = cname;
    if (name === "") {
      do name = generateName();
      while (this.consumers.has(name));
      cfg.name = name;
    }
    if (!isValidAssetName(name)) return { error: jsError("JSConsumerBadDurableNameErr") };
    stampInactiveThreshold(cfg);
    // as nats-server: every consumer of a file stream is saved with it, ephemerals too (they come
    // back after a restart and are removed after their inactive_threshold), except mem_storage ones
    const persistent = !cfg.mem_storage && stream.store.type === "file";
    let store: ConsumerStore;
    try {
      store = persistent ? stream.store.consumerStore(name) : new MemoryConsumerStore(name, () => {});
    } catch (e) {
      return { error: jsError("JSConsumerStoreFailedErrF", { err: (e as Error).message }) };
    }
    const c = new Consumer(this, cfg, name, nowNs(), store, persistent);
    try {
      c.selectStartingSeqNo();
      store.writeMeta(c.metaJson());
    } catch (e) {
      try {
        store.delete();
      } catch {
        // nothing to remove
      }
      return { error: jsError("JSConsumerStoreFailedErrF", { err: (e as Error).message }) };
    }
    this.attach(c);
    this.advisory("CREATED", name, "create");
    return { consumer: c, created: true };
  }

  private attach(c: Consumer): void {
    this.consumers.set(c.name, c);
    this.stream.attachConsumer(c);
    c.start();
  }

  /** A work-queue stream: no two consumers may take the same subject. */
  private partitionUnique(name: string, filters: string[]): boolean {
    for (const [n, c] of this.consumers) {
      if (n === name) continue;
      const other = filtersOf(c.cfg);
      if (other.length === 0) return false;
      for (const a of filters) for (const b of other) if (subjectsCollide(a, b)) return false;
    }
    return true;
  }

  private advisory(kind: "CREATED" | "DELETED", name: string, action: "create" | "delete"): void {
    const fields: Record<string, unknown> = { stream: this.stream.name, consumer: name, action };
    if (this.domain) fields.domain = this.domain;
    publishAdvisory(this.account, `${ADVISORY_PREFIX}CONSUMER.${kind}.${this.stream.name}.${name}`, CONSUMER_ACTION, fields);
  }

  // ================================================================ delete

  /** Deletes a consumer (API or inactivity): its state goes, interest it held is released. */
  remove(c: Consumer): void {
    if (this.consumers.get(c.name) !== c) return;
    this.consumers.delete(c.name);
    this.stream.detachConsumer(c.name);
    c.destroy();
    this.advisory("DELETED", c.name, "delete");
    if (this.stream.cfg.retention === "interest") this.cleanupNoInterest(c);
  }

  expired(c: Consumer): void {
    this.remove(c);
  }

  // ================================================================ retention

  /** Interest and work-queue retention: messages no consumer needs any more are removed. */
  acked(_c: Consumer, seqs: number[]): void {
    const stream = this.stream;
    if (stream.cfg.retention === "limits" || stream.isClosed) return;
    const store = stream.store;
    const st = store.state();
    for (const seq of seqs) {
      if (seq < st.first_seq || seq > st.last_seq) continue;
      const subject = store.subjectForSeq(seq);
      if (subject === undefined) continue;
      if (!this.needed(seq, subject)) stream.deleteMsg(seq, true);
    }
  }

  /** Does a consumer taking `subject` still need the message? (Only those can: the stream's filter index says which.) */
  private needed(seq: number, subject: string): boolean {
    for (const o of this.stream.consumersFor(subject)) if (this.consumers.get(o.name)?.needAck(seq, subject)) return true;
    return false;
  }

  /** A consumer of an interest stream went away: what only it was holding goes (cleanupNoInterestMessages). */
  private cleanupNoInterest(gone: Consumer): void {
    const stream = this.stream;
    if (stream.isClosed) return;
    const store = stream.store;
    const st = store.state();
    if (this.consumers.size === 0) {
      if (st.messages > 0) stream.purge(undefined);
      return;
    }
    const start = Math.max(gone.asflr, st.first_seq);
    if (st.last_seq - start > CLEANUP_SCAN_LIMIT) return;
    const rm: number[] = [];
    for (let seq = start; seq <= st.last_seq; seq++) {
      const subject = store.subjectForSeq(seq);
      if (subject !== undefined && !this.needed(seq, subject)) rm.push(seq);
    }
    for (const seq of rm) stream.deleteMsg(seq, true);
  }

  // ================================================================ recovery

  /** Start-up: the consumers saved with the stream (durable and ephemeral) come back with their state. */
  recover(): void {
    const store = this.stream.store;
    for (const name of store.consumerNames()) {
      const cs = store.consumerStore(name);
      const meta = cs.readMeta() as { config?: unknown; created?: unknown } | undefined;
      const cfg = meta?.config !== undefined ? consumerConfigFromJson(meta.config) : undefined;
      if (cfg === undefined) {
        this.logger.warn(`  Error unmarshalling consumer metafile for '${this.account.name} > ${this.stream.name} > ${name}': skipped`);
        continue;
      }
      const created = typeof meta?.created === "string" ? parseRfc3339(meta.created) ?? nowNs() : nowNs();
      try {
        const c = new Consumer(this, cfg, name, created, cs, true);
        const st = cs.load();
        if (st !== undefined) c.applyState(st);
        else c.selectStartingSeqNo();
        this.attach(c);
      } catch (e) {
        this.logger.error(`  Error recreating consumer '${this.account.name} > ${this.stream.name} > ${name}': ${(e as Error).message}`);
      }
    }
  }
}
