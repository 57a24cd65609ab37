// The create -> event -> Running flow under Event Grid's real behaviour: early, duplicated and stale events.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FleetError } from '../../runtime/src/domain/core/errors';
import { ServerService } from '../../runtime/src/domain/servers/serverService';
import type { ContainerGroups } from '../../runtime/src/domain/servers/ports';
import { eventually, newServer, startTestFleet, testContext as context, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet({ provisioningMs: 0 });
  fleet.emulator.setEventEndpoint(undefined); // these tests deliver events themselves
});
after(() => fleet?.stop());

const subscription = () => fleet.emulator.subscriptionId;
const eventFor = (name: string, eventType = 'Microsoft.Resources.ResourceWriteSuccess') => {
  const id = `/subscriptions/${subscription()}/resourceGroups/Games/providers/Microsoft.ContainerInstance/containerGroups/${name}`;
  return {
    id: `evt-${name}-${eventType}`,
    eventType,
    subject: id,
    topic: `/subscriptions/${subscription()}/resourceGroups/Games`,
    eventTime: new Date().toISOString(),
    dataVersion: '2',
    metadataVersion: '1',
    data: {
      resourceUri: id.replace('resourceGroups', 'resourcegroups'),
      operationName: 'Microsoft.ContainerInstance/containerGroups/write',
      status: 'Succeeded',
    },
  };
};

async function deliver(events: unknown[]): Promise<number> {
  const res = await fetch(`${fleet.url}/runtime/webhooks/eventgrid?functionName=ACIMonitor`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification', 'x-functions-key': fleet.key },
    body: JSON.stringify(events),
  });
  return res.status;
}

const row = async (name: string) => (await fleet.services.store.get({ resourceGroup: 'games', containerGroupName: name }))?.value;
const provisioned = (name: string) =>
  eventually(
    async () => fleet.emulator.groups().find((g) => g.name === name && g.properties.provisioningState === 'Succeeded'),
    `${name} provisioned`,
  );

describe('ACIMonitor', () => {
  it('handles an event that arrives before ACICreate has returned', async () => {
    // A create whose ARM call only returns after the group's event has been processed.
    let eventStatus = 0;
    const groups: ContainerGroups = Object.create(fleet.services.groups);
    groups.beginCreate = async (key, spec) => {
      await fleet.services.groups.beginCreate(key, spec);
      await provisioned(key.containerGroupName);
      eventStatus = await deliver([eventFor(key.containerGroupName)]);
    };
    const service = new ServerService({ store: fleet.services.store, groups, options: fleet.services.options });
    const result = await service.create(newServer('gs-early'));
    assert.equal(eventStatus, 202);
    assert.equal(result.created, true);
    assert.equal((await row('gs-early'))?.state, 'Running');
  });

  it('is idempotent: a duplicated event leaves one Running row with the same address', async () => {
    await fleet.services.servers(context()).create(newServer('gs-dup'));
    await provisioned('gs-dup');
    assert.equal(await deliver([eventFor('gs-dup'), eventFor('gs-dup')]), 202);
    const first = await row('gs-dup');
    assert.equal(first?.state, 'Running');
    assert.equal(await deliver([eventFor('gs-dup')]), 202);
    assert.deepEqual(await row('gs-dup'), first);
  });

  it('ignores a stale write event for a drained server and for a deleted one', async () => {
    const fleetApi = fleet.services.servers(context());
    await fleetApi.create(newServer('gs-stale'));
    await provisioned('gs-stale');
    await deliver([eventFor('gs-stale')]);
    await fleetApi.setState({ resourceGroup: 'games', containerGroupName: 'gs-stale', state: 'MarkedForDeletion' });
    assert.equal(await deliver([eventFor('gs-stale')]), 202); // the old "write succeeded" arrives late
    assert.equal((await row('gs-stale'))?.state, 'MarkedForDeletion');

    await fleetApi.delete({ resourceGroup: 'games', containerGroupName: 'gs-stale' });
    await eventually(async () => !fleet.emulator.groups().some((g) => g.name === 'gs-stale'), 'group deleted');
    await deliver([eventFor('gs-stale', 'Microsoft.Resources.ResourceDeleteSuccess')]);
    assert.equal(await row('gs-stale'), undefined);
    await deliver([eventFor('gs-stale')]); // a write event from long ago, out of order
    assert.equal(await row('gs-stale'), undefined, 'a deleted server is never resurrected');
  });

  it('ignores events about groups it has no row for and other resource types', async () => {
    assert.equal(await deliver([eventFor('someone-else')]), 202);
    assert.equal(await deliver([{ ...eventFor('x'), subject: '/subscriptions/s/resourceGroups/g', data: {} }]), 202);
    assert.equal(await row('someone-else'), undefined);
  });

  it('a handler that fails, even with a 4xx of its own (ARM refused its read), fails the delivery with a 500, which Event Grid retries', async () => {
    await fleet.services.servers(context()).create(newServer('gs-refused-read'));
    await provisioned('gs-refused-read');
    const groups = fleet.services.groups;
    const get = groups.get;
    groups.get = async () => {
      groups.get = get; // once
      throw new FleetError('AzureRequestRejected', 'Azure rejected reading games/gs-refused-read: (emulated)');
    };
    const res = await fetch(`${fleet.url}/runtime/webhooks/eventgrid?functionName=ACIMonitor`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification', 'x-functions-key': fleet.key },
      body: JSON.stringify([eventFor('gs-refused-read')]),
    });
    // Event Grid gives up at once on 400 and 413; the Functions host answers any failed function with a 500.
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as any).error.code, 'AzureRequestRejected');
    assert.equal(await deliver([eventFor('gs-refused-read')]), 202, 'the retry succeeds');
    assert.equal((await row('gs-refused-read'))?.state, 'Running');
  });

  it('refuses deliveries without the Notification header or the key', async () => {
    const noHeader = await fetch(`${fleet.url}/runtime/webhooks/eventgrid?functionName=ACIMonitor&code=${fleet.key}`, {
      method: 'POST',
      body: '[]',
    });
    assert.equal(noHeader.status, 400);
    const noKey = await fetch(`${fleet.url}/runtime/webhooks/eventgrid?functionName=ACIMonitor`, {
      method: 'POST',
      headers: { 'aeg-event-type': 'Notification' },
      body: '[]',
    });
    assert.equal(noKey.status, 401);
  });
});
