// ACISetSessions skips its read for rows this process already holds, and still never writes over
// a change it has not seen: the kept rows' ETags guard every write. ServerService over the
// in-memory store (same ETag semantics as Table Storage), with its reads counted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerKey, ServerRecord } from '../../runtime/src/domain/servers/server';
import { KnownRows } from '../../runtime/src/domain/servers/knownRows';
import { ServerService } from '../../runtime/src/domain/servers/serverService';
import { FleetError } from '../../runtime/src/domain/core/errors';
import { MemoryServerStore, SimulatedContainerGroups } from '../../tools/sim/memory';
import { ManualClock } from '../support/clock';
import { serverRecord } from '../support/records';

const versioned = (name: string, extra: Partial<ServerRecord> = {}) => ({ value: serverRecord(name, extra), etag: `e-${name}` });
const key = (name: string): ServerKey => ({ resourceGroup: 'games', containerGroupName: name });

describe('KnownRows', () => {
  it('answers only when it holds every row of the batch', () => {
    const known = new KnownRows();
    known.remember([versioned('a'), versioned('b')]);
    assert.deepEqual([...known.lookup([key('a'), key('b')])!.keys()], ['games/a', 'games/b']);
    assert.equal(known.lookup([key('a'), key('c')]), undefined);
    known.forget([key('b')]);
    assert.equal(known.lookup([key('b')]), undefined);
  });

  it('keeps at most its capacity, dropping the row used least recently', () => {
    const known = new KnownRows(2);
    known.remember([versioned('a'), versioned('b')]);
    known.lookup([key('a')]); // b is now the oldest
    known.remember([versioned('c')]);
    assert.equal(known.size, 2);
    assert.equal(known.lookup([key('b')]), undefined);
    assert.ok(known.lookup([key('a'), key('c')]));
  });

  it('after stale batches in a row sends twice as many batches to storage each time, and one good batch resets it', () => {
    const known = new KnownRows();
    known.remember([versioned('a')]);
    const answered = (n: number) => Array.from({ length: n }, () => known.lookup([key('a')]) !== undefined);
    known.outcome(true);
    assert.deepEqual(answered(2), [false, true]);
    known.outcome(true);
    assert.deepEqual(answered(4), [false, false, false, true]);
    known.outcome(false);
    known.outcome(true);
    assert.deepEqual(answered(2), [false, true]);
    for (let i = 0; i < 20; i++) known.outcome(true);
    assert.equal(answered(64).filter((a) => !a).length, 63, 'capped at 63 batches');
  });
});

/** The in-memory store with its reads counted. */
class CountingStore extends MemoryServerStore {
  reads = 0;
  override async getMany(keys: readonly ServerKey[]) {
    this.reads++;
    return super.getMany(keys);
  }
}

function setup(names: string[], { keepRows = true } = {}) {
  const store = new CountingStore();
  const clock = new ManualClock(Date.parse('2026-12-04T12:00:00Z'));
  const service = new ServerService({
    store,
    groups: new SimulatedContainerGroups(clock, 30_000),
    clock,
    options: { fleetName: 'test', defaultMaxSessions: 10, allowedResourceGroups: [], writeAttempts: 3 },
    knownRows: keepRows ? new KnownRows() : undefined,
  });
  const report = (sessions: Record<string, number>) =>
    service.setSessions(Object.entries(sessions).map(([name, activeSessions]) => ({ ...key(name), activeSessions })));
  return { store, service, report, ready: Promise.all(names.map((n) => store.insert(serverRecord(n)))) };
}

describe('ACISetSessions with rows it already holds', () => {
  it('reads a batch once: the same servers reported again are written straight away, in one transaction', async () => {
    const { store, report, ready } = setup(['a', 'b']);
    await ready;
    assert.deepEqual(await report({ a: 1, b: 2 }), { updated: 2, transactions: 1, ignored: [] });
    assert.equal(store.reads, 1);
    assert.deepEqual(await report({ a: 3, b: 4 }), { updated: 2, transactions: 1, ignored: [] });
    assert.deepEqual(await report({ b: 5 }), { updated: 1, transactions: 1, ignored: [] });
    assert.equal(store.reads, 1);
    assert.equal((await store.get(key('a')))?.value.activeSessions, 3);
    assert.equal((await store.get(key('b')))?.value.activeSessions, 5);
  });

  it('reads when the batch names a server it does not hold', async () => {
    const { store, report, ready } = setup(['a', 'b']);
    await ready;
    await report({ a: 1 });
    await report({ a: 2, b: 2 });
    assert.equal(store.reads, 2);
  });

  it('keeps what another writer changed in between: its write fails on the ETag, the rows are read again, the report reapplied', async () => {
    const { store, report, ready } = setup(['a', 'b']);
    await ready;
    await report({ a: 1, b: 1 });
    const b = (await store.get(key('b')))!;
    await store.replace({ ...b.value, state: 'MarkedForDeletion', drainedFrom: 'Running' }, b.etag);
    assert.deepEqual(await report({ a: 2, b: 3 }), { updated: 2, transactions: 2, ignored: [] });
    assert.equal(store.reads, 2);
    const stored = (await store.get(key('b')))!.value;
    assert.equal(stored.state, 'MarkedForDeletion');
    assert.equal(stored.activeSessions, 3);
    assert.equal((await store.get(key('a')))?.value.activeSessions, 2);
  });

  it('answers a server deleted meanwhile as the reading way does: 404 for the batch, nothing written', async () => {
    const { store, report, ready } = setup(['a', 'b']);
    await ready;
    await report({ a: 1, b: 1 });
    await store.remove(key('b'), (await store.get(key('b')))!.etag);
    await assert.rejects(
      report({ a: 2, b: 2 }),
      (e: unknown) => e instanceof FleetError && e.code === 'NotFound' && JSON.stringify(e.details) === JSON.stringify([key('b')]),
    );
    assert.equal((await store.get(key('a')))?.value.activeSessions, 1, 'nothing written');
  });

  it('leaves a server moved to Deleting meanwhile alone, and stops trying kept rows for it', async () => {
    const { store, report, ready } = setup(['a', 'b']);
    await ready;
    await report({ a: 1, b: 1 });
    const b = (await store.get(key('b')))!;
    await store.replace({ ...b.value, state: 'Deleting' }, b.etag);
    assert.deepEqual(await report({ a: 2, b: 2 }), {
      updated: 1,
      transactions: 2,
      ignored: [{ ...key('b'), reason: 'server is being deleted' }],
    });
    assert.equal((await store.get(key('b')))?.value.activeSessions, 1);
    const reads = store.reads;
    // b is no longer kept: the batch reads (no failed transaction first), whatever the backoff.
    for (let i = 0; i < 3; i++) assert.equal((await report({ a: 3, b: 3 })).transactions, 1);
    assert.equal(store.reads, reads + 3);
  });

  it('judges capacity on the row as stored, after the server was made again with more or fewer slots', async () => {
    const { store, report, ready } = setup(['a']);
    await ready;
    await report({ a: 10 });
    await assert.rejects(report({ a: 11 }), (e: unknown) => e instanceof FleetError && e.code === 'ValidationFailed');
    assert.equal((await store.get(key('a')))?.value.activeSessions, 10, 'nothing written');
    const makeAgain = async (maxSessions: number) => {
      // Deleted and created again under the same name, by another instance.
      await store.remove(key('a'), (await store.get(key('a')))!.etag);
      await store.insert(serverRecord('a', { maxSessions }));
    };
    await makeAgain(20);
    assert.equal((await report({ a: 15 })).updated, 1);
    assert.equal((await store.get(key('a')))?.value.activeSessions, 15);
    await assert.rejects(report({ a: 21 }), (e: unknown) => e instanceof FleetError && e.code === 'ValidationFailed');
    await makeAgain(2);
    await assert.rejects(report({ a: 8 }), (e: unknown) => e instanceof FleetError && e.code === 'ValidationFailed');
    assert.equal((await store.get(key('a')))?.value.activeSessions, 0, 'nothing written');
  });

  it('after a batch whose kept rows had changed, reads the next one first, then goes back to kept rows', async () => {
    const { store, report, ready } = setup(['a']);
    await ready;
    await report({ a: 1 });
    const a = (await store.get(key('a')))!;
    await store.replace({ ...a.value, state: 'MarkedForDeletion', drainedFrom: 'Running' }, a.etag);
    const transactions = [];
    for (let i = 2; i <= 4; i++) transactions.push((await report({ a: i })).transactions);
    assert.deepEqual(transactions, [2, 1, 1]); // stale + reread, then one batch read first, then kept
    assert.equal(store.reads, 3);
  });

  it('reads a batch that is more than one transaction: several resource groups, or more than 100 servers', async () => {
    const { store, service, report, ready } = setup(['a']);
    await ready;
    const many = Array.from({ length: 101 }, (_, i) => `m${i}`);
    await Promise.all([...many.map((n) => store.insert(serverRecord(n))), store.insert(serverRecord('x', { resourceGroup: 'other' }))]);
    const sessions = Object.fromEntries(many.map((n) => [n, 1]));
    await report(sessions);
    await report(sessions);
    assert.equal(store.reads, 2);
    const twoGroups = [
      { ...key('a'), activeSessions: 1 },
      { resourceGroup: 'other', containerGroupName: 'x', activeSessions: 1 },
    ];
    await service.setSessions(twoGroups);
    await service.setSessions(twoGroups);
    assert.equal(store.reads, 4);
    await report({ a: 2 }); // one group, one transaction: kept
    assert.equal(store.reads, 4);
  });

  it('without kept rows, reads every batch (the path every first report takes)', async () => {
    const { store, report, ready } = setup(['a'], { keepRows: false });
    await ready;
    await report({ a: 1 });
    await report({ a: 2 });
    assert.equal(store.reads, 2);
  });
});
