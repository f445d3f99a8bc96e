// Metadata kept beside a file store's messages: the stream configuration (<dir>/meta.json) and
// each consumer's state and configuration (<dir>/obs/<name>/state.bin, meta.json), all replaced
// atomically (temporary file + rename).

import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cloneConsumerState, decodeConsumerState, encodeConsumerState } from "./consumer-state.js";
import { writeFileAtomic } from "./fsutil.js";
import type { ConsumerState, ConsumerStore } from "./types.js";

/** What a FileConsumerStore needs from its stream's store. */
export interface ConsumerOwner {
  readonly consumerSyncAlways: boolean;
  consumerDirty(c: FileConsumerStore): void;
  consumerGone(c: FileConsumerStore): void;
}

/** The stream configuration saved by writeMeta() in a stream directory, or undefined. */
export function readStreamMeta(dir: string): unknown | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, "meta.json"), "utf8"));
  } catch {
    return undefined;
  }
}

/** Save a stream configuration in a stream directory, atomically. */
export function writeStreamMeta(dir: string, meta: unknown): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, "meta.json"), JSON.stringify(meta), true);
}

/** A consumer's state and configuration in <stream dir>/obs/<name>/ (state.bin, meta.json). */
export class FileConsumerStore implements ConsumerStore {
  private st: ConsumerState | undefined;
  private dirty = false;
  private loaded = false;

  constructor(
    private readonly owner: ConsumerOwner,
    readonly name: string,
    private readonly dir: string,
  ) {}

  update(state: ConsumerState): void {
    this.st = state; // kept by reference until written
    this.loaded = true;
    this.dirty = true;
    this.owner.consumerDirty(this);
  }

  load(): ConsumerState | undefined {
    if (!this.loaded) {
      this.loaded = true;
      try {
        this.st = decodeConsumerState(readFileSync(join(this.dir, "state.bin")));
      } catch {
        this.st = undefined;
      }
    }
    return this.st === undefined ? undefined : cloneConsumerState(this.st);
  }

  flush(): void {
    if (!this.dirty || this.st === undefined) return;
    this.dirty = false;
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(join(this.dir, "state.bin"), encodeConsumerState(this.st), this.owner.consumerSyncAlways);
  }

  writeMeta(meta: unknown): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(join(this.dir, "meta.json"), JSON.stringify(meta), true);
  }

  readMeta(): unknown | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, "meta.json"), "utf8"));
    } catch {
      return undefined;
    }
  }

  stop(): void {
    this.flush();
  }

  delete(): void {
    this.dirty = false;
    this.st = undefined;
    this.owner.consumerGone(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
