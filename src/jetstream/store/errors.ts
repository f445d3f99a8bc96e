// Store errors carry nats-server's texts (server/store.go), so the API layer can map them.

export type StoreErrorCode =
  | "MAX_MSGS"
  | "MAX_BYTES"
  | "MAX_MSGS_PER_SUBJECT"
  | "MSG_TOO_LARGE"
  | "SEQUENCE_MISMATCH"
  | "TOO_MANY_RESULTS"
  | "CLOSED"
  | "BAD_CONFIG"
  | "WRITE_FAILED";

const TEXTS: Record<StoreErrorCode, string> = {
  MAX_MSGS: "maximum messages exceeded",
  MAX_BYTES: "maximum bytes exceeded",
  MAX_MSGS_PER_SUBJECT: "maximum messages per subject exceeded",
  MSG_TOO_LARGE: "message too large",
  SEQUENCE_MISMATCH: "expected sequence does not match store",
  TOO_MANY_RESULTS: "too many matching results for request",
  CLOSED: "store is closed",
  BAD_CONFIG: "bad store configuration",
  WRITE_FAILED: "store write failed",
};

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${TEXTS[code]}: ${detail}` : TEXTS[code], options);
    this.name = "StoreError";
    this.code = code;
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}
