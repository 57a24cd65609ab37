import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readSettings, scalingConfigFrom, schedulePeriodMs } from '../../runtime/src/options';
import { freeSlotsOf, hasLiveReservations, loadOf } from '../../runtime/src/domain/allocation/booking';
import { decide, type ScalingConfig, type LastActions } from '../../runtime/src/domain/autoscaling/policy';
import type { DemandMiss } from '../../runtime/src/domain/allocation/ports';
import { describeKey, type ServerRecord } from '../../runtime/src/domain/servers/server';
import type { ServerState } from '../../runtime/src/domain/servers/states';
import { numberedServers } from '../support/records';

const T0 = Date.parse('2026-11-22T12:00:00Z');
const now = new Date(T0);
const ago = (seconds: number) => new Date(T0 - seconds * 1000).toISOString();

const BASE: ScalingConfig = {
  policy: 'buffer',
  minInstances: 1,
  maxInstances: 10,
  scaleOutThreshold: 0.8,
  scaleInThreshold: 0.6,
  cooldownMs: 10 * 60_000,
  scaleOutCooldownMs: 0,
  scaleInCooldownMs: 10 * 60_000,
  bufferSlots: 24,
  bufferPercent: 10,
  createQuota: 100,
  createQuotaWindowMs: 5 * 60_000,
  demandWindowMs: 60_000,
  newServerMaxSessions: 12,
  serviceLevel: 0.999,
  provisioningMs: 30_000,
  periodMs: 30_000,
  bookingLifetimeMs: 60_000,
};

const server = numberedServers(ago(3600));
const running = (...sessions: number[]) => sessions.map((s) => server('Running', s));
const creating = (n: number) => Array.from({ length: n }, () => server('Creating'));
const liveBooking = (sessions = 1) => [
  { id: 'r', sessions, at: ago(5), reportAfter: ago(0), expiresAt: new Date(T0 + 55_000).toISOString() },
];
const misses = (n: number, secondsAgo: number, requestId?: string): DemandMiss[] =>
  Array.from({ length: n }, () => ({ at: ago(secondsAgo), sessions: 1, requestId }));

interface Case {
  name: string;
  fleet: ServerRecord[];
  config?: Partial<ScalingConfig>;
  last?: Partial<LastActions>;
  demand?: DemandMiss[];
  create: number;
  /** Indexes into `fleet` of the servers drained / restored. */
  drain?: number[];
  restore?: number[];
}

const cases: Case[] = [
  // The empty fleet.
  { name: 'buffer, empty fleet: creates enough servers for the buffer', fleet: [], create: 2 },
  { name: 'threshold, empty fleet: creates the minimum', fleet: [], config: { policy: 'threshold' }, create: 1 },
  { name: 'seed, empty fleet: creates one', fleet: [], config: { policy: 'seed' }, create: 1 },
  { name: 'threshold, empty fleet with a minimum of 0: nothing', fleet: [], config: { policy: 'threshold', minInstances: 0 }, create: 0 },
  // Servers still being created are capacity on its way.
  { name: 'buffer, all servers creating: their slots count, nothing more', fleet: creating(2), create: 0 },
  {
    name: 'threshold, all servers creating and no load: no scale in while creating',
    fleet: creating(3),
    config: { policy: 'threshold' },
    create: 0,
  },
  {
    name: 'threshold counts Creating servers: 55 sessions on 5 Running + 2 Creating is 65%, within the band',
    fleet: [...running(11, 11, 11, 11, 11), ...creating(2)],
    config: { policy: 'threshold' },
    create: 0,
  },
  // Scaling out.
  { name: 'buffer: three nearly full servers need two more for 24 free slots', fleet: running(11, 11, 11), create: 2 },
  {
    name: 'threshold steps straight to the needed count: 120/120 sessions needs 172 slots, 5 more servers',
    fleet: running(12, 12, 12, 12, 12, 12, 12, 12, 12, 12),
    config: { policy: 'threshold', maxInstances: 20 },
    create: 5,
  },
  {
    name: 'seed adds one server above 0.8 and ignores servers being created',
    fleet: [...running(10, 10), ...creating(1)],
    config: { policy: 'seed' },
    create: 1,
  },
  {
    name: 'a drained server is brought back before anything is created',
    fleet: [...running(12, 12), server('MarkedForDeletion', 6)],
    create: 2,
    restore: [2],
  },
  // Limits: maximum, quota, cooldowns, minimum.
  {
    name: 'the maximum caps creates, and drained servers count towards it',
    fleet: [...running(12, 12, 12, 12, 12, 12), server('MarkedForDeletion', 10)],
    config: { maxInstances: 8 },
    create: 1,
    restore: [6],
  },
  { name: 'at the maximum nothing is created', fleet: running(12, 12, 12), config: { maxInstances: 3 }, create: 0 },
  {
    name: "ACI's create quota: 98 creates in the last 5 minutes leave 2",
    fleet: [],
    config: { bufferSlots: 60 },
    last: { creates: Array.from({ length: 98 }, () => ago(120)) },
    create: 2,
  },
  {
    name: 'creates older than the quota window do not count',
    fleet: [],
    config: { bufferSlots: 60 },
    last: { creates: Array.from({ length: 98 }, () => ago(301)) },
    create: 5,
  },
  {
    name: 'no scale out within the scale-out cooldown',
    fleet: running(11, 11, 11),
    config: { scaleOutCooldownMs: 60_000 },
    last: { lastScaleOutAt: ago(30) },
    create: 0,
  },
  {
    name: 'below the minimum it creates even while cooling down',
    fleet: running(0),
    config: { policy: 'threshold', minInstances: 3, scaleOutCooldownMs: 60_000 },
    last: { lastScaleOutAt: ago(10) },
    create: 2,
  },
  {
    name: 'seed waits out its one cooldown after a scale in',
    fleet: running(12, 12),
    config: { policy: 'seed' },
    last: { lastScaleInAt: ago(300) },
    create: 0,
  },
  // Unmet demand.
  {
    name: "unmet demand adds to the buffer, and a matchmaker's retries count once",
    fleet: running(0, 0, 0),
    demand: [...misses(3, 10, 'same-player'), ...misses(14, 20)],
    create: 1,
  },
  {
    name: 'misses from before the last scale out were what it was for',
    fleet: running(0, 0, 0),
    demand: misses(30, 50),
    last: { lastScaleOutAt: ago(40) },
    create: 0,
  },
  {
    name: 'misses older than the window are forgotten',
    fleet: running(0, 0, 0),
    demand: misses(30, 61),
    last: { lastScaleInAt: ago(1) },
    create: 0,
  },
  // Scaling in.
  {
    name: 'buffer drains the emptiest server while the buffer and a server to spare stay',
    fleet: running(12, 12, 0, 0, 0, 0, 2),
    create: 0,
    drain: [2],
  },
  { name: 'buffer keeps a server to spare beyond the buffer', fleet: running(12, 12, 0, 0, 0, 2), create: 0 },
  {
    name: 'scale in never picks a server with live reservations',
    fleet: [...running(12, 12), server('Running', 0, { reservations: liveBooking() }), ...running(2, 2)],
    config: { bufferSlots: 4 },
    create: 0,
    drain: [3],
  },
  {
    name: 'threshold drains down to mid-band: 15/36 keeps 22 slots',
    fleet: running(5, 5, 5),
    config: { policy: 'threshold' },
    create: 0,
    drain: [0],
  },
  {
    name: 'no scale in within the scale-in cooldown',
    fleet: running(12, 12, 0, 0, 0, 0, 2),
    last: { lastScaleOutAt: ago(300) },
    create: 0,
  },
  { name: 'no scale in at the minimum', fleet: running(0), config: { policy: 'threshold' }, create: 0 },
  { name: 'no scale in while servers are being created', fleet: [...running(0, 0, 0, 0), ...creating(1)], create: 0 },
  {
    name: 'seed drains the server with the fewest sessions below 0.6',
    fleet: running(5, 1),
    config: { policy: 'seed' },
    create: 0,
    drain: [1],
  },
];

describe('decide (table of cases)', () => {
  for (const c of cases) {
    it(c.name, () => {
      const decision = decide(c.fleet, c.demand ?? [], { ...BASE, ...c.config }, now, { creates: [], ...c.last });
      const names = (indexes: number[] = []) => indexes.map((i) => describeKey(c.fleet[i]!));
      assert.equal(decision.create, c.create, decision.reason);
      assert.deepEqual(decision.drain.map(describeKey), names(c.drain), decision.reason);
      assert.deepEqual(decision.restore.map(describeKey), names(c.restore), decision.reason);
      assert.ok(decision.reason.length > 0);
    });
  }
});

describe('decide (properties over random fleets)', () => {
  const arbServer = fc.record({
    state: fc.constantFrom<ServerState>('Running', 'Running', 'Running', 'Creating', 'MarkedForDeletion'),
    sessions: fc.integer({ min: 0, max: 12 }),
    booked: fc.integer({ min: 0, max: 2 }),
  });
  const arbConfig = fc.record({
    policy: fc.constantFrom('buffer' as const, 'threshold' as const, 'seed' as const),
    minInstances: fc.integer({ min: 0, max: 5 }),
    maxInstances: fc.integer({ min: 1, max: 40 }),
    bufferSlots: fc.integer({ min: 0, max: 60 }),
    bufferPercent: fc.integer({ min: 0, max: 50 }),
    createQuota: fc.integer({ min: 1, max: 20 }),
  });

  it('never drains a booked server or more than the rest can absorb, and keeps within max, quota and minimum', () => {
    fc.assert(
      fc.property(fc.array(arbServer, { maxLength: 30 }), arbConfig, fc.integer({ min: 0, max: 30 }), (specs, partial, recentCreates) => {
        const fleet = specs.map((s) =>
          server(
            s.state,
            Math.min(s.sessions, 12 - s.booked),
            s.booked > 0 && s.state === 'Running' ? { reservations: liveBooking(s.booked) } : {},
          ),
        );
        const config = { ...BASE, ...partial };
        const decision = decide(fleet, [], config, now, { creates: Array.from({ length: recentCreates }, () => ago(10)) });
        const byKey = new Map(fleet.map((r) => [describeKey(r), r]));
        const drained = decision.drain.map((k) => byKey.get(describeKey(k))!);
        const existing = fleet.filter((r) => r.state !== 'Failed' && r.state !== 'Deleting').length;

        assert.ok(decision.create <= Math.max(0, config.maxInstances - existing), 'within the maximum');
        assert.ok(decision.create <= Math.max(0, config.createQuota - recentCreates), 'within the quota');
        assert.ok(decision.create === 0 || decision.drain.length === 0, 'never both ways at once');
        if (drained.length > 0 && config.policy !== 'seed') {
          assert.ok(
            drained.every((r) => r.state === 'Running' && !hasLiveReservations(r, now)),
            'only unbooked Running servers',
          );
          const remaining = fleet.filter((r) => r.state === 'Running' && !drained.includes(r));
          const free = remaining.reduce((n, r) => n + freeSlotsOf(r, now), 0);
          assert.ok(drained.reduce((n, r) => n + loadOf(r, now), 0) <= free, 'the rest can absorb what is drained');
          const instances = fleet.filter((r) => r.state === 'Running' || r.state === 'Creating').length;
          assert.ok(instances - drained.length >= config.minInstances, 'the minimum stays');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('autoscaler settings', () => {
  const template = {
    resourceGroup: 'Games',
    maxSessions: 12,
    containerGroup: {
      location: 'westeurope',
      osType: 'Linux',
      containers: [{ name: 'server', image: 'example/gs:1', resources: { requests: { cpu: 1, memoryInGB: 1.5 } } }],
    },
  };

  it('keeps the original defaults and is off unless enabled', () => {
    const s = readSettings({});
    assert.equal(s.AUTOSCALER_ENABLED, false);
    assert.equal(s.AUTOSCALER_MINIMUM_INSTANCES, 1);
    assert.equal(s.AUTOSCALER_MAXIMUM_INSTANCES, 10);
    assert.equal(s.AUTOSCALER_SCALE_OUT_THRESHOLD, 0.8);
    assert.equal(s.AUTOSCALER_SCALE_IN_THRESHOLD, 0.6);
    assert.equal(s.AUTOSCALER_COOLDOWN_IN_MINUTES, 10);
    assert.equal(s.ALLOCATION_RESERVATION_TTL_SECONDS, 60);
    assert.equal(s.AUTOSCALER_POLICY, 'rate');
    assert.equal(s.AUTOSCALER_SERVICE_LEVEL, 0.9995);
  });

  it('reads how often the policy runs from the schedules (the slower of ACIAutoScaler and ACIFleetController)', () => {
    assert.equal(scalingConfigFrom(readSettings({})).periodMs, 30_000);
    assert.equal(scalingConfigFrom(readSettings({ FLEET_CONTROLLER_SCHEDULE: '0,10,50 * * * * *' })).periodMs, 40_000);
    assert.equal(schedulePeriodMs('0 0 * * * *'), 3600_000);
  });

  it('parses CONTAINER_GROUP_TEMPLATE as an ACICreate body without the name', () => {
    const s = readSettings({ AUTOSCALER_ENABLED: 'true', CONTAINER_GROUP_TEMPLATE: JSON.stringify(template) });
    assert.equal(s.CONTAINER_GROUP_TEMPLATE?.resourceGroup, 'games');
    assert.equal(s.CONTAINER_GROUP_TEMPLATE?.maxSessions, 12);
  });

  const bad: Array<[string, Record<string, string>, RegExp]> = [
    [
      'enabled without a template',
      { AUTOSCALER_ENABLED: 'true' },
      /CONTAINER_GROUP_TEMPLATE: is required when the autoscaler is enabled \(AUTOSCALER_ENABLED: true\)/,
    ],
    [
      'a template that is not JSON',
      { CONTAINER_GROUP_TEMPLATE: '{resourceGroup: x}' },
      /CONTAINER_GROUP_TEMPLATE: must be a YAML map or the JSON of an ACICreate body .*not valid JSON/,
    ],
    [
      'a template without containers',
      { CONTAINER_GROUP_TEMPLATE: JSON.stringify({ ...template, containerGroup: { ...template.containerGroup, containers: [] } }) },
      /CONTAINER_GROUP_TEMPLATE: containerGroup\.containers/,
    ],
    ['an unknown policy', { AUTOSCALER_POLICY: 'magic' }, /AUTOSCALER_POLICY/],
    ['a service level of 1', { AUTOSCALER_SERVICE_LEVEL: '1' }, /AUTOSCALER_SERVICE_LEVEL: must be a fraction above 0 and below 1/],
    ['a service level of 0', { AUTOSCALER_SERVICE_LEVEL: '0' }, /AUTOSCALER_SERVICE_LEVEL: must be a fraction above 0 and below 1/],
    [
      'a rate policy that runs less often than bookings are kept',
      { AUTOSCALER_SCHEDULE: '0 */5 * * * *' },
      /AUTOSCALER_SCHEDULE: runs up to 300 s apart, longer than ALLOCATION_RESERVATION_TTL_SECONDS \(the default 60 s\)/,
    ],
    [
      'a rate policy that forgets misses before its next run',
      { FLEET_CONTROLLER_SCHEDULE: '0 * * * * *', AUTOSCALER_DEMAND_WINDOW_SECONDS: '45', ALLOCATION_RESERVATION_TTL_SECONDS: '90' },
      /FLEET_CONTROLLER_SCHEDULE: runs up to 60 s apart, longer than AUTOSCALER_DEMAND_WINDOW_SECONDS \(45 s\)/,
    ],
    [
      'a scale-in threshold above the scale-out one',
      { AUTOSCALER_SCALE_IN_THRESHOLD: '0.9' },
      /AUTOSCALER_SCALE_IN_THRESHOLD: must be below AUTOSCALER_SCALE_OUT_THRESHOLD/,
    ],
    [
      'a minimum above the maximum',
      { AUTOSCALER_MINIMUM_INSTANCES: '11' },
      /AUTOSCALER_MINIMUM_INSTANCES: must not exceed AUTOSCALER_MAXIMUM_INSTANCES/,
    ],
  ];
  for (const [name, env, message] of bad) {
    it(`fails start-up on ${name}, naming the setting`, () => assert.throws(() => readSettings(env), message));
  }
});
