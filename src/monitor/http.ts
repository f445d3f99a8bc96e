// The monitoring HTTP server: routes nats-server's endpoint paths (under `http_base_path`) to
// their handlers, counts requests per endpoint, and answers anything odd with 400 or 404.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { posix } from "node:path";
import type { Listener, Server } from "../server/server.js";
import { urlHost } from "../server/server.js";
import { JUNCTION_VERSION, SERVER_VERSION } from "../version.js";
import { CpuSampler, type MonitorContext } from "./context.js";
import { connz, connzOptions } from "./connz.js";
import { accountz, gatewayz, healthz, leafz, rootPage, routez } from "./endpoints.js";
import { BadRequest, Query } from "./format.js";
import { jsz, jszOptions } from "./jsz.js";
import { subsz, subszOptions } from "./subsz.js";
import { varz } from "./varz.js";

type Handler = (q: Query, req: IncomingMessage, res: ServerResponse) => void;

interface Route {
  /** the key in http_req_stats */
  stat: string;
  handler: Handler;
}

/** nats-server's normalisation: "" → "/", a leading slash added, the path cleaned. */
export function normalizeBasePath(p: string): string {
  if (!p) return "/";
  if (!p.startsWith("/")) p = "/" + p;
  const clean = posix.normalize(p);
  return clean.length > 1 && clean.endsWith("/") ? clean.slice(0, -1) : clean;
}

export class Monitor implements MonitorContext {
  readonly basePath: string;
  readonly reqStats = new Map<string, number>();
  readonly cpu = new CpuSampler();
  httpPort = 0;
  private readonly routes = new Map<string, Route>();
  private http: HttpServer | undefined;

  constructor(readonly server: Server) {
    this.basePath = normalizeBasePath(server.options.http_base_path);
    const json = (f: (q: Query) => unknown): Handler => (q, _req, res) => sendJSON(res, 200, f(q));
    this.route("/", (_q, _req, res) => sendHTML(res, rootPage(SERVER_VERSION, JUNCTION_VERSION, this.basePath)));
    this.route("/varz", json(() => varz(this)));
    this.route("/connz", json((q) => connz(this, connzOptions(q))));
    this.route("/subsz", json((q) => subsz(this, subszOptions(q))));
    this.route("/subscriptionsz", json((q) => subsz(this, subszOptions(q))), "/subsz");
    this.route("/routez", json((q) => routez(this, q)));
    this.route("/gatewayz", json((q) => gatewayz(this, q)));
    this.route("/leafz", json((q) => leafz(this, q)));
    this.route("/accountz", json((q) => accountz(this, q)));
    this.route("/jsz", json((q) => jsz(this, jszOptions(q))));
    this.route("/healthz", (q, _req, res) => {
      const h = healthz(this, q);
      if (h.code !== 200) this.server.logger.warn(`Healthcheck failed: ${JSON.stringify(h.body.error ?? h.body.errors)}`);
      sendJSON(res, h.code, h.body, false);
    });
  }

  private route(p: string, handler: Handler, stat = p): void {
    const full = p === "/" ? this.basePath : posix.join(this.basePath, p);
    this.routes.set(full, { stat, handler });
    // the root is also reachable with a trailing slash under a base path
    if (p === "/" && full !== "/") this.routes.set(full + "/", { stat, handler });
  }

  /** Starts listening on `http_host:http_port` (a free port when -1). */
  async listen(): Promise<void> {
    const o = this.server.options;
    const http = createServer((req, res) => this.handle(req, res));
    // as nats-server: 5 seconds to send the headers; no write timeout
    http.headersTimeout = 5_000;
    http.requestTimeout = 30_000;
    http.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(o.http_port === -1 ? 0 : o.http_port, o.http_host, () => {
        http.off("error", reject);
        resolve();
      });
    }).catch((e: Error) => {
      throw new Error(`can't listen to the monitor port: ${e.message}`);
    });
    http.on("error", (e) => this.server.logger.error(`monitoring: ${e.message}`));
    const addr = http.address();
    this.httpPort = typeof addr === "object" && addr ? addr.port : o.http_port;
    this.http = http;
    this.server.logger.info(`Starting http monitor on ${urlHost(o.http_host)}:${this.httpPort}`);
  }

  close(): Promise<void> {
    const http = this.http;
    if (!http) return Promise.resolve();
    this.http = undefined;
    return new Promise((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      const url = stripOrigin(req.url ?? "/");
      const qi = url.indexOf("?");
      const rawPath = qi < 0 ? url : url.slice(0, qi);
      let path: string;
      try {
        path = decodeURIComponent(rawPath);
      } catch {
        sendText(res, 400, "400 Bad Request");
        return;
      }
      const route = this.routes.get(path);
      if (!route) {
        sendText(res, 404, "404 page not found\n");
        return;
      }
      this.reqStats.set(route.stat, (this.reqStats.get(route.stat) ?? 0) + 1);
      const q = new Query(new URLSearchParams(qi < 0 ? "" : url.slice(qi + 1)));
      try {
        route.handler(q, req, res);
      } catch (e) {
        if (e instanceof BadRequest) sendText(res, 400, e.message);
        else throw e;
      }
    } catch (e) {
      this.server.logger.error(`monitoring: error handling ${String(req.url).slice(0, 200)}: ${(e as Error)?.stack ?? e}`);
      if (!res.headersSent) sendText(res, 500, "500 Internal Server Error");
      else res.destroy();
    }
  }
}

/** A request target in absolute form ("http://host/varz") is reduced to its path and query. */
function stripOrigin(url: string): string {
  if (url.startsWith("/")) return url;
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/.exec(url);
  if (!m) return "/" + url;
  const rest = url.slice(m[0].length);
  return rest.startsWith("/") ? rest : "/" + rest;
}

function sendJSON(res: ServerResponse, code: number, body: unknown, indent = true): void {
  const text = indent ? JSON.stringify(body, null, 2) : JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": "application/json",
    "Access-Control-Allow-Origin": "*",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

function sendHTML(res: ServerResponse, html: string): void {
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Content-Length": Buffer.byteLength(html) });
  res.end(html);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

export type { Listener };
