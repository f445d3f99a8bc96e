// Publish and subscribe permissions of a user, compiled once and shared by all of the user's
// connections. Allow and deny lists are sublists of patterns; a subject (possibly with
// wildcards) is matched against them token by token, as nats-server does, so a wildcard
// subscription is allowed only where an allowed pattern covers it. Publish decisions are
// cached per subject because they sit on the hot path.
import { newSubscription, type Client, type Subscription } from "../core/client.js";
import { Sublist } from "../core/sublist.js";
import { subjectMatches } from "../core/subject.js";
import type { ResolvedPermissions, SubjectPermission } from "../config/options.js";

/** The owner of the pattern entries in permission sublists (never delivered to). */
const PATTERN_OWNER: Client = { cid: 0, kind: "internal", echo: true, deliver() {} };
const CACHE_MAX = 1024;

function compile(patterns: string[] | undefined, withQueues: boolean): Sublist | null {
  if (patterns === undefined) return null;
  const sl = new Sublist();
  let n = 0;
  for (const p of patterns) {
    const parts = p.trim().split(/\s+/);
    const subject = parts[0]!;
    const queue = withQueues && parts.length > 1 ? parts[1] : undefined;
    sl.insert(newSubscription(PATTERN_OWNER, subject, String(n++), queue));
  }
  return sl;
}

/** Does `queue` match one of the queue groups (by name, or by a wildcard queue pattern)? */
function queueMatches(queue: string, groups: readonly Subscription[][]): boolean {
  for (const g of groups) {
    const q = g[0]!.queue!;
    if (q === queue) return true;
    if ((q.includes("*") || q.includes(">")) && subjectMatches(q, queue)) return true;
  }
  return false;
}

/** Could a message on some subject match both `a` and `b`? */
export function subjectsCollide(a: string, b: string): boolean {
  const x = a.split(".");
  const y = b.split(".");
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const s = x[i];
    const t = y[i];
    if (s === ">" || t === ">") return true;
    if (s === undefined || t === undefined) return false;
    if (s !== "*" && t !== "*" && s !== t) return false;
  }
  return true;
}

export class PermissionSet {
  readonly responses: { max: number; expiresMs: number } | undefined;
  private readonly pubAllow: Sublist | null;
  private readonly pubDeny: Sublist | null;
  private readonly subAllow: Sublist | null;
  private readonly subDeny: Sublist | null;
  private readonly denyPatterns: string[];
  private readonly pubCache = new Map<string, boolean>();
  private readonly deliverCache = new Map<string, boolean>();

  constructor(p: ResolvedPermissions) {
    let publish: SubjectPermission | undefined = p.publish;
    if (p.allow_responses) {
      this.responses = { max: p.allow_responses.max, expiresMs: p.allow_responses.expires_ms };
      // nats-server: allowing responses turns off the blanket publish allow
      publish = { ...publish, allow: publish?.allow ?? [] };
    }
    this.pubAllow = compile(publish?.allow, false);
    this.pubDeny = compile(publish?.deny, false);
    this.subAllow = compile(p.subscribe?.allow, true);
    this.subDeny = compile(p.subscribe?.deny, true);
    this.denyPatterns = (p.subscribe?.deny ?? []).map((d) => d.trim().split(/\s+/)[0]!);
  }

  canPublish(subject: string): boolean {
    const hit = this.pubCache.get(subject);
    if (hit !== undefined) return hit;
    let ok = true;
    if (this.pubAllow !== null) {
      const r = this.pubAllow.match(subject);
      ok = r.psubs.length > 0;
    }
    if (ok && this.pubDeny !== null) ok = this.pubDeny.match(subject).psubs.length === 0;
    remember(this.pubCache, subject, ok);
    return ok;
  }

  canSubscribe(subject: string, queue?: string): boolean {
    let ok = true;
    if (this.subAllow !== null) {
      const r = this.subAllow.match(subject);
      ok = r.psubs.length > 0;
      if (queue !== undefined && r.qsubs.length > 0) ok = queueMatches(queue, r.qsubs);
    }
    if (ok && this.subDeny !== null) {
      const r = this.subDeny.match(subject);
      ok = r.psubs.length === 0;
      if (ok && queue !== undefined && r.qsubs.length > 0) ok = !queueMatches(queue, r.qsubs);
    }
    return ok;
  }

  /**
   * A wildcard (or queue) subscription that overlaps a deny entry is allowed, but the denied
   * subjects must be filtered out when messages are delivered to it.
   */
  needsDeliveryFilter(subject: string, queue?: string): boolean {
    if (this.denyPatterns.length === 0) return false;
    if (queue === undefined && !/(^|\.)[*>](\.|$)/.test(subject)) return false;
    return this.denyPatterns.some((d) => subjectsCollide(d, subject));
  }

  /** For a filtered subscription: may a message on this literal subject be delivered? */
  canDeliver(subject: string): boolean {
    const hit = this.deliverCache.get(subject);
    if (hit !== undefined) return hit;
    const ok = this.subDeny === null || this.subDeny.match(subject).psubs.length === 0;
    remember(this.deliverCache, subject, ok);
    return ok;
  }
}

function remember(cache: Map<string, boolean>, k: string, v: boolean): void {
  if (cache.size >= CACHE_MAX) {
    let drop = CACHE_MAX >> 2;
    for (const key of cache.keys()) {
      cache.delete(key);
      if (--drop <= 0) break;
    }
  }
  cache.set(k, v);
}
