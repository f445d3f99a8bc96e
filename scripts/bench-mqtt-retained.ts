// SUBSCRIBE-time with many retained messages: an in-process server holds 100,000 retained
// messages on site/<s>/dev/<d>/temp (100 sites × 1000 devices); a client subscribes with a few
// filters and waits for the SUBACK and every matching retained message. Prints the median time
// per SUBSCRIBE for each filter.
//   node --import tsx scripts/bench-mqtt-retained.ts [retained=100000] [rounds=15]
import mqtt from "mqtt";
import { startServer } from "../src/index.js";

const total = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 15);
const devices = 1000;
const sites = Math.ceil(total / devices);

const server = await startServer({ server_name: "bench", host: "127.0.0.1", port: -1, mqtt: { host: "127.0.0.1", port: -1 } });
const url = `mqtt://127.0.0.1:${server.mqttPort}`;
try {
  const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    pub.publish(`site/${Math.floor(i / devices)}/dev/${i % devices}/temp`, "21.5", { qos: 0, retain: true });
    if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
  }
  // a QoS 1 publish is acknowledged after everything before it was handled
  await pub.publishAsync("bench/done", "x", { qos: 1 });
  console.log(`stored ${total} retained messages in ${(performance.now() - t0).toFixed(0)} ms`);
  await pub.endAsync();

  const sub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  let got = 0;
  let wake: (() => void) | null = null;
  sub.on("message", () => {
    got++;
    wake?.();
  });
  const filters: [string, number][] = [
    ["site/7/dev/42/temp", 1],
    ["site/7/dev/+/temp", Math.min(devices, total)],
    ["site/7/#", Math.min(devices, total)],
    ["site/+/dev/42/temp", sites],
    ["+/+/dev/1/+", sites],
    ["nomatch/#", 0],
  ];
  console.log(`filter                  matches   median ms per SUBSCRIBE (${rounds} rounds)`);
  for (const [filter, expect] of filters) {
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      got = 0;
      const start = performance.now();
      await sub.subscribeAsync(filter, { qos: 0 });
      while (got < expect) await new Promise<void>((res) => (wake = res));
      wake = null;
      times.push(performance.now() - start);
      await sub.unsubscribeAsync(filter);
    }
    times.sort((a, b) => a - b);
    console.log(`${filter.padEnd(24)}${String(expect).padStart(7)}   ${times[Math.floor(times.length / 2)]!.toFixed(2)}`);
  }
  await sub.endAsync();
} finally {
  await server.close();
}
