// The nats-server configuration format (the `conf` package of nats-server), parsed into plain
// JavaScript values: objects, arrays, strings, numbers, booleans and Dates.
//
// What is accepted, and what each construct means, follows nats-server's lexer and parser:
//
//   key: value   key = value   key value        separators; keys may be quoted ('k' or "k")
//   a { ... }    a: [ 1, 2 ]                      maps and arrays; commas or new lines separate
//   # comment    // comment                       comments
//   ;  ,                                          optional terminators after a value
//   "double"  'single'  bare                      strings; "..." knows \t \n \r \" \\ \xHH (and \uXXXX)
//   ( ... \n)                                     block string, ended by ')' alone on a line
//   1  -1  1.5  1k=1000  1kb=1ki=1kib=1024  1MB   numbers, sizes (k m g t p e; b/i/ib = powers of 1024)
//   true false yes no on off (any case)           booleans
//   2016-05-04T18:53:41Z                          datetimes (full Zulu form), as Date
//   $name                                         a key defined earlier in this or an enclosing map,
//                                                 else an environment variable (parsed as a value)
//   include ./other.conf                          merge another file's keys here (relative path)
//
// Bare strings end at white space, a new line, ';', ',', ']' or '}', so `listen: 127.0.0.1:4222`
// is a string and `1m30s` is not a duration (it lexes as `1m` = 1000000 and then fails): durations
// are written quoted, or as unit strings the lexer keeps whole ("2s", "250ms", "1h").
//
// Every key's position (file, line, column) is kept aside in a WeakMap: `positionOf(map, key)`,
// `positionOf(array, index)`. Keys that were used as variables are marked (`isUsedVariable`), since
// nats-server does not report those as unknown configuration keys.
//
// Deliberate differences from nats-server, all on inputs it rejects or mangles: `[1]` is the number
// 1 (nats-server: the string "1"); a key with no value is an error (nats-server: "" or a corrupted
// map); \uXXXX escapes are accepted; include cycles are detected; a bare key holding a bracket is
// reported as a missing space; CRLF block strings end.

import { readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join, relative, resolve as resolvePath } from "node:path";

export type ConfigValue = string | number | boolean | Date | ConfigValue[] | ConfigMap;
export interface ConfigMap {
  [key: string]: ConfigValue;
}

export interface Position {
  /** the file, or a description of where the value came from (e.g. "command line flag -p") */
  file?: string;
  /** 1-based; 0 when the value has no line (command line, environment) */
  line: number;
  /** 1-based column */
  col: number;
}

export function formatPosition(pos: Position): string {
  if (pos.line <= 0) return pos.file ?? "<config>";
  return `${pos.file ?? "<config>"}:${pos.line}:${pos.col}`;
}

export class ConfigError extends Error {
  /** the problem, without the position prefix */
  readonly reason: string;
  readonly position?: Position;
  /** every problem found, when several were collected (resolveOptions); else just this one */
  readonly issues: ConfigError[];

  constructor(reason: string, position?: Position, issues?: ConfigError[]) {
    super(issues && issues.length > 1
      ? issues.map((i) => i.message).join("\n")
      : position ? `${formatPosition(position)}: ${reason}` : reason);
    this.name = "ConfigError";
    this.reason = reason;
    this.position = position;
    this.issues = issues ?? [this];
  }

  get file(): string | undefined { return this.position?.file; }
  get line(): number | undefined { return this.position?.line; }
  get col(): number | undefined { return this.position?.col; }
}

// ---- positions and variable marks, kept beside the plain values ----

const positions = new WeakMap<object, Map<string | number, Position>>();
const usedVariables = new WeakMap<object, Set<string>>();

/** Where `key` of a parsed map (or element `index` of a parsed array) was written. */
export function positionOf(container: object, key: string | number): Position | undefined {
  return positions.get(container)?.get(key);
}

/** Record a position for a key (used when merging command-line flags into a parsed map). */
export function setPosition(container: object, key: string | number, pos: Position): void {
  let m = positions.get(container);
  if (!m) positions.set(container, (m = new Map()));
  m.set(key, pos);
}

/** True if this key of a parsed map was referenced as `$key` somewhere. */
export function isUsedVariable(map: object, key: string): boolean {
  return usedVariables.get(map)?.has(key) ?? false;
}

function markUsed(map: object, key: string): void {
  let s = usedVariables.get(map);
  if (!s) usedVariables.set(map, (s = new Set()));
  s.add(key);
}

/** A shallow copy of a parsed map that keeps its positions and variable marks. */
export function copyConfigMap(map: ConfigMap): ConfigMap {
  const out: ConfigMap = {};
  for (const k of Object.keys(map)) setKey(out, k, map[k]!);
  const p = positions.get(map);
  if (p) positions.set(out, new Map(p));
  const u = usedVariables.get(map);
  if (u) usedVariables.set(out, new Set(u));
  return out;
}

function setKey(map: ConfigMap, key: string, value: ConfigValue): void {
  if (key === "__proto__") {
    Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    map[key] = value;
  }
}

// ---- the parser ----

const MAX_DEPTH = 256;
const MAX_INCLUDE_DEPTH = 32;

const C_TAB = 9, C_NL = 10, C_CR = 13, C_SPACE = 32, C_DQ = 34, C_HASH = 35, C_DOLLAR = 36,
  C_SQ = 39, C_LPAREN = 40, C_RPAREN = 41, C_COMMA = 44, C_MINUS = 45, C_DOT = 46, C_SLASH = 47,
  C_0 = 48, C_9 = 57, C_COLON = 58, C_SEMI = 59, C_EQ = 61, C_LBRACK = 91, C_BSLASH = 92,
  C_RBRACK = 93, C_LBRACE = 123, C_RBRACE = 125;

const isWS = (c: number) => c === C_SPACE || c === C_TAB;
const isNL = (c: number) => c === C_NL || c === C_CR;
const isDigit = (c: number) => c >= C_0 && c <= C_9;
const isSep = (c: number) => c === C_COLON || c === C_EQ;
function isSpace(c: number): boolean {
  if (c === C_SPACE || (c >= 9 && c <= 13)) return true;
  if (c < 0x85) return false;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}
// size suffix letters: k m g t p e (any case)
function isSuffix(c: number): boolean {
  switch (c | 0x20) {
    case 0x6b: case 0x6d: case 0x67: case 0x74: case 0x70: case 0x65: return true;
  }
  return false;
}

const SUFFIX: Record<string, bigint> = (() => {
  const t: Record<string, bigint> = { "": 1n };
  const letters = ["k", "m", "g", "t", "p", "e"];
  letters.forEach((l, i) => {
    const n = BigInt(i + 1);
    t[l] = 1000n ** n;
    t[l + "b"] = t[l + "i"] = t[l + "ib"] = 1024n ** n;
  });
  return t;
})();
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const BOOLS: Record<string, boolean> = { true: true, yes: true, on: true, false: false, no: false, off: false };

interface Shared {
  /** absolute paths of the files being parsed, outermost first (include cycle detection) */
  includeStack: string[];
  /** environment variables being expanded (cycle detection) */
  envRefs: Set<string>;
}

class Parser {
  private readonly src: string;
  private i = 0;
  private readonly file?: string;
  private readonly dir: string;
  private lineStarts?: number[];
  /** maps being built, outermost first: the scopes for `$variable` look-ups */
  private readonly scopes: ConfigMap[] = [];
  private depth = 0;

  constructor(src: string, file: string | undefined, private readonly shared: Shared) {
    this.src = src.charCodeAt(0) === 0xfeff ? src.slice(1) : src;
    this.file = file;
    this.dir = file !== undefined && !file.startsWith("<") ? dirname(file) : ".";
  }

  // -- positions and errors --

  private pos(at: number): Position {
    if (!this.lineStarts) {
      const ls = [0];
      const s = this.src;
      for (let k = s.indexOf("\n"); k >= 0; k = s.indexOf("\n", k + 1)) ls.push(k + 1);
      this.lineStarts = ls;
    }
    const ls = this.lineStarts;
    let lo = 0, hi = ls.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ls[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, col: at - ls[lo]! + 1 };
  }

  private fail(reason: string, at: number = this.i): never {
    throw new ConfigError(reason, this.pos(at));
  }

  private code(at: number = this.i): number {
    return at < this.src.length ? this.src.charCodeAt(at) : -1;
  }

  private describe(at: number = this.i): string {
    if (at >= this.src.length) return "end of file";
    const c = this.src.charCodeAt(at);
    if (c === C_NL || c === C_CR) return "new line";
    const cp = this.src.codePointAt(at)!;
    return `'${String.fromCodePoint(cp)}'`;
  }

  // -- skipping --

  private skipWS(): void {
    while (isWS(this.code())) this.i++;
  }

  private skipSpace(): void {
    while (this.i < this.src.length && isSpace(this.src.charCodeAt(this.i))) this.i++;
  }

  /** At a comment start ('#' or '//')? */
  private atComment(): boolean {
    const c = this.code();
    return c === C_HASH || (c === C_SLASH && this.code(this.i + 1) === C_SLASH);
  }

  private skipComment(): void {
    const s = this.src;
    while (this.i < s.length && !isNL(s.charCodeAt(this.i))) this.i++;
  }

  /** Skip white space, new lines and comments. */
  private skipBlank(): void {
    for (;;) {
      this.skipSpace();
      if (this.atComment()) this.skipComment();
      else return;
    }
  }

  // -- top level --

  parseTop(): ConfigMap {
    const root: ConfigMap = {};
    this.scopes.push(root);
    const wrappers: number[] = []; // offsets of top-level '{' wrapping the whole config (JSON style)
    for (;;) {
      this.skipBlank();
      const c = this.code();
      if (c < 0) break;
      if (c === C_LBRACE) {
        wrappers.push(this.i++);
        continue;
      }
      if (c === C_RBRACE) {
        if (wrappers.length > 0) {
          wrappers.pop();
          this.i++;
          this.valueEnd("top", undefined);
          continue;
        }
        // A stray '}' at the very end is tolerated, as nats-server does (JSON-like files).
        const at = this.i++;
        this.skipBlank();
        if (this.i < this.src.length) this.fail("unbalanced '}': no '{' to close", at);
        break;
      }
      if (c === C_COMMA || c === C_SEMI || c === C_SLASH) this.fail(`unexpected ${this.describe()}: expected a key`);
      const key = this.parseEntry(root, "top");
      this.valueEnd("top", key);
    }
    if (wrappers.length > 0) {
      const open = this.pos(wrappers[wrappers.length - 1]!);
      this.fail(`unexpected end of file: the '{' at ${open.line}:${open.col} is not closed`);
    }
    this.scopes.pop();
    return root;
  }

  /**
   * After a value (or include) in a map or at the top level: white space, then a comment,
   * a new line, ';' or ',' (consumed), or '}' / end of file (left for the caller).
   */
  private valueEnd(ctx: "top" | "map", key: string | undefined): void {
    this.skipWS();
    if (this.atComment()) {
      this.skipComment();
      return;
    }
    const c = this.code();
    if (c < 0 || c === C_RBRACE) return;
    if (isNL(c) || c === C_SEMI || c === C_COMMA) {
      this.i++;
      return;
    }
    const what = key === undefined ? "the value" : `the value of "${key}"`;
    const hint = ctx === "map" ? ", ',' or '}'" : ", ';' or ','";
    let extra = "";
    const last = this.lastValueText;
    if (key !== undefined && isDigit(c) && /^-?\d+[a-zA-Z]+$/.test(last)) {
      const whole = last + /^[^\s;,}\]]*/.exec(this.src.slice(this.i, this.i + 40))![0];
      extra = ` (to write the duration ${whole}, quote it: "${whole}")`;
    } else if (key !== undefined && last !== "" && !isSep(c)) {
      extra = " (values with spaces must be quoted)";
    }
    this.fail(`unexpected ${this.describe()} after ${what}: expected a new line${hint}${extra}`);
  }

  /** Source text of the last scalar value parsed (for error hints). */
  private lastValueText = "";

  /**
   * Parse `key [sep] value` or `include path` into `map`; returns the key (or undefined for an
   * include).
   */
  private parseEntry(map: ConfigMap, ctx: "top" | "map"): string | undefined {
    const keyStart = this.i;
    const c = this.code();
    if (isSep(c)) this.fail(`unexpected key separator ${this.describe()}: expected a key`);
    if (c === C_RBRACK) this.fail("unexpected ']': expected a key");
    let key: string;
    if (c === C_DQ || c === C_SQ) {
      const end = this.src.indexOf(String.fromCharCode(c), this.i + 1);
      if (end < 0) this.fail("unterminated quoted key");
      key = this.src.slice(this.i + 1, end);
      this.i = end + 1;
    } else {
      const s = this.src;
      let j = this.i;
      while (j < s.length) {
        const k = s.charCodeAt(j);
        if (isSpace(k) || isSep(k)) break;
        j++;
      }
      key = s.slice(this.i, j);
      this.i = j;
      if (j < s.length && key.toLowerCase() === "include" && isSpace(s.charCodeAt(j))) {
        this.parseInclude(map, keyStart);
        return undefined;
      }
      // nats-server takes brackets inside a bare key as part of it; one at the start or a '{' / '['
      // at the end is almost surely a misplaced bracket or a missing space ("authorization{").
      const first = key[0]!, last = key[key.length - 1]!;
      if ("{}[]".includes(first)) this.fail(`unexpected '${first}': expected a key`, keyStart);
      if (last === "{" || last === "[") {
        this.fail(`unexpected '${last}' at the end of key "${key}" (a space is missing before it)`, keyStart + key.length - 1);
      }
      if (j >= s.length) this.fail(`missing value for key "${key}"`, keyStart);
    }
    // between key and value: any white space, new lines included
    this.skipSpace();
    let sawSep = false;
    if (isSep(this.code())) {
      this.i++;
      sawSep = true;
    }
    if (sawSep) {
      if (ctx === "top") {
        this.skipWS();
        if (isNL(this.code())) this.fail(`expected a value for key "${key}" but found a new line`);
      } else {
        this.skipSpace();
      }
    }
    const v = this.code();
    if (v < 0 || v === C_RBRACE || v === C_SEMI || v === C_COMMA) {
      this.fail(`missing value for key "${key}"`, keyStart);
    }
    const value = this.parseValue();
    setKey(map, key, value);
    setPosition(map, key, this.pos(keyStart));
    return key;
  }

  // -- values --

  private parseValue(): ConfigValue {
    this.skipWS();
    const start = this.i;
    const c = this.code();
    this.lastValueText = "";
    if (c < 0) this.fail("missing value: unexpected end of file");
    if (isNL(c)) this.fail("expected a value but found a new line");
    switch (c) {
      case C_LBRACK: {
        const a = this.nested(() => this.parseArray());
        this.lastValueText = "";
        return a;
      }
      case C_LBRACE: {
        const m = this.nested(() => this.parseMap());
        this.lastValueText = "";
        return m;
      }
      case C_SQ: {
        const end = this.src.indexOf("'", start + 1);
        if (end < 0) this.fail("unterminated string: missing closing '");
        this.i = end + 1;
        return (this.lastValueText = this.src.slice(start + 1, end));
      }
      case C_DQ: return (this.lastValueText = this.parseDoubleQuoted());
      case C_LPAREN: return (this.lastValueText = this.parseBlock());
      case C_MINUS: return this.parseNegative();
      case C_DOT: this.fail("floats must start with a digit");
    }
    if (isDigit(c)) return this.parseNumberish();
    return this.parseBare(start);
  }

  private nested<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail(`maps and arrays nested too deeply (over ${MAX_DEPTH})`);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private parseMap(): ConfigMap {
    const open = this.i++;
    const map: ConfigMap = {};
    this.scopes.push(map);
    for (;;) {
      this.skipBlank();
      const c = this.code();
      if (c < 0) {
        const p = this.pos(open);
        this.fail(`unexpected end of file: the map opened at ${p.line}:${p.col} is missing its '}'`);
      }
      if (c === C_RBRACE) {
        this.i++;
        break;
      }
      if (c === C_COMMA || c === C_SEMI) this.fail(`unexpected ${this.describe()} in map: expected a key`);
      const key = this.parseEntry(map, "map");
      this.valueEnd("map", key);
    }
    this.scopes.pop();
    return map;
  }

  private parseArray(): ConfigValue[] {
    const open = this.i++;
    const arr: ConfigValue[] = [];
    for (;;) {
      this.skipBlank();
      const c = this.code();
      if (c < 0) {
        const p = this.pos(open);
        this.fail(`unexpected end of file: the array opened at ${p.line}:${p.col} is missing its ']'`);
      }
      if (c === C_RBRACK) {
        this.i++;
        return arr;
      }
      if (c === C_COMMA) this.fail("unexpected ',' in array: expected a value");
      if (c === C_RBRACE) this.fail("unexpected '}' in array: expected a value or ']'");
      const at = this.i;
      const value = this.parseValue();
      setPosition(arr, arr.length, this.pos(at));
      arr.push(value);
      // after an element
      this.skipWS();
      if (this.atComment()) {
        this.skipComment();
        continue;
      }
      const e = this.code();
      if (e === C_COMMA || isNL(e)) this.i++;
      else if (e !== C_RBRACK && e >= 0) {
        this.fail(`unexpected ${this.describe()} in array: expected ',', ']' or a new line`);
      }
    }
  }

  private parseBlock(): string {
    const s = this.src;
    const start = this.i + 1;
    let k = start;
    for (;;) {
      const nl = s.indexOf("\n)", k);
      if (nl < 0) this.fail("unterminated block string: missing ')' alone on a line", this.i);
      const after = nl + 2;
      if (after >= s.length || s.charCodeAt(after) === C_NL || s.charCodeAt(after) === C_CR) {
        this.i = after;
        return s.slice(start, nl + 1);
      }
      k = nl + 1;
    }
  }

  /** "..." with escapes. */
  private parseDoubleQuoted(): string {
    const s = this.src;
    const open = this.i++;
    let out = "";
    let runStart = this.i;
    for (;;) {
      if (this.i >= s.length) this.fail("unterminated string: missing closing \"", open);
      const c = s.charCodeAt(this.i);
      if (c === C_DQ) {
        out += s.slice(runStart, this.i);
        this.i++;
        return out;
      }
      if (c === C_BSLASH) {
        out += s.slice(runStart, this.i);
        out += this.parseEscape();
        runStart = this.i;
        continue;
      }
      this.i++;
    }
  }

  /** At a backslash: decode one escape (a run of \xHH bytes is decoded together as UTF-8). */
  private parseEscape(): string {
    const s = this.src;
    const at = this.i;
    const e = s.charCodeAt(at + 1);
    switch (e) {
      case 0x74: this.i += 2; return "\t"; // t
      case 0x6e: this.i += 2; return "\n"; // n
      case 0x72: this.i += 2; return "\r"; // r
      case C_DQ: this.i += 2; return "\"";
      case C_BSLASH: this.i += 2; return "\\";
      case 0x75: { // u: \uXXXX (an addition to nats-server's set)
        const hex = s.slice(at + 2, at + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("expected four hexadecimal digits after '\\u'", at);
        this.i += 6;
        return String.fromCharCode(parseInt(hex, 16));
      }
      case 0x78: { // x
        const bytes: number[] = [];
        while (s.charCodeAt(this.i) === C_BSLASH && s.charCodeAt(this.i + 1) === 0x78) {
          const hex = s.slice(this.i + 2, this.i + 4);
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
            this.fail(`expected two hexadecimal digits after '\\x', got '${hex}'`, this.i);
          }
          bytes.push(parseInt(hex, 16));
          this.i += 4;
        }
        const buf = Buffer.from(bytes);
        try {
          return new TextDecoder("utf-8", { fatal: true }).decode(buf);
        } catch {
          return buf.toString("latin1"); // not UTF-8: take the bytes as Latin-1
        }
      }
    }
    const what = at + 1 >= s.length ? "end of file" : `'${String.fromCodePoint(s.codePointAt(at + 1)!)}'`;
    this.fail(`invalid escape ${what}: only \\xXX, \\uXXXX, \\t, \\n, \\r, \\" and \\\\ are allowed`, at);
  }

  /**
   * An unquoted string: up to white space, a new line, ';', ',', ']' or '}' (a "'" also ends it,
   * and is dropped, as in nats-server). Plain words may be booleans or `$variables`.
   */
  private parseBare(start: number, alreadyAt = start): ConfigValue {
    const s = this.src;
    this.i = alreadyAt;
    let out = "";
    let runStart = start;
    let escaped = false;
    let end: number;
    for (;;) {
      const c = this.code();
      if (c < 0 || isWS(c) || isNL(c) || c === C_SEMI || c === C_COMMA || c === C_RBRACK || c === C_RBRACE) {
        end = this.i;
        break;
      }
      if (c === C_SQ) {
        end = this.i;
        this.i++;
        break;
      }
      if (c === C_BSLASH) {
        out += s.slice(runStart, this.i);
        out += this.parseEscape();
        runStart = this.i;
        escaped = true;
        continue;
      }
      this.i++;
    }
    out += s.slice(runStart, end);
    if (end === start) this.fail(`missing value: unexpected ${this.describe(start)}`, start);
    this.lastValueText = out;
    if (escaped) return out;
    const b = BOOLS[out.toLowerCase()];
    if (b !== undefined) return b;
    if (out.charCodeAt(0) === C_DOLLAR) return this.lookupVariable(out.slice(1), start);
    return out;
  }

  private parseNegative(): ConfigValue {
    const start = this.i;
    const s = this.src;
    let j = start + 1;
    const c = this.code(j);
    if (!isDigit(c)) {
      if (c === C_DOT) this.fail("floats must start with a digit, not '.'", j);
      this.fail(`expected a digit after '-' but got ${this.describe(j)}`, j);
    }
    while (isDigit(this.code(j))) j++;
    const n = this.code(j);
    if (n === C_DOT) return this.parseFloatOrIP(start, j);
    if (isSuffix(n)) return this.parseSuffixed(start, j);
    this.i = j;
    return this.toInteger(s.slice(start, j), "", start);
  }

  /** Starts with a digit: an integer, a size, a float, an IP address, a datetime or a string. */
  private parseNumberish(): ConfigValue {
    const start = this.i;
    const s = this.src;
    let j = start;
    while (isDigit(this.code(j))) j++;
    const c = this.code(j);
    if (c === C_MINUS) {
      if (j - start !== 4) this.fail("dates must be in full ISO 8601 Zulu form (2006-01-02T15:04:05Z)", start);
      return this.parseDatetime(start);
    }
    if (c === C_DOT) return this.parseFloatOrIP(start, j);
    if (isSuffix(c)) return this.parseSuffixed(start, j);
    if (this.endsNumber(c)) {
      this.i = j;
      return this.toInteger(s.slice(start, j), "", start);
    }
    return this.parseBare(start, j);
  }

  private endsNumber(c: number): boolean {
    return c < 0 || isWS(c) || isNL(c) || c === C_RBRACE || c === C_RBRACK || c === C_SEMI || c === C_COMMA;
  }

  /** digits then a size letter at `j`: a size if it ends there (after b/i letters), else a string. */
  private parseSuffixed(start: number, j: number): ConfigValue {
    let k = j + 1;
    for (;;) {
      const c = this.code(k) | 0x20;
      if (c === 0x62 || c === 0x69) k++; // b i
      else break;
    }
    const next = this.code(k);
    if (this.endsNumber(next) || isDigit(next)) {
      this.i = k;
      return this.toInteger(this.src.slice(start, j), this.src.slice(j, k), start);
    }
    return this.parseBare(start, k);
  }

  private toInteger(digits: string, suffix: string, at: number): number {
    this.lastValueText = digits + suffix;
    const mult = SUFFIX[suffix.toLowerCase()];
    if (mult === undefined) {
      this.fail(`invalid size suffix "${suffix}" in "${digits}${suffix}" (use k, kb, ki, kib, m, mb, ... e, eb)`, at);
    }
    const v = BigInt(digits) * mult;
    if (v < INT64_MIN || v > INT64_MAX) {
      const text = digits.length > 24 ? `${digits.slice(0, 20)}...` : digits;
      this.fail(`integer "${text}${suffix}" is out of range`, at);
    }
    return Number(v);
  }

  private parseFloatOrIP(start: number, dot: number): ConfigValue {
    let j = dot + 1;
    if (!isDigit(this.code(j))) {
      this.fail(`floats must have a digit after the '.', but got ${this.describe(j)}`, j);
    }
    while (isDigit(this.code(j))) j++;
    if (this.code(j) === C_DOT) {
      // an IP address (and maybe a port): 127.0.0.1:4222
      j++;
      for (;;) {
        const c = this.code(j);
        if (isDigit(c) || c === C_DOT || c === C_COLON || c === C_MINUS) j++;
        else break;
      }
      this.i = j;
      return (this.lastValueText = this.src.slice(start, j));
    }
    this.i = j;
    const text = this.src.slice(start, j);
    this.lastValueText = text;
    const v = Number(text);
    if (!Number.isFinite(v)) this.fail(`float "${text}" is out of range`, start);
    return v;
  }

  private parseDatetime(start: number): Date {
    const text = this.src.slice(start, start + 20);
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(text);
    if (!m) this.fail("expected a datetime in full ISO 8601 Zulu form (2006-01-02T15:04:05Z)", start);
    const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    const date = new Date(0);
    date.setUTCFullYear(y, mo - 1, d);
    date.setUTCHours(h, mi, se, 0);
    if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d ||
        h > 23 || mi > 59 || se > 59) {
      this.fail(`invalid datetime "${text}"`, start);
    }
    this.i = start + 20;
    this.lastValueText = text;
    return date;
  }

  // -- variables --

  private lookupVariable(name: string, at: number): ConfigValue {
    // A bcrypt hash written unquoted ($2a$11$...) is a string, not a variable.
    if (name.startsWith("2a$")) return "$" + name;
    for (let k = this.scopes.length - 1; k >= 0; k--) {
      const m = this.scopes[k]!;
      if (Object.prototype.hasOwnProperty.call(m, name)) {
        markUsed(m, name);
        return m[name]!;
      }
    }
    const env = process.env[name];
    if (env !== undefined) {
      const refs = this.shared.envRefs;
      if (refs.has(name)) this.fail(`variable reference cycle for "$${name}" through the environment`, at);
      if (env.trim() === "") return "";
      refs.add(name);
      try {
        const p = new Parser(`pk=${env}`, `<environment variable ${name}>`, this.shared);
        const m = p.parseTop();
        return m["pk"]!;
      } catch (err) {
        if (err instanceof ConfigError) {
          this.fail(`variable "$${name}": the environment variable could not be parsed: ${err.reason}`, at);
        }
        throw err;
      } finally {
        refs.delete(name);
      }
    }
    this.fail(`unknown variable "$${name}": not defined earlier in this block or an enclosing one, nor in the environment`, at);
  }

  // -- includes --

  private parseInclude(map: ConfigMap, keyStart: number): void {
    this.skipWS();
    const s = this.src;
    const c = this.code();
    let path = "";
    if (c === C_SQ || c === C_DQ) {
      const end = s.indexOf(String.fromCharCode(c), this.i + 1);
      if (end < 0) this.fail("unterminated include path", this.i);
      path = s.slice(this.i + 1, end);
      this.i = end + 1;
    } else {
      if (c < 0 || isNL(c)) this.fail("expected a file name after include", this.i);
      if (c === C_LBRACK || c === C_LBRACE || c === C_LPAREN || isDigit(c) || c === C_MINUS || c === C_BSLASH) {
        this.fail(`expected a file name after include, got ${this.describe()}`, this.i);
      }
      const start = this.i;
      for (;;) {
        const k = this.code();
        if (k < 0 || isNL(k) || isWS(k) || k === C_SEMI || k === C_RBRACE || k === C_SQ) break;
        this.i++;
      }
      path = s.slice(start, this.i);
      if (this.code() === C_SQ) this.i++;
    }
    if (path === "") this.fail("include needs a file name", keyStart);
    const shown = this.file !== undefined && !this.file.startsWith("<") ? join(this.dir, path) : path;
    const abs = resolvePath(shown);
    const where = this.pos(keyStart);
    const stack = this.shared.includeStack;
    let real: string;
    try {
      if (!statSync(abs).isFile()) throw new ConfigError(`include "${path}": ${shown} is not a file`, where);
      real = realpathSync(abs);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`include file "${path}" not found (${shown})`, where);
    }
    if (stack.includes(real)) {
      const rel = (p: string) => relative(process.cwd(), p) || p;
      throw new ConfigError(`include cycle: ${[...stack, real].map(rel).join(" -> ")}`, where);
    }
    if (stack.length >= MAX_INCLUDE_DEPTH) {
      throw new ConfigError(`includes nested too deeply (over ${MAX_INCLUDE_DEPTH})`, where);
    }
    let text: string;
    try {
      text = readFileSync(real, "utf8");
    } catch (err) {
      throw new ConfigError(`include "${path}": cannot read ${shown}: ${(err as Error).message}`, where);
    }
    stack.push(real);
    let sub: ConfigMap;
    try {
      sub = new Parser(text, shown, this.shared).parseTop();
    } finally {
      stack.pop();
    }
    const subPos = positions.get(sub);
    for (const k of Object.keys(sub)) {
      setKey(map, k, sub[k]!);
      const p = subPos?.get(k);
      if (p) setPosition(map, k, p);
      if (isUsedVariable(sub, k)) markUsed(map, k);
    }
  }
}

/** Parse configuration text. `file` names it in positions and anchors relative includes. */
export function parseConfig(text: string, file?: string): ConfigMap {
  const shared: Shared = { includeStack: [], envRefs: new Set() };
  if (file !== undefined && !file.startsWith("<")) {
    try {
      shared.includeStack.push(realpathSync(resolvePath(file)));
    } catch {
      shared.includeStack.push(resolvePath(file));
    }
  }
  return new Parser(text, file, shared).parseTop();
}

/** Read and parse a configuration file. */
export function parseConfigFile(path: string): ConfigMap {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "ENOENT" ? "no such file" : e.code === "EISDIR" ? "is a directory" : e.message;
    throw new ConfigError(`cannot read configuration file ${path}: ${why}`);
  }
  return parseConfig(text, path);
}
