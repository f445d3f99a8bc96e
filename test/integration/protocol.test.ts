// The NATS protocol on the wire: limits, bad input, liveness, as nats-server answers them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { RawClient, startTestServer, sleep, until } from "../helpers.js";
import type { Options } from "../../src/config/options.js";

async function withServer(opts: Options, fn: (port: number) => Promise<void>): Promise<void> {
  const s = await startTestServer(opts);
  try {
    await fn(s.port);
  } finally {
    await s.close();
  }
}

test("verbose mode answers +OK to CONNECT, SUB, PUB and UNSUB", async () => {
  await withServer({}, async (port) => {
    const c = await RawClient.connect(port);
    await c.waitFor(/^INFO /);
    c.send('CONNECT {"verbose":true}\r\n');
    await c.waitFor(/\+OK\r\n/);
    c.send("SUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\nPING\r\n");
    await c.waitFor(/PONG\r\n/);
    const after = c.text.slice(c.text.indexOf("+OK\r\n") + 5);
    assert.equal(after, "+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n+OK\r\nPONG\r\n");
    c.close();
  });
});

test("protocol without CONNECT works when no auth is required (telnet style, verbose by default)", async () => {
  await withServer({}, async (port) => {
    const c = await RawClient.connect(port);
    await c.waitFor(/^INFO /);
    c.send("sub x 1\r\npub x 3\r\nabc\r\nping\r\n");
    await c.waitFor(/\+OK\r\n\+OK\r\nMSG x 1 3\r\nabc\r\nPONG\r\n/);
    c.close();
  });
});

test("HPUB is delivered as HMSG, and as MSG without headers to a client that did not ask for them", async () => {
  await withServer({}, async (port) => {
    const withH = await RawClient.connect(port);
    await withH.handshake({ headers: true });
    const noH = await RawClient.connect(port);
    await noH.handshake({ headers: false });
    withH.send("SUB h 1\r\nPING\r\n");
    noH.send("SUB h 9\r\nPING\r\n");
    await withH.waitFor(/PONG\r\n.*PONG\r\n/s);
    await noH.waitFor(/PONG\r\n.*PONG\r\n/s);
    withH.send("HPUB h rep 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n");
    await withH.waitFor(/HMSG h 1 rep 18 23\r\nNATS\/1.0\r\nA: b\r\n\r\nhello\r\n/);
    await noH.waitFor(/MSG h 9 rep 5\r\nhello\r\n/);
    withH.close();
    noH.close();
  });
});

test("no_responders: a request with no subscribers gets a 503 status at once", async () => {
  await withServer({}, async (port) => {
    const c = await RawClient.connect(port);
    await c.handshake({ headers: true, no_responders: true });
    c.send("SUB _INBOX.x.* 7\r\nPUB nobody.home _INBOX.x.1 2\r\nhi\r\n");
    await c.waitFor(/HMSG _INBOX\.x\.1 7 16 16\r\nNATS\/1\.0 503\r\n\r\n\r\n/);
    c.close();
  });
});

test("no_responders without headers is refused", async () => {
  await withServer({}, async (port) => {
    const c = await RawClient.connect(port);
    await c.waitFor(/^INFO /);
    c.send('CONNECT {"headers":false,"no_responders":true}\r\n');
    await c.waitFor(/-ERR 'no responders requires headers support'\r\n/);
    await c.waitClosed();
  });
});

test("pedantic: a publish to a wildcard subject gets -ERR; like nats-server it is still routed and the connection stays", async () => {
  await withServer({}, async (port) => {
    const c = await RawClient.connect(port);
    await c.handshake({ pedantic: true });
    c.send("SUB > 1\r\nPUB foo.* 1\r\nx\r\nPUB foo.bar 1\r\ny\r\nPING\r\n");
    await c.waitFor(/PONG\r\n[^]*PONG\r\n$/);
    assert.equal(c.text.slice(c.text.indexOf("PONG\r\n") + 6), "-ERR 'Invalid Publish Subject'\r\nMSG foo.* 1 1\r\nx\r\nMSG foo.bar 1 1\r\ny\r\nPONG\r\n");
    c.close();
  });
});

test("an invalid subscription subject gets -ERR 'Invalid Subject'; the connection stays", async () => {
  await withServer({}, async (port) => {
    const c = await RawClient.connect(port);
    await c.handshake();
    c.send("SUB foo..bar 1\r\nSUB foo.>.bar 2\r\nSUB .x 3\r\nPING\r\n");
    await c.waitFor(/(-ERR 'Invalid Subject'\r\n){3}PONG\r\n/);
    assert.equal(c.closed, false);
    c.close();
  });
});

test("max_payload: -ERR 'Maximum Payload Violation' and the connection is closed", async () => {
  await withServer({ max_payload: 100 }, async (port) => {
    const c = await RawClient.connect(port);
    const info = await c.handshake();
    assert.equal(info.max_payload, 100);
    c.send("PUB foo 101\r\n");
    await c.waitFor(/-ERR 'Maximum Payload Violation'\r\n/);
    await c.waitClosed();
  });
});

test("max_control_line: an over-long control line is refused and the connection closed", async () => {
  await withServer({ max_control_line: 256 }, async (port) => {
    const c = await RawClient.connect(port);
    await c.handshake();
    c.send(`SUB ${"a".repeat(300)} 1\r\n`);
    await c.waitFor(/-ERR 'maximum control line exceeded'\r\n/);
    await c.waitClosed();
    // an endless line without a newline is cut off too, not buffered without bound
    const d = await RawClient.connect(port);
    await d.handshake();
    d.send("PUB " + "x".repeat(10_000));
    await d.waitFor(/-ERR 'maximum control line exceeded'\r\n/);
    await d.waitClosed();
  });
});

test("unknown operations and garbage bytes: -ERR 'Unknown Protocol Operation', closed, others unaffected", async () => {
  await withServer({}, async (port) => {
    const bystander = await connect({ port });
    const got: string[] = [];
    bystander.subscribe("still.here", { callback: (_e, m) => void got.push(m.string()) });
    await bystander.flush();
    for (const garbage of ["FOO bar\r\n", "\x00\x01\x02\xff\r\n", "PUB foo 3\r\nabcdef\r\n", "CONNECT {not json}\r\n", "SUB\r\n"]) {
      const c = await RawClient.connect(port);
      await c.waitFor(/^INFO /);
      c.send(garbage);
      await c.waitFor(/-ERR 'Unknown Protocol Operation'\r\n/);
      await c.waitClosed();
    }
    bystander.publish("still.here", "yes");
    await bystander.flush();
    await until(() => got.length === 1);
    await bystander.close();
  });
});

test("half-written frames wait for the rest; a peer that vanishes mid-frame harms nothing", async () => {
  await withServer({}, async (port) => {
    const sub = await RawClient.connect(port);
    await sub.handshake();
    sub.send("SUB part 1\r\nPING\r\n");
    await sub.waitFor(/PONG\r\n.*PONG\r\n/s);
    const pub = await RawClient.connect(port);
    await pub.handshake();
    for (const piece of ["PU", "B pa", "rt 1", "0\r\n01234", "56789", "\r", "\n"]) {
      pub.send(piece);
      await sleep(5);
    }
    await sub.waitFor(/MSG part 1 10\r\n0123456789\r\n/);
    const quitter = await RawClient.connect(port);
    await quitter.handshake();
    quitter.send("PUB part 100\r\nonly some");
    await sleep(20);
    quitter.close();
    pub.send("PUB part 2\r\nok\r\n");
    await sub.waitFor(/MSG part 1 2\r\nok\r\n/);
    pub.close();
    sub.close();
  });
});

test("max_connections: the connection over the limit is refused", async () => {
  await withServer({ max_connections: 2 }, async (port) => {
    const a = await RawClient.connect(port);
    await a.handshake();
    const b = await RawClient.connect(port);
    await b.handshake();
    const c = await RawClient.connect(port);
    await c.waitFor(/-ERR 'maximum connections exceeded'\r\n/);
    await c.waitClosed();
    a.close();
    await sleep(50);
    const d = await RawClient.connect(port);
    await d.handshake();
    b.close();
    d.close();
  });
});

test("max_subscriptions: -ERR 'maximum subscriptions exceeded', the connection stays", async () => {
  await withServer({ max_subscriptions: 2 }, async (port) => {
    const c = await RawClient.connect(port);
    await c.handshake();
    c.send("SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPING\r\n");
    await c.waitFor(/-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n/);
    c.send("PUB a 1\r\nx\r\nPUB c 1\r\ny\r\nPING\r\n");
    await c.waitFor(/MSG a 1 1\r\nx\r\nPONG\r\n$/);
    c.close();
  });
});

test("stale connections: a client that never answers PING is dropped with -ERR 'Stale Connection'", async () => {
  await withServer({ ping_interval: "100ms", ping_max: 2 }, async (port) => {
    const c = await RawClient.connect(port);
    await c.handshake();
    await c.waitFor(/PING\r\n/, 2000);
    await c.waitFor(/-ERR 'Stale Connection'\r\n/, 3000);
    await c.waitClosed();
    const pings = c.text.match(/PING\r\n/g)?.length ?? 0;
    assert.equal(pings, 2, "ping_max pings before the stale error");
  });
});

test("a client that answers PONG stays connected", async () => {
  await withServer({ ping_interval: "100ms", ping_max: 1 }, async (port) => {
    const c = await RawClient.connect(port);
    await c.handshake();
    c.socket.on("data", (b) => {
      if (b.toString().includes("PING")) c.send("PONG\r\n");
    });
    await sleep(600);
    assert.equal(c.closed, false);
    assert.ok((c.text.match(/PING\r\n/g)?.length ?? 0) >= 2);
    c.close();
  });
});

test("auth_timeout: a client that never sends CONNECT is dropped when auth is required", async () => {
  await withServer({ authorization: { token: "s3cret", timeout: 0.2 } }, async (port) => {
    const c = await RawClient.connect(port);
    const m = await c.waitFor(/^INFO (.*)\r\n/);
    assert.equal(JSON.parse(m[1]).auth_required, true);
    await c.waitFor(/-ERR 'Authentication Timeout'\r\n/, 2000);
    await c.waitClosed();
  });
});

test("simple auth: token and user/password; failures get 'Authorization Violation'", async () => {
  await withServer({ authorization: { token: "s3cret" } }, async (port) => {
    const ok = await RawClient.connect(port);
    await ok.handshake({ auth_token: "s3cret" });
    ok.close();
    const bad = await RawClient.connect(port);
    await bad.waitFor(/^INFO /);
    bad.send('CONNECT {"auth_token":"nope"}\r\n');
    await bad.waitFor(/-ERR 'Authorization Violation'\r\n/);
    await bad.waitClosed();
    const early = await RawClient.connect(port);
    await early.waitFor(/^INFO /);
    early.send("SUB x 1\r\n");
    await early.waitFor(/-ERR 'Authorization Violation'\r\n/);
    await early.waitClosed();
    await assert.rejects(connect({ port, token: "wrong", reconnect: false }), /Authorization Violation/i);
    const nc = await connect({ port, token: "s3cret" });
    await nc.close();
  });
  await withServer({ authorization: { user: "alice", password: "pw" } }, async (port) => {
    const nc = await connect({ port, user: "alice", pass: "pw" });
    await nc.close();
    await assert.rejects(connect({ port, user: "alice", pass: "wrong", reconnect: false }), /Authorization Violation/i);
  });
});

test("slow consumer: a subscriber that does not read is disconnected, memory stays bounded", async () => {
  const s = await startTestServer({ max_pending: 256 * 1024, max_payload: 64 * 1024 });
  try {
    const slow = await RawClient.connect(s.port);
    await slow.handshake();
    slow.send("SUB flood 1\r\nPING\r\n");
    await slow.waitFor(/PONG\r\n.*PONG\r\n/s);
    slow.socket.pause(); // stop reading
    const pub = await connect({ port: s.port });
    const payload = new Uint8Array(1024);
    for (let i = 0; i < 20_000 && s.stats.slowConsumers === 0; i++) {
      pub.publish("flood", payload);
      if (i % 500 === 0) await pub.flush();
    }
    await until(() => s.stats.slowConsumers === 1, 5000, "slow consumer detected");
    await until(() => s.clients.size === 1, 2000, "slow consumer removed");
    // the publisher is unaffected
    await pub.flush();
    await pub.close();
  } finally {
    await s.close();
  }
});

test("write_deadline: a stalled writer is disconnected as a slow consumer", async () => {
  const s = await startTestServer({ write_deadline: "200ms" });
  try {
    const slow = await RawClient.connect(s.port);
    await slow.handshake();
    slow.send("SUB flood 1\r\nPING\r\n");
    await slow.waitFor(/PONG\r\n.*PONG\r\n/s);
    slow.socket.pause();
    const pub = await connect({ port: s.port });
    const payload = new Uint8Array(64 * 1024);
    for (let i = 0; i < 200 && s.stats.slowConsumers === 0; i++) {
      pub.publish("flood", payload);
      await pub.flush();
    }
    await until(() => s.stats.slowConsumers === 1, 5000, "slow consumer detected");
    await pub.close();
  } finally {
    await s.close();
  }
});

test("server close tells clients and flushes what was queued", async () => {
  const s = await startTestServer({});
  const c = await RawClient.connect(s.port);
  await c.handshake();
  c.send("SUB bye 1\r\nPUB bye 3\r\nend\r\n");
  await c.waitFor(/MSG bye 1 3\r\nend\r\n/);
  await s.close();
  await c.waitClosed();
});

test("lame duck mode: INFO with ldm, no new connections, clients closed", async () => {
  const s = await startTestServer({});
  // nats-server (and the config) refuse durations under 30s; a test has no time for that
  Object.assign(s.options, { lame_duck_duration_ms: 300, lame_duck_grace_period_ms: 100 });
  const port = s.port;
  const c = await RawClient.connect(port);
  await c.handshake();
  const done = s.enterLameDuckMode();
  await c.waitFor(/INFO \{[^\r]*"ldm":true[^\r]*\}\r\n/);
  await assert.rejects(RawClient.connect(port));
  await c.waitClosed(3000);
  await done;
  assert.equal(s.running, false);
});

test("network fuzz: random and mutated frames on many connections never crash the server", async () => {
  const s = await startTestServer({ max_payload: 4096 });
  try {
    let seed = 987654321;
    const rnd = () => {
      seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
      return seed / 0x100000000;
    };
    const valid = Buffer.from('CONNECT {"verbose":false,"headers":true}\r\nSUB a.* 1\r\nPUB a.b r 3\r\nabc\r\nHPUB a.c 12 14\r\nNATS/1.0\r\n\r\nhi\r\nUNSUB 1 5\r\nPING\r\n');
    const clients: RawClient[] = [];
    for (let n = 0; n < 60; n++) {
      const c = await RawClient.connect(s.port);
      clients.push(c);
      let input: Buffer;
      if (n % 3 === 0) {
        input = Buffer.alloc(1 + Math.floor(rnd() * 2000));
        for (let i = 0; i < input.length; i++) input[i] = Math.floor(rnd() * 256);
      } else {
        input = Buffer.from(valid);
        for (let f = 0; f < 1 + Math.floor(rnd() * 6); f++) input[Math.floor(rnd() * input.length)] = Math.floor(rnd() * 256);
      }
      for (let i = 0; i < input.length; i += 7) c.send(input.subarray(i, i + 7));
    }
    await sleep(300);
    for (const c of clients) c.close();
    const nc = await connect({ port: s.port });
    const got: string[] = [];
    nc.subscribe("alive", { callback: (_e, m) => void got.push(m.string()) });
    nc.publish("alive", "yes");
    await nc.flush();
    await until(() => got.length === 1);
    await nc.close();
    await until(() => s.clients.size === 0, 3000, "all fuzz connections gone");
  } finally {
    await s.close();
  }
});

test("backpressure: a fast publisher waits for a slow but reading subscriber; nothing is lost", async () => {
  const s = await startTestServer({ max_pending: 8 * 1024 * 1024, max_payload: 64 * 1024 });
  try {
    const sub = await RawClient.connect(s.port);
    await sub.handshake();
    sub.send("SUB bp 1\r\nPING\r\n");
    await sub.waitFor(/PONG\r\n.*PONG\r\n/s);
    const base = sub.text.length;
    // count bytes without keeping them, and read in bursts
    let bytes = 0;
    sub.socket.removeAllListeners("data");
    sub.socket.on("data", (b) => (bytes += b.length));
    const reader = setInterval(() => (sub.socket.isPaused() ? sub.socket.resume() : sub.socket.pause()), 40);
    const N = 40_000;
    const size = 1024;
    const frame = Buffer.concat([Buffer.from(`PUB bp ${size}\r\n`), Buffer.alloc(size, 120), Buffer.from("\r\n")]);
    const pub = await RawClient.connect(s.port);
    await pub.handshake();
    const batch = Buffer.concat(Array(1000).fill(frame));
    for (let i = 0; i < N / 1000; i++) {
      if (!pub.socket.write(batch)) await new Promise((r) => pub.socket.once("drain", r));
    }
    const expected = N * (`MSG bp 1 ${size}\r\n`.length + size + 2);
    await until(() => bytes >= expected, 30_000, `all bytes (${bytes}/${expected})`);
    clearInterval(reader);
    assert.equal(base > 0, true);
    assert.equal(bytes, expected);
    assert.equal(s.stats.slowConsumers, 0);
    sub.close();
    pub.close();
  } finally {
    await s.close();
  }
});
