// Times and durations as the JetStream API writes them: timestamps are bigint nanoseconds since
// the epoch rendered as Go's RFC3339Nano in UTC (fraction without trailing zeros), durations
// are integer nanoseconds in JSON and Go duration strings in headers.

const NS_PER_MS = 1_000_000n;
export const ZERO_TIME = "0001-01-01T00:00:00Z";

const NS_PER_S = 1_000_000_000n;
/** The date and time to the second of the last timestamp formatted (replies stamp many a message of the same second). */
let lastSec = -1n;
let lastPrefix = "";

/** Go's time.Format(time.RFC3339Nano) of a UTC time given in ns since the epoch; 0n is Go's zero time. */
export function rfc3339Nano(ns: bigint): string {
  if (ns === 0n) return ZERO_TIME;
  let sec = ns / NS_PER_S;
  let rem = ns % NS_PER_S;
  if (rem < 0n) {
    rem += NS_PER_S;
    sec -= 1n;
  }
  if (sec !== lastSec) {
    // YYYY-MM-DDTHH:MM:SS.mmmZ
    lastPrefix = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
    lastSec = sec;
  }
  if (rem === 0n) return lastPrefix + "Z";
  // the fraction in nine digits, trailing zeros dropped
  let r = Number(rem);
  let digits = 9;
  while (r % 10 === 0) {
    r /= 10;
    digits--;
  }
  const f = String(r);
  return lastPrefix + (f.length < digits ? "." + "0".repeat(digits - f.length) + f : "." + f) + "Z";
}

/** A Date (ms precision) as RFC3339Nano. */
export function rfc3339FromMs(ms: number): string {
  return rfc3339Nano(BigInt(Math.trunc(ms)) * NS_PER_MS);
}

const RFC3339_RE = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)$/;

/** Parses an RFC 3339 time (nanosecond fractions allowed) to ns since the epoch; undefined if invalid. */
export function parseRfc3339(s: string): bigint | undefined {
  const m = RFC3339_RE.exec(s);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se));
  if (Number.isNaN(base)) return undefined;
  let ns = BigInt(base) * NS_PER_MS;
  if (frac) ns += BigInt(frac.padEnd(9, "0"));
  if (zone !== "Z" && zone !== "z") {
    const sign = zone![0] === "-" ? -1n : 1n;
    const offMin = BigInt(Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6)));
    ns -= sign * offMin * 60n * 1_000_000_000n;
  }
  return ns;
}

/** A duration in nanoseconds as Go's time.Duration.String() writes it ("0s", "1.5s", "2m0s", "1h0m0s"). */
export function goDuration(ns: number): string {
  let u = Math.trunc(Math.abs(ns));
  if (!Number.isFinite(u) || u === 0) return "0s";
  const sign = ns < 0 ? "-" : "";
  const frac = (rest: number, prec: number) => (rest === 0 ? "" : "." + String(rest).padStart(prec, "0").replace(/0+$/, ""));
  if (u < 1e9) {
    if (u < 1e3) return `${sign}${u}ns`;
    if (u < 1e6) return `${sign}${Math.floor(u / 1e3)}${frac(u % 1e3, 3)}µs`;
    return `${sign}${Math.floor(u / 1e6)}${frac(u % 1e6, 6)}ms`;
  }
  const secs = Math.floor(u / 1e9);
  let out = `${secs % 60}${frac(u % 1e9, 9)}s`;
  u = Math.floor(secs / 60);
  if (u > 0) {
    out = `${u % 60}m${out}`;
    u = Math.floor(u / 60);
    if (u > 0) out = `${u}h${out}`;
  }
  return sign + out;
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, "μs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds; undefined when invalid. */
export function parseGoDuration(s: string): number | undefined {
  let rest = s;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest.length > 0) {
    const m = re.exec(rest);
    if (m === null) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * Math.round(total);
}
