// Allocation at the storage limit: a server's bookings never outgrow what one Table Storage
// property holds, a requestId whose server was drained between retries does not book twice, the
// requestId ledger is pruned however steady the traffic, and ACISetSessions takes a bounded batch.
import assert from 'node:assert/strict';
import { TableClient } from '@azure/data-tables';
import { CLAIM_LEASE_MS } from '../../runtime/src/domain/allocation/requestClaims';
import { TableAllocationLedger } from '../../runtime/src/azure/allocationLedger';
import { AlreadyExistsError } from '../../runtime/src/domain/core/ports';
import { after, before, describe, it } from 'node:test';
import { MAX_RESERVATIONS_PER_SERVER } from '../../runtime/src/domain/allocation/booking';
import { ManualClock } from '../support/clock';
import { call, expireAllocationSnapshot, startTestFleet, type LocalFleet } from '../support/localFleet';
import { serverRecord } from '../support/records';

let fleet: LocalFleet;
const clock = new ManualClock();
before(async () => {
  fleet = await startTestFleet({ overrides: { clock }, settings: { SESSIONS_BATCH_MAX: '50' } });
});
after(() => fleet?.stop());

async function seed(resourceGroup: string, count: number, maxSessions = 4): Promise<void> {
  for (let i = 0; i < count; i++) await fleet.services.store.insert(serverRecord(`gs-${i}`, { resourceGroup, maxSessions }));
  expireAllocationSnapshot(fleet, clock);
}

const rowsOf = async (resourceGroup: string) =>
  (await fleet.services.store.list()).filter((r) => r.value.resourceGroup === resourceGroup).map((r) => r.value);

/** The longest requestId the schema allows, so each booking is as large as it gets. */
const longId = (prefix: string, i: number) => `${prefix}-${String(i).padStart(6, '0')}-`.padEnd(128, 'x');

describe("a server's bookings at Table Storage's 64 KiB property limit", () => {
  it('a big server takes bookings up to the cap, then the next goes to another server: never a 500', async () => {
    await seed('cap', 2, 1_000);
    const total = MAX_RESERVATIONS_PER_SERVER + 40; // past what one row could hold without the cap
    for (let i = 0; i < total; i++) {
      const res = await call(fleet, 'ACIAllocate', { requestId: longId('cap', i), resourceGroup: 'cap' });
      assert.equal(res.status, 200, `booking ${i}: ${JSON.stringify(res.body)}`);
    }
    const rows = await rowsOf('cap');
    const counts = rows.map((r) => r.reservations?.length ?? 0).sort((a, b) => b - a);
    assert.deepEqual(counts, [MAX_RESERVATIONS_PER_SERVER, 40]);
  });

  it('answers an honest 503 (not a 500) when every server holds as many bookings as a row can, and books again once they expire', async () => {
    await seed('cap-one', 1, 1_000);
    for (let i = 0; i < MAX_RESERVATIONS_PER_SERVER; i++) {
      assert.equal((await call(fleet, 'ACIAllocate', { requestId: longId('one', i), resourceGroup: 'cap-one' })).status, 200);
    }
    const full = await call(fleet, 'ACIAllocate', { resourceGroup: 'cap-one' });
    assert.equal(full.status, 503, JSON.stringify(full.body));
    assert.equal(full.body.error.code, 'NoCapacity');
    assert.match(full.body.error.message, /bookings/);
    clock.advance(fleet.settings.ALLOCATION_RESERVATION_TTL_SECONDS * 1000 + 1);
    expireAllocationSnapshot(fleet, clock);
    assert.equal((await call(fleet, 'ACIAllocate', { resourceGroup: 'cap-one' })).status, 200);
  });
});

describe('a requestId whose server is drained between retries', () => {
  it('the retry gets the original booking on the drained server, and books nothing else', async () => {
    await seed('drained', 2, 4);
    const first = await call(fleet, 'ACIAllocate', { requestId: 'drained-1', resourceGroup: 'drained' });
    assert.equal(first.status, 200);
    const name = first.body.ContainerGroupName as string;
    const drain = await call(fleet, 'ACISetState', { resourceGroup: 'drained', containerGroupName: name, state: 'MarkedForDeletion' });
    assert.equal(drain.status, 200);
    expireAllocationSnapshot(fleet, clock);
    const retry = await call(fleet, 'ACIAllocate', { requestId: 'drained-1', resourceGroup: 'drained' });
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.equal(retry.body.ContainerGroupName, name);
    assert.equal(retry.body.State, 'MarkedForDeletion');
    assert.equal(retry.body.Reservation.repeated, true);
    const booked = (await rowsOf('drained')).flatMap((r) => (r.reservations ?? []).map((b) => `${r.containerGroupName}:${b.id}`));
    assert.deepEqual(booked, [`${name}:drained-1`]);
  });

  it('the retry books afresh once the first server is gone (no seat holds there any more) and its claim lease is over', async () => {
    await seed('gone', 2, 4);
    const first = await call(fleet, 'ACIAllocate', { requestId: 'gone-1', resourceGroup: 'gone' });
    const name = first.body.ContainerGroupName as string;
    const row = await fleet.services.store.get({ resourceGroup: 'gone', containerGroupName: name });
    await fleet.services.store.remove(row!.value, row!.etag);
    expireAllocationSnapshot(fleet, clock);
    // Within the lease a booking that shows nowhere may still be on its way: told to come back, nothing booked.
    const early = await call(fleet, 'ACIAllocate', { requestId: 'gone-1', resourceGroup: 'gone' });
    assert.deepEqual([early.status, early.body.error?.code], [503, 'WriteContention'], JSON.stringify(early.body));
    assert.equal((await rowsOf('gone')).flatMap((r) => r.reservations ?? []).length, 0);
    clock.advance(CLAIM_LEASE_MS + 1);
    expireAllocationSnapshot(fleet, clock);
    const retry = await call(fleet, 'ACIAllocate', { requestId: 'gone-1', resourceGroup: 'gone' });
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.notEqual(retry.body.ContainerGroupName, name);
    assert.equal((await rowsOf('gone')).flatMap((r) => r.reservations ?? []).length, 1);
  });
});

describe('the requestId ledger under steady traffic', () => {
  it('one prune forgets every expired requestId, however many, and keeps the live ones', async () => {
    const ledger = fleet.services.allocationLedger;
    const now = clock.now();
    const expired = new Date(now.getTime() - 1000).toISOString();
    const live = new Date(now.getTime() + 60_000).toISOString();
    const entry = (i: number, expiresAt: string) => ({
      requestId: `steady-${expiresAt === live ? 'live' : 'old'}-${i}`,
      request: { sessions: 1 },
      claimedAt: now.toISOString(),
      expiresAt,
    });
    let next = 0;
    const entries = [
      ...Array.from({ length: 1_250 }, (_, i) => entry(i, expired)),
      ...Array.from({ length: 30 }, (_, i) => entry(i, live)),
    ];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < entries.length) await ledger.claim(entries[next++]!);
      }),
    );
    assert.ok((await ledger.prune(now)) >= 1_250);
    assert.equal(await ledger.read('steady-old-0'), undefined);
    assert.equal(await ledger.read('steady-old-1249'), undefined);
    assert.ok(await ledger.read('steady-live-29'));
  });
});

describe('a prune racing a retry that takes over an expired requestId', () => {
  it('keeps the fresh claim the retry wrote after the prune listed the row, so a second retry cannot claim the requestId again', async () => {
    const now = clock.now();
    const entry = (expiresAt: Date) => ({
      requestId: 'raced-1',
      request: { sessions: 1 },
      claimedAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
    });
    const table = (name: string) =>
      TableClient.fromConnectionString(fleet.azurite.connectionString, name, { allowInsecureConnection: true });
    const partition = `${fleet.settings.FLEET_NAME}.requests`;
    const writer = new TableAllocationLedger(table(fleet.settings.FLEET_DEMAND_TABLE_NAME), partition);
    const stale = await writer.claim(entry(new Date(now.getTime() - 1000)));
    // The pruning ledger's delete of the row (alone or in a transaction) waits until the retry has
    // taken it over: the order the race needs.
    const pruning = table(fleet.settings.FLEET_DEMAND_TABLE_NAME);
    let tookOver = false;
    const takeOverFirst = async (rowKeys: Array<string | undefined>) => {
      if (tookOver || !rowKeys.includes('raced-1')) return;
      tookOver = true;
      await writer.replace(entry(new Date(now.getTime() + 60_000)), stale.etag);
    };
    const submit = pruning.submitTransaction.bind(pruning);
    pruning.submitTransaction = async (actions) => {
      await takeOverFirst(actions.map((a) => a[1].rowKey));
      return submit(actions);
    };
    const deleteOne = pruning.deleteEntity.bind(pruning);
    pruning.deleteEntity = async (pk, rk, options) => {
      await takeOverFirst([rk]);
      return deleteOne(pk, rk, options);
    };
    await new TableAllocationLedger(pruning, partition).prune(now);
    assert.ok(tookOver, 'the prune found the expired row');
    const kept = await writer.read('raced-1');
    assert.ok(kept, 'the fresh claim was deleted by the prune');
    assert.equal(kept.value.expiresAt, new Date(now.getTime() + 60_000).toISOString());
    await assert.rejects(writer.claim(entry(new Date(now.getTime() + 60_000))), AlreadyExistsError);
  });
});

describe("the ledger's writes of one moment, in one transaction", () => {
  it('answers each claim and note on its own: a requestId claimed already or a stale note fails alone, the others are written', async () => {
    const ledger = fleet.services.allocationLedger;
    const now = clock.now();
    const entry = (requestId: string) => ({
      requestId,
      request: { sessions: 1 },
      claimedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 60_000).toISOString(),
    });
    const taken = await ledger.claim(entry('batch-taken'));
    const claims = await Promise.allSettled(['batch-0', 'batch-1', 'batch-taken', 'batch-2'].map((id) => ledger.claim(entry(id))));
    assert.deepEqual(
      claims.map((c) => c.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((claims[2] as PromiseRejectedResult).reason.name, 'AlreadyExistsError');
    // Takeovers: the claim made afresh, under the ETag read.
    const claimedAt = new Date(now.getTime() + 1000).toISOString();
    const notes = await Promise.allSettled([
      ledger.replace({ ...entry('batch-0'), claimedAt }, (claims[0] as PromiseFulfilledResult<typeof taken>).value.etag),
      ledger.replace({ ...entry('batch-taken'), claimedAt }, 'W/"datetime\'2000-01-01T00%3A00%3A00.0000000Z\'"'),
      ledger.replace({ ...entry('batch-1'), claimedAt }, (claims[1] as PromiseFulfilledResult<typeof taken>).value.etag),
    ]);
    assert.deepEqual(
      notes.map((n) => n.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((notes[1] as PromiseRejectedResult).reason.name, 'StaleWriteError');
    assert.equal((await ledger.read('batch-1'))?.value.claimedAt, claimedAt);
    assert.equal((await ledger.read('batch-taken'))?.etag, taken.etag, 'the stale note wrote nothing');
    assert.equal((await ledger.read('batch-1'))?.etag, (notes[2] as PromiseFulfilledResult<typeof taken>).value.etag);
  });
});

describe('ACISetSessions fan-out', () => {
  it('refuses a batch naming more servers than SESSIONS_BATCH_MAX with a 400 naming the limit, writing nothing', async () => {
    await seed('fanout', 51, 4);
    const reports = Array.from({ length: 51 }, (_, i) => ({ resourceGroup: 'fanout', containerGroupName: `gs-${i}`, activeSessions: 1 }));
    const res = await call(fleet, 'ACISetSessions', reports);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(res.body.error.message, /at most 50 .*SESSIONS_BATCH_MAX/);
    assert.ok((await rowsOf('fanout')).every((r) => r.activeSessions === 0));
    const ok = await call(fleet, 'ACISetSessions', reports.slice(0, 50));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.updated, 50);
  });

  it('reads a batch of many servers of one resource group in one range read: only the named rows change, an unknown one is a 404', async () => {
    await seed('range', 40, 4);
    const named = Array.from({ length: 20 }, (_, i) => ({ resourceGroup: 'range', containerGroupName: `gs-${i * 2}`, activeSessions: 3 }));
    const res = await call(fleet, 'ACISetSessions', named);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual([res.body.updated, res.body.transactions], [20, 1]);
    const rows = await rowsOf('range');
    for (const r of rows) assert.equal(r.activeSessions, Number(r.containerGroupName.slice(3)) % 2 === 0 ? 3 : 0, r.containerGroupName);
    const unknown = await call(fleet, 'ACISetSessions', [
      ...named.slice(0, 15),
      { resourceGroup: 'range', containerGroupName: 'gs-15x', activeSessions: 1 },
    ]);
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body.error.details, [{ resourceGroup: 'range', containerGroupName: 'gs-15x' }]);
  });
});
