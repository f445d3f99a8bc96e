// Authentication as nats-server does it for clients: a token, a single user, a users table
// (plain or bcrypt passwords, nkeys signing the INFO nonce), certificate mapping, and
// `no_auth_user` for clients that present nothing. The reason for a refusal is for the log;
// the client only ever hears 'Authorization Violation'.
import { randomBytes } from "node:crypto";
import bcrypt from "bcryptjs";
import { fromPublic } from "@nats-io/nkeys";
import type { ResolvedOptions, ResolvedUser } from "../config/options.js";
import { secretEquals } from "./secret.js";
import { PermissionSet } from "./permissions.js";
import type { TlsPeer } from "../transport/transport.js";

/** What a client presents (its CONNECT) and what the server knows of its connection. */
export interface Credentials {
  user?: string;
  pass?: string;
  auth_token?: string;
  nkey?: string;
  sig?: string;
}

export interface AuthContext {
  credentials: Credentials;
  /** the nonce this connection's INFO carried */
  nonce?: string;
  /** STANDARD, WEBSOCKET, MQTT, LEAFNODE */
  connectionType: string;
  /** identities from a verified client certificate */
  tlsPeer?: TlsPeer;
  /** a listener-specific no_auth_user (websocket {}) */
  noAuthUser?: string;
}

export type AuthOutcome =
  | { ok: true; user?: string; account: string; permissions?: PermissionSet }
  | { ok: false; reason: string };

const GLOBAL = "$G";

export function isBcrypt(s: string): boolean {
  return /^\$2[aby]\$\d\d\$/.test(s);
}

export class Authenticator {
  /** true when clients must authenticate (INFO `auth_required`) */
  readonly required: boolean;
  /** true when INFO must carry a nonce (nkey users) */
  readonly nonceRequired: boolean;
  private readonly byName = new Map<string, ResolvedUser>();
  private readonly byNkey = new Map<string, ResolvedUser>();
  private readonly perms = new Map<ResolvedUser, PermissionSet>();
  private readonly token: string | undefined;
  private readonly single: { user: string; password: string } | undefined;
  private readonly noAuthUser: string | undefined;
  /** verify_and_map on the client port, on the websocket listener */
  private readonly mapCerts: boolean;
  private readonly mapWsCerts: boolean;

  constructor(o: ResolvedOptions) {
    for (const u of o.users) {
      if (u.nkey !== undefined) this.byNkey.set(u.nkey, u);
      else if (u.user !== undefined) this.byName.set(u.user, u);
      if (u.permissions) this.perms.set(u, new PermissionSet(u.permissions));
    }
    this.token = o.authorization?.token;
    if (o.authorization?.user !== undefined) this.single = { user: o.authorization.user, password: o.authorization.password ?? "" };
    this.noAuthUser = o.no_auth_user;
    this.mapCerts = o.tls?.map === true;
    this.mapWsCerts = o.websocket?.tls?.map === true;
    this.required = this.token !== undefined || this.single !== undefined || o.users.length > 0;
    this.nonceRequired = this.byNkey.size > 0;
  }

  newNonce(): string | undefined {
    return this.nonceRequired ? randomBytes(11).toString("base64url") : undefined;
  }

  /** Synchronous unless a bcrypt hash has to be checked. */
  authenticate(ctx: AuthContext): AuthOutcome | Promise<AuthOutcome> {
    if (!this.required) return { ok: true, account: GLOBAL };
    const c = ctx.credentials;
    if (this.token !== undefined) {
      return this.checkSecret(c.auth_token, this.token, () => ({ ok: true, account: GLOBAL }), "bad or missing token");
    }
    if (this.single !== undefined) {
      if (!secretEquals(c.user, this.single.user)) return { ok: false, reason: `unknown user ${JSON.stringify(c.user ?? "")}` };
      return this.checkSecret(c.pass, this.single.password, () => ({ ok: true, user: this.single!.user, account: GLOBAL }), `bad password for user ${JSON.stringify(c.user)}`);
    }
    if (ctx.connectionType === "WEBSOCKET" ? this.mapWsCerts : this.mapCerts) return this.byCertificate(ctx);
    if (c.nkey !== undefined) return this.byNkeySignature(ctx);
    if (c.user !== undefined && c.user !== "") {
      const u = this.byName.get(c.user);
      if (!u) return { ok: false, reason: `unknown user ${JSON.stringify(c.user)}` };
      const typeErr = this.typeRefused(u, ctx);
      if (typeErr) return typeErr;
      return this.checkSecret(c.pass, u.password ?? "", () => this.accept(u), `bad password for user ${JSON.stringify(c.user)}`);
    }
    const fallback = ctx.noAuthUser ?? this.noAuthUser;
    if (fallback !== undefined && c.auth_token === undefined) {
      const u = this.byName.get(fallback);
      if (u) return this.typeRefused(u, ctx) ?? this.accept(u);
    }
    return { ok: false, reason: "no credentials" };
  }

  permissionsOf(u: ResolvedUser): PermissionSet | undefined {
    return this.perms.get(u);
  }

  private accept(u: ResolvedUser): AuthOutcome {
    return { ok: true, user: u.user ?? u.nkey, account: u.account, permissions: this.perms.get(u) };
  }

  private typeRefused(u: ResolvedUser, ctx: AuthContext): AuthOutcome | undefined {
    const allowed = u.allowed_connection_types;
    if (allowed === undefined || allowed.includes(ctx.connectionType)) return undefined;
    return { ok: false, reason: `connection type ${ctx.connectionType} not allowed for user ${JSON.stringify(u.user ?? u.nkey)}` };
  }

  private checkSecret(given: string | undefined, expected: string, ok: () => AuthOutcome, failure: string): AuthOutcome | Promise<AuthOutcome> {
    if (isBcrypt(expected)) {
      if (given === undefined) return { ok: false, reason: failure };
      return bcrypt.compare(given, expected).then(
        (match) => (match ? ok() : { ok: false, reason: failure }),
        () => ({ ok: false, reason: failure }),
      );
    }
    return secretEquals(given, expected) ? ok() : { ok: false, reason: failure };
  }

  private byNkeySignature(ctx: AuthContext): AuthOutcome {
    const c = ctx.credentials;
    const u = this.byNkey.get(c.nkey!);
    if (!u) return { ok: false, reason: `unknown nkey ${c.nkey}` };
    if (ctx.nonce === undefined || c.sig === undefined) return { ok: false, reason: "nkey without a signature" };
    try {
      const sig = Buffer.from(c.sig, "base64url");
      if (!fromPublic(c.nkey!).verify(Buffer.from(ctx.nonce), sig)) return { ok: false, reason: "nkey signature verification failed" };
    } catch (e) {
      return { ok: false, reason: `bad nkey signature: ${(e as Error).message}` };
    }
    return this.typeRefused(u, ctx) ?? this.accept(u);
  }

  /**
   * verify_and_map, in nats-server's order: SAN e-mail addresses, DNS names, URIs, then the
   * subject as a distinguished name (RDN by RDN), then the subject string with and without DCs.
   */
  private byCertificate(ctx: AuthContext): AuthOutcome {
    const p = ctx.tlsPeer;
    if (!p) return { ok: false, reason: "no verified client certificate to map to a user" };
    let u: ResolvedUser | undefined;
    for (const id of [...p.emails, ...p.dnsNames, ...p.uris]) if ((u = this.byName.get(id))) break;
    if (!u && p.rdns) {
      for (const [name, cand] of this.byName) if (name.includes("=") && dnMatches(name, p.rdns)) { u = cand; break; }
    }
    if (!u && p.subjectWithDCs !== undefined) u = this.byName.get(p.subjectWithDCs);
    if (!u) u = this.byName.get(p.subject);
    if (!u) return { ok: false, reason: `no user for certificate ${JSON.stringify(p.displaySubject)}` };
    return this.typeRefused(u, ctx) ?? this.accept(u);
  }
}

type Rdn = { type: string; value: string }[];

/** Splits on a separator that is not escaped with a backslash. */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === "\\" && i + 1 < s.length) {
      cur += ch + s[i + 1];
      i++;
    } else if (ch === sep) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** A user name written as a DN ("CN=alice, O=Acme") → RDNs; undefined when it is not one. */
function parseDn(name: string): Rdn[] | undefined {
  const rdns: Rdn[] = [];
  for (const part of splitUnescaped(name, ",")) {
    const rdn: Rdn = [];
    for (const av of splitUnescaped(part, "+")) {
      const eq = av.indexOf("=");
      if (eq <= 0) return undefined;
      rdn.push({ type: av.slice(0, eq).trim().toUpperCase(), value: av.slice(eq + 1).trim().replace(/\\(.)/g, "$1") });
    }
    rdns.push(rdn);
  }
  return rdns;
}

function sameRdn(a: Rdn, b: Rdn): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => y.type.toUpperCase() === x.type && y.value === x.value));
}

/** Does the DN `name` have the certificate's RDNs, in the same order or else in any order? */
function dnMatches(name: string, cert: Rdn[]): boolean {
  const dn = parseDn(name);
  if (!dn || dn.length !== cert.length) return false;
  if (dn.every((r, i) => sameRdn(r, cert[i]!))) return true;
  const left = [...cert];
  for (const r of dn) {
    const i = left.findIndex((c) => sameRdn(r, c));
    if (i < 0) return false;
    left.splice(i, 1);
  }
  return true;
}
