// Resolution of the security model's configuration: users (passwords, bcrypt hashes, nkeys),
// permissions, allowed connection types, accounts with their exports and imports. The
// checks across entries (duplicate users, no_auth_user, imports of what was not exported)
// run in `finishAuth`, once everything was read.
import { fromPublic } from "@nats-io/nkeys";
import { isValidSubject, isValidQueueName, hasWildcard, subjectMatches } from "../core/subject.js";
import { positionOf } from "./parser.js";
import type {
  ResolvedAccount, ResolvedExport, ResolvedImport, ResolvedPermissions, ResolvedUser, SubjectPermission,
} from "./options.js";
import { describe, isMap, type Builder, type Loc, type Resolver } from "./resolve.js";
import { resolveAccountJetStream } from "./resolve-jetstream.js";

export const GLOBAL_ACCOUNT = "$G";
export const DEFAULT_SYSTEM_ACCOUNT = "$SYS";
/** nats-server's defaults for `allow_responses: true` */
const RESPONSE_MAX = 1;
const RESPONSE_EXPIRES_MS = 2 * 60 * 1000;

const CONNECTION_TYPES = new Set(["STANDARD", "WEBSOCKET", "MQTT", "MQTT_WS", "LEAFNODE", "LEAFNODE_WS", "IN_PROCESS"]);

function child(loc: Loc, container: object, key: string | number, path: string): Loc {
  return { container, key: String(key), path };
}

function elementLoc(list: unknown[], i: number, parent: Loc): Loc {
  // array elements are registered by index; fall back to the array's own key
  return positionOf(list, i) ? { container: list, key: String(i), path: `${parent.path}[${i}]` } : { ...parent, path: `${parent.path}[${i}]` };
}

/** A string or an array of strings. */
function stringList(r: Resolver, v: unknown, loc: Loc): string[] | undefined {
  if (typeof v === "string") return [v];
  if (!Array.isArray(v)) return r.error(loc, `"${loc.path}" must be a subject or an array of subjects, got ${describe(v)}`);
  const out: string[] = [];
  v.forEach((e, i) => {
    if (typeof e !== "string") r.error(elementLoc(v, i, loc), `"${loc.path}[${i}]" must be a string, got ${describe(e)}`);
    else out.push(e);
  });
  return out;
}

function subjectList(r: Resolver, v: unknown, loc: Loc, allowQueue: boolean): string[] | undefined {
  const list = stringList(r, v, loc);
  if (!list) return undefined;
  for (const s of list) {
    const parts = s.trim().split(/\s+/);
    if (parts.length > 2 || (!allowQueue && parts.length > 1)) {
      r.error(loc, `"${loc.path}": subject ${JSON.stringify(s)} is not a valid subject`);
    } else if (!isValidSubject(parts[0]!)) {
      r.error(loc, `"${loc.path}": subject ${JSON.stringify(parts[0])} is not a valid subject`);
    } else if (parts.length === 2 && !isValidQueueName(parts[1]!)) {
      r.error(loc, `"${loc.path}": queue ${JSON.stringify(parts[1])} is not a valid queue`);
    }
  }
  return list;
}

function subjectPermission(r: Resolver, v: unknown, loc: Loc, allowQueue: boolean): SubjectPermission | undefined {
  if (!isMap(v)) {
    const allow = subjectList(r, v, loc, allowQueue);
    return allow ? { allow } : undefined;
  }
  const out: SubjectPermission = {};
  for (const [k, val] of Object.entries(v)) {
    const kl = k.toLowerCase();
    const l = child(loc, v, k, `${loc.path}.${k}`);
    if (kl === "allow") out.allow = subjectList(r, val, l, allowQueue);
    else if (kl === "deny") out.deny = subjectList(r, val, l, allowQueue);
    else r.error(l, `unknown field "${l.path}" in subject permissions: only "allow" or "deny" are permitted`);
  }
  return out;
}

export function resolvePermissions(r: Resolver, v: unknown, loc: Loc): ResolvedPermissions | undefined {
  if (!isMap(v)) return r.error(loc, `"${loc.path}" must be a map of permissions, got ${describe(v)}`);
  const p: ResolvedPermissions = {};
  for (const [k, val] of Object.entries(v)) {
    const l = child(loc, v, k, `${loc.path}.${k}`);
    switch (k.toLowerCase()) {
      case "pub":
      case "publish":
      case "import":
        p.publish = subjectPermission(r, val, l, false);
        break;
      case "sub":
      case "subscribe":
      case "export":
        p.subscribe = subjectPermission(r, val, l, true);
        break;
      case "allow_responses":
      case "publish_allow_responses": {
        if (typeof val === "boolean") {
          if (val) p.allow_responses = { max: RESPONSE_MAX, expires_ms: RESPONSE_EXPIRES_MS };
        } else if (isMap(val)) {
          const resp = { max: RESPONSE_MAX, expires_ms: RESPONSE_EXPIRES_MS };
          for (const [rk, rv] of Object.entries(val)) {
            const rl = child(l, val, rk, `${l.path}.${rk}`);
            const rkl = rk.toLowerCase();
            if (["max", "max_msgs", "max_messages", "max_responses"].includes(rkl)) {
              const n = r.int(rl, rv, 1);
              if (n !== undefined) resp.max = n;
            } else if (["expires", "expiration", "ttl"].includes(rkl)) {
              const ms = r.duration(rl, rv);
              if (ms !== undefined) resp.expires_ms = ms;
            } else r.error(rl, `unknown field "${rl.path}" in allow_responses`);
          }
          p.allow_responses = resp;
        } else r.error(l, `"${l.path}" must be a boolean or a map, got ${describe(val)}`);
        break;
      }
      default:
        r.error(l, `unknown field "${l.path}" in permissions`);
    }
  }
  return p;
}

/** `users: [...]` of the authorization block or of an account. */
export function resolveUsers(r: Resolver, v: unknown, loc: Loc, account: string): ResolvedUser[] {
  if (!Array.isArray(v)) {
    r.error(loc, `"${loc.path}" must be an array of users, got ${describe(v)}`);
    return [];
  }
  const out: ResolvedUser[] = [];
  v.forEach((entry, i) => {
    const eloc = elementLoc(v, i, loc);
    if (!isMap(entry)) {
      r.error(eloc, `"${eloc.path}": a user entry must be a map, got ${describe(entry)}`);
      return;
    }
    const u: ResolvedUser = { account };
    for (const [k, val] of Object.entries(entry)) {
      const l = child(eloc, entry, k, `${eloc.path}.${k}`);
      switch (k.toLowerCase()) {
        case "user":
        case "username":
          u.user = r.string(l, val);
          break;
        case "pass":
        case "password":
          u.password = r.string(l, val);
          break;
        case "nkey":
          u.nkey = r.string(l, val);
          break;
        case "permission":
        case "permissions":
        case "authorization":
          u.permissions = resolvePermissions(r, val, l);
          break;
        case "allowed_connection_types":
        case "connection_types":
        case "clients": {
          const list = stringList(r, val, l);
          if (!list) break;
          const types: string[] = [];
          for (const t of list) {
            const up = t.toUpperCase();
            if (!CONNECTION_TYPES.has(up)) r.error(l, `"${l.path}": invalid connection type ${JSON.stringify(t)}`);
            else types.push(up);
          }
          u.allowed_connection_types = types;
          break;
        }
        case "account":
          r.error(l, `"${l.path}": put users inside "accounts { NAME { users: [...] } }" to assign an account`);
          break;
        default:
          r.error(l, `unknown field "${l.path}" in a user entry`);
      }
    }
    if (u.nkey !== undefined) {
      if (!validUserNkey(u.nkey)) r.error(eloc, `"${eloc.path}": not a valid public nkey for a user: ${JSON.stringify(u.nkey)}`);
      if (u.user !== undefined || u.password !== undefined) r.error(eloc, `"${eloc.path}": nkey users do not take usernames or passwords`);
    } else if (u.user === undefined) {
      r.error(eloc, `"${eloc.path}": a user entry requires a user (or an nkey)`);
    }
    out.push(u);
  });
  return out;
}

function validUserNkey(k: string): boolean {
  if (!k.startsWith("U")) return false;
  try {
    fromPublic(k);
    return true;
  } catch {
    return false;
  }
}

function subjectOf(r: Resolver, v: unknown, loc: Loc): string | undefined {
  const s = r.string(loc, v);
  if (s !== undefined && !isValidSubject(s)) return r.error(loc, `"${loc.path}": ${JSON.stringify(s)} is not a valid subject`);
  return s;
}

function resolveExport(r: Resolver, v: unknown, loc: Loc): ResolvedExport | undefined {
  if (!isMap(v)) return r.error(loc, `"${loc.path}": an export must be a map, got ${describe(v)}`);
  const e: ResolvedExport = { response_type: "single" };
  for (const [k, val] of Object.entries(v)) {
    const l = child(loc, v, k, `${loc.path}.${k}`);
    switch (k.toLowerCase()) {
      case "stream":
        e.stream = subjectOf(r, val, l);
        break;
      case "service":
        e.service = subjectOf(r, val, l);
        break;
      case "accounts":
        e.accounts = stringList(r, val, l);
        break;
      case "response":
      case "response_type": {
        const t = r.string(l, val)?.toLowerCase();
        if (t === "single" || t === "stream" || t === "chunked") e.response_type = t;
        else if (t !== undefined) r.error(l, `"${l.path}": unknown response type ${JSON.stringify(val)} (single, stream or chunked)`);
        break;
      }
      default:
        r.error(l, `unknown field "${l.path}" in an export`);
    }
  }
  if ((e.stream === undefined) === (e.service === undefined)) {
    return r.error(loc, `"${loc.path}": an export needs exactly one of "stream" or "service"`);
  }
  return e;
}

function importSource(r: Resolver, v: unknown, loc: Loc): { account: string; subject: string } | undefined {
  if (!isMap(v)) return r.error(loc, `"${loc.path}" must be a map {account, subject}, got ${describe(v)}`);
  let account: string | undefined;
  let subject: string | undefined;
  for (const [k, val] of Object.entries(v)) {
    const l = child(loc, v, k, `${loc.path}.${k}`);
    const kl = k.toLowerCase();
    if (kl === "account") account = r.string(l, val);
    else if (kl === "subject") subject = subjectOf(r, val, l);
    else r.error(l, `unknown field "${l.path}" in an import`);
  }
  if (account === undefined || subject === undefined) return r.error(loc, `"${loc.path}" needs both "account" and "subject"`);
  return { account, subject };
}

function resolveImport(r: Resolver, v: unknown, loc: Loc): ResolvedImport | undefined {
  if (!isMap(v)) return r.error(loc, `"${loc.path}": an import must be a map, got ${describe(v)}`);
  const im: ResolvedImport = {};
  for (const [k, val] of Object.entries(v)) {
    const l = child(loc, v, k, `${loc.path}.${k}`);
    switch (k.toLowerCase()) {
      case "stream":
        im.stream = importSource(r, val, l);
        break;
      case "service":
        im.service = importSource(r, val, l);
        break;
      case "prefix":
        im.prefix = subjectOf(r, val, l);
        break;
      case "to":
        im.to = subjectOf(r, val, l);
        break;
      default:
        r.error(l, `unknown field "${l.path}" in an import`);
    }
  }
  if ((im.stream === undefined) === (im.service === undefined)) {
    return r.error(loc, `"${loc.path}": an import needs exactly one of "stream" or "service"`);
  }
  if (im.service && im.prefix !== undefined) r.error(loc, `"${loc.path}": "prefix" applies to stream imports; use "to" for a service`);
  const src = im.stream ?? im.service!;
  if (im.to !== undefined && !sameWildcards(src.subject, im.to)) {
    r.error(loc, `"${loc.path}": "to" ${JSON.stringify(im.to)} must have the wildcards of ${JSON.stringify(src.subject)} in the same places`);
  }
  return im;
}

/**
 * nats-server maps an import's subject onto `to` wildcard by wildcard: the n-th `*` of one is
 * the n-th `*` of the other, and a trailing `>` carries the rest, wherever the tokens sit
 * (`$JS.API.>` → `JS.A.API.>`).
 */
function sameWildcards(a: string, b: string): boolean {
  if (!hasWildcard(a) && !hasWildcard(b)) return true;
  const x = a.split(".");
  const y = b.split(".");
  const stars = (t: string[]) => t.filter((s) => s === "*").length;
  return stars(x) === stars(y) && (x[x.length - 1] === ">") === (y[y.length - 1] === ">");
}

/** `accounts { NAME { users, exports, imports, default_permissions } }` */
export function resolveAccounts(r: Resolver, b: Builder, v: unknown, loc: Loc): void {
  if (!isMap(v)) {
    r.error(loc, `"${loc.path}" must be a map of account names to accounts, got ${describe(v)}`);
    return;
  }
  b.account_list ??= [];
  b.account_users ??= [];
  b.account_locs ??= new Map();
  for (const [name, def] of Object.entries(v)) {
    const aloc = child(loc, v, name, `${loc.path}.${name}`);
    if (name === GLOBAL_ACCOUNT) {
      r.error(aloc, `"${aloc.path}": the account name ${GLOBAL_ACCOUNT} is reserved`);
      continue;
    }
    const acc: ResolvedAccount = { name, exports: [], imports: [] };
    b.account_list.push(acc);
    b.account_locs.set(name, aloc);
    if (def === true || (isMap(def) && Object.keys(def).length === 0)) continue;
    if (!isMap(def)) {
      r.error(aloc, `"${aloc.path}" must be a map, got ${describe(def)}`);
      continue;
    }
    let users: ResolvedUser[] = [];
    let defaults: ResolvedPermissions | undefined;
    for (const [k, val] of Object.entries(def)) {
      const l = child(aloc, def, k, `${aloc.path}.${k}`);
      switch (k.toLowerCase()) {
        case "users":
          users = resolveUsers(r, val, l, name);
          break;
        case "exports":
          if (!Array.isArray(val)) r.error(l, `"${l.path}" must be an array, got ${describe(val)}`);
          else val.forEach((e, i) => {
            const x = resolveExport(r, e, elementLoc(val, i, l));
            if (x) acc.exports.push(x);
          });
          break;
        case "imports":
          if (!Array.isArray(val)) r.error(l, `"${l.path}" must be an array, got ${describe(val)}`);
          else val.forEach((e, i) => {
            const x = resolveImport(r, e, elementLoc(val, i, l));
            if (x) {
              acc.imports.push(x);
              (b.import_locs ??= new Map()).set(x, elementLoc(val, i, l));
            }
          });
          break;
        case "default_permissions":
        case "default_permission":
          defaults = resolvePermissions(r, val, l);
          break;
        case "jetstream":
          acc.jetstream = resolveAccountJetStream(r, val, l);
          break;
        case "mappings":
        case "maps":
        case "limits":
        case "nkey":
          r.error(l, `"${l.path}" is not supported yet`);
          break;
        default:
          r.error(l, `unknown field "${l.path}" in an account`);
      }
    }
    for (const u of users) if (!u.permissions && defaults) u.permissions = defaults;
    b.account_users.push(...users);
  }
}

/** Checks across the whole security configuration; fills `users`, `accounts`, `no_auth_user`, `system_account`. */
export function finishAuth(r: Resolver, b: Builder, at: (k: string) => Loc | undefined): {
  users: ResolvedUser[]; accounts: ResolvedAccount[];
} {
  const users: ResolvedUser[] = [];
  for (const u of b.auth_users ?? []) {
    if (!u.permissions && b.default_permissions) u.permissions = b.default_permissions;
    users.push(u);
  }
  users.push(...(b.account_users ?? []));
  const accounts = b.account_list ?? [];
  const names = new Set(accounts.map((a) => a.name));

  const seen = new Set<string>();
  for (const u of users) {
    const id = u.nkey ?? u.user!;
    if (id === undefined) continue;
    if (seen.has(id)) r.error(at("accounts") ?? at("authorization"), `duplicate user ${JSON.stringify(id)} detected`);
    seen.add(id);
  }
  if ((b.auth_users?.length ?? 0) > 0 && (b.auth_user !== undefined || b.auth_token !== undefined)) {
    r.error(at("authorization"), `"authorization" can not have a single user/password or token and a users array`);
  }
  if (b.no_auth_user !== undefined) {
    const u = users.find((x) => x.user === b.no_auth_user);
    if (!u) {
      r.error(at("no_auth_user"), `"no_auth_user": ${JSON.stringify(b.no_auth_user)} not present as user or nkey in authorization block or account configuration`);
    }
  }
  if (b.system_account !== undefined && b.system_account !== DEFAULT_SYSTEM_ACCOUNT && !names.has(b.system_account)) {
    r.error(at("system_account"), `"system_account": account ${JSON.stringify(b.system_account)} is not defined in "accounts"`);
  }
  // imports must name an account that exports what they import, to them
  const byName = new Map(accounts.map((a) => [a.name, a]));
  for (const acc of accounts) {
    for (const im of acc.imports) {
      const loc = b.import_locs?.get(im) ?? b.account_locs?.get(acc.name);
      const src = (im.stream ?? im.service)!;
      const kind = im.stream ? "stream" : "service";
      const exporter = byName.get(src.account);
      if (!exporter) {
        r.error(loc, `import of ${kind} ${JSON.stringify(src.subject)} into account ${JSON.stringify(acc.name)}: account ${JSON.stringify(src.account)} does not exist`);
        continue;
      }
      const ok = exporter.exports.some((e) => {
        const subj = kind === "stream" ? e.stream : e.service;
        if (subj === undefined || !subjectCovers(subj, src.subject)) return false;
        return e.accounts === undefined || e.accounts.includes(acc.name);
      });
      if (!ok) {
        r.error(loc, `import of ${kind} ${JSON.stringify(src.subject)} into account ${JSON.stringify(acc.name)} is not authorized: account ${JSON.stringify(src.account)} does not export it to ${JSON.stringify(acc.name)}`);
      }
    }
    for (const e of acc.exports) {
      for (const n of e.accounts ?? []) {
        if (!names.has(n)) r.error(b.account_locs?.get(acc.name), `export of ${JSON.stringify(e.stream ?? e.service)} from account ${JSON.stringify(acc.name)} names an unknown account ${JSON.stringify(n)}`);
      }
    }
  }
  return { users, accounts };
}

/** Is every subject matching `sub` also matched by the export pattern `exp`? */
export function subjectCovers(exp: string, sub: string): boolean {
  if (exp === sub) return true;
  const e = exp.split(".");
  const s = sub.split(".");
  for (let i = 0; i < e.length; i++) {
    if (e[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (e[i] === "*") {
      if (s[i] === ">") return false;
      continue;
    }
    if (e[i] !== s[i]) return false;
  }
  return e.length === s.length && (hasWildcard(sub) ? true : subjectMatches(exp, sub));
}
