// Pre-serialised protocol frames for the publishing side: one Buffer holding many copies
// of the same `PUB` frame, written to the socket as large slices of itself.

/** A payload of `size` printable bytes (deterministic, so runs are comparable). */
export function makePayload(size: number): Buffer {
  const p = Buffer.alloc(size);
  for (let i = 0; i < size; i++) p[i] = 97 + (i % 26);
  return p;
}

/** One `PUB <subject> [reply] <size>\r\n<payload>\r\n` frame. */
export function pubFrame(subject: string, payload: Uint8Array, reply?: string): Buffer {
  const head = Buffer.from(reply ? `PUB ${subject} ${reply} ${payload.length}\r\n` : `PUB ${subject} ${payload.length}\r\n`, "latin1");
  const f = Buffer.allocUnsafe(head.length + payload.length + 2);
  head.copy(f, 0);
  f.set(payload, head.length);
  f[f.length - 2] = 13;
  f[f.length - 1] = 10;
  return f;
}

/**
 * A batch of `count` identical frames back to back. Its length is a whole number of frames,
 * so any prefix of `k * frame.length` bytes is exactly `k` messages.
 */
export function frameBatch(frame: Uint8Array, count: number): Buffer {
  const b = Buffer.allocUnsafe(frame.length * count);
  b.set(frame, 0);
  // Doubling copies: log2(count) memcpy calls instead of `count`.
  let filled = frame.length;
  while (filled < b.length) {
    const n = Math.min(filled, b.length - filled);
    b.copyWithin(filled, 0, n);
    filled += n;
  }
  return b;
}

/** How many frames of `frameLen` bytes to put in one batch: about `targetBytes`, at least 1. */
export function framesPerBatch(frameLen: number, targetBytes = 4 * 1024 * 1024): number {
  return Math.max(1, Math.floor(targetBytes / frameLen));
}
