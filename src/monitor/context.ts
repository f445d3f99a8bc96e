// What the endpoints share: the server, the monitor's own port and counters, a CPU sampler.
import { availableParallelism } from "node:os";
import type { Server } from "../server/server.js";

export interface MonitorContext {
  readonly server: Server;
  /** the port the monitor listens on (resolved when `http_port` is -1) */
  httpPort: number;
  /** normalised base path ("/" or "/prefix") */
  readonly basePath: string;
  /** requests per endpoint, keyed by the un-prefixed path ("/varz"), for varz `http_req_stats` */
  readonly reqStats: Map<string, number>;
  readonly cpu: CpuSampler;
}

/** Percentage of one core used by this process, measured between samples at least `minMs` apart. */
export class CpuSampler {
  private lastAt: number;
  private lastUsage: NodeJS.CpuUsage;
  private value: number;

  constructor(private readonly minMs = 1000) {
    this.lastAt = performance.now();
    this.lastUsage = process.cpuUsage();
    // until the first interval has passed: the average since the process started
    const up = process.uptime() * 1e6;
    this.value = up > 0 ? round2(((this.lastUsage.user + this.lastUsage.system) / up) * 100) : 0;
  }

  sample(): number {
    const now = performance.now();
    const elapsedMs = now - this.lastAt;
    if (elapsedMs >= this.minMs) {
      const d = process.cpuUsage(this.lastUsage);
      this.value = round2(((d.user + d.system) / 1000 / elapsedMs) * 100);
      this.lastAt = now;
      this.lastUsage = process.cpuUsage();
    }
    return this.value;
  }
}

function round2(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 100) / 100 : 0;
}

export function cores(): number {
  return availableParallelism();
}
