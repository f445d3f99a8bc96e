// The load generator's worker threads. Each worker plays one role against the server
// (publisher, subscribers, responder, requester) or, for the generator's self-test, plays
// a fake server (a sink that discards PUBs, a source that emits MSGs). The main thread
// drives them with small messages; no per-message traffic crosses threads.

import * as net from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { RawConn } from "./conn.js";
import { frameBatch, framesPerBatch, makePayload, pubFrame } from "./frames.js";
import { parseMsgLine } from "./scanner.js";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.js";

if (!parentPort) throw new Error("bench worker started outside a worker thread");
const port = parentPort;
const init = workerData as WorkerInit;

const now = (): bigint => process.hrtime.bigint();
const post = (m: FromWorker): void => port.postMessage(m);
const conns: RawConn[] = [];
const servers: net.Server[] = [];
let stopping = false;

function failed(err: unknown): void {
  if (stopping) return;
  stopping = true;
  post({ type: "error", message: err instanceof Error ? err.message : String(err) });
}

function stop(): void {
  stopping = true;
  for (const c of conns) c.close();
  for (const s of servers) s.close();
  port.close();
}

async function connect(label: string, extra: Partial<Parameters<typeof RawConn.connect>[0]> = {}): Promise<RawConn> {
  if (init.role === "sink" || init.role === "source" || init.role === "echo") throw new Error("not a client role");
  const c = await RawConn.connect({
    host: init.host,
    port: init.port,
    timeoutMs: init.timeoutMs,
    label,
    onFail: (e) => failed(e),
    ...extra,
  });
  conns.push(c);
  return c;
}

async function publisher(): Promise<void> {
  if (init.role !== "pub") return;
  const c = await connect(`publisher → ${init.host}:${init.port}`, { writableHighWaterMark: 4 << 20 });
  const frame = pubFrame(init.subject, makePayload(init.size));
  const per = framesPerBatch(frame.length, 1 << 20);
  const batch = frameBatch(frame, per);
  post({ type: "ready" });
  port.on("message", (m: ToWorker) => {
    if (m.cmd === "stop") return stop();
    if (m.cmd !== "run") return;
    void (async () => {
      const t0 = now();
      const deadline = m.durationMs > 0 ? t0 + BigInt(Math.round(m.durationMs * 1e6)) : 0n;
      let sent = 0;
      while (sent < m.count) {
        if (deadline !== 0n && now() >= deadline) break;
        const n = Math.min(per, m.count - sent);
        sent += n;
        await c.write(n === per ? batch : batch.subarray(0, n * frame.length));
      }
      const tWritten = now();
      await c.ping(m.timeoutMs);
      post({ type: "pubDone", sent, t0, tWritten, tEnd: now() });
    })().catch(failed);
  });
}

async function subscribers(): Promise<void> {
  if (init.role !== "sub") return;
  let target = -1; // cumulative per-connection count to reach; -1 = not told yet
  let tLast = 0n;
  let doneSent = false;
  const check = (): void => {
    if (target < 0 || doneSent) return;
    for (const c of conns) if (c.scanner.msgs < target) return;
    doneSent = true;
    post({ type: "subDone", ok: true, counts: conns.map((c) => c.scanner.msgs), tLast });
  };
  const onChunk = (): void => {
    tLast = now();
    if (target >= 0) check();
  };
  for (let k = 0; k < init.conns; k++) {
    const c = await connect(`subscriber ${init.firstIndex + k} ← ${init.host}:${init.port}`, { onChunk });
    c.socket.write(`SUB ${init.subject} ${k + 1}\r\n`);
    await c.ping();
  }
  post({ type: "ready" });
  let watchdog: NodeJS.Timeout | undefined;
  port.on("message", (m: ToWorker) => {
    if (m.cmd === "stop") {
      if (watchdog) clearInterval(watchdog);
      return stop();
    }
    if (m.cmd !== "expect") return;
    target = m.total;
    doneSent = false;
    if (watchdog) clearInterval(watchdog);
    let lastSum = -1;
    let lastChange = Date.now();
    watchdog = setInterval(() => {
      if (doneSent) {
        clearInterval(watchdog);
        return;
      }
      const sum = conns.reduce((a, c) => a + c.scanner.msgs, 0);
      if (sum !== lastSum) {
        lastSum = sum;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > m.stallMs) {
        clearInterval(watchdog);
        doneSent = true;
        post({ type: "subDone", ok: false, counts: conns.map((c) => c.scanner.msgs), tLast });
      }
    }, 100);
    check();
  });
}

async function responder(): Promise<void> {
  if (init.role !== "responder") return;
  const payload = makePayload(init.size);
  const cache = new Map<string, Buffer>();
  let c: RawConn | undefined;
  const onMsg = (line: Uint8Array): void => {
    const { reply } = parseMsgLine(line);
    if (!reply || !c) return;
    let f = cache.get(reply);
    if (!f) {
      if (cache.size > 1000) cache.clear();
      f = pubFrame(reply, payload);
      cache.set(reply, f);
    }
    c.socket.write(f);
  };
  c = await connect(`responder ↔ ${init.host}:${init.port}`, { onMsg });
  c.socket.write(`SUB ${init.subject} 1\r\n`);
  await c.ping();
  post({ type: "ready" });
  port.on("message", (m: ToWorker) => {
    if (m.cmd === "stop") stop();
  });
}

async function requester(): Promise<void> {
  if (init.role !== "requester") return;
  const inbox = `_INBOX.bench.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  let onReply: (() => void) | undefined;
  let seen = 0;
  let conn: RawConn | undefined;
  conn = await connect(`requester ↔ ${init.host}:${init.port}`, {
    onChunk: () => {
      if (conn && onReply && conn.scanner.msgs !== seen) onReply();
    },
  });
  const c = conn;
  seen = c.scanner.msgs;
  c.socket.write(`SUB ${inbox} 1\r\n`);
  await c.ping();
  const frame = pubFrame(init.subject, makePayload(init.size), inbox);
  post({ type: "ready" });
  port.on("message", (m: ToWorker) => {
    if (m.cmd === "stop") return stop();
    if (m.cmd !== "run") return;
    const lat = new Float64Array(m.count);
    let n = 0;
    const t0 = now();
    const deadline = m.durationMs > 0 ? t0 + BigInt(Math.round(m.durationMs * 1e6)) : 0n;
    let tSent = 0n;
    let lastProgress = Date.now();
    const finish = (): void => {
      onReply = undefined;
      clearInterval(watchdog);
      const t1 = now();
      post({ type: "reqDone", n, t0, t1, lat: lat.slice(0, n) });
    };
    const send = (): void => {
      tSent = now();
      c.socket.write(frame);
    };
    onReply = () => {
      const t = now();
      const got = c.scanner.msgs - seen;
      seen = c.scanner.msgs;
      if (got !== 1) {
        // More than one reply for one request: someone else answers too. Count it as an error.
        onReply = undefined;
        clearInterval(watchdog);
        failed(new Error(`requester: ${got} replies to one request (another responder on ${init.subject}?)`));
        return;
      }
      lat[n++] = Number(t - tSent) / 1000;
      lastProgress = Date.now();
      if (n >= m.count || (deadline !== 0n && t >= deadline)) finish();
      else send();
    };
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress > m.timeoutMs) {
        onReply = undefined;
        clearInterval(watchdog);
        failed(new Error(`requester: no reply within ${m.timeoutMs} ms (after ${n} replies)`));
      }
    }, 100);
    send();
  });
}

// ---- fake servers for the self-test -------------------------------------------------------

const FAKE_INFO = 'INFO {"server_id":"BENCHSELFTEST","server_name":"bench-self","version":"0.0.0","proto":1,"headers":true,"max_payload":1048576}\r\n';
const PING_TEXT = Buffer.from("PING\r\n");
const PONG_TEXT = Buffer.from("PONG\r\n");

/** Answers every PING in the byte stream (which may straddle chunks) with PONG. */
function pingResponder(sock: net.Socket): (chunk: Buffer) => void {
  let tail: Buffer = Buffer.alloc(0);
  return (chunk) => {
    const b = tail.length ? Buffer.concat([tail, chunk]) : chunk;
    let i = b.indexOf(PING_TEXT);
    while (i >= 0) {
      sock.write(PONG_TEXT);
      i = b.indexOf(PING_TEXT, i + PING_TEXT.length);
    }
    tail = Buffer.from(b.subarray(Math.max(0, b.length - (PING_TEXT.length - 1))));
  };
}

async function listen(onConn: (s: net.Socket) => void): Promise<number> {
  const srv = net.createServer(onConn);
  servers.push(srv);
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => resolve());
  });
  return (srv.address() as net.AddressInfo).port;
}

async function sink(): Promise<void> {
  if (init.role !== "sink") return;
  const p = await listen((s) => {
    s.setNoDelay(true);
    s.on("error", () => s.destroy());
    s.on("data", pingResponder(s));
    s.write(FAKE_INFO);
  });
  post({ type: "ready", port: p });
  port.on("message", (m: ToWorker) => {
    if (m.cmd === "stop") stop();
  });
}

async function source(): Promise<void> {
  if (init.role !== "source") return;
  const socks: net.Socket[] = [];
  const p = await listen((s) => {
    s.setNoDelay(true);
    s.on("error", () => s.destroy());
    s.on("data", pingResponder(s));
    s.on("close", () => socks.splice(socks.indexOf(s), 1));
    s.write(FAKE_INFO);
    socks.push(s);
  });
  const head = Buffer.from(`MSG ${init.subject} 1 ${init.size}\r\n`);
  const frame = Buffer.concat([head, makePayload(init.size), Buffer.from("\r\n")]);
  const per = framesPerBatch(frame.length, 1 << 20);
  const batch = frameBatch(frame, per);
  post({ type: "ready", port: p });
  const writeAll = async (s: net.Socket, count: number): Promise<void> => {
    let sent = 0;
    while (sent < count) {
      const n = Math.min(per, count - sent);
      sent += n;
      if (!s.write(n === per ? batch : batch.subarray(0, n * frame.length))) {
        await new Promise<void>((resolve, reject) => {
          const onClose = (): void => reject(new Error("self-test source: subscriber went away"));
          s.once("drain", () => {
            s.off("close", onClose);
            resolve();
          });
          s.once("close", onClose);
        });
      }
    }
  };
  port.on("message", (m: ToWorker) => {
    if (m.cmd === "stop") return stop();
    if (m.cmd !== "run") return;
    const t0 = now();
    Promise.all(socks.map((s) => writeAll(s, m.count)))
      .then(() => post({ type: "pubDone", sent: m.count, t0, tWritten: now(), tEnd: now() }))
      .catch(failed);
  });
}

/** Answers each PUB with one MSG at once: the requester's own round-trip floor. */
async function echo(): Promise<void> {
  if (init.role !== "echo") return;
  const frame = Buffer.concat([Buffer.from(`MSG _INBOX.echo 1 ${init.size}\r\n`), makePayload(init.size), Buffer.from("\r\n")]);
  const PUB = Buffer.from("PUB ");
  const p = await listen((s) => {
    s.setNoDelay(true);
    s.on("error", () => s.destroy());
    const pings = pingResponder(s);
    s.on("data", (chunk: Buffer) => {
      pings(chunk);
      // Requests are whole writes of one frame each; payloads are lower-case, so "PUB " only starts frames.
      let n = 0;
      for (let i = chunk.indexOf(PUB); i >= 0; i = chunk.indexOf(PUB, i + 4)) n++;
      if (n === 1) s.write(frame);
      else if (n > 1) s.write(Buffer.concat(Array.from({ length: n }, () => frame)));
    });
    s.write(FAKE_INFO);
  });
  post({ type: "ready", port: p });
  port.on("message", (m: ToWorker) => {
    if (m.cmd === "stop") stop();
  });
}

const roles: Record<WorkerInit["role"], () => Promise<void>> = {
  echo,
  pub: publisher,
  sub: subscribers,
  responder,
  requester,
  sink,
  source,
};
roles[init.role]().catch(failed);
