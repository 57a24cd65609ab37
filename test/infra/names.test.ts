// Name-based UUIDs: the published version 5 test values, and role assignment names that depend on
// exactly what makes an assignment unique (scope, principal, role), whatever the ids' casing.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { URL_NAMESPACE, roleAssignmentName, stableGuid, uuidV5 } from '../../infra/names';

const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

describe('uuidV5', () => {
  // The values of Python's uuid.uuid5, the reference implementation of RFC 4122/9562 version 5
  // (its documentation gives the first one).
  const cases: Array<[string, string, string]> = [
    ['python.org', DNS_NAMESPACE, '886313e1-3b8a-5372-9b90-0c9aee199e5d'],
    ['www.example.com', DNS_NAMESPACE, '2ed6657d-e927-568b-95e1-2665a8aea6a2'],
    ['https://x', URL_NAMESPACE, '48d34be5-10a3-5c30-96ef-9cf9a60110f2'],
  ];
  for (const [name, namespace, expected] of cases) {
    it(`gives ${expected} for ${name}`, () => assert.equal(uuidV5(name, namespace), expected));
  }

  it('sets the version and variant bits, and refuses a namespace that is not a UUID', () => {
    for (const name of ['', 'a', 'ü'.repeat(100)])
      assert.match(uuidV5(name, URL_NAMESPACE), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.throws(() => uuidV5('x', 'not-a-uuid'), /not a UUID/);
  });
});

describe('roleAssignmentName', () => {
  const scope =
    '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/fleet-app/providers/Microsoft.Storage/storageAccounts/st1';
  const principal = 'aaaaaaaa-0000-0000-0000-000000000001';
  const role =
    '/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.Authorization/roleDefinitions/b7e6dc6d-f1e8-4753-8033-0f276bb0955b';
  const name = roleAssignmentName(scope, principal, role);

  it('is a UUID, and the same for the same assignment in any casing or form', () => {
    assert.match(name, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const same: Array<[string, string, string]> = [
      [scope.toLowerCase(), principal, role],
      [scope.replace('resourceGroups', 'resourcegroups'), principal.toUpperCase(), role],
      [`${scope}/`, principal, role],
      [scope, principal, 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'],
      [scope, principal, role.toUpperCase()],
    ];
    for (const [s, p, r] of same) assert.equal(roleAssignmentName(s, p, r), name, `${s} ${p} ${r}`);
  });

  it('differs when the scope, the principal or the role differs', () => {
    const other: Array<[string, string, string]> = [
      [`${scope}/tableServices/default`, principal, role],
      [scope, 'aaaaaaaa-0000-0000-0000-000000000002', role],
      [scope, principal, role.replace(/[^/]+$/, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')],
    ];
    const names = other.map(([s, p, r]) => roleAssignmentName(s, p, r));
    assert.equal(new Set([name, ...names]).size, 4);
  });

  it('is not any other kind of stable GUID of the same ids', () => {
    assert.notEqual(stableGuid('workbook', scope), roleAssignmentName(scope, principal, role));
    assert.equal(stableGuid('workbook', scope), stableGuid('workbook', scope.toUpperCase()));
  });
});
