// The WebSocket frame reader on its own: any split of the input gives the same payloads, frame
// headers and masks may be cut anywhere, and closeFrameFor maps closed reasons as nats-server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { FrameReader, closeFrameFor, closePayload, frameHeader, type FrameHandler } from "../../src/transport/ws-frames.js";
import { clientFrame } from "../integration/websocket-helpers.js";

interface Seen {
  data: Buffer[];
  ends: number;
  controls: [number, string][];
  errors: [number, string][];
}

function reader(compression = false): { r: FrameReader; seen: Seen } {
  const seen: Seen = { data: [], ends: 0, controls: [], errors: [] };
  const h: FrameHandler = {
    data: (b) => seen.data.push(Buffer.from(b)),
    messageEnd: () => {
      seen.ends++;
      return true;
    },
    control: (op, b) => {
      seen.controls.push([op, b.toString()]);
      return true;
    },
    error: (code, text) => seen.errors.push([code, text]),
  };
  return { r: new FrameReader(h, compression), seen };
}

test("payloads come out unmasked and whole whatever the split, headers and masks cut anywhere", () => {
  let seed = 99;
  const rnd = (): number => {
    seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    return seed / 0x100000000;
  };
  for (let round = 0; round < 50; round++) {
    const payloads = [randomBytes(Math.floor(rnd() * 100)), randomBytes(126 + Math.floor(rnd() * 70_000)), randomBytes(Math.floor(rnd() * 300))];
    const input = Buffer.concat([
      clientFrame(0x2, payloads[0], { fin: false }),
      clientFrame(0x9, "ping!"),
      clientFrame(0x0, payloads[1], { fin: false }),
      clientFrame(0x0, payloads[2]),
      clientFrame(0x1, "second"),
    ]);
    const { r, seen } = reader();
    for (let at = 0; at < input.length; ) {
      const len = 1 + Math.floor(rnd() * (rnd() < 0.5 ? 20 : 5000));
      // a copy, so the chunk's offset in its buffer varies (the unmasking works on words)
      assert.equal(r.push(Buffer.from(input.subarray(at, at + len))), undefined);
      at += len;
    }
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(Buffer.concat(seen.data), Buffer.concat([...payloads, Buffer.from("second")]));
    assert.equal(seen.ends, 2);
    assert.deepEqual(seen.controls, [[0x9, "ping!"]]);
  }
});

test("a handler that stops the reader gets the unread rest back", () => {
  const seen: string[] = [];
  const r = new FrameReader(
    {
      data: (b) => seen.push(b.toString()),
      messageEnd: () => false,
      control: () => true,
      error: () => assert.fail("no error expected"),
    },
    false,
  );
  const second = clientFrame(0x2, "two");
  const rest = r.push(Buffer.concat([clientFrame(0x2, "one"), second]));
  assert.deepEqual(seen, ["one"]);
  assert.equal(rest?.length, second.length);
  assert.equal(r.push(rest!), undefined);
  assert.deepEqual(seen, ["one", "two"]);
});

test("framing errors stop the reader: nothing after them is read", () => {
  const { r, seen } = reader();
  r.push(Buffer.concat([clientFrame(0x2, "PING\r\n", { mask: false }), clientFrame(0x2, "more")]));
  assert.deepEqual(seen.errors, [[1002, "mask bit missing"]]);
  assert.deepEqual(seen.data, []);
  r.push(clientFrame(0x2, "after"));
  assert.deepEqual(seen.data, []);
  const big = reader();
  // a 64-bit length beyond 2^53
  const h = Buffer.from([0x82, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
  big.r.push(h);
  assert.deepEqual(big.seen.errors, [[1009, "frame length too large"]]);
  const rsv = reader(true);
  rsv.r.push(clientFrame(0x0, "x", { rsv1: true }));
  assert.deepEqual(rsv.seen.errors, [[1002, "invalid continuation frame"]]);
});

test("server frame headers, close payloads and the reason → status map", () => {
  assert.deepEqual([...frameHeader(0x2, 5)], [0x82, 5]);
  assert.deepEqual([...frameHeader(0x2, 300, true)], [0xc2, 126, 1, 44]);
  assert.deepEqual([...frameHeader(0x2, 2 ** 32 + 1)], [0x82, 127, 0, 0, 0, 1, 0, 0, 0, 1]);
  const long = closePayload(1011, "x".repeat(200));
  assert.equal(long.length, 125);
  assert.equal(long.subarray(2).toString().slice(-3), "...");
  assert.deepEqual(closeFrameFor("Client Closed"), { code: 1000, text: "Client Closed" });
  assert.deepEqual(closeFrameFor("Authentication Failure"), { code: 1008, text: "Authentication Failure" });
  assert.deepEqual(closeFrameFor("Maximum Payload Exceeded"), { code: 1009, text: "Maximum Message Payload Exceeded" });
  assert.deepEqual(closeFrameFor("Lame Duck Mode"), { code: 1001, text: "Server Shutdown" });
  assert.deepEqual(closeFrameFor("Protocol Violation"), { code: 1002, text: "Protocol Violation" });
  assert.equal(closeFrameFor("Stale Connection"), undefined);
  assert.equal(closeFrameFor("Slow Consumer (Write Deadline)")?.code, 1008);
  assert.deepEqual(closeFrameFor("Something Else"), { code: 1011, text: "Something Else" });
});
