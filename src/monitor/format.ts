// Formatting as nats-server's monitoring JSON has it (Go durations, RFC 3339 times, uptimes)
// and query parameter decoding with the same rules and error texts as Go's strconv.

/** A request the monitor refuses with HTTP 400 and this text. */
export class BadRequest extends Error {}

/**
 * A duration as Go's `time.Duration.String()` writes it: "0s", "850ns", "1.5µs", "12.25ms",
 * "3.2s", "1m0s", "2h3m4.5s". `ns` is in nanoseconds.
 */
export function goDuration(ns: number): string {
  let u = Math.trunc(Math.abs(ns));
  if (!Number.isFinite(u) || u === 0) return "0s";
  const sign = ns < 0 ? "-" : "";
  if (u < 1e9) {
    if (u < 1e3) return `${sign}${u}ns`;
    if (u < 1e6) return `${sign}${fraction(u, 3)}µs`;
    return `${sign}${fraction(u, 6)}ms`;
  }
  const secs = Math.floor(u / 1e9);
  const frac = fractionDigits(u % 1e9, 9);
  let out = `${secs % 60}${frac}s`;
  u = Math.floor(secs / 60);
  if (u > 0) {
    out = `${u % 60}m${out}`;
    u = Math.floor(u / 60);
    if (u > 0) out = `${u}h${out}`;
  }
  return sign + out;
}

/** `v / 10^prec` with the fraction's trailing zeros (and a bare point) dropped. */
function fraction(v: number, prec: number): string {
  const p = 10 ** prec;
  return `${Math.floor(v / p)}${fractionDigits(v % p, prec)}`;
}

function fractionDigits(rest: number, prec: number): string {
  if (rest === 0) return "";
  return "." + String(rest).padStart(prec, "0").replace(/0+$/, "");
}

/** Milliseconds as a Go duration string. */
export function goDurationMs(ms: number): string {
  return goDuration(Math.round(ms * 1e6));
}

/** An uptime as nats-server writes it: whole seconds, "45s", "1m2s", "3h0m5s", "2d1h0m0s", "1y2d0h0m0s". */
export function uptime(ms: number): string {
  const tsecs = Math.max(0, Math.floor(ms / 1000));
  const tmins = Math.floor(tsecs / 60);
  const thrs = Math.floor(tmins / 60);
  const tdays = Math.floor(thrs / 24);
  const tyrs = Math.floor(tdays / 365);
  if (tyrs > 0) return `${tyrs}y${tdays % 365}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (tdays > 0) return `${tdays}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (thrs > 0) return `${thrs}h${tmins % 60}m${tsecs % 60}s`;
  if (tmins > 0) return `${tmins}m${tsecs % 60}s`;
  return `${tsecs}s`;
}

/** A time as Go's JSON encoding writes it (RFC 3339, fraction without trailing zeros), in UTC. */
export function rfc3339(t: Date | number): string {
  const d = typeof t === "number" ? new Date(t) : t;
  if (Number.isNaN(d.getTime())) return "0001-01-01T00:00:00Z";
  return d.toISOString().replace(/\.000Z$/, "Z").replace(/(\.\d*?)0+Z$/, "$1Z");
}

/** Go's `%q` of a string, close enough for error texts. */
function quote(s: string): string {
  return JSON.stringify(s.length > 256 ? s.slice(0, 256) + "..." : s);
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const UINT64_MAX = 18446744073709551615n;

/** The query string of a request, decoded with Go's rules. */
export class Query {
  constructor(private readonly params: URLSearchParams) {}

  /** The first value of `name`, "" when absent (as Go's `Query().Get`). */
  get(name: string): string {
    return this.params.get(name) ?? "";
  }

  /** strconv.ParseBool; "" is false. */
  bool(name: string): boolean {
    const s = this.get(name);
    switch (s) {
      case "":
      case "0": case "f": case "F": case "false": case "FALSE": case "False":
        return false;
      case "1": case "t": case "T": case "true": case "TRUE": case "True":
        return true;
    }
    throw new BadRequest(`Error decoding boolean for '${name}': strconv.ParseBool: parsing ${quote(s)}: invalid syntax`);
  }

  /** strconv.Atoi (64-bit); "" is 0. */
  int(name: string): number {
    const s = this.get(name);
    if (s === "") return 0;
    if (!/^[+-]?[0-9]+$/.test(s)) {
      throw new BadRequest(`Error decoding int for '${name}': strconv.Atoi: parsing ${quote(s)}: invalid syntax`);
    }
    const v = BigInt(s);
    if (v > INT64_MAX || v < INT64_MIN) {
      throw new BadRequest(`Error decoding int for '${name}': strconv.Atoi: parsing ${quote(s)}: value out of range`);
    }
    return Number(v);
  }

  /** strconv.ParseUint(s, 10, 64); "" is 0. */
  uint64(name: string): number {
    const s = this.get(name);
    if (s === "") return 0;
    if (!/^[0-9]+$/.test(s)) {
      throw new BadRequest(`Error decoding uint64 for '${name}': strconv.ParseUint: parsing ${quote(s)}: invalid syntax`);
    }
    if (BigInt(s) > UINT64_MAX) {
      throw new BadRequest(`Error decoding uint64 for '${name}': strconv.ParseUint: parsing ${quote(s)}: value out of range`);
    }
    return Number(s);
  }

  /** `subs`: "detail" asks for details, otherwise a boolean. */
  subs(): { subs: boolean; detail: boolean } {
    if (this.get("subs").toLowerCase() === "detail") return { subs: false, detail: true };
    return { subs: this.bool("subs"), detail: false };
  }
}

/** Offset and limit made sane, as nats-server does: a negative offset is 0, a limit ≤ 0 the default. */
export function page<T>(items: T[], offset: number, limit: number): T[] {
  const start = Math.min(Math.max(offset, 0), items.length);
  const end = start + Math.min(limit, items.length - start);
  return items.slice(start, end);
}
