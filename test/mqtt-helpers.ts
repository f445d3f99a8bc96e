// Helpers for the MQTT tests: servers with an mqtt listener, MQTT.js clients, message collectors.
import mqtt, { type IClientOptions, type MqttClient, type IPublishPacket } from "mqtt";
import { connect as netConnect, type Socket } from "node:net";
import type { Options } from "../src/config/options.js";
import type { Server } from "../src/server/server.js";
import { startTestServer } from "./helpers.js";

export async function startMqttServer(opts: Options = {}): Promise<Server> {
  return startTestServer({ server_name: "mqtt-test", ...opts, mqtt: { port: -1, host: "127.0.0.1", ...opts.mqtt } });
}

export function mqttUrl(s: Server): string {
  return `mqtt://127.0.0.1:${s.mqttPort}`;
}

export async function mqttConnect(s: Server | string, opts: IClientOptions = {}): Promise<MqttClient> {
  const url = typeof s === "string" ? s : mqttUrl(s);
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, ...opts });
}

/** Connects and resolves with the CONNACK (session present, 5.0 properties). */
export async function mqttConnack(s: Server | string, opts: IClientOptions = {}): Promise<{ client: MqttClient; collector: Collector; sessionPresent: boolean; properties?: Record<string, unknown> }> {
  const client = mqtt.connect(typeof s === "string" ? s : mqttUrl(s), { reconnectPeriod: 0, connectTimeout: 3000, ...opts });
  // collecting from the start: messages a session owes arrive right behind the CONNACK
  const collector = new Collector(client);
  return new Promise((resolve, reject) => {
    client.once("connect", (p) => resolve({ client, collector, sessionPresent: p.sessionPresent, properties: p.properties as Record<string, unknown> | undefined }));
    client.once("error", reject);
  });
}

/** Connects and resolves with the error (or CONNACK reason) when refused. */
export async function mqttRefused(s: Server, opts: IClientOptions = {}): Promise<{ code?: number; message: string }> {
  try {
    const c = await mqttConnect(s, opts);
    await c.endAsync();
  } catch (e) {
    const err = e as Error & { code?: number };
    return { code: err.code, message: err.message };
  }
  throw new Error("connection was accepted");
}

export interface Received {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

/** Collects messages of a client; `next()` waits for the next one. */
export class Collector {
  readonly msgs: Received[] = [];
  private waiters: (() => void)[] = [];
  constructor(client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      this.msgs.push({ topic, payload: payload.toString(), packet });
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }

  async count(n: number, ms = 3000): Promise<Received[]> {
    const deadline = Date.now() + ms;
    while (this.msgs.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} messages, got ${this.msgs.length}: ${JSON.stringify(this.msgs.map((m) => [m.topic, m.payload]))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.msgs.slice(0, n);
  }

  private cursor = 0;

  /** The next message not yet taken by next() (waits for it). */
  async next(ms = 3000): Promise<Received> {
    const all = await this.count(this.cursor + 1, ms);
    return all[this.cursor++]!;
  }

  /** Asserts nothing more arrives for `ms`. */
  async none(ms = 200): Promise<void> {
    const before = this.msgs.length;
    await new Promise((r) => setTimeout(r, ms));
    if (this.msgs.length !== before) throw new Error(`unexpected message: ${JSON.stringify(this.msgs.slice(before).map((m) => [m.topic, m.payload]))}`);
  }
}

/** A raw MQTT socket for protocol-level tests. */
export class RawMqtt {
  data = Buffer.alloc(0);
  closed = false;
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    socket.on("data", (b) => {
      this.data = Buffer.concat([this.data, b]);
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static async connect(s: Server): Promise<RawMqtt> {
    const sock = netConnect(s.mqttPort!, "127.0.0.1");
    await new Promise<void>((res, rej) => {
      sock.once("connect", () => res());
      sock.once("error", rej);
    });
    return new RawMqtt(sock);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(b: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(b) ? b : Buffer.from(b));
  }

  async waitBytes(n: number, ms = 3000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (this.data.length < n) {
      if (this.closed) throw new Error(`closed with ${this.data.length} bytes: ${this.data.toString("hex")}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${this.data.length} bytes: ${this.data.toString("hex")}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.data;
  }

  async waitClosed(ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`not closed; got ${this.data.toString("hex")}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A 3.1.1 CONNECT packet. */
export function connectPacket(clientId: string, opts: { clean?: boolean; keepAlive?: number; version?: number; user?: string; pass?: string } = {}): Buffer {
  const id = Buffer.from(clientId);
  const parts: Buffer[] = [Buffer.from([0, 4]), Buffer.from("MQTT"), Buffer.from([opts.version ?? 4])];
  let flags = opts.clean === false ? 0 : 2;
  if (opts.user !== undefined) flags |= 0x80;
  if (opts.pass !== undefined) flags |= 0x40;
  const ka = opts.keepAlive ?? 60;
  parts.push(Buffer.from([flags, ka >> 8, ka & 0xff]));
  if (opts.version === 5) parts.push(Buffer.from([0]));
  parts.push(Buffer.from([id.length >> 8, id.length & 0xff]), id);
  for (const s of [opts.user, opts.pass]) {
    if (s === undefined) continue;
    const b = Buffer.from(s);
    parts.push(Buffer.from([b.length >> 8, b.length & 0xff]), b);
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}
