// `junction bench`: a load generator for NATS servers (Junction, nats-server, any other).
// See BENCHMARKS.md for what each mode measures.

import { availableParallelism } from "node:os";
import { parseArgs, UsageError, USAGE, ALL_MODES, type BenchOptions, type Mode } from "./args.js";
import { BenchError, RawConn } from "./conn.js";
import { runFlow, runIdle, runPub, runReqRep, runSelf, type Figure, type ModeContext, type ServerTarget } from "./modes.js";
import { killAllSync, startJunction, startNatsServer, which, type ChildServer } from "./servers.js";
import { stopAllWorkers } from "./workers.js";
import { machineBusy } from "./proc.js";
import { formatTable, formatValue, type TargetReport } from "./report.js";

export { parseArgs, UsageError, type BenchOptions } from "./args.js";
export { NatsScanner } from "./scanner.js";

type Out = (line: string) => void;
const defaultOut: Out = (line) => {
  process.stdout.write(line + "\n");
};

/** Runs `junction bench <args>`; resolves to the process exit code. */
export async function runBench(args: string[], out: Out = defaultOut): Promise<number> {
  if (args[0] === "mqtt") {
    const { runMqttBench } = await import("./mqtt.js");
    return runMqttBench(args.slice(1), out);
  }
  if (args[0] === "js") {
    const { runJsBench } = await import("./js.js");
    return runJsBench(args.slice(1), out);
  }
  let opts: BenchOptions;
  try {
    opts = parseArgs(args, availableParallelism());
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`junction bench: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (opts.help) {
    out(USAGE.trimEnd());
    return 0;
  }
  const warnings: string[] = [];
  const note = (msg: string): void => {
    if (!opts.json) process.stderr.write(`junction bench: ${msg}\n`);
  };
  const warn = (msg: string): void => {
    warnings.push(msg);
    note(`warning: ${msg}`);
  };

  const children: ChildServer[] = [];
  const onSignal = (sig: NodeJS.Signals): void => {
    killAllSync();
    void stopAllWorkers().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", killAllSync);

  let code = 0;
  try {
    const targets: ServerTarget[] = [];
    if (opts.url) {
      targets.push({ name: `${opts.url.host}:${opts.url.port}`, ...opts.url, pid: opts.pid });
      if (opts.vs) targets.push({ name: `${opts.vs.host}:${opts.vs.port}`, ...opts.vs, pid: opts.vsPid });
    } else if (opts.modes.some((m) => m !== "self")) {
      const j = await startJunction();
      children.push(j);
      note(`started Junction on 127.0.0.1:${j.port} (pid ${j.pid})`);
      targets.push({ name: "Junction", host: j.host, port: j.port, pid: j.pid });
      if (opts.vs) {
        targets.push({ name: `${opts.vs.host}:${opts.vs.port}`, ...opts.vs, pid: opts.vsPid });
      } else if (!opts.noNats) {
        const path = which("nats-server");
        if (path) {
          const n = await startNatsServer(path);
          children.push(n);
          note(`started nats-server on 127.0.0.1:${n.port} (pid ${n.pid})`);
          targets.push({ name: "nats-server", host: n.host, port: n.port, pid: n.pid });
        } else {
          note("nats-server is not on PATH: measuring Junction alone");
        }
      }
    }

    // A target that cannot be reached or refuses us fails here, once, with its reason.
    for (const t of targets) {
      try {
        const label = t.name.includes(`:${t.port}`) ? t.name : `${t.name} at ${t.host}:${t.port}`;
        const c = await RawConn.connect({ host: t.host, port: t.port, timeoutMs: 10_000, label });
        c.close();
      } catch (e) {
        throw new BenchError(`cannot use the server: ${e instanceof Error ? e.message : String(e)}`);
      }
    }

    // Other work on the machine skews every figure: say so.
    const busy = await machineBusy(500);
    if (busy !== undefined && busy > 0.25) {
      warn(`the machine was ${(busy * 100).toFixed(0)}% busy before the bench started (other processes): figures will be low and noisy`);
    }

    const ctx: ModeContext = { opts, warn };
    let generator: Figure[] | undefined;
    if (opts.modes.includes("self")) {
      note("measuring the generator's own ceilings (fake servers in-process)");
      generator = await runSelf(ctx);
      if (!opts.json) for (const f of generator) note(`  ${f.metric}: ${formatValue(f)}`);
    }

    // idle first: it measures memory, best done on a server that has not yet been loaded.
    const order: Mode[] = ["idle", ...ALL_MODES.filter((m) => m !== "idle")];
    const reports: TargetReport[] = [];
    for (const t of targets) {
      const report: TargetReport = { name: t.name, host: t.host, port: t.port, pid: t.pid, figures: [], errors: {} };
      reports.push(report);
      for (const mode of order) {
        if (!opts.modes.includes(mode)) continue;
        note(`${t.name}: ${mode}…`);
        try {
          const figs = await runMode(mode, t, ctx);
          report.figures.push(...figs);
          if (!opts.json) note(`${t.name}: ${mode}: ${figs.map((f) => `${f.metric} ${formatValue(f)}${spread(f)}`).join(", ")}`);
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          report.errors[mode] = msg;
          code = 1;
          note(`${t.name}: ${mode} failed: ${msg}`);
          const child = children.find((c) => c.port === t.port);
          if (child && child.child.exitCode !== null) {
            note(`${t.name} has exited; its last output:\n${child.output()}`);
            break;
          }
        }
        await sleep(200);
      }
    }
    // Print in the canonical order of the modes.
    for (const r of reports) r.figures.sort((a, b) => modeIndex(a.mode) - modeIndex(b.mode));

    if (opts.json) {
      out(
        JSON.stringify(
          {
            machine: { cpus: availableParallelism(), node: process.version, platform: process.platform },
            options: { ...opts, url: undefined, vs: undefined, help: undefined },
            generator,
            targets: reports,
            ratios: reports.length > 1 ? ratios(reports[0], reports[1]) : undefined,
            warnings,
          },
          null,
          2,
        ),
      );
    } else {
      if (generator) {
        out("generator ceilings (no server):");
        for (const f of generator) out(`  ${f.metric.padEnd(34)} ${formatValue(f)}`);
        if (reports.length) out("");
      }
      if (reports.length) for (const line of formatTable(reports, opts, warnings)) out(line);
    }
  } catch (e) {
    if (e instanceof BenchError) {
      process.stderr.write(`junction bench: ${e.message}\n`);
      code = 1;
    } else {
      throw e;
    }
  } finally {
    await stopAllWorkers();
    await Promise.all(children.map((c) => c.stop()));
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", killAllSync);
  }
  return code;
}

/** " (runs 2.1M 2.3M 2.2M)" for figures that are a median. */
function spread(f: Figure): string {
  if (!f.runs || f.runs.length < 2) return "";
  return ` (runs: ${f.runs.map((v) => formatValue({ value: v, unit: f.unit })).join(" ")})`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function modeIndex(m: string): number {
  const k = (ALL_MODES as readonly string[]).indexOf(m);
  return k < 0 ? 99 : k;
}

function runMode(mode: Mode, t: ServerTarget, ctx: ModeContext): Promise<Figure[]> {
  switch (mode) {
    case "pub":
      return runPub(t, ctx);
    case "pubsub":
      return runFlow(t, ctx, "pubsub");
    case "fanout":
      return runFlow(t, ctx, "fanout");
    case "reqrep":
      return runReqRep(t, ctx);
    case "idle":
      return runIdle(t, ctx);
    case "self":
      return Promise.resolve([]);
  }
}

function ratios(a: TargetReport, b: TargetReport): Record<string, number> {
  const r: Record<string, number> = {};
  for (const f of a.figures) {
    const g = b.figures.find((x) => x.mode === f.mode && x.metric === f.metric);
    if (g && g.value) r[`${f.mode} ${f.metric}`] = f.value / g.value;
  }
  return r;
}
