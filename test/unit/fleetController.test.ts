// The fleet controller on in-memory stores (the simulator's, with Table and Blob Storage's ETag
// rules) and a ManualClock: what a run does when runs overlap, when the create quota is spent, and
// with servers that failed holding sessions. The services are the real ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetError } from '../../runtime/src/domain/core/errors';
import { FleetController } from '../../runtime/src/domain/fleets/controller';
import { REFUSED_RETRY_MS } from '../../runtime/src/domain/fleets/plan';
import { FleetService } from '../../runtime/src/domain/fleets/fleetService';
import type { ContainerGroups } from '../../runtime/src/domain/servers/ports';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import { ServerService } from '../../runtime/src/domain/servers/serverService';
import { fleetOptionsFrom, readSettings } from '../../runtime/src/options';
import { MemoryDemandStore, MemoryFleetStore, MemoryServerStore, MemoryStateStore, SimulatedContainerGroups } from '../../tools/sim/memory';
import { ManualClock } from '../support/clock';

const template = (image: string) => ({
  resourceGroup: 'games',
  maxSessions: 4,
  containerGroup: {
    location: 'westeurope',
    osType: 'Linux',
    containers: [{ name: 'server', image, resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
  },
});

/** One deployment in memory; `groups` may be wrapped (to hold a create up, say). */
function world(settings: Record<string, string> = {}, wrap: (g: ContainerGroups) => ContainerGroups = (g) => g) {
  const clock = new ManualClock(new Date('2026-03-02T12:00:00Z'));
  const parsed = readSettings({ FLEET_MAX_SERVERS: '50', ...settings });
  const store = new MemoryServerStore();
  const arm = new SimulatedContainerGroups(clock, 1000);
  const groups = wrap(arm);
  const servers = new ServerService({
    store,
    groups,
    clock,
    options: { fleetName: 'test', defaultMaxSessions: 10, allowedResourceGroups: [], writeAttempts: 5, maxServers: 50 },
  });
  const fleets = new FleetService({ store: new MemoryFleetStore(), serverStore: store, servers, options: fleetOptionsFrom(parsed), clock });
  const states = new Map<string, MemoryStateStore>();
  const state = (fleet: string) => states.get(fleet) ?? states.set(fleet, new MemoryStateStore()).get(fleet)!;
  const events: string[] = [];
  const telemetry = { trackEvent: (name: string) => events.push(name), trackMetric() {} };
  const controller = (holder: string, leaseMs = 60_000) =>
    new FleetController({
      telemetry,
      fleets,
      serverStore: store,
      demand: new MemoryDemandStore(),
      state,
      holder,
      leaseMs,
      writeAttempts: 5,
      deploymentName: 'gs',
      clock,
    });
  /** ARM finishes what it was doing, and ACIMonitor hears of it. */
  const settle = async () => {
    clock.advance(1000);
    for (const key of arm.due(clock.now().getTime())) await servers.refresh(key);
  };
  const rows = async (fleet: string): Promise<ServerRecord[]> => (await store.list()).map((r) => r.value).filter((s) => s.fleet === fleet);
  return { clock, store, servers, fleets, controller, settle, rows, events };
}

const alive = (s: ServerRecord) => s.state === 'Creating' || s.state === 'Running';

describe('fleet controller: overlapping runs', () => {
  it('never creates twice for one shortfall when a run outlives its lease and another takes over', async () => {
    // The first run's creates hang in ARM (they have read the group, not yet written the row) past its lease.
    let hold: (() => void) | undefined;
    const held = new Promise<void>((resolve) => {
      hold = resolve;
    });
    let holding = true;
    const w = world({}, (g) =>
      Object.assign(Object.create(g), {
        get: async (key: Parameters<ContainerGroups['get']>[0]) => {
          if (holding) await held;
          return g.get(key);
        },
      }),
    );
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 3 });
    const first = w.controller('run-1', 1000).run();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    w.clock.advance(5000); // the lease of run-1 has run out
    holding = false;
    const [second] = await w.controller('run-2').run();
    assert.ok(second?.acted, 'the second run took the expired lease');
    hold!();
    await first;
    await w.settle();
    const servers = await w.rows('web');
    assert.ok(servers.filter(alive).length <= 3, `at most the 3 replicas (no surge without a rollout): ${servers.length}`);
    assert.equal(servers.filter(alive).length, 3);
  });

  it('reads the servers again once it holds the lease, so a run that waited never acts on an old view', async () => {
    const w = world();
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 2 });
    // A run that listed the servers before another run created them, then got the lease after it.
    const late = w.controller('late');
    const listed = w.store.list.bind(w.store);
    let gate: (() => void) | undefined;
    const waiting = new Promise<void>((r) => {
      gate = r;
    });
    let firstList = true;
    w.store.list = async (filter) => {
      const rows = await listed(filter);
      if (firstList) {
        firstList = false;
        await waiting;
      }
      return rows;
    };
    const lateRun = late.run();
    await new Promise((r) => setImmediate(r));
    w.store.list = listed;
    await w.controller('early').run();
    gate!();
    await lateRun;
    assert.equal((await w.rows('web')).length, 2);
  });
});

describe('fleet controller: the create quota', () => {
  it('a replicas fleet creates no more than AUTOSCALER_CREATE_QUOTA per window, like the autoscaler', async () => {
    const w = world({ AUTOSCALER_CREATE_QUOTA: '3', AUTOSCALER_CREATE_QUOTA_WINDOW_SECONDS: '300' });
    await w.fleets.put('big', { template: template('example/game:1'), replicas: 5 });
    const [first] = await w.controller('a').run();
    assert.equal(first?.created.length, 3);
    w.clock.advance(60_000);
    const [second] = await w.controller('b').run();
    assert.equal(second?.created.length, 0, 'the quota is spent for this window');
    w.clock.advance(300_000);
    const [third] = await w.controller('c').run();
    assert.equal(third?.created.length, 2);
  });
});

describe('fleet controller: a revision ARM refuses to create', () => {
  /** ARM answers a create of an image named "missing" with 400 InaccessibleImage, as ACI does. */
  const refusing = (g: ContainerGroups): ContainerGroups =>
    Object.assign(Object.create(g), {
      beginCreate: async (key: Parameters<ContainerGroups['beginCreate']>[0], spec: Parameters<ContainerGroups['beginCreate']>[1]) => {
        if (spec.containers.some((c) => c.image.includes('missing')))
          throw new FleetError('AzureRequestRejected', `Azure rejected creating ${key.containerGroupName}: InaccessibleImage`);
        return g.beginCreate(key, spec);
      },
    });

  it('drains no old server in the run that was refused, even when maxUnavailable allows one', async () => {
    const w = world({}, refusing);
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 2 });
    await w.controller('a').run();
    await w.settle();
    await w.fleets.put('web', { template: template('example/game:2-missing'), replicas: 2, rollout: { maxSurge: 1, maxUnavailable: 1 } });
    const [run] = await w.controller('b').run();
    assert.deepEqual(run?.drained, [], 'the rollout drain waits for the new servers');
    assert.deepEqual(
      (await w.rows('web')).map((s) => s.state),
      ['Running', 'Running'],
    );
    assert.equal((await w.fleets.get('web')).fleet.Status.State, 'Paused');
  });

  it('keeps the refusal while the create quota holds the retry back, and ends it once a create goes through', async () => {
    const w = world({ AUTOSCALER_CREATE_QUOTA: '2', AUTOSCALER_CREATE_QUOTA_WINDOW_SECONDS: '3600' }, refusing);
    await w.fleets.put('web', { template: template('example/game:1-missing'), replicas: 2 });
    await w.controller('a').run(); // two creates, both refused: the quota is spent
    w.clock.advance(REFUSED_RETRY_MS);
    await w.controller('b').run(); // past the retry time, but no create is left in the window
    assert.equal((await w.fleets.get('web')).fleet.Status.State, 'Paused', 'still refused, not Complete');
    assert.equal(w.events.filter((e) => e === 'RolloutPaused').length, 1);
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 2 });
    w.clock.advance(3600_000);
    await w.controller('c').run();
    assert.notEqual((await w.fleets.get('web')).fleet.Status.State, 'Paused');
  });

  it('a rollout that also shrinks the fleet stays refused while the refusal holds (its paused plan wants what an unpaused one would)', async () => {
    const w = world({}, refusing);
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 3 });
    await w.controller('a').run();
    await w.settle();
    await w.fleets.put('web', { template: template('example/game:2-missing'), replicas: 2 });
    await w.controller('b').run(); // asks ARM, is refused
    const refused = (await w.fleets.get('web')).fleet.Status;
    assert.equal(refused.State, 'Paused');
    for (const holder of ['c', 'd', 'e']) {
      w.clock.advance(60_000);
      await w.controller(holder).run();
      assert.deepEqual((await w.fleets.get('web')).fleet.Status.Reason, refused.Reason, `${holder}: not asked again, still refused`);
    }
  });

  it("an autoscaler fleet's refusal holds though its own create quota is spent (the policy still wants the servers)", async () => {
    const w = world({}, refusing);
    await w.fleets.put('auto', {
      template: template('example/game:1-missing'),
      autoscaler: { minimumInstances: 2, maximumInstances: 4, createQuota: 2 },
    });
    await w.controller('a').run(); // both creates refused, the quota spent
    const refused = (await w.fleets.get('auto')).fleet.Status;
    assert.equal(refused.State, 'Paused');
    w.clock.advance(60_000);
    await w.controller('b').run();
    const after = (await w.fleets.get('auto')).fleet.Status;
    assert.equal(after.State, 'Paused', JSON.stringify(after));
    assert.equal(after.Reason, refused.Reason);
    assert.equal(w.events.filter((e) => e === 'RolloutCompleted').length, 0);
  });

  it('a refused scale-out of a complete fleet keeps its completion: no second RolloutCompleted once the need is gone', async () => {
    let refuse = false;
    const w = world({}, (g) =>
      Object.assign(Object.create(g), {
        beginCreate: async (key: Parameters<ContainerGroups['beginCreate']>[0], spec: Parameters<ContainerGroups['beginCreate']>[1]) => {
          if (refuse) throw new FleetError('AzureRequestRejected', 'Azure rejected creating: InvalidImage');
          return g.beginCreate(key, spec);
        },
      }),
    );
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 1 });
    await w.controller('a').run();
    await w.settle();
    await w.controller('b').run();
    const completedAt = (await w.fleets.get('web')).fleet.Status.CompletedAt;
    assert.ok(completedAt);
    assert.equal(w.events.filter((e) => e === 'RolloutCompleted').length, 0, 'a first revision completes without the event');
    refuse = true;
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 2 });
    w.clock.advance(1000);
    await w.controller('c').run();
    assert.equal((await w.fleets.get('web')).fleet.Status.State, 'Paused');
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 1 });
    w.clock.advance(1000);
    await w.controller('d').run();
    const status = (await w.fleets.get('web')).fleet.Status;
    assert.equal(status.State, 'Complete', JSON.stringify(status));
    assert.equal(status.CompletedAt, completedAt);
    assert.equal(w.events.filter((e) => e === 'RolloutCompleted').length, 0);
  });
});

describe("fleet controller: ACI's quota in the region is used up", () => {
  /**
   * ARM answers a create beyond westeurope's cores quota with 400 ContainerGroupQuotaReached (the
   * adapter makes it AzureQuotaReached); other regions have room. `fail` makes the next creates
   * fail otherwise, with `failCode` (a 503 by default).
   */
  const region = (cores: number) => {
    const quota = { cores, puts: 0, fail: 0, failCode: 'AzureUnavailable' as 'AzureUnavailable' | 'Conflict' };
    const live = new Map<string, number>();
    const wrap = (g: ContainerGroups): ContainerGroups =>
      Object.assign(Object.create(g), {
        beginCreate: async (key: Parameters<ContainerGroups['beginCreate']>[0], spec: Parameters<ContainerGroups['beginCreate']>[1]) => {
          quota.puts++;
          if (quota.fail > 0 && quota.fail--) throw new FleetError(quota.failCode, `Azure could not create ${key.containerGroupName}`);
          if (spec.location !== 'westeurope') return g.beginCreate(key, spec);
          const name = `${key.resourceGroup}/${key.containerGroupName}`;
          const requested = spec.containers.reduce((n, c) => n + c.resources.requests.cpu, 0);
          const usage = [...live.values()].reduce((a, b) => a + b, 0);
          if (!live.has(name) && usage + requested > quota.cores) {
            throw new FleetError(
              'AzureQuotaReached',
              `Azure's quota for container groups is used up, so creating ${name} was refused: container group quota 'StandardCores' exceeded in region 'westeurope'. Limit: '${quota.cores}', Usage: '${usage}' Requested: '${requested}'.`,
            );
          }
          live.set(name, requested);
          return g.beginCreate(key, spec);
        },
        beginDelete: async (key: Parameters<ContainerGroups['beginDelete']>[0]) => {
          live.delete(`${key.resourceGroup}/${key.containerGroupName}`);
          return g.beginDelete(key);
        },
      });
    return { quota, wrap };
  };
  /** A controller run, ARM and ACIMonitor catching up, then ACIGC. */
  const turn = async (w: ReturnType<typeof world>, holder: string) => {
    w.clock.advance(30_000);
    await w.controller(holder).run();
    await w.settle();
    await w.servers.collectGarbage();
    await w.settle();
  };
  const byRevision = async (w: ReturnType<typeof world>, fleet: string) =>
    (await w.fleets.get(fleet)).fleet.Status.Servers.map((r) => [r.Revision, r.Running]);

  it('a rollout at the quota goes on: old servers give way within maxUnavailable, which frees the quota for the new ones', async () => {
    const { wrap } = region(3);
    const w = world({}, wrap);
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 3 });
    await turn(w, 'a');
    await w.fleets.put('web', { template: template('example/game:2'), replicas: 3, rollout: { maxSurge: 1, maxUnavailable: 1 } });
    const [first] = await w.controller('b').run();
    assert.equal(first?.created.length, 0, 'the surge create is over the quota');
    assert.equal(first?.drained.length, 1, 'an old server gives way all the same');
    const during = (await w.fleets.get('web')).fleet.Status;
    assert.equal(during.State, 'Progressing', 'not paused: the revision is not at fault');
    assert.equal(w.events.filter((e) => e === 'FleetQuotaReached').length, 1, 'the run tells the alert');
    assert.match(during.Reason, /Limit: '3'.*So 1 server\(s\) on their way out free their share/);
    assert.match(during.QuotaReached ?? '', /^Azure's quota for container groups is used up.*Limit: '3'/, 'and in a field of its own');
    for (let i = 0; i < 12; i++) await turn(w, `run-${i}`);
    const status = (await w.fleets.get('web')).fleet.Status;
    assert.equal(status.State, 'Complete', JSON.stringify(status));
    assert.deepEqual(await byRevision(w, 'web'), [[2, 3]]);
    assert.doesNotMatch(status.Reason, /quota/);
    assert.equal(status.QuotaReached, null);
    assert.equal(w.events.filter((e) => e === 'RolloutPaused').length, 0);
  });

  it('says what would let it go on when no server is on its way out (maxUnavailable 0, or a fleet bigger than the quota)', async () => {
    const zero = world({}, region(2).wrap);
    await zero.fleets.put('web', { template: template('example/game:1'), replicas: 2 });
    await turn(zero, 'a');
    await zero.fleets.put('web', { template: template('example/game:2'), replicas: 2 });
    for (const holder of ['b', 'c', 'd']) await turn(zero, holder);
    const stuck = (await zero.fleets.get('web')).fleet.Status;
    assert.equal(stuck.State, 'Progressing');
    assert.match(
      stuck.Reason,
      /Limit: '2'.*So no server is on its way out to make room: raise the quota, allow a larger rollout\.maxUnavailable, or make the fleet smaller/,
    );

    // 5 wanted, room for 3: with maxUnavailable 1 the 3 running are already below 5 − 1, so none may go.
    const big = world({}, region(3).wrap);
    await big.fleets.put('web', { template: template('example/game:1'), replicas: 5 });
    for (const holder of ['a', 'b']) await turn(big, holder);
    await big.fleets.put('web', { template: template('example/game:2'), replicas: 5, rollout: { maxSurge: 1, maxUnavailable: 1 } });
    for (const holder of ['c', 'd', 'e']) await turn(big, holder);
    assert.match((await big.fleets.get('web')).fleet.Status.Reason, /no server is on its way out/);
    assert.deepEqual(await byRevision(big, 'web'), [[1, 3]], 'no old server drained: nothing would take its place');
  });

  it('after a run at the quota, one create asks first; the note stays through other failures and goes once a create succeeds', async () => {
    const { quota, wrap } = region(4);
    const w = world({}, wrap);
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 4 });
    await turn(w, 'a');
    await w.fleets.put('web', { template: template('example/game:2'), replicas: 4, rollout: { maxSurge: 4, maxUnavailable: 0 } });
    quota.puts = 0;
    await turn(w, 'b');
    assert.equal(quota.puts, 4, 'the first run at the quota learns it from one batch');
    for (const holder of ['c', 'd']) await turn(w, holder);
    assert.equal(quota.puts, 6, 'then one create a run');
    quota.fail = 1; // ARM answers that one 503
    await turn(w, 'e');
    assert.equal(quota.puts, 7, 'a probe that made nothing holds the others back, whatever stopped it');
    assert.match((await w.fleets.get('web')).fleet.Status.Reason, /Limit: '4'/, 'a 503 says nothing of the quota');
    quota.cores = 100; // the operator raised the quota
    for (let i = 0; i < 6; i++) await turn(w, `run-${i}`);
    const status = (await w.fleets.get('web')).fleet.Status;
    assert.equal(status.State, 'Complete', JSON.stringify(status));
    assert.doesNotMatch(status.Reason, /quota/);
  });

  it('drops the note once something else holds the creates back, or the fleet moves to a region with room', async () => {
    const { quota, wrap } = region(2);
    const w = world({}, wrap);
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 2 });
    await turn(w, 'a');
    await w.fleets.put('web', { template: template('example/game:2'), replicas: 2 });
    await turn(w, 'b');
    assert.match((await w.fleets.get('web')).fleet.Status.Reason, /quota/);
    quota.fail = 1;
    quota.failCode = 'Conflict'; // a name taken, say: not the quota
    await turn(w, 'c');
    assert.doesNotMatch((await w.fleets.get('web')).fleet.Status.Reason, /quota/);

    await turn(w, 'd'); // at the quota again
    assert.match((await w.fleets.get('web')).fleet.Status.Reason, /quota/);
    const north = template('example/game:3');
    north.containerGroup.location = 'northeurope';
    await w.fleets.put('web', { template: north, replicas: 2 });
    assert.doesNotMatch((await w.fleets.get('web')).fleet.Status.Reason, /quota/, "westeurope's quota says nothing of northeurope");
    await turn(w, 'e');
    assert.doesNotMatch((await w.fleets.get('web')).fleet.Status.Reason, /quota/);
  });

  it("an autoscaler fleet's size does not grow while its rollout waits for the quota, and the rollout ends at the policy's size", async () => {
    const { quota, wrap } = region(3);
    const w = world({}, wrap);
    const autoscaler = { minimumInstances: 5, maximumInstances: 50 };
    await w.fleets.put('auto', { template: template('example/game:1'), autoscaler });
    for (const holder of ['a', 'b']) await turn(w, holder);
    await w.fleets.put('auto', { template: template('example/game:2'), autoscaler, rollout: { maxSurge: 1, maxUnavailable: 1 } });
    const desired: number[] = [];
    for (let i = 0; i < 6; i++) {
      await turn(w, `full-${i}`);
      desired.push((await w.fleets.get('auto')).fleet.Status.Desired);
    }
    assert.ok(Math.max(...desired) <= 5, `the minimum, not more: ${desired}`);
    quota.cores = 100;
    for (let i = 0; i < 12; i++) await turn(w, `room-${i}`);
    const status = (await w.fleets.get('auto')).fleet.Status;
    assert.equal(status.State, 'Complete', JSON.stringify(status));
    assert.deepEqual(await byRevision(w, 'auto'), [[2, 5]]);
  });
});

describe('fleet controller: servers that failed holding sessions', () => {
  it('a Failed server holds no live session: it is drained with none, deleted by ACIGC, and the rollout completes', async () => {
    const w = world();
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 2 });
    await w.controller('a').run();
    await w.settle();
    const [one] = await w.rows('web');
    // Its last report said 3 sessions; then its container died.
    const row = (await w.store.get(one!))!;
    await w.store.replace({ ...row.value, activeSessions: 3, state: 'Failed', failureReason: 'container exited' }, row.etag);
    await w.fleets.put('web', { template: template('example/game:2'), replicas: 2 });
    for (let i = 0; i < 8; i++) {
      await w.controller(`run-${i}`).run();
      await w.settle();
      await w.servers.collectGarbage();
      await w.settle();
    }
    assert.equal((await w.store.get(one!)) === undefined, true, 'the failed server is gone');
    const status = (await w.fleets.get('web')).fleet.Status;
    assert.equal(status.State, 'Complete', JSON.stringify(status));
    assert.equal(status.OutdatedSessions, 0);
  });
});

describe('fleet controller: a DELETE racing a create', () => {
  it("drains the server of a create that lost to the fleet's DELETE, and a fleet made again under the name never takes it in", async () => {
    const w = world();
    await w.fleets.put('web', { template: template('example/game:1') });
    const before = (await w.fleets.load('web'))!.value; // ACICreate {fleet} read the fleet
    const deleted = await w.fleets.delete('web'); // then the DELETE ran to the end: no servers, the fleet is gone
    assert.equal(deleted.gone, true);
    await assert.rejects(
      w.fleets.createFrom(before, { resourceGroup: 'games', containerGroupName: 'late-1' }),
      (e: Error & { code?: string }) => e.code === 'Conflict',
      'the create is told the fleet is gone',
    );
    assert.equal((await w.store.get({ resourceGroup: 'games', containerGroupName: 'late-1' }))?.value.state, 'MarkedForDeletion');

    await w.fleets.put('web', { template: template('example/game:1'), replicas: 1 });
    await w.controller('a').run();
    await w.settle();
    const again = (await w.fleets.get('web')).fleet;
    assert.deepEqual(
      again.Status.Servers.map((r) => [r.Revision, r.Running, r.Creating, r.MarkedForDeletion]),
      [[1, 1, 0, 0]],
      'the new fleet counts only its own server',
    );
  });

  it('drains a server whose fleet is gone even when its creator died before it could (the controller sweeps them)', async () => {
    const w = world();
    await w.fleets.put('web', { template: template('example/game:1') }); // sized by hand: nothing is scaled in
    await w.fleets.createServer({ resourceGroup: 'games', containerGroupName: 'mine-1', fleet: 'web' });
    await w.settle();
    const [mine] = await w.rows('web');
    // A server made for an earlier fleet named 'web' (its incarnation is not this fleet's).
    await w.store.insert({ ...mine!, containerGroupName: 'stray-1', fleetIncarnation: 'AAAAAAAAAAAAAAAA', incarnation: undefined });
    await w.controller('b').run();
    assert.equal((await w.store.get({ resourceGroup: 'games', containerGroupName: 'stray-1' }))?.value.state, 'MarkedForDeletion');
    assert.equal((await w.store.get(mine!))?.value.state, 'Running', "the fleet's own server is untouched");
    assert.deepEqual(
      (await w.fleets.get('web')).fleet.Status.Servers.map((r) => r.Running),
      [1],
    );
  });
});

describe('fleet controller: storage failing mid-run', () => {
  it('gives the leases back when it cannot read the servers, so the next run acts at once', async () => {
    const w = world();
    await w.fleets.put('web', { template: template('example/game:1'), replicas: 1 });
    const list = w.store.list.bind(w.store);
    w.store.list = async () => {
      throw new Error('storage down');
    };
    await assert.rejects(w.controller('a').run(), /storage down/);
    w.store.list = list;
    const [next] = await w.controller('b').run();
    assert.equal(next?.acted, true, 'not skipped for a lease nobody holds');
    assert.equal(next?.created.length, 1);
  });
});
