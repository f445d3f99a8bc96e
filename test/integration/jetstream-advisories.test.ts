// JetStream advisories seen by a subscriber: the API audit ($JS.EVENT.ADVISORY.API, one per API
// response, carrying the request and the response as sent) and the stream actions
// ($JS.EVENT.ADVISORY.STREAM.CREATED|UPDATED|DELETED.<stream>), validated against the schemas of
// shared/reference/schemas/jetstream/advisory/v1.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Subscription } from "@nats-io/transport-node";
import { sleep, validate, withJs } from "./jetstream-helpers.js";

const AUDIT = "io.nats.jetstream.advisory.v1.api_audit";

/** Collects the JSON messages of a subscription (in arrival order). */
function collect(sub: Subscription): { subject: string; body: Record<string, unknown> }[] {
  const got: { subject: string; body: Record<string, unknown> }[] = [];
  void (async () => {
    for await (const m of sub) got.push({ subject: m.subject, body: JSON.parse(m.string()) as Record<string, unknown> });
  })();
  return got;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("API audit advisories", () => {
  test("one per API request, with the subject, the request and the response as sent", async () => {
    await withJs({ server_name: "JUNCTION-1" }, async ({ nc, jsm }) => {
      const sub = nc.subscribe("$JS.EVENT.ADVISORY.API");
      const got = collect(sub);
      await nc.flush();
      const create = { name: "AUD", subjects: ["aud.>"] };
      const created = await nc.request("$JS.API.STREAM.CREATE.AUD", JSON.stringify(create), { timeout: 2000 });
      const notFound = await nc.request("$JS.API.STREAM.INFO.NOPE", undefined, { timeout: 2000 });
      await nc.request("$JS.API.STREAM.NAMES", undefined, { timeout: 2000 });
      await jsm.consumers.add("AUD", { durable_name: "d" });
      await jsm.streams.delete("AUD");
      // a request without a reply subject is answered to nobody, and still audited
      nc.publish("$JS.API.STREAM.INFO.AUD");
      await until(() => got.length >= 6, "six audit advisories");
      await sleep(50);
      assert.equal(got.length, 6, JSON.stringify(got.map((g) => g.body.subject)));

      for (const g of got) {
        assert.equal(g.subject, "$JS.EVENT.ADVISORY.API");
        validate(g.body, AUDIT);
        assert.equal(g.body.server, "JUNCTION-1");
        assert.deepEqual(g.body.client, { acc: "$G", server: "JUNCTION-1" });
        // the response is the API's own, valid against its schema
        validate(JSON.parse(g.body.response as string) as Record<string, unknown>);
      }
      assert.deepEqual(got.map((g) => g.body.subject), [
        "$JS.API.STREAM.CREATE.AUD",
        "$JS.API.STREAM.INFO.NOPE",
        "$JS.API.STREAM.NAMES",
        "$JS.API.CONSUMER.CREATE.AUD.d",
        "$JS.API.STREAM.DELETE.AUD",
        "$JS.API.STREAM.INFO.AUD",
      ]);
      // the request as received (absent when empty), the response byte for byte
      assert.deepEqual(JSON.parse(got[0]!.body.request as string), create);
      assert.equal(got[0]!.body.response, created.string());
      assert.equal(got[1]!.body.request, undefined);
      assert.equal(got[1]!.body.response, notFound.string());
      assert.equal((JSON.parse(got[1]!.body.response as string) as { error: { err_code: number } }).error.err_code, 10059);
      assert.equal((JSON.parse(got[3]!.body.request as string) as { config: { durable_name: string } }).config.durable_name, "d");
      assert.equal((JSON.parse(got[5]!.body.response as string) as { error: { err_code: number } }).error.err_code, 10059);
      sub.unsubscribe();
    });
  });

  test("requests on the domain's API are audited as $JS.API; direct gets are not API requests", async () => {
    await withJs({ jetstream: { domain: "hub" } }, async ({ nc, jsm, js }) => {
      await jsm.streams.add({ name: "D", subjects: ["d"], allow_direct: true });
      await js.publish("d", "x");
      const sub = nc.subscribe("$JS.EVENT.ADVISORY.API");
      const got = collect(sub);
      await nc.flush();
      await nc.request("$JS.hub.API.STREAM.INFO.D", undefined, { timeout: 2000 });
      await nc.request("$JS.API.DIRECT.GET.D", JSON.stringify({ seq: 1 }), { timeout: 2000 });
      await nc.request("$JS.API.STREAM.NAMES", undefined, { timeout: 2000 });
      await until(() => got.length >= 2, "two audit advisories");
      await sleep(50);
      assert.deepEqual(got.map((g) => g.body.subject), ["$JS.API.STREAM.INFO.D", "$JS.API.STREAM.NAMES"]);
      for (const g of got) validate(g.body, AUDIT);
      sub.unsubscribe();
    });
  });

  test("an account without JetStream: its refused requests are audited in it", async () => {
    const accounts = {
      A: { users: [{ user: "a", password: "a" }], jetstream: "enabled" },
      N: { users: [{ user: "n", password: "n" }] },
    };
    await withJs({ accounts, no_auth_user: "a" } as never, async ({ connect }) => {
      const n = await connect({ user: "n", pass: "n" });
      const sub = n.subscribe("$JS.EVENT.ADVISORY.API");
      const got = collect(sub);
      await n.flush();
      const r = await n.request("$JS.API.INFO", undefined, { timeout: 2000 });
      assert.equal((JSON.parse(r.string()) as { error: { err_code: number } }).error.err_code, 10039);
      await until(() => got.length >= 1, "an audit advisory");
      validate(got[0]!.body, AUDIT);
      assert.equal((got[0]!.body.client as { acc: string }).acc, "N");
      assert.equal(got[0]!.body.response, r.string());
    });
  });
});

describe("stream action advisories", () => {
  test("created, updated and deleted, valid against the stream_action schema", async () => {
    await withJs({}, async ({ nc, jsm }) => {
      const sub = nc.subscribe("$JS.EVENT.ADVISORY.STREAM.>");
      const got = collect(sub);
      await nc.flush();
      await jsm.streams.add({ name: "SA", subjects: ["sa"] });
      await jsm.streams.add({ name: "SA", subjects: ["sa"] }); // the same again: nothing created
      await jsm.streams.update("SA", { description: "changed" });
      await jsm.streams.delete("SA");
      await until(() => got.length >= 3, "three stream advisories");
      await sleep(50);
      assert.deepEqual(got.map((g) => [g.subject, g.body.action, g.body.stream]), [
        ["$JS.EVENT.ADVISORY.STREAM.CREATED.SA", "create", "SA"],
        ["$JS.EVENT.ADVISORY.STREAM.UPDATED.SA", "modify", "SA"],
        ["$JS.EVENT.ADVISORY.STREAM.DELETED.SA", "delete", "SA"],
      ]);
      for (const g of got) validate(g.body, "io.nats.jetstream.advisory.v1.stream_action");
      const ids = new Set(got.map((g) => g.body.id));
      assert.equal(ids.size, 3);
    });
  });

  test("with a domain, the advisory names it (as nats-server 2.9 does, beyond the schema)", async () => {
    await withJs({ jetstream: { domain: "hub" } }, async ({ nc, jsm }) => {
      const sub = nc.subscribe("$JS.EVENT.ADVISORY.STREAM.CREATED.>");
      const got = collect(sub);
      await nc.flush();
      await jsm.streams.add({ name: "SD", subjects: ["sd"] });
      await until(() => got.length >= 1, "a stream advisory");
      const { domain, ...rest } = got[0]!.body;
      assert.equal(domain, "hub");
      // the reference schema has no `domain` yet: everything else is as it says
      validate(rest, "io.nats.jetstream.advisory.v1.stream_action");
    });
  });
});
