// The ACI emulator driven by the real @azure/arm-containerinstance client (through the runtime's
// client factory), plus the Event Grid deliveries it makes to a local webhook.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ContainerGroup, ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { bearerTokenAuthenticationPolicyName, RestError } from '@azure/core-rest-pipeline';
import { startAciEmulator, type AciEmulator, type EventGridEvent } from '../../runtime/local/aci-emulator';
import { createContainerInstanceClient } from '../../runtime/src/azure/armClient';

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: EventGridEvent[];
}

/** A webhook that records Event Grid deliveries; it can be told to answer an error (500 by default) a few times. */
async function startWebhook() {
  const deliveries: Delivery[] = [];
  let failures = 0;
  let failStatus = 500;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (failures > 0) {
      failures--;
      res.writeHead(failStatus).end();
      return;
    }
    deliveries.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) as EventGridEvent[] });
    res.writeHead(200).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/runtime/webhooks/EventGrid`,
    deliveries,
    failNext(n: number, status = 500) {
      failures = n;
      failStatus = status;
    },
    for(subject: string): Delivery[] {
      return deliveries.filter((d) => d.body[0]?.subject === subject);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function gameServer(overrides: { image?: string; dnsNameLabel?: string } = {}): ContainerGroup {
  return {
    location: 'West Europe',
    tags: { fleet: 'test' },
    osType: 'Linux',
    restartPolicy: 'Never',
    containers: [
      {
        name: 'server',
        image: overrides.image ?? 'example.azurecr.io/game:1.0',
        resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
        ports: [{ port: 7777, protocol: 'UDP' }],
        environmentVariables: [
          { name: 'MODE', value: 'ranked' },
          { name: 'SERVER_TOKEN', secureValue: 's3cret-token' },
        ],
      },
    ],
    ipAddress: {
      type: 'Public',
      ports: [{ port: 7777, protocol: 'UDP' }],
      ...(overrides.dnsNameLabel ? { dnsNameLabel: overrides.dnsNameLabel } : {}),
    },
  };
}

async function restError(p: Promise<unknown>): Promise<RestError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RestError, `expected a RestError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the call to fail');
}

describe('ACI emulator with the real ARM client', () => {
  let emulator: AciEmulator;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  let client: ContainerInstanceManagementClient;
  const log: string[] = [];

  before(async () => {
    webhook = await startWebhook();
    emulator = await startAciEmulator({ provisioningMs: 50, pageSize: 3, eventEndpoint: webhook.url, log: (l) => log.push(l) });
    client = createContainerInstanceClient({
      subscriptionId: emulator.subscriptionId,
      endpoint: emulator.url,
      pollIntervalMs: 10,
      retry: { maxRetries: 0 },
    });
  });

  after(async () => {
    await emulator.close();
    await webhook.close();
  });

  it('answers a PUT with 201, Pending and an Azure-AsyncOperation URL, then ends Running with a public IP and fqdn', async () => {
    const responses: { status: number; headers: Record<string, string>; body: unknown }[] = [];
    const poller = await client.containerGroups.beginCreateOrUpdate('games', 'srv-1', gameServer({ dnsNameLabel: 'srv-1-abc' }), {
      onResponse: (raw) =>
        responses.push({ status: raw.status, headers: raw.headers.toJSON(), body: JSON.parse(raw.bodyAsText ?? 'null') }),
    });
    const first = responses[0]!;
    assert.equal(first.status, 201);
    assert.equal((first.body as { properties: { provisioningState: string } }).properties.provisioningState, 'Pending');
    assert.ok(first.headers['azure-asyncoperation']?.startsWith(`${emulator.url}/subscriptions/`));

    const group = await poller.pollUntilDone();
    assert.equal(group.provisioningState, 'Succeeded');
    assert.equal(group.instanceView?.state, 'Running');
    assert.equal(group.location, 'westeurope');
    assert.deepEqual(group.tags, { fleet: 'test' });
    assert.equal(group.containers[0]?.instanceView?.currentState?.state, 'Running');
    assert.equal(group.containers[0]?.instanceView?.restartCount, 0);
    assert.ok(group.containers[0]?.instanceView?.currentState?.startTime instanceof Date);
    assert.match(group.ipAddress?.ip ?? '', /^203\.0\.113\.([1-9]\d?|1\d\d|2[0-4]\d|25[0-4])$/);
    assert.equal(group.ipAddress?.fqdn, 'srv-1-abc.westeurope.azurecontainer.io');
    assert.equal(
      group.id,
      `/subscriptions/${emulator.subscriptionId}/resourceGroups/games/providers/Microsoft.ContainerInstance/containerGroups/srv-1`,
    );
  });

  it("hands the factory's pollIntervalMs to every long-running operation, in place of the SDK's 2 s default", async (t) => {
    // The factory shadows the begin* methods of the client it builds with ones that add
    // updateIntervalInMs (the SDK's only polling setting) and call the SDK's own. Spy on the SDK's
    // (the prototype's) before building one, and see what each call hands it: no clock involved.
    const sdk = Object.getPrototypeOf(client.containerGroups);
    const spies = {
      create: t.mock.method(sdk, 'beginCreateOrUpdate'),
      delete: t.mock.method(sdk, 'beginDelete'),
      restart: t.mock.method(sdk, 'beginRestart'),
      start: t.mock.method(sdk, 'beginStart'),
    };
    const intervals = (spy: { mock: { calls: Array<{ arguments: unknown[] }> } }) =>
      spy.mock.calls.map((c) => (c.arguments.at(-1) as { updateIntervalInMs?: number } | undefined)?.updateIntervalInMs);
    const options = { subscriptionId: emulator.subscriptionId, endpoint: emulator.url, retry: { maxRetries: 0 } };
    const polled = createContainerInstanceClient({ ...options, pollIntervalMs: 10 }).containerGroups;

    const group = await polled.beginCreateOrUpdateAndWait('polled', 'p-1', gameServer()); // *AndWait calls this.begin*
    assert.equal(group.provisioningState, 'Succeeded');
    await polled.beginDeleteAndWait('polled', 'p-1');
    // The emulator has no restart or start: the calls fail, but only after the SDK got its options.
    await assert.rejects(polled.beginRestart('polled', 'p-1'));
    await assert.rejects(polled.beginStart('polled', 'p-1'));
    assert.deepEqual(intervals(spies.create), [10]);
    assert.deepEqual(intervals(spies.delete), [10]);
    assert.deepEqual(intervals(spies.restart), [10]);
    assert.deepEqual(intervals(spies.start), [10]);

    // A caller's own interval wins; without pollIntervalMs the SDK keeps its default.
    await polled.beginCreateOrUpdateAndWait('polled', 'p-2', gameServer(), { updateIntervalInMs: 1 });
    await createContainerInstanceClient(options).containerGroups.beginCreateOrUpdate('polled', 'p-3', gameServer());
    assert.deepEqual(intervals(spies.create), [10, 1, undefined]);
  });

  it('gives every live group its own public IP', async () => {
    const [a, b] = await Promise.all([
      client.containerGroups.beginCreateOrUpdateAndWait('ips', 'ip-a', gameServer()),
      client.containerGroups.beginCreateOrUpdateAndWait('ips', 'ip-b', gameServer()),
    ]);
    assert.ok(a.ipAddress?.ip && b.ipAddress?.ip);
    assert.notEqual(a.ipAddress.ip, b.ipAddress.ip);
    assert.equal(a.ipAddress.fqdn, undefined, 'no fqdn without a dnsNameLabel');
  });

  it('ends a group whose image contains "fail" as Failed, and the SDK poller rejects with a plain Error', async () => {
    await assert.rejects(
      client.containerGroups.beginCreateOrUpdateAndWait('games', 'broken', gameServer({ image: 'example.azurecr.io/fail:1' })),
      (e: Error) => {
        assert.ok(!(e instanceof RestError), 'core-lro reports a failed operation as a plain Error');
        assert.match(e.message, /^The long-running operation has failed\. InaccessibleImage\. The image 'example\.azurecr\.io\/fail:1'/);
        return true;
      },
    );
    const group = await client.containerGroups.get('games', 'broken');
    assert.equal(group.provisioningState, 'Failed');
    assert.equal(group.instanceView?.state, 'Pending', 'as ContainerGroupsGet_Failed shows it');
    assert.equal(group.ipAddress?.ip, undefined);
    const view = group.containers[0]?.instanceView;
    assert.equal(view?.currentState?.state, 'Waiting');
    assert.equal(view?.currentState?.detailStatus, 'ErrImagePull');
    assert.ok(view?.events?.some((e) => e.type === 'Warning' && e.message?.includes('example.azurecr.io/fail:1')));
  });

  it("answers a PUT beyond the region's quota with 400 ContainerGroupQuotaReached in ACI's words; a deleted group frees its share", async () => {
    const north = (cpu = 1): ContainerGroup => {
      const g = gameServer();
      return {
        ...g,
        location: 'northeurope',
        containers: g.containers.map((c) => ({ ...c, resources: { requests: { cpu, memoryInGB: 1 } } })),
      };
    };
    emulator.quota.containerGroups = 1;
    try {
      await client.containerGroups.beginCreateOrUpdateAndWait('quota', 'first', north());
      const e = await restError(client.containerGroups.beginCreateOrUpdate('quota', 'second', { ...north(), location: 'North Europe' }));
      assert.equal(e.statusCode, 400);
      assert.equal(e.code, 'ContainerGroupQuotaReached');
      assert.equal(
        e.message,
        "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'ContainerGroups' exceeded in region 'northeurope'. Limit: '1', Usage: '1' Requested: '1'.",
      );
      emulator.quota.containerGroups = 0; // lowered below what is used: updates that add nothing still go through
      await client.containerGroups.beginCreateOrUpdateAndWait('quota', 'first', { ...north(), tags: { fleet: 'test', build: '2' } });
      emulator.quota.containerGroups = 1;
      await client.containerGroups.beginCreateOrUpdateAndWait('quota', 'elsewhere', { ...north(), location: 'swedencentral' }); // a quota per region

      emulator.quota.containerGroups = undefined;
      emulator.quota.cores = 2;
      const cores = await restError(client.containerGroups.beginCreateOrUpdate('quota', 'second', north(2)));
      assert.match(cores.message, /quota 'StandardCores' exceeded in region 'northeurope'\. Limit: '2', Usage: '1' Requested: '2'\.$/);
      await client.containerGroups.beginDeleteAndWait('quota', 'first');
      await client.containerGroups.beginCreateOrUpdateAndWait('quota', 'second', north(2));
      emulator.quota.cores = 3;
      await client.containerGroups.beginCreateOrUpdateAndWait('quota', 'third', north(0.1));
      await client.containerGroups.beginCreateOrUpdateAndWait('quota', 'fourth', north(0.2));
      await client.containerGroups.beginCreateOrUpdateAndWait('quota', 'fifth', north(0.7)); // 3 cores in all, not 3.0000000000000004
    } finally {
      emulator.quota.containerGroups = undefined;
      emulator.quota.cores = undefined;
      for (const name of ['first', 'second', 'third', 'fourth', 'fifth', 'elsewhere'])
        await client.containerGroups.beginDeleteAndWait('quota', name);
    }
  });

  it('answers GET of an unknown group with a 404 RestError', async () => {
    const e = await restError(client.containerGroups.get('games', 'nope'));
    assert.equal(e.statusCode, 404);
    assert.equal(e.code, 'ResourceNotFound');
    assert.match(e.message, /containerGroups\/nope' under resource group 'games' was not found/);
  });

  it('answers stop, start and restart of an unknown group with 404, and restart of a stopped one with 409', async () => {
    for (const act of [
      () => client.containerGroups.stop('games', 'nope'),
      () => client.containerGroups.beginStart('games', 'nope'),
      () => client.containerGroups.beginRestart('games', 'nope'),
    ]) {
      assert.equal((await restError(act())).statusCode, 404);
    }
    await client.containerGroups.beginCreateOrUpdateAndWait('games', 'acted', gameServer());
    await client.containerGroups.stop('games', 'acted');
    assert.equal(
      (await restError(client.containerGroups.beginRestart('games', 'acted'))).statusCode,
      409,
      'a stopped group is started, not restarted',
    );
    await client.containerGroups.beginDeleteAndWait('games', 'acted');
  });

  it('rejects invalid specs with a 400 RestError carrying the ARM code', async () => {
    const cases: [string, ContainerGroup, string][] = [
      ['Bad_Name', gameServer(), 'InvalidContainerGroupName'],
      ['-lead', gameServer(), 'InvalidContainerGroupName'],
      ['double--dash', gameServer(), 'InvalidContainerGroupName'],
      ['x'.repeat(64), gameServer(), 'InvalidContainerGroupName'],
      [
        'no-image',
        { ...gameServer(), containers: [{ ...gameServer().containers[0]!, image: undefined as unknown as string }] },
        'MissingRequiredProperty',
      ],
      ['empty-image', { ...gameServer(), containers: [{ ...gameServer().containers[0]!, image: '' }] }, 'MissingRequiredProperty'],
      [
        'no-cpu',
        { ...gameServer(), containers: [{ ...gameServer().containers[0]!, resources: { requests: { cpu: 0, memoryInGB: 1 } } }] },
        'InvalidContainerResourceRequests',
      ],
      ['bad-container', { ...gameServer(), containers: [{ ...gameServer().containers[0]!, name: 'Server' }] }, 'InvalidContainerName'],
      ['twice', { ...gameServer(), containers: [gameServer().containers[0]!, gameServer().containers[0]!] }, 'DuplicateContainerName'],
      ['no-containers', { ...gameServer(), containers: [] }, 'MissingRequiredProperty'],
      ['bad-os', { ...gameServer(), osType: 'Plan9' }, 'InvalidOsType'],
      ['no-ports', { ...gameServer(), ipAddress: { type: 'Public', ports: [] } }, 'MissingIpAddressPorts'],
      ['bad-dns', gameServer({ dnsNameLabel: '1-starts-with-digit' }), 'InvalidDnsNameLabel'],
      ['no-location', { ...gameServer(), location: undefined }, 'LocationRequired'],
    ];
    for (const [name, spec, code] of cases) {
      const e = await restError(client.containerGroups.beginCreateOrUpdate('games', name, spec));
      assert.equal(e.statusCode, 400, name);
      assert.equal(e.code, code, name);
    }
    assert.equal(emulator.groups().filter((g) => g.name === 'no-image').length, 0, 'nothing stored');
  });

  it('rejects a body that is not JSON, and a move to another location', async () => {
    const url = `${emulator.url}/subscriptions/${emulator.subscriptionId}/resourceGroups/games/providers/Microsoft.ContainerInstance/containerGroups/raw?api-version=2023-05-01`;
    const res = await fetch(url, { method: 'PUT', body: '{not json', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'InvalidRequestContent');

    await client.containerGroups.beginCreateOrUpdateAndWait('games', 'mover', gameServer());
    const e = await restError(client.containerGroups.beginCreateOrUpdate('games', 'mover', { ...gameServer(), location: 'eastus' }));
    assert.equal(e.statusCode, 400);
    assert.equal(e.code, 'InvalidResourceLocation');
  });

  it('refuses a request without an api-version, or with one that is not a date, as ARM does', async () => {
    const base = `${emulator.url}/subscriptions/${emulator.subscriptionId}/resourceGroups/games/providers/Microsoft.ContainerInstance/containerGroups`;
    for (const [query, code] of [
      ['', 'MissingApiVersionParameter'],
      ['?api-version=', 'MissingApiVersionParameter'],
      ['?api-version=latest', 'InvalidApiVersionParameter'],
    ] as const) {
      const res = await fetch(`${base}${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, code, query);
    }
    assert.equal((await fetch(`${base}?api-version=2023-05-01`)).status, 200);
    assert.equal((await fetch(`${base}?api-version=2024-05-01-preview`)).status, 200);
  });

  it('lists by resource group and by subscription across several pages', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `page-${i}`);
    await Promise.all(names.map((n) => client.containerGroups.beginCreateOrUpdateAndWait('Paging', n, gameServer())));

    const pageSizes: number[] = [];
    for await (const page of client.containerGroups.listByResourceGroup('paging').byPage()) pageSizes.push(page.length);
    assert.deepEqual(pageSizes, [3, 3, 1]);

    const byGroup: string[] = [];
    for await (const g of client.containerGroups.listByResourceGroup('PAGING')) byGroup.push(g.name!);
    assert.deepEqual(byGroup.sort(), names);

    const all: string[] = [];
    for await (const g of client.containerGroups.list()) all.push(g.id!);
    assert.equal(all.length, emulator.groups().length);
    assert.ok(all.length > 7);
    assert.equal(new Set(all).size, all.length, 'no group twice');
    for (const n of names)
      assert.ok(all.some((id) => id.endsWith(`/resourceGroups/Paging/providers/Microsoft.ContainerInstance/containerGroups/${n}`)));
  });

  it('finds a group whatever the casing of its resource group', async () => {
    await client.containerGroups.beginCreateOrUpdateAndWait('Case-RG', 'cased', gameServer());
    const group = await client.containerGroups.get('case-rg', 'cased');
    assert.match(group.id!, /\/resourceGroups\/Case-RG\//, 'the id keeps the casing it was created with');
  });

  it('re-provisions a group on a second PUT, keeping its IP', async () => {
    const first = await client.containerGroups.beginCreateOrUpdateAndWait('games', 'redo', gameServer());
    const second = await client.containerGroups.beginCreateOrUpdateAndWait(
      'games',
      'redo',
      gameServer({ image: 'example.azurecr.io/game:2.0' }),
    );
    assert.equal(second.provisioningState, 'Succeeded');
    assert.equal(second.containers[0]?.image, 'example.azurecr.io/game:2.0');
    assert.equal(second.ipAddress?.ip, first.ipAddress?.ip);
  });

  it('deletes a group, after which GET and list no longer see it; deleting again succeeds', async () => {
    await client.containerGroups.beginCreateOrUpdateAndWait('doomed', 'gone', gameServer());
    const statuses: number[] = [];
    await client.containerGroups.beginDeleteAndWait('doomed', 'gone', { onResponse: (raw) => statuses.push(raw.status) });
    assert.equal(statuses[0], 202);
    assert.equal(statuses.at(-1), 204);

    assert.equal((await restError(client.containerGroups.get('doomed', 'gone'))).statusCode, 404);
    const left: string[] = [];
    for await (const g of client.containerGroups.listByResourceGroup('doomed')) left.push(g.name!);
    assert.deepEqual(left, []);
    await client.containerGroups.beginDeleteAndWait('doomed', 'gone'); // 204: nothing to delete
  });

  it('returns deterministic logs for a container, honouring tail', async () => {
    await client.containerGroups.beginCreateOrUpdateAndWait('games', 'chatty', gameServer());
    const all = (await client.containers.listLogs('games', 'chatty', 'server')).content ?? '';
    const lines = all.trimEnd().split('\n');
    assert.ok(lines.length > 3);
    assert.ok(lines.every((l) => l.includes('server')));

    const tail = (await client.containers.listLogs('games', 'chatty', 'server', { tail: 3 })).content ?? '';
    assert.deepEqual(tail.trimEnd().split('\n'), lines.slice(-3));

    const e = await restError(client.containers.listLogs('games', 'chatty', 'sidecar'));
    assert.equal(e.statusCode, 404);
  });

  it('never returns a secure environment value', async () => {
    await client.containerGroups.beginCreateOrUpdateAndWait('games', 'secret', gameServer());
    const group = await client.containerGroups.get('games', 'secret');
    const env = group.containers[0]?.environmentVariables ?? [];
    assert.deepEqual(
      env.find((v) => v.name === 'MODE'),
      { name: 'MODE', value: 'ranked' },
    );
    assert.deepEqual(
      env.find((v) => v.name === 'SERVER_TOKEN'),
      { name: 'SERVER_TOKEN' },
    );

    const raw = await fetch(
      `${emulator.url}/subscriptions/${emulator.subscriptionId}/providers/Microsoft.ContainerInstance/containerGroups?api-version=2023-05-01`,
    );
    const listed = await raw.text();
    assert.ok(listed.includes('SERVER_TOKEN'));
    assert.ok(!listed.includes('s3cret-token'));
    assert.ok(!JSON.stringify(emulator.groups()).includes('s3cret-token'));
  });

  it('shows Pending and Deleting while those take time, and joins an identical PUT to the running operation', async (t) => {
    // A group stays Pending until its provisioning timer fires, Deleting until its delete timer
    // does (min(provisioningMs, 200) ms). Those timers run on mocked time here, so they fire when
    // the test ticks, never while a slow machine is still between two requests. (Only setTimeout
    // is mocked, and nothing else this test runs uses it: the HTTP client and server do not.)
    await emulator.idle(); // nothing of the shared emulator may be waiting on a timer meanwhile
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const slow = await startAciEmulator({ provisioningMs: 60_000, log: () => {} });
    try {
      const slowClient = createContainerInstanceClient({ subscriptionId: slow.subscriptionId, endpoint: slow.url, pollIntervalMs: 10 });
      const urls: string[] = [];
      const statuses: number[] = [];
      for (let i = 0; i < 2; i++) {
        await slowClient.containerGroups.beginCreateOrUpdate('slow', 'waiting', gameServer(), {
          onResponse: (raw) => {
            if (raw.request.method !== 'PUT') return;
            statuses.push(raw.status);
            urls.push(raw.headers.get('azure-asyncoperation') ?? '');
          },
        });
      }
      assert.deepEqual(statuses, [201, 200]);
      assert.equal(urls[0], urls[1], 'the retried PUT polls the same operation');

      const group = await slowClient.containerGroups.get('slow', 'waiting');
      assert.equal(group.provisioningState, 'Pending');
      assert.equal(group.instanceView, undefined);
      assert.equal((await slowClient.containers.listLogs('slow', 'waiting', 'server')).content, '', 'nothing started yet');

      // Deletion takes min(provisioningMs, 200) ms.
      await slowClient.containerGroups.beginDelete('slow', 'waiting');
      assert.equal((await slowClient.containerGroups.get('slow', 'waiting')).provisioningState, 'Deleting');
      t.mock.timers.tick(199);
      assert.equal(slow.groups()[0]?.properties.provisioningState, 'Deleting', 'not yet');
      t.mock.timers.tick(1);
      await slow.idle();
      assert.deepEqual(slow.groups(), []);
    } finally {
      await slow.close();
      t.mock.timers.reset();
    }
  });

  describe('Event Grid deliveries', () => {
    const idOf = (rg: string, name: string) =>
      `/subscriptions/${emulator.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;

    function assertEvent(d: Delivery | undefined, rg: string, name: string, eventType: string, op: string, status: string) {
      assert.ok(d, `a delivery for ${eventType}`);
      assert.equal(d.headers['aeg-event-type'], 'Notification');
      assert.match(d.headers['content-type'] ?? '', /^application\/json/);
      assert.equal(d.body.length, 1);
      const [e] = d.body;
      assert.ok(e);
      assert.equal(e.eventType, eventType);
      assert.equal(e.topic, `/subscriptions/${emulator.subscriptionId}/resourceGroups/${rg}`);
      assert.equal(e.subject, idOf(rg, name));
      assert.equal(e.dataVersion, '2');
      assert.equal(e.metadataVersion, '1');
      assert.match(e.id, /^[0-9a-f-]{36}$/);
      assert.ok(!Number.isNaN(Date.parse(e.eventTime)));
      assert.equal(e.data.resourceProvider, 'Microsoft.ContainerInstance');
      assert.equal(e.data.resourceUri, idOf(rg, name));
      assert.equal(e.data.operationName, `Microsoft.ContainerInstance/containerGroups/${op}`);
      assert.equal(e.data.status, status);
      assert.equal(e.data.subscriptionId, emulator.subscriptionId);
      assert.match(e.data.correlationId, /^[0-9a-f-]{36}$/);
    }

    it('sends ResourceWriteSuccess, then ResourceDeleteSuccess', async () => {
      await client.containerGroups.beginCreateOrUpdateAndWait('events', 'ok', gameServer());
      await emulator.idle();
      const writes = webhook.for(idOf('events', 'ok'));
      assert.equal(writes.length, 1);
      assertEvent(writes[0], 'events', 'ok', 'Microsoft.Resources.ResourceWriteSuccess', 'write', 'Succeeded');
      assert.equal(writes[0]!.body[0]!.data.httpRequest.method, 'PUT');

      await client.containerGroups.beginDeleteAndWait('events', 'ok');
      await emulator.idle();
      const all = webhook.for(idOf('events', 'ok'));
      assert.equal(all.length, 2);
      assertEvent(all[1], 'events', 'ok', 'Microsoft.Resources.ResourceDeleteSuccess', 'delete', 'Succeeded');
      assert.equal(all[1]!.body[0]!.data.httpRequest.method, 'DELETE');
    });

    it('sends ResourceWriteFailure for a failed provisioning', async () => {
      await assert.rejects(client.containerGroups.beginCreateOrUpdateAndWait('events', 'bad', gameServer({ image: 'fail' })));
      await emulator.idle();
      const got = webhook.for(idOf('events', 'bad'));
      assert.equal(got.length, 1);
      assertEvent(got[0], 'events', 'bad', 'Microsoft.Resources.ResourceWriteFailure', 'write', 'Failed');
    });

    it('retries a delivery the webhook refused', async () => {
      webhook.failNext(2);
      await client.containerGroups.beginCreateOrUpdateAndWait('events', 'retried', gameServer());
      await emulator.idle();
      const got = webhook.for(idOf('events', 'retried'));
      assert.equal(got.length, 1);
      assert.equal(got[0]!.headers['aeg-delivery-count'], '2');
      assert.ok(log.some((l) => l.includes('delivery 1/') && l.includes('HTTP 500')));
    });

    for (const status of [400, 401, 403, 413]) {
      it(`gives up at once on a ${status}, as Event Grid does (it would be refused again)`, async () => {
        webhook.failNext(1, status);
        const name = `refused-${status}`;
        await client.containerGroups.beginCreateOrUpdateAndWait('events', name, gameServer());
        await emulator.idle();
        assert.equal(webhook.for(idOf('events', name)).length, 0);
        assert.ok(log.some((l) => l.includes(`${name}`) && l.includes(`HTTP ${status}`) && l.includes('not retried')));
      });
    }

    it('sends nothing for a group removed out of band', async () => {
      await client.containerGroups.beginCreateOrUpdateAndWait('events', 'drift', gameServer());
      await emulator.idle();
      assert.equal(emulator.removeOutOfBand('EVENTS', 'drift'), true);
      assert.equal(emulator.removeOutOfBand('events', 'drift'), false);
      await emulator.idle();
      assert.equal(webhook.for(idOf('events', 'drift')).length, 1, 'only the write');
      assert.equal((await restError(client.containerGroups.get('events', 'drift'))).statusCode, 404);
    });
  });
});

describe('createContainerInstanceClient', () => {
  const hasBearerPolicy = (c: ContainerInstanceManagementClient) =>
    c.pipeline.getOrderedPolicies().some((p) => p.name === bearerTokenAuthenticationPolicyName);

  it("keeps bearer authentication over https, asking for the endpoint's .default scope", async () => {
    const scopes: (string | string[])[] = [];
    const client = createContainerInstanceClient({
      subscriptionId: '11111111-1111-1111-1111-111111111111',
      endpoint: 'https://127.0.0.1:1/',
      credential: {
        getToken: async (s) => {
          scopes.push(s);
          return { token: 't', expiresOnTimestamp: Date.now() + 60_000 };
        },
      },
      retry: { maxRetries: 0 },
    });
    assert.ok(hasBearerPolicy(client));
    await assert.rejects(client.containerGroups.get('rg', 'x')); // nothing listens on port 1
    assert.deepEqual(scopes.flat(), ['https://127.0.0.1:1/.default']);
  });

  it('drops bearer authentication for a plain http (emulator) endpoint', () => {
    const client = createContainerInstanceClient({ subscriptionId: 'sub', endpoint: 'http://127.0.0.1:1' });
    assert.ok(!hasBearerPolicy(client));
  });
});
