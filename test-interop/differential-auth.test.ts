// Differential tests of authentication and authorization: one configuration file, run by
// nats-server and by Junction; the same raw exchanges must get the same answers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawClient, freePort, sleep } from "../test/helpers.js";
import { parseConfig, resolveOptions } from "../src/config/index.js";
import { startResolved } from "../src/index.js";
import type { Server } from "../src/server/server.js";

const CONF = `
no_auth_user: guest
authorization {
  users: [
    { user: alice, password: secret, permissions: { publish: { allow: ["a.>"], deny: ["a.secret"] }, subscribe: { allow: ["a.>", "foo v1", "foo *.dev"], deny: ["a.secret", "> *.prod"] } } }
    { user: guest, permissions: { publish: "public.>", subscribe: "public.>" } }
    { user: resp, password: r, permissions: { subscribe: "req", allow_responses: true } }
    { user: root, password: root }
  ]
}
`;

let nats: ChildProcess;
let natsPort = 0;
let junction: Server;


before(async () => {
  natsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "junction-diff-"));
  const file = join(dir, "auth.conf");
  writeFileSync(file, `listen: 127.0.0.1:${natsPort}\n${CONF}`);
  nats = spawn("nats-server", ["-c", file], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    try {
      (await RawClient.connect(natsPort)).close();
      break;
    } catch {
      await sleep(50);
    }
  }
  junction = await startResolved(resolveOptions(parseConfig(`listen: 127.0.0.1:-1\n${CONF}`, "auth.conf"), "auth.conf"));
});

after(async () => {
  nats?.kill();
  await junction?.close();
});

async function exchange(port: number, input: string): Promise<{ text: string; closed: boolean }> {
  const c = await RawClient.connect(port);
  await c.waitFor(/^INFO (.*)\r\n/);
  const start = c.text.length;
  c.send(input);
  await sleep(300);
  const text = c.text.slice(start).replace(/PING\r\n/g, "");
  const closed = c.closed;
  c.close();
  return { text, closed };
}

const CONNECT = (o: Record<string, unknown>) => `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, ...o })}\r\n`;

const cases: [string, string][] = [
  ["wrong password", CONNECT({ user: "alice", pass: "nope" }) + "PING\r\n"],
  ["unknown user", CONNECT({ user: "mallory", pass: "x" }) + "PING\r\n"],
  ["publish and subscribe violations", CONNECT({ user: "alice", pass: "secret" }) + "PUB a.secret 1\r\nx\r\nPUB b 1\r\nx\r\nSUB b 1\r\nSUB a.secret 2\r\nSUB a.ok 3\r\nPUB a.ok 2\r\nok\r\nPING\r\n"],
  ["queue permissions", CONNECT({ user: "alice", pass: "secret" }) + "SUB foo v1 1\r\nSUB foo v2 2\r\nSUB foo x.dev 3\r\nSUB foo x.prod 4\r\nSUB foo 5\r\nPING\r\n"],
  ["wildcard subscription overlapping a deny", CONNECT({ user: "alice", pass: "secret" }) + "SUB a.* 1\r\nPUB a.secret 1\r\nx\r\nPUB a.fine 1\r\ny\r\nPING\r\n"],
  ["no_auth_user", CONNECT({}) + "SUB public.x 1\r\nSUB private 2\r\nPUB public.x 2\r\nhi\r\nPUB private 1\r\nx\r\nPING\r\n"],
  ["no_auth_user without CONNECT", "SUB public.x 1\r\nPUB public.x 2\r\nhi\r\nPING\r\n"],
  ["allow_responses", CONNECT({ user: "resp", pass: "r" }) + "SUB req 1\r\nPUB elsewhere 1\r\nx\r\nPING\r\n"],
];

for (const [name, input] of cases) {
  test(`same answer as nats-server: ${name}`, async () => {
    const [ref, ours] = await Promise.all([exchange(natsPort, input), exchange(junction.port, input)]);
    assert.equal(ours.text, ref.text, `answer to ${JSON.stringify(input)}`);
    assert.equal(ours.closed, ref.closed, `connection closed? for ${JSON.stringify(input)}`);
  });
}
