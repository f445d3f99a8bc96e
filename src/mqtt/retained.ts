// Retained messages of an account, indexed by subject token so that a SUBSCRIBE visits only the
// retained messages its filter can match instead of scanning them all: a trie of subject levels
// (the NATS form of the topic, as the sublist keeps it). A subscription's subject pattern walks
// the trie: a literal token follows one child, `*` every child, `>` every descendant.
import type { Properties } from "./packets.js";

export interface Retained {
  /** byte string */
  topic: string;
  subject: string;
  qos: number;
  payload: Buffer;
  props: Properties | undefined;
  /** 0 = never */
  expiresAt: number;
  seq: number;
}

interface Node {
  children: Map<string, Node> | null;
  value: Retained | undefined;
}

function newNode(): Node {
  return { children: null, value: undefined };
}

const DOLLAR = 36;

export class RetainedIndex {
  private readonly root: Node = newNode();
  private readonly bySubject = new Map<string, Retained>();
  /** those with a message expiry (swept now and then: a SUBSCRIBE only meets the ones it matches) */
  private readonly expiring = new Set<Retained>();

  get size(): number {
    return this.bySubject.size;
  }

  get(subject: string): Retained | undefined {
    return this.bySubject.get(subject);
  }

  values(): IterableIterator<Retained> {
    return this.bySubject.values();
  }

  set(subject: string, r: Retained): void {
    const old = this.bySubject.get(subject);
    const had = old !== undefined;
    if (had) this.expiring.delete(old);
    if (r.expiresAt !== 0) this.expiring.add(r);
    this.bySubject.set(subject, r);
    let n = this.root;
    if (had) {
      // the path exists: replace the value where it sits
      for (const t of subject.split(".")) n = n.children!.get(t)!;
      n.value = r;
      return;
    }
    for (const t of subject.split(".")) {
      const kids = (n.children ??= new Map());
      let c = kids.get(t);
      if (c === undefined) {
        c = newNode();
        kids.set(t, c);
      }
      n = c;
    }
    n.value = r;
  }

  delete(subject: string): boolean {
    const old = this.bySubject.get(subject);
    if (old === undefined) return false;
    this.bySubject.delete(subject);
    this.expiring.delete(old);
    const toks = subject.split(".");
    const path: Node[] = [this.root];
    let n = this.root;
    for (const t of toks) {
      n = n.children!.get(t)!;
      path.push(n);
    }
    n.value = undefined;
    // prune the levels nothing hangs from any more
    for (let i = toks.length; i > 0; i--) {
      const node = path[i]!;
      if (node.value !== undefined || (node.children !== null && node.children.size > 0)) break;
      const parent = path[i - 1]!;
      parent.children!.delete(toks[i - 1]!);
      if (parent.children!.size === 0) parent.children = null;
    }
    return true;
  }

  /** The retained messages whose expiry has passed. */
  expired(now: number): Retained[] {
    const out: Retained[] = [];
    for (const r of this.expiring) if (r.expiresAt <= now) out.push(r);
    return out;
  }

  /**
   * The retained messages whose subject a subscription subject (`*`, `>` allowed) matches.
   * `noDollarFirst`: a filter starting with a wildcard does not match topics starting with `$`
   * [MQTT-4.7.2-1]. Iterative: a topic may have thousands of levels.
   */
  match(pattern: string, noDollarFirst: boolean): Retained[] {
    const out: Retained[] = [];
    const toks = pattern.split(".");
    const stack: { n: Node; i: number }[] = [{ n: this.root, i: 0 }];
    while (stack.length > 0) {
      const { n, i } = stack.pop()!;
      if (i === toks.length) {
        if (n.value !== undefined) out.push(n.value);
        continue;
      }
      const kids = n.children;
      if (kids === null) continue;
      const t = toks[i]!;
      const skipDollar = noDollarFirst && i === 0;
      if (t === ">") {
        for (const [k, c] of kids) if (!(skipDollar && k.charCodeAt(0) === DOLLAR)) collect(c, out);
      } else if (t === "*") {
        for (const [k, c] of kids) if (!(skipDollar && k.charCodeAt(0) === DOLLAR)) stack.push({ n: c, i: i + 1 });
      } else {
        const c = kids.get(t);
        if (c !== undefined) stack.push({ n: c, i: i + 1 });
      }
    }
    return out;
  }
}

/** Every value at or below a node. */
function collect(from: Node, out: Retained[]): void {
  const stack = [from];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.value !== undefined) out.push(n.value);
    if (n.children !== null) for (const c of n.children.values()) stack.push(c);
  }
}
