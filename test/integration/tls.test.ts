// TLS on the client port with the official client (@nats-io/transport-node) and raw sockets:
// INFO first then TLS (and handshake_first), client certificates (verify, other CA, pinned),
// minimum version, handshake timeout, plaintext clients refused (or accepted with
// allow_non_tls), and the identity of client certificates (transport.tlsPeer), connz fields.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createHash } from "node:crypto";
import { connect as tlsConnect } from "node:tls";
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { Logger, startServer, type Server } from "../../src/index.js";
import type { TlsOptions } from "../../src/config/options.js";
import { RawClient, until } from "../helpers.js";
import { makeClientCert, makeTestCerts, type CertFiles, type TestCerts } from "../tls-certs.js";

let certs: TestCerts;
const servers: Server[] = [];
const conns: NatsConnection[] = [];

before(() => {
  certs = makeTestCerts();
});
after(async () => {
  for (const nc of conns) await nc.close().catch(() => {});
  for (const s of servers) await s.close();
  certs.cleanup();
});

interface Started {
  server: Server;
  logs: string[];
}

async function start(tls: TlsOptions = {}, extra: Record<string, unknown> = {}): Promise<Started> {
  const logs: string[] = [];
  const server = await startServer(
    { host: "127.0.0.1", port: -1, tls: { cert_file: certs.server.cert, key_file: certs.server.key, ...tls }, ...extra },
    { logger: new Logger({ debug: true, logtime: false, sink: (l) => logs.push(l) }) },
  );
  servers.push(server);
  return { server, logs };
}

/** Client TLS options: trust our CA, present `who`'s certificate if given. */
function clientTls(who?: CertFiles, more: Record<string, unknown> = {}): ConnectionOptions["tls"] {
  return { caFile: certs.ca, ...(who ? { certFile: who.cert, keyFile: who.key } : {}), ...more };
}

async function client(s: Server, tls: ConnectionOptions["tls"], more: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const nc = await connect({ servers: s.clientURL, tls, timeout: 3000, ...more });
  conns.push(nc);
  return nc;
}

/** The client cannot connect, and the server closed its side as a TLS handshake failure. */
async function refused(s: Server, tls: ConnectionOptions["tls"], more: Partial<ConnectionOptions> = {}): Promise<void> {
  const closedBefore = s.closedClients.length;
  await assert.rejects(connect({ servers: s.clientURL, tls, timeout: 1500, reconnect: false, ...more }));
  await until(() => s.closedClients.length > closedBefore, 3000, "the refused connection to close");
  assert.equal(s.closedClients.at(-1)!.closedReason, "TLS Handshake Failure");
}

async function pubSubWorks(nc: NatsConnection): Promise<void> {
  const sub = nc.subscribe("tls.test", { max: 1 });
  nc.publish("tls.test", "hello over tls");
  for await (const m of sub) assert.equal(m.string(), "hello over tls");
}

function spkiSha256(certFile: string): string {
  const der = new X509Certificate(certs.read(certFile)).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex");
}

function infoOf(text: string): Record<string, unknown> {
  const m = /^INFO (.*)\r\n/.exec(text);
  assert.ok(m, `no INFO in ${JSON.stringify(text)}`);
  return JSON.parse(m[1]!);
}

describe("client port TLS, INFO first (the default)", () => {
  test("INFO goes out in plaintext with tls_required; a TLS client does pub/sub", async () => {
    const { server } = await start();
    const raw = await RawClient.connect(server.port);
    const info = infoOf((await raw.waitFor(/^INFO .*\r\n/))[0]);
    assert.equal(info.tls_required, true);
    assert.equal(info.tls_verify, undefined);
    assert.equal(info.tls_available, undefined);
    raw.close();
    const nc = await client(server, clientTls());
    await pubSubWorks(nc);
    const c = [...server.clients.values()].find((x) => x.transport.tlsState);
    assert.ok(c, "a connection with a TLS session");
    assert.equal(c.transport.tlsState!.handshakeFirst, false);
    assert.match(c.transport.tlsState!.version, /^1\.[23]$/);
    assert.match(c.transport.tlsState!.cipherSuite, /^TLS_/);
    // no client certificate was asked for
    assert.equal(c.transport.tlsPeer, undefined);
  });

  test("a plaintext client on the TLS port is closed; a TLS client on the same server is unaffected", async () => {
    const { server, logs } = await start();
    const nc = await client(server, clientTls());
    const raw = await RawClient.connect(server.port);
    await raw.waitFor(/^INFO .*\r\n/);
    raw.send('CONNECT {"verbose":false}\r\nPING\r\n');
    await raw.waitClosed();
    assert.ok(!raw.text.includes("PONG"), "no protocol spoken in plaintext");
    await until(() => server.closedClients.some((c) => c.closedReason === "TLS Handshake Failure"));
    assert.ok(logs.some((l) => /TLS handshake error: tls: first record does not look like a TLS handshake/.test(l)), logs.join("\n"));
    await pubSubWorks(nc);
  });

  test("its twin: a client that does TLS after INFO is not refused", async () => {
    const { server } = await start();
    const nc = await client(server, clientTls());
    await pubSubWorks(nc);
    assert.equal(server.closedClients.length, 0);
  });

  test("a client that says nothing is closed after the TLS timeout; others carry on", async () => {
    const { server, logs } = await start({ timeout: 0.3 });
    const nc = await client(server, clientTls());
    const raw = await RawClient.connect(server.port);
    await raw.waitFor(/^INFO .*\r\n/);
    const t0 = Date.now();
    await raw.waitClosed(3000);
    assert.ok(Date.now() - t0 >= 250, "closed at the timeout, not before");
    await until(() => logs.some((l) => l.includes("TLS handshake error: TLS handshake timeout")));
    await pubSubWorks(nc);
  });
});

describe("verify: client certificates", () => {
  test("INFO says tls_verify; a client certificate from the CA is accepted", async () => {
    const { server } = await start({ ca_file: certs.ca, verify: true });
    const raw = await RawClient.connect(server.port);
    const info = infoOf((await raw.waitFor(/^INFO .*\r\n/))[0]);
    raw.close();
    assert.equal(info.tls_required, true);
    assert.equal(info.tls_verify, true);
    const nc = await client(server, clientTls(certs.alice));
    await pubSubWorks(nc);
  });

  test("no client certificate: refused", async () => {
    const { server, logs } = await start({ ca_file: certs.ca, verify: true });
    await refused(server, clientTls());
    assert.ok(logs.some((l) => l.includes("[ERR]") && l.includes("TLS handshake error: tls: client didn't provide a certificate")));
  });

  test("a certificate from another CA: refused", async () => {
    const { server, logs } = await start({ ca_file: certs.ca, verify: true });
    await refused(server, clientTls(certs.mallory));
    assert.ok(logs.some((l) => l.includes("TLS handshake error: tls: failed to verify certificate: x509: certificate signed by unknown authority")),
      logs.join("\n"));
    // and one from the right CA still gets in
    await pubSubWorks(await client(server, clientTls(certs.bob)));
  });

  test("tlsPeer: the identity of each verified client certificate", async () => {
    const { server } = await start({ ca_file: certs.ca, verify_and_map: true });
    const peerOf = async (who: CertFiles) => {
      const nc = await client(server, clientTls(who));
      await nc.flush();
      const c = [...server.clients.values()].at(-1)!;
      const peer = c.transport.tlsPeer;
      await nc.close();
      assert.ok(peer, "tlsPeer is set after a verified handshake");
      const der = new X509Certificate(certs.read(who.cert)).raw;
      assert.equal(peer.fingerprint, createHash("sha256").update(der).digest("hex"));
      assert.equal(peer.spkiFingerprint, spkiSha256(who.cert));
      return peer;
    };
    const alice = await peerOf(certs.alice);
    assert.deepEqual(alice.emails, ["alice@acme.com"]);
    assert.deepEqual(alice.dnsNames, []);
    assert.equal(alice.subject, "CN=alice,OU=eng,O=Acme");
    const bob = await peerOf(certs.bob);
    assert.deepEqual(bob.emails, []);
    assert.deepEqual(bob.dnsNames, ["bob.example.com"]);
    assert.equal(bob.subject, "CN=bob");
    const carol = await peerOf(certs.carol);
    assert.deepEqual([carol.emails, carol.dnsNames, carol.uris], [[], [], []]);
    assert.equal(carol.subject, "CN=carol,OU=eng,O=Acme,C=US");
    assert.deepEqual(carol.rdns, [[{ type: "CN", value: "carol" }], [{ type: "OU", value: "eng" }], [{ type: "O", value: "Acme" }], [{ type: "C", value: "US" }]]);
    const dave = await peerOf(certs.dave);
    assert.equal(dave.subject, "CN=dave");
    assert.equal(dave.subjectWithDCs, "CN=dave,DC=org,DC=example");
  });

  test("its twin: without verify no certificate is asked for, so there is no tlsPeer", async () => {
    const { server } = await start({ ca_file: certs.ca });
    const nc = await client(server, clientTls(certs.alice));
    await nc.flush();
    const c = [...server.clients.values()].at(-1)!;
    assert.ok(c.transport.tlsState);
    assert.equal(c.transport.tlsPeer, undefined);
  });

  test("connz shows the TLS session, and the peer certificates with auth", async () => {
    const { server } = await start({ ca_file: certs.ca, verify: true }, { http_port: -1 });
    await client(server, clientTls(certs.alice));
    const get = async (q: string) => (await (await fetch(`http://127.0.0.1:${server.httpPort}/connz${q}`)).json()) as {
      connections: Record<string, unknown>[];
    };
    const plain = (await get("")).connections[0]!;
    assert.match(String(plain.tls_version), /^1\.[23]$/);
    assert.match(String(plain.tls_cipher_suite), /^TLS_/);
    assert.equal(plain.tls_peer_certs, undefined);
    assert.equal(plain.tls_first, undefined);
    const withAuth = (await get("?auth=true")).connections[0]!;
    const leaf = (withAuth.tls_peer_certs as Record<string, string>[])[0]!;
    assert.equal(leaf.subject, "CN=alice,OU=eng,O=Acme");
    assert.equal(leaf.spki_sha256, spkiSha256(certs.alice.cert));
    const varz = (await (await fetch(`http://127.0.0.1:${server.httpPort}/varz`)).json()) as Record<string, unknown>;
    assert.equal(varz.tls_required, true);
    assert.equal(varz.tls_verify, true);
    assert.equal(varz.tls_timeout, 2);
  });
});

describe("pinned_certs", () => {
  test("a pinned certificate is accepted; another one from the same CA is refused", async () => {
    const { server, logs } = await start({ ca_file: certs.ca, verify: true, pinned_certs: [spkiSha256(certs.alice.cert)] });
    await pubSubWorks(await client(server, clientTls(certs.alice)));
    await refused(server, clientTls(certs.bob));
    assert.ok(logs.some((l) => l.includes("TLS handshake error: certificate not pinned (CN=bob SHA-256: ")), logs.join("\n"));
  });
});

describe("handshake_first", () => {
  test("TLS comes before INFO: a handshakeFirst client works; tls_first in the session", async () => {
    const { server } = await start({ handshake_first: true });
    const nc = await client(server, clientTls(undefined, { handshakeFirst: true }));
    await pubSubWorks(nc);
    const c = [...server.clients.values()].at(-1)!;
    assert.equal(c.transport.tlsState!.handshakeFirst, true);
    // INFO went over TLS: a raw TLS client reads it first thing
    const text = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: "127.0.0.1", port: server.port, ca: certs.read(certs.ca) }, () => {
        s.once("data", (d: Buffer) => {
          resolve(d.toString());
          s.destroy();
        });
      });
      s.on("error", reject);
    });
    const info = infoOf(text);
    assert.equal(info.tls_required, true);
  });

  test("a client that waits for INFO does not get in (nothing is sent before the handshake)", async () => {
    const { server } = await start({ handshake_first: true, timeout: 0.5 });
    await refused(server, clientTls());
  });

  test("the other way round: a handshakeFirst client against an INFO-first server fails", async () => {
    const { server } = await start();
    await assert.rejects(connect({ servers: server.clientURL, tls: clientTls(undefined, { handshakeFirst: true }), timeout: 1500, reconnect: false }));
    // and an INFO-first client there is fine
    await pubSubWorks(await client(server, clientTls()));
  });

  test("auto: TLS-first clients and INFO-first clients both get in", async () => {
    const { server } = await start({ handshake_first: "auto" });
    await pubSubWorks(await client(server, clientTls(undefined, { handshakeFirst: true })));
    await pubSubWorks(await client(server, clientTls()));
    const firsts = [...server.clients.values()].map((c) => c.transport.tlsState?.handshakeFirst);
    assert.deepEqual(firsts, [true, false]);
  });
});

describe("min_version", () => {
  test("1.3 refuses a client limited to TLS 1.2", async () => {
    const { server } = await start({ min_version: "1.3" });
    await refused(server, clientTls(undefined, { maxVersion: "TLSv1.2" }));
    const nc = await client(server, clientTls());
    await nc.flush();
    assert.equal([...server.clients.values()].at(-1)!.transport.tlsState!.version, "1.3");
  });

  test("its twin: the default (1.2) accepts a client limited to TLS 1.2", async () => {
    const { server } = await start();
    const nc = await client(server, clientTls(undefined, { maxVersion: "TLSv1.2" }));
    await pubSubWorks(nc);
    assert.equal([...server.clients.values()].at(-1)!.transport.tlsState!.version, "1.2");
  });

  test("cipher_suites shape TLS 1.2", async () => {
    const { server } = await start({ cipher_suites: ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"] });
    const nc = await client(server, clientTls(undefined, { maxVersion: "TLSv1.2" }));
    await nc.flush();
    assert.equal([...server.clients.values()].at(-1)!.transport.tlsState!.cipherSuite, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
  });
});

describe("with the rest of the server", () => {
  test("user and password go over TLS: right ones get in, wrong ones are refused", async () => {
    const { server } = await start({}, { authorization: { user: "app", password: "s3cret" } });
    await pubSubWorks(await client(server, clientTls(), { user: "app", pass: "s3cret" }));
    await assert.rejects(connect({ servers: server.clientURL, tls: clientTls(), user: "app", pass: "nope", timeout: 1500, reconnect: false }),
      /Authorization Violation/i);
  });

  test("maximum connections: the refusal is written in plaintext, before any TLS", async () => {
    const { server } = await start({}, { max_connections: 1 });
    await client(server, clientTls());
    const raw = await RawClient.connect(server.port);
    await raw.waitFor(/-ERR 'maximum connections exceeded'\r\n/);
    assert.equal(infoOf(raw.text).tls_required, true);
    await raw.waitClosed();
  });
});

describe("allow_non_tls", () => {
  test("INFO says tls_available; plaintext and TLS clients both work, and talk to each other", async () => {
    const { server } = await start({}, { allow_non_tls: true });
    const raw = await RawClient.connect(server.port);
    const info = infoOf((await raw.waitFor(/^INFO .*\r\n/))[0]);
    assert.equal(info.tls_required, undefined);
    assert.equal(info.tls_available, true);
    raw.send('CONNECT {"verbose":false}\r\nSUB mixed 1\r\nPING\r\n');
    await raw.waitFor(/PONG\r\n/);
    const nc = await client(server, clientTls());
    nc.publish("mixed", "from tls");
    await nc.flush();
    await raw.waitFor(/MSG mixed 1 8\r\nfrom tls\r\n/);
    raw.close();
    const kinds = [...server.clients.values()].map((c) => c.transport.tlsState !== undefined);
    assert.ok(kinds.includes(true));
  });
});

describe("verify_and_map: the certificate names the user", () => {
  test("e-mail, DNS name, subject DN (in any RDN order) and DCs map to users; an unmapped certificate is refused", async () => {
    const erin = makeClientCert(certs, "erin", "/CN=erin");
    const { server } = await start({ ca_file: certs.ca, verify_and_map: true }, {
      authorization: {
        users: [
          { user: "alice@acme.com", permissions: { publish: "alice.>" } },
          { user: "bob.example.com" },
          { user: "C=US, O=Acme, OU=eng, CN=carol" },
          { user: "CN=dave,DC=org,DC=example" },
        ],
      },
    });
    const userOf = async (who: CertFiles) => {
      const nc = await client(server, clientTls(who));
      await nc.flush();
      const c = [...server.clients.values()].at(-1)!;
      const user = c.user;
      await nc.close();
      return user;
    };
    assert.equal(await userOf(certs.alice), "alice@acme.com");
    assert.equal(await userOf(certs.bob), "bob.example.com");
    assert.equal(await userOf(certs.carol), "C=US, O=Acme, OU=eng, CN=carol");
    assert.equal(await userOf(certs.dave), "CN=dave,DC=org,DC=example");
    // the mapped user's permissions apply
    const alice = await client(server, clientTls(certs.alice));
    const errs: string[] = [];
    (async () => {
      for await (const s of alice.status()) if (s.type === "error") errs.push(String((s as { error?: Error }).error?.message));
    })().catch(() => {});
    alice.publish("bob.x", "no");
    await alice.flush();
    await until(() => errs.length === 1, 2000, "permission error");
    assert.match(errs[0]!, /Publish to "bob\.x"/);
    // a verified certificate that names nobody
    await assert.rejects(connect({ servers: server.clientURL, tls: clientTls(erin), timeout: 1500, reconnect: false }), /Authorization Violation/i);
    // credentials in CONNECT do not replace the certificate
    await assert.rejects(connect({ servers: server.clientURL, tls: clientTls(erin), user: "bob.example.com", timeout: 1500, reconnect: false }), /Authorization Violation/i);
  });
});
