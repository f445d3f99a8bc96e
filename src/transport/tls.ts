// TLS for the client port, as nats-server does it: by default INFO goes out in plaintext (with
// `tls_required`) and the client then starts TLS on the same connection; with `handshake_first`
// the handshake comes first and INFO goes over TLS; with `allow_non_tls` the first byte the
// client sends decides. The handshake runs in a node:tls server that never listens: accepted
// sockets are handed to it (its 'connection' event), so node does the certificate
// verification, and the handshake is bounded by `timeout`. Also here: the identity of a client
// certificate (`tlsPeerFromCertificate`), which `verify_and_map` maps to a user.
import { createHash, type X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import type * as tls from "node:tls";
import { createServer as createTlsServer, type PeerCertificate, type Server as TlsServer, type TLSSocket } from "node:tls";
import type { ResolvedTlsOptions } from "../config/options.js";
import { TcpTransport, normalizeAddress } from "./tcp.js";
import { TlsHandshakeError, type TlsPeer, type TlsState, type Transport } from "./transport.js";

export type { TlsPeer, TlsState } from "./transport.js";
export { TlsHandshakeError } from "./transport.js";

/** The first byte of a TLS record carrying a handshake (a ClientHello). */
const TLS_HANDSHAKE_RECORD = 0x16;
/** How long a closing connection may take to flush before it is cut (as TcpTransport). */
const END_GRACE_MS = 5_000;

// ---- the handshake

interface Pending {
  resolve: (s: TLSSocket) => void;
  reject: (e: TlsHandshakeError) => void;
}

/**
 * Server-side TLS handshakes for one listener's `tls {}` settings. `handshake(socket)` resolves
 * with the TLS socket once the handshake succeeded, the client certificate was verified (with
 * `verify`) and matched a pinned certificate (with `pinned_certs`); otherwise it rejects with a
 * TlsHandshakeError saying why, and the socket is destroyed.
 */
export class TlsHandshaker {
  private readonly server: TlsServer;
  private readonly pending = new Map<Socket, Pending>();
  private readonly pinned: ReadonlySet<string> | undefined;

  constructor(readonly options: ResolvedTlsOptions) {
    this.pinned = options.pinned_certs ? new Set(options.pinned_certs) : undefined;
    this.server = createTlsServer({ ...options.context, handshakeTimeout: options.timeout_ms });
    this.server.on("secureConnection", (s: TLSSocket) => this.secured(s));
    this.server.on("tlsClientError", (err: Error, s: TLSSocket) => this.failed(err, s));
  }

  /** Runs the handshake on an accepted socket (data it already received is replayed into it). */
  handshake(socket: Socket): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      // node ends every handshake with one of the two events; this is only a backstop
      const backstop = setTimeout(() => {
        if (!this.pending.delete(socket)) return;
        socket.destroy();
        reject(new TlsHandshakeError("TLS handshake timeout"));
      }, this.options.timeout_ms + 1_000);
      backstop.unref();
      this.pending.set(socket, {
        resolve: (s) => { clearTimeout(backstop); resolve(s); },
        reject: (e) => { clearTimeout(backstop); reject(e); },
      });
      this.server.emit("connection", socket);
    });
  }

  private take(s: TLSSocket): Pending | undefined {
    // node's TLSSocket keeps the socket it wraps; else match the peer address
    let raw: Socket | undefined = wrappedSocket(s);
    if (raw === undefined || !this.pending.has(raw)) {
      raw = undefined;
      for (const k of this.pending.keys()) {
        if (k.remotePort === s.remotePort && k.remoteAddress === s.remoteAddress) raw = k;
      }
    }
    const p = raw ? this.pending.get(raw) : undefined;
    if (raw) this.pending.delete(raw);
    return p;
  }

  private secured(s: TLSSocket): void {
    const p = this.take(s);
    if (!p) {
      s.destroy();
      return;
    }
    const notPinned = checkPinned(s, this.pinned);
    if (notPinned) {
      s.destroy();
      p.reject(new TlsHandshakeError(notPinned));
      return;
    }
    p.resolve(s);
  }

  private failed(err: Error, s: TLSSocket): void {
    // node reports the error but leaves the socket open after a handshake timeout
    s.destroy();
    const p = this.take(s);
    p?.reject(new TlsHandshakeError(handshakeErrorText(err, s)));
  }
}

/** The socket a server-side TLSSocket wraps (node keeps it as `_parent`), if any. */
export function wrappedSocket(s: TLSSocket): Socket | undefined {
  return (s as unknown as { _parent?: Socket })._parent ?? undefined;
}

/** Why the peer's certificate is refused by `pinned_certs` (undefined when accepted or no pinning). */
export function checkPinned(s: TLSSocket, pinned: ReadonlySet<string> | undefined): string | undefined {
  if (!pinned) return undefined;
  const cert = s.getPeerX509Certificate();
  if (!cert) return "certificate not pinned (the client did not provide a certificate)";
  try {
    if (pinned.has(spkiFingerprint(cert.raw))) return undefined;
    return `certificate not pinned (${tlsPeerFromCertificate(cert).displaySubject} SHA-256: ${sha256hex(cert.raw)})`;
  } catch {
    return "certificate not pinned (unreadable certificate)";
  }
}

/**
 * The TLS session of an established socket, and the identity of its client certificate when one
 * was asked for and verified (`verify`: then node marks the socket authorized).
 */
export function tlsInfoOf(s: TLSSocket, handshakeFirst: boolean): { state: TlsState; peer?: TlsPeer } {
  const cipher = s.getCipher();
  const state: TlsState = {
    version: (s.getProtocol() ?? "").replace(/^TLSv/, ""),
    cipherSuite: cipher.standardName ?? cipher.name,
    handshakeFirst,
  };
  const chain = peerChain(s);
  try {
    if (chain.length > 0) {
      state.peerCerts = chain.map((der) => ({
        subject: tlsPeerFromDer(der).displaySubject,
        spkiSha256: spkiFingerprint(der),
        certSha256: sha256hex(der),
      }));
    }
    if (!s.authorized || chain.length === 0) return { state };
    return { state, peer: tlsPeerFromDer(chain[0]!) };
  } catch {
    // a certificate OpenSSL accepted but this reader does not: no identity rather than a crash
    delete state.peerCerts;
    return { state };
  }
}

/** The DER certificates of the peer's chain, leaf first. */
function peerChain(s: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  let c: tls.DetailedPeerCertificate | undefined = s.getPeerCertificate(true);
  while (c && c.raw && out.length < 10) {
    out.push(c.raw);
    if (!c.issuerCertificate || c.issuerCertificate === c || c.issuerCertificate.raw.equals(c.raw)) break;
    c = c.issuerCertificate;
  }
  return out;
}

/** Why a handshake failed, in words close to Go's. */
export function handshakeErrorText(err: Error, s: TLSSocket): string {
  const verify = s.authorizationError as unknown as string | Error | undefined;
  if (verify) {
    const code = typeof verify === "string" ? verify : (verify as NodeJS.ErrnoException).code ?? verify.message;
    switch (code) {
      case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
      case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      case "UNABLE_TO_GET_ISSUER_CERT":
      case "SELF_SIGNED_CERT_IN_CHAIN":
      case "DEPTH_ZERO_SELF_SIGNED_CERT":
        return `tls: failed to verify certificate: x509: certificate signed by unknown authority (${code})`;
      case "CERT_HAS_EXPIRED":
      case "CERT_NOT_YET_VALID":
        return `tls: failed to verify certificate: x509: certificate has expired or is not yet valid (${code})`;
      case "INVALID_PURPOSE":
        return `tls: failed to verify certificate: x509: certificate specifies an incompatible key usage (${code})`;
    }
    return `tls: failed to verify certificate: ${code}`;
  }
  const e = err as NodeJS.ErrnoException & { reason?: string };
  switch (e.code) {
    case "ERR_TLS_HANDSHAKE_TIMEOUT":
      return "TLS handshake timeout";
    case "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE":
      return "tls: client didn't provide a certificate";
    case "ECONNRESET":
      return "connection closed during the TLS handshake";
  }
  if (e.code === "ERR_SSL_WRONG_VERSION_NUMBER" || e.code === "ERR_SSL_HTTP_REQUEST" ||
      e.code === "ERR_SSL_HTTPS_PROXY_REQUEST" || e.code === "ERR_SSL_PACKET_LENGTH_TOO_LONG") {
    return `tls: first record does not look like a TLS handshake (${e.reason ?? e.code})`;
  }
  return e.reason ? `tls: ${e.reason}` : e.message.split("\n")[0]!;
}

/** A client that never spoke TLS, or gave up: nats-server logs these at debug level only. */
export function isProbeError(e: Error | string): boolean {
  return /^TLS handshake timeout|^tls: first record does not look like|^connection closed/.test(typeof e === "string" ? e : e.message);
}

// ---- the transport

type Phase = "plain" | "sniff" | "handshake" | "secure" | "plaintext" | "closed";

export interface TlsTransportMode {
  /** TLS before INFO */
  handshakeFirst: boolean;
  /** with handshakeFirst: send INFO first anyway if the client said nothing for this long (0 = never) */
  fallbackMs: number;
  /** the client may also stay in plaintext (allow_non_tls): its first byte decides */
  allowNonTls: boolean;
}

/**
 * A Transport over an accepted TCP socket that becomes TLS. Until `start()` it writes in
 * plaintext (INFO, for the default INFO-first order) or, with handshakeFirst, queues what is
 * written until the handshake is done. Nothing the client sends is handed on before the
 * handshake completed. A failed handshake closes it with a TlsHandshakeError.
 */
export class TlsTransport implements Transport {
  readonly type = "tcp" as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  tlsPeer?: TlsPeer;
  tlsState?: TlsState;

  private phase: Phase = "plain";
  /** the transport once the connection is settled (over the TLS socket, or the raw one) */
  private inner: TcpTransport | undefined;
  /** bytes written while nothing can be sent yet */
  private queue: Buffer[] = [];
  /** something (INFO) went out in plaintext before the handshake */
  private wrotePlain = false;
  private lastPlainWrite: Promise<void> = Promise.resolve();
  private dataCbs: ((chunk: Buffer) => void)[] = [];
  private closeCbs: ((err?: Error) => void)[] = [];
  private drainCbs: (() => void)[] = [];
  private paused = false;
  private starting = false;
  private ended = false;
  private closeFired = false;
  private rawError: Error | undefined;
  private readonly rawClosed = (): void => {
    // only meaningful before the socket is handed to the handshake or to the plaintext path
    if (this.phase === "plain" || this.phase === "sniff") this.fail(this.rawError ?? new TlsHandshakeError("connection closed before the TLS handshake"));
  };

  constructor(
    private readonly raw: Socket,
    private readonly handshaker: TlsHandshaker,
    private readonly mode: TlsTransportMode,
  ) {
    this.remoteAddress = normalizeAddress(raw.remoteAddress);
    this.remotePort = raw.remotePort ?? 0;
    raw.setNoDelay(true);
    raw.on("error", (e) => {
      this.rawError ??= e;
    });
    raw.on("close", this.rawClosed);
  }

  /**
   * Starts TLS (call it once INFO was written, or at once with handshakeFirst). Resolves when the
   * connection is settled: TLS established, or (allow_non_tls) the client went on in plaintext.
   * Rejects with a TlsHandshakeError after the transport closed.
   */
  async start(): Promise<void> {
    if (this.isClosed()) throw new TlsHandshakeError("connection closed before the TLS handshake");
    if (this.phase !== "plain" || this.starting) throw new Error("TlsTransport: started twice");
    // from now on what is written waits for the connection to be settled
    this.starting = true;
    const m = this.mode;
    if (m.handshakeFirst && m.fallbackMs > 0) {
      const first = await this.firstBytes(m.fallbackMs);
      if (this.isClosed()) throw new TlsHandshakeError("connection closed before the TLS handshake");
      if (first === undefined) {
        // the client waits for INFO: send what was queued (INFO) in plaintext, as nats-server falls back
        this.writePlain(this.takeQueue());
      } else {
        // whatever the client sent, it is taken as its TLS hello (as nats-server does)
        return this.settle(true);
      }
    } else if (m.handshakeFirst) {
      return this.settle(true);
    }
    await this.lastPlainWrite;
    if (this.isClosed()) throw new TlsHandshakeError("connection closed before the TLS handshake");
    if (!m.allowNonTls) return this.settle(true);
    this.phase = "sniff";
    const first = await this.firstBytes(0);
    if (this.isClosed() || first === undefined) throw new TlsHandshakeError("connection closed before the TLS handshake");
    return this.settle(first[0] === TLS_HANDSHAKE_RECORD);
  }

  /** Waits for the client's first bytes, leaving them unread; undefined after `ms` (0 = no limit) or a close. */
  private firstBytes(ms: number): Promise<Buffer | undefined> {
    const raw = this.raw;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (b: Buffer | undefined): void => {
        clearTimeout(timer);
        raw.off("data", onData);
        raw.off("close", onClose);
        resolve(b);
      };
      const onData = (chunk: Buffer): void => {
        raw.pause();
        raw.unshift(chunk);
        done(chunk);
      };
      const onClose = (): void => done(undefined);
      raw.on("data", onData);
      raw.once("close", onClose);
      if (ms > 0) timer = setTimeout(() => {
        raw.pause();
        done(undefined);
      }, ms);
    });
  }

  private async settle(tls: boolean): Promise<void> {
    if (!tls) {
      this.phase = "plaintext";
      this.raw.off("close", this.rawClosed);
      this.adopt(new TcpTransport(this.raw));
      if (!this.paused) this.raw.resume();
      return;
    }
    this.phase = "handshake";
    this.raw.off("close", this.rawClosed);
    let s: TLSSocket;
    try {
      s = await this.handshaker.handshake(this.raw);
    } catch (e) {
      this.fail(e as TlsHandshakeError);
      throw e;
    }
    if (this.ended || this.closeFired) {
      s.destroy();
      this.fail(new TlsHandshakeError("connection closed during the TLS handshake"));
      throw new TlsHandshakeError("connection closed during the TLS handshake");
    }
    this.phase = "secure";
    const info = tlsInfoOf(s, !this.wrotePlain);
    this.tlsState = info.state;
    if (info.peer) this.tlsPeer = info.peer;
    this.adopt(new TcpTransport(s));
  }

  /** Hands the callbacks and what was queued to the settled transport. */
  private adopt(t: TcpTransport): void {
    this.inner = t;
    for (const cb of this.dataCbs) t.onData(cb);
    t.onClose((err) => this.fireClose(err));
    t.onDrain(() => {
      for (const cb of this.drainCbs) cb();
    });
    if (this.paused) t.pause();
    const q = this.takeQueue();
    if (q.length > 0) t.write(q);
  }

  private takeQueue(): Buffer[] {
    const q = this.queue;
    this.queue = [];
    return q;
  }

  private writePlain(chunks: Buffer[]): void {
    if (chunks.length === 0 || this.raw.destroyed) return;
    const raw = this.raw;
    this.wrotePlain = true;
    this.lastPlainWrite = new Promise((resolve) => {
      for (let i = 0; i < chunks.length - 1; i++) raw.write(chunks[i]);
      raw.write(chunks[chunks.length - 1], () => resolve());
    });
  }

  /** (a method: the phase changes while start() awaits) */
  private isClosed(): boolean {
    return this.phase === "closed";
  }

  private fail(err: Error): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.raw.destroy();
    this.queue = [];
    this.fireClose(err);
  }

  private fireClose(err?: Error): void {
    if (this.closeFired) return;
    this.closeFired = true;
    this.phase = "closed";
    for (const cb of this.closeCbs) cb(err);
  }

  get writableLength(): number {
    if (this.inner) return this.inner.writableLength;
    let n = this.raw.writableLength;
    for (const b of this.queue) n += b.length;
    return n;
  }

  write(chunks: Buffer[]): void {
    if (this.inner) return this.inner.write(chunks);
    if (this.phase === "closed") return;
    if (this.phase === "plain" && !this.mode.handshakeFirst && !this.starting) return this.writePlain(chunks);
    for (const c of chunks) this.queue.push(c);
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.dataCbs.push(cb);
    this.inner?.onData(cb);
  }

  onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb);
  }

  onDrain(cb: () => void): void {
    this.drainCbs.push(cb);
  }

  pause(): void {
    this.paused = true;
    this.inner?.pause();
  }

  resume(): void {
    this.paused = false;
    this.inner?.resume();
  }

  end(): void {
    this.ended = true;
    if (this.inner) return this.inner.end();
    if (this.phase === "plain" && !this.mode.handshakeFirst && !this.starting) {
      // e.g. maximum connections: INFO and -ERR were written in plaintext
      const raw = this.raw;
      raw.end();
      setTimeout(() => raw.destroy(), END_GRACE_MS).unref();
      return;
    }
    // mid-handshake there is nothing to flush that the client could read
    this.destroy();
  }

  destroy(): void {
    this.ended = true;
    if (this.inner) return this.inner.destroy();
    this.raw.destroy();
  }
}

// ---- certificate identity

/** The identity in a client certificate, for `verify_and_map` (see TlsPeer). */
export function tlsPeerFromCertificate(cert: PeerCertificate | X509Certificate): TlsPeer {
  return tlsPeerFromDer(cert.raw);
}

/** The same, from the certificate's DER bytes. Throws on a malformed certificate. */
export function tlsPeerFromDer(raw: Buffer): TlsPeer {
  const c = parseCertificate(raw);
  const peer: TlsPeer = {
    emails: c.emails,
    dnsNames: c.dnsNames,
    uris: c.uris,
    subject: rdnString(standardRdns(c.subject)),
    displaySubject: rdnString([...extraRdns(c.subject), ...standardRdns(c.subject)]),
    fingerprint: sha256hex(raw),
    spkiFingerprint: sha256hex(c.spki),
  };
  const rdns = ldapRdns(c.subject);
  if (rdns) peer.rdns = rdns;
  const dcs = c.subject.flat().filter((a) => a.oid === OID_DC && a.value !== undefined).map((a) => `DC=${a.value}`);
  if (dcs.length > 0) peer.subjectWithDCs = [peer.subject, dcs.join(",")].join(",");
  return peer;
}

/** Lower-case hex SHA-256 of a certificate's DER SubjectPublicKeyInfo (the key of `pinned_certs`). */
export function spkiFingerprint(certDer: Buffer): string {
  return sha256hex(parseCertificate(certDer).spki);
}

function sha256hex(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

// A minimal DER reader: just what the certificate's subject, public key and SAN need.

interface Tlv {
  tag: number;
  /** where the element starts (its tag) */
  at: number;
  /** its contents */
  start: number;
  end: number;
}

function readTlv(b: Buffer, at: number, limit: number = b.length): Tlv {
  if (at + 2 > limit) throw new Error("truncated DER");
  const tag = b[at]!;
  if ((tag & 0x1f) === 0x1f) throw new Error("unsupported DER tag");
  let len = b[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new Error("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new Error("truncated DER");
  return { tag, at, start, end };
}

function childrenOf(b: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.start; p < t.end; ) {
    const c = readTlv(b, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

function decodeOid(b: Buffer, t: Tlv): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = t.start; i < t.end; i++) {
    const x = b[i]!;
    v = v * 128 + (x & 0x7f);
    if (!(x & 0x80)) {
      if (parts.length === 0) {
        const first = v < 40 ? 0 : v < 80 ? 1 : 2;
        parts.push(first, v - first * 40);
      } else parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

/** The ASN.1 string types Go's x509 decodes; undefined for anything else. */
function decodeString(b: Buffer, t: Tlv): string | undefined {
  const body = b.subarray(t.start, t.end);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return body.toString("utf8");
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
      return body.toString("latin1");
    case 0x14: // T61String
      return body.toString("latin1");
    case 0x1e: { // BMPString (UTF-16BE)
      const le = Buffer.from(body);
      le.swap16();
      return le.toString("utf16le");
    }
    case 0x1c: { // UniversalString (UTF-32BE)
      let s = "";
      for (let i = 0; i + 4 <= body.length; i += 4) s += String.fromCodePoint(body.readUInt32BE(i));
      return s;
    }
  }
  return undefined;
}

interface Attribute {
  oid: string;
  /** the decoded string value; undefined when it is not a string */
  value: string | undefined;
  /** the value's DER */
  der: Buffer;
}

interface ParsedCertificate {
  subject: Attribute[][];
  spki: Buffer;
  emails: string[];
  dnsNames: string[];
  uris: string[];
}

const OID_DC = "0.9.2342.19200300.100.1.25";
const OID_SAN = "2.5.29.17";

function parseCertificate(der: Buffer): ParsedCertificate {
  const cert = readTlv(der, 0);
  const tbs = childrenOf(der, cert)[0];
  if (!tbs) throw new Error("bad certificate");
  const fields = childrenOf(der, tbs);
  // [0] version is optional; then serial, signature, issuer, validity, subject, spki
  const base = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subjectTlv = fields[base + 4];
  const spkiTlv = fields[base + 5];
  if (!subjectTlv || !spkiTlv) throw new Error("bad certificate");
  const subject = childrenOf(der, subjectTlv).map((rdn) =>
    childrenOf(der, rdn).map((atv): Attribute => {
      const [type, value] = childrenOf(der, atv);
      if (!type || !value) throw new Error("bad certificate name");
      return { oid: decodeOid(der, type), value: decodeString(der, value), der: der.subarray(value.at, value.end) };
    }));
  const out: ParsedCertificate = {
    subject, spki: der.subarray(spkiTlv.at, spkiTlv.end), emails: [], dnsNames: [], uris: [],
  };
  const extsWrapper = fields.find((f) => f.tag === 0xa3);
  if (extsWrapper) {
    const exts = childrenOf(der, extsWrapper)[0];
    for (const ext of exts ? childrenOf(der, exts) : []) {
      const parts = childrenOf(der, ext);
      if (parts.length < 2 || decodeOid(der, parts[0]!) !== OID_SAN) continue;
      const octets = parts[parts.length - 1]!;
      const names = readTlv(der, octets.start, octets.end);
      for (const gn of childrenOf(der, names)) {
        const s = der.subarray(gn.start, gn.end).toString("latin1");
        if (gn.tag === 0x81) out.emails.push(s);
        else if (gn.tag === 0x82) out.dnsNames.push(s);
        else if (gn.tag === 0x86) out.uris.push(s);
      }
    }
  }
  return out;
}

/** Go's short names, and the order `Name.ToRDNSequence` puts the attributes in. */
const STANDARD: [oid: string, name: string, single: boolean][] = [
  ["2.5.4.6", "C", false],
  ["2.5.4.8", "ST", false],
  ["2.5.4.7", "L", false],
  ["2.5.4.9", "STREET", false],
  ["2.5.4.17", "POSTALCODE", false],
  ["2.5.4.10", "O", false],
  ["2.5.4.11", "OU", false],
  ["2.5.4.3", "CN", true],
  ["2.5.4.5", "SERIALNUMBER", true],
];
const STANDARD_OIDS = new Set(STANDARD.map(([oid]) => oid));
const NAMES = new Map(STANDARD.map(([oid, name]) => [oid, name]));

interface Atv {
  oid: string;
  value: string;
  /** the value's DER, for attributes Go has no name for */
  der?: Buffer;
}

/** Go's Name.ToRDNSequence after FillFromRDNSequence: named attributes only, in Go's order. */
function standardRdns(subject: Attribute[][]): Atv[][] {
  const atvs = subject.flat();
  const out: Atv[][] = [];
  for (const [oid, , single] of STANDARD) {
    const values = atvs.filter((a) => a.oid === oid && a.value !== undefined).map((a) => a.value!);
    if (values.length === 0 || (single && values[values.length - 1] === "")) continue;
    // CommonName and SerialNumber keep the last value seen; the others keep them all in one RDN
    const kept = single ? [values[values.length - 1]!] : values;
    out.push(kept.map((value) => ({ oid, value })));
  }
  return out;
}

/** The attributes Go's Name.String() adds before the named ones (so they print last). */
function extraRdns(subject: Attribute[][]): Atv[][] {
  const out: Atv[][] = [];
  for (const a of subject.flat()) {
    if (STANDARD_OIDS.has(a.oid) && a.value !== undefined) continue;
    out.push([{ oid: a.oid, value: a.value ?? "", der: a.value !== undefined ? marshalGoString(a.value) : a.der }]);
  }
  return out;
}

/** go-ldap's FromRawCertSubject: undefined when an attribute has no name there or no string value. */
function ldapRdns(subject: Attribute[][]): { type: string; value: string }[][] | undefined {
  const out: { type: string; value: string }[][] = [];
  for (let i = subject.length - 1; i >= 0; i--) {
    const rdn = subject[i]!;
    if (rdn.length === 0) continue;
    const attrs: { type: string; value: string }[] = [];
    for (let j = rdn.length - 1; j >= 0; j--) {
      const a = rdn[j]!;
      const type = a.oid === OID_DC ? "DC" : NAMES.get(a.oid);
      if (type === undefined || a.value === undefined) return undefined;
      attrs.push({ type, value: a.value });
    }
    out.push(attrs);
  }
  return out;
}

/** Go's RDNSequence.String(): last RDN first, "+" within one, RFC 2253 escaping. */
function rdnString(rdns: Atv[][]): string {
  const parts: string[] = [];
  for (let i = rdns.length - 1; i >= 0; i--) {
    parts.push(rdns[i]!.map((a) => {
      const name = NAMES.get(a.oid);
      if (name === undefined) return `${a.oid}=#${(a.der ?? marshalGoString(a.value)).toString("hex")}`;
      return `${name}=${escapeValue(a.value)}`;
    }).join("+"));
  }
  return parts.join(",");
}

function escapeValue(v: string): string {
  const byteLen = Buffer.byteLength(v);
  let out = "";
  let k = 0;
  for (const ch of v) {
    let esc = false;
    switch (ch) {
      case ",": case "+": case "\"": case "\\": case "<": case ">": case ";":
        esc = true;
        break;
      case " ":
        esc = k === 0 || k === byteLen - 1;
        break;
      case "#":
        esc = k === 0;
        break;
    }
    out += esc ? "\\" + ch : ch;
    k += Buffer.byteLength(ch);
  }
  return out;
}

/** asn1.Marshal of a Go string: a PrintableString when it can be, else a UTF8String. */
function marshalGoString(s: string): Buffer {
  const body = Buffer.from(s, "utf8");
  const printable = [...body].every((c) =>
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    (c >= 0x27 && c <= 0x29) || (c >= 0x2b && c <= 0x2f) || c === 0x20 || c === 0x3a || c === 0x3d || c === 0x3f);
  const tag = printable ? 0x13 : 0x0c;
  let len: Buffer;
  if (body.length < 0x80) len = Buffer.from([body.length]);
  else {
    const bytes: number[] = [];
    for (let n = body.length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
