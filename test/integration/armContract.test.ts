// Azure's REST contract, not our guess of it: the spec's published 2023-05-01 examples
// (test/fixtures/armExamples.ts) go through ACICreate, the ACI emulator and the ARM adapter.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createContainerInstanceClient } from '../../runtime/src/azure/armClient';
import { ArmContainerGroups } from '../../runtime/src/azure/containerGroups';
import type { FleetError } from '../../runtime/src/domain/core/errors';
import { applyObservation, OWNER_TAG } from '../../runtime/src/domain/servers/lifecycle';
import { REFUSED_PROPERTIES } from '../../runtime/src/domain/servers/requests';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import { CREATE_EXAMPLES, EXAMPLE_GROUP, GET_FAILED, GET_PRIORITY, GET_SUCCEEDED, LIST } from '../fixtures/armExamples';
import { flattenContainerGroup, startFakeArm } from '../support/armShapes';
import { call, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';

const API_VERSION = '2023-05-01';
const SUBSCRIPTION = 'subid';
const groupPath = (rg: string, name: string) =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;

const accepted = CREATE_EXAMPLES.filter((e) => e.refused.length === 0);
const refused = CREATE_EXAMPLES.filter((e) => e.refused.length > 0);

/** An example without the properties the fleet refuses (everything else as published). */
function withoutRefused(body: Record<string, any>): Record<string, any> {
  const copy = structuredClone(body);
  for (const property of Object.keys(REFUSED_PROPERTIES)) {
    delete copy[property];
    delete copy.properties[property];
  }
  return copy;
}

describe('the flattened fixtures', () => {
  it('are what the SDK sends for each published CreateOrUpdate example', async () => {
    const arm = await startFakeArm();
    try {
      const client = createContainerInstanceClient({ subscriptionId: SUBSCRIPTION, endpoint: arm.url, retry: { maxRetries: 0 } });
      for (const { example, body } of CREATE_EXAMPLES) {
        const name = `sdk-${CREATE_EXAMPLES.findIndex((e) => e.example === example)}`;
        await client.containerGroups.beginCreateOrUpdate('demo', name, flattenContainerGroup(body) as never);
        assert.deepEqual(arm.puts.get(groupPath('demo', name)), body, example);
      }
    } finally {
      await arm.close();
    }
  });
});

describe('ACICreate and the emulator take the published CreateOrUpdate examples', () => {
  let fleet: LocalFleet;
  before(async () => {
    fleet = await startTestFleet();
  });
  after(() => fleet?.stop());

  const createExample = (name: string, body: Record<string, any>) =>
    call(fleet, 'ACICreate', {
      resourceGroup: EXAMPLE_GROUP.resourceGroup,
      containerGroupName: name,
      containerGroup: flattenContainerGroup(body),
    });
  const runningState = (name: string) =>
    eventually(async () => {
      const row = await fleet.services.store.get({ resourceGroup: 'demo', containerGroupName: name });
      return row?.value.state !== 'Creating' && row?.value.state;
    }, `${name} leaves Creating`);

  for (const [i, { example, body }] of accepted.entries()) {
    it(`ACICreate accepts ${example}, and the server runs`, async () => {
      const res = await createExample(`accepted-${i}`, body);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(await runningState(`accepted-${i}`), 'Running');
    });
  }

  it('ACICreate accepts ContainerGroupsCreateOrUpdate.json without the properties it refuses; ARM never shows its secrets', async () => {
    const example = CREATE_EXAMPLES.find((e) => e.example === 'ContainerGroupsCreateOrUpdate.json')!;
    const res = await createExample('everything', withoutRefused(example.body));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.Location, 'westus', "the display name 'west us' becomes the region's name");
    assert.equal(await runningState('everything'), 'Running');
    const details = await call(fleet, 'ACIDetails', { resourceGroup: 'demo', containerGroupName: 'everything' });
    assert.equal(details.status, 200);
    const text = JSON.stringify(details.body);
    for (const secret of ['accountKey', 'SecretValue1InBase64', 'workspaceKey"'])
      assert.ok(!text.includes(secret), `${secret} is not shown`);
    assert.deepEqual(details.body.containers[0].resources.requests.gpu, { count: 1, sku: 'K80' }, 'the GPU request reached ARM');
    assert.equal(details.body.volumes.length, 3);
  });

  for (const [i, { example, body, refused: properties }] of refused.entries()) {
    it(`ACICreate refuses ${example} (${properties.join(', ')}) with a 400 that says why, and writes nothing`, async () => {
      const name = `refused-${i}`;
      const res = await createExample(name, body);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'ValidationFailed');
      const details = res.body.error.details as Array<{ path: string; message: string }>;
      assert.deepEqual(
        details.map((d) => d.path),
        properties.map((p) => `containerGroup.${p}`),
      );
      for (const d of details) assert.match(d.message, /needs Azure rights the fleet does not hold .*Remove /);
      assert.equal(await fleet.services.store.get({ resourceGroup: 'demo', containerGroupName: name }), undefined);
      assert.ok(!fleet.emulator.groups().some((g) => g.name === name), 'no container group either');
    });
  }

  const putRaw = (name: string, body: unknown) =>
    fetch(
      `${fleet.emulator.url}${groupPath('emulated', name).replace(SUBSCRIPTION, fleet.emulator.subscriptionId)}?api-version=${API_VERSION}`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
    );
  const settled = (name: string) =>
    eventually(async () => {
      await fleet.emulator.idle();
      const group = fleet.emulator.groups().find((g) => g.name === name);
      return group?.properties.provisioningState !== 'Pending' && group;
    }, `${name} provisioned`);

  for (const [i, { example, body }] of CREATE_EXAMPLES.entries()) {
    it(`the emulator accepts ${example} as published and provisions it`, async () => {
      const res = await putRaw(`example-${i}`, body);
      assert.equal(res.status, 201, await res.text());
      assert.equal((await settled(`example-${i}`))?.properties.provisioningState, 'Succeeded');
    });
  }

  it('the emulator leaves out what the examples’ responses leave out: keys, secret volumes, protected settings', async () => {
    const everything = CREATE_EXAMPLES.find((e) => e.example === 'ContainerGroupsCreateOrUpdate.json')!;
    const extensions = CREATE_EXAMPLES.find((e) => e.example === 'ContainerGroupExtensions.json')!;
    await putRaw('redacted', everything.body);
    await putRaw('redacted-ext', extensions.body);
    const group = (await settled('redacted'))!;
    const props = group.properties as Record<string, any>;
    assert.deepEqual(props.volumes[0].azureFile, { shareName: 'shareName', storageAccountName: 'accountName' });
    assert.deepEqual(props.volumes[2].secret, {});
    assert.equal(props.diagnostics.logAnalytics.workspaceKey, undefined);
    assert.equal(props.diagnostics.logAnalytics.workspaceId, 'workspaceid');
    assert.equal((group as Record<string, any>).identity.type, 'SystemAssigned, UserAssigned');
    const ext = (await settled('redacted-ext'))!.properties as Record<string, any>;
    assert.deepEqual(
      ext.extensions.map((e: any) => e.properties.protectedSettings),
      [undefined, undefined],
    );
    assert.deepEqual(ext.extensions[0].properties.settings, { clusterCidr: '10.240.0.0/16', kubeVersion: 'v1.9.10' });
  });

  it('the emulator reads every enum of an example in any casing and answers in ARM’s spelling', async () => {
    const { body } = CREATE_EXAMPLES.find((e) => e.example === 'ContainerGroupsCreateOrUpdate.json')!;
    const lower = structuredClone(body);
    lower.identity.type = 'systemassigned,userassigned';
    const p = lower.properties;
    p.osType = 'linux';
    p.ipAddress.type = 'public';
    p.ipAddress.ports[0].protocol = 'tcp';
    p.ipAddress.autoGeneratedDomainNameLabelScope = 'unsecure';
    p.containers[0].properties.ports[0].protocol = 'udp';
    p.containers[0].properties.resources.requests.gpu.sku = 'k80';
    p.diagnostics.logAnalytics.logType = 'containerinsights';
    p.restartPolicy = 'onfailure';
    p.sku = 'standard';
    p.priority = 'regular';
    const res = await putRaw('lower', lower);
    assert.equal(res.status, 201, await res.text());
    const group = (await settled('lower')) as Record<string, any>;
    const q = group.properties;
    assert.deepEqual(
      [
        group.identity.type,
        q.osType,
        q.ipAddress.type,
        q.ipAddress.ports[0].protocol,
        q.ipAddress.autoGeneratedDomainNameLabelScope,
        q.containers[0].properties.ports[0].protocol,
        q.containers[0].properties.resources.requests.gpu.sku,
        q.diagnostics.logAnalytics.logType,
        q.restartPolicy,
        q.sku,
        q.priority,
      ],
      [
        'SystemAssigned, UserAssigned',
        'Linux',
        'Public',
        'TCP',
        'Unsecure',
        'UDP',
        'K80',
        'ContainerInsights',
        'OnFailure',
        'Standard',
        'Regular',
      ],
    );
    const bad = structuredClone(body);
    bad.properties.containers[0].properties.resources.requests.gpu.sku = 'H100';
    const refusedPut = await putRaw('bad-gpu', bad);
    assert.equal(refusedPut.status, 400);
    assert.match(((await refusedPut.json()) as any).error.message, /gpu\.sku.*allowed: K80, P100, V100/);
  });
});

describe('the published Get and List examples through the ARM adapter', () => {
  const key = { ...EXAMPLE_GROUP };
  const owned = structuredClone(GET_SUCCEEDED);
  owned.tags = { [OWNER_TAG]: 'example-fleet' };
  let arm: Awaited<ReturnType<typeof startFakeArm>>;
  const adapter = (body: Record<string, any>) =>
    startFakeArm({ [groupPath('demo', 'demo1')]: body }).then((a) => {
      arm = a;
      return new ArmContainerGroups(
        createContainerInstanceClient({ subscriptionId: SUBSCRIPTION, endpoint: a.url, retry: { maxRetries: 0 } }),
      );
    });
  after(() => arm?.close());

  const creating: ServerRecord = {
    ...key,
    state: 'Creating',
    activeSessions: 0,
    maxSessions: 10,
    location: 'westus',
    image: 'nginx',
    cpu: 1,
    ramGb: 1.5,
    createdAt: '2023-05-01T00:00:00.000Z',
    stateChangedAt: '2023-05-01T00:00:00.000Z',
    specHash: 'example',
  };
  const now = new Date('2023-05-01T00:01:00.000Z');

  it('ContainerGroupsGet_Succeeded: a Running server with the public IP', async () => {
    const observation = await (await adapter(GET_SUCCEEDED)).get(key);
    await arm.close();
    assert.deepEqual(
      { ...observation, tags: observation?.tags },
      {
        ...key,
        id: GET_SUCCEEDED.id,
        location: 'WestUs',
        provisioningState: 'Succeeded',
        instanceState: undefined,
        publicIp: '10.0.0.1',
        fqdn: undefined,
        tags: {},
        failureMessage: undefined,
        image: 'nginx',
        cpu: 1,
        ramGb: 1.5,
      },
    );
    const next = applyObservation(creating, observation, now);
    assert.ok(next && next !== 'remove');
    assert.equal(next.state, 'Running');
    assert.equal(next.publicIp, '10.0.0.1');
  });

  it('ContainerGroupsGet_Failed: a Failed server, with the mount error as its reason', async () => {
    const observation = await (await adapter(GET_FAILED)).get(key);
    await arm.close();
    assert.equal(observation?.provisioningState, 'Failed');
    assert.equal(observation?.failureMessage, 'Output: mount error(2): Permission denied');
    const next = applyObservation(creating, observation, now);
    assert.ok(next && next !== 'remove');
    assert.equal(next.state, 'Failed');
    assert.equal(next.failureReason, 'Output: mount error(2): Permission denied');
  });

  it("ContainerGroupsGet_Failed with a 100,000-character message: the reason is cut to fit the server's row", async () => {
    const long = JSON.parse(
      JSON.stringify(GET_FAILED).replace('Output: mount error(2): Permission denied', `Output: ${'x'.repeat(100_000)}`),
    );
    const observation = await (await adapter(long)).get(key);
    await arm.close();
    assert.equal(observation?.failureMessage?.length, 2000);
    assert.match(observation?.failureMessage ?? '', /^Output: x+…$/);
  });

  it('ContainerGroupsGetWithPriority: a group whose containers ran to completion is not taken for a Running server', async () => {
    const observation = await (await adapter(GET_PRIORITY)).get(key);
    await arm.close();
    assert.equal(observation?.provisioningState, 'Succeeded');
    assert.equal(observation?.instanceState, 'Succeeded');
    assert.equal(observation?.failureMessage, "container 'test-container-001' terminated with exit code 0 (Completed)");
    for (const state of ['Creating', 'Running'] as const) {
      const next = applyObservation({ ...creating, state }, observation, now);
      assert.ok(next && next !== 'remove', state);
      assert.equal(next.state, 'Failed', state);
      assert.match(next.failureReason ?? '', /exit code 0/);
    }
  });

  it('ContainerGroupsList and ContainerGroupsListByResourceGroup: parsed, and only groups the fleet owns are taken', async () => {
    const paths = (value: unknown[]) => ({
      [`/subscriptions/${SUBSCRIPTION}/providers/Microsoft.ContainerInstance/containerGroups`]: { value },
      [`/subscriptions/${SUBSCRIPTION}/resourceGroups/demo/providers/Microsoft.ContainerInstance/containerGroups`]: { value },
    });
    for (const [value, expected] of [
      [LIST.value, []],
      [[owned], ['demo/demo1']],
    ] as const) {
      const fake = await startFakeArm(paths([...value]));
      try {
        const groups = new ArmContainerGroups(
          createContainerInstanceClient({ subscriptionId: SUBSCRIPTION, endpoint: fake.url, retry: { maxRetries: 0 } }),
        );
        for (const resourceGroups of [[], ['demo']]) {
          const listed = await groups.listOwned('example-fleet', resourceGroups);
          assert.deepEqual(
            listed.map((g) => `${g.resourceGroup}/${g.containerGroupName}`),
            expected,
          );
          for (const g of listed) assert.equal(g.publicIp, '10.0.0.1');
        }
      } finally {
        await fake.close();
      }
    }
  });
});

describe("ARM's answers to a create it has no room for, as ACI's users report them", () => {
  const key = { resourceGroup: 'demo', containerGroupName: 'demo1' };
  const spec = flattenContainerGroup(GET_SUCCEEDED) as never;
  const refusedWith = async (status: number, error: { code: string; message: string }) => {
    const arm = await startFakeArm({}, { status, body: { error } });
    try {
      const groups = new ArmContainerGroups(
        createContainerInstanceClient({ subscriptionId: SUBSCRIPTION, endpoint: arm.url, retry: { maxRetries: 0 } }),
      );
      return await groups.beginCreate(key, spec).then(
        () => assert.fail('the create was refused'),
        (e: FleetError) => e,
      );
    } finally {
      await arm.close();
    }
  };

  it("400 ContainerGroupQuotaReached is the region's quota used up (409 AzureQuotaReached), not a template Azure rejects", async () => {
    const message =
      "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded in region 'eastus'. Limit: '10', Usage: '10' Requested: '1'.";
    const e = await refusedWith(400, { code: 'ContainerGroupQuotaReached', message });
    assert.equal(e.code, 'AzureQuotaReached');
    assert.equal(e.status, 409);
    assert.ok(e.message.endsWith(message), e.message);
  });

  it('409 ServiceUnavailable is a region short of capacity "at this moment": a 503 to retry, not a conflict', async () => {
    const message =
      "The requested resource is not available in the location 'westus' at this moment. Please retry with a different resource request or in another location. Resource requested: '4' CPU '16' GB memory 'Linux' OS";
    const e = await refusedWith(409, { code: 'ServiceUnavailable', message });
    assert.equal(e.code, 'AzureUnavailable');
    assert.ok(e.retryAfterSeconds! >= 30, `Retry-After ${e.retryAfterSeconds}`);
    assert.ok(e.message.endsWith(message), e.message);
  });

  it('a 400 of any other code is still the template rejected', async () => {
    const e = await refusedWith(400, { code: 'InaccessibleImage', message: "The image 'x' in container group 'demo1' is not accessible." });
    assert.equal(e.code, 'AzureRequestRejected');
  });
});
