// Subject relations JetStream needs beyond the core's matching: whether two filters can match a
// common subject (overlapping streams), whether one filter is a subset of another, and the
// publish-subject rule. Semantics of nats-server's SubjectsCollide / subjectIsSubsetMatch.
import { hasWildcard, isValidSubject } from "../core/subject.js";

export { isValidSubject, hasWildcard };

/**
 * Subjects travel through the core as latin1 strings (one char per byte of their UTF-8 form);
 * the API's JSON carries them as text. These convert between the two (identity for ASCII).
 */
export function toWire(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, "utf8").toString("latin1");
}

export function fromWire(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, "latin1").toString("utf8");
}

/** A valid subject without wildcard tokens. */
export function isValidPublishSubject(subject: string): boolean {
  return isValidSubject(subject) && !hasWildcard(subject);
}

function tokenCanMatch(a: string, b: string): boolean {
  return a === "*" || b === "*" || a === ">" || b === ">" || a === b;
}

/** True when some literal subject is matched by both `a` and `b` (either may hold wildcards). */
export function subjectsCollide(a: string, b: string): boolean {
  if (a === b) return true;
  const ta = a.split(".");
  const tb = b.split(".");
  const wa = hasWildcard(a);
  const wb = hasWildcard(b);
  if (!wa && !wb) return false;
  if (!wa) return isSubsetTokens(ta, tb);
  if (!wb) return isSubsetTokens(tb, ta);
  const fa = ta[ta.length - 1] === ">";
  const fb = tb[tb.length - 1] === ">";
  if (!fa && !fb && ta.length !== tb.length) return false;
  if (ta.length < tb.length && !fa) return false;
  if (tb.length < ta.length && !fb) return false;
  const stop = Math.min(ta.length, tb.length);
  for (let i = 0; i < stop; i++) if (!tokenCanMatch(ta[i]!, tb[i]!)) return false;
  return true;
}

/** True when every subject matched by `subject` is also matched by `test`. */
export function isSubsetMatch(subject: string, test: string): boolean {
  return isSubsetTokens(subject.split("."), test.split("."));
}

function isSubsetTokens(tokens: string[], tt: string[]): boolean {
  for (let i = 0; i < tt.length; i++) {
    const t2 = tt[i]!;
    if (i >= tokens.length) return false;
    if (t2 === ">") return true;
    const t1 = tokens[i]!;
    if (t1 === ">") return false;
    if (t2 === "*") continue;
    if (t1 === "*" || t1 !== t2) return false;
  }
  return tokens.length === tt.length;
}

/** A stream, consumer or account name: non-empty, none of `. * > \ /` or whitespace. */
export function isValidAssetName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // . * > / \ and whitespace (nats-server's isValidName + path separators)
    if (c === 46 || c === 42 || c === 62 || c === 47 || c === 92 || c === 32 || c === 9 || c === 10 || c === 13 || c === 12) return false;
  }
  return true;
}

/** The `n`th token (1-based) of a subject, or "". */
export function tokenAt(subject: string, n: number): string {
  let start = 0;
  for (let i = 1; i < n; i++) {
    const dot = subject.indexOf(".", start);
    if (dot < 0) return "";
    start = dot + 1;
  }
  const end = subject.indexOf(".", start);
  return end < 0 ? subject.slice(start) : subject.slice(start, end);
}
