// ACIAllocate against Azurite through the local host: atomic bookings under concurrency, retries
// by requestId, reports that land after a booking, and misses recorded as demand. The fleet runs
// on a ManualClock: time passes only where a test says so (a booking's report grace, its TTL and
// the allocation snapshot's age never depend on how fast the machine is).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServerService } from '../../runtime/src/domain/servers/serverService';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import { ManualClock } from '../support/clock';
import { call, expireAllocationSnapshot, startTestFleet, type LocalFleet } from '../support/localFleet';
import { serverRecord } from '../support/records';

let fleet: LocalFleet;
const clock = new ManualClock();
before(async () => {
  fleet = await startTestFleet({ overrides: { clock } });
});
after(() => fleet?.stop());

/**
 * Running servers written straight to the table, so the tests need not wait for provisioning;
 * then the clock passes the allocation snapshot's max age, so ACIAllocate's copy includes them.
 */
async function seedServers(resourceGroup: string, count: number, maxSessions: number, extra: Partial<ServerRecord> = {}): Promise<void> {
  const at = clock.now().toISOString();
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      fleet.services.store.insert(serverRecord(`gs-${i}`, { resourceGroup, maxSessions, createdAt: at, ...extra })),
    ),
  );
  expireAllocationSnapshot(fleet, clock);
}

const rowsOf = async (resourceGroup: string) =>
  (await fleet.services.store.list()).map((r) => r.value).filter((r) => r.resourceGroup === resourceGroup);
const view = async (resourceGroup: string, name: string) =>
  ((await call(fleet, 'ACIList', undefined, { query: { state: 'all' } })).body as any[]).find(
    (s) => s.ResourceGroup === resourceGroup && s.ContainerGroupName === name,
  );

describe('ACIAllocate', () => {
  it('books exactly the 20 slots of 5 servers x 4 for 50 concurrent matchmakers, never over capacity', async () => {
    await seedServers('alloc-race', 5, 4);
    const results = await Promise.all(Array.from({ length: 50 }, () => call(fleet, 'ACIAllocate', { resourceGroup: 'alloc-race' })));
    const ok = results.filter((r) => r.status === 200);
    const full = results.filter((r) => r.status === 503);
    assert.equal(ok.length, 20, `statuses: ${results.map((r) => r.status).join(',')}`);
    assert.equal(full.length, 30);
    for (const r of full) {
      assert.equal(r.body.error.code, 'NoCapacity');
      assert.ok(Number(r.headers.get('retry-after')) > 0);
    }
    const perServer = new Map<string, number>();
    for (const r of ok) perServer.set(r.body.ContainerGroupName, (perServer.get(r.body.ContainerGroupName) ?? 0) + 1);
    assert.deepEqual([...perServer.values()], [4, 4, 4, 4, 4]);
    for (const row of await rowsOf('alloc-race')) {
      assert.equal(row.reservations?.length, 4, `${row.containerGroupName} holds four bookings`);
      assert.equal(new Set(row.reservations?.map((b) => b.id)).size, 4, 'each a different booking');
    }
  });

  it('packs the fullest server that fits, and honours location and sessions', async () => {
    await seedServers('alloc-pack', 3, 10);
    await call(fleet, 'ACISetSessions', [
      { resourceGroup: 'alloc-pack', containerGroupName: 'gs-0', activeSessions: 2 },
      { resourceGroup: 'alloc-pack', containerGroupName: 'gs-1', activeSessions: 8 },
    ]);
    expireAllocationSnapshot(fleet, clock); // the copy must show these sessions to choose the fullest
    const first = await call(fleet, 'ACIAllocate', { resourceGroup: 'alloc-pack', sessions: 2 });
    assert.equal(first.status, 200);
    assert.equal(first.body.ContainerGroupName, 'gs-1');
    assert.equal(first.body.ReservedSessions, 2);
    assert.equal(first.body.Reservation.sessions, 2);
    const next = await call(fleet, 'ACIAllocate', { resourceGroup: 'alloc-pack', sessions: 3 });
    assert.equal(next.body.ContainerGroupName, 'gs-0', 'gs-1 is full now; gs-0 is fuller than gs-2');
    const nowhere = await call(fleet, 'ACIAllocate', { resourceGroup: 'alloc-pack', location: 'eastus' });
    assert.equal(nowhere.status, 503);
  });

  it('returns the same server for a repeated requestId, booking it once', async () => {
    await seedServers('alloc-retry', 3, 4);
    const first = await call(fleet, 'ACIAllocate', { resourceGroup: 'alloc-retry', requestId: 'match-42' });
    assert.equal(first.status, 200);
    assert.equal(first.body.Reservation.repeated, false);
    const again = await call(fleet, 'ACIAllocate', { resourceGroup: 'alloc-retry', requestId: 'match-42' });
    assert.equal(again.status, 200);
    assert.equal(again.body.ContainerGroupName, first.body.ContainerGroupName);
    assert.equal(again.body.Reservation.repeated, true);
    const booked = (await rowsOf('alloc-retry')).flatMap((r) => r.reservations ?? []);
    assert.deepEqual(
      booked.map((b) => b.id),
      ['match-42'],
    );
  });

  it('keeps a booking counted when a report arrives just after it', async () => {
    await seedServers('alloc-report', 1, 4);
    assert.equal((await call(fleet, 'ACIAllocate', { resourceGroup: 'alloc-report', sessions: 3 })).status, 200);
    // The server reports before the players have connected: 0 sessions. "Just after" is inside
    // ALLOCATION_REPORT_GRACE_SECONDS; the clock says exactly how far inside, never the machine.
    clock.advance(fleet.settings.ALLOCATION_REPORT_GRACE_SECONDS * 1000 - 1);
    const report = await call(fleet, 'ACISetSessions', [{ resourceGroup: 'alloc-report', containerGroupName: 'gs-0', activeSessions: 0 }]);
    assert.equal(report.status, 200);
    const server = await view('alloc-report', 'gs-0');
    assert.equal(server.ActiveSessions, 0);
    assert.equal(server.ReservedSessions, 3);
    assert.equal((await call(fleet, 'ACIAllocate', { resourceGroup: 'alloc-report' })).status, 200);
    assert.equal((await call(fleet, 'ACIAllocate', { resourceGroup: 'alloc-report' })).status, 503, 'the 3 booked + 1 fill it');
  });

  it('records each miss as demand for the autoscaler', async () => {
    const since = new Date(clock.now().getTime() - 1000);
    const res = await call(fleet, 'ACIAllocate', { resourceGroup: 'alloc-none', sessions: 2, requestId: 'miss-1' });
    assert.equal(res.status, 503);
    const misses = (await fleet.services.demand.since(since)).filter((m) => m.requestId === 'miss-1');
    assert.equal(misses.length, 1);
    assert.equal(misses[0]!.sessions, 2);
    assert.equal(misses[0]!.resourceGroup, 'alloc-none');
    // The autoscaler forgets misses once they are out of its window.
    assert.ok((await fleet.services.demand.prune(new Date(clock.now().getTime() + 1000))) >= 1);
    assert.deepEqual(await fleet.services.demand.since(since), []);
  });

  it('never lets GC delete a drained server that holds a live booking', async () => {
    await seedServers('alloc-gc', 1, 4);
    assert.equal((await call(fleet, 'ACIAllocate', { resourceGroup: 'alloc-gc' })).status, 200);
    assert.equal(
      (await call(fleet, 'ACISetState', { resourceGroup: 'alloc-gc', containerGroupName: 'gs-0', state: 'MarkedForDeletion' })).status,
      200,
    );
    const gc = new ServerService({ store: fleet.services.store, groups: fleet.services.groups, options: fleet.services.options, clock });
    const { deleted } = await gc.collectGarbage();
    assert.ok(!deleted.some((k) => k.resourceGroup === 'alloc-gc'));
    assert.equal((await rowsOf('alloc-gc'))[0]?.state, 'MarkedForDeletion');
  });

  it('accepts an empty body as one session anywhere, and refuses bad input with a 400 that writes nothing', async () => {
    await seedServers('alloc-input', 1, 4);
    const empty = await call(fleet, 'ACIAllocate', '');
    assert.equal(empty.status, 200);
    const bad: Array<[unknown, string]> = [
      [{ sessions: 0 }, 'sessions'],
      [{ sessions: 1.5 }, 'sessions'],
      [{ sesions: 1 }, 'sesions'],
      [{ location: 'west_europe' }, 'location'],
      [{ requestId: 'has spaces' }, 'requestId'],
    ];
    const before = JSON.stringify(await rowsOf('alloc-input'));
    for (const [body, field] of bad) {
      const res = await call(fleet, 'ACIAllocate', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, 'ValidationFailed');
      assert.match(JSON.stringify(res.body.error), new RegExp(field));
    }
    assert.equal(JSON.stringify(await rowsOf('alloc-input')), before);
    assert.equal((await call(fleet, 'ACIAllocate', undefined, { method: 'GET' })).status, 405);
  });
});
