// The consumers of a stream indexed by their filter subjects, so that a stored or removed message
// is offered only to the consumers that take its subject (nats-server keeps a sublist of consumer
// filters per stream for the same reason). Thousands of key/value watchers, each filtered to one
// key, would otherwise each be asked about every put.
//
// Consumers without a filter (or with `>`) take everything; literal filters go in a map; filters
// with wildcards go in a token trie with `*` and `>` branches. A consumer with several filters that
// overlap is reported once per match.

interface Level<T> {
  nodes: Map<string, TrieNode<T>>;
  pwc: TrieNode<T> | undefined;
  fwc: TrieNode<T> | undefined;
}

interface TrieNode<T> {
  items: Set<T> | undefined;
  next: Level<T> | undefined;
}

function newLevel<T>(): Level<T> {
  return { nodes: new Map(), pwc: undefined, fwc: undefined };
}

function isWild(filter: string): boolean {
  return filter.split(".").some((t) => t === "*" || t === ">");
}

export class FilterIndex<T> {
  /** items taking every subject */
  private readonly all = new Set<T>();
  private readonly literals = new Map<string, Set<T>>();
  private readonly root: Level<T> = newLevel();
  private wildCount = 0;
  /** the filters each item was added with */
  private readonly filtersOf = new Map<T, readonly string[]>();
  /** items with more than one filter: a match may reach them twice */
  private multi = 0;

  get size(): number {
    return this.filtersOf.size;
  }

  /** Adds `item` under its filters (wire subjects; none means every subject). */
  add(item: T, filters: readonly string[]): void {
    if (this.filtersOf.has(item)) this.remove(item);
    const fs = filters.length === 0 || filters.includes(">") ? [] : [...new Set(filters)];
    this.filtersOf.set(item, fs);
    if (fs.length === 0) {
      this.all.add(item);
      return;
    }
    if (fs.length > 1) this.multi++;
    for (const f of fs) {
      if (!isWild(f)) {
        let s = this.literals.get(f);
        if (s === undefined) this.literals.set(f, (s = new Set()));
        s.add(item);
        continue;
      }
      this.wildCount++;
      const tokens = f.split(".");
      let level = this.root;
      let node: TrieNode<T> | undefined;
      for (let i = 0; i < tokens.length; i++) {
        const t = tokens[i]!;
        if (t === "*") node = level.pwc ??= { items: undefined, next: undefined };
        else if (t === ">") node = level.fwc ??= { items: undefined, next: undefined };
        else {
          node = level.nodes.get(t);
          if (node === undefined) level.nodes.set(t, (node = { items: undefined, next: undefined }));
        }
        if (i < tokens.length - 1) level = node.next ??= newLevel();
      }
      (node!.items ??= new Set()).add(item);
    }
  }

  remove(item: T): void {
    const fs = this.filtersOf.get(item);
    if (fs === undefined) return;
    this.filtersOf.delete(item);
    if (fs.length === 0) {
      this.all.delete(item);
      return;
    }
    if (fs.length > 1) this.multi--;
    for (const f of fs) {
      if (!isWild(f)) {
        const s = this.literals.get(f);
        if (s !== undefined && s.delete(item) && s.size === 0) this.literals.delete(f);
        continue;
      }
      this.wildCount--;
      this.removeWild(this.root, f.split("."), 0, item);
    }
  }

  /** Removes `item` from the trie path of `tokens`; true when the level below became empty. */
  private removeWild(level: Level<T>, tokens: string[], i: number, item: T): boolean {
    const t = tokens[i]!;
    const node = t === "*" ? level.pwc : t === ">" ? level.fwc : level.nodes.get(t);
    if (node === undefined) return false;
    if (i === tokens.length - 1) node.items?.delete(item);
    else if (node.next !== undefined && this.removeWild(node.next, tokens, i + 1, item)) node.next = undefined;
    if ((node.items === undefined || node.items.size === 0) && node.next === undefined) {
      if (t === "*") level.pwc = undefined;
      else if (t === ">") level.fwc = undefined;
      else level.nodes.delete(t);
    }
    return level.nodes.size === 0 && level.pwc === undefined && level.fwc === undefined;
  }

  clear(): void {
    this.all.clear();
    this.literals.clear();
    this.filtersOf.clear();
    this.root.nodes.clear();
    this.root.pwc = this.root.fwc = undefined;
    this.wildCount = 0;
    this.multi = 0;
  }

  /** The items whose filters match the literal `subject`, each once (a new array: safe to act on while items come and go). */
  match(subject: string): T[] {
    const out: T[] = [];
    for (const x of this.all) out.push(x);
    const lit = this.literals.get(subject);
    if (lit !== undefined) for (const x of lit) out.push(x);
    if (this.wildCount > 0) matchLevel(this.root, subject.split("."), 0, out);
    if (this.multi > 0 && out.length > 1) return [...new Set(out)];
    return out;
  }

  /** Does any item take `subject`? */
  has(subject: string): boolean {
    if (this.all.size > 0 || this.literals.has(subject)) return true;
    if (this.wildCount === 0) return false;
    const out: T[] = [];
    matchLevel(this.root, subject.split("."), 0, out);
    return out.length > 0;
  }
}

function matchLevel<T>(level: Level<T>, tokens: string[], i: number, out: T[]): void {
  if (level.fwc?.items !== undefined) for (const x of level.fwc.items) out.push(x);
  const last = i === tokens.length - 1;
  const pwc = level.pwc;
  if (pwc !== undefined) {
    if (last) {
      if (pwc.items !== undefined) for (const x of pwc.items) out.push(x);
    } else if (pwc.next !== undefined) matchLevel(pwc.next, tokens, i + 1, out);
  }
  const node = level.nodes.get(tokens[i]!);
  if (node !== undefined) {
    if (last) {
      if (node.items !== undefined) for (const x of node.items) out.push(x);
    } else if (node.next !== undefined) matchLevel(node.next, tokens, i + 1, out);
  }
}
