// Resolution of users, permissions, accounts, exports and imports, and their errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, resolveOptions, ConfigError, type ResolvedOptions } from "../../src/config/index.js";

function conf(text: string): ResolvedOptions {
  return resolveOptions(parseConfig(text, "a.conf"), "a.conf");
}

function fails(text: string, expected: RegExp): void {
  try {
    conf(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, expected);
    return;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

const NKEY = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";

test("permissions: lists, allow/deny maps, queue entries, allow_responses", () => {
  const r = conf(`authorization { users: [
    { user: a, password: a, permissions: { publish: "x.>", subscribe: ["y", "z.*"] } }
    { user: b, password: b, permissions: { pub: { allow: ["p"], deny: "p.secret" }, sub: { allow: ["foo", "foo v1", "foo *.dev"], deny: ["> *.prod"] } } }
    { user: c, password: c, permissions: { allow_responses: true } }
    { user: d, password: d, permissions: { allow_responses: { max: 5, expires: "1m" } } }
  ] }`);
  assert.deepEqual(r.users[0]!.permissions, { publish: { allow: ["x.>"] }, subscribe: { allow: ["y", "z.*"] } });
  assert.deepEqual(r.users[1]!.permissions, {
    publish: { allow: ["p"], deny: ["p.secret"] },
    subscribe: { allow: ["foo", "foo v1", "foo *.dev"], deny: ["> *.prod"] },
  });
  assert.deepEqual(r.users[2]!.permissions, { allow_responses: { max: 1, expires_ms: 120_000 } });
  assert.deepEqual(r.users[3]!.permissions, { allow_responses: { max: 5, expires_ms: 60_000 } });
});

test("users: nkeys, bcrypt, connection types, default permissions for users without their own", () => {
  const r = conf(`authorization {
    default_permissions: { subscribe: "_INBOX.>" }
    users: [
      { nkey: ${NKEY} }
      { user: h, password: "$2a$11$abcdefghijklmnopqrstuv0123456789012345678901234567890", allowed_connection_types: ["websocket", "STANDARD"] }
      { user: own, password: x, permissions: { publish: a } }
    ]
  }`);
  assert.equal(r.users[0]!.nkey, NKEY);
  assert.deepEqual(r.users[0]!.permissions, { subscribe: { allow: ["_INBOX.>"] } });
  assert.deepEqual(r.users[1]!.allowed_connection_types, ["WEBSOCKET", "STANDARD"]);
  assert.deepEqual(r.users[2]!.permissions, { publish: { allow: ["a"] } });
});

test("no_auth_user and system_account", () => {
  const r = conf(`no_auth_user: guest\nsystem_account: SYS\naccounts { SYS { users: [{user: admin, password: x}] }, APP { users: [{user: guest}] } }`);
  assert.equal(r.no_auth_user, "guest");
  assert.equal(r.system_account, "SYS");
  assert.equal(conf("port: 1").system_account, "$SYS");
});

test("errors name the file, line and key", () => {
  fails(`authorization { users: [ { password: x } ] }`, /a\.conf:1:\d+: .*requires a user/);
  fails(`authorization { users: [ { nkey: UBAD } ] }`, /not a valid public nkey/);
  fails(`authorization { users: [ { nkey: ${NKEY}, user: x } ] }`, /nkey users do not take usernames or passwords/);
  fails(`authorization { users: [ { user: x, permissions: { publish: "a..b" } } ] }`, /"a\.\.b" is not a valid subject/);
  fails(`authorization { users: [ { user: x, permissions: { publish: "a q" } } ] }`, /is not a valid subject/);
  fails(`authorization { users: [ { user: x, permissions: { subscribe: { allow: "a", nope: "b" } } } ] }`, /only "allow" or "deny"/);
  fails(`authorization { users: [ { user: x, permissions: { publsh: "a" } } ] }`, /unknown field .*publsh/);
  fails(`authorization { users: [ { user: x, allowed_connection_types: ["CARRIER_PIGEON"] } ] }`, /invalid connection type "CARRIER_PIGEON"/);
  fails(`authorization { users: [ { user: x, password: a }, { user: x, password: b } ] }`, /duplicate user "x"/);
  fails(`accounts { A { users: [ {user: x} ] }, B { users: [ {user: x} ] } }`, /duplicate user "x"/);
  fails(`no_auth_user: ghost\nauthorization { users: [ {user: x} ] }`, /a\.conf:1:1: "no_auth_user": "ghost" not present/);
  fails(`authorization { token: t, users: [ {user: x} ] }`, /can not have a single user\/password or token and a users array/);
  fails(`system_account: NOPE`, /account "NOPE" is not defined/);
  fails(`authorization { users: "x" }`, /must be an array of users/);
  fails(`accounts: [ A ]`, /must be a map of account names/);
  fails(`accounts { $G { } }`, /reserved/);
});

test("imports must be exported, to the importer", () => {
  const base = `accounts {
    A { exports: [ { stream: "pub.>" }, { service: "svc.*", accounts: [B] }, { service: "q", response_type: stream } ] }
    B { imports: [ IMPORT ] }
    C { }
  }`;
  conf(base.replace("IMPORT", `{ stream: { account: A, subject: "pub.x" }, prefix: a }`));
  conf(base.replace("IMPORT", `{ service: { account: A, subject: "svc.one" }, to: "one" }`));
  fails(base.replace("IMPORT", `{ stream: { account: A, subject: "other" } }`), /a\.conf:3:\d+: import of stream "other" into account "B" is not authorized/);
  fails(base.replace("IMPORT", `{ service: { account: A, subject: "pub.x" } }`), /import of service "pub\.x" .* not authorized/);
  fails(base.replace("IMPORT", `{ stream: { account: Z, subject: "pub.x" } }`), /account "Z" does not exist/);
  fails(`accounts { A { exports: [ { service: "svc.*", accounts: [B] } ] }, B { }, C { imports: [ { service: { account: A, subject: svc.x } } ] } }`,
    /into account "C" is not authorized/);
  fails(base.replace("IMPORT", `{ stream: { account: A } }`), /needs both "account" and "subject"/);
  fails(base.replace("IMPORT", `{ service: { account: A, subject: "svc.one" }, prefix: x }`), /"prefix" applies to stream imports/);
  fails(base.replace("IMPORT", `{ stream: { account: A, subject: "pub.*" }, to: "local" }`), /must have the wildcards/);
  fails(`accounts { A { exports: [ { stream: x, service: y } ] } }`, /exactly one of "stream" or "service"/);
  fails(`accounts { A { exports: [ { service: x, response_type: sometimes } ] } }`, /unknown response type/);
  fails(`accounts { A { exports: [ { stream: x, accounts: [NOBODY] } ] } }`, /unknown account "NOBODY"/);
});

test("programmatic options take the same keys", () => {
  const r = resolveOptions({
    accounts: { A: { users: [{ user: "a", password: "p", permissions: { publish: ["x"] } }], exports: [{ service: "s" }] }, B: { imports: [{ service: { account: "A", subject: "s" } }] } },
    no_auth_user: "a",
  });
  assert.equal(r.users[0]!.account, "A");
  assert.equal(r.accounts[1]!.imports.length, 1);
});
