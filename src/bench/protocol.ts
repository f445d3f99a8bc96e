// Messages between the bench's main thread and its worker threads.

interface ClientInit {
  host: string;
  port: number;
  subject: string;
  size: number;
  /** Handshake / PING timeout (ms). */
  timeoutMs: number;
}

export type WorkerInit =
  | ({ role: "pub" } & ClientInit)
  | ({ role: "sub"; conns: number; firstIndex: number } & ClientInit)
  | ({ role: "responder" } & ClientInit)
  | ({ role: "requester" } & ClientInit)
  | { role: "sink" }
  | { role: "source"; subject: string; size: number }
  | { role: "echo"; size: number };

export type ToWorker =
  /** publisher / source / requester: send `count` messages (or requests), stop early after durationMs (0 = no limit). */
  | { cmd: "run"; count: number; durationMs: number; timeoutMs: number }
  /** subscribers: report when every connection has received `total` messages since it subscribed. */
  | { cmd: "expect"; total: number; stallMs: number }
  | { cmd: "stop" };

export type FromWorker =
  | { type: "ready"; port?: number }
  | { type: "pubDone"; sent: number; t0: bigint; tWritten: bigint; tEnd: bigint }
  | { type: "subDone"; ok: boolean; counts: number[]; tLast: bigint }
  | { type: "reqDone"; n: number; t0: bigint; t1: bigint; lat: Float64Array }
  | { type: "error"; message: string };
