// The backpressure core on its own: who is producing, when a producer is paused and resumed.
import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { currentProducer, Flow, producing, STALL_AT, STALL_MAX_MS } from "../../src/core/backpressure.js";

class FakeTransport {
  paused = 0;
  resumed = 0;
  pause(): void {
    this.paused++;
  }
  resume(): void {
    this.resumed++;
  }
}

function flow(stats = { stalledClients: 0 }): { f: Flow; t: FakeTransport; stats: { stalledClients: number } } {
  const t = new FakeTransport();
  return { f: new Flow({}, t, stats), t, stats };
}

test("producing marks the producer and gives back the previous one", () => {
  const a = flow().f;
  const b = flow().f;
  assert.equal(currentProducer(), null);
  const p0 = producing(a);
  assert.equal(p0, null);
  assert.equal(currentProducer(), a);
  const p1 = producing(b);
  assert.equal(p1, a);
  assert.equal(currentProducer(), b);
  producing(p1);
  assert.equal(currentProducer(), a);
  producing(p0);
  assert.equal(currentProducer(), null);
});

test("congestion: over min(max_pending/2, STALL_AT) bytes waiting", () => {
  const { f } = flow();
  f.wrote(STALL_AT, 64 * 1024 * 1024);
  assert.equal(f.congested, false);
  f.wrote(STALL_AT + 1, 64 * 1024 * 1024);
  assert.equal(f.congested, true);
  const g = flow().f;
  g.wrote(1001, 2000);
  assert.equal(g.congested, true);
  g.drained();
  assert.equal(g.congested, false);
});

test("a congested receiver pauses the producer once; its drain resumes it", () => {
  const stats = { stalledClients: 0 };
  const recv = flow(stats);
  const prod = flow(stats);
  recv.f.wrote(STALL_AT + 1, 64 * 1024 * 1024);
  const prev = producing(prod.f);
  try {
    recv.f.stallProducer();
    recv.f.stallProducer();
  } finally {
    producing(prev);
  }
  assert.equal(prod.t.paused, 1);
  assert.equal(prod.f.isStalled, true);
  assert.equal(stats.stalledClients, 1);
  recv.f.drained();
  assert.equal(prod.t.resumed, 1);
  assert.equal(prod.f.isStalled, false);
});

test("no producer, or the receiver producing into itself: nothing is paused", () => {
  const recv = flow();
  recv.f.wrote(STALL_AT + 1, 64 * 1024 * 1024);
  recv.f.stallProducer();
  const prev = producing(recv.f);
  recv.f.stallProducer();
  producing(prev);
  assert.equal(recv.t.paused, 0);
});

test("a stalled producer reads again after STALL_MAX_MS even if the receiver never drains", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const recv = flow();
    const prod = flow();
    const prev = producing(prod.f);
    recv.f.stallProducer();
    producing(prev);
    assert.equal(prod.t.paused, 1);
    mock.timers.tick(STALL_MAX_MS - 1);
    assert.equal(prod.t.resumed, 0);
    mock.timers.tick(1);
    assert.equal(prod.t.resumed, 1);
    // the receiver's later drain does not resume it a second time
    recv.f.drained();
    recv.f.close();
    assert.equal(prod.t.resumed, 1);
  } finally {
    mock.timers.reset();
  }
});

test("a receiver that closes releases its producers; a closed producer is never resumed or paused", () => {
  const recv = flow();
  const prod = flow();
  let prev = producing(prod.f);
  recv.f.stallProducer();
  producing(prev);
  recv.f.close();
  assert.equal(prod.t.resumed, 1);

  const recv2 = flow();
  recv2.f.wrote(STALL_AT + 1, 64 * 1024 * 1024);
  const gone = flow();
  prev = producing(gone.f);
  recv2.f.stallProducer();
  producing(prev);
  gone.f.close();
  recv2.f.drained();
  assert.equal(gone.t.paused, 1);
  assert.equal(gone.t.resumed, 0);
  prev = producing(gone.f);
  recv2.f.stallProducer();
  producing(prev);
  assert.equal(gone.t.paused, 1);
});

test("wrote: over max_pending is a slow consumer; the write deadline runs until a drain, once", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const { f } = flow();
    assert.equal(f.wrote(2001, 2000), false, "over max_pending");
    let fired = 0;
    const onDeadline = () => void fired++;
    assert.equal(f.wrote(0, 2000, 100, onDeadline), true);
    mock.timers.tick(200);
    assert.equal(fired, 0, "nothing waiting: no deadline");
    assert.equal(f.wrote(10, 2000, 100, onDeadline), true);
    assert.equal(f.wrote(20, 2000, 100, onDeadline), true);
    mock.timers.tick(99);
    f.drained();
    mock.timers.tick(200);
    assert.equal(fired, 0, "a drain stops the deadline");
    f.wrote(10, 2000, 100, onDeadline);
    f.wrote(10, 2000, 100, onDeadline);
    mock.timers.tick(100);
    assert.equal(fired, 1, "one deadline for bytes waiting, however many writes");
    const g = flow().f;
    g.wrote(10, 2000, 100, onDeadline);
    g.close();
    mock.timers.tick(200);
    assert.equal(fired, 1, "a closed flow's deadline never fires");
  } finally {
    mock.timers.reset();
  }
});
