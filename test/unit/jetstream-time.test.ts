// RFC3339Nano timestamps as nats-server writes them (Nats-Time-Stamp, API times): UTC, the
// fraction in up to nine digits without trailing zeros, Go's zero time for 0.

import { test } from "node:test";
import assert from "node:assert/strict";
import { rfc3339Nano } from "../../src/jetstream/time.js";

test("rfc3339Nano: fractions trimmed, seconds carried across calls, times before 1970", () => {
  const s = 1732243200n * 1_000_000_000n; // 2024-11-22T02:40:00Z
  assert.equal(rfc3339Nano(0n), "0001-01-01T00:00:00Z");
  assert.equal(rfc3339Nano(s), "2024-11-22T02:40:00Z");
  assert.equal(rfc3339Nano(s + 123456789n), "2024-11-22T02:40:00.123456789Z");
  assert.equal(rfc3339Nano(s + 100000000n), "2024-11-22T02:40:00.1Z");
  assert.equal(rfc3339Nano(s + 1000n), "2024-11-22T02:40:00.000001Z");
  assert.equal(rfc3339Nano(s + 1n), "2024-11-22T02:40:00.000000001Z");
  assert.equal(rfc3339Nano(s + 999999999n), "2024-11-22T02:40:00.999999999Z");
  // the next second, then back to the earlier one (the date part is remembered per second)
  assert.equal(rfc3339Nano(s + 1_000_000_000n + 5000n), "2024-11-22T02:40:01.000005Z");
  assert.equal(rfc3339Nano(s + 20n), "2024-11-22T02:40:00.00000002Z");
  assert.equal(rfc3339Nano(-1n), "1969-12-31T23:59:59.999999999Z");
  assert.equal(rfc3339Nano(-1_000_000_000n), "1969-12-31T23:59:59Z");
  assert.equal(rfc3339Nano(1n), "1970-01-01T00:00:00.000000001Z");
});
