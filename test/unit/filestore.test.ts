// File-store specifics: restart recovery, torn tails, corruption, block rollover/removal/compaction,
// kill -9 durability, and a fuzz test against the memory store as an oracle.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileStore, MemoryStore, StoreError, type StoreConfig, type StreamStore, type ConsumerState } from "../../src/jetstream/store/index.js";

const root = mkdtempSync(join(tmpdir(), "junction-filestore-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = (): string => join(root, `d${++n}`);
const b = (s: string): Buffer => Buffer.from(s);

function open(dir: string, cfg?: Partial<StoreConfig>): FileStore {
  return new FileStore({ name: "S", storage: "file", directory: dir, block_size: 1024, ...cfg });
}

function blockPaths(dir: string): string[] {
  return readdirSync(join(dir, "msgs"))
    .filter((f) => f.endsWith(".blk"))
    .sort()
    .map((f) => join(dir, "msgs", f));
}

/** Everything observable about a store, for equality checks. */
function snapshot(st: StreamStore): unknown {
  const { lost: _lost, ...state } = st.state({ deleted: true });
  const msgs: unknown[] = [];
  for (let m = st.loadNextMsg(undefined, 0); m; m = st.loadNextMsg(undefined, m.seq + 1)) {
    msgs.push([m.seq, m.subject, m.hdr?.toString("latin1"), m.data.toString("latin1"), m.ts, m.ttl]);
  }
  return { state, msgs, subjects: [...st.subjectsState(">")].sort() };
}

test("restart rebuilds the same state: deletes, erases, purges, compaction, skips, TTLs", () => {
  const dir = newDir();
  let st = open(dir);
  for (let i = 1; i <= 60; i++) {
    st.storeMsg(`s.${i % 4}`, i % 3 === 0 ? b(`NATS/1.0\r\nI: ${i}\r\n\r\n`) : undefined, b(`payload-${i}`), i % 7 === 0 ? { ttl: -1 } : undefined);
  }
  st.removeMsg(3);
  st.removeMsg(30);
  st.eraseMsg(31);
  st.purge({ subject: "s.1", keep: 2 });
  st.compact(10);
  st.skipMsgs(3);
  st.storeMsg("tail", undefined, b("after skip"));
  const before = snapshot(st);
  st.stop();
  st = open(dir);
  assert.deepEqual(snapshot(st), before);
  assert.equal(st.storeMsg("x", undefined, b("")).seq, 65);
  st.stop();

  // Everything deleted: last_seq survives even when the blocks holding the messages are removed.
  st = open(dir);
  for (const s of [...(st.state({ deleted: false }).messages ? Array.from({ length: 65 }, (_, i) => i + 1) : [])]) st.removeMsg(s);
  st.maintain();
  const empty = snapshot(st);
  st.stop();
  st = open(dir);
  assert.deepEqual(snapshot(st), empty);
  assert.deepEqual([st.state().first_seq, st.state().last_seq], [66, 65]);
  st.stop();
});

test("restart after purge, truncate, first_seq", () => {
  const dir = newDir();
  let st = open(dir, { first_seq: 1000 });
  assert.equal(st.storeMsg("a", undefined, b("1")).seq, 1000);
  st.stop();
  st = open(dir, { first_seq: 1 }); // ignored on reopen
  assert.equal(st.state().first_seq, 1000);
  for (let i = 0; i < 30; i++) st.storeMsg(i % 2 ? "a" : "b", undefined, b(`x${i}`));
  st.purge();
  let snap = snapshot(st);
  st.stop();
  st = open(dir);
  assert.deepEqual(snapshot(st), snap);
  for (let i = 0; i < 30; i++) st.storeMsg(i % 2 ? "a" : "b", undefined, b(`y${i}`));
  st.removeMsg(1040);
  st.truncate(1045);
  snap = snapshot(st);
  st.stop();
  st = open(dir);
  assert.deepEqual(snapshot(st), snap);
  assert.equal(st.storeMsg("c", undefined, b("")).seq, 1046);
  st.truncate(0);
  st.stop();
  st = open(dir);
  assert.deepEqual([st.state().first_seq, st.state().last_seq, st.state().messages], [0, 0, 0]);
  st.stop();
});

test("torn tail: cutting the last record at every byte keeps the earlier records", () => {
  const base = newDir();
  let st = open(base, { block_size: 1 << 20 });
  for (let i = 1; i <= 5; i++) st.storeMsg("torn.subject", b("NATS/1.0\r\nK: v\r\n\r\n"), b(`data-${i}`));
  st.stop();
  const file = blockPaths(base)[0];
  const size = statSync(file).size;
  const recLen = 40 + "torn.subject".length + "NATS/1.0\r\nK: v\r\n\r\n".length + "data-5".length;
  const lastStart = size - recLen;
  for (let cut = lastStart; cut < size; cut++) {
    const dir = newDir();
    cpSync(base, dir, { recursive: true });
    truncateSync(blockPaths(dir)[0], cut);
    st = open(dir, { block_size: 1 << 20 });
    const s = st.state();
    assert.deepEqual([s.messages, s.first_seq, s.last_seq], [4, 1, 4], `cut at ${cut}`);
    assert.equal(st.recovery.truncatedBytes, cut - lastStart);
    assert.equal(statSync(blockPaths(dir)[0]).size, lastStart);
    for (let i = 1; i <= 4; i++) assert.equal(st.loadMsg(i)!.data.toString(), `data-${i}`);
    assert.equal(st.storeMsg("torn.subject", undefined, b("new")).seq, 5);
    st.stop();
    st = open(dir, { block_size: 1 << 20 });
    assert.equal(st.loadMsg(5)!.data.toString(), "new");
    st.stop();
    rmSync(dir, { recursive: true });
  }
});

test("corrupt bytes in the middle: that record is lost, the others are served", () => {
  const base = newDir();
  let st = open(base, { block_size: 600 });
  const subj = "c.subject";
  for (let i = 1; i <= 20; i++) st.storeMsg(subj, undefined, b(`payload-${String(i).padStart(2, "0")}`));
  st.stop();
  const first = blockPaths(base)[0];
  const recLen = 40 + subj.length + "payload-00".length;
  const rec5 = 40 + 4 * recLen; // after the block's MARK record and messages 1..4
  assert.ok(statSync(first).size > rec5 + recLen, "record 5 is inside the first block");
  for (const at of [0, 3, 4, 7, 8, 9, 10, 16, 23, 24, 39, 40, 45, recLen - 1]) {
    const dir = newDir();
    cpSync(base, dir, { recursive: true });
    const file = blockPaths(dir)[0];
    const buf = readFileSync(file);
    buf[rec5 + at] ^= 0x5a;
    writeFileSync(file, buf);
    st = open(dir, { block_size: 600 });
    const s = st.state();
    assert.equal(s.messages, 19, `flip at +${at}`);
    assert.equal(st.loadMsg(5), undefined);
    for (let i = 1; i <= 20; i++) if (i !== 5) assert.equal(st.loadMsg(i)!.data.toString(), `payload-${String(i).padStart(2, "0")}`);
    assert.deepEqual(s.lost?.msgs, [5]);
    assert.equal(st.recovery.corruptRecords, 1);
    st.stop();
    rmSync(dir, { recursive: true });
  }

  // Damage found while running (a read from disk): the message is dropped and reported, no throw.
  const dir = newDir();
  cpSync(base, dir, { recursive: true });
  st = open(dir, { block_size: 600, cache_size: 0 });
  const file = blockPaths(dir)[0];
  const buf = readFileSync(file);
  buf[rec5 + 45] ^= 1;
  writeFileSync(file, buf);
  assert.equal(st.loadMsg(5), undefined);
  assert.deepEqual(st.state().lost?.msgs, [5]);
  assert.equal(st.state().messages, 19);
  st.stop();
});

test("block rollover, removal of emptied blocks, compaction of mostly-deleted blocks", () => {
  const dir = newDir();
  const st = open(dir, { block_size: 512 });
  for (let i = 1; i <= 100; i++) st.storeMsg(`r.${i % 5}`, undefined, b("x".repeat(30)));
  st.sync();
  const files = blockPaths(dir);
  assert.ok(files.length >= 10, `${files.length} blocks`);
  for (const f of files.slice(0, -1)) assert.ok(statSync(f).size <= 512);
  // Delete the first 40 messages: the blocks that held only those go.
  for (let i = 1; i <= 40; i++) st.removeMsg(i);
  st.maintain();
  const after1 = blockPaths(dir);
  assert.ok(after1.length < files.length, "emptied blocks removed");
  assert.ok(!after1.includes(files[0]));
  // Delete 3 of every 4 remaining: blocks get compacted in place.
  for (let i = 41; i <= 100; i++) if (i % 4 !== 0) st.removeMsg(i);
  const bytesBefore = after1.reduce((a, f) => a + statSync(f).size, 0);
  st.compactAll();
  const after2 = blockPaths(dir);
  const bytesAfter = after2.reduce((a, f) => a + (statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
  assert.ok(bytesAfter < bytesBefore, `${bytesAfter} < ${bytesBefore}`);
  const snap = snapshot(st);
  st.stop();
  const again = open(dir, { block_size: 512 });
  assert.deepEqual(snapshot(again), snap);
  assert.equal(again.state().messages, 15);
  again.stop();
});

test("emptied blocks are removed in the background", async () => {
  const dir = newDir();
  const st = open(dir, { block_size: 512, max_msgs: 20 });
  for (let i = 1; i <= 200; i++) st.storeMsg("bg", undefined, b("y".repeat(40)));
  await st.flush();
  await new Promise((r) => setTimeout(r, 50));
  const files = blockPaths(dir);
  assert.ok(files.length <= 8, `${files.length} block files for 20 messages (of 40+ written)`);
  assert.equal(st.state().messages, 20);
  st.stop();
  const again = open(dir, { block_size: 512, max_msgs: 20 });
  assert.deepEqual([again.state().first_seq, again.state().last_seq, again.state().messages], [181, 200, 20]);
  again.stop();
});

test("kill -9 (in process): a second store opened without stop() sees every flushed record", async () => {
  const dir = newDir();
  const st = open(dir, { block_size: 4096 });
  for (let i = 1; i <= 200; i++) st.storeMsg(`k.${i % 3}`, undefined, b(`v${i}`));
  st.removeMsg(7);
  await st.flush();
  const reopened = open(dir, { block_size: 4096 });
  const s = reopened.state();
  assert.deepEqual([s.messages, s.first_seq, s.last_seq], [199, 1, 200]);
  assert.equal(reopened.loadMsg(200)!.data.toString(), "v200");
  assert.equal(reopened.loadMsg(7), undefined);
  reopened.stop();
});

test("kill -9 (real process): acknowledged records survive SIGKILL", async () => {
  const dir = newDir();
  const storeUrl = new URL("../../src/jetstream/store/index.ts", import.meta.url).href;
  const script = `
    import { FileStore } from ${JSON.stringify(storeUrl)};
    const st = new FileStore({ name: "K", storage: "file", directory: ${JSON.stringify(dir)}, block_size: 8192, sync_interval: "always" });
    let i = 0;
    const tick = () => {
      for (let k = 0; k < 50; k++) { i++; st.storeMsg("kill." + (i % 4), undefined, Buffer.from("m" + i)); }
      const acked = i;
      st.afterWrite((err) => { if (!err) process.stdout.write(acked + "\\n"); });
      setImmediate(tick);
    };
    tick();
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: fileURLToPath(new URL("../..", import.meta.url)), stdio: ["ignore", "pipe", "inherit"] });
  let acked = 0;
  let out = "";
  await new Promise<void>((resolve) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const lines = out.split("\n");
      out = lines.pop()!;
      for (const l of lines) acked = Math.max(acked, Number(l));
      if (acked >= 3000) {
        child.kill("SIGKILL");
        resolve();
      }
    });
  });
  await new Promise((r) => child.on("exit", r));
  const st = new FileStore({ name: "K", storage: "file", directory: dir, block_size: 8192 });
  const s = st.state();
  assert.ok(s.last_seq >= acked, `${s.last_seq} >= ${acked}`);
  assert.equal(s.messages, s.last_seq);
  for (let i = 1; i <= acked; i++) {
    const m = st.loadMsg(i)!;
    assert.equal(m.data.toString(), `m${i}`);
    assert.equal(m.subject, `kill.${i % 4}`);
  }
  st.stop();
});

test("consumer state and stream metadata survive a restart", () => {
  const dir = newDir();
  let st = open(dir);
  st.writeMeta({ name: "S", subjects: ["a.>"], max_msgs: 10 });
  const state: ConsumerState = {
    delivered: { consumer_seq: 5, stream_seq: 9 },
    ack_floor: { consumer_seq: 3, stream_seq: 6 },
    pending: new Map([[8, { sequence: 4, ts: 1_700_000_000_000_000_001n }]]),
    redelivered: new Map([[8, 2]]),
  };
  const cs = st.consumerStore("worker/é");
  cs.update(state);
  cs.writeMeta({ durable_name: "worker/é" });
  st.consumerStore("gone").writeMeta({ x: 1 });
  st.consumerStore("gone").delete();
  st.stop();
  st = open(dir);
  assert.deepEqual(st.readMeta(), { name: "S", subjects: ["a.>"], max_msgs: 10 });
  assert.deepEqual(st.consumerNames(), ["worker/é"]);
  assert.deepEqual(st.consumerStore("worker/é").load(), state);
  assert.deepEqual(st.consumerStore("worker/é").readMeta(), { durable_name: "worker/é" });
  st.stop();
});

test("sync_interval always: batches are fsynced before afterWrite", async () => {
  const dir = newDir();
  const st = open(dir, { sync_interval: "always" });
  for (let i = 0; i < 10; i++) st.storeMsg("a", undefined, b(String(i)));
  await st.flush();
  const again = open(dir);
  assert.equal(again.state().messages, 10);
  again.stop();
  st.stop();
});

for (const paged of [false, true]) {
  const what = paged ? " (index paged out: 8-sequence segments, ~3 resident)" : "";
  test(`fuzz: the file store matches the memory store after every operation and every restart${what}`, () => fuzzAgainstMemory(paged));
}

function fuzzAgainstMemory(paged: boolean): void {
  let seed = paged ? 123456789 : 987654321;
  let evictions = 0;
  let views = 0;
  const paging = (f: FileStore): void => {
    evictions += f.indexStats().evictions;
    views += f.indexStats().views + f.indexStats().rowReads;
  };
  const rand = (k: number): number => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed % k;
  };
  for (let round = 0; round < 4; round++) {
    const dir = newDir();
    const cfg: StoreConfig = {
      name: "F",
      storage: "file",
      directory: dir,
      block_size: 300 + rand(700),
      max_msgs_per_subject: round === 1 ? 3 : 0,
      max_msgs: round === 2 ? 40 : 0,
      max_bytes: round === 3 ? 3000 : 0,
      discard: round === 3 ? "new" : "old",
      ...(paged ? { index_segment_size: 8, index_cache_bytes: 700 } : {}),
    } as StoreConfig;
    let file = new FileStore(cfg);
    const mem = new MemoryStore({ ...cfg, storage: "memory" }, { fileAccounting: true });
    let ts = 1_700_000_000_000_000_000n;
    const subjects = ["f.a", "f.b", "f.c.1", "f.c.2", "g", "h.x.y"];
    const log: string[] = [];
    const both = <T>(fn: (st: StreamStore) => T): T => {
      let a: T | StoreError;
      let bb: T | StoreError;
      try {
        a = fn(mem);
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        a = e;
      }
      try {
        bb = fn(file);
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        bb = e;
      }
      if (a instanceof StoreError || bb instanceof StoreError) {
        assert.equal((bb as StoreError).code, (a as StoreError).code, log.slice(-5).join(" | "));
        return undefined as T;
      }
      assert.deepEqual(bb, a, log.slice(-5).join(" | "));
      return a;
    };
    for (let step = 0; step < 700; step++) {
      const r = rand(100);
      const s = mem.state();
      const anySeq = s.first_seq + rand(Math.max(1, s.last_seq - s.first_seq + 2));
      if (r < 55) {
        const subj = subjects[rand(subjects.length)];
        const hdr = rand(4) === 0 ? b(`NATS/1.0\r\nN: ${step}\r\n\r\n`) : undefined;
        const data = b("d".repeat(rand(60)) + step);
        ts += BigInt(1 + rand(1000));
        log.push(`store ${subj}`);
        both((st) => st.storeMsg(subj, hdr, data, { ts }).seq);
      } else if (r < 70) {
        log.push(`remove ${anySeq}`);
        both((st) => st.removeMsg(anySeq));
      } else if (r < 73) {
        log.push(`erase ${anySeq}`);
        both((st) => st.eraseMsg(anySeq));
      } else if (r < 77) {
        const opts = [{ subject: subjects[rand(6)] }, { subject: "f.>", keep: rand(5) }, { seq: anySeq }, { subject: "f.c.*", seq: anySeq }, {}][rand(rand(8) === 0 ? 5 : 4)];
        log.push(`purge ${JSON.stringify(opts)}`);
        both((st) => st.purge(opts));
      } else if (r < 79) {
        const c = rand(10) === 0 ? s.last_seq + 1 + rand(5) : anySeq;
        log.push(`compact ${c}`);
        both((st) => st.compact(c));
      } else if (r < 81) {
        const k = 1 + rand(3);
        log.push(`skip ${k}`);
        both((st) => st.skipMsgs(k));
      } else if (r < 82) {
        const t = s.last_seq > 0 ? Math.max(s.first_seq, anySeq - 1) : 0;
        log.push(`truncate ${t}`);
        both((st) => st.truncate(t));
      } else if (r < 86) {
        log.push("maintain");
        if (rand(2) === 0) file.compactAll();
        else file.maintain();
      } else if (r < 90) {
        log.push("restart");
        paging(file);
    file.stop();
        file = new FileStore(cfg);
        assert.equal(file.state().lost, undefined);
      } else {
        const f = [undefined, "f.*", "f.>", "g", ["f.a", "h.>"]][rand(5)];
        const start = s.first_seq + rand(Math.max(1, s.last_seq - s.first_seq + 2));
        both((st) => [st.numPending(start, f), st.numPending(start, f, true), st.loadNextMsg(f, start)?.seq, st.loadPrevMsg(f, start)?.seq]);
        both((st) => st.filteredState(start, f));
      }
      assert.deepEqual(file.state({ deleted: true }), mem.state({ deleted: true }), log.slice(-5).join(" | "));
      if (step % 25 === 0) assert.deepEqual(snapshot(file), snapshot(mem), log.slice(-5).join(" | "));
    }
    assert.deepEqual(snapshot(file), snapshot(mem));
    paging(file);
    file.stop();
    file = new FileStore(cfg);
    assert.deepEqual(snapshot(file), snapshot(mem));
    paging(file);
    file.stop();
  }
  if (paged) assert.ok(evictions > 100 && views > 100, `the index was paged out and read back (${evictions} evictions, ${views} reads)`);
}

test("the sequence index stays within its resident bound: appends, random reads, a sequential scan, deletes, restart", () => {
  const dir = newDir();
  const cfg = { name: "P", storage: "file", directory: dir, block_size: 64 * 1024, index_segment_size: 256, index_cache_bytes: 64 * 1024 } as StoreConfig;
  const bound = 64 * 1024 + 256 * 32; // plus the newest segment, always kept
  let st = new FileStore(cfg);
  const n = 60_000;
  for (let i = 1; i <= n; i++) {
    st.storeMsg(`p.${i % 500}`, undefined, b(`m${i}`));
    if (i % 1000 === 0) assert.ok(st.indexStats().residentBytes <= bound, `resident ${st.indexStats().residentBytes} at ${i}`);
  }
  assert.ok(st.indexStats().evictions > 100);
  let x = 99;
  const gone = new Set<number>();
  for (let k = 0; k < 3000; k++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const seq = 1 + (x % n);
    assert.equal(st.loadMsg(seq)?.data.toString(), gone.has(seq) ? undefined : `m${seq}`);
    if (k % 7 === 0 && seq !== n && !gone.has(seq)) {
      assert.equal(st.removeMsg(seq), true); // interior deletes in paged-out segments
      gone.add(seq);
    }
  }
  assert.equal(st.state().messages, n - gone.size);
  assert.ok(st.indexStats().residentBytes <= bound);
  const check = (s: FileStore): void => {
    let count = 0;
    let prev = 0;
    for (let m = s.loadNextMsg(undefined, 0); m; m = s.loadNextMsg(undefined, m.seq + 1)) {
      assert.equal(m.data.toString(), `m${m.seq}`);
      assert.ok(m.seq > prev);
      prev = m.seq;
      count++;
      assert.ok(s.indexStats().residentBytes <= bound);
    }
    assert.equal(count, s.state().messages);
    assert.equal(s.loadLastMsg("p.7")!.data.toString(), `m${s.subjectsState("p.7").get("p.7")!.last}`);
  };
  check(st);
  const before = st.state({ deleted: true });
  st.stop();
  assert.equal(readdirSync(dir).includes("seqidx.cache"), false, "the scratch index is removed on stop");
  st = new FileStore(cfg);
  assert.ok(st.indexStats().residentBytes <= bound, `after recovery: ${st.indexStats().residentBytes}`);
  assert.deepEqual(st.state({ deleted: true }), before);
  check(st);
  st.compact(n / 2);
  assert.ok(st.indexStats().residentBytes <= bound);
  assert.equal(st.state().first_seq >= n / 2, true);
  st.stop();
});

test("random reads through the page cache: erased and removed messages, rewritten blocks, a growing active block", async () => {
  const dir = newDir();
  // no cache of the newest records: every read goes to the block files
  const st = open(dir, { block_size: 16 * 1024, cache_size: 0 });
  const turns = async (n = 3): Promise<void> => {
    for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 2));
  };
  const want = new Map<number, string>();
  const put = (i: number): void => {
    const body = `payload-${i}-${"x".repeat(i % 50)}`;
    want.set(st.storeMsg(`k.${i}`, undefined, b(body)).seq, body);
  };
  let seed = 42;
  const rand = (k: number): number => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed % k;
  };
  const check = (reads: number): void => {
    const seqs = [...want.keys()];
    for (let i = 0; i < reads; i++) {
      const seq = seqs[rand(seqs.length)]!;
      assert.equal(st.loadMsg(seq)?.data.toString(), want.get(seq), `seq ${seq}`);
    }
    assert.equal(st.state().lost, undefined);
  };
  const pages = (): { hits: number; loads: number } => (st as unknown as { reader: { pageStats: { hits: number; loads: number } } }).reader.pageStats;
  for (let i = 1; i <= 2000; i++) put(i);
  await turns();
  check(3000);
  assert.ok(pages().hits > 1000, `served from pages: ${JSON.stringify(pages())}`);
  // erased in place: the page holding the old bytes must not serve them
  for (let s = 5; s <= 2000; s += 97) {
    assert.ok(st.eraseMsg(s));
    want.delete(s);
    assert.equal(st.loadMsg(s), undefined);
  }
  check(3000);
  // the active block grows after its pages were read
  for (let i = 2001; i <= 2300; i++) {
    put(i);
    if (i % 10 === 0) {
      await turns(1);
      check(20);
    }
  }
  await turns();
  check(2000);
  // most of the early blocks removed: they are compacted (rewritten) in the background
  for (let s = 1; s <= 1500; s++) if (s % 5 !== 0 && want.delete(s)) st.removeMsg(s);
  await turns(40);
  check(3000);
  for (const [seq, body] of want) assert.equal(st.loadMsg(seq)?.data.toString(), body, `seq ${seq}`);
  st.stop();
});

test("a message read from a page stays intact after the page's buffer serves another page", async () => {
  const { setGlobalPageCacheMax } = await import("../../src/jetstream/store/block-reader.js");
  const dir = newDir();
  const st = open(dir, { block_size: 64 * 1024, cache_size: 0 });
  for (let i = 1; i <= 3000; i++) st.storeMsg(`k.${i}`, undefined, b(`body-${i}`));
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 2));
  setGlobalPageCacheMax(4 * 4096);
  try {
    const held = [10, 1500, 2990].map((s) => st.loadMsg(s)!);
    // pages of the whole stream go through the four-page cache, reusing the dropped pages' buffers
    for (let s = 1; s <= 3000; s += 7) assert.equal(st.loadMsg(s)?.data.toString(), `body-${s}`);
    assert.deepEqual(
      held.map((m) => m.data.toString()),
      ["body-10", "body-1500", "body-2990"],
    );
  } finally {
    setGlobalPageCacheMax(64 * 1024 * 1024);
    st.stop();
  }
});
