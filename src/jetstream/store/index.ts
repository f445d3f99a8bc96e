// The stream store: one interface (types.ts), two implementations (memory, file).

import { FileStore } from "./filestore.js";
import { MemoryStore } from "./memstore.js";
import type { StoreConfig, StreamStore } from "./types.js";

export type * from "./types.js";
export { StoreError, isStoreError } from "./errors.js";
export type { StoreErrorCode } from "./errors.js";
export { MemoryStore, memMsgSize, fileMsgSize } from "./memstore.js";
export type { MemoryStoreOptions } from "./memstore.js";
export { FileStore, DEFAULT_BLOCK_SIZE, DEFAULT_SYNC_INTERVAL } from "./filestore.js";
export { FileConsumerStore, readStreamMeta, writeStreamMeta } from "./file-meta.js";
export { encodeConsumerState, decodeConsumerState } from "./consumer-state.js";
export { nowNs } from "./clock.js";
export { encodeName as storeDirName, decodeName as storeNameFromDir } from "./fsutil.js";

/** Open a store for the configuration: a FileStore (recovering what is in cfg.directory) or a MemoryStore. */
export function createStore(cfg: StoreConfig): StreamStore {
  return cfg.storage === "file" ? new FileStore(cfg) : new MemoryStore(cfg);
}
