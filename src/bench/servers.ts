// Child servers for `junction bench` with no --url: Junction itself and, when installed,
// nats-server, each on a random free port of 127.0.0.1. They are killed when the bench ends,
// fails, or is interrupted.

import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import * as net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BenchError } from "./conn.js";

export interface ChildServer {
  name: string;
  host: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** The last few KiB of what it printed (for error messages). */
  output(): string;
  stop(): Promise<void>;
}

/** The repository root: this file is src/bench/servers.ts or dist/bench/servers.js. */
export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((res, rej) => {
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => res());
  });
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

/** Full path of an executable on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** How to run Junction's CLI: the compiled one (bin/junction.js), else from sources via tsx. */
export function junctionCommand(root = repoRoot()): { cmd: string; args: string[] } | undefined {
  if (existsSync(join(root, "dist", "cli", "main.js")) && existsSync(join(root, "bin", "junction.js"))) {
    return { cmd: process.execPath, args: [join(root, "bin", "junction.js")] };
  }
  const src = join(root, "src", "cli", "main.ts");
  if (existsSync(src)) {
    const code = `import { main } from ${JSON.stringify(pathToFileURL(src).href)}; main(process.argv.slice(1));`;
    return { cmd: process.execPath, args: ["--import", "tsx", "--input-type=module", "-e", code, "--"] };
  }
  return undefined;
}

const live = new Set<ChildServer>();

function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  }
}

/** Kills every child server still running, synchronously (for 'exit' and signal handlers). */
export function killAllSync(): void {
  for (const s of live) {
    try {
      signalGroup(s.child, "SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

async function startChild(name: string, cmd: string, args: string[], port: number, cwd: string, timeoutMs: number): Promise<ChildServer> {
  // Its own process group, so that stopping it also stops anything it started (a wrapper
  // script, a loader): signals go to the whole group.
  const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: process.env, detached: true });
  let out = "";
  const keep = (d: Buffer): void => {
    out = (out + d.toString("utf8")).slice(-8192);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited: string | undefined;
  const exitPromise = new Promise<void>((res) => {
    child.once("exit", (code, sig) => {
      exited = sig ? `killed by ${sig}` : `exited with code ${code}`;
      res();
    });
    child.once("error", (e) => {
      exited = `could not start: ${e.message}`;
      res();
    });
  });
  const server: ChildServer = {
    name,
    host: "127.0.0.1",
    port,
    pid: child.pid ?? -1,
    child,
    output: () => out,
    stop: async () => {
      live.delete(server);
      if (exited) return;
      signalGroup(child, "SIGTERM");
      const t = setTimeout(() => signalGroup(child, "SIGKILL"), 3000);
      await exitPromise;
      clearTimeout(t);
    },
  };
  live.add(server);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      live.delete(server);
      throw new BenchError(`${name} ${exited} before listening on 127.0.0.1:${port}\n  command: ${[cmd, ...args].join(" ")}${tail(out)}`);
    }
    if (await answersInfo(port)) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new BenchError(`${name} did not answer on 127.0.0.1:${port} within ${timeoutMs} ms\n  command: ${[cmd, ...args].join(" ")}${tail(out)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tail(out: string): string {
  const t = out.trim();
  return t ? `\n  output:\n    ${t.split("\n").slice(-15).join("\n    ")}` : "";
}

/** True when something on the port sends a line starting with INFO. */
function answersInfo(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let buf = "";
    const done = (ok: boolean): void => {
      clearTimeout(t);
      s.destroy();
      res(ok);
    };
    const t = setTimeout(() => done(false), 1000);
    s.on("error", () => done(false));
    s.on("data", (d) => {
      buf += d.toString("latin1");
      if (buf.includes("\n")) done(buf.startsWith("INFO "));
    });
  });
}

export async function startJunction(timeoutMs = 20_000): Promise<ChildServer> {
  const root = repoRoot();
  const how = junctionCommand(root);
  if (!how) {
    throw new BenchError(
      `cannot start Junction: neither ${join(root, "dist", "cli", "main.js")} (run \`npm run build\`) nor ${join(root, "src", "cli", "main.ts")} exists; or pass --url`,
    );
  }
  const port = await freePort();
  return startChild("Junction", how.cmd, [...how.args, "-p", String(port), "-a", "127.0.0.1"], port, root, timeoutMs);
}

export async function startNatsServer(path: string, timeoutMs = 20_000): Promise<ChildServer> {
  const port = await freePort();
  return startChild("nats-server", path, ["-a", "127.0.0.1", "-p", String(port)], port, repoRoot(), timeoutMs);
}
