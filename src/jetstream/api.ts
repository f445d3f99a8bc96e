// The JetStream API: an internal client in each account subscribed to $JS.API.> (and, with a
// domain, $JS.<domain>.API.>, re-routed to $JS.API.>), dispatching requests by subject to the
// handlers registered in the engine's router. Requests and responses are JSON with the `type`
// of shared/reference/schemas/jetstream/api/v1; errors carry nats-server's code, err_code and
// description. Direct gets and consumer next requests are answered by the stream or consumer
// itself (their own subscriptions), not here. Every response is also told to whoever listens on
// $JS.EVENT.ADVISORY.API (api_audit advisory), as nats-server does.
//
// Handlers for consumers (next layer) plug in with `js.router.add("CONSUMER.CREATE.*", type, fn)`.

import type { Account } from "../core/account.js";
import { newSubscription, type Client, type Subscription } from "../core/client.js";
import type { JsAccount } from "./account.js";
import { apiAuditAdvisory } from "./advisories.js";
import { jsError, type JsErrorName } from "./errors.js";
import { getHeader, H, parseHeaders, type HeaderBlock } from "./headers.js";
import type { JetStream } from "./jetstream.js";
import type { ApiError } from "./stream-config.js";
import { fromWire } from "./subjects.js";

export const API_PREFIX = "$JS.API.";
export const SYSTEM_RESPONSE_TYPE = "io.nats.jetstream.api.v1.system_response";

let nextApiCid = -2_000_000;
const NO_RESPONDERS = Buffer.from("NATS/1.0 503\r\n\r\n", "latin1");

export interface ApiRequest {
  readonly js: JetStream;
  readonly jsa: JsAccount;
  /** the request subject, normalised to $JS.API.… */
  readonly subject: string;
  /** its tokens after $JS.API */
  readonly tokens: string[];
  readonly reply: string | undefined;
  readonly hdr: HeaderBlock | undefined;
  /** the payload (after the headers) */
  readonly body: Buffer;
  /** the response `type` of the route */
  readonly type: string;
  /** the payload as text ("" for none) */
  text(): string;
  /** the payload is empty or a JSON object without members (nats-server's isEmptyRequest) */
  isEmpty(): boolean;
  /** the payload is a JSON object or array (nats-server's isJSONObjectOrArray) */
  isJson(): boolean;
  /** Sends `{type, ...fields}`; counts an error when fields.error is set. */
  respond(fields: Record<string, unknown>): void;
  /** Sends `{type, error, ...extra}` with the named error. */
  fail(name: JsErrorName, args?: Record<string, string | number>, extra?: Record<string, unknown>): void;
  failWith(e: ApiError, extra?: Record<string, unknown>): void;
}

export type ApiHandler = (req: ApiRequest) => void;

interface Route {
  pattern: string[];
  type: string;
  handler: ApiHandler;
}

/** Maps API subjects (tokens after $JS.API, `*` for one token, `>` for the rest) to handlers. */
export class ApiRouter {
  private readonly routes: Route[] = [];

  add(pattern: string, type: string, handler: ApiHandler): void {
    this.routes.push({ pattern: pattern.split("."), type, handler });
  }

  match(tokens: string[]): Route | undefined {
    outer: for (const r of this.routes) {
      const p = r.pattern;
      for (let i = 0; i < p.length; i++) {
        if (p[i] === ">") {
          if (tokens.length > i) return r;
          continue outer;
        }
        if (i >= tokens.length) continue outer;
        if (p[i] !== "*" && p[i] !== tokens[i]) continue outer;
      }
      if (p.length === tokens.length) return r;
    }
    return undefined;
  }
}

/** The API responder of one account. */
export class ApiClient implements Client {
  readonly cid = nextApiCid--;
  readonly kind = "jetstream" as const;
  readonly echo = true;
  private readonly subs: Subscription[] = [];
  private readonly domainPrefix: string | undefined;

  constructor(
    private readonly js: JetStream,
    private readonly account: Account,
    private readonly jsa: JsAccount | undefined,
  ) {
    const sl = account.sublist;
    const main = newSubscription(this, API_PREFIX + ">", "jsapi");
    sl.insert(main);
    this.subs.push(main);
    if (js.domain) {
      this.domainPrefix = `$JS.${js.domain}.API.`;
      const d = newSubscription(this, this.domainPrefix + ">", "jsapi-domain");
      sl.insert(d);
      this.subs.push(d);
    }
  }

  close(): void {
    for (const s of this.subs) {
      s.closed = true;
      this.account.sublist.remove(s);
    }
  }

  deliver(_sub: Subscription, subject: string, reply: string | undefined, msg: Buffer, hdrLen: number): void {
    if (this.domainPrefix !== undefined && subject.startsWith(this.domainPrefix)) {
      // the domain's API is this server's API: hand it to whoever answers $JS.API.<rest>
      this.account.route(null, API_PREFIX + subject.slice(this.domainPrefix.length), reply, msg, hdrLen);
      return;
    }
    const rest = subject.slice(API_PREFIX.length);
    // answered by the stream (direct get) or the consumer (next) themselves; with nobody
    // there, the requester gets "no responders" as it would without this subscription
    if (rest.startsWith("DIRECT.GET.") || rest.startsWith("CONSUMER.MSG.NEXT.")) {
      if (reply !== undefined && reply !== "" && !this.othersListen(subject)) {
        this.account.route(null, reply, undefined, NO_RESPONDERS, NO_RESPONDERS.length);
      }
      return;
    }
    const tokens = fromWire(rest).split(".");
    const js = this.js;
    js.apiTotal++;
    if (this.jsa !== undefined) this.jsa.apiTotal++;
    const route = js.router.match(tokens);
    const type = route?.type ?? SYSTEM_RESPONSE_TYPE;
    const hdr = hdrLen > 0 ? parseHeaders(msg, hdrLen) : undefined;
    const body = hdrLen > 0 ? msg.subarray(hdrLen) : msg;
    const req = this.request(subject, tokens, reply, hdr, body, type);
    if (route === undefined) return req.fail("JSBadRequestErr");
    if (hdr !== undefined) {
      const lvl = getHeader(hdr, H.RequiredApiLevel);
      if (lvl !== undefined && lvl !== "") {
        const n = Number(lvl);
        if (!Number.isInteger(n) || n > js.apiLevel) return req.fail("JSRequiredApiLevelErr");
      }
    }
    if (this.jsa === undefined) return req.fail("JSNotEnabledForAccountErr");
    try {
      route.handler(req);
    } catch (e) {
      js.logger.error(`JetStream API ${subject}: ${(e as Error).stack ?? e}`);
      req.fail("JSStreamGeneralErrorF", { err: (e as Error).message });
    }
  }

  private othersListen(subject: string): boolean {
    const r = this.account.sublist.match(subject);
    for (const s of r.psubs) if (s.client !== this && !s.closed) return true;
    for (const g of r.qsubs) for (const s of g) if (!s.closed) return true;
    return false;
  }

  private request(subject: string, tokens: string[], reply: string | undefined, hdr: HeaderBlock | undefined, body: Buffer, type: string): ApiRequest {
    const js = this.js;
    const jsa = this.jsa;
    const account = this.account;
    let text: string | undefined;
    const respond = (fields: Record<string, unknown>): void => {
      if (fields.error !== undefined) {
        js.apiErrors++;
        if (jsa !== undefined) jsa.apiErrors++;
      }
      const out = JSON.stringify({ type, ...fields });
      if (reply !== undefined && reply !== "") account.route(null, reply, undefined, Buffer.from(out), 0);
      apiAuditAdvisory(account, js.serverName, fromWire(subject), req.text(), out);
    };
    const req: ApiRequest = {
      js,
      jsa: jsa!,
      subject,
      tokens,
      reply,
      hdr,
      body,
      type,
      text: () => (text ??= body.toString("utf8")),
      isEmpty: () => isEmptyRequest(body, req.text()),
      isJson: () => isJsonObjectOrArray(body),
      respond,
      fail: (name, args, extra) => respond({ error: jsError(name, args), ...extra }),
      failWith: (e, extra) => respond({ error: e, ...extra }),
    };
    return req;
  }
}

/** nats-server's isEmptyRequest: no bytes, or JSON that is an object without members (whitespace alone is not empty). */
export function isEmptyRequest(body: Buffer, text: string): boolean {
  if (body.length === 0) return true;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return false;
  }
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0;
}

/** nats-server's isJSONObjectOrArray: the first byte after JSON whitespace opens an object or an array. */
export function isJsonObjectOrArray(body: Buffer): boolean {
  let i = 0;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x09 || body[i] === 0x0a || body[i] === 0x0d)) i++;
  return i < body.length && (body[i] === 0x7b || body[i] === 0x5b);
}
