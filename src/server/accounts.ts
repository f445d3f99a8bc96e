// The accounts of a server: $G for users outside any account, the system account, the
// configured ones, and the imports between them.
import type { ResolvedOptions } from "../config/options.js";
import { Account } from "../core/account.js";
import { ServiceImport, StreamImport } from "../core/imports.js";
import { subjectMatches } from "../core/subject.js";

/** How long a service import remembers a request's reply subject (nats-server's default). */
const RESPONSE_TTL_MS = 2 * 60 * 1000;

export interface AccountSetup {
  accounts: Map<string, Account>;
  imports: (StreamImport | ServiceImport)[];
}

export function setupAccounts(o: ResolvedOptions, noResponders: (account: Account, reply: string) => void): AccountSetup {
  const cache = !o.disable_sublist_cache;
  const accounts = new Map<string, Account>();
  accounts.set("$G", new Account("$G", { cache }));
  for (const a of o.accounts) accounts.set(a.name, new Account(a.name, { cache }));
  if (!accounts.has(o.system_account)) accounts.set(o.system_account, new Account(o.system_account, { cache }));
  const imports: (StreamImport | ServiceImport)[] = [];
  for (const a of o.accounts) {
    const importer = accounts.get(a.name)!;
    for (const im of a.imports) {
      if (im.stream) {
        imports.push(new StreamImport({
          exporter: accounts.get(im.stream.account)!,
          importer,
          subject: im.stream.subject,
          prefix: im.prefix,
          to: im.to,
        }));
      } else if (im.service) {
        const exporter = accounts.get(im.service.account)!;
        const exp = o.accounts.find((x) => x.name === im.service!.account)?.exports.find((e) => e.service !== undefined && subjectMatches(e.service, im.service!.subject));
        imports.push(new ServiceImport({
          exporter,
          importer,
          subject: im.service.subject,
          to: im.to,
          responseType: exp?.response_type ?? "single",
          responseTtlMs: RESPONSE_TTL_MS,
          noResponders: (reply) => noResponders(importer, reply),
        }));
      }
    }
  }
  return { accounts, imports };
}
