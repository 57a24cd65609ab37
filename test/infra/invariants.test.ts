// The security invariants shared by the components and the policy pack.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { BROAD_ROLES, ROLES, appSettingsProblems, isBroadScope, roleDefinitionId, roleGuid } from '../../infra/invariants';

describe('roles', () => {
  it('reads the GUID of any form of role definition id', () => {
    assert.equal(roleGuid(roleDefinitionId('sub', ROLES.storageBlobDataOwner)), ROLES.storageBlobDataOwner);
    assert.equal(roleGuid('B24988AC-6180-42A0-AB88-20F7382DD24C'), 'b24988ac-6180-42a0-ab88-20f7382dd24c');
    assert.equal(roleDefinitionId('sub', 'x'), '/subscriptions/sub/providers/Microsoft.Authorization/roleDefinitions/x');
  });

  it('never lists a role the fleet uses as broad', () => {
    for (const role of Object.values(ROLES)) assert.ok(!(role in BROAD_ROLES), role);
  });

  it('calls subscription, management group and root scopes broad', () => {
    const cases: Array<[string, boolean]> = [
      ['/', true],
      ['/subscriptions/abc', true],
      ['/subscriptions/abc/', true],
      ['/providers/Microsoft.Management/managementGroups/mg', true],
      ['/subscriptions/abc/resourceGroups/rg', false],
      ['/subscriptions/abc/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st', false],
    ];
    for (const [scope, broad] of cases) assert.equal(isBroadScope(scope), broad, scope);
  });
});

describe('appSettingsProblems', () => {
  const keyless = {
    AzureWebJobsStorage__accountName: 'st',
    APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=0;IngestionEndpoint=https://x/',
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
  };
  const cases: Array<[string, Record<string, string>, RegExp | null]> = [
    ['identity-based settings', keyless, null],
    [
      'a host storage connection string',
      { ...keyless, AzureWebJobsStorage: 'UseDevelopmentStorage=true' },
      /AzureWebJobsStorage must not be set/,
    ],
    [
      'an account key anywhere',
      { ...keyless, OTHER: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k==' },
      /OTHER carries a key/,
    ],
    ['a SAS URL', { ...keyless, PACKAGE: 'https://a.blob.core.windows.net/c/p.zip?sp=r&sig=abc' }, /PACKAGE carries a key/],
    ['a Flex-rejected setting', { ...keyless, FUNCTIONS_WORKER_RUNTIME: 'node' }, /FUNCTIONS_WORKER_RUNTIME/],
    ['telemetry without Entra auth', { ...keyless, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: '' }, /Authorization=AAD/],
  ];
  for (const [what, settings, problem] of cases) {
    it(`${problem ? 'flags' : 'accepts'} ${what}`, () => {
      const found = appSettingsProblems(settings);
      if (problem === null) assert.deepEqual(found, []);
      else
        assert.ok(
          found.some((p) => problem.test(p)),
          JSON.stringify(found),
        );
    });
  }
});
