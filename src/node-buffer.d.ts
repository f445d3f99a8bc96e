// Buffer methods Node has had for years but does not type: the latin1 fast paths that
// skip the encoding dispatch of toString/write. Used on the hot path for subjects.
declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    latin1Write(s: string, offset: number, length: number): number;
  }
}
export {};
