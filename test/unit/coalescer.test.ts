// Concurrent ACIAllocate calls on one instance booked together: one write per server for the
// requests planned on it, still packed, never beyond MaxSessions, lost races to another instance
// planned again, and a caller's bad request answered on its own while the others' book.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Allocator } from '../../runtime/src/domain/allocation/allocator';
import { BookingCoalescer } from '../../runtime/src/domain/allocation/coalescer';
import { RunningServersSnapshot } from '../../runtime/src/domain/allocation/snapshot';
import type { FleetError } from '../../runtime/src/domain/core/errors';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import { MemoryAllocationLedger, MemoryDemandStore, MemoryServerStore } from '../../tools/sim/memory';
import { serverRecord } from '../support/records';

const T0 = Date.parse('2026-11-22T12:00:00Z');
const options = { ttlMs: 60_000, reportGraceMs: 5_000, attempts: 8, retryAfterSeconds: 5 };
const clock = { now: () => new Date(T0) };

/** A store whose conditional writes wait for the test to let them through, and counts them. */
class GatedStore extends MemoryServerStore {
  gated = false;
  writes: ServerRecord[] = [];
  private gates: Array<() => void> = [];
  override async replace(record: ServerRecord, etag: string) {
    this.writes.push(record);
    if (this.gated) await new Promise<void>((open) => this.gates.push(open));
    return super.replace(record, etag);
  }
  open() {
    this.gated = false;
    for (const g of this.gates.splice(0)) g();
  }
  get waiting() {
    return this.gates.length;
  }
}

/** One Functions instance: its own copy of the servers and its own coalescer, over the shared store and ledger. */
function instance(store: MemoryServerStore, ledger = new MemoryAllocationLedger()) {
  const snapshot = new RunningServersSnapshot(store, 60_000, clock);
  const coalescer = new BookingCoalescer({ store, snapshot, timings: options, attempts: 32, clock });
  const allocator = new Allocator({ store, demand: new MemoryDemandStore(), options, clock, snapshot, coalescer, ledger });
  return { allocator, coalescer, snapshot };
}

const tick = () => new Promise((r) => setImmediate(r));
const until = async (check: () => boolean) => {
  while (!check()) await tick();
};
const booked = async (store: MemoryServerStore) =>
  new Map((await store.list()).map((r) => [r.value.containerGroupName, (r.value.reservations ?? []).length]));

describe('BookingCoalescer', () => {
  it('books the requests that wait for a write in flight with one write on the same (fullest) server', async () => {
    const store = new GatedStore();
    await store.insert(serverRecord('empty', { maxSessions: 12 }));
    await store.insert(serverRecord('fuller', { maxSessions: 12, activeSessions: 4 }));
    const { allocator, coalescer } = instance(store);
    store.gated = true;
    const first = allocator.allocate({ sessions: 1 });
    await until(() => store.waiting === 1);
    const rest = Array.from({ length: 5 }, () => allocator.allocate({ sessions: 1 }));
    for (let i = 0; i < 5; i++) await tick();
    assert.equal(store.writes.length, 1, 'the five wait for the write in flight on the fullest server');
    store.open();
    const all = await Promise.all([first, ...rest]);
    assert.ok(
      all.every((a) => a.server.ContainerGroupName === 'fuller'),
      'still packed onto the fullest',
    );
    assert.equal(store.writes.length, 2, 'one more write books the five together');
    assert.equal(store.writes[1]!.reservations?.length, 6);
    assert.deepEqual(coalescer.stats, { writes: 2, booked: 6 });
    assert.deepEqual(
      await booked(store),
      new Map([
        ['empty', 0],
        ['fuller', 6],
      ]),
    );
  });

  it("answers a caller's impossible request on its own while the requests planned with it book", async () => {
    const store = new GatedStore();
    await store.insert(serverRecord('a', { maxSessions: 4 }));
    await store.insert(serverRecord('b', { maxSessions: 4 }));
    const { allocator } = instance(store);
    store.gated = true;
    const first = allocator.allocate({ sessions: 1 });
    await until(() => store.waiting === 1);
    const good = [allocator.allocate({ sessions: 2 }), allocator.allocate({ sessions: 1, requestId: 'good-1' })];
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => assert.fail('answered 200'),
        (e: FleetError) => e,
      );
    const tooBig = refusal(allocator.allocate({ sessions: 5 }));
    const elsewhere = refusal(allocator.allocate({ sessions: 1, location: 'mars' }));
    const unknownFleet = refusal(allocator.allocate({ sessions: 1, fleet: 'nobody' }));
    for (let i = 0; i < 5; i++) await tick();
    store.open();
    const answers = await Promise.all([first, ...good]);
    assert.deepEqual(
      answers.map((a) => a.reservation.sessions),
      [1, 2, 1],
    );
    assert.deepEqual([(await tooBig).code, (await tooBig).status], ['ValidationFailed', 400]);
    assert.deepEqual([(await elsewhere).code, (await elsewhere).status], ['NoCapacity', 503]);
    assert.equal((await unknownFleet).status, 503); // no fleets known to this allocator: the default fleet's
    const sessions = (await store.list()).flatMap((r) => r.value.reservations ?? []).reduce((n, r) => n + r.sessions, 0);
    assert.equal(sessions, 4);
  });

  it('plans the requests of a write lost to another instance again, and never books beyond MaxSessions', async () => {
    const store = new GatedStore();
    await store.insert(serverRecord('only', { maxSessions: 3 }));
    const one = instance(store);
    const two = instance(store);
    await one.snapshot.current();
    await two.snapshot.current();
    store.gated = true;
    const fromOne = [one.allocator.allocate({ sessions: 1 }), one.allocator.allocate({ sessions: 1 })];
    const fromTwo = [two.allocator.allocate({ sessions: 1 })];
    await until(() => store.waiting === 2);
    store.open();
    const results = await Promise.all([...fromOne, ...fromTwo]);
    assert.equal(results.length, 3);
    const sessions = (await store.list()).flatMap((r) => r.value.reservations ?? []).reduce((n, r) => n + r.sessions, 0);
    assert.equal(sessions, 3, 'the loser re-read the row and booked the room left');
    assert.deepEqual(one.coalescer.stats, { writes: 1, booked: 2 });
    assert.deepEqual(two.coalescer.stats, { writes: 2, booked: 1 }, 'one lost race, one write again');
    // Nothing is left: a further request from either instance is a 503 after a fresh read.
    await assert.rejects(two.allocator.allocate({ sessions: 1 }), { code: 'NoCapacity' });
  });

  it('never over-books and books every request there is room for, for any mix of requests over two instances', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.boolean()), { minLength: 1, maxLength: 30 }),
        async (sizes, requests) => {
          const store = new MemoryServerStore();
          for (const [i, maxSessions] of sizes.entries()) await store.insert(serverRecord(`s${i}`, { maxSessions }));
          const ledger = new MemoryAllocationLedger();
          const instances = [instance(store, ledger), instance(store, ledger)];
          const results = await Promise.allSettled(
            requests.map(([sessions, onSecond], i) =>
              instances[Number(onSecond)]!.allocator.allocate({ sessions, requestId: `r-${i % 20}-${sessions}` }),
            ),
          );
          const rows = (await store.list()).map((r) => r.value);
          for (const r of rows) {
            const held = (r.reservations ?? []).reduce((n, b) => n + b.sessions, 0);
            assert.ok(held <= r.maxSessions, `${r.containerGroupName} holds ${held} of ${r.maxSessions}`);
          }
          const ids = rows.flatMap((r) => (r.reservations ?? []).map((b) => b.id));
          assert.equal(new Set(ids).size, ids.length, 'a requestId books once');
          for (const r of results) {
            if (r.status === 'fulfilled') continue;
            const code = (r.reason as FleetError).code;
            assert.ok(['NoCapacity', 'ValidationFailed', 'Conflict', 'WriteContention'].includes(code), code);
          }
          // Whatever was refused for want of room could not have fit anywhere once the others booked.
          const free = Math.max(...rows.map((r) => r.maxSessions - (r.reservations ?? []).reduce((n, b) => n + b.sessions, 0)));
          for (const [i, r] of results.entries())
            if (r.status === 'rejected' && (r.reason as FleetError).code === 'NoCapacity') assert.ok(requests[i]![0] > free);
        },
      ),
      { numRuns: 150, seed: 14 },
    );
  });
});
