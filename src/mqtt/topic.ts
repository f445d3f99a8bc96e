// MQTT topic names and filters ↔ NATS subjects, as nats-server maps them, so that MQTT and NATS
// clients meet on the same subjects:
//   a/b → a.b   + → *   # → >   a leading '/' → '/.'   an empty level → './' or '/.'
//   a '.' inside a level → '//'
// e.g. /foo/bar → /.foo.bar, foo/bar/ → foo.bar./, foo//bar → foo./.bar, //foo/bar → /./.foo.bar,
// foo.bar → foo//bar. Delivery maps back. Topics here are byte strings (latin1, one char per byte
// of the UTF-8 topic), as subjects are in the core.

const SLASH = 47;
const DOT = 46;
const PLUS = 43;
const HASH = 35;

export class TopicError extends Error {
  override readonly name = "TopicError";
}

/**
 * Converts a topic name (PUBLISH: no wildcards) or filter (SUBSCRIBE: `+` and `#` allowed) to a
 * NATS subject. Throws TopicError for whitespace, DEL, or wildcards in a topic name.
 */
export function topicToSubject(topic: string, wildcards: boolean): string {
  const n = topic.length;
  let out = "";
  // the last character written to `out` (tracked to avoid reading the string back)
  let last = -1;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const c = topic.charCodeAt(i);
    let rep: string;
    switch (c) {
      case SLASH:
        if (i === 0 || last === DOT) rep = "/.";
        else if (i === n - 1 || topic.charCodeAt(i + 1) === SLASH) rep = "./";
        else rep = ".";
        break;
      case DOT:
        rep = "//";
        break;
      case 32: case 9: case 10: case 13: case 12: case 0x7f:
        throw new TopicError("character not supported for MQTT topics");
      case PLUS:
      case HASH:
        if (!wildcards) throw new TopicError(`wildcards not allowed in publish's topic: ${JSON.stringify(topic)}`);
        rep = c === PLUS ? "*" : ">";
        break;
      default:
        last = c;
        continue;
    }
    out += topic.slice(start, i) + rep;
    start = i + 1;
    last = rep.charCodeAt(rep.length - 1);
  }
  if (start === 0) return topic;
  out += topic.slice(start);
  if (last === DOT && start === n) out += "/";
  return out;
}

/** Converts a NATS subject (of a message being delivered) to an MQTT topic name. */
export function subjectToTopic(subject: string): string {
  const n = subject.length;
  let start = 0;
  let out = "";
  for (let i = 0; i < n; i++) {
    const c = subject.charCodeAt(i);
    if (c === DOT) {
      out += subject.slice(start, i) + "/";
      start = i + 1;
    } else if (c === SLASH) {
      out += subject.slice(start, i);
      if (i < n - 1) {
        const d = subject.charCodeAt(i + 1);
        if (d === DOT) {
          out += "/";
          i++;
        } else if (d === SLASH) {
          out += ".";
          i++;
        }
        // any other '/' is dropped, as nats-server does
      }
      start = i + 1;
    }
  }
  if (start === 0) return subject;
  return out + subject.slice(start);
}

/**
 * A topic filter's MQTT rules [MQTT-4.7.1]: `#` only as the last level and alone in it, `+` alone
 * in its level, not empty. Returns an error text, or undefined when valid.
 */
export function checkFilter(filter: string): string | undefined {
  const n = filter.length;
  if (n === 0) return "empty topic filter";
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c !== PLUS && c !== HASH) continue;
    const before = i === 0 || filter.charCodeAt(i - 1) === SLASH;
    const after = i === n - 1 || filter.charCodeAt(i + 1) === SLASH;
    if (!before || !after) return `wildcard not alone in its level: ${JSON.stringify(filter)}`;
    if (c === HASH && i !== n - 1) return `'#' must be the last level: ${JSON.stringify(filter)}`;
  }
  return undefined;
}

/** A topic name's rules: not empty, no wildcards. Returns an error text, or undefined. */
export function checkTopicName(topic: string): string | undefined {
  if (topic.length === 0) return "empty topic name";
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === PLUS || c === HASH) return `wildcards not allowed in publish's topic: ${JSON.stringify(topic)}`;
  }
  return undefined;
}

export interface SharedFilter {
  group: string;
  filter: string;
}

/** `$share/<group>/<filter>` → its parts; undefined when not a shared subscription; throws when malformed. */
export function parseShared(filter: string): SharedFilter | undefined {
  if (!filter.startsWith("$share/")) return undefined;
  const rest = filter.slice(7);
  const slash = rest.indexOf("/");
  if (slash <= 0) throw new TopicError(`malformed shared subscription: ${JSON.stringify(filter)}`);
  const group = rest.slice(0, slash);
  if (/[+#\s]/.test(group)) throw new TopicError(`invalid share name: ${JSON.stringify(group)}`);
  const f = rest.slice(slash + 1);
  if (f.length === 0) throw new TopicError(`malformed shared subscription: ${JSON.stringify(filter)}`);
  return { group, filter: f };
}

/**
 * The NATS subjects a filter subscribes to: its conversion, and for `x/#` also `x` (an MQTT `#`
 * matches its parent level too; NATS `>` does not).
 */
export function filterSubjects(filter: string): string[] {
  const s = topicToSubject(filter, true);
  const n = s.length;
  if (n >= 3 && s.charCodeAt(n - 1) === 62 && s.charCodeAt(n - 2) === DOT) return [s, s.slice(0, n - 2)];
  return [s];
}

/**
 * Whether two subscription subjects (`*`, `>` allowed) can match a common subject: the
 * overlapping subscriptions of one session.
 */
export function subjectsIntersect(a: string, b: string): boolean {
  const x = a.split(".");
  const y = b.split(".");
  for (let i = 0; ; i++) {
    if (i === x.length || i === y.length) return x.length === y.length;
    const s = x[i]!;
    const t = y[i]!;
    // '>' takes one token or more: the other side has one here
    if (s === ">" || t === ">") return true;
    if (s !== t && s !== "*" && t !== "*") return false;
  }
}
