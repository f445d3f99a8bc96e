// Mirrors and sources. A link takes the origin stream's messages from the last sequence it took,
// applies the source's filter and subject transforms, and writes into the target: a mirror keeps
// the origin's sequences and timestamps (gaps become skipped sequences), a source stores the
// message anew with a Nats-Stream-Source header ("<origin> <seq> <filter> <destination> <original
// subject>"), by which the position is found again after a restart.
//
// Two kinds of link: a local one (here) reads the origin's store directly — the origin is a
// stream of the same account, or `external` names this server's own domain ($JS.<domain>.API);
// an external one (sourcing-external.ts) goes through another account's imported API with a
// push consumer, as nats-server does. The local link is woken by the origin when it stores and
// copies in slices so that a large backlog does not hold the event loop.

import type { Account } from "../core/account.js";
import type { Logger } from "../logger.js";
import { H, appendHeaders, getHeader, parseHeaders, encodeHeaders } from "./headers.js";
import { ExternalLink } from "./sourcing-external.js";
import type { StoredMsg } from "./store/index.js";
import type { Stream } from "./stream.js";
import type { StreamSource } from "./stream-config.js";
import { SubjectTransform } from "./transform.js";
import { toWire, fromWire } from "./subjects.js";

/** Messages copied per slice before yielding to the event loop. */
const SLICE = 4096;
/** Delay before retrying a source whose target refused a message for its limits. */
export const RETRY_MS = 1000;

/** nats-server's composeIName: the source's name, filters and destinations ("\f"-joined). */
export function sourceIndexName(src: StreamSource): string {
  let name = src.name;
  if (src.external) name += ":" + src.external.api;
  const trs = src.subject_transforms ?? [];
  if (trs.length === 0) return `${name} ${src.filter_subject || ">"} >`;
  return `${name} ${trs.map((t) => t.src || ">").join("\f")} ${trs.map((t) => t.dest || ">").join("\f")}`;
}

/** The origin sequence and index name in a Nats-Stream-Source header (2.10 form). */
export function parseSourceHeader(v: string): { iname: string; seq: number } | undefined {
  const f = v.split(" ");
  if (f.length < 4) return undefined;
  const seq = Number(f[1]);
  if (!Number.isInteger(seq) || seq < 0) return undefined;
  return { iname: `${f[0]} ${f[2]} ${f[3]}`, seq };
}

export interface LinkHost {
  /** the origin stream by name, if it exists (same account) */
  lookup(name: string): Stream | undefined;
  /** the target's account, where an external link sends its API requests and subscribes */
  readonly account: Account;
  /** this server's JetStream domain: `$JS.<domain>.API` as external API is local */
  readonly domain: string | undefined;
  readonly logger: Logger;
}

/** A mirror or source of a stream, local or external. */
export interface Link {
  readonly iname: string;
  readonly src: StreamSource;
  readonly mirror: boolean;
  readonly originName: string;
  /** Starts (or resumes) copying: `resumeAt` is the last origin sequence already taken, if known. */
  start(resumeAt: number | undefined): void;
  /** The origin may have appeared or gone away (same account). */
  attach(): void;
  stop(): void;
  /** The mirror/source entry of stream info. */
  info(): Record<string, unknown>;
}

/** The link for a mirror or source: local unless `external` names another account or domain. */
export function createLink(target: Stream, src: StreamSource, mirror: boolean, host: LinkHost): Link {
  const ext = src.external;
  if (ext === undefined || (host.domain && ext.api === `$JS.${host.domain}.API`)) return new SourceLink(target, src, mirror, host);
  return new ExternalLink(target, src, mirror, host);
}

/** Copies origin messages into the target, through the source's filter and transforms. */
export class LinkCopier {
  /** the filters in wire form (undefined: everything) */
  readonly filters: string[] | undefined;
  private readonly transforms: (SubjectTransform | undefined)[];

  constructor(
    private readonly target: Stream,
    readonly src: StreamSource,
    private readonly mirror: boolean,
    private readonly iname: string,
  ) {
    const trs = src.subject_transforms ?? [];
    if (trs.length > 0) {
      this.filters = trs.map((t) => toWire(t.src || ">"));
      this.transforms = trs.map((t) => (t.dest ? SubjectTransform.create(toWire(t.src || ">"), toWire(t.dest)) : undefined));
    } else {
      this.filters = src.filter_subject ? [toWire(src.filter_subject)] : undefined;
      this.transforms = [];
    }
  }

  /** Stores one origin message in the target; false when the target refused it for its limits (retry later). */
  copy(m: StoredMsg): boolean {
    return this.mirror ? this.target.storeMirrored(this.transform(m.subject), m) : this.copySourced(m);
  }

  private transform(subject: string): string {
    for (const tr of this.transforms) {
      if (tr === undefined) continue;
      const t = tr.match(subject);
      if (t !== undefined) return t;
    }
    return subject;
  }

  private copySourced(m: StoredMsg): boolean {
    let hdr = m.hdr;
    if (hdr !== undefined && hdr.length > 0) {
      const b = parseHeaders(hdr);
      const fields = b.fields.filter(([k]) => k !== H.StreamSource && !k.startsWith("Nats-Expected-"));
      hdr = fields.length === b.fields.length ? hdr : fields.length > 0 || b.status ? encodeHeaders(fields, b.status, b.description) : undefined;
    }
    const [name, filter, dest] = toWire(this.iname).split(" ");
    hdr = appendHeaders(hdr, [[H.StreamSource, `${name} ${m.seq} ${filter} ${dest} ${m.subject}`]]);
    const msg = Buffer.concat([hdr, m.data]);
    return this.target.storeSourced(this.transform(m.subject), msg, hdr.length);
  }

  /** The name, filter, transforms and external of the mirror/source entry of stream info. */
  infoBase(): Record<string, unknown> {
    const src = this.src;
    const o: Record<string, unknown> = { name: src.name };
    if (src.filter_subject) o.filter_subject = src.filter_subject;
    if (src.subject_transforms && src.subject_transforms.length > 0) {
      o.subject_transforms = src.subject_transforms.map((t) => ({ src: t.src, dest: t.dest }));
    }
    if (src.external) o.external = { api: src.external.api, deliver: src.external.deliver };
    return o;
  }
}

/** A link to a stream of the same account (or of this server's own domain). */
export class SourceLink implements Link {
  readonly iname: string;
  /** last origin sequence taken */
  sseq = 0;
  private origin: Stream | undefined;
  private readonly copier: LinkCopier;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** ms since the epoch of the last copied message (0: never) */
  private lastActive = 0;
  private readonly wake = (): void => this.schedule();

  constructor(
    private readonly target: Stream,
    readonly src: StreamSource,
    readonly mirror: boolean,
    private readonly host: LinkHost,
  ) {
    this.iname = sourceIndexName(src);
    this.copier = new LinkCopier(target, src, mirror, this.iname);
  }

  get originName(): string {
    return this.src.name;
  }

  start(resumeAt: number | undefined): void {
    if (resumeAt !== undefined) this.sseq = resumeAt;
    else this.sseq = this.startSeq() - 1;
    this.attach();
  }

  /** Where a link with no state starts: opt_start_seq, opt_start_time, else the beginning. */
  private startSeq(): number {
    if (this.src.opt_start_seq) return this.src.opt_start_seq;
    if (this.src.opt_start_time) {
      const o = this.host.lookup(this.src.name);
      const t = Date.parse(this.src.opt_start_time);
      if (o !== undefined && !Number.isNaN(t)) return o.store.getSeqFromTime(BigInt(t) * 1_000_000n);
    }
    return 1;
  }

  /** Looks for the origin again (it may have been created since). */
  attach(): void {
    if (this.closed) return;
    const o = this.host.lookup(this.src.name);
    if (o === this.origin) {
      this.schedule();
      return;
    }
    this.detach();
    if (o === undefined) return;
    this.origin = o;
    o.addTap(this.wake);
    this.schedule();
  }

  /** The origin went away. */
  detach(): void {
    if (this.origin !== undefined) this.origin.removeTap(this.wake);
    this.origin = undefined;
  }

  stop(): void {
    this.closed = true;
    this.detach();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
  }

  private schedule(): void {
    if (this.scheduled || this.closed || this.retryTimer !== undefined) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const o = this.origin;
    if (o === undefined || o.isClosed || this.closed || this.target.isClosed) return;
    for (let n = 0; n < SLICE; n++) {
      const m = o.store.loadNextMsg(this.copier.filters, this.sseq + 1);
      if (m === undefined) return;
      if (!this.copier.copy(m)) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.schedule();
        }, RETRY_MS);
        this.retryTimer.unref();
        return;
      }
      this.sseq = m.seq;
      this.lastActive = Date.now();
    }
    this.schedule();
  }

  info(): Record<string, unknown> {
    const o = this.copier.infoBase();
    const origin = this.origin;
    o.lag = origin === undefined ? 0 : origin.store.numPending(this.sseq + 1, this.copier.filters);
    o.active = this.lastActive === 0 ? -1 : (Date.now() - this.lastActive) * 1e6;
    if (origin === undefined) o.error = { code: 404, err_code: 10059, description: "stream not found" };
    return o;
  }
}

/** The last origin sequence of each source found in the target's messages (newest first), for a restart. */
export function findSourcePositions(target: Stream, inames: Set<string>): Map<string, number> {
  const found = new Map<string, number>();
  if (inames.size === 0) return found;
  let seq = target.store.state().last_seq;
  while (seq > 0 && found.size < inames.size) {
    const m = target.store.loadPrevMsg(undefined, seq);
    if (m === undefined) break;
    seq = m.seq - 1;
    if (m.hdr === undefined) continue;
    const v = getHeader(parseHeaders(m.hdr), H.StreamSource);
    if (v === undefined) continue;
    const p = parseSourceHeader(v);
    const iname = p === undefined ? undefined : fromWire(p.iname);
    if (p !== undefined && iname !== undefined && inames.has(iname) && !found.has(iname)) found.set(iname, p.seq);
  }
  return found;
}
