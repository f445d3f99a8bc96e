// Helpers for the JetStream integration tests: a server with JetStream on a fresh temporary
// store_dir, the official clients connected to it, raw API requests, and the JSON schemas of
// shared/reference/schemas/jetstream/api/v1 to validate responses against.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { startServer } from "../../src/index.js";
import type { Options } from "../../src/config/options.js";
import type { Server } from "../../src/server/server.js";

// shared/ sits beside the repository (locally and in CI)
const SCHEMA_DIRS = ["api", "advisory"].map((d) => fileURLToPath(new URL(`../../../shared/reference/schemas/jetstream/${d}/v1/`, import.meta.url)));

export interface JsCtx {
  server: Server;
  storeDir: string;
  nc: NatsConnection;
  jsm: JetStreamManager;
  js: JetStreamClient;
  /** another connection (for tests that need a second client) */
  connect(opts?: Parameters<typeof connect>[0]): Promise<NatsConnection>;
  /** a raw API request: the parsed JSON response, validated against the schema of its `type` */
  api(subject: string, body?: unknown): Promise<Record<string, unknown>>;
}

export function tmpStoreDir(): string {
  return mkdtempSync(join(tmpdir(), "junction-js-"));
}

/** Starts a server with JetStream (store_dir in a fresh temporary directory unless given). */
export async function startJs(opts: Options = {}, storeDir = tmpStoreDir()): Promise<Server> {
  const js = typeof opts.jetstream === "object" ? opts.jetstream : {};
  return startServer({ host: "127.0.0.1", port: -1, ...opts, jetstream: { store_dir: storeDir, ...js } });
}

/** Runs `fn` with a JetStream server and connected clients; everything is closed and removed after. */
export async function withJs(opts: Options, fn: (ctx: JsCtx) => Promise<void>, keepDir?: string): Promise<void> {
  const storeDir = keepDir ?? tmpStoreDir();
  const server = await startJs(opts, storeDir);
  const conns: NatsConnection[] = [];
  try {
    const nc = await connect({ servers: server.clientURL });
    conns.push(nc);
    const ctx: JsCtx = {
      server,
      storeDir,
      nc,
      jsm: await jetstreamManager(nc),
      js: jetstream(nc),
      connect: async (o) => {
        const c = await connect({ servers: server.clientURL, ...o });
        conns.push(c);
        return c;
      },
      api: async (subject, body) => {
        const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
        const m = await nc.request(subject, data, { timeout: 2000 });
        const r = JSON.parse(m.string()) as Record<string, unknown>;
        validate(r);
        return r;
      },
    };
    await fn(ctx);
  } finally {
    for (const c of conns) await c.close().catch(() => {});
    await server.close();
    if (keepDir === undefined) rmSync(storeDir, { recursive: true, force: true });
  }
}

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

/** The validator for a schema file's `title` (the response `type`). */
export function schemaFor(type: string): ValidateFunction {
  if (ajv === undefined) {
    ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    for (const dir of SCHEMA_DIRS) {
      for (const f of readdirSync(dir)) {
        if (!f.endsWith(".json")) continue;
        const s = JSON.parse(readFileSync(join(dir, f), "utf8")) as { title?: string; $id?: string };
        delete s.$id; // two files share one
        if (s.title) validators.set(s.title, ajv.compile(s));
      }
    }
  }
  const v = validators.get(type);
  assert.ok(v, `no schema for ${type}`);
  return v;
}

/** Validates an API response against the schema of its `type`. */
export function validate(r: Record<string, unknown>, type = r.type as string): void {
  const v = schemaFor(type);
  if (!v(r)) assert.fail(`${type} does not match its schema: ${JSON.stringify(v.errors, null, 1)}\n${JSON.stringify(r)}`);
}

/** Validates a value against a schema given by title (e.g. a stream configuration). */
export function validateAs(value: unknown, type: string): void {
  const v = schemaFor(type);
  if (!v(value)) assert.fail(`value does not match ${type}: ${JSON.stringify(v.errors, null, 1)}\n${JSON.stringify(value)}`);
}

/** Expects a JetStream API error with this err_code (and status code when given). */
export async function rejectsApi(p: Promise<unknown>, errCode: number, status?: number, description?: string | RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof JetStreamApiError, `expected a JetStreamApiError, got ${e}`);
    assert.equal(e.code, errCode, `err_code (${e.message})`);
    if (status !== undefined) assert.equal(e.status, status, "code");
    if (typeof description === "string") assert.equal(e.message, description);
    else if (description) assert.match(e.message, description);
    return true;
  });
}

/** Expects a raw API response carrying this error. */
export function assertApiError(r: Record<string, unknown>, errCode: number, status?: number): void {
  const e = r.error as { code: number; err_code: number; description: string } | undefined;
  assert.ok(e, `expected an error, got ${JSON.stringify(r)}`);
  assert.equal(e.err_code, errCode, `err_code in ${JSON.stringify(e)}`);
  if (status !== undefined) assert.equal(e.code, status);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` until it holds (or fails after `ms`). */
export async function eventually(cond: () => boolean | Promise<boolean>, ms = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export const NS = 1_000_000;
/** Seconds as nanoseconds (the API's durations). */
export const sec = (s: number) => s * 1e9;
