// A byte stream to one peer, as protocol connections see it. TCP sockets and WebSocket
// connections both present this, so a protocol adapter never knows which it runs over.

export type TransportType = "tcp" | "websocket";

/**
 * Who the peer is, from the client certificate of a verified TLS handshake (`verify` or
 * `verify_and_map`). nats-server (checkClientTLSCertSubject) maps a user from it in this order:
 * each SAN email, then each SAN DNS name, then each SAN URI (each looked up as a user name);
 * then the DN match on `rdns` (when defined); then `subjectWithDCs` (when defined); then `subject`.
 */
export interface TlsPeer {
  /** SAN rfc822Name entries, in certificate order */
  emails: string[];
  /** SAN dNSName entries */
  dnsNames: string[];
  /** SAN URI entries */
  uris: string[];
  /**
   * The subject as nats-server matches it (Go's `Subject.ToRDNSequence().String()`): RFC 2253
   * order, most specific first, e.g. "CN=alice,OU=eng,O=Acme,C=US". Only the attributes Go names
   * (C, ST, L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER) are in it, in that fixed order
   * reversed, whatever order the certificate lists them in; values escaped as Go does.
   */
  subject: string;
  /** When the subject has domain components: `subject` then ",DC=..." in certificate order */
  subjectWithDCs?: string;
  /**
   * The subject as an RFC 4514 DN (go-ldap's FromRawCertSubject, which nats-server matches
   * first): RDNs last-to-first, attributes within a multi-valued RDN reversed too; types CN,
   * SERIALNUMBER, C, L, ST, STREET, O, OU, POSTALCODE, DC. Undefined when the subject has any
   * other attribute (e.g. emailAddress): nats-server then skips this match. nats-server parses
   * each user name as a DN and accepts it when it has the same RDNs, each equal as a set of
   * (type case-insensitively, value exactly) — in the same order, or else in any order.
   */
  rdns?: { type: string; value: string }[][];
  /** Go's `Subject.String()`: `subject` plus any other attribute (e.g. "1.2.840.113549.1.9.1=#0c..."), as connz shows */
  displaySubject: string;
  /** lower-case hex SHA-256 of the certificate (DER) */
  fingerprint: string;
  /** lower-case hex SHA-256 of the certificate's DER SubjectPublicKeyInfo (what `pinned_certs` lists) */
  spkiFingerprint: string;
}

/** The TLS session of a connection, once its handshake completed. */
export interface TlsState {
  /** "1.2", "1.3" (nats-server's form) */
  version: string;
  /** the IANA name, as Go reports it: "TLS_AES_128_GCM_SHA256" */
  cipherSuite: string;
  /** the handshake came before INFO (handshake_first) */
  handshakeFirst: boolean;
  /** the client's certificate chain, leaf first (when it sent one), as connz's tls_peer_certs */
  peerCerts?: { subject: string; spkiSha256: string; certSha256: string }[];
}

/** The error a Transport closes with when its TLS handshake failed. */
export class TlsHandshakeError extends Error {
  override readonly name = "TlsHandshakeError";
}

export interface Transport {
  readonly type: TransportType;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** the verified client certificate's identity (TLS with `verify`), once the handshake is done */
  readonly tlsPeer?: TlsPeer;
  /** set once a TLS handshake completed */
  readonly tlsState?: TlsState;
  /** bytes handed to `write` that the OS has not taken yet */
  readonly writableLength: number;
  /** Writes the chunks in order, as one gathered write where the transport can. */
  write(chunks: Buffer[]): void;
  /** Called with each received chunk; the chunk may be kept (it is not reused). */
  onData(cb: (chunk: Buffer) => void): void;
  /** Called once, when the connection is gone for whatever reason. */
  onClose(cb: (err?: Error) => void): void;
  /** Called when everything written so far has reached the OS. */
  onDrain(cb: () => void): void;
  /** Stops reading from the peer (backpressure to a fast publisher). */
  pause(): void;
  resume(): void;
  /**
   * Closes after what was written is sent. `reason` is the connection's closed reason
   * ("Authentication Failure", "Server Shutdown", ...): a WebSocket puts the matching status
   * in its close frame, as nats-server does.
   */
  end(reason?: string): void;
  /** Closes now, dropping anything unsent. */
  destroy(): void;
}
