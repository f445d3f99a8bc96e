// The server: listeners, the accounts, the connections, and their lifecycle
// (start, graceful close, lame duck).
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { createServer as createServerKey } from "@nats-io/nkeys";
import type { ResolvedOptions } from "../config/options.js";
import type { Account } from "../core/account.js";
import type { JetStream } from "../jetstream/jetstream.js";
import type { MqttBroker } from "../mqtt/broker.js";
import type { MqttConnection } from "../mqtt/connection.js";
import { Authenticator, type AuthOutcome } from "../auth/authenticator.js";
import { setupAccounts } from "./accounts.js";
import { currentProducer } from "../core/backpressure.js";
import { FlushScheduler } from "../core/outbound.js";
import { Logger, silentLogger } from "../logger.js";
import { NatsConnection } from "../nats/connection.js";
import type { AuthResult, ClientHost, ClosedReason, ConnectOptions, ServerStats } from "../nats/types.js";
import { TcpTransport } from "../transport/tcp.js";
import { TlsHandshaker, TlsTransport, isProbeError } from "../transport/tls.js";
import type { Transport } from "../transport/transport.js";
import { JUNCTION_VERSION, SERVER_VERSION } from "../version.js";
import { removePortsFile, writePortsFile, writePidFile, removePidFile } from "./files.js";

/** How many closed connections are remembered for `/connz?state=closed`. */
const MAX_CLOSED_CLIENTS = 10_000;

/** A module that listens on its own port (monitoring, WebSocket) and stops with the server. */
export interface Listener {
  readonly name: string;
  readonly port: number;
  /** Lame duck mode: stop taking new connections, keep the ones already here (client listeners). */
  stopAccepting?(): void;
  close(): Promise<void>;
}

export class Server implements ClientHost {
  readonly serverId: string;
  readonly serverName: string;
  readonly logger: Logger;
  readonly scheduler = new FlushScheduler();
  readonly stats: ServerStats = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0, slowConsumers: 0, totalConnections: 0, stalledClients: 0 };
  readonly globalAccount: Account;
  readonly systemAccount: Account;
  readonly authenticator: Authenticator;
  private readonly imports: { close(): void }[];
  readonly accounts = new Map<string, Account>();
  readonly clients = new Map<number, NatsConnection>();
  /** recently closed client connections, NATS and MQTT alike (as nats-server keeps them) */
  readonly closedClients: (NatsConnection | MqttConnection)[] = [];
  readonly startTime = new Date();
  /** the listeners that modules (monitoring, websocket) started, by name */
  readonly listeners = new Map<string, Listener>();
  /** The actual client port once listening (resolves -1). */
  port = 0;
  lameDuck = false;
  running = false;
  /** the JetStream engine, when enabled */
  jetstream: JetStream | undefined;
  /** the MQTT adapter, when an mqtt listener runs (monitoring lists its connections) */
  mqtt: MqttBroker | undefined;

  private netServer: NetServer | undefined;
  /** the client port's TLS (`tls {}`) */
  private readonly tlsHandshaker: TlsHandshaker | undefined;
  private nextCid = 0;
  private infoBase: Record<string, unknown> = {};
  private closing: Promise<void> | undefined;
  private readonly shutdownHooks: (() => Promise<void> | void)[] = [];
  /** runs when the server has shut down (SIGTERM, lame duck end, close()) */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(readonly options: ResolvedOptions, logger?: Logger) {
    this.logger = logger ?? silentLogger();
    this.serverId = createServerKey().getPublicKey();
    this.serverName = options.server_name ?? this.serverId;
    this.authenticator = new Authenticator(options);
    const setup = setupAccounts(options, (_account, reply) => {
      const p = currentProducer()?.owner;
      if (p instanceof NatsConnection && p.noResponders) p.noRespondersReply(reply);
    });
    for (const [name, a] of setup.accounts) this.accounts.set(name, a);
    this.imports = setup.imports;
    this.globalAccount = this.accounts.get("$G")!;
    this.systemAccount = this.accounts.get(options.system_account)!;
    if (options.tls) this.tlsHandshaker = new TlsHandshaker(options.tls);
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  get clientURL(): string {
    return `nats://${urlHost(this.options.host)}:${this.port}`;
  }

  /** The monitoring port, or undefined when monitoring is off. */
  get httpPort(): number | undefined {
    return this.listeners.get("monitoring")?.port;
  }

  /** The MQTT port, or undefined when no mqtt listener is configured. */
  get mqttPort(): number | undefined {
    return this.listeners.get("mqtt")?.port;
  }

  /** A new client id (NATS connections, MQTT connections and sessions share the sequence). */
  newCid(): number {
    return ++this.nextCid;
  }

  /** The WebSocket port, or undefined when no websocket listener is configured. */
  get websocketPort(): number | undefined {
    return this.listeners.get("websocket")?.port;
  }

  get authRequiredGlobally(): boolean {
    return this.authenticator.required;
  }

  /** Listens on the client port. */
  async start(): Promise<void> {
    const o = this.options;
    this.logger.info(`Starting junction ${JUNCTION_VERSION} (nats-server ${SERVER_VERSION} compatible)`);
    this.logger.info(`  Server ID:   ${this.serverId}`);
    this.logger.info(`  Server name: ${this.serverName}`);
    const srv = createNetServer({ noDelay: true }, (socket) => this.accept(socket));
    this.netServer = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(o.port === -1 ? 0 : o.port, o.host, () => {
        srv.off("error", reject);
        resolve();
      });
    });
    srv.on("error", (e) => this.logger.error(`Client listener error: ${e.message}`));
    const addr = srv.address();
    this.port = typeof addr === "object" && addr ? addr.port : o.port;
    this.rebuildInfo();
    this.logger.info(`Listening for client connections on ${urlHost(o.host)}:${this.port}`);
    if (o.tls) {
      const tlsFirstOnly = o.tls.handshake_first && o.tls.handshake_first_fallback_ms === 0;
      this.logger.info(`TLS ${o.allow_non_tls && !tlsFirstOnly ? "available" : "required"} for client connections`);
      if (tlsFirstOnly) this.logger.warn(`Clients that are not using "TLS Handshake First" option will fail to connect`);
    }
    this.running = true;
  }

  /** Called once every listener is up: files that tools wait for. */
  announce(portsFileName: string): void {
    const o = this.options;
    if (o.pid_file) writePidFile(o.pid_file);
    if (o.ports_file_dir) {
      const file = writePortsFile(o.ports_file_dir, portsFileName, this.portsInfo());
      this.shutdownHooks.push(() => removePortsFile(file));
      this.logger.debug(`Wrote ports file ${file}`);
    }
    if (o.pid_file) {
      const f = o.pid_file;
      this.shutdownHooks.push(() => removePidFile(f));
    }
    this.logger.info("Server is ready");
  }

  /** The URLs clients reach this server on, per listener, as nats-server writes its ports file. */
  portsInfo(): Record<string, string[]> {
    const out: Record<string, string[]> = { nats: [this.clientURL] };
    const mon = this.listeners.get("monitoring");
    if (mon) out.monitoring = [`http://${urlHost(this.options.http_host)}:${mon.port}`];
    const ws = this.listeners.get("websocket");
    const wso = this.options.websocket;
    if (ws && wso) out.websocket = [`${wso.tls || !wso.no_tls ? "wss" : "ws"}://${urlHost(wso.host)}:${ws.port}`];
    return out;
  }

  addListener(l: Listener): void {
    this.listeners.set(l.name, l);
  }

  onShutdown(fn: () => Promise<void> | void): void {
    this.shutdownHooks.push(fn);
  }

  private rebuildInfo(): void {
    const o = this.options;
    const info: Record<string, unknown> = {
      server_id: this.serverId,
      server_name: this.serverName,
      version: SERVER_VERSION,
      proto: 1,
      junction_version: JUNCTION_VERSION,
      host: o.host,
      port: this.port,
      headers: !o.no_header_support,
      max_payload: o.max_payload,
    };
    // like nats-server, a server with a no_auth_user does not announce auth as required
    if (this.authRequiredGlobally && this.options.no_auth_user === undefined) info.auth_required = true;
    if (o.tls) {
      // nats-server: required unless allow_non_tls (then available); TLS-first without a
      // fallback always requires it
      const tlsFirstOnly = o.tls.handshake_first && o.tls.handshake_first_fallback_ms === 0;
      if (!o.allow_non_tls || tlsFirstOnly) info.tls_required = true;
      if (o.tls.verify) info.tls_verify = true;
      if (o.allow_non_tls && !tlsFirstOnly) info.tls_available = true;
    }
    if (o.client_advertise) info.connect_urls = [o.client_advertise];
    if (this.jetstream) {
      info.jetstream = true;
      if (this.jetstream.domain) info.domain = this.jetstream.domain;
    }
    this.infoBase = info;
  }

  /** Accepts a TCP connection. */
  private accept(socket: Socket): void {
    if (!this.running || this.lameDuck) {
      socket.destroy();
      return;
    }
    const hs = this.tlsHandshaker;
    if (!hs) {
      this.addConnection(new TcpTransport(socket));
      return;
    }
    const tls = hs.options;
    const t = new TlsTransport(socket, hs, {
      handshakeFirst: tls.handshake_first,
      fallbackMs: tls.handshake_first_fallback_ms,
      allowNonTls: this.options.allow_non_tls === true,
    });
    // INFO goes out first (in plaintext, or queued for after a TLS-first handshake), then TLS
    const c = this.addConnection(t);
    if (!c) return;
    t.start().then(
      () => {
        const st = t.tlsState;
        if (st && this.logger.debugEnabled) {
          this.logger.debug(`${c} - TLS handshake complete`);
          this.logger.debug(`${c} - TLS version ${st.version}, cipher suite ${st.cipherSuite}`);
        }
      },
      (e: Error) => {
        if (isProbeError(e)) this.logger.debug(`${c} - TLS handshake error: ${e.message}`);
        else this.logger.error(`${c} - TLS handshake error: ${e.message}`);
      },
    );
  }

  /** Adds a connection over any transport (TCP here; WebSocket from its module). */
  addConnection(transport: Transport): NatsConnection | undefined {
    const cid = ++this.nextCid;
    const c = new NatsConnection(cid, transport, this, this.globalAccount);
    this.stats.totalConnections++;
    const max = this.options.max_connections;
    // max -1 refuses everyone (a configured 0, as in nats-server); 0 means no limit
    if (max !== 0 && this.clients.size >= Math.max(0, max)) {
      this.logger.error(`${c} - maximum connections exceeded`);
      transport.onClose(() => {});
      transport.write([Buffer.from(`INFO ${this.infoFor(c)}\r\n-ERR 'maximum connections exceeded'\r\n`)]);
      transport.end("Maximum Connections Exceeded");
      return undefined;
    }
    this.clients.set(cid, c);
    c.begin();
    return c;
  }

  infoFor(c: NatsConnection): string {
    const info: Record<string, unknown> = { ...this.infoBase, client_id: c.cid, client_ip: c.transport.remoteAddress };
    if (c.nonce !== undefined) info.nonce = c.nonce;
    if (c.transport.type === "websocket" && this.options.websocket?.no_auth_user !== undefined) delete info.auth_required;
    if (c.transport.type === "websocket") {
      // nats-server: a websocket client is told whether its own listener does TLS
      const wsTls = this.options.websocket?.tls !== undefined;
      if (wsTls) {
        info.tls_required = true;
        info.tls_available = true;
      } else {
        delete info.tls_required;
        delete info.tls_available;
      }
    }
    if (this.lameDuck) info.ldm = true;
    return JSON.stringify(info);
  }

  authRequired(_c: NatsConnection): boolean {
    return this.authRequiredGlobally;
  }

  authenticate(c: NatsConnection, connect: ConnectOptions | null): AuthResult | Promise<AuthResult> {
    const t = c.transport;
    const ws = t.type === "websocket";
    const r = this.authenticator.authenticate({
      credentials: connect ?? {},
      nonce: c.nonce,
      connectionType: ws ? "WEBSOCKET" : "STANDARD",
      tlsPeer: t.tlsPeer,
      noAuthUser: ws ? this.options.websocket?.no_auth_user : undefined,
    });
    return r instanceof Promise ? r.then((x) => this.toAuthResult(x)) : this.toAuthResult(r);
  }

  private toAuthResult(r: AuthOutcome): AuthResult {
    if (!r.ok) return r;
    const account = this.accounts.get(r.account);
    if (!account) return { ok: false, reason: `account ${r.account} not found` };
    return { ok: true, account, user: r.user, permissions: r.permissions };
  }

  newNonce(): string | undefined {
    return this.authenticator.newNonce();
  }

  clientClosed(c: NatsConnection): void {
    if (!this.clients.delete(c.cid)) return;
    this.rememberClosed(c);
  }

  /** Keeps a closed connection for `/connz?state=closed`, the oldest going first. */
  rememberClosed(c: NatsConnection | MqttConnection): void {
    this.closedClients.push(c);
    if (this.closedClients.length > MAX_CLOSED_CLIENTS) this.closedClients.shift();
  }

  /** Number of subscriptions across accounts. */
  numSubscriptions(): number {
    let n = 0;
    for (const a of this.accounts.values()) n += a.sublist.size;
    return n;
  }

  /**
   * Lame duck mode: stop accepting, tell clients (INFO with `ldm`), then close them spread
   * over `lame_duck_duration`, after `lame_duck_grace_period`; then shut down.
   */
  async enterLameDuckMode(): Promise<void> {
    if (this.lameDuck || !this.running) return;
    const o = this.options;
    this.lameDuck = true;
    this.logger.info("Entering lame duck mode, stop accepting new clients");
    // stop accepting; close() calls back only once every connection is gone, so don't wait
    this.netServer?.close();
    for (const l of this.listeners.values()) l.stopAccepting?.();
    for (const c of this.clients.values()) c.send(`INFO ${this.infoFor(c)}\r\n`);
    const grace = Math.min(o.lame_duck_grace_period_ms, o.lame_duck_duration_ms);
    await sleep(grace);
    const clients = [...this.clients.values()];
    if (clients.length > 0) {
      const spread = Math.max(0, o.lame_duck_duration_ms - grace);
      const step = spread / clients.length;
      this.logger.info(`Closing existing clients over ${spread}ms`);
      for (const c of clients) {
        if (!this.running) break;
        c.closeConnection("Lame Duck Mode");
        if (step >= 1) await sleep(step);
      }
    }
    await this.close();
  }

  /** Shuts down: listeners stop, every client is flushed and closed. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.running = false;
    this.logger.info("Initiating Shutdown...");
    const waits: Promise<void>[] = [];
    if (this.netServer?.listening) this.netServer.close();
    for (const l of this.listeners.values()) waits.push(l.close().catch((e) => this.logger.error(`${l.name}: ${e}`)));
    for (const c of [...this.clients.values()]) c.closeConnection("Server Shutdown");
    await Promise.all(waits);
    for (const h of this.shutdownHooks) {
      try {
        await h();
      } catch (e) {
        this.logger.error(`shutdown: ${(e as Error).message}`);
      }
    }
    for (const im of this.imports) im.close();
    this.logger.info("Server Exiting..");
    this.resolveClosed();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The host to put in a URL: a wildcard listen address becomes loopback, IPv6 is bracketed. */
export function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

export type { ClosedReason };
