// The sublist: a trie of subject tokens holding subscriptions, with `*` and `>` nodes and
// queue subscribers kept apart from plain ones, plus a bounded cache of match results per
// literal subject. Any insert or remove bumps the generation and empties the cache.
import type { Subscription } from "./client.js";

interface Node {
  next: Level | null;
  psubs: Set<Subscription>;
  /** queue name → members */
  qsubs: Map<string, Set<Subscription>> | null;
}

interface Level {
  nodes: Map<string, Node>;
  pwc: Node | null;
  fwc: Node | null;
}

export interface MatchResult {
  /** plain subscribers: each gets a copy */
  readonly psubs: Subscription[];
  /** queue groups: each group gets one copy, delivered to one member */
  readonly qsubs: Subscription[][];
}

export interface SublistStats {
  num_subscriptions: number;
  num_cache: number;
  num_inserts: number;
  num_removes: number;
  num_matches: number;
  cache_hit_rate: number;
  max_fanout: number;
  avg_fanout: number;
}

const EMPTY: MatchResult = Object.freeze({ psubs: [], qsubs: [] }) as MatchResult;
const DEFAULT_CACHE_SIZE = 1024;
const DOORKEEPER_SLOTS = 4096;

function newLevel(): Level {
  return { nodes: new Map(), pwc: null, fwc: null };
}

function newNode(): Node {
  return { next: null, psubs: new Set(), qsubs: null };
}

function nodeIsEmpty(n: Node): boolean {
  return n.psubs.size === 0 && (n.qsubs === null || n.qsubs.size === 0) && (n.next === null || levelIsEmpty(n.next));
}

function levelIsEmpty(l: Level): boolean {
  return l.nodes.size === 0 && l.pwc === null && l.fwc === null;
}

export class Sublist {
  private root: Level = newLevel();
  private cache: Map<string, MatchResult> | null;
  private readonly cacheMax: number;
  private count = 0;
  /** bumped on every change; lets holders of a MatchResult know it may be stale */
  genid = 0;
  private inserts = 0;
  private removes = 0;
  private matches = 0;
  private cacheHits = 0;
  private maxFanout = 0;
  private totalFanout = 0;
  private cachedResults = 0;
  private readonly doorkeeper = new Int32Array(DOORKEEPER_SLOTS);
  /** told after changes, once per turn of changes (interest watchers such as push consumers) */
  private listeners: ((subjects: ReadonlySet<string>) => void)[] = [];
  private notifying = false;
  /** subjects of the subscriptions added or removed since the listeners were last told */
  private changedSubjects = new Set<string>();

  constructor(opts: { cache?: boolean; cacheSize?: number } = {}) {
    this.cache = opts.cache === false ? null : new Map();
    this.cacheMax = opts.cacheSize ?? DEFAULT_CACHE_SIZE;
  }

  get size(): number {
    return this.count;
  }

  insert(sub: Subscription): void {
    const tokens = sub.subject.split(".");
    let level = this.root;
    let node: Node | null = null;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t === "*") {
        node = level.pwc ??= newNode();
      } else if (t === ">") {
        node = level.fwc ??= newNode();
      } else {
        node = level.nodes.get(t) ?? null;
        if (node === null) {
          node = newNode();
          level.nodes.set(t, node);
        }
      }
      if (i < tokens.length - 1) level = node.next ??= newLevel();
    }
    const n = node!;
    if (sub.queue === undefined) {
      if (n.psubs.has(sub)) return;
      n.psubs.add(sub);
    } else {
      n.qsubs ??= new Map();
      let members = n.qsubs.get(sub.queue);
      if (!members) {
        members = new Set();
        n.qsubs.set(sub.queue, members);
      }
      if (members.has(sub)) return;
      members.add(sub);
    }
    this.count++;
    this.inserts++;
    this.changed(sub.subject);
  }

  /** Returns false when the subscription was not there. */
  remove(sub: Subscription): boolean {
    const tokens = sub.subject.split(".");
    const path: { level: Level; token: string; node: Node }[] = [];
    let level: Level | null = this.root;
    let node: Node | null = null;
    for (let i = 0; i < tokens.length; i++) {
      if (level === null) return false;
      const t = tokens[i];
      node = t === "*" ? level.pwc : t === ">" ? level.fwc : level.nodes.get(t) ?? null;
      if (node === null) return false;
      path.push({ level, token: t, node });
      level = node.next;
    }
    const n = node!;
    if (sub.queue === undefined) {
      if (!n.psubs.delete(sub)) return false;
    } else {
      const members = n.qsubs?.get(sub.queue);
      if (!members || !members.delete(sub)) return false;
      if (members.size === 0) n.qsubs!.delete(sub.queue);
    }
    // prune empty nodes so that churn (inboxes) does not grow the trie
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i];
      if (p.node.next !== null && levelIsEmpty(p.node.next)) p.node.next = null;
      if (!nodeIsEmpty(p.node)) break;
      if (p.token === "*") p.level.pwc = null;
      else if (p.token === ">") p.level.fwc = null;
      else p.level.nodes.delete(p.token);
    }
    this.count--;
    this.removes++;
    this.changed(sub.subject);
    return true;
  }

  private changed(subject: string): void {
    this.genid++;
    if (this.cache !== null && this.cache.size > 0) this.cache.clear();
    if (this.listeners.length === 0) return;
    this.changedSubjects.add(subject);
    if (!this.notifying) {
      this.notifying = true;
      queueMicrotask(() => {
        this.notifying = false;
        const subjects = this.changedSubjects;
        this.changedSubjects = new Set();
        for (const fn of [...this.listeners]) fn(subjects);
      });
    }
  }

  /** Calls `fn` after the subscriptions change (batched per turn) with the subjects of the subscriptions that came or went; returns the function that stops it. */
  onChange(fn: (subjects: ReadonlySet<string>) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** All subscriptions whose subject matches the literal `subject`. */
  match(subject: string): MatchResult {
    this.matches++;
    const cache = this.cache;
    if (cache !== null) {
      const hit = cache.get(subject);
      if (hit !== undefined) {
        this.cacheHits++;
        return hit;
      }
    }
    const acc: Acc = { psubs: [], qgroups: null };
    matchLevel(this.root, subject, 0, acc);
    const psubs = acc.psubs;
    const qgroups = acc.qgroups;
    let result: MatchResult;
    if (psubs.length === 0 && qgroups === null) result = EMPTY;
    else result = { psubs, qsubs: qgroups === null ? [] : [...qgroups.values()] };
    const fanout = psubs.length + (qgroups === null ? 0 : qgroups.size);
    if (fanout > this.maxFanout) this.maxFanout = fanout;
    this.totalFanout += fanout;
    this.cachedResults++;
    if (cache !== null && this.admit(subject)) {
      if (cache.size >= this.cacheMax) {
        // drop the oldest quarter (a Map iterates in insertion order)
        let drop = this.cacheMax >> 2;
        for (const k of cache.keys()) {
          cache.delete(k);
          if (--drop <= 0) break;
        }
      }
      cache.set(subject, result);
    }
    return result;
  }

  /**
   * A subject enters the cache on its second miss within a while. Unique subjects (inboxes, ack
   * subjects, keys of direct gets) would otherwise fill the cache with results that are never
   * asked for again, evicting useful ones and leaving garbage that outlives the young generation:
   * cache misses on unique subjects ran 3–5× slower with unconditional caching. The doorkeeper
   * is a table of subject hashes, so it retains no objects.
   */
  private admit(subject: string): boolean {
    let h = 0x811c9dc5;
    for (let i = 0; i < subject.length; i++) h = Math.imul(h ^ subject.charCodeAt(i), 0x01000193);
    const slot = (h >>> 0) & (DOORKEEPER_SLOTS - 1);
    const seen = this.doorkeeper[slot] === h;
    this.doorkeeper[slot] = seen ? 0 : h;
    return seen;
  }

  /** True when some subscription matches `subject`. */
  hasInterest(subject: string): boolean {
    const r = this.match(subject);
    return r.psubs.length > 0 || r.qsubs.length > 0;
  }

  stats(): SublistStats {
    return {
      num_subscriptions: this.count,
      num_cache: this.cache?.size ?? 0,
      num_inserts: this.inserts,
      num_removes: this.removes,
      num_matches: this.matches,
      cache_hit_rate: this.matches === 0 ? 0 : this.cacheHits / this.matches,
      max_fanout: this.maxFanout,
      avg_fanout: this.cachedResults === 0 ? 0 : this.totalFanout / this.cachedResults,
    };
  }

  /** Every subscription, for monitoring. */
  all(): Subscription[] {
    const out: Subscription[] = [];
    const walk = (l: Level) => {
      const visit = (n: Node) => {
        for (const s of n.psubs) out.push(s);
        if (n.qsubs) for (const m of n.qsubs.values()) for (const s of m) out.push(s);
        if (n.next) walk(n.next);
      };
      for (const n of l.nodes.values()) visit(n);
      if (l.pwc) visit(l.pwc);
      if (l.fwc) visit(l.fwc);
    };
    walk(this.root);
    return out;
  }
}

/** What one match gathers; the queue-group map is made only when a queue subscriber matches. */
interface Acc {
  psubs: Subscription[];
  qgroups: Map<string, Subscription[]> | null;
}

function collect(n: Node, acc: Acc): void {
  for (const s of n.psubs) acc.psubs.push(s);
  if (n.qsubs !== null && n.qsubs.size > 0) {
    const qgroups = (acc.qgroups ??= new Map());
    for (const [q, members] of n.qsubs) {
      let g = qgroups.get(q);
      if (!g) {
        g = [];
        qgroups.set(q, g);
      }
      for (const s of members) g.push(s);
    }
  }
}

// Walks the subject in place rather than splitting it: most misses are unique subjects (inboxes,
// ack subjects, keys) whose tokens are looked up once, so the token array was pure garbage.
function matchLevel(level: Level, subject: string, start: number, acc: Acc): void {
  const dot = subject.indexOf(".", start);
  const last = dot < 0;
  if (level.fwc !== null) collect(level.fwc, acc);
  if (level.pwc !== null) {
    if (last) collect(level.pwc, acc);
    else if (level.pwc.next !== null) matchLevel(level.pwc.next, subject, dot + 1, acc);
  }
  if (level.nodes.size === 0) return;
  const n = level.nodes.get(last ? (start === 0 ? subject : subject.slice(start)) : subject.slice(start, dot));
  if (n !== undefined) {
    if (last) collect(n, acc);
    else if (n.next !== null) matchLevel(n.next, subject, dot + 1, acc);
  }
}
