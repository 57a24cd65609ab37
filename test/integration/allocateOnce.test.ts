// One requestId, one booking: retries that arrive together — on one instance or several — book
// once and get the same server, found on the server's own row; a call that died between claiming
// its requestId and booking is recovered from; and the same requestId asking for something else is refused (409).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Allocator } from '../../runtime/src/domain/allocation/allocator';
import type { AllocationLedger } from '../../runtime/src/domain/allocation/ports';
import { CLAIM_LEASE_MS } from '../../runtime/src/domain/allocation/requestClaims';
import { RunningServersSnapshot } from '../../runtime/src/domain/allocation/snapshot';
import type { FleetError } from '../../runtime/src/domain/core/errors';
import { allocatorOptionsFrom } from '../../runtime/src/options';
import { ManualClock } from '../support/clock';
import { call, expireAllocationSnapshot, startTestFleet, type LocalFleet } from '../support/localFleet';
import { racingStore } from '../support/races';
import { serverRecord } from '../support/records';

let fleet: LocalFleet;
const clock = new ManualClock();
before(async () => {
  fleet = await startTestFleet({ overrides: { clock } });
});
after(() => fleet?.stop());

/** An Allocator as another Functions instance has it: its own copy of the servers, the shared ledger. */
function instance(
  overrides: { ledger?: AllocationLedger; sleep?: (ms: number) => Promise<void>; store?: typeof fleet.services.store } = {},
) {
  const { demand, allocationLedger, settings } = fleet.services;
  const store = overrides.store ?? fleet.services.store;
  return new Allocator({
    store,
    demand,
    ledger: overrides.ledger ?? allocationLedger,
    snapshot: new RunningServersSnapshot(store, 60_000, clock),
    clock,
    options: allocatorOptionsFrom(settings),
    sleep: overrides.sleep,
  });
}

async function seed(resourceGroup: string, count: number, maxSessions = 4): Promise<void> {
  for (let i = 0; i < count; i++) await fleet.services.store.insert(serverRecord(`gs-${i}`, { resourceGroup, maxSessions }));
  expireAllocationSnapshot(fleet, clock); // the host's copy must see them
}

const bookings = async (resourceGroup: string) =>
  (await fleet.services.store.list())
    .filter((r) => r.value.resourceGroup === resourceGroup)
    .flatMap((r) => (r.value.reservations ?? []).map((b) => ({ id: b.id, server: r.value.containerGroupName })));

const countById = (list: Array<{ id: string }>) => {
  const counts = new Map<string, number>();
  for (const b of list) counts.set(b.id, (counts.get(b.id) ?? 0) + 1);
  return counts;
};

describe('one requestId, one booking', () => {
  it('50 requestIds, each sent three times at once through two instances, book exactly once each', async () => {
    await seed('once', 20); // 80 slots for 50 bookings: every request fits
    const second = instance();
    const ids = Array.from({ length: 50 }, (_, i) => `match-${i}`);
    const answers = await Promise.all(
      ids.flatMap((requestId) => [
        call(fleet, 'ACIAllocate', { requestId, resourceGroup: 'once' }).then((a) => ({ requestId, a })),
        call(fleet, 'ACIAllocate', { requestId, resourceGroup: 'once' }).then((a) => ({ requestId, a })),
        second
          .allocate({ requestId, resourceGroup: 'once', sessions: 1 })
          .then((r) => ({ requestId, a: { status: 200, body: { ...r.server, Reservation: r.reservation } } }))
          .catch((e: FleetError) => ({ requestId, a: { status: e.status, body: { error: { code: e.code } } } })),
      ]),
    );
    const counts = countById(await bookings('once'));
    for (const requestId of ids) assert.equal(counts.get(requestId), 1, `${requestId} booked ${counts.get(requestId) ?? 0} times`);
    const byId = new Map<string, Set<string>>();
    for (const { requestId, a } of answers) {
      if (a.status !== 200) {
        // Still waiting for the call that books it after a few looks: told to come back, nothing booked twice.
        assert.deepEqual([a.status, a.body.error.code], [503, 'WriteContention'], JSON.stringify(a.body));
        continue;
      }
      byId.set(requestId, new Set([...(byId.get(requestId) ?? []), a.body.ContainerGroupName]));
    }
    for (const [requestId, servers] of byId) assert.equal(servers.size, 1, `${requestId} answered with ${[...servers]}`);
  });

  it('a retry that arrives while the first call is booking waits for it and gets its server (staged)', async () => {
    await seed('staged', 3);
    let waiting!: () => void;
    const retryWaits = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    let firstDone!: Promise<unknown>;
    let retry!: Promise<unknown>;
    // The first call's booking write is held until the retry (another instance) has found its claim and waits.
    const { store, raced } = racingStore(
      fleet.services.store,
      (record) => record.resourceGroup === 'staged' && (record.reservations ?? []).some((b) => b.id === 'staged-1'),
      async () => {
        retry = instance({
          sleep: async () => {
            waiting();
            await firstDone;
          },
        }).allocate({ requestId: 'staged-1', resourceGroup: 'staged', sessions: 1 });
        await Promise.race([retryWaits, retry.catch(() => undefined)]);
      },
    );
    firstDone = instance({ store }).allocate({ requestId: 'staged-1', resourceGroup: 'staged', sessions: 1 });
    const first = (await firstDone) as Awaited<ReturnType<Allocator['allocate']>>;
    const again = (await retry) as Awaited<ReturnType<Allocator['allocate']>>;
    assert.ok(raced(), 'the race was staged');
    assert.equal(again.repeated, true);
    assert.equal(again.server.ContainerGroupName, first.server.ContainerGroupName);
    assert.deepEqual(
      (await bookings('staged')).map((b) => b.id),
      ['staged-1'],
    );
  });

  it('a retry finds the booking on the server itself, within the claim lease and after it; a reused id stays refused as long as the booking lives', async () => {
    await seed('found', 3);
    // Nothing is noted after the booking: a ledger that refuses every later write changes nothing.
    const ledger: AllocationLedger = Object.create(fleet.services.allocationLedger);
    ledger.replace = async () => {
      throw new Error('no note is written after a booking');
    };
    const booked = await instance({ ledger }).allocate({ requestId: 'found-1', resourceGroup: 'found', sessions: 1 });
    const noWait = async () => {};
    const soon = await instance({ sleep: noWait }).allocate({ requestId: 'found-1', resourceGroup: 'found', sessions: 1 });
    assert.equal(soon.repeated, true);
    assert.equal(soon.server.ContainerGroupName, booked.server.ContainerGroupName);
    clock.advance(CLAIM_LEASE_MS + 1); // the booking (60 s) outlives the claim's lease
    await assert.rejects(instance({ sleep: noWait }).allocate({ requestId: 'found-1', resourceGroup: 'found', sessions: 2 }), {
      code: 'Conflict',
    });
    const later = await instance({ sleep: noWait }).allocate({ requestId: 'found-1', resourceGroup: 'found', sessions: 1 });
    assert.equal(later.repeated, true);
    assert.equal(later.server.ContainerGroupName, booked.server.ContainerGroupName);
    assert.deepEqual(
      (await bookings('found')).map((b) => b.id),
      ['found-1'],
    );
  });

  for (const state of ['Failed', 'Deleting'] as const) {
    it(`a retry finds the booking after its server turned ${state}, within the claim lease and after it: never a second booking`, async () => {
      const group = `gone-${state.toLowerCase()}`;
      await seed(group, 2);
      const booked = await instance().allocate({ requestId: `${group}-1`, resourceGroup: group, sessions: 1 });
      const key = { resourceGroup: group, containerGroupName: booked.server.ContainerGroupName };
      const row = (await fleet.services.store.get(key))!;
      await fleet.services.store.replace({ ...row.value, state }, row.etag);
      const noWait = async () => {};
      for (const wait of [0, CLAIM_LEASE_MS + 1]) {
        clock.advance(wait);
        const again = await instance({ sleep: noWait }).allocate({ requestId: `${group}-1`, resourceGroup: group, sessions: 1 });
        assert.equal(again.repeated, true);
        assert.deepEqual([again.server.ContainerGroupName, again.server.State], [key.containerGroupName, state]);
      }
      assert.deepEqual(
        (await bookings(group)).map((b) => b.id),
        [`${group}-1`],
      );
    });
  }

  it('recovers a requestId whose call died between claiming and booking: the retry books it once', async () => {
    await seed('claimed', 2);
    const now = clock.now();
    await fleet.services.allocationLedger.claim({
      requestId: 'orphan-1',
      request: { sessions: 1, resourceGroup: 'claimed' },
      claimedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + CLAIM_LEASE_MS).toISOString(),
    });
    clock.advance(CLAIM_LEASE_MS + 1);
    expireAllocationSnapshot(fleet, clock);
    const res = await call(fleet, 'ACIAllocate', { requestId: 'orphan-1', resourceGroup: 'claimed' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      (await bookings('claimed')).map((b) => b.id),
      ['orphan-1'],
    );
  });
});

describe('a repeated requestId that asks for something else', () => {
  before(() => seed('reuse', 4));
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['more sessions', { sessions: 2 }, /2 session/],
    ['another location', { location: 'eastus' }, /eastus/],
    ['another resource group', { resourceGroup: 'other' }, /other/],
  ];
  for (const [what, change, named] of cases) {
    it(`is refused with 409 saying why (${what}), and writes nothing`, async () => {
      const requestId = `reuse-${what.replace(/\W/g, '-')}`;
      const first = await call(fleet, 'ACIAllocate', { requestId, resourceGroup: 'reuse', location: 'westeurope' });
      assert.equal(first.status, 200);
      const before = JSON.stringify(await fleet.services.store.list());
      const misses = (await fleet.services.demand.since(new Date(0))).length;
      const again = await call(fleet, 'ACIAllocate', { requestId, resourceGroup: 'reuse', location: 'westeurope', ...change });
      assert.equal(again.status, 409, JSON.stringify(again.body));
      assert.equal(again.body.error.code, 'Conflict');
      assert.match(again.body.error.message, new RegExp(`requestId '${requestId}' was used for`));
      assert.match(again.body.error.message, named);
      assert.equal(JSON.stringify(await fleet.services.store.list()), before);
      assert.equal((await fleet.services.demand.since(new Date(0))).length, misses);
      // The same request again is still its booking.
      const same = await call(fleet, 'ACIAllocate', { requestId, resourceGroup: 'reuse', location: 'westeurope' });
      assert.equal(same.status, 200);
      assert.equal(same.body.Reservation.repeated, true);
      assert.equal(same.body.ContainerGroupName, first.body.ContainerGroupName);
    });
  }
});
