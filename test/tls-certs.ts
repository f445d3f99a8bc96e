// Test certificates, made with `openssl` at test time (once per test file) in a temporary
// directory: a CA, a server certificate for localhost/127.0.0.1, client certificates with an
// email SAN, a DNS SAN, only a subject, one with domain components, and one from another CA.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CertFiles {
  cert: string;
  key: string;
}

export interface TestCerts {
  dir: string;
  ca: string;
  otherCa: string;
  server: CertFiles;
  /** O=Acme/OU=eng/CN=alice, SAN email:alice@acme.com */
  alice: CertFiles;
  /** CN=bob, SAN DNS:bob.example.com */
  bob: CertFiles;
  /** C=US/O=Acme/OU=eng/CN=carol, no SAN */
  carol: CertFiles;
  /** DC=org/DC=example/CN=dave, no SAN */
  dave: CertFiles;
  /** CN=mallory, SAN email:mallory@evil.com, signed by otherCa */
  mallory: CertFiles;
  /** a key that belongs to no certificate here */
  strayKey: string;
  read(path: string): string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function newKey(dir: string, name: string): string {
  const key = join(dir, `${name}-key.pem`);
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", key], dir);
  return key;
}

function makeCa(dir: string, name: string, subject: string): { cert: string; key: string } {
  const key = newKey(dir, name);
  const cert = join(dir, `${name}.pem`);
  openssl(["req", "-x509", "-new", "-key", key, "-out", cert, "-days", "2", "-subj", subject], dir);
  return { cert, key };
}

/** One more certificate signed by the test CA (e.g. with an unusual subject) in the same directory. */
export function makeClientCert(certs: TestCerts, name: string, subject: string, ext: string[] = []): CertFiles {
  return makeLeaf(certs.dir, name, subject, { cert: certs.ca, key: join(certs.dir, "ca-key.pem") },
    ["extendedKeyUsage=clientAuth", ...ext]);
}

function makeLeaf(
  dir: string, name: string, subject: string, ca: { cert: string; key: string }, ext: string[],
): CertFiles {
  const key = newKey(dir, name);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ["basicConstraints=CA:FALSE", ...ext].join("\n") + "\n");
  openssl(["req", "-new", "-key", key, "-out", csr, "-subj", subject, "-multivalue-rdn"], dir);
  openssl([
    "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
    "-out", cert, "-days", "2", "-extfile", extFile,
  ], dir);
  return { cert, key };
}

/** Makes the whole set (about a second of openssl). */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "junction-tls-"));
  const ca = makeCa(dir, "ca", "/O=Junction Test/CN=Junction Test CA");
  const other = makeCa(dir, "other-ca", "/CN=Other CA");
  const client = "extendedKeyUsage=clientAuth";
  return {
    dir,
    ca: ca.cert,
    otherCa: other.cert,
    server: makeLeaf(dir, "server", "/CN=localhost", ca,
      ["extendedKeyUsage=serverAuth", "subjectAltName=DNS:localhost,IP:127.0.0.1"]),
    alice: makeLeaf(dir, "alice", "/O=Acme/OU=eng/CN=alice", ca, [client, "subjectAltName=email:alice@acme.com"]),
    bob: makeLeaf(dir, "bob", "/CN=bob", ca, [client, "subjectAltName=DNS:bob.example.com"]),
    carol: makeLeaf(dir, "carol", "/C=US/O=Acme/OU=eng/CN=carol", ca, [client]),
    dave: makeLeaf(dir, "dave", "/DC=org/DC=example/CN=dave", ca, [client]),
    mallory: makeLeaf(dir, "mallory", "/CN=mallory", other, [client, "subjectAltName=email:mallory@evil.com"]),
    strayKey: newKey(dir, "stray"),
    read: (p) => readFileSync(p, "utf8"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
