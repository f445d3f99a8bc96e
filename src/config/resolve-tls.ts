// Resolution of a `tls { }` block (the client port's, at the top level, and the websocket
// listener's): each key checked as nats-server's parseTLS does, then the files read and the
// node:tls settings built and tried once (GenTLSConfig), so that a missing file, a key that does
// not match its certificate or an unknown cipher stops start-up with the block's file:line.
// Messages keep nats-server's texts where it has one.
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { ResolvedTlsOptions } from "./options.js";
import { isUsedVariable, positionOf } from "./parser.js";
import { describe, isMap, parseDuration, type Loc, type Resolver } from "./resolve.js";

/** nats-server's TLS_TIMEOUT */
export const DEFAULT_TLS_TIMEOUT_MS = 2_000;
/** nats-server's DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_DELAY (`handshake_first: auto`) */
export const DEFAULT_TLS_FIRST_FALLBACK_MS = 50;

/**
 * The cipher suites nats-server knows (Go's names) → OpenSSL's. TLS 1.3 suites are accepted but,
 * as in Go, not configurable: TLS 1.3 always offers all three.
 */
const CIPHERS: Record<string, { openssl: string; insecure?: true; tls13?: true }> = {
  TLS_AES_128_GCM_SHA256: { openssl: "TLS_AES_128_GCM_SHA256", tls13: true },
  TLS_AES_256_GCM_SHA384: { openssl: "TLS_AES_256_GCM_SHA384", tls13: true },
  TLS_CHACHA20_POLY1305_SHA256: { openssl: "TLS_CHACHA20_POLY1305_SHA256", tls13: true },
  TLS_RSA_WITH_AES_128_CBC_SHA: { openssl: "AES128-SHA" },
  TLS_RSA_WITH_AES_256_CBC_SHA: { openssl: "AES256-SHA" },
  TLS_RSA_WITH_AES_128_GCM_SHA256: { openssl: "AES128-GCM-SHA256" },
  TLS_RSA_WITH_AES_256_GCM_SHA384: { openssl: "AES256-GCM-SHA384" },
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: { openssl: "ECDHE-ECDSA-AES128-SHA" },
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: { openssl: "ECDHE-ECDSA-AES256-SHA" },
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: { openssl: "ECDHE-RSA-AES128-SHA" },
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: { openssl: "ECDHE-RSA-AES256-SHA" },
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: { openssl: "ECDHE-ECDSA-AES128-GCM-SHA256" },
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: { openssl: "ECDHE-ECDSA-AES256-GCM-SHA384" },
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: { openssl: "ECDHE-RSA-AES128-GCM-SHA256" },
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: { openssl: "ECDHE-RSA-AES256-GCM-SHA384" },
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: { openssl: "ECDHE-ECDSA-CHACHA20-POLY1305" },
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: { openssl: "ECDHE-RSA-CHACHA20-POLY1305" },
  TLS_RSA_WITH_RC4_128_SHA: { openssl: "RC4-SHA", insecure: true },
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: { openssl: "DES-CBC3-SHA", insecure: true },
  TLS_RSA_WITH_AES_128_CBC_SHA256: { openssl: "AES128-SHA256", insecure: true },
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: { openssl: "ECDHE-ECDSA-RC4-SHA", insecure: true },
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: { openssl: "ECDHE-RSA-RC4-SHA", insecure: true },
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: { openssl: "ECDHE-RSA-DES-CBC3-SHA", insecure: true },
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: { openssl: "ECDHE-ECDSA-AES128-SHA256", insecure: true },
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: { openssl: "ECDHE-RSA-AES128-SHA256", insecure: true },
};
const TLS13_SUITES = Object.keys(CIPHERS).filter((n) => CIPHERS[n]!.tls13);

/** nats-server's curve names → OpenSSL's. */
const CURVES: Record<string, string> = {
  X25519: "X25519",
  CurveP256: "P-256",
  CurveP384: "P-384",
  CurveP521: "P-521",
};

/** Keys of nats-server's tls block that Junction does not do yet. */
const NOT_YET_TLS = new Set([
  "cert_store", "cert_match_by", "cert_match", "ca_certs_match", "cert_match_skip_invalid",
  "ocsp_peer", "certs", "certificates", "connection_rate_limit",
]);

interface TlsBuilder {
  /** where each key was written, for messages about what it names */
  locs: Map<string, Loc>;
  cert_file?: string;
  key_file?: string;
  ca_file?: string;
  verify?: boolean;
  map?: boolean;
  insecure?: boolean;
  timeout_ms?: number;
  handshake_first?: boolean;
  fallback_ms?: number;
  min_version?: "TLSv1.2" | "TLSv1.3";
  cipher_suites?: string[];
  curve_preferences?: string[];
  allow_insecure?: boolean;
  pinned_certs?: string[];
}

type TlsHandler = (r: Resolver, t: TlsBuilder, v: unknown, loc: Loc, ctx: TlsContext) => void;

/** Where the block sits: "tls" (client port), "websocket.tls". */
export interface TlsContext {
  /** nats-server refuses verify_cert_and_check_known_urls outside routes and gateways */
  clientContext: boolean;
}

const PREFIX = "error parsing tls config";

function fileName(key: string): TlsHandler {
  return (r, t, v, loc) => {
    if (typeof v !== "string") return void r.error(loc, `${PREFIX}, expected '${key}' to be filename`);
    (t as unknown as Record<string, unknown>)[key] = v;
    t.locs.set(key, loc);
  };
}

function boolean(key: string, set: (t: TlsBuilder, b: boolean) => void): TlsHandler {
  return (r, t, v, loc) => {
    if (typeof v !== "boolean") return void r.error(loc, `${PREFIX}, expected '${key}' to be a boolean`);
    set(t, v);
  };
}

function elementLoc(list: unknown[], i: number, parent: Loc): Loc {
  return positionOf(list, i)
    ? { container: list, key: String(i), path: `${parent.path}[${i}]` }
    : { ...parent, path: `${parent.path}[${i}]` };
}

/** A non-empty array of strings, each checked by `each` (which reports and returns undefined when bad). */
function list(
  r: Resolver, v: unknown, loc: Loc, key: string, each: (s: string, eloc: Loc) => string | undefined,
): string[] | undefined {
  if (!Array.isArray(v)) return r.error(loc, `${PREFIX}, '${key}' must be an array of strings, got ${describe(v)}`);
  if (v.length === 0) return r.error(loc, `${PREFIX}, '${key}' cannot be empty`);
  const out: string[] = [];
  let ok = true;
  v.forEach((e, i) => {
    const eloc = elementLoc(v, i, loc);
    if (typeof e !== "string") {
      ok = false;
      r.error(eloc, `${PREFIX}, '${key}' must be an array of strings, got ${describe(e)} at index ${i}`);
      return;
    }
    const x = each(e, eloc);
    if (x === undefined) ok = false;
    else out.push(x);
  });
  return ok ? out : undefined;
}

const handshakeFirst: TlsHandler = (r, t, v, loc) => {
  const key = loc.key;
  if (typeof v === "boolean") {
    t.handshake_first = v;
    t.fallback_ms = 0;
    return;
  }
  if (typeof v !== "string") {
    return void r.error(loc, `field ${JSON.stringify(key)} should be a boolean or a string, got ${describe(v)}`);
  }
  switch (v.toLowerCase()) {
    case "true":
    case "on":
      t.handshake_first = true;
      t.fallback_ms = 0;
      return;
    case "false":
    case "off":
      t.handshake_first = false;
      t.fallback_ms = 0;
      return;
    case "auto":
    case "auto_fallback":
      t.handshake_first = true;
      t.fallback_ms = DEFAULT_TLS_FIRST_FALLBACK_MS;
      return;
  }
  const ms = parseDuration(v);
  if (ms === undefined || ms < 0) return void r.error(loc, `field ${JSON.stringify(key)}'s value ${JSON.stringify(v)} is invalid`);
  t.handshake_first = true;
  t.fallback_ms = ms;
};

const TLS_KEYS: Record<string, TlsHandler> = {
  cert_file: fileName("cert_file"),
  key_file: fileName("key_file"),
  ca_file: fileName("ca_file"),
  insecure: boolean("insecure", (t, b) => (t.insecure = b)),
  verify: boolean("verify", (t, b) => (t.verify = b)),
  verify_and_map: boolean("verify_and_map", (t, b) => {
    if (b) t.verify = true;
    t.map = b;
  }),
  verify_cert_and_check_known_urls: (r, t, v, loc, ctx) => {
    if (typeof v !== "boolean") {
      return void r.error(loc, `${PREFIX}, expected 'verify_cert_and_check_known_urls' to be a boolean`);
    }
    if (v && ctx.clientContext) return void r.error(loc, "verify_cert_and_check_known_urls not supported in this context");
    if (v) t.verify = true;
  },
  allow_insecure_cipher_suites: boolean("allow_insecure_cipher_suites", (t, b) => (t.allow_insecure = b)),
  cipher_suites: (r, t, v, loc) => {
    const names = list(r, v, loc, "cipher_suites", (s, eloc) =>
      Object.prototype.hasOwnProperty.call(CIPHERS, s) ? s : r.error(eloc, `unrecognized cipher ${s}`));
    if (names) t.cipher_suites = names;
  },
  curve_preferences: (r, t, v, loc) => {
    const names = list(r, v, loc, "curve_preferences", (s, eloc) =>
      Object.prototype.hasOwnProperty.call(CURVES, s) ? s : r.error(eloc, `unrecognized curve preference ${s}`));
    if (names) t.curve_preferences = names;
  },
  timeout: (r, t, v, loc) => {
    let ms: number | undefined;
    if (typeof v === "number" && Number.isFinite(v)) ms = v * 1000;
    else if (typeof v === "string") {
      ms = parseDuration(v);
      if (ms === undefined) return void r.error(loc, `${PREFIX}, 'timeout' invalid duration ${JSON.stringify(v)}`);
    } else return void r.error(loc, `${PREFIX}, 'timeout' wrong type`);
    if (ms < 0) return void r.error(loc, `${PREFIX}, 'timeout' must not be negative, got ${JSON.stringify(v)}`);
    t.timeout_ms = ms;
  },
  pinned_certs: (r, t, v, loc) => {
    if (!Array.isArray(v)) {
      return void r.error(loc,
        `${PREFIX}, expected 'pinned_certs' to be a list of hex-encoded sha256 of DER encoded SubjectPublicKeyInfo`);
    }
    if (v.length === 0) return;
    const out: string[] = [];
    v.forEach((e, i) => {
      const entry = typeof e === "string" ? e.toLowerCase() : String(e);
      if (typeof e !== "string" || !/^[a-f0-9]{64}$/.test(entry)) {
        r.error(elementLoc(v, i, loc),
          `${PREFIX}, 'pinned_certs' key ${entry} does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo`);
        return;
      }
      out.push(entry);
    });
    t.pinned_certs = out;
  },
  handshake_first: handshakeFirst,
  first: handshakeFirst,
  immediate: handshakeFirst,
  min_version: (r, t, v, loc) => {
    if (typeof v !== "string") {
      const hint = typeof v === "number" ? ` (write it as a string: "${v}")` : "";
      return void r.error(loc, `${PREFIX}: 'min_version' wrong type: ${String(v)}${hint}`);
    }
    switch (v) {
      case "1.2":
        t.min_version = "TLSv1.2";
        return;
      case "1.3":
        t.min_version = "TLSv1.3";
        return;
      case "1.0":
      case "1.1":
        return void r.error(loc, `${PREFIX}: unsupported TLS version: TLS ${v}`);
    }
    r.error(loc, `${PREFIX}: unknown version: ${v}`);
  },
};

/** Resolves one `tls { }` block; undefined (after recording errors) when it is unusable. */
export function resolveTls(r: Resolver, v: unknown, loc: Loc, ctx: TlsContext = { clientContext: true }): ResolvedTlsOptions | undefined {
  if (!isMap(v)) return r.error(loc, `"${loc.path}" must be a map, got ${describe(v)}`);
  const before = r.issues.length;
  const t: TlsBuilder = { locs: new Map() };
  for (const key of Object.keys(v)) {
    const val = v[key];
    if (val === undefined || val === null) continue;
    const lower = key.toLowerCase();
    const kloc: Loc = { container: v, key, path: `${loc.path}.${key}` };
    const h = Object.prototype.hasOwnProperty.call(TLS_KEYS, lower) ? TLS_KEYS[lower] : undefined;
    if (h) h(r, t, val, kloc, ctx);
    else if (NOT_YET_TLS.has(lower)) r.error(kloc, `"${kloc.path}" is not supported yet`);
    else if (!isUsedVariable(v, key)) r.error(kloc, `unknown configuration key "${kloc.path}"`);
  }
  if (r.issues.length > before) return undefined;

  if (t.cipher_suites && !t.allow_insecure) {
    const insecure = t.cipher_suites.filter((n) => CIPHERS[n]!.insecure);
    if (insecure.length > 0) {
      return r.error(loc,
        `insecure cipher suites configured without 'allow_insecure_cipher_suites' option set: ${insecure.join(", ")}`);
    }
  }
  // GenTLSConfig: the files
  if (t.cert_file !== undefined && t.key_file === undefined) return r.error(loc, "missing 'key_file' in TLS configuration");
  if (t.cert_file === undefined && t.key_file !== undefined) return r.error(loc, "missing 'cert_file' in TLS configuration");
  if (t.cert_file === undefined || t.key_file === undefined) {
    // nats-server starts without a certificate, and every handshake then fails: refuse it here
    return r.error(loc, `"${loc.path}" needs a server certificate: set 'cert_file' and 'key_file'`);
  }
  const pair = loadKeyPair(t.cert_file, t.key_file);
  if (!("cert" in pair)) {
    return r.error(t.locs.get(pair.file) ?? loc, `error parsing X509 certificate/key pair: ${pair.error}`);
  }
  let ca: Buffer | undefined;
  if (t.ca_file !== undefined) {
    const caLoc = t.locs.get("ca_file") ?? loc;
    const c = readFile(t.ca_file);
    if (typeof c === "string") return r.error(caLoc, c);
    if (!hasCertificate(c)) return r.error(caLoc, `failed to parse root ca certificate (${t.ca_file})`);
    ca = c;
  }

  const verify = t.verify ?? false;
  const minVersion = t.min_version ?? "TLSv1.2";
  const context: ResolvedTlsOptions["context"] = {
    cert: pair.cert,
    key: pair.key,
    minVersion,
    honorCipherOrder: true,
    requestCert: verify,
    rejectUnauthorized: verify,
  };
  if (ca) context.ca = ca;
  if (t.cipher_suites) {
    // as in Go, the list shapes TLS 1.2; TLS 1.3 keeps its fixed suites
    const tls12 = t.cipher_suites.filter((n) => !CIPHERS[n]!.tls13).map((n) => CIPHERS[n]!.openssl);
    context.ciphers = [...tls12, ...TLS13_SUITES].join(":");
  }
  if (t.curve_preferences) context.ecdhCurve = t.curve_preferences.map((n) => CURVES[n]!).join(":");
  try {
    createSecureContext(context);
  } catch (e) {
    return r.error(loc, `${PREFIX}: ${describeTlsError(e as Error)}`);
  }

  const out: ResolvedTlsOptions = {
    cert_file: t.cert_file,
    key_file: t.key_file,
    cert: pair.cert,
    key: pair.key,
    verify,
    map: t.map ?? false,
    insecure: t.insecure ?? false,
    // nats-server: 0 means the default
    timeout_ms: t.timeout_ms || DEFAULT_TLS_TIMEOUT_MS,
    handshake_first: t.handshake_first ?? false,
    handshake_first_fallback_ms: t.handshake_first ? t.fallback_ms ?? 0 : 0,
    min_version: minVersion,
    allow_insecure_cipher_suites: t.allow_insecure ?? false,
    context,
  };
  if (t.ca_file !== undefined) out.ca_file = t.ca_file;
  if (ca) out.ca = ca;
  if (t.cipher_suites) out.cipher_suites = t.cipher_suites;
  if (t.curve_preferences) out.curve_preferences = t.curve_preferences;
  if (t.pinned_certs) out.pinned_certs = t.pinned_certs;
  return out;
}

/** Go's wording for a file that cannot be read ("open x: no such file or directory"). */
function readFile(path: string): Buffer | string {
  try {
    return readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === "ENOENT" ? "no such file or directory"
      : err.code === "EACCES" ? "permission denied"
      : err.code === "EISDIR" ? "is a directory"
      : err.message;
    return `open ${path}: ${why}`;
  }
}

function hasCertificate(pem: Buffer): boolean {
  const blocks = pem.toString("latin1").match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.some((b) => {
    try {
      new X509Certificate(b);
      return true;
    } catch {
      return false;
    }
  });
}

/** tls.LoadX509KeyPair's checks, with Go's texts; a failure names the file key it is about. */
function loadKeyPair(
  certFile: string, keyFile: string,
): { cert: Buffer; key: Buffer } | { file: "cert_file" | "key_file"; error: string } {
  const cert = readFile(certFile);
  if (typeof cert === "string") return { file: "cert_file", error: cert };
  const key = readFile(keyFile);
  if (typeof key === "string") return { file: "key_file", error: key };
  if (!/-----BEGIN [A-Z0-9 ]*CERTIFICATE-----/.test(cert.toString("latin1"))) {
    return { file: "cert_file", error: `tls: failed to find any PEM data in certificate input (${certFile})` };
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    return { file: "cert_file", error: `x509: ${(e as Error).message} (${certFile})` };
  }
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(key.toString("latin1"))) {
    return { file: "key_file", error: `tls: failed to find any PEM data in key input (${keyFile})` };
  }
  try {
    const k = createPrivateKey(key);
    if (!x509.checkPrivateKey(k)) {
      return { file: "key_file", error: `tls: private key does not match public key (${keyFile} for ${certFile})` };
    }
  } catch (e) {
    return { file: "key_file", error: `tls: failed to parse private key: ${(e as Error).message} (${keyFile})` };
  }
  return { cert, key };
}

function describeTlsError(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ERR_SSL_NO_CIPHER_MATCH") return "none of the configured cipher suites is available";
  if (code === "ERR_OSSL_X509_KEY_VALUES_MISMATCH") return "tls: private key does not match public key";
  return e.message;
}
