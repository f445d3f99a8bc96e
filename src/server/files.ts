// The files nats-server leaves for tools: the ports file and the pid file.
import { writeFileSync, unlinkSync, mkdirSync } from "node:fs";
import { join, basename } from "node:path";

/** Writes `<dir>/<command>_<pid>.ports`; returns its path. */
export function writePortsFile(dir: string, command: string, ports: Record<string, string[]>): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${command}_${process.pid}.ports`);
  writeFileSync(file, JSON.stringify(ports));
  return file;
}

export function removePortsFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

export function writePidFile(file: string): void {
  writeFileSync(file, String(process.pid));
}

export function removePidFile(file: string): void {
  removePortsFile(file);
}

/** The command name nats-server would use: the base name of the program, without a script extension. */
export function commandName(argv1: string | undefined = process.argv[1]): string {
  if (!argv1) return "junction";
  return basename(argv1).replace(/\.(c|m)?(j|t)s$/, "");
}
