// Object stores with @nats-io/obj: put (chunked, digest), get (streamed, digest checked), info,
// list (without reading any chunk, even beside a large object), delete, watch, links to objects
// and buckets, seal, status, metadata updates and renames, replacing an object, objects larger
// than the max payload (50 MB), and a restart.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { Objm, type ObjectInfo, type ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Server } from "../../src/server/server.js";
import { sleep, tmpStoreDir, withJs } from "./jetstream-helpers.js";

const JS_OPTS = {};
const TIMEOUT = { timeout: 60_000 };

async function store(nc: NatsConnection, name: string, opts: Parameters<Objm["create"]>[1] = {}): Promise<ObjectStore> {
  return new Objm(nc).create(name, opts);
}

async function readAll(rs: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  const reader = rs.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return Buffer.concat(parts);
}

function sha256(b: Uint8Array): string {
  return "SHA-256=" + createHash("sha256").update(b).digest("base64url") + "=";
}

/** Counts the messages the server reads from a stream's store, by subject prefix. */
function countReads(server: Server, stream: string): { reads: Map<string, number>; restore(): void } {
  const s = server.jetstream!.accounts.get("$G")!.streams.get(stream)!;
  const st = s.store as unknown as Record<string, (...a: unknown[]) => unknown>;
  const reads = new Map<string, number>();
  const orig: Record<string, (...a: unknown[]) => unknown> = {};
  for (const fn of ["loadMsg", "loadNextMsg", "loadLastMsg", "loadPrevMsg"]) {
    orig[fn] = st[fn]!;
    st[fn] = function (this: unknown, ...a: unknown[]) {
      const m = orig[fn]!.apply(this, a) as { subject: string } | undefined;
      if (m !== undefined) {
        const kind = m.subject.split(".")[2]!;
        reads.set(kind, (reads.get(kind) ?? 0) + 1);
      }
      return m;
    };
  }
  return {
    reads,
    restore: () => {
      for (const fn of Object.keys(orig)) st[fn] = orig[fn]!;
    },
  };
}

describe("objects", () => {
  test("put in chunks and get back, digest checked; info; getBlob; an empty object", TIMEOUT, async () => {
    await withJs(JS_OPTS, async ({ nc, jsm }) => {
      const os = await store(nc, "B");
      const data = randomBytes(300 * 1024 + 17);
      const info = await os.putBlob({ name: "file.bin", description: "d", headers: undefined }, data);
      assert.equal(info.size, data.length);
      assert.equal(info.chunks, 3);
      assert.equal(info.digest, sha256(data));
      assert.equal(info.bucket, "B");
      const si = await jsm.streams.info("OBJ_B");
      assert.equal(si.state.messages, 4);
      const got = await os.get("file.bin");
      assert.ok(got);
      assert.deepEqual(await readAll(got.data), data);
      await got.error;
      assert.deepEqual(Buffer.from((await os.getBlob("file.bin"))!), data);
      const i = (await os.info("file.bin"))!;
      assert.deepEqual([i.name, i.size, i.chunks, i.description, i.deleted], ["file.bin", data.length, 3, "d", false]);
      await os.putBlob({ name: "empty" }, new Uint8Array(0));
      assert.equal((await os.getBlob("empty"))!.length, 0);
      assert.equal(await os.get("missing"), null);
    });
  });

  test("an object of 50 MB (many times the max payload) goes in and comes back intact", TIMEOUT, async () => {
    await withJs(JS_OPTS, async ({ nc }) => {
      const os = await store(nc, "BIG");
      const data = randomBytes(50 * 1024 * 1024);
      const info = await os.putBlob({ name: "big" }, data);
      assert.equal(info.chunks, 400);
      const got = await os.get("big");
      const back = await readAll(got!.data);
      assert.equal(back.length, data.length);
      assert.ok(back.equals(data));
    });
  });

  test("list reads the metadata only, never a chunk, even with a large object in the bucket", TIMEOUT, async () => {
    await withJs(JS_OPTS, async ({ nc, server }) => {
      const os = await store(nc, "L");
      await os.putBlob({ name: "big" }, randomBytes(8 * 1024 * 1024));
      await os.putBlob({ name: "small" }, Buffer.from("x"));
      await os.putBlob({ name: "gone" }, Buffer.from("y"));
      await os.delete("gone");
      const spy = countReads(server, "OBJ_L");
      try {
        const list = await os.list();
        assert.deepEqual(list.map((i: ObjectInfo) => i.name).sort(), ["big", "small"]);
        assert.equal(spy.reads.get("C") ?? 0, 0, `chunk reads: ${spy.reads.get("C")}`);
        assert.ok((spy.reads.get("M") ?? 0) >= 2);
        // the spy does see chunk reads: a get reads them all
        await os.getBlob("big");
        assert.equal(spy.reads.get("C"), 64);
      } finally {
        spy.restore();
      }
    });
  });

  test("delete: the object is gone, its chunks purged; replacing an object purges the old chunks", TIMEOUT, async () => {
    await withJs(JS_OPTS, async ({ nc, jsm }) => {
      const os = await store(nc, "B");
      await os.putBlob({ name: "a" }, randomBytes(200 * 1024));
      await os.putBlob({ name: "a" }, Buffer.from("replaced"));
      assert.equal((await jsm.streams.info("OBJ_B")).state.messages, 2);
      assert.equal(Buffer.from((await os.getBlob("a"))!).toString(), "replaced");
      const r = await os.delete("a");
      assert.equal(r.success, true);
      assert.equal(await os.get("a"), null);
      const i = (await os.info("a"))!;
      assert.equal(i.deleted, true);
      assert.equal((await jsm.streams.info("OBJ_B")).state.messages, 1);
    });
  });

  test("update: metadata and rename", TIMEOUT, async () => {
    await withJs(JS_OPTS, async ({ nc }) => {
      const os = await store(nc, "B");
      await os.putBlob({ name: "a" }, Buffer.from("content"));
      await os.putBlob({ name: "taken" }, Buffer.from("t"));
      await os.update("a", { description: "new", metadata: { k: "v" } });
      const i = (await os.info("a"))!;
      assert.deepEqual([i.description, i.metadata?.k], ["new", "v"]);
      await assert.rejects(os.update("a", { name: "taken" }), /already exists/);
      await os.update("a", { name: "b" });
      assert.equal(await os.info("a"), null);
      assert.equal(Buffer.from((await os.getBlob("b"))!).toString(), "content");
    });
  });

  test("links to an object and to a bucket", TIMEOUT, async () => {
    await withJs(JS_OPTS, async ({ nc }) => {
      const a = await store(nc, "A");
      const b = await store(nc, "B");
      const info = await a.putBlob({ name: "obj" }, Buffer.from("target"));
      const l = await b.link("ln", info);
      assert.equal((l as ObjectInfo & { isLink(): boolean }).isLink(), true);
      assert.equal(Buffer.from((await b.getBlob("ln"))!).toString(), "target");
      await b.linkStore("toA", a);
      const li = (await b.info("toA"))!;
      assert.deepEqual(li.options?.link, { bucket: "A" });
      await assert.rejects(b.get("toA"), /link is a bucket/);
    });
  });

  test("watch: what is there (with history), then puts and deletes as they happen", TIMEOUT, async () => {
    await withJs(JS_OPTS, async ({ nc }) => {
      const os = await store(nc, "B");
      await os.putBlob({ name: "a" }, Buffer.from("1"));
      const w = await os.watch({ includeHistory: true });
      const got: string[] = [];
      const done = (async () => {
        for await (const e of w) {
          got.push(`${e.name}:${e.deleted ? "del" : "put"}:${e.isUpdate}`);
          if (got.length === 3) break;
        }
      })();
      await sleep(100);
      await os.putBlob({ name: "b" }, Buffer.from("2"));
      await os.delete("a");
      await done;
      assert.deepEqual(got, ["a:put:true", "b:put:true", "a:del:true"]);
    });
  });

  test("seal and status", TIMEOUT, async () => {
    await withJs(JS_OPTS, async ({ nc }) => {
      // the object store's ttl is in nanoseconds (the stream's max_age as it is)
      const os = await store(nc, "B", { description: "bucket", ttl: 60e9 });
      await os.putBlob({ name: "a" }, randomBytes(1000));
      const st = await os.status();
      assert.deepEqual([st.bucket, st.description, st.sealed, st.ttl, st.storage, st.size > 1000], ["B", "bucket", false, 60e9, "file", true]);
      const sealed = await os.seal();
      assert.equal(sealed.sealed, true);
      await assert.rejects(os.putBlob({ name: "b" }, Buffer.from("x")));
      assert.equal((await os.getBlob("a"))!.length, 1000);
      const names = [];
      for await (const s of new Objm(nc).list()) names.push(s.bucket);
      assert.deepEqual(names, ["B"]);
      await os.destroy();
    });
  });
});

describe("objects across a restart", () => {
  test("objects, metadata and deletions are still there", TIMEOUT, async () => {
    const dir = tmpStoreDir();
    const data = randomBytes(700 * 1024);
    try {
      await withJs({}, async ({ nc }) => {
        const os = await store(nc, "B");
        await os.putBlob({ name: "keep", description: "k" }, data);
        await os.putBlob({ name: "drop" }, Buffer.from("x"));
        await os.delete("drop");
      }, dir);
      await withJs({}, async ({ nc }) => {
        const os = await new Objm(nc).open("B");
        assert.ok(Buffer.from((await os.getBlob("keep"))!).equals(data));
        assert.equal((await os.info("keep"))!.description, "k");
        assert.equal(await os.get("drop"), null);
        assert.deepEqual((await os.list()).map((i) => i.name), ["keep"]);
      }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
