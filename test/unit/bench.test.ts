import { test } from "node:test";
import assert from "node:assert/strict";
import { NatsScanner, parseMsgLine } from "../../src/bench/scanner.js";
import { parseArgs, parseDuration, parseTarget, UsageError, ALL_MODES } from "../../src/bench/args.js";
import { frameBatch, pubFrame } from "../../src/bench/frames.js";
import { parseOpenFilesLimit } from "../../src/bench/proc.js";
import { median, percentile } from "../../src/bench/modes.js";
import { formatValue } from "../../src/bench/report.js";
import { runBench } from "../../src/bench/index.js";

const msg = (subject: string, sid: number, payload: string, reply?: string): string =>
  `MSG ${subject} ${sid}${reply ? ` ${reply}` : ""} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`;
const hmsg = (subject: string, sid: number, headers: string, payload: string, reply?: string): string => {
  const h = Buffer.byteLength(headers);
  return `HMSG ${subject} ${sid}${reply ? ` ${reply}` : ""} ${h} ${h + Buffer.byteLength(payload)}\r\n${headers}${payload}\r\n`;
};

// A stream with every kind of frame the scanner meets, and payloads that look like frames.
const STREAM = Buffer.from(
  'INFO {"server_id":"S","version":"2.9.10","max_payload":1048576}\r\n' +
    "PONG\r\n" +
    msg("foo", 1, "hello") +
    msg("bench.1.x9", 12, "") +
    msg("a.b.c", 3, "MSG fake 1 5\r\nxxxxx\r\nPING\r\n", "_INBOX.r1.42") +
    "PING\r\n" +
    hmsg("h.subj", 7, "NATS/1.0\r\nA: 1\r\n\r\n", "body-123") +
    hmsg("h.empty", 8, "NATS/1.0 503\r\n\r\n", "", "_INBOX.2") +
    msg("x", 99, "0123456789".repeat(30)) +
    "+OK\r\n" +
    msg("digits.123", 4567, "16bytes-payload!") +
    "PONG\r\n",
);
const EXPECT = { msgs: 7, hmsgs: 2, pings: 1, pongs: 2, infos: 1 };
const EXPECT_BYTES = 5 + 0 + Buffer.byteLength("MSG fake 1 5\r\nxxxxx\r\nPING\r\n") + (Buffer.byteLength("NATS/1.0\r\nA: 1\r\n\r\n") + 8) + Buffer.byteLength("NATS/1.0 503\r\n\r\n") + 300 + 16;

function scan(chunks: Buffer[], lines = false) {
  const seen = { pings: 0, pongs: 0, infos: 0, errors: [] as string[], broken: [] as string[], lines: [] as string[] };
  const s = new NatsScanner({
    onPing: () => seen.pings++,
    onPong: () => seen.pongs++,
    onInfo: (j) => {
      JSON.parse(j);
      seen.infos++;
    },
    onError: (t) => seen.errors.push(t),
    onProtocolError: (r) => seen.broken.push(r),
    onMsg: lines ? (l) => seen.lines.push(Buffer.from(l).toString("latin1")) : undefined,
  });
  for (const c of chunks) s.feed(c);
  return { s, seen };
}

function check(chunks: Buffer[], lines: boolean, what: string): void {
  const { s, seen } = scan(chunks, lines);
  assert.deepEqual(seen.broken, [], what);
  assert.equal(s.msgs, EXPECT.msgs, `${what}: msgs`);
  assert.equal(s.hmsgs, EXPECT.hmsgs, `${what}: hmsgs`);
  assert.equal(s.payloadBytes, EXPECT_BYTES, `${what}: payload bytes`);
  assert.equal(seen.pings, EXPECT.pings, `${what}: pings`);
  assert.equal(seen.pongs, EXPECT.pongs, `${what}: pongs`);
  assert.equal(seen.infos, EXPECT.infos, `${what}: infos`);
  if (lines) {
    assert.equal(seen.lines.length, EXPECT.msgs, what);
    assert.equal(seen.lines[2], "MSG a.b.c 3 _INBOX.r1.42 " + Buffer.byteLength("MSG fake 1 5\r\nxxxxx\r\nPING\r\n"), what);
  }
}

test("scanner: counts every frame of a stream fed whole", () => {
  check([STREAM], false, "whole");
  check([STREAM], true, "whole, lines");
});

test("scanner: counts exactly when the stream is split at every position (two chunks)", () => {
  for (let k = 0; k <= STREAM.length; k++) {
    const parts = [STREAM.subarray(0, k), STREAM.subarray(k)];
    check(parts, false, `split at ${k}`);
    check(parts, true, `split at ${k}, lines`);
  }
});

test("scanner: counts exactly when split at every pair of positions (three chunks)", () => {
  for (let a = 0; a <= STREAM.length; a += 3) {
    for (let b = a; b <= STREAM.length; b += 5) {
      check([STREAM.subarray(0, a), STREAM.subarray(a, b), STREAM.subarray(b)], false, `split at ${a},${b}`);
    }
  }
});

test("scanner: one byte at a time, and random chunkings", () => {
  const bytes: Buffer[] = [];
  for (let i = 0; i < STREAM.length; i++) bytes.push(STREAM.subarray(i, i + 1));
  check(bytes, false, "bytewise");
  check(bytes, true, "bytewise, lines");
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let r = 0; r < 200; r++) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < STREAM.length; ) {
      const n = 1 + rnd(40);
      chunks.push(STREAM.subarray(i, i + n));
      i += n;
    }
    check(chunks, r % 2 === 1, `random chunking #${r}`);
  }
});

test("scanner: many frames across 64 KiB chunks of a big buffer", () => {
  const frame = Buffer.from(msg("bench.subj", 1, "abcdefghijklmnop"));
  const n = 100_003;
  const big = frameBatch(frame, n);
  for (const size of [65536, 1000, 7]) {
    const s = new NatsScanner();
    for (let i = 0; i < big.length; i += size) s.feed(big.subarray(i, i + size));
    assert.equal(s.msgs, n, `chunk ${size}`);
    assert.equal(s.payloadBytes, 16 * n);
  }
});

test("scanner: -ERR and garbage are reported, not counted", () => {
  const { seen } = scan([Buffer.from("-ERR 'Slow Consumer'\r\n")]);
  assert.deepEqual(seen.errors, ["Slow Consumer"]);
  const bad = scan([Buffer.from(msg("a", 1, "x") + "WHAT IS THIS\r\n" + msg("b", 1, "y"))]);
  assert.equal(bad.s.msgs, 1);
  assert.equal(bad.seen.broken.length, 1);
  assert.match(bad.seen.broken[0], /WHAT IS THIS/);
  const noSize = scan([Buffer.from("MSG foo 1\r\n")]);
  // "MSG foo 1" parses its last token (1) as the size: the frame is counted, then the following
  // data is treated as its payload. A MSG with no numeric token at all is broken.
  assert.equal(noSize.s.msgs, 1);
  const broken = scan([Buffer.from("MSG foo bar\r\n")], true);
  assert.equal(broken.seen.broken.length, 1);
});

test("parseMsgLine: MSG and HMSG, with and without reply", () => {
  const l = (s: string): Uint8Array => Buffer.from(s);
  assert.deepEqual(parseMsgLine(l("MSG foo 1 5")), { op: "MSG", subject: "foo", sid: "1", size: 5 });
  assert.deepEqual(parseMsgLine(l("MSG foo 1 _INBOX.x 5")), { op: "MSG", subject: "foo", sid: "1", reply: "_INBOX.x", size: 5 });
  assert.deepEqual(parseMsgLine(l("HMSG foo 2 12 17")), { op: "HMSG", subject: "foo", sid: "2", size: 17 });
  assert.deepEqual(parseMsgLine(l("HMSG foo 2 r 12 17")), { op: "HMSG", subject: "foo", sid: "2", reply: "r", size: 17 });
});

test("frames: a PUB frame and a batch of them", () => {
  const f = pubFrame("bench.x", Buffer.from("0123456789abcdef"));
  assert.equal(f.toString(), "PUB bench.x 16\r\n0123456789abcdef\r\n");
  assert.equal(pubFrame("s", Buffer.from("hi"), "_INBOX.1").toString(), "PUB s _INBOX.1 2\r\nhi\r\n");
  const b = frameBatch(f, 1001);
  assert.equal(b.length, f.length * 1001);
  assert.equal(b.toString(), f.toString().repeat(1001));
});

test("args: defaults", () => {
  const o = parseArgs([], 2);
  assert.equal(o.url, undefined);
  assert.equal(o.vs, undefined);
  assert.equal(o.msgs, 5_000_000);
  assert.equal(o.size, 16);
  assert.equal(o.subs, 4);
  assert.equal(o.conns, 10_000);
  assert.equal(o.json, false);
  assert.deepEqual(o.modes, [...ALL_MODES]);
  assert.equal(o.subWorkers, 2);
  assert.equal(o.runs, 3);
});

test("args: every option, both --opt value and --opt=value", () => {
  const o = parseArgs(
    ["--url", "127.0.0.1:4222", "--vs=localhost:4223", "--msgs", "2M", "--size=128", "--subs", "8", "--duration", "3s", "--mode", "pub,fanout", "--json", "--pid", "42", "--vs-pid=43", "--conns", "1k", "--requests", "1_000", "--warmup", "0", "--sub-workers", "1", "--no-nats", "--runs", "5"],
    2,
  );
  assert.deepEqual(o.url, { host: "127.0.0.1", port: 4222 });
  assert.deepEqual(o.vs, { host: "127.0.0.1", port: 4223 });
  assert.equal(o.msgs, 2_000_000);
  assert.equal(o.size, 128);
  assert.equal(o.subs, 8);
  assert.equal(o.durationMs, 3000);
  assert.deepEqual(o.modes, ["pub", "fanout"]);
  assert.equal(o.json, true);
  assert.equal(o.pid, 42);
  assert.equal(o.vsPid, 43);
  assert.equal(o.conns, 1000);
  assert.equal(o.requests, 1000);
  assert.equal(o.warmup, 0);
  assert.equal(o.subWorkers, 1);
  assert.equal(o.noNats, true);
  assert.equal(o.runs, 5);
  assert.deepEqual(parseArgs(["--mode", "all,self"]).modes, [...ALL_MODES, "self"]);
  assert.equal(parseArgs(["-h"]).help, true);
});

test("args: durations and targets", () => {
  assert.equal(parseDuration("d", "5"), 5000);
  assert.equal(parseDuration("d", "250ms"), 250);
  assert.equal(parseDuration("d", "1.5s"), 1500);
  assert.equal(parseDuration("d", "2m"), 120_000);
  assert.throws(() => parseDuration("d", "0"), UsageError);
  assert.throws(() => parseDuration("d", "fast"), UsageError);
  assert.deepEqual(parseTarget("u", "nats://127.0.0.1:4222"), { host: "127.0.0.1", port: 4222 });
  assert.deepEqual(parseTarget("u", "localhost:1"), { host: "127.0.0.1", port: 1 });
  assert.throws(() => parseTarget("u", "10.0.0.1:4222"), /only 127\.0\.0\.1/);
  assert.throws(() => parseTarget("u", "example.com:4222"), /only 127\.0\.0\.1/);
  assert.throws(() => parseTarget("u", "127.0.0.1"), UsageError);
  assert.throws(() => parseTarget("u", "127.0.0.1:70000"), UsageError);
});

test("args: bad input is a UsageError", () => {
  for (const bad of [
    ["--msgs"],
    ["--msgs", "many"],
    ["--msgs", "0"],
    ["--size", "-1"],
    ["--mode", "pub,nope"],
    ["--mode", ""],
    ["--json=yes"],
    ["--frobnicate"],
    ["--url", "--json"],
    ["--vs-pid", "3"],
    ["--url", "8.8.8.8:53"],
  ]) {
    assert.throws(() => parseArgs(bad), UsageError, bad.join(" "));
  }
});

test("runBench: --help prints usage through out(), bad args exit 2", async () => {
  const lines: string[] = [];
  assert.equal(await runBench(["--help"], (l) => lines.push(l)), 0);
  assert.match(lines.join("\n"), /Usage: junction bench/);
  const origWrite = process.stderr.write.bind(process.stderr);
  let err = "";
  process.stderr.write = ((s: string | Uint8Array) => {
    err += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    assert.equal(await runBench(["--bogus"], () => {}), 2);
  } finally {
    process.stderr.write = origWrite;
  }
  assert.match(err, /unknown argument: --bogus/);
});

test("helpers: open-files limit, percentiles, number formatting", () => {
  const limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n";
  assert.equal(parseOpenFilesLimit(limits), 1024);
  assert.equal(parseOpenFilesLimit("Max open files            unlimited            unlimited            files\n"), Infinity);
  const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(formatValue({ value: 5_712_345, unit: "msgs/s" }), "5.71M");
  assert.equal(formatValue({ value: 203.4, unit: "µs" }), "203");
  assert.equal(formatValue({ value: 19.64, unit: "KiB" }), "19.6");
});
