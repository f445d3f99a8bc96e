export { Account } from "./account.js";
export type { Client, ClientKind, Subscription } from "./client.js";
export { newSubscription } from "./client.js";
export { Sublist } from "./sublist.js";
export type { MatchResult, SublistStats } from "./sublist.js";
export { Outbound, FlushScheduler } from "./outbound.js";
export type { Flushable } from "./outbound.js";
export { isValidSubject, isValidLiteralSubject, isValidQueueName, hasWildcard, subjectMatches } from "./subject.js";
