// Linux /proc look-ups: a process's resident memory, open-file limits, and which process
// listens on a port.

import { readFileSync, readdirSync, readlinkSync } from "node:fs";

/** VmRSS of a process in bytes, or undefined if it cannot be read. */
export function rssBytes(pid: number | "self"): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Soft limit of open files of a process (Infinity for unlimited, undefined if unreadable). */
export function openFilesSoftLimit(pid: number | "self"): number | undefined {
  try {
    return parseOpenFilesLimit(readFileSync(`/proc/${pid}/limits`, "latin1"));
  } catch {
    return undefined;
  }
}

export function parseOpenFilesLimit(limits: string): number | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!m) return undefined;
  return m[1] === "unlimited" ? Infinity : Number(m[1]);
}

/** Number of file descriptors a process has open now (undefined if unreadable). */
export function openFds(pid: number | "self"): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** The pid of the process listening on 127.0.0.1:port (or any address), via /proc/net/tcp. */
export function findListenerPid(port: number): number | undefined {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(f, "latin1");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const [, local, , state] = cols;
      if (state !== "0A") continue; // LISTEN
      if (local.split(":")[1] === hexPort) inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(m[1])) return Number(pid);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}

/** Busy and total CPU ticks of the whole machine so far (first line of /proc/stat). */
function cpuTicks(): { busy: number; total: number } | undefined {
  try {
    const cols = readFileSync("/proc/stat", "latin1").split("\n", 1)[0].trim().split(/\s+/).slice(1).map(Number);
    const total = cols.reduce((a, b) => a + b, 0);
    const idle = (cols[3] ?? 0) + (cols[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Fraction (0..1) of the machine's CPU in use over the next `ms` milliseconds. */
export async function machineBusy(ms = 500): Promise<number | undefined> {
  const a = cpuTicks();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTicks();
  if (!a || !b || b.total === a.total) return undefined;
  return (b.busy - a.busy) / (b.total - a.total);
}
