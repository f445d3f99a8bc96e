// The `tls { }` block (client port and websocket): keys, defaults, the files read and checked at
// start-up, and nats-server's error texts with file:line.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseConfig, resolveOptions, type Options, type ResolvedOptions } from "../../src/config/index.js";
import { makeTestCerts, type TestCerts } from "../tls-certs.js";

let certs: TestCerts;
before(() => {
  certs = makeTestCerts();
});
after(() => certs.cleanup());

function conf(text: string): ResolvedOptions {
  return resolveOptions(parseConfig(text, "j.conf"), "j.conf");
}

function confFails(text: string, message: string | RegExp): ConfigError {
  try {
    conf(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

/** A tls block with the server's certificate and `extra` lines, one key per line from line 4. */
function tlsConf(...extra: string[]): string {
  return [
    "tls {",
    `  cert_file: "${certs.server.cert}"`,
    `  key_file: "${certs.server.key}"`,
    ...extra.map((l) => "  " + l),
    "}",
  ].join("\n");
}

describe("tls block: what it resolves to", () => {
  test("defaults: 2s timeout, TLS 1.2 minimum, INFO first, no verification; auth timeout 3s", () => {
    const r = conf(tlsConf());
    const t = r.tls!;
    assert.equal(t.cert_file, certs.server.cert);
    assert.equal(t.key_file, certs.server.key);
    assert.equal(t.cert.toString(), certs.read(certs.server.cert));
    assert.equal(t.key.toString(), certs.read(certs.server.key));
    assert.equal(t.ca, undefined);
    assert.equal(t.verify, false);
    assert.equal(t.map, false);
    assert.equal(t.timeout_ms, 2000);
    assert.equal(t.handshake_first, false);
    assert.equal(t.handshake_first_fallback_ms, 0);
    assert.equal(t.min_version, "TLSv1.2");
    assert.equal(t.pinned_certs, undefined);
    assert.deepEqual({ ...t.context, cert: undefined, key: undefined }, {
      cert: undefined, key: undefined, minVersion: "TLSv1.2", honorCipherOrder: true, requestCert: false, rejectUnauthorized: false,
    });
    // nats-server: with TLS the default authorization timeout is the TLS timeout plus one second
    assert.equal(r.auth_timeout_ms, 3000);
    assert.equal(r.allow_non_tls, undefined);
    assert.equal(resolveOptions({}).tls, undefined);
  });

  test("every supported key", () => {
    const t = conf(tlsConf(
      `ca_file: "${certs.ca}"`,
      "verify: true",
      "timeout: 0.5",
      "handshake_first: true",
      'min_version: "1.3"',
      "cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]",
      "curve_preferences: [X25519, CurveP256]",
      `pinned_certs: ["${"AB".repeat(32)}"]`,
      "insecure: true",
    )).tls!;
    assert.equal(t.ca_file, certs.ca);
    assert.equal(t.ca!.toString(), certs.read(certs.ca));
    assert.equal(t.verify, true);
    assert.equal(t.timeout_ms, 500);
    assert.equal(t.handshake_first, true);
    assert.equal(t.min_version, "TLSv1.3");
    assert.deepEqual(t.pinned_certs, ["ab".repeat(32)]);
    assert.equal(t.insecure, true);
    assert.equal(t.context.requestCert, true);
    assert.equal(t.context.rejectUnauthorized, true);
    assert.equal(t.context.minVersion, "TLSv1.3");
    // OpenSSL's names for TLS 1.2; TLS 1.3 suites stay as Go keeps them: all of them
    assert.equal(t.context.ciphers,
      "ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
    assert.equal(t.context.ecdhCurve, "X25519:P-256");
  });

  test("verify_and_map implies verify; timeout as a duration; handshake_first aliases and fallback", () => {
    const t = conf(tlsConf(`ca_file: "${certs.ca}"`, "verify_and_map: true", 'timeout: "750ms"')).tls!;
    assert.equal(t.verify, true);
    assert.equal(t.map, true);
    assert.equal(t.timeout_ms, 750);
    assert.equal(conf(tlsConf("first: true")).tls!.handshake_first, true);
    assert.equal(conf(tlsConf('immediate: "on"')).tls!.handshake_first, true);
    assert.equal(conf(tlsConf('handshake_first: "off"')).tls!.handshake_first, false);
    const auto = conf(tlsConf("handshake_first: auto")).tls!;
    assert.equal(auto.handshake_first, true);
    assert.equal(auto.handshake_first_fallback_ms, 50);
    assert.equal(conf(tlsConf('handshake_first: "300ms"')).tls!.handshake_first_fallback_ms, 300);
    // timeout 0 is the default (as nats-server)
    assert.equal(conf(tlsConf("timeout: 0")).tls!.timeout_ms, 2000);
  });

  test("allow_non_tls is kept only with a tls block", () => {
    assert.equal(conf(tlsConf() + "\nallow_non_tls: true").allow_non_tls, true);
    assert.equal(conf("allow_non_tls: true").allow_non_tls, undefined);
  });

  test("an explicit authorization timeout wins over the TLS default", () => {
    assert.equal(conf(tlsConf() + "\nauthorization { timeout: 5 }").auth_timeout_ms, 5000);
    assert.equal(conf(tlsConf("timeout: 4")).auth_timeout_ms, 5000);
  });

  test("programmatic options take the same keys", () => {
    const o: Options = { tls: { cert_file: certs.server.cert, key_file: certs.server.key, verify: true, ca_file: certs.ca } };
    const r = resolveOptions(o);
    assert.equal(r.tls!.verify, true);
    assert.throws(() => resolveOptions({ tls: { cert_file: certs.server.cert } }),
      (e: Error) => e instanceof ConfigError && e.message === "missing 'key_file' in TLS configuration");
  });

  test("websocket tls: wss without no_tls", () => {
    const r = conf(`websocket {\n  port: -1\n  tls {\n    cert_file: "${certs.server.cert}"\n    key_file: "${certs.server.key}"\n    verify_and_map: true\n    ca_file: "${certs.ca}"\n  }\n}`);
    assert.equal(r.websocket!.no_tls, false);
    assert.equal(r.websocket!.tls!.map, true);
    assert.equal(r.tls, undefined);
    confFails("websocket {\n  port: 8080\n}",
      'j.conf:1:1: "websocket" requires TLS configuration: add a "tls { cert_file, key_file }" block, or set "no_tls: true"');
    confFails(`websocket {\n  port: 1\n  tls {\n    cert_file: "${certs.server.cert}"\n  }\n}`,
      "j.conf:3:3: missing 'key_file' in TLS configuration");
  });
});

describe("tls block: errors (nats-server's texts, with file:line)", () => {
  test("missing or unreadable files name the key that names them", () => {
    confFails(`tls {\n  cert_file: "${certs.dir}/nope.pem"\n  key_file: "${certs.server.key}"\n}`,
      `j.conf:2:3: error parsing X509 certificate/key pair: open ${certs.dir}/nope.pem: no such file or directory`);
    confFails(`tls {\n  cert_file: "${certs.server.cert}"\n  key_file: "${certs.dir}/nope-key.pem"\n}`,
      `j.conf:3:3: error parsing X509 certificate/key pair: open ${certs.dir}/nope-key.pem: no such file or directory`);
    confFails(tlsConf(`ca_file: "${certs.dir}/nope-ca.pem"`),
      `j.conf:4:3: open ${certs.dir}/nope-ca.pem: no such file or directory`);
    confFails(`tls {\n  cert_file: "${certs.dir}"\n  key_file: "${certs.server.key}"\n}`,
      `j.conf:2:3: error parsing X509 certificate/key pair: open ${certs.dir}: is a directory`);
  });

  test("a key that does not belong to the certificate", () => {
    confFails(`tls {\n  cert_file: "${certs.server.cert}"\n  key_file: "${certs.strayKey}"\n}`,
      `j.conf:3:3: error parsing X509 certificate/key pair: tls: private key does not match public key (${certs.strayKey} for ${certs.server.cert})`);
  });

  test("files that hold no PEM data, or the wrong kind", () => {
    confFails(`tls {\n  cert_file: "${certs.server.key}"\n  key_file: "${certs.server.key}"\n}`,
      `j.conf:2:3: error parsing X509 certificate/key pair: tls: failed to find any PEM data in certificate input (${certs.server.key})`);
    confFails(`tls {\n  cert_file: "${certs.server.cert}"\n  key_file: "${certs.server.cert}"\n}`,
      `j.conf:3:3: error parsing X509 certificate/key pair: tls: failed to find any PEM data in key input (${certs.server.cert})`);
    confFails(tlsConf(`ca_file: "${certs.server.key}"`), `j.conf:4:3: failed to parse root ca certificate (${certs.server.key})`);
  });

  test("cert_file without key_file and the reverse; no certificate at all", () => {
    confFails(`tls {\n  cert_file: "${certs.server.cert}"\n}`, "j.conf:1:1: missing 'key_file' in TLS configuration");
    confFails(`tls {\n  key_file: "${certs.server.key}"\n}`, "j.conf:1:1: missing 'cert_file' in TLS configuration");
    confFails("tls {\n  verify: true\n}", `j.conf:1:1: "tls" needs a server certificate: set 'cert_file' and 'key_file'`);
    confFails("tls: true", 'j.conf:1:1: "tls" must be a map, got boolean true');
  });

  test("min_version", () => {
    confFails(tlsConf('min_version: "1.1"'), "j.conf:4:3: error parsing tls config: unsupported TLS version: TLS 1.1");
    confFails(tlsConf('min_version: "1.0"'), "j.conf:4:3: error parsing tls config: unsupported TLS version: TLS 1.0");
    confFails(tlsConf('min_version: "1.4"'), "j.conf:4:3: error parsing tls config: unknown version: 1.4");
    confFails(tlsConf("min_version: 1.3"),
      'j.conf:4:3: error parsing tls config: \'min_version\' wrong type: 1.3 (write it as a string: "1.3")');
  });

  test("cipher suites and curves", () => {
    confFails(tlsConf("cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_NOPE]"), "j.conf:4:58: unrecognized cipher TLS_NOPE");
    confFails(tlsConf("cipher_suites: []"), "j.conf:4:3: error parsing tls config, 'cipher_suites' cannot be empty");
    confFails(tlsConf("cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]"),
      "j.conf:1:1: insecure cipher suites configured without 'allow_insecure_cipher_suites' option set: TLS_RSA_WITH_RC4_128_SHA");
    // allowed, but OpenSSL has no RC4 any more
    confFails(tlsConf("cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]", "allow_insecure_cipher_suites: true"),
      "j.conf:1:1: error parsing tls config: none of the configured cipher suites is available");
    confFails(tlsConf("curve_preferences: [CurveP999]"), "j.conf:4:23: unrecognized curve preference CurveP999");
  });

  test("typed keys", () => {
    confFails(tlsConf('verify: "yes"'), "j.conf:4:3: error parsing tls config, expected 'verify' to be a boolean");
    confFails(tlsConf("timeout: [1]"), "j.conf:4:3: error parsing tls config, 'timeout' wrong type");
    confFails(tlsConf('timeout: "soon"'), 'j.conf:4:3: error parsing tls config, \'timeout\' invalid duration "soon"');
    confFails(`tls {\n  cert_file: 5\n}`, "j.conf:2:3: error parsing tls config, expected 'cert_file' to be filename");
    confFails(tlsConf('handshake_first: "maybe"'), 'j.conf:4:3: field "handshake_first"\'s value "maybe" is invalid');
    confFails(tlsConf("handshake_first: 5"), 'j.conf:4:3: field "handshake_first" should be a boolean or a string, got number 5');
    confFails(tlsConf("verify_cert_and_check_known_urls: true"), "j.conf:4:3: verify_cert_and_check_known_urls not supported in this context");
  });

  test("pinned_certs must be hex SHA-256 values", () => {
    confFails(tlsConf("pinned_certs: [abc]"),
      "j.conf:4:18: error parsing tls config, 'pinned_certs' key abc does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo");
    confFails(tlsConf("pinned_certs: abc"),
      "j.conf:4:3: error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded sha256 of DER encoded SubjectPublicKeyInfo");
  });

  test("unknown keys, and nats-server keys not supported yet", () => {
    confFails(tlsConf("bogus: 1"), 'j.conf:4:3: unknown configuration key "tls.bogus"');
    for (const k of ["ocsp_peer", "cert_store", "cert_match", "certs", "connection_rate_limit"]) {
      confFails(tlsConf(`${k}: true`), `j.conf:4:3: "tls.${k}" is not supported yet`);
    }
    confFails(`websocket {\n  port: 1\n  tls {\n    cert_file: "${certs.server.cert}"\n    key_file: "${certs.server.key}"\n    ocsp_peer: true\n  }\n}`,
      'j.conf:6:5: "websocket.tls.ocsp_peer" is not supported yet');
  });

  test("every problem in the block is reported", () => {
    const e = confFails(tlsConf("verify: 1", 'min_version: "0.9"'), /^j\.conf:4:3: /);
    assert.deepEqual(e.issues.map((i) => i.message), [
      "j.conf:4:3: error parsing tls config, expected 'verify' to be a boolean",
      "j.conf:5:3: error parsing tls config: unknown version: 0.9",
    ]);
  });
});
