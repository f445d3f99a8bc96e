import { createHash, timingSafeEqual } from "node:crypto";

/** Constant-time comparison of secrets, so the check is no timing oracle (lengths are hashed away). */
export function secretEquals(given: string | undefined, expected: string): boolean {
  const a = createHash("sha256").update(given ?? "").digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given !== undefined;
}
