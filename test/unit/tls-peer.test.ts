// tlsPeerFromCertificate: the identity nats-server maps users from (verify_and_map). The
// expected strings were checked against nats-server 2.9.10 with the same certificates: its
// "Using certificate subject / RDNSequence for auth" matches and its connz tls_peer_certs.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createHash } from "node:crypto";
import { spkiFingerprint, tlsPeerFromCertificate, tlsPeerFromDer } from "../../src/transport/tls.js";
import { makeClientCert, makeTestCerts, type CertFiles, type TestCerts } from "../tls-certs.js";

let certs: TestCerts;
before(() => {
  certs = makeTestCerts();
});
after(() => certs.cleanup());

const x509 = (c: CertFiles | string) => new X509Certificate(certs.read(typeof c === "string" ? c : c.cert));
const peerOf = (c: CertFiles) => tlsPeerFromCertificate(x509(c));

describe("tlsPeerFromCertificate", () => {
  test("SAN email, DNS and URI entries, in certificate order", () => {
    assert.deepEqual(peerOf(certs.alice).emails, ["alice@acme.com"]);
    assert.deepEqual(peerOf(certs.bob).dnsNames, ["bob.example.com"]);
    const zed = makeClientCert(certs, "zed", "/CN=zed",
      ["subjectAltName=URI:spiffe://acme/zed,email:z1@x.com,DNS:a.example,email:z2@x.com,DNS:b.example,IP:10.0.0.1"]);
    const p = peerOf(zed);
    assert.deepEqual(p.emails, ["z1@x.com", "z2@x.com"]);
    assert.deepEqual(p.dnsNames, ["a.example", "b.example"]);
    assert.deepEqual(p.uris, ["spiffe://acme/zed"]);
    const carol = peerOf(certs.carol);
    assert.deepEqual([carol.emails, carol.dnsNames, carol.uris], [[], [], []]);
  });

  test("subject: Go's RDN sequence string, most specific first, in Go's fixed attribute order", () => {
    assert.equal(peerOf(certs.alice).subject, "CN=alice,OU=eng,O=Acme");
    assert.equal(peerOf(certs.carol).subject, "CN=carol,OU=eng,O=Acme,C=US");
    // the certificate lists them the other way round: the string is the same
    const frank = makeClientCert(certs, "frank", "/CN=frank/O=Acme/C=US/emailAddress=f@acme.com");
    assert.equal(peerOf(frank).subject, "CN=frank,O=Acme,C=US");
    // attributes Go has no name for (emailAddress) are not in it
    const erin = makeClientCert(certs, "erin", "/C=US/O=Acme/CN=erin/emailAddress=erin@acme.com");
    const e = peerOf(erin);
    assert.equal(e.subject, "CN=erin,O=Acme,C=US");
    assert.equal(e.displaySubject, "CN=erin,O=Acme,C=US,1.2.840.113549.1.9.1=#0c0d6572696e4061636d652e636f6d");
    assert.equal(e.rdns, undefined, "go-ldap cannot read emailAddress: no DN match");
  });

  test("values are escaped as RFC 2253 (Go); a multi-valued RDN is split by attribute", () => {
    const hal = makeClientCert(certs, "hal", "/O=A+OU=B/CN=hal, jr/emailAddress=h@x.com");
    const p = peerOf(hal);
    assert.equal(p.subject, "CN=hal\\, jr,OU=B,O=A");
    assert.equal(p.displaySubject, "CN=hal\\, jr,OU=B,O=A,1.2.840.113549.1.9.1=#0c076840782e636f6d");
    const ivy = makeClientCert(certs, "ivy", "/O=A+OU=B/CN=ivy");
    assert.deepEqual(peerOf(ivy).rdns, [[{ type: "CN", value: "ivy" }], [{ type: "OU", value: "B" }, { type: "O", value: "A" }]]);
  });

  test("domain components: subjectWithDCs and the DN", () => {
    const dave = peerOf(certs.dave);
    assert.equal(dave.subject, "CN=dave");
    assert.equal(dave.subjectWithDCs, "CN=dave,DC=org,DC=example");
    assert.deepEqual(dave.rdns, [[{ type: "CN", value: "dave" }], [{ type: "DC", value: "example" }], [{ type: "DC", value: "org" }]]);
    const gina = makeClientCert(certs, "gina", "/DC=org/DC=example/CN=gina/emailAddress=g@x.com");
    const g = peerOf(gina);
    assert.equal(g.subjectWithDCs, "CN=gina,DC=org,DC=example");
    assert.equal(g.displaySubject,
      "CN=gina,1.2.840.113549.1.9.1=#0c076740782e636f6d,0.9.2342.19200300.100.1.25=#13076578616d706c65,0.9.2342.19200300.100.1.25=#13036f7267");
    assert.equal(peerOf(certs.alice).subjectWithDCs, undefined);
  });

  test("fingerprints: SHA-256 of the certificate and of its SubjectPublicKeyInfo", () => {
    for (const c of [certs.alice, certs.server, certs.mallory]) {
      const x = x509(c);
      const p = tlsPeerFromCertificate(x);
      assert.equal(p.fingerprint, createHash("sha256").update(x.raw).digest("hex"));
      assert.equal(p.fingerprint, x.fingerprint256.replace(/:/g, "").toLowerCase());
      const spki = x.publicKey.export({ type: "spki", format: "der" });
      assert.equal(p.spkiFingerprint, createHash("sha256").update(spki).digest("hex"));
      assert.equal(spkiFingerprint(x.raw), p.spkiFingerprint);
    }
  });

  test("a CA certificate and the server's (with an IP SAN, not an identity) parse too", () => {
    assert.equal(tlsPeerFromCertificate(x509(certs.ca)).subject, "CN=Junction Test CA,O=Junction Test");
    assert.deepEqual(peerOf(certs.server).dnsNames, ["localhost"]);
  });

  test("malformed DER throws (callers treat it as no identity)", () => {
    assert.throws(() => tlsPeerFromDer(Buffer.from([0x30, 0x82, 0xff])));
    assert.throws(() => tlsPeerFromDer(Buffer.alloc(0)));
    const der = x509(certs.alice).raw;
    assert.throws(() => tlsPeerFromDer(der.subarray(0, 100)));
  });
});
