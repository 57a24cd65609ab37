// Guard rails: resource groups outside FLEET_RESOURCE_GROUPS are refused before any ARM call,
// and table filters are escaped, so a state can never inject into an OData query.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createContainerInstanceClient } from '../../runtime/src/azure/armClient';
import type { ServerState } from '../../runtime/src/domain/servers/states';
import { call, createBody, eventually, startTestFleet, testContext, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet({ settings: { FLEET_RESOURCE_GROUPS: 'games, Other-RG' } });
  await call(fleet, 'ACICreate', createBody('guard-a'));
  await eventually(
    async () => (await fleet.services.store.get({ resourceGroup: 'games', containerGroupName: 'guard-a' }))?.value.state === 'Running',
    'Running',
  );
  await fleet.emulator.idle();
});
after(() => fleet?.stop());

const elsewhere = { resourceGroup: 'elsewhere', containerGroupName: 'guard-a' };

describe('FLEET_RESOURCE_GROUPS', () => {
  const calls: Array<[string, unknown]> = [
    ['ACICreate', createBody('guard-new', {}, 'elsewhere')],
    ['ACIDelete', elsewhere],
    ['ACIDetails', elsewhere],
    ['ACIDetails', { ...elsewhere, type: 'logs' }],
    ['ACISetSessions', [{ ...elsewhere, activeSessions: 1 }]],
    ['ACISetState', { ...elsewhere, state: 'MarkedForDeletion' }],
  ];
  for (const [name, body] of calls) {
    it(`${name} answers 403 for another resource group without calling ARM`, async () => {
      // Every ARM request would fail and be counted: none may be made.
      fleet.emulator.faults.set({ failRequests: { status: 500, count: 1000 } });
      try {
        const res = await call(fleet, name, body);
        assert.equal(res.status, 403);
        assert.equal(res.body.error.code, 'Forbidden');
        assert.deepEqual(res.body.error.details.allowed, ['games', 'Other-RG']);
        assert.equal(fleet.emulator.faults.stats().failedRequests, 0);
      } finally {
        fleet.emulator.faults.clear();
      }
    });
  }

  it('compares resource groups without regard to case', async () => {
    const res = await call(fleet, 'ACISetSessions', [{ resourceGroup: 'GAMES', containerGroupName: 'guard-a', activeSessions: 2 }]);
    assert.equal(res.status, 200);
    assert.equal((await call(fleet, 'ACIDetails', { resourceGroup: 'other-rg', containerGroupName: 'nope' })).status, 404);
  });
});

describe('ACIReconcile within FLEET_RESOURCE_GROUPS', () => {
  it("adopts tagged groups only in the fleet's resource groups", async () => {
    const arm = createContainerInstanceClient({
      subscriptionId: fleet.emulator.subscriptionId,
      endpoint: fleet.emulator.url,
      pollIntervalMs: 10,
    });
    const group = {
      location: 'westeurope',
      osType: 'Linux' as const,
      tags: { 'aci-fleet': fleet.settings.FLEET_NAME },
      containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
    };
    await arm.containerGroups.beginCreateOrUpdateAndWait('Other-RG', 'tagged-inside', group);
    await arm.containerGroups.beginCreateOrUpdateAndWait('elsewhere', 'tagged-outside', group);
    const report = await fleet.services.reconciler(testContext()).reconcile();
    assert.deepEqual(
      report.adopted.map((a) => `${a.resourceGroup}/${a.containerGroupName}`),
      ['other-rg/tagged-inside'],
    );
    assert.equal(await fleet.services.store.get({ resourceGroup: 'elsewhere', containerGroupName: 'tagged-outside' }), undefined);
  });
});

describe('table filters', () => {
  it('escape the state, so a crafted value matches nothing instead of everything', async () => {
    const injected = ["Running' or PartitionKey ne '", "x' or '1' eq '1"] as unknown as ServerState[];
    assert.deepEqual(await fleet.services.store.list({ states: injected }), []);
    assert.ok((await fleet.services.store.list({ states: ['Running'] })).length >= 1);
  });

  it('ACIList refuses a state that is not one of the states', async () => {
    const res = await call(fleet, 'ACIList', undefined, { query: { state: "Running' or '1' eq '1" } });
    assert.equal(res.status, 400);
  });
});
