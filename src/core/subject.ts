// Subject rules as nats-server applies them. Subjects are handled as latin1 strings inside
// the core so that every byte of a UTF-8 subject survives the round trip unchanged.

const DOT = 46; // .
const STAR = 42; // *
const GT = 62; // >

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
}

/**
 * A valid subject: non-empty tokens separated by dots, no whitespace; `*` and `>` only as
 * whole tokens, `>` only as the last token. Wildcards allowed (this is the SUB rule).
 */
export function isValidSubject(subject: string): boolean {
  const n = subject.length;
  if (n === 0) return false;
  let tokenStart = 0;
  let sawFwc = false;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? subject.charCodeAt(i) : DOT;
    if (c === DOT) {
      const len = i - tokenStart;
      if (len === 0) return false;
      if (sawFwc) return false; // '>' must be the last token
      if (len === 1) {
        const t = subject.charCodeAt(tokenStart);
        if (t === GT) sawFwc = true;
      }
      tokenStart = i + 1;
      continue;
    }
    // `*` or `>` inside a longer token is a plain character, as in nats-server ("foo*bar").
    if (isSpace(c)) return false;
  }
  return true;
}

/** A valid subject with no wildcard tokens (the publish rule in pedantic mode). */
export function isValidLiteralSubject(subject: string): boolean {
  if (!isValidSubject(subject)) return false;
  return !hasWildcard(subject);
}

/** True if some whole token is `*` or `>`. */
export function hasWildcard(subject: string): boolean {
  const n = subject.length;
  for (let i = 0; i < n; i++) {
    const c = subject.charCodeAt(i);
    if (c !== STAR && c !== GT) continue;
    const startOk = i === 0 || subject.charCodeAt(i - 1) === DOT;
    const endOk = i + 1 === n || subject.charCodeAt(i + 1) === DOT;
    if (startOk && endOk) return true;
  }
  return false;
}

/** A queue group name: non-empty, no whitespace. */
export function isValidQueueName(queue: string): boolean {
  if (queue.length === 0) return false;
  for (let i = 0; i < queue.length; i++) if (isSpace(queue.charCodeAt(i))) return false;
  return true;
}

/** Does the literal `subject` match the (possibly wildcard) `pattern`? */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const t = p[i];
    if (t === ">") return s.length > i;
    if (i >= s.length) return false;
    if (t !== "*" && t !== s[i]) return false;
  }
  return p.length === s.length;
}
