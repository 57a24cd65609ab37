// Every HTTP function through the local host, against Azurite and the ACI emulator (real SDK clients).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { createContainerInstanceClient } from '../../runtime/src/azure/armClient';
import type { ServerStore } from '../../runtime/src/domain/servers/ports';
import { ServerService } from '../../runtime/src/domain/servers/serverService';
import { call, createBody, eventually, newServer, startTestFleet, type LocalFleet } from '../support/localFleet';
import { serverRecord } from '../support/records';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet();
});
after(() => fleet?.stop());

const listAll = async () => (await call(fleet, 'ACIList', undefined, { query: { state: 'all' } })).body as any[];
const serverOf = async (name: string) => (await listAll()).find((s) => s.ContainerGroupName === name);
const running = (name: string) =>
  eventually(async () => {
    const s = await serverOf(name);
    return s?.State === 'Running' && s;
  }, `${name} Running`);

describe('ACICreate', () => {
  it('answers 202 with a Creating server, and the monitor makes it Running with its public IP', async () => {
    const res = await call(fleet, 'ACICreate', createBody('gs-create', { maxSessions: 12 }));
    assert.equal(res.status, 202);
    assert.equal(res.body.State, 'Creating');
    assert.equal(res.body.MaxSessions, 12);
    const server = await running('gs-create');
    assert.match(server.PublicIP, /^203\.0\.113\.\d+$/);
    assert.equal(server.CPU, 1);
    assert.equal(server.RAM, 1.5);
  });

  it("tags the group as the fleet's and tells its containers who they are", async () => {
    await call(fleet, 'ACICreate', createBody('gs-tagged'));
    const group = await eventually(async () => fleet.emulator.groups().find((g) => g.name === 'gs-tagged'), 'group');
    assert.equal(group.tags?.['aci-fleet'], fleet.settings.FLEET_NAME);
    const env = (group.properties.containers[0]!.properties.environmentVariables ?? []) as Array<{ name: string; value?: string }>;
    assert.deepEqual(
      env.filter((v) => v.name === 'RESOURCE_GROUP' || v.name === 'CONTAINER_GROUP_NAME').map((v) => [v.name, v.value]),
      [
        ['RESOURCE_GROUP', 'games'],
        ['CONTAINER_GROUP_NAME', 'gs-tagged'],
      ],
    );
  });

  it('is idempotent: the same spec again is 200 with the existing server, another spec is 409', async () => {
    const body = createBody('gs-idem');
    assert.equal((await call(fleet, 'ACICreate', body)).status, 202);
    const again = await call(fleet, 'ACICreate', body);
    assert.equal(again.status, 200);
    assert.equal(again.body.ContainerGroupName, 'gs-idem');
    const other = await call(fleet, 'ACICreate', createBody('gs-idem', { maxSessions: 99 }));
    assert.equal(other.status, 409);
    assert.equal(other.body.error.code, 'Conflict');
  });

  it('is idempotent under a race too: a repeat that read no row before the first create reached ARM is a 200, not a 409', async () => {
    // Staged: the repeat's first read of the row comes just before the original create writes
    // its row and its group, so the repeat then finds the group in ARM (20 repeats at once did this).
    const name = 'gs-idem-race';
    let staged = false;
    const store: ServerStore = Object.create(fleet.services.store);
    store.get = async (key) => {
      if (!staged && key.containerGroupName === name) {
        staged = true;
        assert.equal((await call(fleet, 'ACICreate', createBody(name))).status, 202);
        return undefined;
      }
      return fleet.services.store.get(key);
    };
    const repeat = await new ServerService({ store, groups: fleet.services.groups, options: fleet.services.options }).create(
      newServer(name),
    );
    assert.ok(staged, 'the race was staged');
    assert.equal(repeat.created, false);
    assert.equal(repeat.server.ContainerGroupName, name);
    // A group of this fleet with no row at all is still refused.
    const other = await new ServerService({
      store: Object.assign(Object.create(fleet.services.store) as ServerStore, { get: async () => undefined }),
      groups: fleet.services.groups,
      options: fleet.services.options,
    })
      .create(newServer(name))
      .catch((e) => e);
    assert.equal(other.code, 'Conflict');
  });

  it('ends Failed, with the reason, when the image cannot start', async () => {
    const body = createBody('gs-broken');
    body.containerGroup.containers[0]!.image = 'example/fail-on-purpose:1';
    assert.equal((await call(fleet, 'ACICreate', body)).status, 202);
    const server = await eventually(async () => {
      const s = await serverOf('gs-broken');
      return s?.State === 'Failed' && s;
    }, 'Failed');
    assert.ok(server.FailureReason);
  });

  it('passes on ARM’s 400 for an image its registry lacks (InaccessibleImage, refused at PUT as ACI does), writing nothing', async () => {
    const body = createBody('gs-missing');
    body.containerGroup.containers[0]!.image = 'example/missing:1';
    const res = await call(fleet, 'ACICreate', body);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'AzureRequestRejected');
    assert.equal(res.body.error.details.armCode, 'InaccessibleImage');
    assert.match(res.body.error.message, /'example\/missing:1' in container group 'gs-missing' is not accessible/);
    assert.equal(await serverOf('gs-missing'), undefined);
    assert.equal(
      fleet.emulator.groups().find((g) => g.name === 'gs-missing'),
      undefined,
    );
  });

  it('runs a server in a resource group named in another script (ARM allows it): created, Running through its event, reported', async () => {
    const res = await call(fleet, 'ACICreate', createBody('gs-unicode', {}, 'Spiele-München'));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.ResourceGroup, 'spiele-münchen');
    const server = await eventually(async () => {
      const s = (await listAll()).find((x) => x.ContainerGroupName === 'gs-unicode');
      return s?.State === 'Running' && s;
    }, 'gs-unicode Running');
    assert.equal(server.ResourceGroup, 'spiele-münchen');
    const reported = await call(fleet, 'ACISetSessions', [
      { resourceGroup: 'spiele-münchen', containerGroupName: 'gs-unicode', activeSessions: 2 },
    ]);
    assert.equal(reported.status, 200, JSON.stringify(reported.body));
  });

  it('refuses a name already used by a group the fleet does not own, writing nothing', async () => {
    const arm = createContainerInstanceClient({
      subscriptionId: fleet.emulator.subscriptionId,
      endpoint: fleet.emulator.url,
      pollIntervalMs: 10,
    });
    await arm.containerGroups.beginCreateOrUpdateAndWait('games', 'not-ours', {
      location: 'westeurope',
      osType: 'Linux',
      containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
    });
    const res = await call(fleet, 'ACICreate', createBody('not-ours'));
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'NotOwnedByFleet');
    assert.equal(await serverOf('not-ours'), undefined);
  });

  const badBodies: Array<[string, unknown, number, string]> = [
    ["the seed's Postman body with unquoted keys", '{ resourceGroup: "x" }', 400, 'InvalidJson'],
    ['an empty body', '', 400, 'InvalidJson'],
    ['a JSON array', [], 400, 'ValidationFailed'],
    ['a name ARM would reject', createBody('Bad_Name'), 400, 'ValidationFailed'],
    [
      'a container without resources',
      createBody('gs-x', { containerGroup: { location: 'westeurope', osType: 'Linux', containers: [{ name: 'c', image: 'i' }] } }),
      400,
      'ValidationFailed',
    ],
    ['a negative maxSessions', createBody('gs-x', { maxSessions: -1 }), 400, 'ValidationFailed'],
    ['a body over 64 KiB', createBody('gs-x', { padding: 'x'.repeat(70_000) }), 413, 'PayloadTooLarge'],
  ];
  for (const [what, body, status, code] of badBodies) {
    it(`answers ${what} with ${status} ${code} and writes nothing`, async () => {
      const before = (await listAll()).length;
      const res = await call(fleet, 'ACICreate', body);
      assert.equal(res.status, status);
      assert.equal(res.body.error.code, code);
      assert.ok(res.body.error.message.length > 10);
      assert.equal((await listAll()).length, before);
    });
  }
});

describe('a group stopped, started or restarted outside the fleet (az container stop/start/restart)', () => {
  const arm = () =>
    createContainerInstanceClient({ subscriptionId: fleet.emulator.subscriptionId, endpoint: fleet.emulator.url, pollIntervalMs: 10 });

  it('a stop leaves service at once through its ResourceActionSuccess event (no reconcile), and bookings skip it', async () => {
    await call(fleet, 'ACICreate', createBody('gs-stopped'));
    await running('gs-stopped');
    await arm().containerGroups.stop('games', 'gs-stopped');
    const failed = await eventually(async () => {
      const s = await serverOf('gs-stopped');
      return s?.State === 'Failed' && s;
    }, 'gs-stopped Failed');
    assert.match(failed.FailureReason, /stopped/i);
    const booking = await call(fleet, 'ACIAllocate', { resourceGroup: 'games', sessions: 1 });
    assert.notEqual(booking.body?.ContainerGroupName, 'gs-stopped');
  });

  it('a restart of a Running group keeps the server Running; start and restart are long-running where the spec says so', async () => {
    await call(fleet, 'ACICreate', createBody('gs-restarted'));
    const before = await running('gs-restarted');
    await arm().containerGroups.beginRestartAndWait('games', 'gs-restarted');
    await fleet.emulator.idle(); // its event delivered and handled
    assert.equal((await serverOf('gs-restarted')).State, 'Running');
    const group = await arm().containerGroups.get('games', 'gs-restarted');
    assert.equal(group.instanceView?.state, 'Running');
    assert.equal(group.ipAddress?.ip, before.PublicIP);
    await arm().containerGroups.stop('games', 'gs-restarted');
    assert.equal((await arm().containerGroups.get('games', 'gs-restarted')).instanceView?.state, 'Stopped');
    assert.equal((await arm().containerGroups.get('games', 'gs-restarted')).ipAddress?.ip, undefined, 'a stopped group gives up its IP');
    await arm().containerGroups.beginStartAndWait('games', 'gs-restarted');
    assert.equal((await arm().containerGroups.get('games', 'gs-restarted')).instanceView?.state, 'Running');
  });
});

describe('host rules', () => {
  it('answers 401 JSON without the key, and accepts it as the code query parameter', async () => {
    const res = await call(fleet, 'ACIList', undefined, { key: null });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'Unauthorized');
    const withCode = await call(fleet, 'ACIList', undefined, { key: null, query: { code: fleet.key } });
    assert.equal(withCode.status, 200);
  });

  it('answers a wrong method with 405 and the allowed ones', async () => {
    const res = await call(fleet, 'ACICreate', undefined, { method: 'GET' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
  });
});

describe('ACIList', () => {
  it('lists Running servers by default and rejects an unknown state', async () => {
    await call(fleet, 'ACICreate', createBody('gs-list'));
    await running('gs-list');
    const res = await call(fleet, 'ACIList');
    assert.equal(res.status, 200);
    assert.ok(res.body.every((s: any) => s.State === 'Running'));
    assert.ok(res.body.some((s: any) => s.ContainerGroupName === 'gs-list'));
    const bad = await call(fleet, 'ACIList', undefined, { query: { state: 'Sleeping' } });
    assert.equal(bad.status, 400);
  });
});

describe('ACISetSessions', () => {
  before(async () => {
    await call(fleet, 'ACICreate', createBody('gs-s1'));
    await call(fleet, 'ACICreate', createBody('gs-s2'));
    await running('gs-s1');
    await running('gs-s2');
  });

  it('records a batch and stamps the report time', async () => {
    const res = await call(fleet, 'ACISetSessions', [
      { resourceGroup: 'games', containerGroupName: 'gs-s1', activeSessions: 3 },
      { resourceGroup: 'Games', containerGroupName: 'gs-s2', activeSessions: 5 },
    ]);
    assert.equal(res.status, 200);
    assert.equal(res.body.updated, 2);
    assert.equal(res.body.transactions, 1);
    const s1 = await serverOf('gs-s1');
    assert.equal(s1.ActiveSessions, 3);
    assert.ok(s1.LastReportAt);
    assert.equal((await serverOf('gs-s2')).ActiveSessions, 5);
  });

  it('writes nothing when one server of the batch is unknown (404) or one count is invalid (400)', async () => {
    const unknown = await call(fleet, 'ACISetSessions', [
      { resourceGroup: 'games', containerGroupName: 'gs-s1', activeSessions: 7 },
      { resourceGroup: 'games', containerGroupName: 'nobody', activeSessions: 1 },
    ]);
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body.error.details, [{ resourceGroup: 'games', containerGroupName: 'nobody' }]);
    const invalid = await call(fleet, 'ACISetSessions', [
      { resourceGroup: 'games', containerGroupName: 'gs-s1', activeSessions: 7 },
      { resourceGroup: 'games', containerGroupName: 'gs-s2', activeSessions: -2 },
    ]);
    assert.equal(invalid.status, 400);
    assert.equal((await serverOf('gs-s1')).ActiveSessions, 3);
  });

  it('a repeat of the same servers goes out in one transaction under the ETags Table Storage answered, and keeps a change made in between', async () => {
    const batch = (s1: number, s2: number) => [
      { resourceGroup: 'games', containerGroupName: 'gs-s1', activeSessions: s1 },
      { resourceGroup: 'games', containerGroupName: 'gs-s2', activeSessions: s2 },
    ];
    assert.equal((await call(fleet, 'ACISetSessions', batch(1, 1))).status, 200);
    // Written without a read, under the ETags of the last write's sub-responses: a wrong one would cost a failed transaction.
    const repeat = await call(fleet, 'ACISetSessions', batch(2, 2));
    assert.deepEqual([repeat.status, repeat.body.updated, repeat.body.transactions], [200, 2, 1]);
    assert.equal(
      (await call(fleet, 'ACISetState', { resourceGroup: 'games', containerGroupName: 'gs-s2', state: 'MarkedForDeletion' })).status,
      200,
    );
    const after = await call(fleet, 'ACISetSessions', batch(4, 5));
    assert.deepEqual([after.status, after.body.updated, after.body.transactions], [200, 2, 2]);
    const s2 = await serverOf('gs-s2');
    assert.deepEqual([s2.State, s2.ActiveSessions, (await serverOf('gs-s1')).ActiveSessions], ['MarkedForDeletion', 5, 4]);
    assert.equal((await call(fleet, 'ACISetState', { resourceGroup: 'games', containerGroupName: 'gs-s2', state: 'Running' })).status, 200);
  });

  it('answers 404 for a kept server whose row was deleted since (the transaction fails on it), writing nothing', async () => {
    const store = fleet.services.store;
    await Promise.all(['gs-kept-a', 'gs-kept-b'].map((n) => store.insert(serverRecord(n))));
    const batch = (n: number) =>
      ['gs-kept-a', 'gs-kept-b'].map((c) => ({ resourceGroup: 'games', containerGroupName: c, activeSessions: n }));
    assert.equal((await call(fleet, 'ACISetSessions', batch(1))).status, 200);
    await store.remove(
      { resourceGroup: 'games', containerGroupName: 'gs-kept-b' },
      (await store.get({ resourceGroup: 'games', containerGroupName: 'gs-kept-b' }))!.etag,
    );
    const res = await call(fleet, 'ACISetSessions', batch(2));
    assert.equal(res.status, 404);
    assert.deepEqual(res.body.error.details, [{ resourceGroup: 'games', containerGroupName: 'gs-kept-b' }]);
    const a = (await store.get({ resourceGroup: 'games', containerGroupName: 'gs-kept-a' }))!;
    assert.equal(a.value.activeSessions, 1, 'nothing written');
    await store.remove(a.value, a.etag);
  });
});

describe('ACISetState', () => {
  it('drains and un-drains a Running server', async () => {
    await call(fleet, 'ACICreate', createBody('gs-state'));
    await running('gs-state');
    const key = { resourceGroup: 'games', containerGroupName: 'gs-state' };
    const drained = await call(fleet, 'ACISetState', { ...key, state: 'MarkedForDeletion' });
    assert.equal(drained.status, 200);
    assert.equal(drained.body.State, 'MarkedForDeletion');
    assert.equal((await call(fleet, 'ACISetState', { ...key, state: 'Running' })).body.State, 'Running');
  });

  it('refuses a Creating server becoming Running by hand (409), an unknown state (400), an unknown server (404)', async () => {
    fleet.emulator.setEventEndpoint(undefined); // keep it Creating
    try {
      await call(fleet, 'ACICreate', createBody('gs-early'));
      const key = { resourceGroup: 'games', containerGroupName: 'gs-early' };
      const res = await call(fleet, 'ACISetState', { ...key, state: 'Running' });
      assert.equal(res.status, 409);
      assert.equal(res.body.error.code, 'InvalidStateTransition');
      assert.equal((await call(fleet, 'ACISetState', { ...key, state: 'Deleting' })).status, 400);
      // Drained and un-drained, it is Creating again: never Running before ARM says so (it has no address).
      assert.equal((await call(fleet, 'ACISetState', { ...key, state: 'MarkedForDeletion' })).status, 200);
      const undrained = await call(fleet, 'ACISetState', { ...key, state: 'Running' });
      assert.deepEqual([undrained.status, undrained.body.State], [200, 'Creating'], JSON.stringify(undrained.body));
      assert.equal(
        (await call(fleet, 'ACISetState', { resourceGroup: 'games', containerGroupName: 'nobody', state: 'Failed' })).status,
        404,
      );
    } finally {
      fleet.emulator.setEventEndpoint(`${fleet.url}/runtime/webhooks/eventgrid?functionName=ACIMonitor&code=${fleet.key}`);
    }
  });

  it('refuses to un-drain a server drained after it failed (409), and leaves it drained', async () => {
    await call(fleet, 'ACICreate', createBody('gs-failed'));
    await running('gs-failed');
    const key = { resourceGroup: 'games', containerGroupName: 'gs-failed' };
    assert.equal((await call(fleet, 'ACISetState', { ...key, state: 'Failed' })).status, 200);
    assert.equal((await call(fleet, 'ACISetState', { ...key, state: 'MarkedForDeletion' })).status, 200);
    const res = await call(fleet, 'ACISetState', { ...key, state: 'Running' });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'InvalidStateTransition');
    assert.match(res.body.error.message, /drained after it failed/);
    assert.equal((await fleet.services.store.get(key))?.value.state, 'MarkedForDeletion');
  });
});

describe('rows edited by hand', () => {
  it('a DrainedFrom that is no state reads as a row from before DrainedFrom: the un-drain works, no 409 or 500', async () => {
    await call(fleet, 'ACICreate', createBody('gs-edited'));
    await running('gs-edited');
    const key = { resourceGroup: 'games', containerGroupName: 'gs-edited' };
    assert.equal((await call(fleet, 'ACISetState', { ...key, state: 'MarkedForDeletion' })).status, 200);
    const table = TableClient.fromConnectionString(fleet.azurite.connectionString, fleet.settings.FLEET_TABLE_NAME, {
      allowInsecureConnection: true,
    });
    await table.updateEntity({ partitionKey: 'games', rowKey: 'gs-edited', DrainedFrom: 'Bogus' }, 'Merge');
    const res = await call(fleet, 'ACISetState', { ...key, state: 'Running' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.State, 'Running');
  });
});

describe('ACIDetails', () => {
  it('returns the group with secure values redacted, and logs on request', async () => {
    const body = createBody('gs-details');
    body.containerGroup.containers[0] = {
      ...body.containerGroup.containers[0]!,
      environmentVariables: [{ name: 'API_SECRET', secureValue: 'hunter2' }],
    } as any;
    await call(fleet, 'ACICreate', body);
    await running('gs-details');
    const key = { resourceGroup: 'games', containerGroupName: 'gs-details' };
    const details = await call(fleet, 'ACIDetails', key);
    assert.equal(details.status, 200);
    assert.equal(details.body.name, 'gs-details');
    assert.ok(!JSON.stringify(details.body).includes('hunter2'));
    const logs = await call(fleet, 'ACIDetails', { ...key, type: 'logs', tail: 2 });
    assert.equal(logs.status, 200);
    assert.equal(typeof logs.body.content, 'string');
    assert.ok(logs.body.content.length > 0);
    assert.equal((await call(fleet, 'ACIDetails', { ...key, type: 'logs', containerName: 'nope' })).status, 404);
    assert.equal((await call(fleet, 'ACIDetails', { resourceGroup: 'games', containerGroupName: 'unknown' })).status, 404);
  });
});

describe('ACIDelete', () => {
  it('moves the server to Deleting, deletes the group, and the monitor removes the row', async () => {
    await call(fleet, 'ACICreate', createBody('gs-delete'));
    await running('gs-delete');
    const res = await call(fleet, 'ACIDelete', { resourceGroup: 'games', containerGroupName: 'gs-delete' });
    assert.equal(res.status, 200);
    assert.equal(res.body.State, 'Deleting');
    await eventually(async () => (await serverOf('gs-delete')) === undefined, 'row removed');
    assert.equal(
      fleet.emulator.groups().find((g) => g.name === 'gs-delete'),
      undefined,
    );
  });

  it('answers 404 for a server the fleet does not know', async () => {
    const res = await call(fleet, 'ACIDelete', { resourceGroup: 'games', containerGroupName: 'never-was' });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'NotFound');
  });

  it("refuses to delete a group that lost the fleet's tag, and leaves it running", async () => {
    await call(fleet, 'ACICreate', createBody('gs-untagged'));
    await running('gs-untagged');
    const arm = createContainerInstanceClient({
      subscriptionId: fleet.emulator.subscriptionId,
      endpoint: fleet.emulator.url,
      pollIntervalMs: 10,
    });
    const group = await arm.containerGroups.get('games', 'gs-untagged');
    fleet.emulator.setEventEndpoint(undefined);
    try {
      await arm.containerGroups.beginCreateOrUpdateAndWait('games', 'gs-untagged', { ...group, tags: {} });
    } finally {
      fleet.emulator.setEventEndpoint(`${fleet.url}/runtime/webhooks/eventgrid?functionName=ACIMonitor&code=${fleet.key}`);
    }
    const res = await call(fleet, 'ACIDelete', { resourceGroup: 'games', containerGroupName: 'gs-untagged' });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'NotOwnedByFleet');
    assert.ok(fleet.emulator.groups().some((g) => g.name === 'gs-untagged'));
    assert.equal((await serverOf('gs-untagged')).State, 'Running');
  });
});
