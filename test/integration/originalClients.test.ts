// The README's promise: matchmakers, scripts and game images written for the original system keep
// working unchanged. Their requests (test/fixtures/originalClients.ts) against a local fleet.
import { DEFAULT_FLEET } from '../../runtime/src/domain/servers/membership';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readSettings } from '../../runtime/src/options';
import {
  defaultTemplate,
  gameImageReport,
  logsOf,
  markForDeletion,
  openArenaCreate,
  postmanLiteral,
  setSessions,
  teeworldsCreate,
} from '../fixtures/originalClients';
import { call, eventually, startTestFleet, testContext, type LocalFleet } from '../support/localFleet';

const running = (fleet: LocalFleet, resourceGroup: string, containerGroupName: string) =>
  eventually(async () => {
    const row = await fleet.services.store.get({ resourceGroup, containerGroupName });
    return row?.value.state === 'Running' && row.value;
  }, `${resourceGroup}/${containerGroupName} Running`);

describe('the original system’s clients, unchanged', () => {
  let fleet: LocalFleet;
  before(async () => {
    fleet = await startTestFleet();
  });
  after(() => fleet?.stop());

  it('creates the Teeworlds server of DEMOS.md (ports in lower-case "udp"), which runs and is listed as the original listed it', async () => {
    const created = await call(fleet, 'ACICreate', teeworldsCreate());
    assert.equal(created.status, 202, JSON.stringify(created.body));
    assert.equal(created.body.State, 'Creating');
    await running(fleet, 'teeworlds', 'teeserver1');

    const list = await call(fleet, 'ACIList');
    assert.equal(list.status, 200);
    const server = list.body.find((s: any) => s.ContainerGroupName === 'teeserver1');
    assert.ok(server, JSON.stringify(list.body));
    assert.equal(server.ResourceGroup, 'teeworlds');
    assert.match(server.PublicIP, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(server.ActiveSessions, 0);
    assert.equal(server.Location, 'westeurope');

    const group = fleet.emulator.groups().find((g) => g.name === 'teeserver1')!;
    assert.deepEqual(group.properties.ipAddress?.ports, [{ port: 8303, protocol: 'UDP' }], 'ARM got its own spelling');
  });

  it('takes the same create in ARM’s spelling for the same spec: 200, nothing new started', async () => {
    const body = teeworldsCreate();
    body.containerGroup.ipAddress.ports[0]!.protocol = 'UDP';
    body.containerGroup.containers[0]!.ports[0]!.protocol = 'Udp';
    const again = await call(fleet, 'ACICreate', body);
    assert.equal(again.status, 200, JSON.stringify(again.body));
  });

  it('creates the OpenArena server with its Azure Files volume and environment variables', async () => {
    const created = await call(fleet, 'ACICreate', openArenaCreate());
    assert.equal(created.status, 202, JSON.stringify(created.body));
    await running(fleet, 'acimanagement', 'openarenaserver1');

    const env = fleet.emulator.containerEnvironment('acimanagement', 'openarenaserver1')!.openarenaserver1!;
    assert.equal(env.OA_STARTMAP, 'dm4ish');
    assert.equal(env.OA_PORT, '27960');
    assert.equal(env.SERVER_NAME, 'AzureOpenArena1');
    assert.equal(env.CONTAINER_GROUP_NAME, 'openarenaserver1');

    const details = await call(fleet, 'ACIDetails', { resourceGroup: 'acimanagement', containerGroupName: 'openarenaserver1' });
    assert.equal(details.status, 200);
    assert.deepEqual(details.body.volumes, [
      { name: 'openarenadatavolume', azureFile: { shareName: 'openarenadata', storageAccountName: 'openarenastorage' } },
    ]);
    assert.deepEqual(details.body.containers[0].volumeMounts, [{ name: 'openarenadatavolume', mountPath: '/data', readOnly: false }]);
    assert.equal(details.body.ipAddress.dnsNameLabel, 'openarena-demo-1');
  });

  it('refuses DEMOS.md’s placeholder DNS label "customDNSName" as ARM does, saying why', async () => {
    const body = openArenaCreate('openarena-placeholder');
    body.containerGroup.ipAddress.dnsNameLabel = 'customDNSName';
    const refused = await call(fleet, 'ACICreate', body);
    assert.equal(refused.status, 400);
    assert.match(refused.body.error.message, /dnsNameLabel must be .*lowercase/);
    assert.equal(
      await fleet.services.store.get({ resourceGroup: 'acimanagement', containerGroupName: 'openarena-placeholder' }),
      undefined,
    );
  });

  it('records sessions sent as the Postman collection sends them', async () => {
    const res = await call(fleet, 'ACISetSessions', setSessions('teeworlds', 'teeserver1', 4));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.updated, 1);
    const list = await call(fleet, 'ACIList');
    assert.equal(list.body.find((s: any) => s.ContainerGroupName === 'teeserver1').ActiveSessions, 4);
  });

  it('records the report a game image posts to ACI_SET_SESSIONS_URL, with the body its shell script writes', async () => {
    const env = fleet.emulator.containerEnvironment('teeworlds', 'teeserver1')!.teeserver1!;
    const url = env.ACI_SET_SESSIONS_URL!;
    assert.ok(url.startsWith(`${fleet.url}/api/ACIReport?token=`), url);
    // wget --post-data=... --header=Content-Type:application/json "$ACI_SET_SESSIONS_URL"
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: gameImageReport(env.RESOURCE_GROUP!, env.CONTAINER_GROUP_NAME!, 7),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), {
      state: 'Running',
      activeSessions: 7,
      maxSessions: 10,
      acceptingSessions: true,
      recorded: true,
      // What fleets added; the original's images read only the fields above.
      fleet: null,
      revision: null,
      outdated: false,
      draining: false,
    });
    const list = await call(fleet, 'ACIList');
    assert.equal(list.body.find((s: any) => s.ContainerGroupName === 'teeserver1').ActiveSessions, 7);
  });

  it('returns the logs, and without `type` the ARM group, as ACIDetails did', async () => {
    const logs = await call(fleet, 'ACIDetails', logsOf('teeworlds', 'teeserver1'));
    assert.equal(logs.status, 200, JSON.stringify(logs.body));
    assert.match(logs.body.content, /\[teeserver1\] pulled dgkanatsios\/docker-teeworlds/);
    const group = await call(fleet, 'ACIDetails', { resourceGroup: 'teeworlds', containerGroupName: 'teeserver1' });
    assert.equal(group.status, 200);
    assert.equal(group.body.name, 'teeserver1');
    assert.equal(group.body.containers[0].image, 'dgkanatsios/docker-teeworlds');
  });

  it('answers the Postman collection’s JavaScript-literal bodies with a 400 that says what to fix, and changes nothing', async () => {
    for (const name of ['ACIDelete', 'ACIDetails', 'ACISetState']) {
      const res = await call(fleet, name, postmanLiteral('teeworlds', 'teeserver1'), { headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 400, name);
      assert.equal(res.body.error.code, 'InvalidJson', name);
      assert.match(res.body.error.message, /Property names must be in double quotes/, name);
    }
    assert.equal(
      (await fleet.services.store.get({ resourceGroup: 'teeworlds', containerGroupName: 'teeserver1' }))?.value.state,
      'Running',
    );
  });

  it('drains a server with ACISetState MarkedForDeletion: it leaves the list, and ACIGC deletes it once empty', async () => {
    const res = await call(fleet, 'ACISetState', markForDeletion('teeworlds', 'teeserver1'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.State, 'MarkedForDeletion');
    assert.ok(!(await call(fleet, 'ACIList')).body.some((s: any) => s.ContainerGroupName === 'teeserver1'));
    await call(fleet, 'ACISetSessions', setSessions('teeworlds', 'teeserver1', 0));
    await fleet.host.runTimer('ACIGC');
    await eventually(async () => !fleet.emulator.groups().some((g) => g.name === 'teeserver1'), 'the group deleted');
  });

  it('deletes a server with ACIDelete', async () => {
    const res = await call(fleet, 'ACIDelete', { resourceGroup: 'acimanagement', containerGroupName: 'openarenaserver1' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.State, 'Deleting');
    await eventually(
      async () =>
        (await fleet.services.store.get({ resourceGroup: 'acimanagement', containerGroupName: 'openarenaserver1' })) === undefined,
      'the row gone',
    );
    assert.ok(!fleet.emulator.groups().some((g) => g.name === 'openarenaserver1'));
  });
});

describe('the original template, various/defaultContainerGroupTemplate.json, as CONTAINER_GROUP_TEMPLATE', () => {
  const settings = { AUTOSCALER_ENABLED: 'true', CONTAINER_GROUP_TEMPLATE: JSON.stringify(defaultTemplate) };

  it('is a valid setting: its containerGroupName is not needed, its lower-case enums are read as ARM reads them', () => {
    const template = readSettings(settings).CONTAINER_GROUP_TEMPLATE!;
    assert.equal(template.resourceGroup, 'acimanagement');
    assert.equal(template.containerGroup.ipAddress?.ports[0]?.protocol, 'UDP');
  });

  it('starts a fleet whose autoscaler creates running servers from it', async () => {
    const fleet = await startTestFleet({ settings });
    try {
      const [run] = await fleet.services.fleetController(testContext('ACIAutoScaler')).run({ only: DEFAULT_FLEET });
      assert.ok(run);
      assert.ok(run.created.length >= 1, JSON.stringify(run));
      const [first] = run.created;
      const server = await running(fleet, first!.resourceGroup, first!.containerGroupName);
      assert.equal(server.image, 'dgkanatsios/docker_openarena');
      const group = fleet.emulator.groups().find((g) => g.name === first!.containerGroupName)!;
      assert.equal((group.properties.volumes as unknown[]).length, 1);
    } finally {
      await fleet.stop();
    }
  });
});
