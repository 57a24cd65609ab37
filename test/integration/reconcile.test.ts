// ACIReconcile: after lost, duplicated, late and reordered events, groups deleted outside and
// rows stuck in Creating, one reconcile makes every row match ARM — and never touches an untagged group.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createContainerInstanceClient } from '../../runtime/src/azure/armClient';
import { Reconciler } from '../../runtime/src/domain/reconcile/reconciler';
import { disagreements } from '../support/consistency';
import { call, createBody, eventually, startTestFleet, testContext, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet();
});
after(() => fleet?.stop());

const key = (name: string) => ({ resourceGroup: 'games', containerGroupName: name });
const row = async (name: string) => (await fleet.services.store.get(key(name)))?.value;
const runReconcile = async () => {
  const res = await fetch(`${fleet.url}/admin/functions/ACIReconcile`, { method: 'POST', headers: { 'x-functions-key': fleet.key } });
  assert.equal(res.status, 202);
};
const arm = () =>
  createContainerInstanceClient({ subscriptionId: fleet.emulator.subscriptionId, endpoint: fleet.emulator.url, pollIntervalMs: 10 });
const plainGroup = (tags?: Record<string, string>) => ({
  location: 'westeurope',
  osType: 'Linux' as const,
  tags,
  containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
  ipAddress: { type: 'Public' as const, ports: [{ port: 80 }] },
});

describe('ACIReconcile', () => {
  it('repairs every kind of drift in one run, and a second run finds nothing to do', async () => {
    // Servers that will be drained / running before the faults start.
    for (const name of ['gone-running', 'gone-drained', 'lost-delete']) await call(fleet, 'ACICreate', createBody(name));
    await eventually(async () => (await fleet.services.store.list({ states: ['Running'] })).length === 3, 'first servers Running');
    await call(fleet, 'ACISetState', { ...key('gone-drained'), state: 'MarkedForDeletion' });

    // Lost, reordered, duplicated and late events for ten creates and one delete.
    fleet.emulator.faults.set({ dropEvents: 3, reorderEvents: 4, duplicateEvents: 3, delayEventsMs: 20 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => call(fleet, 'ACICreate', createBody(`drift-${i}`))));
    const broken = createBody('drift-broken');
    broken.containerGroup.containers[0]!.image = 'example/fail-on-purpose:1';
    await call(fleet, 'ACICreate', broken);
    await fleet.emulator.idle();
    fleet.emulator.faults.set({ dropEvents: 1 });
    assert.equal((await call(fleet, 'ACIDelete', key('lost-delete'))).status, 200);
    await fleet.emulator.idle();
    fleet.emulator.faults.clear();
    await fleet.emulator.idle();
    const stats = fleet.emulator.faults.stats();
    assert.equal(stats.droppedEvents, 4);
    assert.equal(stats.reorderedEvents, 4);
    assert.equal(stats.duplicatedEvents, 3);

    // Changes made outside the fleet.
    fleet.emulator.removeOutOfBand('games', 'gone-running');
    fleet.emulator.removeOutOfBand('games', 'gone-drained');
    await arm().containerGroups.beginCreateOrUpdateAndWait(
      'games',
      'orphan-tagged',
      plainGroup({ 'aci-fleet': fleet.settings.FLEET_NAME }),
    );
    await arm().containerGroups.beginCreateOrUpdateAndWait('games', 'not-ours', plainGroup({ owner: 'someone-else' }));
    await arm().containerGroups.beginCreateOrUpdateAndWait('games', 'other-fleet', plainGroup({ 'aci-fleet': 'another-fleet' }));
    // A row whose create never reached ARM, twenty minutes ago.
    const twentyMinutesAgo = new Date(Date.now() - 20 * 60_000).toISOString();
    await fleet.services.store.insert({
      ...key('stuck-creating'),
      state: 'Creating',
      activeSessions: 0,
      maxSessions: 10,
      location: 'westeurope',
      image: 'img',
      cpu: 1,
      ramGb: 1,
      createdAt: twentyMinutesAgo,
      stateChangedAt: twentyMinutesAgo,
      specHash: 'h',
    });
    await fleet.emulator.idle();

    const drift = await disagreements(fleet);
    assert.ok(drift.length >= 7, `the faults caused drift: ${drift.join('; ')}`);

    await runReconcile();
    assert.deepEqual(await disagreements(fleet), []);

    assert.equal((await row('gone-running'))?.state, 'Failed');
    assert.match((await row('gone-running'))?.failureReason ?? '', /no longer exists/);
    assert.equal(await row('gone-drained'), undefined);
    assert.equal(await row('lost-delete'), undefined);
    assert.equal((await row('drift-broken'))?.state, 'Failed');
    assert.equal((await row('stuck-creating'))?.state, 'Failed');
    assert.match((await row('stuck-creating'))?.failureReason ?? '', /still Creating after 15 min/);
    const adopted = await row('orphan-tagged');
    assert.equal(adopted?.state, 'Running');
    assert.equal(adopted?.image, 'nginx');
    for (let i = 0; i < 10; i++) assert.equal((await row(`drift-${i}`))?.state, 'Running', `drift-${i}`);

    // Never an untagged group, nor another fleet's: no row, and still there.
    assert.equal(await row('not-ours'), undefined);
    assert.equal(await row('other-fleet'), undefined);
    assert.ok(fleet.emulator.groups().some((g) => g.name === 'not-ours'));
    assert.ok(fleet.emulator.groups().some((g) => g.name === 'other-fleet'));

    // Idempotent: nothing left to repair.
    const again = await fleet.services.reconciler(testContext()).reconcile();
    assert.deepEqual(again, { repaired: [], adopted: [], failed: [] });
  });

  it('gives a server whose row was lost the MaxSessions it was created with, from its tag', async () => {
    const created = await call(fleet, 'ACICreate', { ...createBody('lost-row'), maxSessions: 3 });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    await fleet.emulator.idle();
    const lost = await fleet.services.store.get(key('lost-row'));
    await fleet.services.store.remove(key('lost-row'), lost!.etag);
    await runReconcile();
    const adopted = await row('lost-row');
    assert.equal(adopted?.specHash, 'adopted');
    assert.equal(adopted?.maxSessions, 3, 'not FLEET_DEFAULT_MAX_SESSIONS');
  });

  it('is safe to run concurrently with itself and with creates: one row per group, no lost writes', async () => {
    fleet.emulator.faults.set({ dropEvents: 1000 });
    try {
      const creates = Array.from({ length: 8 }, (_, i) => call(fleet, 'ACICreate', createBody(`conc-${i}`)));
      const reconciles = Array.from({ length: 4 }, () => fleet.services.reconciler(testContext()).reconcile());
      const results = await Promise.all([...creates, ...reconciles]);
      for (const r of results.slice(0, 8)) assert.equal((r as { status: number }).status, 202);
      await fleet.emulator.idle();
      await Promise.all(Array.from({ length: 4 }, () => fleet.services.reconciler(testContext()).reconcile()));
    } finally {
      fleet.emulator.faults.clear();
    }
    assert.deepEqual(await disagreements(fleet), []);
    for (let i = 0; i < 8; i++) {
      const r = await row(`conc-${i}`);
      assert.equal(r?.state, 'Running');
      assert.notEqual(r?.specHash, 'adopted', 'the create wrote the row, reconcile did not replace it');
    }
  });

  it('loses safely to a session report that lands between its read and its write', async () => {
    await call(fleet, 'ACICreate', createBody('race-report'));
    await eventually(async () => (await row('race-report'))?.state === 'Running', 'Running');
    const stored = (await fleet.services.store.get(key('race-report')))!;
    // Make the row need a repair (a stale address), then let a report in right before the write.
    await fleet.services.store.replace({ ...stored.value, publicIp: '198.51.100.1' }, stored.etag);
    const store = Object.create(fleet.services.store) as typeof fleet.services.store;
    let raced = false;
    store.replace = async (record, etag) => {
      if (!raced && record.containerGroupName === 'race-report') {
        raced = true;
        await call(fleet, 'ACISetSessions', [{ ...key('race-report'), activeSessions: 7 }]);
      }
      return fleet.services.store.replace(record, etag);
    };
    const { groups, options, reconcilePolicy } = fleet.services;
    await new Reconciler({ store, groups, options, policy: reconcilePolicy }).reconcile();
    assert.ok(raced, 'the race was staged');
    const r = await row('race-report');
    assert.equal(r?.activeSessions, 7, 'the report survived');
    assert.notEqual(r?.publicIp, '198.51.100.1', 'the repair was applied on top of it');
  });
});
