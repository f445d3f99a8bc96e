// Differential tests: the same raw protocol exchange against nats-server (Debian package) and
// Junction; the answers must match byte for byte after INFO. Needs `nats-server` on PATH.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { RawClient, freePort, startTestServer, sleep } from "../test/helpers.js";
import type { Server } from "../src/server/server.js";

let natsServer: ChildProcess;
let natsPort = 0;
let junction: Server;


before(async () => {
  execFileSync("nats-server", ["--version"]); // fails clearly when the package is missing
  natsPort = await freePort();
  natsServer = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(natsPort)], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    try {
      const c = await RawClient.connect(natsPort);
      c.close();
      break;
    } catch {
      await sleep(50);
    }
  }
  junction = await startTestServer({});
});

after(async () => {
  natsServer?.kill();
  await junction?.close();
});

/** Sends `input` after INFO and returns what came back (without INFO and PINGs) and whether the connection closed. */
async function exchange(port: number, input: string, settle = 300): Promise<{ text: string; closed: boolean }> {
  const c = await RawClient.connect(port);
  await c.waitFor(/^INFO .*\r\n/);
  const start = c.text.length;
  c.send(input);
  await sleep(settle);
  const text = c.text.slice(start).replace(/PING\r\n/g, "");
  const closed = c.closed;
  c.close();
  return { text, closed };
}

const cases: [string, string][] = [
  ["ping", "PING\r\n"],
  ["connect then ping", 'CONNECT {"verbose":false}\r\nPING\r\n'],
  ["verbose", 'CONNECT {"verbose":true}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\nPUB foo 1\r\nx\r\nPING\r\n'],
  ["lowercase ops", "sub a 1\r\npub a 3\r\nabc\r\nping\r\n"],
  ["queue sub", "SUB q.* grp 5\r\nPUB q.x r.y 2\r\nok\r\nPING\r\n"],
  ["auto unsubscribe", "SUB a 1\r\nUNSUB 1 2\r\nPUB a 1\r\n1\r\nPUB a 1\r\n2\r\nPUB a 1\r\n3\r\nPING\r\n"],
  ["headers", 'CONNECT {"headers":true}\r\nSUB h 1\r\nHPUB h 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n'],
  ["no responders", 'CONNECT {"headers":true,"no_responders":true}\r\nSUB _INBOX.x.* 7\r\nPUB nobody _INBOX.x.1 2\r\nhi\r\nPING\r\n'],
  ["no responders needs headers", 'CONNECT {"headers":false,"no_responders":true}\r\nPING\r\n'],
  ["invalid subjects", "SUB foo..bar 1\r\nSUB foo.>.bar 2\r\nSUB .x 3\r\nPING\r\n"],
  ["pedantic publish", 'CONNECT {"pedantic":true}\r\nSUB > 1\r\nPUB foo.* 1\r\nx\r\nPING\r\n'],
  ["unknown op", "FOO bar\r\n"],
  ["binary garbage", "\x01\x02\x03\r\n"],
  ["payload longer than declared", "PUB foo 3\r\nabcdef\r\n"],
  ["duplicate sid", "SUB a 1\r\nSUB b 1\r\nPUB a 1\r\nx\r\nPUB b 1\r\ny\r\nPING\r\n"],
  ["unsub unknown sid", "UNSUB 99\r\nPING\r\n"],
  ["bad protocol version", 'CONNECT {"protocol":5}\r\n'],
];

for (const [name, input] of cases) {
  test(`same answer as nats-server: ${name}`, async () => {
    const [ref, ours] = await Promise.all([exchange(natsPort, input), exchange(junction.port, input)]);
    assert.equal(ours.text, ref.text, `answer to ${JSON.stringify(input)}`);
    assert.equal(ours.closed, ref.closed, `connection closed? for ${JSON.stringify(input)}`);
  });
}
