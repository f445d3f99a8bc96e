// The human-readable table of `junction bench`.

import type { BenchOptions } from "./args.js";
import type { Figure } from "./modes.js";

export interface TargetReport {
  name: string;
  host: string;
  port: number;
  pid?: number;
  figures: Figure[];
  /** mode → error message, for modes that failed. */
  errors: Record<string, string>;
}

/** 5.71M, 812k, 203, 19.6 */
export function formatValue(f: Pick<Figure, "value" | "unit">): string {
  const v = f.value;
  if (!Number.isFinite(v)) return "—";
  if (f.unit === "µs" || f.unit === "KiB") return v >= 100 ? v.toFixed(0) : v.toFixed(1);
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
}

/**
 * mode | metric | first target | second target | ratio (first/second). With one target, no ratio.
 */
export function formatTable(reports: TargetReport[], opts: Pick<BenchOptions, "size">, warnings: string[] = []): string[] {
  const [a, b] = reports;
  const rows: string[][] = [];
  const header = ["mode", "metric", a.name];
  if (b) header.push(b.name, "ratio");
  rows.push(header);
  const keys: Array<[string, string]> = [];
  for (const r of reports) for (const f of r.figures) if (!keys.some(([m, x]) => m === f.mode && x === f.metric)) keys.push([f.mode, f.metric]);
  const failedModes = new Set<string>();
  for (const r of reports) for (const m of Object.keys(r.errors)) failedModes.add(m);
  for (const m of failedModes) if (!keys.some(([k]) => k === m)) keys.push([m, "—"]);
  const cell = (r: TargetReport, mode: string, metric: string): { text: string; f?: Figure } => {
    const f = r.figures.find((x) => x.mode === mode && x.metric === metric);
    if (f) return { text: formatValue(f), f };
    return { text: r.errors[mode] ? "failed" : "—" };
  };
  for (const [mode, metric] of keys) {
    const ca = cell(a, mode, metric);
    const row = [mode, metric, ca.text];
    if (b) {
      const cb = cell(b, mode, metric);
      row.push(cb.text);
      row.push(ca.f && cb.f && cb.f.value ? `${(ca.f.value / cb.f.value).toFixed(2)}${ca.f.better === "lower" ? " (lower is better)" : ""}` : "—");
    }
    rows.push(row);
  }
  const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => (r[k] ?? "").length)));
  const lines = rows.map((r) => r.map((c, k) => (k >= 2 ? c.padStart(widths[k]) : c.padEnd(widths[k]))).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  lines.push("");
  lines.push(`payload ${opts.size} B; ${b ? `ratio = ${a.name} / ${b.name}` : ""}`.replace(/; $/, ""));
  for (const r of reports) for (const [m, e] of Object.entries(r.errors)) lines.push(`${r.name} ${m} failed: ${e}`);
  for (const w of warnings) lines.push(`warning: ${w}`);
  return lines;
}
