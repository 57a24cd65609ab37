// ACIAllocate's snapshot and requestId ledger against Azurite: a retry landing on another instance
// (whose copy predates the booking) gets the same server, a server that started or freed up after a
// copy was taken is used rather than a 503, and ACIGC forgets expired requestIds. The fleet and
// the extra instances share a ManualClock, so how old a copy is, is what the test says it is.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RunningServersSnapshot } from '../../runtime/src/domain/allocation/snapshot';
import { Allocator } from '../../runtime/src/domain/allocation/allocator';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import { allocatorOptionsFrom } from '../../runtime/src/options';
import { ManualClock } from '../support/clock';
import { call, startTestFleet, type LocalFleet } from '../support/localFleet';
import { serverRecord } from '../support/records';

let fleet: LocalFleet;
const clock = new ManualClock();
before(async () => {
  fleet = await startTestFleet({ overrides: { clock } });
});
after(() => fleet?.stop());

const seed = (resourceGroup: string, name: string, extra: Partial<ServerRecord> = {}) =>
  fleet.services.store.insert(serverRecord(name, { resourceGroup, maxSessions: 4, ...extra }));

/** An Allocator as another Functions instance would have it: its own copy, kept for a minute. */
function instance() {
  const { store, demand, allocationLedger: ledger, settings } = fleet.services;
  const snapshot = new RunningServersSnapshot(store, 60_000, clock);
  return { snapshot, allocator: new Allocator({ store, demand, ledger, snapshot, clock, options: allocatorOptionsFrom(settings) }) };
}

const bookingsIn = async (resourceGroup: string) =>
  (await fleet.services.store.list()).filter((r) => r.value.resourceGroup === resourceGroup).flatMap((r) => r.value.reservations ?? []);

describe('ACIAllocate snapshot and ledger', () => {
  it('serves a retry on a second instance, whose copy predates the booking, with the same server', async () => {
    for (const n of ['gs-0', 'gs-1', 'gs-2']) await seed('snap-retry', n);
    const first = instance();
    const second = instance();
    await second.snapshot.current(); // taken before the booking
    // The fullest server (so the first instance's choice) is one the second's copy does not know:
    // without the ledger it would book another server a second time.
    await seed('snap-retry', 'gs-busy', { activeSessions: 3 });
    const booked = await first.allocator.allocate({ resourceGroup: 'snap-retry', sessions: 1, requestId: 'match-7' });
    const retried = await second.allocator.allocate({ resourceGroup: 'snap-retry', sessions: 1, requestId: 'match-7' });
    assert.equal(booked.server.ContainerGroupName, 'gs-busy');
    assert.equal(retried.repeated, true);
    assert.equal(retried.server.ContainerGroupName, 'gs-busy');
    // And through the host, a third copy: still the one booking.
    const viaHttp = await call(fleet, 'ACIAllocate', { resourceGroup: 'snap-retry', requestId: 'match-7' });
    assert.equal(viaHttp.body.ContainerGroupName, booked.server.ContainerGroupName);
    assert.deepEqual(
      (await bookingsIn('snap-retry')).map((b) => b.id),
      ['match-7'],
    );
  });

  it('books a server that became Running after the copy was taken, instead of answering 503', async () => {
    await seed('snap-new', 'full', { activeSessions: 4 });
    const { snapshot, allocator } = instance();
    await snapshot.current();
    clock.advance(1); // the server starts, and the request arrives, after the copy was taken
    await seed('snap-new', 'fresh');
    const got = await allocator.allocate({ resourceGroup: 'snap-new', sessions: 2 });
    assert.equal(got.server.ContainerGroupName, 'fresh');
  });

  it('books a server that freed up after the copy was taken, instead of answering 503', async () => {
    await seed('snap-freed', 'gs-0', { activeSessions: 4 });
    const { snapshot, allocator } = instance();
    await snapshot.current();
    clock.advance(1); // the server frees up, and the request arrives, after the copy was taken
    assert.equal(
      (await call(fleet, 'ACISetSessions', [{ resourceGroup: 'snap-freed', containerGroupName: 'gs-0', activeSessions: 1 }])).status,
      200,
    );
    const got = await allocator.allocate({ resourceGroup: 'snap-freed', sessions: 3 });
    assert.equal(got.server.ContainerGroupName, 'gs-0');
    await assert.rejects(
      allocator.allocate({ resourceGroup: 'snap-freed', sessions: 1 }),
      { code: 'NoCapacity' },
      'full again: 1 + 3 of 4',
    );
  });

  it('lets ACIGC forget expired requestIds (over more than one transaction) and keep live ones', async () => {
    const ledger = fleet.services.allocationLedger;
    // ACIGC prunes by the wall clock (not the fleet's clock): an hour either side of it is
    // expired or live however long the 131 writes below take.
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const expired = Array.from({ length: 130 }, (_, i) => `old-${i}`);
    const note = (requestId: string, expiresAt: string) =>
      ledger.claim({ requestId, request: { sessions: 1 }, claimedAt: past, expiresAt });
    for (const id of expired) await note(id, past);
    await note('live', new Date(Date.now() + 3_600_000).toISOString());
    // The ledger's rows live apart from the demand the autoscaler reads in the same table.
    assert.deepEqual(
      (await fleet.services.demand.since(new Date(0))).filter((m) => !m.at),
      [],
    );

    const res = await fetch(`${fleet.url}/admin/functions/ACIGC`, { method: 'POST', headers: { 'x-functions-key': fleet.key } });
    assert.equal(res.status, 202);
    for (const id of ['old-0', 'old-99', 'old-100', 'old-129']) assert.equal(await ledger.read(id), undefined, id);
    assert.equal((await ledger.read('live'))?.value.requestId, 'live');
    assert.equal(await ledger.prune(new Date()), 0, 'nothing expired is left');
  });
});
