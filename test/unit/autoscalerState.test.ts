// The rate policy's estimate lives beside the lease, in each fleet's autoscaler state: a run on
// another instance, after a restart, or with a clock that runs behind goes on from what the last
// run learnt. The fleet controller over in-memory stores, on given clocks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from '../../runtime/src/domain/core/ports';
import { FleetController } from '../../runtime/src/domain/fleets/controller';
import { FleetService } from '../../runtime/src/domain/fleets/fleetService';
import { DEFAULT_FLEET } from '../../runtime/src/domain/servers/membership';
import { ServerService } from '../../runtime/src/domain/servers/serverService';
import { fleetOptionsFrom, readSettings } from '../../runtime/src/options';
import { MemoryDemandStore, MemoryFleetStore, MemoryServerStore, MemoryStateStore, SimulatedContainerGroups } from '../../tools/sim/memory';
import { ManualClock } from '../support/clock';
import { serverRecord } from '../support/records';

const T0 = Date.parse('2026-11-22T12:00:00Z');
const template = {
  resourceGroup: 'games',
  maxSessions: 12,
  containerGroup: {
    location: 'westeurope',
    osType: 'Linux',
    containers: [{ name: 'server', image: 'example/gs:1', resources: { requests: { cpu: 1, memoryInGB: 1.5 } } }],
  },
};
const settings = readSettings({
  AUTOSCALER_ENABLED: 'true',
  AUTOSCALER_MAXIMUM_INSTANCES: '20',
  CONTAINER_GROUP_TEMPLATE: JSON.stringify(template),
});

/** One fleet's stores, and a controller per instance (each its own clock) over them. */
function deployment() {
  const store = new MemoryServerStore();
  const fleetStore = new MemoryFleetStore();
  const demand = new MemoryDemandStore();
  const states = new Map<string, MemoryStateStore>();
  const state = (fleet: string) => states.get(fleet) ?? states.set(fleet, new MemoryStateStore()).get(fleet)!;
  const instance = (holder: string, clock: Clock) => {
    const servers = new ServerService({
      store,
      groups: new SimulatedContainerGroups(clock, 30_000),
      clock,
      options: { fleetName: 'test', defaultMaxSessions: 12, allowedResourceGroups: [], writeAttempts: 5 },
    });
    const fleets = new FleetService({ store: fleetStore, serverStore: store, servers, options: fleetOptionsFrom(settings), clock });
    return new FleetController({
      fleets,
      serverStore: store,
      demand,
      state,
      holder,
      leaseMs: 60_000,
      writeAttempts: 5,
      deploymentName: 'gs',
      clock,
    });
  };
  /** `n` bookings made `secondsAgo` before `now` on a Running server of its own. */
  const booked = async (name: string, n: number, now: Date, secondsAgo: number) => {
    const made = new Date(now.getTime() - secondsAgo * 1000);
    await store.insert({
      ...serverRecord(name, { resourceGroup: 'games', maxSessions: 12 }),
      state: 'Running',
      activeSessions: 12 - n,
      reservations: Array.from({ length: n }, (_, i) => ({
        id: `${name}-${i}`,
        sessions: 1,
        at: made.toISOString(),
        reportAfter: new Date(made.getTime() + 5000).toISOString(),
        expiresAt: new Date(made.getTime() + 60_000).toISOString(),
      })),
    });
  };
  return { instance, booked, state: state(DEFAULT_FLEET), store };
}

describe('the arrival estimate beside the lease', () => {
  it('is written by each run and taken up by the next, on another instance after a restart', async () => {
    const d = deployment();
    const clockA = new ManualClock(T0);
    await d.booked('a', 6, clockA.now(), 10);
    await d.instance('instance-a', clockA).run({ only: DEFAULT_FLEET });
    const first = (await d.state.read())!.value;
    assert.equal(first.arrivals?.at, clockA.now().toISOString());
    assert.equal(first.arrivals?.perSecond, 0.1, 'six bookings over the 60 s a first run looks back');
    assert.equal(first.leaseHolder, undefined);

    // Instance A is gone; B starts fresh 30 s later and sees no new bookings: it decays A's estimate, not zero.
    const clockB = new ManualClock(T0 + 30_000);
    await d.instance('instance-b', clockB).run({ only: DEFAULT_FLEET });
    const second = (await d.state.read())!.value;
    assert.equal(second.arrivals?.at, clockB.now().toISOString());
    assert.ok(second.arrivals!.perSecond > 0.09 && second.arrivals!.perSecond < 0.1, String(second.arrivals?.perSecond));
  });

  it('survives an instance whose clock runs behind the last run: kept, not lost or decayed', async () => {
    const d = deployment();
    const ahead = new ManualClock(T0);
    await d.booked('a', 12, ahead.now(), 5);
    await d.instance('ahead', ahead).run({ only: DEFAULT_FLEET });
    const kept = (await d.state.read())!.value.arrivals!;

    const behind = new ManualClock(T0 - 20_000); // 20 s behind: its "now" is before the estimate
    await d.instance('behind', behind).run({ only: DEFAULT_FLEET });
    const after = (await d.state.read())!.value.arrivals!;
    assert.ok(after.perSecond >= kept.perSecond, `${after.perSecond} after, ${kept.perSecond} before`);
  });

  it('starts afresh from a record without one (written by an older version), and keeps the fleet within its maximum', async () => {
    const d = deployment();
    await d.state.write({ creates: [], lastScaleOutAt: new Date(T0 - 3600_000).toISOString() }, undefined);
    const clock = new ManualClock(T0);
    for (let i = 0; i < 5; i++) await d.booked(`full-${i}`, 12, clock.now(), 2); // 60 sessions in 2 s: a rush
    const [run] = await d.instance('x', clock).run({ only: DEFAULT_FLEET });
    assert.ok(run!.created.length > 0, run!.plan?.reason);
    assert.ok(run!.created.length + 5 <= 20, `${run!.created.length} created past AUTOSCALER_MAXIMUM_INSTANCES`);
    assert.ok((await d.state.read())!.value.arrivals!.perSecond > 0);
  });
});
