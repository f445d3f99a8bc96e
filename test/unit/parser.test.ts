import { test } from "node:test";
import assert from "node:assert/strict";
import { Parser, type ParserHandler, type ParseError } from "../../src/nats/parser.js";

type Ev = [string, ...unknown[]];

function recorder(): { h: ParserHandler; ev: Ev[] } {
  const ev: Ev[] = [];
  const h: ParserHandler = {
    onConnect: (j) => ev.push(["connect", j]),
    onPub: (s, r, m, hl) => ev.push(["pub", s, r, m.toString("latin1"), hl]),
    onSub: (s, q, sid) => ev.push(["sub", s, q, sid]),
    onUnsub: (sid, max) => ev.push(["unsub", sid, max]),
    onPing: () => ev.push(["ping"]),
    onPong: () => ev.push(["pong"]),
    onPeerError: (t) => ev.push(["err", t]),
    onParseError: (k: ParseError, d) => ev.push(["parse-error", k, d]),
  };
  return { h, ev };
}

const opts = { maxPayload: 1024, maxControlLine: 256 };

function parseAll(input: string | Buffer, chunk = Infinity): Ev[] {
  const { h, ev } = recorder();
  const p = new Parser(h, opts);
  const buf = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  for (let i = 0; i < buf.length; i += chunk) p.parse(buf.subarray(i, Math.min(buf.length, i + chunk)));
  return ev;
}

const SAMPLE =
  'CONNECT {"verbose":false,"headers":true}\r\n' +
  "PING\r\nPONG\r\n" +
  "SUB foo 1\r\nSUB bar.* q 2\r\n" +
  "PUB foo 5\r\nhello\r\n" +
  "PUB foo reply.x 0\r\n\r\n" +
  "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n" +
  "HPUB foo r 12 12\r\nNATS/1.0\r\n\r\n\r\n" +
  "UNSUB 1\r\nUNSUB 2 10\r\n" +
  "pub lower 1\r\nx\r\n" +
  "PUB\tfoo\t 3\r\nabc\r\n";

const EXPECTED: Ev[] = [
  ["connect", ' {"verbose":false,"headers":true}'],
  ["ping"], ["pong"],
  ["sub", "foo", undefined, "1"], ["sub", "bar.*", "q", "2"],
  ["pub", "foo", undefined, "hello", 0],
  ["pub", "foo", "reply.x", "", 0],
  ["pub", "foo", undefined, "NATS/1.0\r\n\r\nhi", 12],
  ["pub", "foo", "r", "NATS/1.0\r\n\r\n", 12],
  ["unsub", "1", 0], ["unsub", "2", 10],
  ["pub", "lower", undefined, "x", 0],
  ["pub", "foo", undefined, "abc", 0],
];

test("parses every client operation", () => {
  const ev = parseAll(SAMPLE);
  assert.deepEqual(ev[0][0], "connect");
  assert.equal(JSON.parse(ev[0][1] as string).headers, true);
  assert.deepEqual(ev.slice(1), EXPECTED.slice(1));
});

test("the same events whatever the chunking (every split point, 1-byte chunks)", () => {
  const whole = parseAll(SAMPLE);
  for (const size of [1, 2, 3, 5, 7, 13, 64]) assert.deepEqual(parseAll(SAMPLE, size), whole, `chunk ${size}`);
  const buf = Buffer.from(SAMPLE, "latin1");
  for (let cut = 1; cut < buf.length; cut++) {
    const { h, ev } = recorder();
    const p = new Parser(h, opts);
    p.parse(buf.subarray(0, cut));
    p.parse(buf.subarray(cut));
    assert.deepEqual(ev, whole, `cut at ${cut}`);
  }
});

test("payload slices stay valid after later chunks (no reuse of assembled buffers)", () => {
  const { h, ev } = recorder();
  const got: Buffer[] = [];
  h.onPub = (_s, _r, m) => got.push(m);
  const p = new Parser(h, opts);
  p.parse(Buffer.from("PUB a 3\r\nab"));
  p.parse(Buffer.from("c\r\nPUB a 3\r\nxyz\r\n"));
  assert.deepEqual(got.map(String), ["abc", "xyz"]);
  assert.equal(ev.length, 0);
});

test("binary payloads with CR/LF inside are taken by size", () => {
  const payload = Buffer.from([13, 10, 0, 255, 13, 10]);
  const input = Buffer.concat([Buffer.from("PUB bin 6\r\n"), payload, Buffer.from("\r\n")]);
  const ev = parseAll(input, 3);
  assert.deepEqual(ev, [["pub", "bin", undefined, payload.toString("latin1"), 0]]);
});

test("utf-8 subjects survive byte for byte", () => {
  const subj = Buffer.from("temp.café.ü", "utf8");
  const input = Buffer.concat([Buffer.from("PUB "), subj, Buffer.from(" 1\r\nx\r\n")]);
  const ev = parseAll(input);
  assert.equal(Buffer.from(ev[0][1] as string, "latin1").toString("utf8"), "temp.café.ü");
});

test("errors: unknown op, bad args, max payload, max control line, missing CRLF", () => {
  const cases: [string, ParseError][] = [
    ["FOO bar\r\n", "unknown_op"],
    ["\r\n", "unknown_op"],
    ["PUB foo\r\n", "unknown_op"],
    ["PUB foo bar baz 3\r\n", "unknown_op"],
    ["PUB foo x\r\n", "unknown_op"],
    ["PUB foo -1\r\n", "unknown_op"],
    ["PUB foo 99999999999999999999\r\n", "unknown_op"],
    ["HPUB foo 10 5\r\n", "unknown_op"],
    ["SUB foo\r\n", "unknown_op"],
    ["SUB a b c d\r\n", "unknown_op"],
    ["UNSUB\r\n", "unknown_op"],
    ["UNSUB 1 x\r\n", "unknown_op"],
    ["PUB foo 2048\r\n", "max_payload"],
    ["PUB foo 3\r\nabcXY", "unknown_op"],
    ["SUB " + "a".repeat(300) + " 1\r\n", "max_control_line"],
    ["SUB " + "a".repeat(300), "max_control_line"],
  ];
  for (const [input, kind] of cases) {
    for (const chunk of [Infinity, 1]) {
      const ev = parseAll(input, chunk);
      assert.equal(ev.length, 1, `${JSON.stringify(input)} chunk ${chunk}: ${JSON.stringify(ev)}`);
      assert.equal(ev[0][0], "parse-error");
      assert.equal(ev[0][1], kind, JSON.stringify(input));
    }
  }
});

test("the parser stops at the first error and ignores the rest", () => {
  const ev = parseAll("BAD\r\nPING\r\nPUB a 1\r\nx\r\n");
  assert.deepEqual(ev.map((e) => e[0]), ["parse-error"]);
});

test("-ERR and +OK from a peer", () => {
  assert.deepEqual(parseAll("+OK\r\n-ERR 'oops'\r\n"), [["err", "'oops'"]]);
});

// Fuzz: random bytes and mutations of valid frames must never throw, never report more
// than one error, and never hang.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

test("fuzz: random and mutated input never throws", () => {
  const r = rng(12345);
  const base = Buffer.from(SAMPLE, "latin1");
  const started = Date.now();
  for (let iter = 0; iter < 5000; iter++) {
    let input: Buffer;
    if (iter % 2 === 0) {
      input = Buffer.alloc(1 + Math.floor(r() * 300));
      for (let i = 0; i < input.length; i++) input[i] = Math.floor(r() * 256);
    } else {
      input = Buffer.from(base);
      const flips = 1 + Math.floor(r() * 8);
      for (let f = 0; f < flips; f++) {
        const pos = Math.floor(r() * input.length);
        const choice = r();
        input[pos] = choice < 0.3 ? 32 : choice < 0.5 ? 13 : choice < 0.6 ? 10 : Math.floor(r() * 256);
      }
    }
    const chunk = 1 + Math.floor(r() * 40);
    let errors = 0;
    const { h } = recorder();
    h.onParseError = () => errors++;
    const p = new Parser(h, opts);
    for (let i = 0; i < input.length; i += chunk) p.parse(input.subarray(i, i + chunk));
    assert.ok(errors <= 1, "at most one parse error");
  }
  assert.ok(Date.now() - started < 20_000);
});

test("repeated subjects are recognised byte for byte (same length, different bytes)", () => {
  const ev = parseAll("PUB abc 1\r\nx\r\nPUB abd 1\r\ny\r\nPUB abc 1\r\nz\r\nPUB abc.d 1\r\nw\r\nPUB Abc 1\r\nv\r\n");
  assert.deepEqual(ev.map((e) => e[1]), ["abc", "abd", "abc", "abc.d", "Abc"]);
});
