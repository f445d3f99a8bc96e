// Helpers of the consumer engine: matching subjects against a consumer's filters, delivering to a
// subject under another message subject (JetStream's deliver subjects), names for ephemerals, the
// headers-only form of a message, and small parsers.

import { randomBytes } from "node:crypto";
import type { Account } from "../core/account.js";
import { H } from "./headers.js";

/** Matches subjects (latin1, as the core carries them) against a consumer's filters. */
export class SubjectFilter {
  private readonly literals = new Set<string>();
  private readonly patterns: string[][] = [];
  readonly all: boolean;

  constructor(filters: readonly string[]) {
    for (const f of filters) {
      if (f === ">") continue;
      const t = f.split(".");
      if (t.includes("*") || t.includes(">")) this.patterns.push(t);
      else this.literals.add(f);
    }
    this.all = filters.length === 0 || filters.includes(">");
  }

  matches(subject: string): boolean {
    if (this.all || this.literals.has(subject)) return true;
    if (this.patterns.length === 0) return false;
    const s = subject.split(".");
    outer: for (const p of this.patterns) {
      for (let i = 0; i < p.length; i++) {
        const t = p[i];
        if (t === ">") {
          if (s.length > i) return true;
          continue outer;
        }
        if (i >= s.length || (t !== "*" && t !== s[i])) continue outer;
      }
      if (p.length === s.length) return true;
    }
    return false;
  }
}

/** Delivers `msg` to whoever subscribes to `match`, with `subject` as the message's subject; returns how many got it. */
export function routeAs(account: Account, match: string, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number): number {
  return account.routeAs(match, subject, reply, msg, hdrLen);
}

/** A consumer name for an ephemeral without one (8 characters, as nats-server's). */
export function generateName(): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const b = randomBytes(8);
  let s = "";
  for (let i = 0; i < 8; i++) s += alphabet[b[i]! % alphabet.length];
  return s;
}

export const EMPTY = Buffer.alloc(0);

/** The decimal number in s[start, end), or -1 when it is not one. */
export function numAt(s: string, start: number, end: number): number {
  if (end <= start) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

export function filterArgOf(filters: string[]): string | string[] | undefined {
  if (filters.length === 0) return undefined;
  if (filters.length === 1) return filters[0] === ">" ? undefined : filters[0];
  return filters;
}

/** Every subject matched by `a` is matched by `b`. */
export function subsetOf(a: string, b: string): boolean {
  const ta = a.split(".");
  const tb = b.split(".");
  for (let i = 0; i < tb.length; i++) {
    const t2 = tb[i]!;
    if (i >= ta.length) return false;
    if (t2 === ">") return true;
    const t1 = ta[i]!;
    if (t1 === ">") return false;
    if (t2 === "*") continue;
    if (t1 === "*" || t1 !== t2) return false;
  }
  return ta.length === tb.length;
}

/** The sampling percentage of sample_freq ("50" or "50%"). */
export function sampleFrequency(s: string | undefined): number {
  if (!s) return 0;
  const n = Number(s.endsWith("%") ? s.slice(0, -1) : s);
  return Number.isFinite(n) ? n : 0;
}

/** headers_only: the headers with Nats-Msg-Size, no payload. */
export function headersOnly(hdr: Buffer | undefined, size: number): Buffer {
  if (hdr === undefined || hdr.length === 0) return Buffer.from(`NATS/1.0\r\n${H.MsgSize}: ${size}\r\n\r\n`, "latin1");
  let s = hdr.latin1Slice(0, hdr.length);
  if (s.endsWith("\r\n\r\n")) s = s.slice(0, -2);
  return Buffer.from(`${s}${H.MsgSize}: ${size}\r\n\r\n`, "latin1");
}
