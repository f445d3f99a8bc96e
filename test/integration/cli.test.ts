// The `junction` command as tools that launch nats-server use it: `-c conf` with
// `ports_file_dir` and `port: -1`, then read `<command>_<pid>.ports`; signals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { until } from "../helpers.js";

const BIN = fileURLToPath(new URL("../../bin/junction.js", import.meta.url));

function run(args: string[], env: Record<string, string> = {}): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b) => (out += b));
  child.stderr!.on("data", (b) => (out += b));
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, out: () => out, exit };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "junction-cli-"));
}

test("-c conf with port -1 and ports_file_dir: the ports file names the listeners; SIGTERM stops cleanly", async () => {
  const dir = tmp();
  const conf = join(dir, "server.conf");
  writeFileSync(conf, `# as test harnesses write it\nlisten: 127.0.0.1:-1\nhttp: 127.0.0.1:-1\nports_file_dir: "${dir}"\nserver_name: $NAME\n`);
  const { child, out, exit } = run(["-c", conf], { NAME: "from-env" });
  const portsFile = join(dir, `junction_${child.pid}.ports`);
  await until(() => existsSync(portsFile), 10_000, `ports file; output: ${out()}`);
  const ports = JSON.parse(readFileSync(portsFile, "utf8"));
  assert.equal(ports.nats.length, 1);
  assert.match(ports.nats[0], /^nats:\/\/127\.0\.0\.1:\d+$/);
  assert.match(ports.monitoring[0], /^http:\/\/127\.0\.0\.1:\d+$/);
  const nc = await connect({ servers: ports.nats[0] });
  assert.equal(nc.info?.server_name, "from-env");
  const varz = await (await fetch(ports.monitoring[0] + "/varz")).json();
  assert.equal(varz.server_name, "from-env");
  nc.closed().catch(() => {});
  child.kill("SIGTERM");
  assert.equal(await exit, 0);
  assert.equal(existsSync(portsFile), false, "ports file removed on shutdown");
  await nc.close().catch(() => {});
});

test("flags: -p -1 -a -n, -DV logs, and SIGINT", async () => {
  const dir = tmp();
  const { child, out, exit } = run(["-p", "-1", "-a", "127.0.0.1", "-n", "flagged", "-DV", "--ports_file_dir", dir]);
  await until(() => readdirSync(dir).length > 0, 10_000, `ports file; output: ${out()}`);
  const ports = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), "utf8"));
  const nc = await connect({ servers: ports.nats[0], name: "traced" });
  nc.publish("trace.me", "x");
  await nc.flush();
  await until(() => /\[TRC\].*PUB trace\.me/.test(out()), 5000, "trace line");
  assert.match(out(), /\[DBG\].*Client connection created/);
  assert.match(out(), /\[INF\] Server is ready/);
  assert.equal(nc.info?.server_name, "flagged");
  child.kill("SIGINT");
  assert.equal(await exit, 0);
  await nc.close().catch(() => {});
});

test("SIGUSR2: lame duck mode tells clients (ldm) and exits when they are gone", async () => {
  const dir = tmp();
  const conf = join(dir, "ldm.conf");
  writeFileSync(conf, `port: -1\nhost: 127.0.0.1\nports_file_dir: "${dir}"\nlame_duck_duration: "30s"\nlame_duck_grace_period: "1s"\n`);
  const { child, out, exit } = run(["-c", conf]);
  const portsFile = join(dir, `junction_${child.pid}.ports`);
  await until(() => existsSync(portsFile), 10_000, `ports file; output: ${out()}`);
  const url = JSON.parse(readFileSync(portsFile, "utf8")).nats[0];
  const nc = await connect({ servers: url, reconnect: false });
  let ldm = false;
  (async () => {
    for await (const s of nc.status()) if (s.type === "ldm") ldm = true;
  })().catch(() => {});
  child.kill("SIGUSR2");
  await until(() => ldm, 5000, "ldm status");
  await nc.closed();
  assert.equal(await exit, 0);
});

test("a bad configuration file stops start-up with file:line and the key", async () => {
  const dir = tmp();
  const conf = join(dir, "bad.conf");
  writeFileSync(conf, "port: 4222\n\nmax_payload: lots\n");
  const r = run(["-c", conf]);
  assert.equal(await r.exit, 1);
  assert.match(r.out(), new RegExp(`bad\\.conf:3:\\d+: .*max_payload`));
  writeFileSync(conf, "port: 4222\nno_such_key: 1\n");
  const r2 = run(["-c", conf]);
  assert.equal(await r2.exit, 1);
  assert.match(r2.out(), /bad\.conf:2:\d+: .*no_such_key/);
  const r3 = run(["-c", join(dir, "missing.conf")]);
  assert.equal(await r3.exit, 1);
  assert.match(r3.out(), /missing\.conf/);
});

test("-v, -h and an unknown flag", async () => {
  const v = run(["-v"]);
  assert.equal(await v.exit, 0);
  assert.match(v.out(), /junction: v\d+\.\d+\.\d+/);
  const h = run(["-h"]);
  assert.equal(await h.exit, 0);
  assert.match(h.out(), /--port/);
  const bad = run(["--frobnicate"]);
  assert.equal(await bad.exit, 1);
  assert.match(bad.out(), /frobnicate/);
});

test("a port already in use is a clear start-up error", async () => {
  const dir = tmp();
  const first = run(["-p", "-1", "-a", "127.0.0.1", "--ports_file_dir", dir]);
  await until(() => readdirSync(dir).length > 0, 10_000, "first server");
  const port = new URL(JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), "utf8")).nats[0]).port;
  const second = run(["-p", port, "-a", "127.0.0.1"]);
  assert.equal(await second.exit, 1);
  assert.match(second.out(), /EADDRINUSE|in use/);
  first.child.kill("SIGTERM");
  await first.exit;
});
