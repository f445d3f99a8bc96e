// A persistent session's unreleased QoS 2 packet identifiers are stored before PUBREC and their
// release before PUBCOMP: the acknowledgements wait for the store's write. The QoS 2 packets read
// together share one write of the identifier set (it holds every identifier: a write per packet
// would cost the square of the packets in flight).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../../src/index.js";
import type { StreamStore } from "../../src/jetstream/store/index.js";
import { sleep } from "../helpers.js";
import { connectPacket, RawMqtt } from "../mqtt-helpers.js";

function publish(topic: string, pid: number): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.concat([Buffer.from([0, t.length]), t, Buffer.from([pid >> 8, pid & 255]), Buffer.from("x")]);
  return Buffer.concat([Buffer.from([0x34, body.length]), body]);
}

function pubrel(pid: number): Buffer {
  return Buffer.from([0x62, 2, pid >> 8, pid & 255]);
}

/** The packets of `type` (4-byte acknowledgements) among what the raw client read after `from`. */
function acksOf(r: RawMqtt, type: number, from: number): number[] {
  const out: number[] = [];
  for (let p = from; p + 4 <= r.data.length; p += 4) if (r.data[p]! >> 4 === type) out.push(r.data.readUInt16BE(p + 2));
  return out;
}

test("PUBREC and PUBCOMP of a persistent session wait for the stored identifiers, one write per chunk", async () => {
  const dir = mkdtempSync(join(tmpdir(), "junction-mqtt-q2-"));
  const s = await startServer({ host: "127.0.0.1", port: -1, server_name: "q2", jetstream: { store_dir: dir }, mqtt: { host: "127.0.0.1", port: -1 } });
  try {
    const r = await RawMqtt.connect(s);
    r.send(connectPacket("q2-durable", { clean: false }));
    await r.waitBytes(4);
    assert.deepEqual([...r.data.subarray(0, 4)], [0x20, 2, 0, 0]);
    const sess: StreamStore = [...s.mqtt!.states.values()][0]!.stores.sess;
    // the store's writes are held until the test lets them through
    const held: ((err?: Error) => void)[] = [];
    const afterWrite = sess.afterWrite.bind(sess);
    sess.afterWrite = (cb) => void held.push(cb);
    const writes: string[] = [];
    const storeMsg = sess.storeMsg.bind(sess);
    sess.storeMsg = (subject, hdr, data, opts) => {
      writes.push(subject);
      return storeMsg(subject, hdr, data, opts);
    };
    const release = (): void => {
      for (const cb of held.splice(0)) afterWrite(cb);
    };

    const N = 20;
    r.send(Buffer.concat(Array.from({ length: N }, (_, i) => publish("q2/t", i + 1))));
    await sleep(200);
    assert.equal(r.data.length, 4, "no PUBREC before the identifiers are written");
    assert.equal(writes.filter((w) => w.startsWith("i.")).length, 1, "one write of the identifier set for the chunk");
    release();
    await r.waitBytes(4 + 4 * N);
    assert.deepEqual(acksOf(r, 5, 4), Array.from({ length: N }, (_, i) => i + 1));

    const mark = r.data.length;
    r.send(Buffer.concat(Array.from({ length: N }, (_, i) => pubrel(i + 1))));
    await sleep(200);
    assert.equal(r.data.length, mark, "no PUBCOMP before the release is written");
    release();
    await r.waitBytes(mark + 4 * N);
    assert.deepEqual(acksOf(r, 7, mark), Array.from({ length: N }, (_, i) => i + 1));
    r.close();
  } finally {
    await s.close();
  }
});
