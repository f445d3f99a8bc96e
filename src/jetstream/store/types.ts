// The stream store: one interface, two implementations (memory, file). JetStream streams, consumer
// state and MQTT persistence sit on it. Semantics follow nats-server's StreamStore (server/store.go,
// memstore.go, filestore.go): sequences, first_seq/last_seq rules, limits, purge/compact/truncate.
//
// Conventions
// - Sequences are JS numbers (exact up to 2^53).
// - Timestamps are bigint nanoseconds since the Unix epoch (nats-server's UnixNano); 0n means "zero
//   time" (nats-server's time.Time{}, rendered 0001-01-01T00:00:00Z by the API layer).
// - Durations in the config are milliseconds.
// - Subjects are strings holding one char per byte (latin1), as the core passes them; they are
//   stored and returned byte for byte.
// - Buffers handed to storeMsg are copied (the caller may reuse them). Buffers returned by loads may
//   share memory with the store's caches: treat them as read-only.
// - A limit of 0 or less means unlimited (nats-server uses -1).

export type StorageType = "file" | "memory";
export type DiscardPolicy = "old" | "new";

export interface StoreConfig {
  name: string;
  storage: StorageType;
  /** Informational for the store (the stream does the subject routing). */
  subjects?: string[];
  max_msgs?: number;
  max_bytes?: number;
  /** Milliseconds; 0 = no age limit. */
  max_age?: number;
  max_msgs_per_subject?: number;
  /** Largest header+payload accepted (bytes). */
  max_msg_size?: number;
  discard?: DiscardPolicy;
  discard_new_per_subject?: boolean;
  /** First sequence of a new (empty) store. Ignored when a file store reopens existing data. */
  first_seq?: number;
  /** Honour per-message TTLs (StoreMsgOptions.ttl). Without it TTLs are kept but do not expire. */
  allow_msg_ttl?: boolean;
  /** Milliseconds; when set, the removal hook is given the removed message's headers (see RemovedMsg). */
  subject_delete_marker_ttl?: number;

  // ---- file store only ----
  /** The stream's directory (created if missing). */
  directory?: string;
  /** Target size of a block file in bytes (default 8 MiB). A larger single record gets a block of its own. */
  block_size?: number;
  /**
   * Durability policy. "always": every batch is fsynced before its writes are reported done.
   * A number: fsync every that many milliseconds (default 120000, nats-server's sync_interval of 2m).
   */
  sync_interval?: number | "always";
  /** Bytes of the newest records kept in memory for reads (default 4 MiB). */
  cache_size?: number;
}

export interface StoreMsgOptions {
  /**
   * Per-message TTL in milliseconds (nats-server's Nats-TTL). > 0: expires that long after its
   * timestamp (when allow_msg_ttl). < 0: never expires, not even by max_age. 0/absent: none.
   */
  ttl?: number;
  /** Use this timestamp instead of now (mirrors/sources keeping the origin's time). */
  ts?: bigint;
  /** The sequence the caller expects this message to get; a mismatch throws SEQUENCE_MISMATCH. */
  seq?: number;
}

export interface StoredMsg {
  seq: number;
  subject: string;
  /** NATS headers block as received (NATS/1.0\r\n...), or undefined when the message had none. */
  hdr: Buffer | undefined;
  data: Buffer;
  ts: bigint;
  /** The per-message TTL in ms it was stored with (0 = none, < 0 = never expires). */
  ttl: number;
}

export interface LostData {
  msgs: number[];
  bytes: number;
}

/** nats-server's StreamState (without consumer_count, which the stream adds). */
export interface StreamState {
  messages: number;
  bytes: number;
  /** Sequence of the first message; last_seq + 1 when the store is empty (0 for a store never written). */
  first_seq: number;
  first_ts: bigint;
  last_seq: number;
  last_ts: bigint;
  num_subjects: number;
  /** Sequences between first_seq and last_seq that hold no message. */
  num_deleted: number;
  /** Only when asked for (state({ deleted: true })): the interior deleted sequences, ascending. */
  deleted?: number[];
  /** Messages found damaged on disk and dropped (file store). */
  lost?: LostData;
}

/** nats-server's SimpleState. first/last are 0 when msgs is 0. */
export interface SubjectState {
  msgs: number;
  first: number;
  last: number;
}

export interface PurgeOptions {
  /** Only messages on subjects matching this filter (wildcards allowed). */
  subject?: string;
  /** Purge up to but not including this sequence. */
  seq?: number;
  /** Keep the newest N messages (matching the filter). */
  keep?: number;
}

export type RemovalReason = "max_age" | "ttl" | "max_msgs" | "max_bytes" | "max_msgs_per_subject";

/** A message removed by the store itself (limits or expiry), reported after the operation that removed it. */
export interface RemovedMsg {
  seq: number;
  subject: string;
  reason: RemovalReason;
  /** True when no message is left on this subject (the moment for a subject delete marker). */
  lastForSubject: boolean;
  /** The removed message's headers, given for "max_age"/"ttl" when subject_delete_marker_ttl is set. */
  hdr?: Buffer;
}

export type RemovedHandler = (msg: RemovedMsg) => void;

export interface SequencePair {
  consumer_seq: number;
  stream_seq: number;
}

export interface PendingEntry {
  /** Consumer sequence of the delivery. */
  sequence: number;
  /** Delivery time, ns since the epoch. */
  ts: bigint;
}

/** nats-server's ConsumerState. pending/redelivered are keyed by stream sequence. */
export interface ConsumerState {
  delivered: SequencePair;
  ack_floor: SequencePair;
  pending?: Map<number, PendingEntry>;
  redelivered?: Map<number, number>;
}

/** Persistence for one consumer's state and configuration, kept with the stream. */
export interface ConsumerStore {
  readonly name: string;
  /** Record the state. The file store writes it atomically (temp file + rename), coalesced per turn. */
  update(state: ConsumerState): void;
  /** The last state given to update() (or found on disk), or undefined. */
  load(): ConsumerState | undefined;
  /** Persist the consumer's configuration (any JSON value), atomically. */
  writeMeta(meta: unknown): void;
  readMeta(): unknown | undefined;
  /** Write any state not yet written. */
  flush(): void;
  /** Flush and release (the state stays on disk). */
  stop(): void;
  /** Remove the consumer's state and configuration. */
  delete(): void;
}

export interface FilteredState {
  msgs: number;
  first: number;
  last: number;
}

/** What a file store found when it opened its directory. */
export interface RecoveryReport {
  blocks: number;
  records: number;
  /** Bytes cut off the end of block files (torn writes). */
  truncatedBytes: number;
  /** Damaged records skipped inside blocks. */
  corruptRecords: number;
  lost: LostData;
}

export interface StreamStore {
  readonly type: StorageType;
  readonly config: Readonly<StoreConfig>;

  /**
   * Append a message. Returns its sequence and timestamp at once; enforces max_msg_size and the
   * limits (discard old: drops the oldest / oldest on the subject; discard new: throws StoreError).
   * File store: the record is written to the OS by the end of this event-loop turn; use afterWrite()
   * or flush() before acknowledging it.
   */
  storeMsg(subject: string, hdr: Buffer | undefined, data: Buffer, opts?: StoreMsgOptions): { seq: number; ts: bigint };
  /** Advance last_seq by num without storing (mirrors). Returns the new last_seq. */
  skipMsgs(num?: number): number;

  loadMsg(seq: number): StoredMsg | undefined;
  /** Newest message whose subject matches the filter (wildcards allowed; "" or ">" = any). */
  loadLastMsg(filter: string): StoredMsg | undefined;
  /** First message at or after start matching any of the filters (undefined/""/">" = any). */
  loadNextMsg(filter: string | string[] | undefined, start: number): StoredMsg | undefined;
  /** Last message at or before start matching any of the filters. */
  loadPrevMsg(filter: string | string[] | undefined, start: number): StoredMsg | undefined;
  subjectForSeq(seq: number): string | undefined;
  /** First sequence whose timestamp is >= ts (last_seq + 1 when none). */
  getSeqFromTime(ts: bigint): number;

  removeMsg(seq: number): boolean;
  /** Remove and overwrite the message's contents. */
  eraseMsg(seq: number): boolean;
  /** nats-server PurgeEx semantics. Returns the number of messages purged. */
  purge(opts?: PurgeOptions): number;
  /** Remove everything below seq; past the end, the next message gets seq. Returns the number purged. */
  compact(seq: number): number;
  /** Remove everything above seq; last_seq becomes seq. truncate(0) resets the store. */
  truncate(seq: number): void;

  state(opts?: { deleted?: boolean }): StreamState;
  /** Messages at or after start matching the filter(s): count, first and last sequence. */
  filteredState(start: number, filter?: string | string[], lastPerSubject?: boolean): FilteredState;
  numPending(start: number, filter?: string | string[], lastPerSubject?: boolean): number;
  subjectsState(filter?: string): Map<string, SubjectState>;
  subjectsTotals(filter?: string): Map<string, number>;
  /** Sorted sequences of the last message of each subject matching the filters, at or below maxSeq (0 = last). Throws TOO_MANY_RESULTS beyond maxAllowed (> 0). */
  multiLastSeqs(filters: string[], maxSeq?: number, maxAllowed?: number): number[];
  allLastSeqs(): number[];

  /** Apply a new configuration (limits take effect at once). */
  updateConfig(cfg: StoreConfig): void;
  /** Remove messages past max_age or their TTL now. Runs on a timer inside the store too. Returns how many. */
  expireMsgs(): number;
  /** Called for each message the store removes by itself (limits, age, TTL). */
  setRemovedHandler(handler: RemovedHandler | undefined): void;

  /** cb runs once everything stored so far has reached the OS (and disk, with sync_interval "always"). */
  afterWrite(cb: (err?: Error) => void): void;
  /** Promise form of afterWrite. */
  flush(): Promise<void>;
  /** Write and fsync everything now. */
  sync(): void;

  consumerStore(name: string): ConsumerStore;
  /** Names of consumers that have persisted state or configuration. */
  consumerNames(): string[];
  /** Persist the stream's configuration (any JSON value), atomically; readMeta returns it after a restart. */
  writeMeta(meta: unknown): void;
  readMeta(): unknown | undefined;

  /** Flush, sync and close. Further calls throw CLOSED. */
  stop(): void;
  /** Stop and remove all stored data. */
  delete(): void;
}
