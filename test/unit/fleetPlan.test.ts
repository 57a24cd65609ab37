// The fleet controller's pure decision (runtime/src/domain/fleets/plan.ts): tables of cases, then
// properties over random fleets driven to the end by a small model of the world (servers start or
// fail, sessions end, ACIGC deletes drained servers at 0 sessions).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { newFleet, resolveRollout, type FleetRecord } from '../../runtime/src/domain/fleets/fleet';
import { fleetStatusOf, planFleet, REFUSED_RETRY_MS, type FleetPlan, type Sizing } from '../../runtime/src/domain/fleets/plan';
import { fleetSpec } from '../../runtime/src/domain/fleets/requests';
import type { Decision } from '../../runtime/src/domain/autoscaling/policy';
import { describeKey, type ServerRecord } from '../../runtime/src/domain/servers/server';
import type { ServerState } from '../../runtime/src/domain/servers/states';
import { serverRecord } from '../support/records';

const NOW = new Date('2026-03-02T12:00:00Z');
const TEMPLATE = {
  resourceGroup: 'games',
  containerGroup: {
    location: 'westeurope',
    osType: 'Linux',
    containers: [{ name: 'server', image: 'example/game:1', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
  },
};

/** A fleet at `revision`, its spec's rollout and size as given. */
function fleet(revision: number, spec: Record<string, unknown> = {}, extra: Partial<FleetRecord> = {}): FleetRecord {
  return { ...newFleet('web', fleetSpec.parse({ template: TEMPLATE, ...spec }), NOW), revision, ...extra };
}

function server(name: string, revision: number, state: ServerState, activeSessions = 0, extra: Partial<ServerRecord> = {}): ServerRecord {
  return serverRecord(name, { fleet: 'web', revision, state, activeSessions, createdAt: NOW.toISOString(), ...extra });
}

const replicas = (n: number): Sizing => ({ kind: 'replicas', replicas: n });
const plan = (f: FleetRecord, servers: ServerRecord[], sizing: Sizing = replicas(3)) => planFleet({ fleet: f, servers, sizing, now: NOW });
const drained = (p: FleetPlan) => p.drain.map((d) => `${d.key.containerGroupName}:${d.cause}`).sort();
const oldRunning = (n: number, sessions: number[] = []) =>
  Array.from({ length: n }, (_, i) => server(`old-${i + 1}`, 1, 'Running', sessions[i] ?? 0));

describe('planFleet: a rolling update', () => {
  const cases: Array<{
    name: string;
    fleet: FleetRecord;
    servers: ServerRecord[];
    sizing?: Sizing;
    create: number;
    drain: string[];
    state: string;
  }> = [
    { name: 'a new fleet of 3 creates 3 at once', fleet: fleet(1), servers: [], create: 3, drain: [], state: 'Complete' },
    {
      name: 'a fleet at its size does nothing',
      fleet: fleet(1),
      servers: [server('a', 1, 'Running'), server('b', 1, 'Running'), server('c', 1, 'Running')],
      create: 0,
      drain: [],
      state: 'Complete',
    },
    {
      name: 'a new revision surges one server (25% of 3, rounded up) and drains nothing yet',
      fleet: fleet(2),
      servers: oldRunning(3),
      create: 1,
      drain: [],
      state: 'Progressing',
    },
    {
      name: 'while the new server is still Creating, nothing more happens',
      fleet: fleet(2),
      servers: [...oldRunning(3), server('new-1', 2, 'Creating')],
      create: 0,
      drain: [],
      state: 'Progressing',
    },
    {
      name: 'once it runs, the emptiest old server is drained and the next one surges',
      fleet: fleet(2),
      servers: [...oldRunning(3, [4, 0, 2]), server('new-1', 2, 'Running')],
      create: 1,
      drain: ['old-2:rollout'],
      state: 'Progressing',
    },
    {
      name: 'maxSurge 0 with maxUnavailable 1: drain first, then replace',
      fleet: fleet(2, { rollout: { maxSurge: 0, maxUnavailable: 1 } }),
      servers: oldRunning(3),
      create: 1,
      drain: ['old-1:rollout'],
      state: 'Progressing',
    },
    {
      name: 'a surge of 3 replaces a fleet of 3 in one step',
      fleet: fleet(2, { rollout: { maxSurge: 3 } }),
      servers: oldRunning(3),
      create: 3,
      drain: [],
      state: 'Progressing',
    },
    {
      name: 'old servers still Creating are drained at once: they serve nobody yet',
      fleet: fleet(2),
      servers: [...oldRunning(2), server('old-3', 1, 'Creating')],
      create: 2,
      drain: ['old-3:rollout'],
      state: 'Progressing',
    },
    {
      name: 'a failed server of the new revision pauses the rollout: no create, no old server drained',
      fleet: fleet(2),
      servers: [...oldRunning(3), server('new-1', 2, 'Failed', 0, { failureReason: "image 'x:2' is not accessible" })],
      create: 0,
      drain: [],
      state: 'Paused',
    },
    {
      name: 'a corrected revision resumes: the failed server is now outdated and cleaned up',
      fleet: fleet(3),
      servers: [...oldRunning(3), server('new-1', 2, 'Failed')],
      create: 1,
      drain: ['new-1:failed'],
      state: 'Progressing',
    },
    {
      name: 'a first revision that never ran pauses rather than create failing servers forever',
      fleet: fleet(1),
      servers: [server('a', 1, 'Failed'), server('b', 1, 'Creating')],
      create: 0,
      drain: [],
      state: 'Paused',
    },
    {
      name: 'in a complete fleet a failed server is drained and replaced',
      fleet: fleet(1),
      servers: [server('a', 1, 'Running'), server('b', 1, 'Running'), server('c', 1, 'Failed')],
      create: 1,
      drain: ['c:failed'],
      state: 'Complete',
    },
    {
      name: 'an old server left draining with sessions keeps the rollout Progressing, and is never touched again',
      fleet: fleet(2),
      servers: [server('a', 2, 'Running'), server('b', 2, 'Running'), server('c', 2, 'Running'), server('old', 1, 'MarkedForDeletion', 5)],
      create: 0,
      drain: [],
      state: 'Progressing',
    },
    {
      name: 'Complete once no server of an older revision is left',
      fleet: fleet(2),
      servers: [server('a', 2, 'Running'), server('b', 2, 'Running'), server('c', 2, 'Running')],
      create: 0,
      drain: [],
      state: 'Complete',
    },
    {
      name: 'fewer replicas: the emptiest servers drain, never one a player was just booked onto',
      fleet: fleet(1),
      servers: [
        server('a', 1, 'Running', 1),
        server('b', 1, 'Running', 0, {
          reservations: [
            { id: 'r', sessions: 1, at: NOW.toISOString(), reportAfter: NOW.toISOString(), expiresAt: '2026-03-02T12:01:00Z' },
          ],
        }),
        server('c', 1, 'Running', 3),
        server('d', 1, 'Running', 2),
      ],
      sizing: replicas(2),
      create: 0,
      drain: ['a:scale-in', 'd:scale-in'],
      state: 'Complete',
    },
    {
      name: 'a deleted fleet drains every server it has, failed ones too, and creates none',
      fleet: fleet(2, {}, { deletingSince: NOW.toISOString() }),
      servers: [server('a', 2, 'Running', 3), server('b', 1, 'Creating'), server('c', 2, 'Failed'), server('d', 1, 'MarkedForDeletion', 1)],
      create: 0,
      drain: ['a:fleet-deleted', 'b:fleet-deleted', 'c:fleet-deleted'],
      state: 'Deleting',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = plan(c.fleet, c.servers, c.sizing);
      assert.deepEqual(
        { create: p.create, drain: drained(p), state: p.state },
        { create: c.create, drain: c.drain.sort(), state: c.state },
        p.reason,
      );
    });
  }

  it('says why it paused: the failed server and its reason', () => {
    const p = plan(fleet(2), [...oldRunning(3), server('new-1', 2, 'Failed', 0, { failureReason: "image 'x:2' is not accessible" })]);
    assert.match(p.reason, /revision 2 failed \(games\/new-1: image 'x:2' is not accessible\)/);
  });

  describe('after Azure refused to create a server of the revision (ARM 400 InaccessibleImage)', () => {
    const refusedAt = (revision: number, at: Date, observedRevision = revision) =>
      fleet(
        revision,
        {},
        {
          observed: {
            state: 'Paused',
            reason: '',
            desired: 3,
            at: at.toISOString(),
            revision: observedRevision,
            refused: { message: "The image 'x:2' is not accessible", at: at.toISOString() },
          },
        },
      );
    const later = (ms: number) => new Date(NOW.getTime() + ms);

    it('creates nothing and drains no old server until REFUSED_RETRY_MS has passed, and says why and until when', () => {
      const f = refusedAt(2, NOW);
      const p = planFleet({ fleet: f, servers: oldRunning(3), sizing: replicas(3), now: later(REFUSED_RETRY_MS - 1) });
      assert.deepEqual([p.create, p.drain.length, p.state], [0, 0, 'Paused']);
      const retryAt = later(REFUSED_RETRY_MS).toISOString();
      assert.equal(
        p.reason,
        `revision 2: Azure refused to create its servers (The image 'x:2' is not accessible); nothing is created or rolled out meanwhile. PUT a corrected template; the fleet tries again after ${retryAt}`,
      );
      assert.equal(fleetStatusOf(f, oldRunning(3), 3, later(REFUSED_RETRY_MS - 1)).State, 'Paused');
    });

    it('tries again once REFUSED_RETRY_MS has passed; GET stays Paused until a run sees otherwise', () => {
      const f = refusedAt(2, NOW);
      const p = planFleet({ fleet: f, servers: oldRunning(3), sizing: replicas(3), now: later(REFUSED_RETRY_MS) });
      assert.deepEqual([p.create, p.state], [1, 'Progressing']);
      assert.equal(fleetStatusOf(f, oldRunning(3), 3, later(REFUSED_RETRY_MS)).State, 'Paused');
    });

    it('a refusal of an earlier revision holds nothing back: a corrected PUT resumes at once', () => {
      const f = refusedAt(3, NOW, 2);
      const p = planFleet({ fleet: f, servers: oldRunning(3), sizing: replicas(3), now: later(1) });
      assert.deepEqual([p.create, p.state], [1, 'Progressing']);
      assert.equal(fleetStatusOf(f, oldRunning(3), 3, later(1)).State, 'Progressing');
    });
  });

  it('counts the sessions the old servers still hold', () => {
    const p = plan(fleet(2), [server('a', 2, 'Running'), server('old', 1, 'MarkedForDeletion', 5)], replicas(1));
    assert.match(p.reason, /holding 5 session/);
  });
});

describe('planFleet: sizes', () => {
  it('by hand (no replicas, no autoscaler): keeps the servers ACICreate made, and replaces them one for one', () => {
    const steady = plan(fleet(1), [server('a', 1, 'Running'), server('b', 1, 'Running')], { kind: 'manual' });
    assert.deepEqual([steady.create, steady.drain.length, steady.desired], [0, 0, 2]);
    // The rollout keeps the size the fleet had when it started, however many surge servers exist meanwhile.
    const rolling = fleet(2, {}, { observed: { state: 'Complete', reason: '', desired: 2, at: NOW.toISOString(), revision: 1 } });
    const step = plan(rolling, [...oldRunning(2), server('new-1', 2, 'Running')], { kind: 'manual' });
    assert.deepEqual([step.desired, step.create, drained(step)], [2, 1, ['old-1:rollout']]);
  });

  it('by hand: a rollout keeps capacity even when the controller never saw the servers ACICreate added', () => {
    // The fleet was empty when the controller last ran (desired 0); three servers were then made by hand, and a new revision PUT.
    const stale = fleet(2, {}, { observed: { state: 'Complete', reason: '', desired: 0, at: NOW.toISOString(), revision: 1 } });
    const first = plan(stale, oldRunning(3), { kind: 'manual' });
    assert.deepEqual([first.desired, first.create, drained(first)], [3, 1, []], 'one surge server; no old one drained yet');
    const later = plan(stale, [...oldRunning(3), server('new-1', 2, 'Running')], { kind: 'manual' });
    assert.deepEqual([later.desired, later.create, drained(later)], [3, 1, ['old-1:rollout']], 'then one for one');
  });

  it('by replicas with extra servers made by hand: a rollout never leaves fewer than replicas − maxUnavailable Running', () => {
    const five = oldRunning(5, [0, 0, 0, 2, 1]); // 3 replicas and 2 made by hand with ACICreate {fleet}
    const first = plan(fleet(2), five);
    assert.deepEqual([first.create, drained(first)], [1, ['old-1:rollout', 'old-2:rollout']], 'only the extras go at once');
    const running = (p: FleetPlan, servers: ServerRecord[]) =>
      servers.filter((s) => s.state === 'Running' && !p.drain.some((d) => d.key.containerGroupName === s.containerGroupName)).length;
    assert.equal(running(first, five), 3);
  });

  it('counts no session on a Failed server: its container holds none', () => {
    const servers = [server('old-1', 1, 'Failed', 3), server('new-1', 2, 'Running')];
    const status = fleetStatusOf(fleet(2), servers, 1, NOW);
    assert.equal(status.OutdatedSessions, 0);
    assert.doesNotMatch(plan(fleet(2), servers, replicas(1)).reason, /holding/);
  });

  const decision = (d: Partial<Decision>): Sizing => ({
    kind: 'autoscaler',
    decision: { create: 0, drain: [], restore: [], reason: 'test', ...d },
  });

  it('by the autoscaler: its decision is applied as it is while no rollout is under way', () => {
    const servers = [server('a', 1, 'Running', 0), server('b', 1, 'Running', 4), server('c', 1, 'MarkedForDeletion', 2)];
    const out = plan(fleet(1), servers, decision({ create: 2, restore: [servers[2]!] }));
    assert.deepEqual([out.create, out.restore.map(describeKey), out.desired], [2, ['games/c'], 5]);
    const scaleIn = plan(fleet(1), servers, decision({ drain: [servers[0]!] }));
    assert.deepEqual([scaleIn.create, drained(scaleIn), scaleIn.desired], [0, ['a:scale-in'], 1]);
  });

  it('by the autoscaler during a rollout: it may add servers, never take any away until the rollout is done', () => {
    const rolling = fleet(2, {}, { observed: { state: 'Progressing', reason: '', desired: 3, at: NOW.toISOString(), revision: 2 } });
    const grow = plan(rolling, oldRunning(3), decision({ create: 1 }));
    assert.equal(grow.desired, 4);
    const shrink = plan(rolling, oldRunning(3), decision({ drain: [oldRunning(3)[0]!] }));
    assert.equal(shrink.desired, 3);
    assert.ok(shrink.drain.every((d) => d.cause !== 'scale-in'));
  });

  it('by the autoscaler during a paused rollout: the size does not grow with creates that cannot happen', () => {
    const paused = fleet(2, {}, { observed: { state: 'Paused', reason: '', desired: 3, at: NOW.toISOString(), revision: 2 } });
    const servers = [...oldRunning(3), server('new-1', 2, 'Failed', 0, { failureReason: 'image pull failed' })];
    const p = plan(paused, servers, decision({ create: 2 }));
    assert.equal(p.state, 'Paused');
    assert.equal(p.desired, 3, 'run after run it would otherwise add 2 more, and overshoot once the rollout resumes');
    assert.equal(p.create, 0);
  });

  it('never brings back an outdated server the autoscaler asks for', () => {
    const old = server('old', 1, 'MarkedForDeletion', 3);
    const out = plan(fleet(2), [server('a', 2, 'Running'), old], decision({ restore: [old] }));
    assert.deepEqual(out.restore, []);
  });
});

describe('revisions of servers made before fleets (the default fleet)', () => {
  const legacy = (name: string, specHash: string) => serverRecord(name, { specHash, createdAt: NOW.toISOString() });
  const defaultFleet = (revision: number, legacySpecHashes: Record<string, number>) => ({
    ...fleet(revision),
    name: 'default',
    legacySpecHashes,
  });

  it('a server whose spec is an old revision’s template is rolled; one made by hand is never touched', () => {
    const p = plan(
      defaultFleet(2, { 'hash-of-1': 1, 'hash-of-2': 2 }),
      [legacy('from-template', 'hash-of-1'), legacy('by-hand', 'other')],
      replicas(2),
    );
    // by-hand counts as the current revision (nobody can tell its template): one more is needed before from-template goes.
    assert.deepEqual([p.create, drained(p), p.state], [1, [], 'Progressing']);
    const later = plan(
      defaultFleet(2, { 'hash-of-1': 1 }),
      [legacy('from-template', 'hash-of-1'), legacy('by-hand', 'other'), server('n', 2, 'Running')],
      replicas(2),
    );
    assert.deepEqual(drained(later), ['from-template:rollout']);
  });
});

describe('resolveRollout', () => {
  const cases: Array<[maxSurge: number | string, maxUnavailable: number | string, size: number, expected: [number, number]]> = [
    ['25%', 0, 3, [1, 0]],
    ['25%', 0, 8, [2, 0]],
    ['50%', '25%', 4, [2, 1]],
    [0, '10%', 3, [1, 0]], // both round to 0: one at a time
    [2, 1, 10, [2, 1]],
  ];
  for (const [maxSurge, maxUnavailable, size, expected] of cases) {
    it(`${maxSurge} / ${maxUnavailable} of ${size} → ${expected}`, () => {
      const r = resolveRollout({ maxSurge, maxUnavailable } as never, size);
      assert.deepEqual([r.maxSurge, r.maxUnavailable], expected);
    });
  }
});

// ---- properties over random fleets ---------------------------------------------------------------

interface World {
  servers: Map<string, ServerRecord>;
  fleet: FleetRecord;
  created: number;
  cut: number;
}

/** Applies a plan as the controller would (drain = MarkedForDeletion, create = a Creating server of the current revision). */
function apply(world: World, p: FleetPlan): void {
  for (const d of p.drain) {
    const s = world.servers.get(describeKey(d.key))!;
    if (s.state === 'Running' || s.state === 'Creating' || s.state === 'Failed')
      world.servers.set(describeKey(s), { ...s, state: 'MarkedForDeletion' });
  }
  for (let i = 0; i < p.create; i++) {
    const s = server(`n-${world.created++}`, world.fleet.revision, 'Creating');
    world.servers.set(describeKey(s), s);
  }
  world.fleet = {
    ...world.fleet,
    observed: { state: p.state, reason: p.reason, desired: p.desired, at: NOW.toISOString(), revision: world.fleet.revision },
  };
}

/** Time passes: servers start (or fail, for a bad revision), sessions end, ACIGC deletes drained servers at 0 sessions. */
function tick(world: World, bad: boolean, ending: number[]): void {
  let i = 0;
  for (const [key, s] of world.servers) {
    const fewer = ending[i++ % ending.length] ?? 0;
    if (s.state === 'Creating') world.servers.set(key, { ...s, state: bad && s.revision === world.fleet.revision ? 'Failed' : 'Running' });
    else if (s.state === 'MarkedForDeletion') {
      const left = Math.max(0, s.activeSessions - fewer);
      if (left === 0)
        world.servers.delete(key); // ACIGC: only at zero sessions
      else world.servers.set(key, { ...s, activeSessions: left });
    }
  }
}

const count = (world: World, test: (s: ServerRecord) => boolean) => [...world.servers.values()].filter(test).length;
const isAlive = (s: ServerRecord) => s.state === 'Running' || s.state === 'Creating';

const scenario = fc.record({
  desired: fc.integer({ min: 0, max: 8 }),
  old: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 0, maxLength: 10 }),
  maxSurge: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constantFrom('25%', '50%', '100%')),
  maxUnavailable: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('0%', '25%')),
  ending: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 8 }),
});

function start(s: { desired: number; old: number[]; maxSurge: number | string; maxUnavailable: number | string }) {
  const rollout = { maxSurge: s.maxSurge, maxUnavailable: s.maxUnavailable };
  const both0 = (v: number | string) => v === 0 || v === '0%';
  if (both0(rollout.maxSurge) && both0(rollout.maxUnavailable)) rollout.maxUnavailable = 1; // the schema refuses both 0
  const world: World = { servers: new Map(), fleet: fleet(2, { replicas: s.desired, rollout }), created: 0, cut: 0 };
  s.old.forEach((sessions, i) => {
    const r = server(`old-${i}`, 1, 'Running', sessions);
    world.servers.set(describeKey(r), r);
  });
  return world;
}

describe('planFleet: properties', () => {
  it('respects maxSurge and maxUnavailable at every step, and ends Complete with the fleet at its size', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const world = start(s);
        const { maxSurge, maxUnavailable } = resolveRollout(world.fleet.spec.rollout, s.desired);
        for (let step = 0; step < 60; step++) {
          const aliveBefore = count(world, isAlive);
          const runningBefore = count(world, (r) => r.state === 'Running');
          const p = plan(world.fleet, [...world.servers.values()], replicas(s.desired));
          const drainedNow = new Set(p.drain.map((d) => describeKey(d.key)));
          const runningAfter = runningBefore - p.drain.filter((d) => world.servers.get(describeKey(d.key))!.state === 'Running').length;
          const aliveAfter = aliveBefore - [...drainedNow].filter((k) => isAlive(world.servers.get(k)!)).length + p.create;
          // Creates never take the fleet beyond desired + maxSurge (unless it was there already).
          assert.ok(
            aliveAfter <= Math.max(aliveBefore, s.desired + maxSurge),
            `step ${step}: ${aliveAfter} alive > ${s.desired} + ${maxSurge}`,
          );
          // Drains never take the Running servers below desired − maxUnavailable (unless they were below already).
          assert.ok(runningAfter >= Math.min(runningBefore, s.desired - maxUnavailable), `step ${step}: ${runningAfter} Running`);
          // A drain stops bookings only: it never touches a server already drained or deleting.
          for (const k of drainedNow) assert.ok(['Running', 'Creating', 'Failed'].includes(world.servers.get(k)!.state));
          apply(world, p);
          tick(world, false, s.ending);
        }
        const final = plan(world.fleet, [...world.servers.values()], replicas(s.desired));
        assert.equal(final.state, 'Complete', final.reason);
        assert.equal(
          count(world, (r) => r.revision === 1),
          0,
        );
        assert.equal(
          count(world, (r) => r.state === 'Running' && r.revision === 2),
          s.desired,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('never drains a Running server of the old revision while the new one fails, and says so', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        fc.pre(s.desired > 0 && s.old.length > 0);
        // No unavailability allowed (the default): only a surge may replace servers.
        const world = start({ ...s, maxUnavailable: 0, maxSurge: s.maxSurge === 0 ? 1 : s.maxSurge });
        const oldRunningAtStart = count(world, (r) => r.revision === 1 && r.state === 'Running');
        for (let step = 0; step < 20; step++) {
          const p = plan(world.fleet, [...world.servers.values()], replicas(s.desired));
          apply(world, p);
          tick(world, true, s.ending);
        }
        const final = plan(world.fleet, [...world.servers.values()], replicas(s.desired));
        // At most the old servers beyond the fleet's size may go (scaled down): never one it needs.
        assert.ok(count(world, (r) => r.revision === 1 && r.state === 'Running') >= Math.min(oldRunningAtStart, s.desired));
        assert.equal(final.state, 'Paused', final.reason);
        assert.equal(final.create, 0);
        // Bounded waste: a bad revision costs at most one surge of failed servers.
        const { maxSurge } = resolveRollout(world.fleet.spec.rollout, s.desired);
        assert.ok(
          count(world, (r) => r.state === 'Failed') <= Math.max(maxSurge, s.desired - Math.min(oldRunningAtStart, s.desired) + maxSurge),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('never removes an old server that holds sessions, and is never Complete while one is left', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 1, max: 50 }), (s, held) => {
        const world = start({ ...s, old: [held, ...s.old] });
        const stuck = 'games/old-0';
        // old-0's players never leave: whatever the controller decides, it must wait for them.
        const ending = (k: string) => (k === stuck ? 0 : 1);
        for (let step = 0; step < 40; step++) {
          const p = plan(world.fleet, [...world.servers.values()], replicas(s.desired));
          assert.notEqual(p.state, 'Complete', `step ${step}: ${p.reason}`);
          apply(world, p);
          for (const [k, r] of world.servers) {
            if (r.state === 'Creating') world.servers.set(k, { ...r, state: 'Running' });
            else if (r.state === 'MarkedForDeletion') {
              const left = Math.max(0, r.activeSessions - ending(k));
              if (left === 0) world.servers.delete(k);
              else world.servers.set(k, { ...r, activeSessions: left });
            }
          }
          assert.equal(world.servers.get(stuck)?.activeSessions, held, `step ${step}: the server holding sessions is gone or changed`);
        }
        // The rest of the rollout went on around it.
        assert.equal(
          count(world, (r) => r.revision === 2 && r.state === 'Running'),
          s.desired,
        );
        assert.equal(world.servers.get(stuck)?.state, 'MarkedForDeletion');
      }),
      { numRuns: 200 },
    );
  });
});
