// Push consumers watch whether anyone subscribes to their deliver subject. With one sublist
// listener per consumer, every subscription made or dropped anywhere in the account made every
// push consumer look its deliver subject up again: thousands of key/value watchers turned each
// subscribe into thousands of sublist matches. Here one listener per sublist hears which
// subscription subjects changed and tells only the consumers whose deliver subject they match.

import type { Sublist } from "../core/sublist.js";
import { SubjectFilter } from "./consumer-util.js";

type Watcher = () => void;

class DeliveryWatchers {
  /** deliver subject (wire form) → watchers */
  private readonly bySubject = new Map<string, Set<Watcher>>();
  private unlisten: (() => void) | undefined;

  constructor(private readonly sublist: Sublist) {}

  add(subject: string, w: Watcher): void {
    let set = this.bySubject.get(subject);
    if (set === undefined) this.bySubject.set(subject, (set = new Set()));
    set.add(w);
    this.unlisten ??= this.sublist.onChange((subjects) => this.changed(subjects));
  }

  remove(subject: string, w: Watcher): void {
    const set = this.bySubject.get(subject);
    if (set === undefined || !set.delete(w)) return;
    if (set.size > 0) return;
    this.bySubject.delete(subject);
    if (this.bySubject.size === 0) {
      this.unlisten?.();
      this.unlisten = undefined;
    }
  }

  private changed(subjects: ReadonlySet<string>): void {
    const due = new Set<Watcher>();
    for (const s of subjects) {
      const wild = s.split(".").some((t) => t === "*" || t === ">");
      if (!wild) {
        const set = this.bySubject.get(s);
        if (set !== undefined) for (const w of set) due.add(w);
        continue;
      }
      // a wildcard subscription: the deliver subjects it covers
      const f = new SubjectFilter([s]);
      for (const [subject, set] of this.bySubject) if (f.matches(subject)) for (const w of set) due.add(w);
    }
    for (const w of due) w();
  }
}

const registries = new WeakMap<Sublist, DeliveryWatchers>();

/** Calls `w` after subscriptions that may match `deliverSubject` (wire form) came or went; returns the function that stops it. */
export function watchDeliveryInterest(sublist: Sublist, deliverSubject: string, w: Watcher): () => void {
  let r = registries.get(sublist);
  if (r === undefined) registries.set(sublist, (r = new DeliveryWatchers(sublist)));
  r.add(deliverSubject, w);
  const reg = r;
  return () => reg.remove(deliverSubject, w);
}
