// A binary min-heap of (deadline ms, sequence) pairs for per-message TTLs. Entries are removed
// lazily: the store checks that the message still exists with that deadline when one comes due.

export class DeadlineHeap {
  private at: number[] = [];
  private seq: number[] = [];

  get size(): number {
    return this.at.length;
  }

  clear(): void {
    this.at = [];
    this.seq = [];
  }

  push(at: number, seq: number): void {
    const a = this.at;
    const s = this.seq;
    let i = a.length;
    a.push(at);
    s.push(seq);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= at) break;
      a[i] = a[p];
      s[i] = s[p];
      i = p;
    }
    a[i] = at;
    s[i] = seq;
  }

  peekAt(): number {
    return this.at.length > 0 ? this.at[0] : Infinity;
  }

  peekSeq(): number {
    return this.seq[0];
  }

  pop(): void {
    const a = this.at;
    const s = this.seq;
    const lastAt = a.pop()!;
    const lastSeq = s.pop()!;
    const n = a.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && a[c + 1] < a[c]) c++;
      if (a[c] >= lastAt) break;
      a[i] = a[c];
      s[i] = s[c];
      i = c;
    }
    a[i] = lastAt;
    s[i] = lastSeq;
  }
}
