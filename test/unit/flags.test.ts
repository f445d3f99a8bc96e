import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  FlagError, HELP_TEXT, mergeFlags, parseFlags, resolveFlags, type ServerFlags,
} from "../../src/cli/flags.js";
import { ConfigError, parseConfig, positionOf, resolveOptions } from "../../src/config/index.js";

const FIX = "test/fixtures/config";

function server(argv: string[]): ServerFlags {
  const f = parseFlags(argv);
  assert.equal(f.command, "server");
  return f as ServerFlags;
}

function flagFails(argv: string[], message: string): void {
  assert.throws(() => parseFlags(argv), (e: unknown) => {
    assert.ok(e instanceof FlagError, `expected FlagError, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

describe("parseFlags", () => {
  test("no arguments", () => {
    assert.deepEqual(parseFlags([]), { command: "server", checkConfig: false, options: {}, flagOf: {} });
  });

  test("every spelling of a value flag: -p 1, -p=1, --port 1, --port=1", () => {
    for (const argv of [["-p", "4333"], ["-p=4333"], ["--port", "4333"], ["--port=4333"], ["-port", "4333"]]) {
      const f = server(argv);
      assert.deepEqual(f.options, { port: 4333 }, argv.join(" "));
    }
    assert.equal(server(["-p", "-1"]).options.port, -1);
    assert.equal(server(["--port=-1"]).options.port, -1);
  });

  test("server flags and their aliases", () => {
    const f = server([
      "-a", "127.0.0.1", "-n", "srv1", "-m", "8222", "-l", "/tmp/j.log", "-P", "/tmp/j.pid",
      "--ports_file_dir", "/tmp", "--client_advertise", "example.com:4222", "-c", "j.conf",
    ]);
    assert.deepEqual(f.options, {
      host: "127.0.0.1", server_name: "srv1", http_port: 8222, log_file: "/tmp/j.log",
      pid_file: "/tmp/j.pid", ports_file_dir: "/tmp", client_advertise: "example.com:4222",
    });
    assert.equal(f.config, "j.conf");
    assert.deepEqual(f.flagOf, {
      host: "-a", server_name: "-n", http_port: "-m", log_file: "-l", pid_file: "-P",
      ports_file_dir: "--ports_file_dir", client_advertise: "--client_advertise",
    });
    assert.equal(server(["--addr", "h1"]).options.host, "h1");
    assert.equal(server(["--net", "h2"]).options.host, "h2");
    assert.equal(server(["--name", "x"]).options.server_name, "x");
    assert.equal(server(["--server_name", "y"]).options.server_name, "y");
    assert.equal(server(["--http_port", "1"]).options.http_port, 1);
    assert.equal(server(["--log", "f"]).options.log_file, "f");
    assert.equal(server(["--pid", "p"]).options.pid_file, "p");
    assert.equal(server(["--config", "c.conf"]).config, "c.conf");
  });

  test("boolean flags: -D, -V, -DV, -T=false, and Go's spellings of booleans", () => {
    assert.deepEqual(server(["-D"]).options, { debug: true });
    assert.deepEqual(server(["--debug"]).options, { debug: true });
    assert.deepEqual(server(["-V"]).options, { trace: true });
    assert.deepEqual(server(["--trace"]).options, { trace: true });
    assert.deepEqual(server(["-DV"]).options, { debug: true, trace: true });
    assert.deepEqual(server(["-T"]).options, { logtime: true });
    assert.deepEqual(server(["-T=false"]).options, { logtime: false });
    assert.deepEqual(server(["--logtime=0"]).options, { logtime: false });
    assert.deepEqual(server(["-D=F", "-V=TRUE"]).options, { debug: false, trace: true });
    flagFails(["-T=nope"], 'invalid boolean value "nope" for -T');
    // a boolean flag does not take the next argument
    flagFails(["-T", "false"], 'unrecognized command: "false"');
  });

  test("authorization flags", () => {
    const f = server(["--user", "u", "--pass", "p"]);
    assert.deepEqual(f.options, { authorization: { user: "u", password: "p" } });
    assert.deepEqual(f.flagOf, { "authorization.user": "--user", "authorization.password": "--pass" });
    assert.deepEqual(server(["--auth", "tok"]).options, { authorization: { token: "tok" } });
  });

  test("-t, -h, -v and the help / version commands", () => {
    assert.equal(server(["-t", "-c", "x.conf"]).checkConfig, true);
    assert.deepEqual(parseFlags(["-h"]), { command: "help" });
    assert.deepEqual(parseFlags(["--help"]), { command: "help" });
    assert.deepEqual(parseFlags(["-v"]), { command: "version" });
    assert.deepEqual(parseFlags(["--version"]), { command: "version" });
    assert.deepEqual(parseFlags(["-v", "-h"]), { command: "version" });
    assert.deepEqual(parseFlags(["version"]), { command: "version" });
    assert.deepEqual(parseFlags(["-p", "1", "help"]), { command: "help" });
  });

  test("bench", () => {
    assert.deepEqual(parseFlags(["bench", "--msgs", "1000", "foo"]), { command: "bench", args: ["--msgs", "1000", "foo"] });
    assert.deepEqual(parseFlags(["bench"]), { command: "bench", args: [] });
  });

  test("the last of a repeated flag wins", () => {
    assert.equal(server(["-p", "1", "--port", "2"]).options.port, 2);
  });

  test("'--' ends the flags", () => {
    flagFails(["-p", "1", "--", "-D"], 'unrecognized command: "-D"');
    assert.deepEqual(server(["-D", "--"]).options, { debug: true });
  });

  test("errors", () => {
    flagFails(["-x"], "unknown flag: -x");
    flagFails(["--bogus=1"], "unknown flag: --bogus");
    flagFails(["-p"], "flag needs an argument: -p");
    flagFails(["--config"], "flag needs an argument: --config");
    flagFails(["-p", "abc"], 'invalid value "abc" for -p: expected an integer');
    flagFails(["-m=1.5"], 'invalid value "1.5" for -m: expected an integer');
    flagFails(["---p"], "bad flag syntax: ---p");
    flagFails(["-=1"], "bad flag syntax: -=1");
    flagFails(["serve"], 'unrecognized command: "serve"');
    flagFails(["--help_tls"], "flag --help_tls is not supported yet");
    flagFails(["--tlscert"], "flag needs an argument: --tlscert");
    flagFails(["--tls=maybe"], 'invalid boolean value "maybe" for --tls');
    flagFails(["--routes", "x"], "flag --routes is not supported yet");
    flagFails(["-VV"], "flag -VV is not supported yet");
    flagFails(["--signal", "reload"], "flag --signal is not supported yet");
  });
});

describe("mergeFlags", () => {
  test("flags override the file; other keys and their positions are kept", () => {
    const file = parseConfig("port: 4000\nserver_name: a\ndebug: true\n", "j.conf");
    const merged = mergeFlags(file, server(["-p", "5000", "-n", "b"]));
    const r = resolveOptions(merged, "j.conf");
    assert.equal(r.port, 5000);
    assert.equal(r.server_name, "b");
    assert.equal(r.debug, true);
    assert.deepEqual(positionOf(merged, "debug"), { file: "j.conf", line: 3, col: 1 });
    assert.deepEqual(positionOf(merged, "port"), { file: "command line flag -p", line: 0, col: 0 });
    // the file's map is not changed
    assert.equal(file["port"], 4000);
  });

  test("a port flag wins over listen's port and keeps its host; a host flag wins over listen's host", () => {
    const file = parseConfig("port: 1\nlisten: 10.0.0.1:4000\n", "j.conf");
    const r1 = resolveOptions(mergeFlags(file, server(["-p", "5000"])));
    assert.deepEqual([r1.host, r1.port], ["10.0.0.1", 5000]);
    const r2 = resolveOptions(mergeFlags(file, server(["-a", "127.0.0.1"])));
    assert.deepEqual([r2.host, r2.port], ["127.0.0.1", 4000]);
    const r3 = resolveOptions(mergeFlags(parseConfig("http: 10.0.0.2:8000"), server(["-m", "9000"])));
    assert.deepEqual([r3.http_host, r3.http_port], ["10.0.0.2", 9000]);
  });

  test("-js enables JetStream keeping the file's settings; -sd says where it stores", () => {
    const f = server(["-js", "-sd", "/data"]);
    assert.equal(f.jetstream, true);
    assert.deepEqual(f.options, { store_dir: "/data" });
    assert.deepEqual(f.flagOf, { jetstream: "-js", store_dir: "-sd" });
    assert.equal(server(["--jetstream"]).jetstream, true);
    assert.equal(server(["--store_dir", "/x"]).options.store_dir, "/x");
    const r = resolveOptions(mergeFlags(parseConfig("jetstream { max_file_store: 1GB, domain: d }", "j.conf"), f));
    assert.deepEqual([r.jetstream?.store_dir, r.jetstream?.max_file_store, r.jetstream?.domain], ["/data", 1024 ** 3, "d"]);
    const r2 = resolveOptions(mergeFlags(parseConfig("jetstream: disabled", "j.conf"), server(["-js"])));
    assert.equal(r2.jetstream?.store_dir_default, true);
    const r3 = resolveOptions(mergeFlags(parseConfig("jetstream { enabled: true, store_dir: /f }", "j.conf"), server(["--js=false"])));
    assert.equal(r3.jetstream, undefined);
    // -sd alone does not enable it
    assert.equal(resolveOptions(mergeFlags({}, server(["-sd", "/data"]))).jetstream, undefined);
  });

  test("--user/--pass/--auth go into the file's authorization block", () => {
    const file = parseConfig("authorization {\n  user: a\n  password: b\n  timeout: 5\n}\n", "j.conf");
    const r = resolveOptions(mergeFlags(file, server(["--pass", "secret"])));
    assert.deepEqual(r.authorization, { user: "a", password: "secret" });
    assert.equal(r.auth_timeout_ms, 5000);
    const r2 = resolveOptions(mergeFlags({}, server(["--auth", "t"])));
    assert.deepEqual(r2.authorization, { token: "t" });
    // username/pass aliases in the file: the flag still wins
    const r3 = resolveOptions(mergeFlags(parseConfig("authorization { username: a, pass: b }"), server(["--user", "z"])));
    assert.deepEqual(r3.authorization, { user: "z", password: "b" });
  });

  test("a flag and a file token that conflict are reported", () => {
    const file = parseConfig("authorization {\n  token: t\n}\n", "j.conf");
    assert.throws(() => resolveOptions(mergeFlags(file, server(["--user", "u"]))),
      { message: 'j.conf:1:1: "authorization" cannot have both a user/password and a token' });
  });

  test("a bad flag value is reported as coming from the command line", () => {
    assert.throws(() => resolveOptions(mergeFlags({}, server(["-p", "70000"]))),
      { message: 'command line flag -p: "port" must be between -1 and 65535, got 70000' });
    assert.throws(() => resolveOptions(mergeFlags({}, server(["-n", "a b"]))),
      { message: 'command line flag -n: "server_name" cannot contain spaces, got "a b"' });
  });

  test("TLS flags replace the file's tls block (as nats-server); --tls=false removes it", () => {
    const f = server(["--tlscert", "c.pem", "--tlskey=k.pem", "--tlscacert", "ca.pem", "--tlsverify"]);
    assert.deepEqual(f.tls, { cert_file: "c.pem", key_file: "k.pem", ca_file: "ca.pem", verify: true });
    assert.deepEqual(f.options, {});
    const file = parseConfig('tls {\n  cert_file: "file.pem"\n  key_file: "file-key.pem"\n  timeout: 5\n}', "j.conf");
    const merged = mergeFlags(file, f);
    assert.deepEqual(merged.tls, { cert_file: "c.pem", key_file: "k.pem", ca_file: "ca.pem", verify: true });
    assert.deepEqual(positionOf(merged.tls as object, "key_file"), { file: "command line flag --tlskey", line: 0, col: 0 });
    assert.equal(mergeFlags(file, server(["--tls=false", "--tlscert", "c.pem"])).tls, undefined);
    assert.equal(mergeFlags(file, server(["-p", "1"])).tls, file.tls);
  });

  test("TLS flag problems are reported as coming from the command line", () => {
    assert.throws(() => resolveOptions(mergeFlags({}, server(["--tls"]))),
      { message: `command line flag --tls: "tls" needs a server certificate: set 'cert_file' and 'key_file'` });
    assert.throws(() => resolveOptions(mergeFlags({}, server(["--tls", "--tlscert", "c.pem"]))),
      { message: "command line flag --tls: missing 'key_file' in TLS configuration" });
    assert.throws(() => resolveOptions(mergeFlags({}, server(["--tlscert", "/nonexistent/c.pem", "--tlskey", "/nonexistent/k.pem"]))),
      { message: "command line flag --tlscert: error parsing X509 certificate/key pair: open /nonexistent/c.pem: no such file or directory" });
  });

  test("programmatic options merge too", () => {
    const r = resolveOptions(mergeFlags({ port: 1, debug: true }, server(["-T=false"])));
    assert.deepEqual([r.port, r.debug, r.logtime], [1, true, false]);
  });
});

describe("resolveFlags", () => {
  test("reads -c and applies the flags on top", () => {
    const r = resolveFlags(server(["-c", `${FIX}/junction.conf`, "-p", "-1", "-D"]));
    assert.equal(r.port, -1);
    assert.equal(r.host, "127.0.0.1");
    assert.equal(r.debug, true);
    assert.equal(r.server_name, "junction-1");
    assert.equal(r.config_file, `${FIX}/junction.conf`);
  });

  test("without -c: flags only", () => {
    const r = resolveFlags(server(["-p", "4999"]));
    assert.equal(r.port, 4999);
    assert.equal(r.config_file, undefined);
  });

  test("errors in the file name file:line", () => {
    assert.throws(() => resolveFlags(server(["-c", `${FIX}/seed-mappings.conf`])),
      (e: unknown) => e instanceof ConfigError && e.message === `${FIX}/seed-mappings.conf:4:1: "mappings" is not supported yet`);
    assert.throws(() => resolveFlags(server(["-c", `${FIX}/nope.conf`])),
      { message: `cannot read configuration file ${FIX}/nope.conf: no such file` });
  });
});

describe("HELP_TEXT", () => {
  test("is Junction's and lists every supported flag", () => {
    assert.match(HELP_TEXT, /Usage: junction \[options\]/);
    assert.match(HELP_TEXT, /junction bench/);
    for (const f of ["-a, --addr, --net", "-p, --port", "-n, --name", "--server_name", "-c, --config",
      "-m, --http_port", "-l, --log", "-P, --pid", "--ports_file_dir", "--client_advertise",
      "-D, --debug", "-V, --trace", "-DV", "-T, --logtime", "--user", "--pass", "--auth", "-t ",
      "--tls ", "--tlscert", "--tlskey", "--tlsverify", "--tlscacert",
      "-js, --jetstream", "-sd, --store_dir", "-h, --help", "-v, --version"]) {
      assert.ok(HELP_TEXT.includes(f), `help lacks ${f}`);
    }
    assert.ok(!/nats-server/.test(HELP_TEXT.replace("nats-server format", "")));
  });
});
