// The app identity's role assignments: one least-privilege role per need, never a broad one.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { AppAccess, appRoleGrants } from '../../infra/access';
import { BROAD_ROLES, ROLES } from '../../infra/invariants';
import { flush, useMocks } from './support/mocks';

describe('appRoleGrants', () => {
  const grants = appRoleGrants({
    storageAccount: 'ST',
    tableService: 'ST/tableServices/default',
    appInsights: 'AI',
    containerResourceGroups: [
      { name: 'Servers-A', id: 'RG-A' },
      { name: 'servers-b', id: 'RG-B' },
    ],
  });

  const expected: Array<[string, string, string]> = [
    ['blob-data-owner', ROLES.storageBlobDataOwner, 'ST'],
    ['queue-data-contributor', ROLES.storageQueueDataContributor, 'ST'],
    ['table-data-contributor', ROLES.storageTableDataContributor, 'ST/tableServices/default'],
    ['metrics-publisher', ROLES.monitoringMetricsPublisher, 'AI'],
    ['aci-servers-a', ROLES.containerInstancesContributor, 'RG-A'],
    ['aci-servers-b', ROLES.containerInstancesContributor, 'RG-B'],
  ];
  for (const [key, role, scope] of expected) {
    it(`grants ${key} on ${scope}`, () => {
      const g = grants.find((x) => x.key === key);
      assert.ok(g, key);
      assert.equal(g.role, role);
      assert.equal(g.scope, scope);
      assert.ok(g.reason.length > 0);
    });
  }

  it('grants nothing else, and nothing broad', () => {
    assert.equal(grants.length, expected.length);
    for (const g of grants) assert.ok(!(g.role in BROAD_ROLES));
  });
});

describe('AppAccess', () => {
  it('requires a container resource group before creating any assignment', async () => {
    const seen = await useMocks();
    assert.throws(
      () =>
        new AppAccess('none', {
          principalId: 'p',
          subscriptionId: 'sub',
          scopes: { storageAccount: 'ST', tableService: 'ST/tableServices/default', appInsights: 'AI', containerResourceGroups: [] },
        }),
      /at least one container resource group/,
    );
    await flush();
    assert.deepEqual(
      seen.types.filter((t) => t.startsWith('azure-native:')),
      [],
    );
  });
});
