// Starting bench workers from either the TypeScript sources (under tsx) or the compiled
// dist/ files, and waiting for their replies with timeouts.

import { Worker } from "node:worker_threads";
import { BenchError } from "./conn.js";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.js";

const fromSources = import.meta.url.endsWith(".ts");
const workerUrl = new URL(fromSources ? "./worker.ts" : "./worker.js", import.meta.url);

/**
 * Running from the .ts sources (tests, development): on Node 20 a worker does not pick up
 * `--import tsx` from execArgv for its entry module, so a tiny bootstrap loads the worker
 * through tsx's API instead. Compiled code (dist/) starts the .js file directly.
 */
function spawnWorker(workerData: WorkerInit): Worker {
  if (!fromSources) return new Worker(workerUrl, { workerData });
  const api = import.meta.resolve("tsx/esm/api");
  const url = workerUrl.href;
  const code = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(url)}, ${JSON.stringify(url)}))`;
  return new Worker(code, { eval: true, workerData });
}

const live = new Set<BenchWorker>();

type Waiter = { type: FromWorker["type"]; resolve: (m: FromWorker) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class BenchWorker {
  readonly worker: Worker;
  private inbox: FromWorker[] = [];
  private waiters: Waiter[] = [];
  private failure: Error | undefined;
  private ended = false;

  constructor(readonly init: WorkerInit) {
    this.worker = spawnWorker(init);
    live.add(this);
    this.worker.on("message", (m: FromWorker) => {
      if (m.type === "error") {
        this.fail(new BenchError(m.message));
        return;
      }
      const k = this.waiters.findIndex((w) => w.type === m.type);
      if (k >= 0) {
        const [w] = this.waiters.splice(k, 1);
        clearTimeout(w.timer);
        w.resolve(m);
      } else {
        this.inbox.push(m);
      }
    });
    this.worker.on("error", (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
    this.worker.on("exit", (code) => {
      live.delete(this);
      if (!this.ended) this.fail(new BenchError(`bench worker (${init.role}) exited with code ${code}`));
    });
  }

  send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  /** The next message of this type; rejects on the worker's failure or after timeoutMs. */
  wait<T extends FromWorker["type"]>(type: T, timeoutMs: number): Promise<Extract<FromWorker, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    const k = this.inbox.findIndex((m) => m.type === type);
    if (k >= 0) return Promise.resolve(this.inbox.splice(k, 1)[0] as Extract<FromWorker, { type: T }>);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        type,
        resolve: resolve as (m: FromWorker) => void,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          reject(new BenchError(`bench worker (${this.init.role}): no '${type}' within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(e);
    }
    this.waiters = [];
  }

  async stop(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    live.delete(this);
    this.send({ cmd: "stop" });
    const t = setTimeout(() => void this.worker.terminate(), 1000);
    await new Promise<void>((res) => {
      this.worker.once("exit", () => res());
      if (this.worker.threadId < 0) res();
    });
    clearTimeout(t);
  }
}

/** Terminates every worker still running (on error or interrupt). */
export async function stopAllWorkers(): Promise<void> {
  await Promise.all([...live].map((w) => w.stop()));
}
