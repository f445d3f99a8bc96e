// Wall-clock time in nanoseconds since the Unix epoch, as a bigint (nats-server's time.Now().UnixNano()).
// Date.now() has only millisecond resolution, so the clock is anchored to it and advanced with
// process.hrtime; it is re-anchored when the two drift apart by more than a millisecond (NTP steps,
// suspend), and never runs backwards within the process.

let anchor = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
let last = 0n;
let checks = 0;

export function nowNs(): bigint {
  let t = anchor + process.hrtime.bigint();
  if (++checks >= 4096) {
    checks = 0;
    const wall = BigInt(Date.now()) * 1_000_000n;
    const drift = t - wall;
    if (drift > 1_000_000n || drift < -1_000_000n) {
      anchor -= drift;
      t -= drift;
    }
  }
  if (t <= last) t = last + 1n;
  last = t;
  return t;
}

/** Milliseconds (number) to nanoseconds (bigint). */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}
