// The one logger. Lines look like nats-server's: `[pid] 2006/01/02 15:04:05.000000 [INF] text`.
// Levels: fatal, error, warn, notice (INF) always; debug with -D, trace with -V.
import { appendFileSync } from "node:fs";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

const LABEL: Record<LogLevel, string> = {
  fatal: "[FTL]",
  error: "[ERR]",
  warn: "[WRN]",
  info: "[INF]",
  debug: "[DBG]",
  trace: "[TRC]",
};

export interface LoggerOptions {
  debug?: boolean;
  trace?: boolean;
  /** timestamps on each line (nats-server's `logtime`, flag -T) */
  logtime?: boolean;
  /** append to this file instead of stderr */
  file?: string;
  /** where lines go; defaults to stderr or `file` */
  sink?: (line: string) => void;
}

export class Logger {
  debugEnabled: boolean;
  traceEnabled: boolean;
  private logtime: boolean;
  private sink: (line: string) => void;

  constructor(opts: LoggerOptions = {}) {
    this.debugEnabled = !!opts.debug;
    this.traceEnabled = !!opts.trace;
    this.logtime = opts.logtime ?? true;
    if (opts.sink) this.sink = opts.sink;
    else if (opts.file) {
      const f = opts.file;
      this.sink = (line) => appendFileSync(f, line + "\n");
    } else this.sink = (line) => process.stderr.write(line + "\n");
  }

  private write(level: LogLevel, msg: string): void {
    const ts = this.logtime ? formatTime(new Date()) + " " : "";
    this.sink(`[${process.pid}] ${ts}${LABEL[level]} ${msg}`);
  }

  fatal(msg: string): void { this.write("fatal", msg); }
  error(msg: string): void { this.write("error", msg); }
  warn(msg: string): void { this.write("warn", msg); }
  info(msg: string): void { this.write("info", msg); }
  debug(msg: string): void { if (this.debugEnabled) this.write("debug", msg); }
  trace(msg: string): void { if (this.traceEnabled) this.write("trace", msg); }
}

/** A logger that drops everything: the default for embedded servers that were given none. */
export const silentLogger = (): Logger => new Logger({ sink: () => {} });

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

function formatTime(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}000`;
}
