// JetStream advisories: JSON events published in the account on $JS.EVENT.ADVISORY.>, with the
// shapes of shared/reference/schemas/jetstream/advisory/v1 (type, id, timestamp, ...).
import { randomBytes } from "node:crypto";
import type { Account } from "../core/account.js";
import { toWire } from "./subjects.js";
import { rfc3339Nano } from "./time.js";
import { nowNs } from "./store/index.js";

export const ADVISORY_PREFIX = "$JS.EVENT.ADVISORY.";

/** A unique event id (22 characters, as a NUID). */
export function eventId(): string {
  return randomBytes(16).toString("base64url").slice(0, 22);
}

/** Publishes an advisory `{type, id, timestamp, ...fields}` on `subject` in the account (when anyone listens). */
export function publishAdvisory(account: Account, subject: string, type: string, fields: Record<string, unknown>): void {
  const wire = toWire(subject);
  if (!account.sublist.hasInterest(wire)) return;
  const body = JSON.stringify({ type, id: eventId(), timestamp: rfc3339Nano(nowNs()), ...fields });
  account.route(null, wire, undefined, Buffer.from(body), 0);
}

const STREAM_ACTION = "io.nats.jetstream.advisory.v1.stream_action";
const ACTION_SUBJECT = { create: "STREAM.CREATED", modify: "STREAM.UPDATED", delete: "STREAM.DELETED" } as const;

/** $JS.EVENT.ADVISORY.STREAM.CREATED|UPDATED|DELETED.<stream> */
export function streamActionAdvisory(account: Account, stream: string, action: "create" | "modify" | "delete", domain: string | undefined): void {
  const fields: Record<string, unknown> = { stream, action };
  if (domain) fields.domain = domain;
  publishAdvisory(account, `${ADVISORY_PREFIX}${ACTION_SUBJECT[action]}.${stream}`, STREAM_ACTION, fields);
}

const API_AUDIT = "io.nats.jetstream.advisory.v1.api_audit";

/**
 * $JS.EVENT.ADVISORY.API: one per API request answered, with the request and the response as
 * sent. The client is described as nats-server 2.9 describes it here (its account and server).
 */
export function apiAuditAdvisory(account: Account, server: string, subject: string, request: string, response: string): void {
  const wire = ADVISORY_PREFIX + "API";
  if (!account.sublist.hasInterest(wire)) return;
  const fields: Record<string, unknown> = { server, client: { acc: account.name, server }, subject };
  if (request !== "") fields.request = request;
  fields.response = response;
  publishAdvisory(account, wire, API_AUDIT, fields);
}
