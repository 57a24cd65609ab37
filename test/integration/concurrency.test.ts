// Concurrency: many writers on the same rows at once (per-server reports, batch reports,
// allocations, drains, GC, heartbeat checks). Every write is ETag-conditional, so no update is
// lost and GC never deletes a server that got a session report or a booking before its
// conditional move to Deleting. The fleet runs on a ManualClock: time passes only where a test
// says so, so no invariant here depends on how fast the machine gets through it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Reconciler } from '../../runtime/src/domain/reconcile/reconciler';
import { ServerService } from '../../runtime/src/domain/servers/serverService';
import { ManualClock } from '../support/clock';
import { call, createBody, eventually, expireAllocationSnapshot, startTestFleet, type LocalFleet } from '../support/localFleet';
import { racingStore } from '../support/races';

let fleet: LocalFleet;
const clock = new ManualClock();
before(async () => {
  fleet = await startTestFleet({ overrides: { clock } });
});
after(() => fleet?.stop());

const key = (name: string) => ({ resourceGroup: 'games', containerGroupName: name });
const row = async (name: string) => (await fleet.services.store.get(key(name)))?.value;
const tokenOf = (name: string) => fleet.emulator.containerEnvironment('games', name)!.server!.ACI_REPORT_TOKEN!;
const report = async (name: string, activeSessions: number) => {
  const res = await fetch(`${fleet.url}/api/ACIReport`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokenOf(name)}` },
    body: JSON.stringify({ activeSessions }),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const runGc = () => fetch(`${fleet.url}/admin/functions/ACIGC`, { method: 'POST', headers: { 'x-functions-key': fleet.key } });

async function runningServers(prefix: string, count: number, maxSessions?: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await Promise.all(names.map((n) => call(fleet, 'ACICreate', createBody(n, maxSessions ? { maxSessions } : {}))));
  await eventually(async () => (await Promise.all(names.map(row))).every((r) => r?.state === 'Running'), `${prefix} Running`);
  return names;
}

describe('concurrent writers', () => {
  it('50 session reports, a batch report, 10 drains and GC runs at once: no lost update, no wrongful delete', async () => {
    // Room for every count below (up to 109): a count above MaxSessions would be refused.
    const names = await runningServers('conc', 10, 200);
    // Every report carries at least one session, so once one is recorded GC may never take the server.
    const reports = names.flatMap((name, i) => Array.from({ length: 5 }, (_, j) => ({ name, sessions: i * 10 + j + 1 })));
    const [reportResults, batch, drains] = await Promise.all([
      Promise.all(reports.map(async (r) => ({ ...r, res: await report(r.name, r.sessions) }))),
      call(
        fleet,
        'ACISetSessions',
        names.map((n, i) => ({ ...key(n), activeSessions: 100 + i })),
      ),
      Promise.all(names.map((n) => call(fleet, 'ACISetState', { ...key(n), state: 'MarkedForDeletion' }))),
      Promise.all([runGc(), runGc(), runGc()]),
    ]);
    await runGc();

    for (const d of drains) assert.equal(d.status, 200, JSON.stringify(d.body));
    // The batch is one all-or-nothing transaction over all ten rows, so under this much contention
    // it may run out of attempts: then it answers 503 WriteContention and has written nothing.
    // (Each single-row writer here has at most seven rivals, fewer than its eight attempts.)
    const batchWritten = batch.status === 200;
    if (!batchWritten) assert.deepEqual([batch.status, batch.body.error.code], [503, 'WriteContention']);
    const batchIgnored = new Set(
      batchWritten ? (batch.body.ignored as Array<{ containerGroupName: string }>).map((k) => k.containerGroupName) : names,
    );

    for (const [i, name] of names.entries()) {
      const mine = reportResults.filter((r) => r.name === name);
      for (const r of mine)
        assert.ok(r.res.status === 200 || r.res.status === 404, `${name}: ${r.res.status} ${JSON.stringify(r.res.body)}`);
      const accepted = mine.filter((r) => r.res.status === 200 && r.res.body.recorded).map((r) => r.sessions);
      if (!batchIgnored.has(name)) accepted.push(100 + i);
      const r = await row(name);
      if (accepted.length === 0) {
        // GC took it before any report: fine, as long as it really is on its way out.
        assert.ok(
          r === undefined || r.state === 'Deleting' || (r.state === 'MarkedForDeletion' && r.activeSessions === 0),
          `${name}: ${r?.state}`,
        );
        continue;
      }
      assert.ok(r, `${name} was deleted although ${accepted.length} report(s) reached it first`);
      assert.equal(r.state, 'MarkedForDeletion', `${name}: the drain was not lost`);
      assert.ok(accepted.includes(r.activeSessions), `${name}: ${r.activeSessions} is one of the recorded reports ${accepted}`);
      assert.ok(r.lastReportAt, `${name}: the report's timestamp was not lost`);
      assert.ok(
        fleet.emulator.groups().some((g) => g.name === name),
        `${name}: its group still exists`,
      );
    }
  });

  it('50 allocations and 50 session reports across 10 servers at once: every booking survives, none beyond capacity', async () => {
    const MAX = 4;
    const names = await runningServers('alloc-conc', 10, MAX);
    // ACIAllocate's copy of the Running servers must include these ten: let it age out. Then the
    // clock stands still for the whole phase. A booking counts in the load until a report made at
    // least ALLOCATION_REPORT_GRACE_SECONDS after it (which could include its session); with the
    // wall clock, a slow run let later reports "cover" earlier bookings, and more bookings fit.
    expireAllocationSnapshot(fleet, clock);
    const requests = Array.from({ length: 50 }, (_, i) => `conc-req-${i}`);
    const [allocations, reports] = await Promise.all([
      Promise.all(requests.map((requestId) => call(fleet, 'ACIAllocate', { requestId, resourceGroup: 'games' }))),
      Promise.all(names.flatMap((name) => Array.from({ length: 5 }, async () => ({ name, res: await report(name, 1) })))),
    ]);
    // A report may lose every one of its attempts to this many rivals: then it says so (503) and wrote nothing.
    for (const { res } of reports) {
      if (res.status !== 200) assert.deepEqual([res.status, res.body.error.code], [503, 'WriteContention'], JSON.stringify(res.body));
    }
    const booked = allocations.filter((a) => a.status === 200);
    for (const a of allocations) {
      if (a.status !== 200) assert.deepEqual([a.status, a.body.error.code], [503, 'NoCapacity'], JSON.stringify(a.body));
    }
    // Ten servers of four slots: at most forty bookings, and the rest were told to come back.
    assert.ok(booked.length <= names.length * MAX, `${booked.length} bookings`);
    assert.ok(booked.length >= names.length * (MAX - 1), `only ${booked.length} bookings for ${names.length * MAX} slots`);
    for (const name of names) {
      const r = (await row(name))!;
      const ids = (r.reservations ?? []).map((res) => res.id).sort();
      const mine = booked
        .filter((a) => a.body.ContainerGroupName === name)
        .map((a) => a.body.Reservation.id)
        .sort();
      assert.deepEqual(ids, mine, `${name}: a booking was lost (or invented) by a concurrent report`);
      assert.ok(ids.length <= MAX, `${name}: booked ${ids.length} sessions on ${MAX} slots`);
      // What the bound above relies on: no report here was made late enough to include a booking.
      for (const res of r.reservations ?? []) {
        assert.ok(
          !r.lastReportAt || Date.parse(r.lastReportAt) < Date.parse(res.reportAfter),
          `${name}: a report covers booking ${res.id}`,
        );
      }
      const recorded = reports.some((x) => x.name === name && x.res.status === 200 && x.res.body.recorded);
      assert.equal(r.activeSessions, recorded ? 1 : 0, `${name}: a recorded report was lost`);
    }
  });

  it('GC never deletes a server that got a booking before its conditional move to Deleting', async () => {
    const [name] = await runningServers('race-alloc', 1);
    assert.equal((await call(fleet, 'ACISetState', { ...key(name!), state: 'MarkedForDeletion' })).status, 200);
    expireAllocationSnapshot(fleet, clock); // the rival's ACIAllocate must see the server, created since the last read
    const { store, raced } = racingStore(
      fleet.services.store,
      (record) => record.containerGroupName === name && record.state === 'Deleting',
      async () => {
        // The operator un-drains it and a matchmaker books it, between GC's read and its write.
        assert.equal((await call(fleet, 'ACISetState', { ...key(name!), state: 'Running' })).status, 200);
        assert.equal((await call(fleet, 'ACIAllocate', { resourceGroup: 'games', requestId: 'race-alloc-1' })).status, 200);
      },
    );
    const result = await new ServerService({
      store,
      groups: fleet.services.groups,
      options: fleet.services.options,
      clock,
    }).collectGarbage();
    assert.ok(raced(), 'the race was staged');
    assert.deepEqual(result.deleted, []);
    const r = await row(name!);
    assert.equal(r?.state, 'Running');
    assert.deepEqual(
      r?.reservations?.map((res) => res.id),
      ['race-alloc-1'],
    );

    // Drained again while the booking is live: GC still leaves it alone.
    assert.equal((await call(fleet, 'ACISetState', { ...key(name!), state: 'MarkedForDeletion' })).status, 200);
    await runGc();
    assert.equal((await row(name!))?.state, 'MarkedForDeletion');
    assert.ok(fleet.emulator.groups().some((g) => g.name === name));
  });

  it('GC loses to a per-server report that lands between its read and its conditional write', async () => {
    const [name] = await runningServers('race-gc', 1);
    assert.equal((await call(fleet, 'ACISetState', { ...key(name!), state: 'MarkedForDeletion' })).status, 200);
    const { store, raced } = racingStore(
      fleet.services.store,
      (record) => record.containerGroupName === name && record.state === 'Deleting',
      async () => {
        assert.equal((await report(name!, 3)).status, 200);
      },
    );
    const result = await new ServerService({
      store,
      groups: fleet.services.groups,
      options: fleet.services.options,
      clock,
    }).collectGarbage();
    assert.ok(raced(), 'the race was staged');
    assert.deepEqual(result.deleted, []);
    const r = await row(name!);
    assert.equal(r?.state, 'MarkedForDeletion');
    assert.equal(r?.activeSessions, 3);
  });

  it('the heartbeat check loses to a report that lands before its conditional write', async () => {
    const [name] = await runningServers('race-hb', 1);
    const stored = (await fleet.services.store.get(key(name!)))!;
    await fleet.services.store.replace(
      { ...stored.value, lastReportAt: new Date(clock.now().getTime() - 10 * 60_000).toISOString() },
      stored.etag,
    );
    const { store, raced } = racingStore(
      fleet.services.store,
      (record) => record.containerGroupName === name && record.state === 'Failed',
      async () => {
        assert.equal((await report(name!, 2)).status, 200);
      },
    );
    const { groups, options, reconcilePolicy } = fleet.services;
    const reconciler = new Reconciler({
      store,
      groups,
      options,
      policy: { ...reconcilePolicy, heartbeatTimeoutMs: 5 * 60_000 },
      clock,
    });
    assert.deepEqual(await reconciler.expireSilentServers(), []);
    assert.ok(raced(), 'the race was staged');
    assert.equal((await row(name!))?.state, 'Running');
  });
});
