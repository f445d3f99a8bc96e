// Subject transforms (nats-server's subject mapping destinations): a source filter and a
// destination with `$N` / `{{wildcard(N)}}` placeholders and the functions partition, split,
// splitFromLeft/Right, sliceFromLeft/Right, left, right and random. Used by stream
// `subject_transform`, `republish` and source/mirror `subject_transforms`. Error texts are
// nats-server's, since they reach API error descriptions.
// (Candidate for src/core once account `mappings` need it too.)

import { isSubsetMatch } from "./subjects.js";

const ERR_INVALID = "invalid mapping destination";
export const ERR_BAD_SUBJECT = "invalid subject";
const ERR_DEST_SUBJECT = `${ERR_INVALID}: invalid transform`;
const ERR_UNKNOWN_FN = `${ERR_INVALID}: unknown function`;
const ERR_INDEX_RANGE = `${ERR_INVALID}: wildcard index out of range`;
const ERR_NOT_ENOUGH = `${ERR_INVALID}: not enough arguments passed to the function`;
const ERR_BAD_ARG = `${ERR_INVALID}: function argument is invalid or in the wrong format`;
const ERR_TOO_MANY = `${ERR_INVALID}: too many arguments passed to the function`;

export class TransformError extends Error {}

function destErr(err: string, token?: string): TransformError {
  return new TransformError(token ? `${err} in ${token}` : err);
}

const enum Fn {
  None,
  Partition,
  Wildcard,
  SplitFromLeft,
  SplitFromRight,
  SliceFromLeft,
  SliceFromRight,
  Split,
  Left,
  Right,
  Random,
}

const FUNCTIONS: [RegExp, Fn][] = [
  [/{{\s*[wW]ildcard\s*\((.*)\)\s*}}/, Fn.Wildcard],
  [/{{\s*[pP]artition\s*\((.*)\)\s*}}/, Fn.Partition],
  [/{{\s*[sS]plit[fF]rom[lL]eft\s*\((.*)\)\s*}}/, Fn.SplitFromLeft],
  [/{{\s*[sS]plit[fF]rom[rR]ight\s*\((.*)\)\s*}}/, Fn.SplitFromRight],
  [/{{\s*[sS]lice[fF]rom[lL]eft\s*\((.*)\)\s*}}/, Fn.SliceFromLeft],
  [/{{\s*[sS]lice[fF]rom[rR]ight\s*\((.*)\)\s*}}/, Fn.SliceFromRight],
  [/{{\s*[rR]ight\s*\((.*)\)\s*}}/, Fn.Right],
  [/{{\s*[lL]eft\s*\((.*)\)\s*}}/, Fn.Left],
  [/{{\s*[sS]plit\s*\((.*)\)\s*}}/, Fn.Split],
  [/{{\s*[rR]andom\s*\((.*)\)\s*}}/, Fn.Random],
];
/** The functions ValidateMapping recognises (left/right are accepted by the transform only). */
const VALIDATE_FNS = new Set([Fn.Partition, Fn.Wildcard, Fn.SplitFromLeft, Fn.SplitFromRight, Fn.SliceFromLeft, Fn.SliceFromRight, Fn.Split, Fn.Random]);

interface DestToken {
  fn: Fn;
  text: string;
  /** indexes into the source tokens */
  src: number[];
  int: number;
  str: string;
}

function atoi(s: string): number | undefined {
  const t = s.trim();
  if (!/^[+-]?\d+$/.test(t)) return undefined;
  return Number(t);
}

function parseToken(token: string): DestToken {
  const out: DestToken = { fn: Fn.None, text: token, src: [], int: -1, str: "" };
  const n = token.length;
  if (n <= 1) return out;
  if (token[0] === "$") {
    const i = atoi(token.slice(1));
    if (i === undefined || !/^\d+$/.test(token.slice(1))) return out;
    out.fn = Fn.Wildcard;
    out.src = [i];
    return out;
  }
  if (!(n > 4 && token.startsWith("{{") && token.endsWith("}}"))) return out;
  for (const [re, fn] of FUNCTIONS) {
    const m = re.exec(token);
    if (m === null) continue;
    const args = m[1]!.split(/,\s*/);
    switch (fn) {
      case Fn.Wildcard: {
        if (args.length === 1 && args[0] === "") throw destErr(ERR_NOT_ENOUGH, token);
        if (args.length !== 1) throw destErr(ERR_TOO_MANY, token);
        const i = atoi(args[0]!);
        if (i === undefined) throw destErr(ERR_BAD_ARG, token);
        return { ...out, fn, src: [i] };
      }
      case Fn.Partition: {
        const p = atoi(args[0]!);
        if (p === undefined || p > 0x7fffffff) throw destErr(ERR_BAD_ARG, token);
        const src: number[] = [];
        for (const a of args.slice(1)) {
          const i = atoi(a);
          if (i === undefined) throw destErr(ERR_BAD_ARG, token);
          src.push(i);
        }
        return { ...out, fn, src, int: p };
      }
      case Fn.Split: {
        if (args.length < 2) throw destErr(ERR_NOT_ENOUGH, token);
        if (args.length > 2) throw destErr(ERR_TOO_MANY, token);
        const i = atoi(args[0]!);
        if (i === undefined) throw destErr(ERR_BAD_ARG, token);
        if (args[1]!.includes(" ") || args[1]!.includes(".")) throw destErr(ERR_BAD_ARG, token);
        return { ...out, fn, src: [i], str: args[1]! };
      }
      case Fn.Random: {
        if (args.length !== 1) throw destErr(ERR_NOT_ENOUGH, token);
        const p = atoi(args[0]!);
        if (p === undefined || p > 0x7fffffff) throw destErr(ERR_BAD_ARG, token);
        return { ...out, fn, int: p };
      }
      default: {
        if (args.length < 2) throw destErr(ERR_NOT_ENOUGH, token);
        if (args.length > 2) throw destErr(ERR_TOO_MANY, token);
        const i = atoi(args[0]!);
        const v = atoi(args[1]!);
        if (i === undefined || v === undefined || v > 0x7fffffff || v < -0x80000000) throw destErr(ERR_BAD_ARG, token);
        return { ...out, fn, src: [i], int: v };
      }
    }
  }
  throw destErr(ERR_UNKNOWN_FN, token);
}

/** Tokens, wildcard count and whether the subject ends in `>`, or undefined when invalid. */
function subjectInfo(subject: string): { tokens: string[]; pwcs: number; fwc: boolean } | undefined {
  if (subject === "") return undefined;
  const tokens = subject.split(".");
  let pwcs = 0;
  let fwc = false;
  for (const t of tokens) {
    if (t.length === 0 || fwc) return undefined;
    if (t === ">") fwc = true;
    else if (t === "*") pwcs++;
  }
  return { tokens, pwcs, fwc };
}

/** FNV-1a 32-bit, as nats-server's partition() hashes. */
function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class SubjectTransform {
  readonly src: string;
  readonly dest: string;
  private readonly stoks: string[];
  private readonly dtoks: DestToken[];
  private readonly identity: boolean;

  private constructor(src: string, dest: string, stoks: string[], dtoks: DestToken[]) {
    this.src = src;
    this.dest = dest;
    this.stoks = stoks;
    this.dtoks = dtoks;
    this.identity = src === ">" && dest === ">";
  }

  /**
   * Builds a transform; throws TransformError with nats-server's text. An empty `dest` means
   * none (returns undefined); an empty `src` means ">".
   */
  static create(src: string, dest: string): SubjectTransform | undefined {
    if (dest === "") return undefined;
    if (src === "") src = ">";
    const s = subjectInfo(src);
    const d = subjectInfo(dest);
    if (s === undefined || d === undefined || d.pwcs > 0 || s.fwc !== d.fwc) throw new TransformError(ERR_BAD_SUBJECT);
    // which source token each wildcard number refers to
    const sti = new Map<number, number>();
    s.tokens.forEach((t, i) => {
      if (t === "*") sti.set(sti.size + 1, i);
    });
    const dtoks: DestToken[] = [];
    for (const token of d.tokens) {
      const t = parseToken(token);
      if (s.pwcs > 0 || s.fwc) {
        if (t.fn !== Fn.None && t.fn !== Fn.Random) {
          t.src = t.src.map((wi) => {
            if (wi > s.pwcs) throw destErr(ERR_INDEX_RANGE, `${token}: [${wi}]`);
            return sti.get(wi) ?? -1;
          });
        }
      } else if (t.fn !== Fn.None && t.fn !== Fn.Random && t.fn !== Fn.Partition) {
        throw destErr(ERR_INDEX_RANGE, token);
      } else if (t.fn === Fn.Partition) {
        t.src = [];
      }
      dtoks.push(t);
    }
    return new SubjectTransform(src, dest, s.tokens, dtoks);
  }

  /** The transformed subject when `subject` matches the source, else undefined. */
  match(subject: string): string | undefined {
    if (this.identity) return subject;
    const tokens = subject.split(".");
    if (this.src !== ">" && !isSubsetMatch(subject, this.src)) return undefined;
    return this.apply(tokens);
  }

  private apply(tokens: string[]): string {
    const parts: string[] = [];
    const d = this.dtoks;
    for (let i = 0; i < d.length; i++) {
      const t = d[i]!;
      switch (t.fn) {
        case Fn.None:
          if (t.text === ">") {
            parts.push(tokens.slice(this.stoks.length - 1).join("."));
          } else parts.push(t.text);
          break;
        case Fn.Wildcard:
          parts.push(tokens[t.src[0]!] ?? "");
          break;
        case Fn.Partition: {
          const key = t.src.length > 0 ? t.src.map((i) => tokens[i] ?? "").join("") : tokens.join(".");
          parts.push(t.int === 0 ? "0" : String(fnv32a(key) % t.int));
          break;
        }
        case Fn.Random:
          parts.push(t.int === 0 ? "0" : String(Math.floor(Math.random() * 0x7fffffff) % t.int));
          break;
        default:
          parts.push(applyFn(t, tokens[t.src[0]!] ?? ""));
      }
    }
    return parts.join(".");
  }
}

function applyFn(t: DestToken, tok: string): string {
  const len = tok.length;
  const n = t.int;
  switch (t.fn) {
    case Fn.SplitFromLeft:
      return n > 0 && n < len ? `${tok.slice(0, n)}.${tok.slice(n)}` : tok;
    case Fn.SplitFromRight:
      return n > 0 && n < len ? `${tok.slice(0, len - n)}.${tok.slice(len - n)}` : tok;
    case Fn.SliceFromLeft: {
      if (!(n > 0 && n < len)) return tok;
      const out: string[] = [];
      for (let i = 0; i < len; i += n) out.push(tok.slice(i, i + n));
      return out.join(".");
    }
    case Fn.SliceFromRight: {
      if (!(n > 0 && n < len)) return tok;
      const out: string[] = [];
      const rem = len % n;
      if (rem > 0) out.push(tok.slice(0, rem));
      for (let i = rem; i < len; i += n) out.push(tok.slice(i, i + n));
      return out.join(".");
    }
    case Fn.Split:
      return tok.split(t.str).filter((s) => s !== "").join(".");
    case Fn.Left:
      return n > 0 && n < len ? tok.slice(0, n) : tok;
    case Fn.Right:
      return n > 0 && n < len ? tok.slice(len - n) : tok;
    default:
      return tok;
  }
}

/** nats-server's ValidateMapping: the destination's tokens, then the transform itself. Throws TransformError. */
export function validateMapping(src: string, dest: string): void {
  if (dest === "") return;
  let fwc = false;
  for (const t of dest.split(".")) {
    const n = t.length;
    if (n === 0 || fwc) throw destErr(ERR_DEST_SUBJECT, t);
    if (n > 4 && t.startsWith("{{") && t.endsWith("}}")) {
      const known = FUNCTIONS.some(([re, fn]) => VALIDATE_FNS.has(fn) && re.test(t));
      if (!known) throw destErr(ERR_UNKNOWN_FN, t);
      continue;
    }
    if (t === ">") fwc = true;
    else if (/[\t\n\f\r ]/.test(t)) throw new TransformError(ERR_DEST_SUBJECT);
  }
  SubjectTransform.create(src, dest);
}
