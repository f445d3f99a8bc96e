// Small filesystem helpers for the file store: atomic replacement of small files, directory fsync.

import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** fsync a directory so that creations, renames and removals in it survive a crash. */
export function fsyncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some filesystems do not allow fsync on directories; nothing more can be done there.
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Replace path with data atomically: write a temporary file, optionally fsync it, rename it over. */
export function writeFileAtomic(path: string, data: Uint8Array | string, sync: boolean): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (sync) fsyncDir(dirname(path));
}

/** A directory-safe form of a stream or consumer name (reversible). */
export function encodeName(name: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(name)) return name;
  return encodeURIComponent(name).replace(/[.!'()*~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

export function decodeName(enc: string): string {
  try {
    return decodeURIComponent(enc);
  } catch {
    return enc;
  }
}
