// Subject mapping of imports (`to`), as nats-server maps them: wildcard by wildcard, wherever the
// tokens sit; and which `to` subjects the configuration accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mapSubject } from "../../src/core/imports.js";
import { parseConfig, resolveOptions, ConfigError } from "../../src/config/index.js";

test("mapSubject: a trailing > carries the rest, the n-th * fills the n-th *", () => {
  assert.equal(mapSubject("$JS.API.STREAM.INFO.ORDERS", "$JS.API.>", "JS.A.API.>"), "JS.A.API.STREAM.INFO.ORDERS");
  assert.equal(mapSubject("JS.A.API.INFO", "JS.A.API.>", "$JS.API.>"), "$JS.API.INFO");
  assert.equal(mapSubject("$JS.API.CONSUMER.CREATE.X", "$JS.API.CONSUMER.>", "RI.JS.API.CONSUMER.>"), "RI.JS.API.CONSUMER.CREATE.X");
  assert.equal(mapSubject("a.1.b.2", "a.*.b.*", "x.*.*"), "x.1.2");
  assert.equal(mapSubject("a.1.rest.of.it", "a.*.>", "*.z.>"), "1.z.rest.of.it");
  assert.equal(mapSubject("same.subject", "same.subject", "same.subject"), "same.subject");
  assert.equal(mapSubject("svc", "svc", "local.svc"), "local.svc");
});

function conf(imp: string) {
  const text = `accounts { A { exports: [{ service: "$JS.API.>" }, { service: "a.*.b.*" }] }, B { imports: [ ${imp} ] } }`;
  return resolveOptions(parseConfig(text, "i.conf"), "i.conf");
}

test("import `to`: the same wildcards in any places are accepted, other wildcards refused", () => {
  assert.equal(conf(`{ service: { account: A, subject: "$JS.API.>" }, to: "JS.A.API.>" }`).accounts.find((a) => a.name === "B")!.imports[0]!.to, "JS.A.API.>");
  conf(`{ service: { account: A, subject: "a.*.b.*" }, to: "x.*.*" }`);
  for (const to of ["JS.A.API.*", "x.*", "x.*.*.>", "JS.A.API"]) {
    const subject = to.startsWith("JS") ? "$JS.API.>" : "a.*.b.*";
    assert.throws(() => conf(`{ service: { account: A, subject: "${subject}" }, to: "${to}" }`), (e: unknown) => e instanceof ConfigError && /must have the wildcards/.test(e.message), to);
  }
});
