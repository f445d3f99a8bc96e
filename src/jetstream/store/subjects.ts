// Subject filters and the per-subject index (nats-server's fss/psim: count, first and last sequence
// per subject). First and last stay exact: the sequence index links the messages of a subject.

/** A compiled set of subject filters (one or many; wildcards allowed). */
export class Filter {
  readonly all: boolean;
  readonly literals: Set<string>;
  readonly patterns: string[][];
  /** The single literal subject when the filter is exactly one literal (fast paths). */
  readonly literal: string | undefined;

  constructor(filter: string | readonly string[] | undefined) {
    const list = filter === undefined ? [] : typeof filter === "string" ? [filter] : filter;
    this.literals = new Set();
    this.patterns = [];
    let all = list.length === 0;
    for (const f of list) {
      if (f === "" || f === ">") {
        all = true;
        continue;
      }
      const toks = f.split(".");
      if (toks.some((t) => t === "*" || t === ">")) this.patterns.push(toks);
      else this.literals.add(f);
    }
    this.all = all;
    this.literal = !all && this.patterns.length === 0 && this.literals.size === 1 ? [...this.literals][0] : undefined;
  }

  private cacheInfo: (SubjectInfo | undefined)[] = [];
  private cacheRes = new Uint8Array(64);

  /** matches(), remembered per subject id (ids are reused, so the SubjectInfo identity is checked). */
  matchInfo(info: SubjectInfo): boolean {
    if (this.all) return true;
    const id = info.id;
    if (this.cacheInfo[id] === info) return this.cacheRes[id] === 1;
    const r = this.matches(info.name);
    if (id >= this.cacheRes.length) {
      const n = new Uint8Array(Math.max(id + 1, this.cacheRes.length * 2));
      n.set(this.cacheRes);
      this.cacheRes = n;
    }
    this.cacheInfo[id] = info;
    this.cacheRes[id] = r ? 1 : 0;
    return r;
  }

  matches(subject: string): boolean {
    if (this.all) return true;
    if (this.literals.has(subject)) return true;
    for (const p of this.patterns) if (matchTokens(p, subject)) return true;
    return false;
  }
}

/** Does the literal subject match the tokenized pattern? No allocation. */
export function matchTokens(pattern: readonly string[], subject: string): boolean {
  let pos = 0;
  const n = subject.length;
  for (let i = 0; i < pattern.length; i++) {
    const t = pattern[i];
    if (pos > n) return false; // ran out of subject tokens
    if (t === ">") return pos < n;
    let end = subject.indexOf(".", pos);
    if (end < 0) end = n;
    if (t !== "*") {
      if (end - pos !== t.length || !subject.startsWith(t, pos)) return false;
    } else if (end === pos) return false;
    pos = end + 1;
  }
  return pos === n + 1;
}

export class SubjectInfo {
  constructor(
    readonly id: number,
    readonly name: string,
    public msgs: number,
    public first: number,
    public last: number,
  ) {}
}

/** Subject name <-> small integer id (ids are reused once a subject has no messages), with per-subject state. */
export class SubjectIndex {
  private readonly map = new Map<string, SubjectInfo>();
  private readonly ids: (SubjectInfo | undefined)[] = [undefined]; // id 0 = no message
  private readonly free: number[] = [];

  get size(): number {
    return this.map.size;
  }

  /** One past the largest id in use (for per-id caches). */
  get idLimit(): number {
    return this.ids.length;
  }

  get(name: string): SubjectInfo | undefined {
    return this.map.get(name);
  }

  byId(id: number): SubjectInfo | undefined {
    return this.ids[id];
  }

  /** Count a new message on the subject (the newest one). */
  add(name: string, seq: number): SubjectInfo {
    let info = this.map.get(name);
    if (info !== undefined) {
      info.msgs++;
      // Messages are added in sequence order (appends, or recovery).
      info.last = seq;
      return info;
    }
    const id = this.free.length > 0 ? this.free.pop()! : this.ids.length;
    info = new SubjectInfo(id, name, 1, seq, seq);
    this.ids[id] = info;
    this.map.set(name, info);
    return info;
  }

  /**
   * Uncount a message whose neighbours on the subject are prev and next (0 = none); returns true
   * when the subject has no messages left.
   */
  remove(info: SubjectInfo, seq: number, prev: number, next: number): boolean {
    if (info.msgs <= 1) {
      this.map.delete(info.name);
      this.ids[info.id] = undefined;
      this.free.push(info.id);
      info.msgs = 0;
      return true;
    }
    info.msgs--;
    if (seq === info.first) info.first = next;
    if (seq === info.last) info.last = prev;
    return false;
  }

  clear(): void {
    this.map.clear();
    this.ids.length = 1;
    this.free.length = 0;
  }

  values(): IterableIterator<SubjectInfo> {
    return this.map.values();
  }

  /** Every subject matching the filter. Literal filters are looked up, wildcards scan the subjects. */
  forEachMatch(filter: Filter, fn: (info: SubjectInfo) => void): void {
    if (filter.all) {
      for (const info of this.map.values()) fn(info);
      return;
    }
    if (filter.patterns.length === 0) {
      for (const s of filter.literals) {
        const info = this.map.get(s);
        if (info !== undefined) fn(info);
      }
      return;
    }
    for (const info of this.map.values()) if (filter.matches(info.name)) fn(info);
  }
}
