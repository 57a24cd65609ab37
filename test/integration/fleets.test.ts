// Fleets on the local fleet (Azurite, the ACI emulator, the Functions host): a 3-server fleet rolls
// from image:1 to image:2 without cutting a session, new bookings land on revision 2, the status
// ends Complete, a repeated PUT is a no-op, DELETE drains the fleet; the same under ARM 429/500
// faults and dropped Event Grid events (repaired by reconcile); a bad revision pauses; bad input
// writes nothing. The fleet runs on a ManualClock; each step runs the timers by hand (no sleeps).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REFUSED_RETRY_MS } from '../../runtime/src/domain/fleets/plan';
import { signReportToken } from '../../runtime/src/domain/reports/tokens';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import { ManualClock } from '../support/clock';
import { call, eventually, expireAllocationSnapshot, startTestFleet, type LocalFleet } from '../support/localFleet';

const clock = new ManualClock();
let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet({
    overrides: { clock },
    settings: { FLEET_RESOURCE_GROUPS: 'games,arena' },
  });
});
after(() => fleet?.stop());

const template = (image: string, resourceGroup = 'games') => ({
  resourceGroup,
  maxSessions: 4,
  containerGroup: {
    location: 'westeurope',
    osType: 'Linux',
    containers: [{ name: 'server', image, resources: { requests: { cpu: 1, memoryInGB: 1.5 } }, ports: [{ port: 7777, protocol: 'UDP' }] }],
    ipAddress: { type: 'Public', ports: [{ port: 7777, protocol: 'UDP' }] },
  },
});

const put = (name: string, body: unknown, headers: Record<string, string> = {}) =>
  call(fleet, `fleets/${name}`, body, { method: 'PUT', headers });
const get = (name: string) => call(fleet, `fleets/${name}`);
const runTimer = async (name: string) => {
  const res = await fetch(`${fleet.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': fleet.key } });
  assert.equal(res.status, 202, name);
};
/** Servers of a fleet, from the table. */
const serversOf = async (name: string): Promise<ServerRecord[]> =>
  (await fleet.services.store.list()).map((r) => r.value).filter((s) => s.fleet === name);
const report = (server: ServerRecord, activeSessions: number) =>
  fetch(`${fleet.url}/api/ACIReport`, {
    method: 'POST',
    headers: { authorization: `Bearer ${signReportToken(server, fleet.settings.REPORT_TOKEN_SECRET!)}` },
    body: JSON.stringify({ activeSessions }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

/**
 * One turn of the world: the controller acts, ARM provisions and deletes and its events arrive,
 * ACIGC collects drained servers at 0 sessions, and (when events may be lost) reconcile repairs.
 */
async function turn(options: { reconcile?: boolean } = {}): Promise<void> {
  await runTimer('ACIFleetController');
  await fleet.emulator.idle();
  if (options.reconcile) await runTimer('ACIReconcile');
  await runTimer('ACIGC');
  await fleet.emulator.idle();
  if (options.reconcile) await runTimer('ACIReconcile');
  // Time passes between runs: bookings age, ACIAllocate's copy of the servers expires.
  clock.advance(10_000);
}

const alive = (s: ServerRecord) => s.state === 'Creating' || s.state === 'Running';

/**
 * The rolling update of the issue: 3 servers from image:1 to image:2, one of them holding sessions
 * throughout. Checked at every turn: never more than 3 + maxSurge (1) servers serving or starting,
 * never fewer than 3 Running once the fleet was up, and the busy server never deleted under its players.
 */
async function rollingUpdate(name: string, options: { faults?: () => void; reconcile?: boolean } = {}) {
  const created = await put(name, { template: template('example/game:1'), replicas: 3 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.Revision, 1);
  await eventually(async () => {
    await turn(options);
    const s = await serversOf(name);
    return s.length === 3 && s.every((r) => r.state === 'Running');
  }, 'three servers Running');
  assert.equal((await get(name)).body.Status.State, 'Complete');

  // A player's match: two sessions booked on one server of this fleet, which reports them.
  expireAllocationSnapshot(fleet, clock);
  const booked = await call(fleet, 'ACIAllocate', { fleet: name, sessions: 2, requestId: `${name}-match-1` });
  assert.equal(booked.status, 200, JSON.stringify(booked.body));
  assert.equal(booked.body.Fleet, name);
  assert.equal(booked.body.Revision, 1);
  const busy = (await serversOf(name)).find((s) => s.containerGroupName === booked.body.ContainerGroupName)!;
  clock.advance(fleet.settings.ALLOCATION_REPORT_GRACE_SECONDS * 1000 + 1);
  assert.equal((await report(busy, 2)).body.outdated, false);

  // The new build.
  options.faults?.();
  const updated = await put(name, { template: template('example/game:2'), replicas: 3 });
  assert.equal(updated.status, 200);
  assert.equal(updated.body.Revision, 2);
  const again = await put(name, { replicas: 3, template: template('example/game:2') }); // same body, keys in another order
  assert.equal(again.status, 200);
  assert.equal(again.body.Revision, 2, 'a repeated PUT is a no-op');
  assert.equal(again.body.UpdatedAt, updated.body.UpdatedAt, 'nothing was written');
  assert.equal(again.headers.get('etag'), updated.headers.get('etag'));

  // The busy server learns it is outdated: it can wind its players down.
  const told = await report(busy, 2);
  assert.deepEqual([told.body.state, told.body.outdated, told.body.draining, told.body.revision], ['Running', true, true, 1]);

  let sawRevision2Booking = false;
  let upOnce = false;
  await eventually(async () => {
    await turn(options);
    const servers = await serversOf(name);
    const running = servers.filter((s) => s.state === 'Running').length;
    assert.ok(servers.filter(alive).length <= 4, `at most 3 + maxSurge serving or starting: ${servers.map((s) => s.state)}`);
    if (upOnce) assert.ok(running >= 3, `never fewer than 3 Running (maxUnavailable 0): ${running}`);
    upOnce ||= running >= 3;
    const still = servers.find((s) => s.containerGroupName === busy.containerGroupName);
    assert.ok(still, 'the server holding sessions is never deleted while they last');
    assert.equal(still.activeSessions, 2);
    // New bookings land on revision 2 as soon as one of it runs.
    if (!sawRevision2Booking && servers.some((s) => s.revision === 2 && s.state === 'Running')) {
      expireAllocationSnapshot(fleet, clock);
      const next = await call(fleet, 'ACIAllocate', { fleet: name, requestId: `${name}-match-2` });
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.equal(next.body.Revision, 2, 'a new booking never lands on revision 1 while revision 2 has room');
      sawRevision2Booking = true;
    }
    const rev2 = servers.filter((s) => s.revision === 2 && s.state === 'Running').length;
    const old = servers.filter((s) => s.revision === 1);
    return rev2 === 3 && old.length === 1 && old[0]!.state === 'MarkedForDeletion';
  }, 'every server but the busy one replaced, and it drained');
  assert.ok(sawRevision2Booking);

  // The busy server waits, drained, for its players; the rollout is not done while it is there.
  const waiting = (await get(name)).body;
  assert.equal(waiting.Status.State, 'Progressing');
  assert.equal(waiting.Status.Outdated, 1);
  assert.equal(waiting.Status.OutdatedSessions, 2);
  assert.equal((await serversOf(name)).find((s) => s.containerGroupName === busy.containerGroupName)?.state, 'MarkedForDeletion');
  const drained = await report(busy, 2);
  assert.deepEqual([drained.body.state, drained.body.acceptingSessions, drained.body.draining], ['MarkedForDeletion', false, true]);

  // The match ends: ACIGC deletes the server, and the rollout completes.
  await report(busy, 0);
  await eventually(async () => {
    await turn(options);
    return (await get(name)).body.Status.State === 'Complete';
  }, 'rollout Complete');
  await turn(options); // the controller's next run sees it complete, and notes when
  const done = (await get(name)).body;
  assert.equal(done.Status.Ready, 3);
  assert.equal(done.Status.Outdated, 0);
  assert.ok(done.Status.CompletedAt, JSON.stringify(done.Status));
  assert.deepEqual(
    (await serversOf(name)).map((s) => [s.revision, s.state]),
    [
      [2, 'Running'],
      [2, 'Running'],
      [2, 'Running'],
    ],
  );
  return { busy };
}

async function deleteFleet(name: string, options: { reconcile?: boolean } = {}) {
  const deleting = await call(fleet, `fleets/${name}`, undefined, { method: 'DELETE' });
  assert.equal(deleting.status, 202, JSON.stringify(deleting.body));
  assert.equal(deleting.body.Status.State, 'Deleting');
  assert.ok(
    (await serversOf(name)).every((s) => s.state === 'MarkedForDeletion'),
    'DELETE drains every server at once',
  );
  assert.equal((await put(name, { template: template('example/game:3'), replicas: 1 })).status, 409, 'no PUT while deleting');
  await eventually(async () => {
    await turn(options);
    return (await get(name)).status === 404;
  }, 'fleet gone');
  assert.deepEqual(await serversOf(name), []);
}

describe('a rolling update on the local fleet', () => {
  it('rolls 3 servers from image:1 to image:2 without cutting a session; DELETE drains the fleet', async () => {
    await rollingUpdate('web');
    // The servers' containers run the new image, and carry the fleet's tags.
    const groups = fleet.emulator.groups().filter((g) => g.tags?.['aci-fleet.fleet'] === 'web');
    assert.equal(groups.length, 3);
    for (const g of groups) {
      assert.equal(g.properties.containers[0]!.properties.image, 'example/game:2');
      assert.equal(g.tags?.['aci-fleet.revision'], '2');
    }
    await deleteFleet('web');
  });

  it('does the same under ARM 429/500 bursts and dropped Event Grid events, repaired by reconcile', async () => {
    await rollingUpdate('web-faults', {
      reconcile: true,
      faults: () =>
        fleet.emulator.faults.set({
          dropEvents: 3,
          // Carried out, then answered 500 three times: the create's outcome is unknown to the fleet.
          failRequests: { status: 500, count: 3, methods: ['PUT'], afterApply: true },
        }),
    });
    fleet.emulator.faults.set({ failRequests: { status: 429, count: 2, methods: ['PUT', 'DELETE'] }, dropEvents: 2 });
    await deleteFleet('web-faults', { reconcile: true });
    const stats = fleet.emulator.faults.stats();
    fleet.emulator.faults.clear();
    assert.ok(stats.droppedEvents >= 5 && stats.failedRequests >= 5, JSON.stringify(stats));
    // No group was created twice, and none is left behind.
    assert.equal(fleet.emulator.groups().filter((g) => g.tags?.['aci-fleet.fleet'] === 'web-faults').length, 0);
  });
});

/** A fleet of 2 servers of revision 1 in `arena`, both Running. */
async function twoRunning(name: string): Promise<void> {
  assert.equal((await put(name, { template: template('example/game:1', 'arena'), replicas: 2 })).status, 201);
  await eventually(async () => {
    await turn();
    return (await serversOf(name)).filter((s) => s.state === 'Running').length === 2;
  }, `${name} Running`);
}

describe('a bad revision', () => {
  it('pauses the rollout without draining an old server, says why, and a corrected PUT resumes it', async () => {
    await twoRunning('arena');

    // An image that does not pull (the emulator fails any image named so).
    assert.equal((await put('arena', { template: template('example/game:2-fail', 'arena'), replicas: 2 })).body.Revision, 2);
    await eventually(async () => {
      await turn();
      return (await get('arena')).body.Status.State === 'Paused';
    }, 'rollout Paused');
    for (let i = 0; i < 3; i++) await turn(); // it stays paused, creating nothing more
    const paused = (await get('arena')).body.Status;
    assert.match(
      paused.Reason,
      /revision 2 failed \(arena\/arena-[a-z0-9]+: Failed to pull image "example\/game:2-fail".*PUT a corrected template/,
    );
    const servers = await serversOf('arena');
    assert.deepEqual(
      servers.filter((s) => s.revision === 1).map((s) => s.state),
      ['Running', 'Running'],
      'the old servers are kept',
    );
    assert.equal(servers.filter((s) => s.revision === 2).length, 1, 'one surge server failed, and no more were tried');

    // The fix: revision 3 rolls out, and the failed server is cleaned up.
    assert.equal((await put('arena', { template: template('example/game:3', 'arena'), replicas: 2 })).body.Revision, 3);
    await eventually(async () => {
      await turn();
      return (await get('arena')).body.Status.State === 'Complete';
    }, 'rollout to revision 3 Complete');
    assert.deepEqual(
      (await serversOf('arena')).map((s) => [s.revision, s.state]),
      [
        [3, 'Running'],
        [3, 'Running'],
      ],
    );
    await deleteFleet('arena');
  });
});

describe("ACI's quota in the region used up", () => {
  // A region of its own, so that only this fleet's groups count against the quota.
  const north = (image: string) => {
    const t = template(image);
    return { ...t, containerGroup: { ...t.containerGroup, location: 'northeurope' } };
  };

  it('a rollout at the quota goes on as old servers give way (maxUnavailable), is never Paused, and ends Complete', async () => {
    assert.equal((await put('atquota', { template: north('example/game:1'), replicas: 2 })).status, 201);
    await eventually(async () => {
      await turn();
      return (await serversOf('atquota')).filter((s) => s.state === 'Running').length === 2;
    }, 'atquota Running');
    fleet.emulator.quota.containerGroups = 2;
    try {
      const rollout = { maxSurge: 1, maxUnavailable: 1 };
      assert.equal((await put('atquota', { template: north('example/game:2'), replicas: 2, rollout })).body.Revision, 2);
      await turn();
      const during = (await get('atquota')).body.Status;
      assert.equal(during.State, 'Progressing', JSON.stringify(during));
      assert.match(
        during.Reason,
        /quota 'ContainerGroups' exceeded in region 'northeurope'\. Limit: '2', Usage: '2'.*So 1 server\(s\) on their way out free their share/,
      );
      const seen = new Set<string>();
      await eventually(async () => {
        await turn();
        const status = (await get('atquota')).body.Status;
        seen.add(status.State);
        return status.State === 'Complete' && status.Ready === 2;
      }, 'atquota Complete');
      assert.deepEqual([...seen].sort(), ['Complete', 'Progressing']);
      assert.deepEqual(
        (await serversOf('atquota')).filter(alive).map((s) => [s.revision, s.state]),
        [
          [2, 'Running'],
          [2, 'Running'],
        ],
      );
      assert.doesNotMatch((await get('atquota')).body.Status.Reason, /quota/, 'the note goes once the creates went through');

      // A create by hand over the quota: a 409 in ARM's words, and no row is left of it.
      const key = { resourceGroup: 'games', containerGroupName: 'over-quota' };
      const res = await call(fleet, 'ACICreate', { ...key, containerGroup: north('example/game:2').containerGroup });
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'AzureQuotaReached');
      assert.match(res.body.error.message, /quota for container groups is used up.*Limit: '2', Usage: '2' Requested: '1'/);
      assert.equal(await fleet.services.store.get(key), undefined);
    } finally {
      fleet.emulator.quota.containerGroups = undefined;
    }
    await deleteFleet('atquota');
  });
});

describe('a revision Azure refuses to create', () => {
  it('pauses with ARM’s words, keeps the old servers, stops asking ARM, tries again later, and a corrected PUT resumes it', async () => {
    await twoRunning('refused');

    // ACI refuses the PUT of an image its registry lacks (400 InaccessibleImage); the emulator does so for "missing".
    assert.equal((await put('refused', { template: template('example/game:2-missing', 'arena'), replicas: 2 })).body.Revision, 2);
    await turn();
    const paused = (await get('refused')).body.Status;
    assert.equal(paused.State, 'Paused');
    assert.match(
      paused.Reason,
      /revision 2: Azure refused to create its servers \(.*'example\/game:2-missing'.*is not accessible.*PUT a corrected template/,
    );
    for (let i = 0; i < 3; i++) await turn();
    assert.equal((await get('refused')).body.Status.Reason, paused.Reason, 'no create was tried again (it would have been refused anew)');
    assert.deepEqual(
      (await serversOf('refused')).map((s) => [s.revision, s.state]),
      [
        [1, 'Running'],
        [1, 'Running'],
      ],
      'the old servers are kept, and no row is left of the refused creates',
    );

    // Past the retry time it asks again; still refused, it says so with the next time.
    clock.advance(REFUSED_RETRY_MS);
    await turn();
    const again = (await get('refused')).body.Status;
    assert.equal(again.State, 'Paused');
    assert.notEqual(again.Reason, paused.Reason);

    assert.equal((await put('refused', { template: template('example/game:3', 'arena'), replicas: 2 })).body.Revision, 3);
    await eventually(async () => {
      await turn();
      return (await get('refused')).body.Status.State === 'Complete';
    }, 'rollout to revision 3 Complete');
    await deleteFleet('refused');
  });
});

describe('servers made by hand for a fleet', () => {
  it('ACICreate with a fleet makes the server from its current template; an unknown fleet is a 404', async () => {
    assert.equal((await put('hand', { template: template('example/hand:1') })).status, 201);
    const res = await call(fleet, 'ACICreate', { resourceGroup: 'games', containerGroupName: 'hand-1', fleet: 'hand' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual([res.body.Fleet, res.body.Revision, res.body.Image, res.body.MaxSessions], ['hand', 1, 'example/hand:1', 4]);
    const unknown = await call(fleet, 'ACICreate', { resourceGroup: 'games', containerGroupName: 'hand-2', fleet: 'nope' });
    assert.equal(unknown.status, 404);
    assert.equal(
      (await call(fleet, 'ACICreate', { resourceGroup: 'games', containerGroupName: 'hand-3' })).status,
      400,
      'a spec or a fleet',
    );

    // Without replicas or autoscaler the controller keeps it (sized by hand), and a new template replaces it one for one.
    await turn();
    assert.equal((await serversOf('hand')).length, 1);
    await put('hand', { template: template('example/hand:2') });
    await eventually(async () => {
      await turn();
      const s = await serversOf('hand');
      return s.length === 1 && s[0]!.revision === 2 && s[0]!.state === 'Running';
    }, 'hand-made server replaced');
    await deleteFleet('hand');
  });

  it('ACIAllocate with a fleet books only its servers, and 404s for a fleet nobody defined', async () => {
    await put('pool', { template: template('example/pool:1'), replicas: 1 });
    await eventually(async () => {
      await turn();
      return (await serversOf('pool')).some((s) => s.state === 'Running');
    }, 'pool Running');
    expireAllocationSnapshot(fleet, clock);
    const booked = await call(fleet, 'ACIAllocate', { fleet: 'pool', sessions: 4 });
    assert.equal(booked.body.Fleet, 'pool');
    const full = await call(fleet, 'ACIAllocate', { fleet: 'pool' });
    assert.equal(full.status, 503, 'the only server of the fleet is full; no other fleet lends one');
    assert.equal((await call(fleet, 'ACIAllocate', { fleet: 'nobody' })).status, 404);
    await deleteFleet('pool');
  });
});

describe('fleets API: bad input writes nothing', () => {
  const good = () => ({ template: template('example/game:1'), replicas: 1 });
  const cases: Array<[what: string, body: unknown, field: string]> = [
    ['a missing template', { replicas: 1 }, 'template'],
    [
      'a template without containers',
      { template: { ...template('x'), containerGroup: { ...template('x').containerGroup, containers: [] } } },
      'template.containerGroup.containers',
    ],
    ['negative replicas', { ...good(), replicas: -1 }, 'replicas'],
    ['both replicas and autoscaler', { ...good(), autoscaler: { minimumInstances: 1 } }, 'autoscaler'],
    ['maxSurge 0 with maxUnavailable 0', { ...good(), rollout: { maxSurge: 0, maxUnavailable: 0 } }, 'rollout.maxSurge'],
    ['maxSurge "0%" (maxUnavailable defaults to 0)', { ...good(), rollout: { maxSurge: '0%' } }, 'rollout.maxSurge'],
    ['a resource group outside FLEET_RESOURCE_GROUPS', { ...good(), template: template('x', 'elsewhere') }, 'template.resourceGroup'],
    ['an unknown field', { ...good(), replica: 3 }, ''],
    ['a minimum above the maximum', { template: template('x'), autoscaler: { minimumInstances: 50 } }, 'autoscaler.minimumInstances'],
    ['a percentage over 100', { ...good(), rollout: { maxSurge: '150%' } }, 'rollout.maxSurge'],
    ['replicas above FLEET_MAX_SERVERS (100 here)', { ...good(), replicas: 101 }, 'replicas'],
    [
      'an autoscaler maximum above FLEET_MAX_SERVERS',
      { template: template('x'), autoscaler: { maximumInstances: 101 } },
      'autoscaler.maximumInstances',
    ],
    [
      "a forged fleet tag (it would move servers to another fleet's revision)",
      {
        ...good(),
        template: { ...template('x'), containerGroup: { ...template('x').containerGroup, tags: { 'Aci-Fleet.Revision': '7' } } },
      },
      'template.containerGroup.tags.Aci-Fleet.Revision',
    ],
  ];
  for (const [what, body, field] of cases) {
    it(`refuses ${what} with a 400 naming ${field || 'the field'}`, async () => {
      const res = await put('bad', body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'ValidationFailed');
      if (field)
        assert.ok(
          res.body.error.details.some((d: any) => d.path === field),
          JSON.stringify(res.body.error.details),
        );
      assert.equal((await get('bad')).status, 404, 'nothing was written');
    });
  }

  it('names the limit when replicas exceed FLEET_MAX_SERVERS', async () => {
    const res = await put('bad', { ...good(), replicas: 101 });
    assert.match(res.body.error.message, /replicas: must be at most 100\b.*FLEET_MAX_SERVERS/);
  });

  it("refuses the fleet's own tags on ACICreate too, naming the tag, and creates nothing", async () => {
    for (const tag of ['aci-fleet', 'aci-fleet.fleet', 'ACI-FLEET.incarnation']) {
      const res = await call(fleet, 'ACICreate', {
        resourceGroup: 'games',
        containerGroupName: 'forged-1',
        containerGroup: { ...template('x').containerGroup, tags: { team: 'a', [tag]: 'web' } },
      });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.ok(
        res.body.error.details.some((d: any) => d.path === `containerGroup.tags.${tag}`),
        JSON.stringify(res.body.error.details),
      );
    }
    assert.equal((await fleet.services.store.list()).filter((r) => r.value.containerGroupName === 'forged-1').length, 0);
  });

  for (const name of ['Web', 'a--b', '-a', 'a-', 'x'.repeat(41), 'a_b', 'a.b']) {
    it(`refuses the name ${JSON.stringify(name)} (not a valid key)`, async () => {
      const res = await put(encodeURIComponent(name), good());
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.ok(res.body.error.details.some((d: any) => d.path === 'name'));
    });
  }

  it('refuses a path that is not one name, malformed JSON, and a body over 64 KiB', async () => {
    assert.equal((await put('a%2Fb', good())).status, 404);
    assert.equal((await put('bad', '{template:')).status, 400);
    const huge = { ...good(), template: { ...template('x'), namePrefix: undefined, pad: 'x'.repeat(70_000) } };
    assert.equal((await put('bad', huge)).status, 413);
    assert.equal((await call(fleet, 'fleets/bad', undefined, { method: 'POST' })).status, 405);
    assert.equal((await get('bad')).status, 404);
  });

  it('refuses the default fleet, which the settings define', async () => {
    assert.equal((await put('default', good())).status, 409);
    assert.equal((await call(fleet, 'fleets/default', undefined, { method: 'DELETE' })).status, 409);
  });

  it('never hands a secret out, and refuses the placeholder sent back', async () => {
    const secret = template('example/game:1');
    (secret.containerGroup.containers[0] as any).environmentVariables = [
      { name: 'API_KEY', secureValue: 'do-not-show' },
      { name: 'MODE', value: 'ranked' },
    ];
    const created = await put('secrets', { template: secret });
    assert.equal(created.status, 201);
    const shown = (await get('secrets')).body;
    assert.ok(!JSON.stringify(shown).includes('do-not-show'));
    assert.equal(shown.Template.containerGroup.containers[0].environmentVariables[0].secureValue, '<redacted>');
    const back = await put('secrets', { template: shown.Template });
    assert.equal(back.status, 400);
    assert.ok(
      back.body.error.details.some((d: any) => d.path === 'template.containerGroup.containers[0].environmentVariables[0].secureValue'),
    );
    assert.equal((await get('secrets')).body.Revision, 1);
    await call(fleet, 'fleets/secrets', undefined, { method: 'DELETE' });
  });
});

describe('fleets API: concurrent writers', () => {
  it('never loses an update: ten concurrent PUTs of ten templates make ten revisions', async () => {
    assert.equal((await put('busy', { template: template('example/busy:0') })).status, 201);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => put('busy', { template: template(`example/busy:${i + 1}`) })));
    for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
    const revisions = answers.map((a) => a.body.Revision).sort((a, b) => a - b);
    assert.deepEqual(revisions, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'each PUT made its own revision');
    const final = (await get('busy')).body;
    assert.equal(final.Revision, 11);
    const last = answers.find((a) => a.body.Revision === 11)!;
    assert.equal(final.Template.containerGroup.containers[0].image, last.body.Template.containerGroup.containers[0].image);
  });

  it('with If-Match, of two writers who read the same version only one wins; the other gets 412', async () => {
    const read = await get('busy');
    const etag = read.headers.get('etag')!;
    const [a, b] = await Promise.all([
      put('busy', { template: template('example/busy:a'), replicas: 0 }, { 'if-match': etag }),
      put('busy', { template: template('example/busy:b'), replicas: 0 }, { 'if-match': etag }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 412]);
    const loser = a.status === 412 ? a : b;
    assert.equal(loser.body.error.code, 'PreconditionFailed');
    assert.equal((await get('busy')).body.Revision, 12);
    assert.equal((await put('busy', { template: template('x') }, { 'if-none-match': '*' })).status, 412, 'If-None-Match: * only creates');
    await call(fleet, 'fleets/busy', undefined, { method: 'DELETE' });
  });
});
