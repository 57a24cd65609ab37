// ACIAutoScaler (the fleet controller on the default fleet) against Azurite and the ACI emulator:
// the lease lets one of two concurrent runs act, new servers come from CONTAINER_GROUP_TEMPLATE,
// misses bring capacity, drains skip booked servers.
// The fleet and the autoscalers share a ManualClock: leases, cooldowns, the demand window and
// bookings hold exactly as long as the test says, however slow the machine is.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvocationContext } from '@azure/functions';
import type { ScalingConfig } from '../../runtime/src/domain/autoscaling/policy';
import type { AutoscalerStateStore } from '../../runtime/src/domain/autoscaling/ports';
import { FleetController } from '../../runtime/src/domain/fleets/controller';
import { FleetService } from '../../runtime/src/domain/fleets/fleetService';
import type { FleetStore } from '../../runtime/src/domain/fleets/ports';
import { DEFAULT_FLEET } from '../../runtime/src/domain/servers/membership';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import { fleetOptionsFrom } from '../../runtime/src/options';
import { MemoryFleetStore } from '../../tools/sim/memory';
import { BlobAutoscalerStateStore } from '../../runtime/src/azure/autoscalerStateStore';
import { BlobServiceClient } from '@azure/storage-blob';
import { ManualClock } from '../support/clock';
import { call, createBody, eventually, expireAllocationSnapshot, startTestFleet, type LocalFleet } from '../support/localFleet';
import { serverRecord } from '../support/records';

const { containerGroupName: _, ...template } = createBody('unused', { maxSessions: 4 }, 'scaled');

let fleet: LocalFleet;
const clock = new ManualClock();
before(async () => {
  fleet = await startTestFleet({
    overrides: { clock },
    settings: {
      AUTOSCALER_ENABLED: 'true',
      AUTOSCALER_POLICY: 'buffer',
      AUTOSCALER_BUFFER_SLOTS: '8',
      AUTOSCALER_BUFFER_PERCENT: '0',
      AUTOSCALER_MINIMUM_INSTANCES: '0',
      CONTAINER_GROUP_TEMPLATE: JSON.stringify({ ...template, namePrefix: 'auto' }),
    },
  });
});
after(() => fleet?.stop());

const context = (id: string) => new InvocationContext({ functionName: 'ACIAutoScaler', invocationId: id, logHandler: () => {} });
const rowsIn = async (resourceGroup: string) =>
  (await fleet.services.store.list()).map((r) => r.value).filter((r) => r.resourceGroup === resourceGroup);

/** One default fleet per resource group, so each test's template (and so its revision) stays its own. */
const fleetStores = new Map<string, FleetStore>();

/**
 * The controller of the default fleet over the fleet's real stores, seeing only one resource
 * group's servers (so the tests do not see each other's), with its own state blob unless told otherwise.
 */
function autoscaler(id: string, options: { config?: Partial<ScalingConfig>; state?: AutoscalerStateStore; resourceGroup?: string } = {}) {
  const services = fleet.services;
  const resourceGroup = options.resourceGroup ?? 'scaled';
  const scoped = Object.create(services.store) as typeof services.store;
  scoped.list = async (filter) => (await services.store.list(filter)).filter((r) => r.value.resourceGroup === resourceGroup);
  const defaults = fleetOptionsFrom(services.settings);
  if (!fleetStores.has(resourceGroup)) fleetStores.set(resourceGroup, new MemoryFleetStore());
  const fleets = new FleetService({
    store: fleetStores.get(resourceGroup)!,
    serverStore: scoped,
    servers: services.servers(context(id)),
    options: {
      ...defaults,
      autoscalerDefaults: { ...defaults.autoscalerDefaults, ...options.config },
      defaultFleet: { template: { ...services.settings.CONTAINER_GROUP_TEMPLATE!, resourceGroup }, autoscaled: true },
    },
    clock,
  });
  const controller = new FleetController({
    fleets,
    serverStore: scoped,
    demand: services.demand,
    state: () => options.state ?? services.fleetState(DEFAULT_FLEET),
    holder: id,
    leaseMs: 60_000,
    writeAttempts: services.settings.FLEET_WRITE_ATTEMPTS,
    deploymentName: 'auto',
    clock,
  });
  return { run: async () => (await controller.run({ only: DEFAULT_FLEET }))[0]! };
}

/** Another state blob in the same container, so a test's cooldowns and quota start clean. */
const freshState = (name: string): AutoscalerStateStore =>
  new BlobAutoscalerStateStore(
    BlobServiceClient.fromConnectionString(fleet.settings.FLEET_STORAGE_CONNECTION_STRING!).getContainerClient(
      fleet.settings.AUTOSCALER_STATE_CONTAINER,
    ),
    `${name}.json`,
  );

describe('ACIAutoScaler', () => {
  it('lets only one of two concurrent runs act', async () => {
    // Both runs read the state record before either writes it: a true race for the lease.
    const state = fleet.services.fleetState(DEFAULT_FLEET);
    let reads = 0;
    let bothRead!: () => void;
    const barrier = new Promise<void>((resolve) => (bothRead = resolve));
    const racing: AutoscalerStateStore = {
      async read() {
        const value = await state.read();
        if (++reads === 2) bothRead();
        await barrier;
        return value;
      },
      write: (s, etag) => state.write(s, etag),
    };
    const runs = await Promise.all([autoscaler('run-a', { state: racing }).run(), autoscaler('run-b', { state: racing }).run()]);
    assert.deepEqual(runs.map((r) => r.acted).sort(), [false, true]);
    const acted = runs.find((r) => r.acted)!;
    assert.equal(acted.created.length, 2, acted.plan?.reason); // 8 free slots of 4 each
    const rows = await rowsIn('scaled');
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.match(r.containerGroupName, /^auto-[a-z0-9]+$/);
      assert.equal(r.maxSessions, 4);
    }
    // The lease is released and the creates remembered for the quota.
    const record = (await state.read())!.value;
    assert.equal(record.leaseHolder, undefined);
    assert.equal(record.creates.length, 2);
    assert.ok(record.lastScaleOutAt);

    // The next run counts the servers still Creating as capacity on its way: nothing more.
    const next = await autoscaler('run-c').run();
    assert.equal(next.acted, true);
    assert.equal(next.created.length, 0, next.plan?.reason);
    await eventually(async () => (await rowsIn('scaled')).every((r) => r.state === 'Running'), 'servers Running');
  });

  it('skips a run while another holds an unexpired lease', async () => {
    const state = fleet.services.fleetState(DEFAULT_FLEET);
    const current = await state.read();
    await state.write(
      { creates: [], ...current?.value, leaseHolder: 'someone-else', leaseUntil: new Date(clock.now().getTime() + 60_000).toISOString() },
      current?.etag,
    );
    try {
      const run = await autoscaler('run-d').run();
      assert.equal(run.acted, false);
    } finally {
      const held = (await state.read())!;
      await state.write({ ...held.value, leaseHolder: undefined, leaseUntil: undefined }, held.etag);
    }
  });

  it('adds capacity for allocations that found none, through the timer endpoint', async () => {
    const rg = 'scaled-demand';
    const miss = await call(fleet, 'ACIAllocate', { resourceGroup: rg, sessions: 3, requestId: 'needs-room' });
    assert.equal(miss.status, 503);
    // 8 slots of buffer + 3 unmet, 4 per server: three servers.
    const run = await autoscaler('run-e', { resourceGroup: rg, state: freshState('demand-test') }).run();
    assert.equal(run.created.length, 3, run.plan?.reason);
    await eventually(async () => {
      const rows = await rowsIn(rg);
      return rows.length === 3 && rows.every((r) => r.state === 'Running');
    }, 'new servers Running');
    expireAllocationSnapshot(fleet, clock); // ACIAllocate's copy predates the new servers
    const retry = await call(fleet, 'ACIAllocate', { resourceGroup: rg, sessions: 3, requestId: 'needs-room' });
    assert.equal(retry.status, 200);

    // The function itself runs from the admin endpoint (timers are off in tests).
    const res = await fetch(`${fleet.url}/admin/functions/ACIAutoScaler`, { method: 'POST', headers: { 'x-functions-key': fleet.key } });
    assert.equal(res.status, 202);
  });

  it('drains the emptiest servers but never one with a live booking', async () => {
    const rg = 'scaled-in';
    const server = (name: string): ServerRecord => serverRecord(name, { resourceGroup: rg, maxSessions: 4 });
    // in-a gets a booking (the others are full for a moment), then the others drop to 2 sessions
    // each: in-a, with 1 booked, is the emptiest, and must still stay.
    await Promise.all(
      ['in-a', 'in-b', 'in-c', 'in-d'].map((n) => fleet.services.store.insert({ ...server(n), activeSessions: n === 'in-a' ? 0 : 4 })),
    );
    expireAllocationSnapshot(fleet, clock); // ACIAllocate's copy must include the servers just written
    assert.equal((await call(fleet, 'ACIAllocate', { resourceGroup: rg })).body.ContainerGroupName, 'in-a');
    await call(
      fleet,
      'ACISetSessions',
      ['in-b', 'in-c', 'in-d'].map((n) => ({ resourceGroup: rg, containerGroupName: n, activeSessions: 2 })),
    );
    const scaler = autoscaler('run-f', {
      resourceGroup: rg,
      state: freshState('drain-test'),
      config: { bufferSlots: 0, minInstances: 0, scaleInCooldownMs: 0 },
    });
    const run = await scaler.run();
    // 9 free slots; draining in-b leaves 7, less its 2 sessions 5, above the 4 (one server) kept spare.
    assert.deepEqual(
      run.drained.map((k) => k.containerGroupName),
      ['in-b'],
      run.plan?.reason,
    );
    const states = Object.fromEntries((await rowsIn(rg)).map((r) => [r.containerGroupName, r.state]));
    assert.deepEqual(states, { 'in-a': 'Running', 'in-b': 'MarkedForDeletion', 'in-c': 'Running', 'in-d': 'Running' });
  });

  it('is the default fleet: defined by the settings, read-only over HTTP, counting the servers made without a fleet', async () => {
    const res = await call(fleet, 'fleets/default');
    assert.equal(res.status, 200);
    const body = res.body;
    assert.deepEqual([body.DefinedBy, body.Revision, body.Replicas], ['settings', 1, null]);
    assert.equal(body.Template.resourceGroup, 'scaled');
    assert.equal(body.Autoscaler.bufferSlots, 8, 'AUTOSCALER_BUFFER_SLOTS');
    assert.equal(body.Autoscaler.policy, 'buffer');
    const unfleeted = (await fleet.services.store.list()).filter((r) => r.value.fleet === undefined).length;
    const counted = body.Status.Servers.reduce(
      (n: number, r: any) => n + r.Creating + r.Running + r.MarkedForDeletion + r.Deleting + r.Failed,
      0,
    );
    assert.ok(counted >= unfleeted && unfleeted > 0, `${counted} counted, ${unfleeted} without a fleet`);
    assert.ok((await call(fleet, 'fleets')).body.some((f: any) => f.Name === 'default'));
    assert.equal((await call(fleet, 'fleets/default', { template: body.Template }, { method: 'PUT' })).status, 409);
  });
});
