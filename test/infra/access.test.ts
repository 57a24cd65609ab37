// The app identity's role assignments: one least-privilege role per need, never a broad one, the
// fleet's own container role on each container resource group.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { AppAccess, appRoleGrants } from '../../infra/access';
import { BROAD_ROLES, ROLES } from '../../infra/invariants';
import { flush, useMocks } from './support/mocks';

describe('appRoleGrants', () => {
  const grants = appRoleGrants(
    {
      storageAccount: 'ST',
      tableService: 'ST/tableServices/default',
      appInsights: 'AI',
      keyVault: 'KV',
      containerResourceGroups: [
        { name: 'Servers-A', id: 'RG-A' },
        { name: 'servers-b', id: 'RG-B' },
      ],
    },
    { builtIn: (guid) => guid, containerRole: 'FLEET-CONTAINER-ROLE' },
  );

  const expected: Array<[string, string, string]> = [
    ['blob-data-owner', ROLES.storageBlobDataOwner, 'ST'],
    ['queue-data-contributor', ROLES.storageQueueDataContributor, 'ST'],
    ['table-data-contributor', ROLES.storageTableDataContributor, 'ST/tableServices/default'],
    ['metrics-publisher', ROLES.monitoringMetricsPublisher, 'AI'],
    ['key-vault-secrets-user', ROLES.keyVaultSecretsUser, 'KV'],
    ['aci-servers-a', 'FLEET-CONTAINER-ROLE', 'RG-A'],
    ['aci-servers-b', 'FLEET-CONTAINER-ROLE', 'RG-B'],
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

  it('grants nothing else, nothing broad, and not the built-in ACI role (it allows exec)', () => {
    assert.equal(grants.length, expected.length);
    for (const g of grants) {
      assert.ok(!(g.role in BROAD_ROLES));
      assert.notEqual(g.role, ROLES.containerInstancesContributor);
    }
  });
});

describe('AppAccess', () => {
  const scopes = { storageAccount: 'ST', tableService: 'ST/tableServices/default', appInsights: 'AI', keyVault: 'KV' };

  it('requires a container resource group before creating any assignment', async () => {
    const seen = await useMocks();
    assert.throws(
      () =>
        new AppAccess('none', {
          principalId: 'p',
          subscriptionId: 'sub',
          containerRoleId: 'role',
          scopes: { ...scopes, containerResourceGroups: [] },
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
