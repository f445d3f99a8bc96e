// NATS over secure WebSocket (wss): `websocket { tls {} }` with the official client (wsconnect
// from @nats-io/nats-core over the `ws` package, as Node 20 has no WebSocket of its own), client
// certificates (verify, other CA, pinned), the identity of a verified certificate (tlsPeer), the
// INFO a websocket client gets, same-origin checks over https, and a plaintext ws:// client refused.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, createHash } from "node:crypto";
import { wsconnect, type NatsConnection } from "@nats-io/nats-core";
import WebSocket from "ws";
import { Logger, startServer, type Server } from "../../src/index.js";
import type { TlsOptions, WebSocketOptions } from "../../src/config/options.js";
import { until } from "../helpers.js";
import { makeTestCerts, type CertFiles, type TestCerts } from "../tls-certs.js";

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
  port: number;
  logs: string[];
}

async function start(tls: TlsOptions = {}, ws: WebSocketOptions = {}): Promise<Started> {
  const logs: string[] = [];
  const server = await startServer(
    {
      host: "127.0.0.1",
      port: -1,
      websocket: { host: "127.0.0.1", port: -1, tls: { cert_file: certs.server.cert, key_file: certs.server.key, ...tls }, ...ws },
    },
    { logger: new Logger({ debug: true, logtime: false, sink: (l) => logs.push(l) }) },
  );
  servers.push(server);
  return { server, port: server.websocketPort!, logs };
}

/** ws options: trust our CA, present `who`'s certificate if given. */
function wsTls(who?: CertFiles, more: WebSocket.ClientOptions = {}): WebSocket.ClientOptions {
  return {
    ca: certs.read(certs.ca),
    ...(who ? { cert: certs.read(who.cert), key: certs.read(who.key) } : {}),
    ...more,
  };
}

function wssConnect(port: number, wsOpts: WebSocket.ClientOptions, scheme = "wss"): Promise<NatsConnection> {
  return wsconnect({
    servers: `${scheme}://127.0.0.1:${port}`,
    timeout: 2000,
    reconnect: false,
    wsFactory: async (u: string) => ({ socket: new WebSocket(u, wsOpts) as unknown as globalThis.WebSocket, encrypted: scheme === "wss" }),
  } as Parameters<typeof wsconnect>[0]);
}

async function client(port: number, wsOpts: WebSocket.ClientOptions): Promise<NatsConnection> {
  const nc = await wssConnect(port, wsOpts);
  conns.push(nc);
  return nc;
}

async function pubSubWorks(nc: NatsConnection): Promise<void> {
  const sub = nc.subscribe("wss.test", { max: 1 });
  nc.publish("wss.test", "hello over wss");
  for await (const m of sub) assert.equal(m.string(), "hello over wss");
}

/** Opens a raw ws client and resolves with the first message (INFO), or rejects. */
function firstMessage(url: string, opts: WebSocket.ClientOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.once("message", (d: WebSocket.RawData) => {
      resolve(d.toString());
      ws.terminate();
    });
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

function spkiSha256(certFile: string): string {
  const der = new X509Certificate(certs.read(certFile)).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex");
}

describe("wss", () => {
  test("pub/sub over wss; listed as wss:// in the ports; INFO says tls_required", async () => {
    const { server, port, logs } = await start();
    assert.deepEqual(server.portsInfo().websocket, [`wss://127.0.0.1:${port}`]);
    assert.ok(logs.some((l) => l.includes(`Listening for websocket clients on wss://127.0.0.1:${port}`)));
    assert.ok(!logs.some((l) => l.includes("DO NOT USE IN PRODUCTION")));
    const nc = await client(port, wsTls());
    await pubSubWorks(nc);
    const c = [...server.clients.values()].at(-1)!;
    assert.equal(c.transport.type, "websocket");
    assert.match(c.transport.tlsState!.version, /^1\.[23]$/);
    assert.equal(c.transport.tlsPeer, undefined);
    const info = JSON.parse((await firstMessage(`wss://127.0.0.1:${port}`, wsTls())).replace(/^INFO /, ""));
    assert.equal(info.tls_required, true);
    assert.equal(info.tls_available, true);
  });

  test("its twin: a plaintext ws:// client on the wss port does not get in", async () => {
    const { port } = await start();
    await assert.rejects(wssConnect(port, {}, "ws"));
    await assert.rejects(firstMessage(`ws://127.0.0.1:${port}`, {}));
  });

  test("a client that does not trust the server's CA does not get in", async () => {
    const { port } = await start();
    await assert.rejects(wssConnect(port, {}));
  });
});

describe("wss with client certificates", () => {
  test("verify: a certificate from the CA gets in, with its identity as tlsPeer", async () => {
    const { server, port } = await start({ ca_file: certs.ca, verify_and_map: true });
    const nc = await client(port, wsTls(certs.alice));
    await pubSubWorks(nc);
    const peer = [...server.clients.values()].at(-1)!.transport.tlsPeer;
    assert.ok(peer);
    assert.deepEqual(peer.emails, ["alice@acme.com"]);
    assert.equal(peer.subject, "CN=alice,OU=eng,O=Acme");
    assert.equal(peer.spkiFingerprint, spkiSha256(certs.alice.cert));
  });

  test("verify: no certificate, or one from another CA, does not get in", async () => {
    const { server, port, logs } = await start({ ca_file: certs.ca, verify: true });
    await assert.rejects(wssConnect(port, wsTls()));
    await assert.rejects(wssConnect(port, wsTls(certs.mallory)));
    await until(() => logs.filter((l) => l.includes("websocket TLS handshake error")).length >= 2, 3000, "both refusals logged");
    assert.ok(logs.some((l) => l.includes("websocket TLS handshake error: tls: client didn't provide a certificate")), logs.join("\n"));
    assert.ok(logs.some((l) => l.includes("certificate signed by unknown authority")), logs.join("\n"));
    assert.equal(server.clients.size, 0);
    // and the right one still does
    await pubSubWorks(await client(port, wsTls(certs.bob)));
  });

  test("pinned_certs: the pinned certificate gets in, another from the same CA does not", async () => {
    const { port, logs } = await start({ ca_file: certs.ca, verify: true, pinned_certs: [spkiSha256(certs.bob.cert)] });
    await pubSubWorks(await client(port, wsTls(certs.bob)));
    await assert.rejects(wssConnect(port, wsTls(certs.carol)));
    await until(() => logs.some((l) => l.includes("websocket TLS handshake error: certificate not pinned (CN=carol,OU=eng,O=Acme,C=US")));
  });

  test("min_version 1.3 refuses a TLS 1.2 client; the default accepts it", async () => {
    const strict = await start({ min_version: "1.3" });
    await assert.rejects(wssConnect(strict.port, wsTls(undefined, { maxVersion: "TLSv1.2" })));
    const lax = await start();
    await pubSubWorks(await client(lax.port, wsTls(undefined, { maxVersion: "TLSv1.2" })));
  });
});

describe("same origin over https", () => {
  test("an https Origin naming this listener is the same origin; http is not", async () => {
    const { port } = await start({}, { same_origin: true });
    const info = await firstMessage(`wss://127.0.0.1:${port}`, wsTls(undefined, { origin: `https://127.0.0.1:${port}` }));
    assert.match(info, /^INFO /);
    await assert.rejects(firstMessage(`wss://127.0.0.1:${port}`, wsTls(undefined, { origin: `http://127.0.0.1:${port}` })), /HTTP 403/);
  });
});
