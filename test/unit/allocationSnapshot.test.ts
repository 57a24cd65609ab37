// The per-process copy of the Running servers ACIAllocate chooses from: how old it may get, one read
// for many callers, the process's own writes kept over an older read, and the Allocator's use of it
// (a fresh read before any "no room", retries found through the ledger), and its cheap choice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bestCandidates, rankCandidates } from '../../runtime/src/domain/allocation/booking';
import { RunningServersSnapshot } from '../../runtime/src/domain/allocation/snapshot';
import { Allocator } from '../../runtime/src/domain/allocation/allocator';
import type { Versioned } from '../../runtime/src/domain/core/ports';
import { describeKey, type ServerRecord } from '../../runtime/src/domain/servers/server';
import type { ServerState } from '../../runtime/src/domain/servers/states';
import { MemoryAllocationLedger, MemoryDemandStore, MemoryServerStore } from '../../tools/sim/memory';
import { serverRecord } from '../support/records';

const T0 = Date.parse('2026-11-22T12:00:00Z');

function fakeClock() {
  let t = T0;
  return { now: () => new Date(t), advance: (ms: number) => (t += ms) };
}

/** A store whose list sees the rows when it starts and answers when the test opens the gate. */
class GatedStore extends MemoryServerStore {
  private gates: Array<() => void> = [];
  gated = false;
  override async list(filter?: { states?: readonly ServerState[] }): Promise<Versioned<ServerRecord>[]> {
    const rows = await super.list(filter);
    if (this.gated) await new Promise<void>((open) => this.gates.push(open));
    return rows;
  }
  open() {
    for (const g of this.gates.splice(0)) g();
  }
  get waiting() {
    return this.gates.length;
  }
}

const names = (rows: Map<string, Versioned<ServerRecord>>) => [...rows.values()].map((r) => r.value.containerGroupName).sort();
const tick = () => new Promise((r) => setImmediate(r));

describe('RunningServersSnapshot', () => {
  it('reads once, serves copies until the max age passes, then reads again', async () => {
    const store = new GatedStore();
    const clock = fakeClock();
    await store.insert(serverRecord('a'));
    await store.insert(serverRecord('stopped', { state: 'MarkedForDeletion' }));
    const snapshot = new RunningServersSnapshot(store, 1000, clock);
    assert.deepEqual(names((await snapshot.current()).rows), ['a'], 'only Running servers');
    await store.insert(serverRecord('b'));
    clock.advance(1001);
    const view = await snapshot.current();
    assert.deepEqual(names(view.rows), ['a', 'b']);
    assert.equal(view.takenAt, T0 + 1001);
    assert.equal(snapshot.reads, 2);
  });

  it('serves its copy while young, and starts the next read in the background past half its age', async () => {
    const store = new GatedStore();
    const clock = fakeClock();
    await store.insert(serverRecord('a'));
    const snapshot = new RunningServersSnapshot(store, 1000, clock);
    await snapshot.current();
    await store.insert(serverRecord('b'));
    clock.advance(500);
    assert.deepEqual(names((await snapshot.current()).rows), ['a']);
    assert.equal(snapshot.reads, 1, 'no read while the copy is under half its age');
    clock.advance(1);
    store.gated = true;
    assert.deepEqual(names((await snapshot.current()).rows), ['a'], 'answered without waiting for the read');
    assert.equal(snapshot.reads, 2);
    await snapshot.current();
    assert.equal(snapshot.reads, 2, 'one background read at a time');
    clock.advance(1000);
    assert.deepEqual(names((await snapshot.current()).rows), ['a'], 'past its max age, the copy still serves while the read is under way');
    assert.equal(snapshot.reads, 2);
    store.open();
    await tick();
    const view = await snapshot.current();
    assert.deepEqual(names(view.rows), ['a', 'b']);
    assert.equal(view.takenAt, T0 + 501);
  });

  it('counts its age from when the read landed, so a read slower than the max age is not followed at once by the next', async () => {
    const store = new GatedStore();
    const clock = fakeClock();
    await store.insert(serverRecord('a'));
    const snapshot = new RunningServersSnapshot(store, 1000, clock);
    store.gated = true;
    const first = snapshot.current();
    await tick();
    clock.advance(1500); // the read of a large fleet takes longer than the max age
    store.open();
    await first;
    await snapshot.current();
    assert.equal(snapshot.reads, 1, 'no read back to back');
    clock.advance(501);
    await snapshot.current();
    assert.equal(snapshot.reads, 2, 'the next starts in the background past half the max age');
  });

  it('reads on every call with a max age of 0', async () => {
    const store = new MemoryServerStore();
    const snapshot = new RunningServersSnapshot(store, 0, fakeClock());
    await snapshot.current();
    await snapshot.current();
    assert.equal(snapshot.reads, 2);
  });

  it('gives the callers of one moment one shared read', async () => {
    const store = new GatedStore();
    store.gated = true;
    await store.insert(serverRecord('a'));
    const snapshot = new RunningServersSnapshot(store, 1000, fakeClock());
    const views = Promise.all(Array.from({ length: 8 }, () => snapshot.current()));
    await tick();
    assert.equal(store.waiting, 1);
    store.open();
    for (const v of await views) assert.deepEqual(names(v.rows), ['a']);
    assert.equal(snapshot.reads, 1);
  });

  it('does not let a read that started before `since` stand in for a fresh one', async () => {
    const store = new GatedStore();
    const clock = fakeClock();
    const snapshot = new RunningServersSnapshot(store, 1000, clock);
    store.gated = true;
    const old = snapshot.current(); // starts a read at T0
    await tick();
    clock.advance(5);
    await store.insert(serverRecord('late'));
    const fresh = snapshot.fresh(T0 + 5);
    await tick();
    assert.equal(store.waiting, 2, 'a second read, started after `since`');
    const joined = snapshot.fresh(T0 + 5);
    await tick();
    assert.equal(store.waiting, 2, 'a third caller joins the second read');
    store.open();
    await old;
    assert.deepEqual(names((await fresh).rows), ['late']);
    assert.deepEqual(names((await joined).rows), ['late']);
    assert.equal(snapshot.reads, 2);
  });

  it('keeps the rows this process wrote or re-read, even over a read that started before them', async () => {
    const store = new GatedStore();
    const clock = fakeClock();
    const a = await store.insert(serverRecord('a'));
    const b = await store.insert(serverRecord('b'));
    const snapshot = new RunningServersSnapshot(store, 1000, clock);
    await snapshot.current();

    const booked = await store.replace({ ...a.value, activeSessions: 3 }, a.etag);
    snapshot.remember(booked);
    snapshot.forget(b.value);
    let rows = (await snapshot.current()).rows;
    assert.equal(snapshot.reads, 1, 'no read needed to see them');
    assert.equal(rows.get('games/a')?.etag, booked.etag);
    assert.ok(!rows.has('games/b'));
    snapshot.remember({ ...booked, value: { ...booked.value, state: 'MarkedForDeletion' } });
    assert.ok(!(await snapshot.current()).rows.has('games/a'), 'a row no longer Running leaves the copy');
    snapshot.remember(booked);

    // A read starts (seeing a's older row is impossible here, so make it see b back and a as booked),
    // then this process writes a again before that read lands: the later write wins.
    clock.advance(1001);
    store.gated = true;
    const reading = snapshot.current();
    await tick();
    clock.advance(1);
    const again = await store.replace({ ...booked.value, activeSessions: 4 }, booked.etag);
    snapshot.remember(again);
    store.open();
    rows = (await reading).rows;
    assert.equal(rows.get('games/a')?.etag, again.etag, 'the older read did not bring back the older row');
    assert.ok(rows.has('games/b'), 'what the read saw of other rows is taken');
  });
});

describe('Allocator with a snapshot', () => {
  const options = { ttlMs: 60_000, reportGraceMs: 5_000, attempts: 8, retryAfterSeconds: 5 };

  it('uses a server that became Running after the snapshot instead of answering 503', async () => {
    const store = new MemoryServerStore();
    const clock = fakeClock();
    const snapshot = new RunningServersSnapshot(store, 60_000, clock);
    const demand = new MemoryDemandStore();
    const allocator = new Allocator({ store, demand, options, clock, snapshot });
    await store.insert(serverRecord('full', { maxSessions: 1, activeSessions: 1 }));
    await snapshot.current();
    clock.advance(10);
    await store.insert(serverRecord('new', { createdAt: new Date(T0).toISOString() }));
    const got = await allocator.allocate({ sessions: 1 });
    assert.equal(got.server.ContainerGroupName, 'new');
    assert.equal(snapshot.reads, 2, 'one fresh read, before answering');
    clock.advance(10);
    await assert.rejects(allocator.allocate({ sessions: 10 }), { code: 'NoCapacity' });
    assert.equal(snapshot.reads, 3, 'a miss always reads afresh first');
  });

  it('returns the same server to a retry on another instance whose snapshot predates the booking', async () => {
    const store = new MemoryServerStore();
    const clock = fakeClock();
    const ledger = new MemoryAllocationLedger();
    const demand = new MemoryDemandStore();
    for (const n of ['a', 'b', 'c']) await store.insert(serverRecord(n, { maxSessions: 4 }));
    const first = new Allocator({ store, demand, options, clock, ledger, snapshot: new RunningServersSnapshot(store, 60_000, clock) });
    const otherSnapshot = new RunningServersSnapshot(store, 60_000, clock);
    const second = new Allocator({ store, demand, options, clock, ledger, snapshot: otherSnapshot });
    await otherSnapshot.current();
    await store.insert(serverRecord('busy', { maxSessions: 4, activeSessions: 3 })); // unknown to the second copy
    const booked = await first.allocate({ sessions: 1, requestId: 'match-1' });
    const retried = await second.allocate({ sessions: 1, requestId: 'match-1' });
    assert.equal(booked.server.ContainerGroupName, 'busy');
    assert.equal(retried.repeated, true);
    assert.equal(retried.server.ContainerGroupName, 'busy');
    const ids = (await store.list()).flatMap((r) => r.value.reservations ?? []).map((b) => b.id);
    assert.deepEqual(ids, ['match-1']);
    assert.ok(ledger.entries.has('match-1'), 'the requestId was claimed in the shared ledger');
  });
});

describe('bestCandidates', () => {
  const T = new Date(T0);
  const row = (i: number, activeSessions: number, maxSessions: number, rg: string, state: ServerState): Versioned<ServerRecord> => ({
    value: serverRecord(`gs-${i}`, { resourceGroup: rg, activeSessions, maxSessions, state, createdAt: T.toISOString() }),
    etag: String(i),
  });

  it('is the head of rankCandidates, for any fleet, request and count', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 6 }),
            fc.integer({ min: 1, max: 6 }),
            fc.constantFrom('a', 'b'),
            fc.constantFrom<ServerState>('Running', 'Running', 'MarkedForDeletion'),
          ),
          { maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(undefined, 'a'),
        (specs, sessions, count, resourceGroup) => {
          const rows = specs.map(([active, max, rg, state], i) => row(i, active, max, rg, state));
          const req = { sessions, resourceGroup };
          const names = (rs: Versioned<ServerRecord>[]) => rs.map((r) => describeKey(r.value));
          assert.deepEqual(names(bestCandidates(rows, req, T, count)), names(rankCandidates(rows, req, T).slice(0, count)));
        },
      ),
      { numRuns: 500 },
    );
  });
});
