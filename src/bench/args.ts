// Command-line arguments of `junction bench`.

export const ALL_MODES = ["pub", "pubsub", "fanout", "reqrep", "idle"] as const;
/** `self` (the generator's own ceilings against fake servers) runs only when asked for. */
export const EXTRA_MODES = ["self"] as const;
export type Mode = (typeof ALL_MODES)[number] | (typeof EXTRA_MODES)[number];

export interface Target {
  host: string;
  port: number;
}

export interface BenchOptions {
  /** Server to measure; undefined = start Junction (and nats-server, if installed) as children. */
  url?: Target;
  /** A second server to run the same load against. */
  vs?: Target;
  /** Server process ids for idle mode (when the server is not our child). */
  pid?: number;
  vsPid?: number;
  /** Messages per throughput run (pub, pubsub, fanout). */
  msgs: number;
  /** Measured runs per throughput mode; the median is reported. */
  runs: number;
  /** Requests in reqrep. */
  requests: number;
  size: number;
  subs: number;
  /** Upper bound of each measured run, in milliseconds. */
  durationMs: number;
  modes: Mode[];
  json: boolean;
  /** Idle connections. */
  conns: number;
  /** Worker threads for fan-out subscribers. */
  subWorkers: number;
  /** Warm-up messages before each throughput run (and requests before reqrep). */
  warmup: number;
  /** Do not start nats-server even if installed (with no --url). */
  noNats: boolean;
  help: boolean;
}

export const USAGE = `Usage: junction bench [options]

Load generator for NATS servers. With no --url it starts Junction (and nats-server, if it is
on PATH) on random local ports and prints their figures side by side.

Modes (--mode a,b,c; default: ${ALL_MODES.join(",")}):
  pub      publish-only ingest: msgs/s the server accepts (PING/PONG after the last PUB)
  pubsub   1 publisher -> 1 subscriber: msgs/s received
  fanout   1 publisher -> N subscribers (--subs, default 4): deliveries/s
  reqrep   1 requester in sequence, 1 responder: p50/p90/p99/max latency (us) and req/s
  idle     C idle connections (--conns, default 10000): server RSS per connection
  self     the generator's own ceilings against fake in-process servers (not in the default)

Options:
  --url host:port     server to measure (127.0.0.1 only)
  --vs host:port      a second server, measured with the same load; ratios are printed
                      (with no --url: the Junction child against this server, instead of nats-server)
  --pid N, --vs-pid N process ids of those servers for idle mode (found from the port if omitted)
  --msgs N            messages per throughput run (default 5000000)
  --runs N            measured runs per throughput mode, median reported (default 3)
  --requests N        requests in reqrep (default 20000)
  --size BYTES        payload size (default 16)
  --subs N            fan-out subscribers (default 4)
  --duration T        upper bound of each measured run: seconds, or 500ms, 10s (default 10s)
  --conns C           idle connections (default 10000)
  --sub-workers N     worker threads for fan-out subscribers (default: number of CPUs)
  --warmup N          warm-up messages before each run (default 200000; 0 = none)
  --no-nats           with no --url, do not start nats-server for comparison
  --json              print the results as JSON
  -h, --help          this text

Other loads: junction bench js (JetStream: publish with acks, pull and push consumers,
key/value put and get), junction bench mqtt (MQTT); --help on each.
`;

export class UsageError extends Error {}

function parseCount(name: string, v: string, min: number, max: number): number {
  const clean = v.replace(/_/g, "");
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(clean);
  if (!m) throw new UsageError(`${name}: not a number: ${v}`);
  const mul = m[2] === "" ? 1 : m[2].toLowerCase() === "k" ? 1e3 : 1e6;
  const n = Math.round(Number(m[1]) * mul);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${name}: must be between ${min} and ${max}: ${v}`);
  return n;
}

/** Seconds as a plain number, or a number with ms / s / m. Returns milliseconds. */
export function parseDuration(name: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new UsageError(`${name}: not a duration: ${v}`);
  const n = Number(m[1]);
  const ms = m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
  if (ms <= 0 || ms > 3_600_000) throw new UsageError(`${name}: must be more than 0 and at most 1h: ${v}`);
  return ms;
}

/** `host:port` or `nats://host:port`; only the loopback address is accepted. */
export function parseTarget(name: string, v: string): Target {
  const s = v.replace(/^nats:\/\//, "").replace(/\/$/, "");
  const m = /^(?:([^:\s]+)|\[([^\]]+)\]):(\d{1,5})$/.exec(s);
  if (!m) throw new UsageError(`${name}: expected host:port, got ${v}`);
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new UsageError(`${name}: bad port in ${v}`);
  if (host !== "127.0.0.1" && host !== "localhost") {
    throw new UsageError(`${name}: only 127.0.0.1 targets are allowed, got ${host}`);
  }
  return { host: "127.0.0.1", port };
}

export function parseArgs(args: string[], cpus = 2): BenchOptions {
  const o: BenchOptions = {
    msgs: 5_000_000,
    runs: 3,
    requests: 20_000,
    size: 16,
    subs: 4,
    durationMs: 10_000,
    modes: [...ALL_MODES],
    json: false,
    conns: 10_000,
    subWorkers: Math.max(1, cpus),
    warmup: 200_000,
    noNats: false,
    help: false,
  };
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    let value: string | undefined;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const need = (): string => {
      if (value !== undefined) return value;
      const v = args[++i];
      if (v === undefined || (v.startsWith("--") && v.length > 2)) throw new UsageError(`${a} needs a value`);
      return v;
    };
    const flag = (): void => {
      if (value !== undefined) throw new UsageError(`${a} takes no value`);
    };
    switch (a) {
      case "-h":
      case "--help":
        flag();
        o.help = true;
        break;
      case "--url":
        o.url = parseTarget(a, need());
        break;
      case "--vs":
        o.vs = parseTarget(a, need());
        break;
      case "--pid":
        o.pid = parseCount(a, need(), 1, 2 ** 31);
        break;
      case "--vs-pid":
        o.vsPid = parseCount(a, need(), 1, 2 ** 31);
        break;
      case "--msgs":
        o.msgs = parseCount(a, need(), 1, 1e10);
        break;
      case "--runs":
        o.runs = parseCount(a, need(), 1, 100);
        break;
      case "--requests":
        o.requests = parseCount(a, need(), 1, 1e8);
        break;
      case "--size":
        o.size = parseCount(a, need(), 0, 8 * 1024 * 1024);
        break;
      case "--subs":
        o.subs = parseCount(a, need(), 1, 1000);
        break;
      case "--duration":
        o.durationMs = parseDuration(a, need());
        break;
      case "--conns":
        o.conns = parseCount(a, need(), 1, 1_000_000);
        break;
      case "--sub-workers":
        o.subWorkers = parseCount(a, need(), 1, 64);
        break;
      case "--warmup":
        o.warmup = parseCount(a, need(), 0, 1e9);
        break;
      case "--mode":
      case "--modes": {
        const list = need()
          .split(",")
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean);
        if (list.length === 0) throw new UsageError(`${a}: empty list`);
        const modes: Mode[] = [];
        for (const m of list) {
          if (m === "all") {
            for (const x of ALL_MODES) if (!modes.includes(x)) modes.push(x);
            continue;
          }
          if (!(ALL_MODES as readonly string[]).includes(m) && !(EXTRA_MODES as readonly string[]).includes(m)) {
            throw new UsageError(`${a}: unknown mode ${m} (known: ${[...ALL_MODES, ...EXTRA_MODES].join(", ")})`);
          }
          if (!modes.includes(m as Mode)) modes.push(m as Mode);
        }
        o.modes = modes;
        break;
      }
      case "--json":
        flag();
        o.json = true;
        break;
      case "--no-nats":
        flag();
        o.noNats = true;
        break;
      default:
        throw new UsageError(`unknown argument: ${args[i]}`);
    }
  }
  if (o.vsPid !== undefined && !o.vs) throw new UsageError("--vs-pid needs --vs");
  return o;
}
