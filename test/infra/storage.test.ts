// Storage decisions: a valid, unique account name; one private container per purpose; three distinct tables.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { BLOB_CONTAINERS, FleetStorage, storageAccountName } from '../../infra/storage';
import { flush, useMocks } from './support/mocks';

describe('storageAccountName', () => {
  const cases: Array<[string, string, string]> = [
    ['aci-fleet-dev', 'abc123', 'stacifleetdevabc123'],
    ['a-very-long-fleet-name-for-eu', 'x9y8z7', 'staverylongfleetnax9y8z7'],
    ['ab', '000000', 'stab000000'],
  ];
  for (const [fleet, suffix, name] of cases) {
    it(`derives ${name} from ${fleet}`, () => {
      const got = storageAccountName(fleet, suffix);
      assert.equal(got, name);
      assert.match(got, /^[a-z0-9]{3,24}$/);
      assert.ok(got.endsWith(suffix), 'the random suffix is never cut');
    });
  }
});

describe('FleetStorage', () => {
  it('names blob containers by purpose, in Azure container name rules', () => {
    for (const name of Object.values(BLOB_CONTAINERS)) assert.match(name, /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/);
  });

  it('validates the table names before creating the account', async () => {
    const seen = await useMocks();
    const args = {
      resourceGroupName: 'rg',
      location: 'westeurope',
      accountName: 'st',
      tableName: 'ACIDetails',
      demandTableName: 'FleetDemand',
      fleetsTableName: 'FleetSpecs',
    };
    assert.throws(() => new FleetStorage('bad', { ...args, tableName: 'no-hyphens' }), /invalid table name "no-hyphens"/);
    assert.throws(() => new FleetStorage('bad-demand', { ...args, demandTableName: '1st' }), /invalid table name "1st"/);
    assert.throws(() => new FleetStorage('same', { ...args, demandTableName: 'acidetails' }), /must differ/);
    assert.throws(() => new FleetStorage('bad-fleets', { ...args, fleetsTableName: 'x' }), /invalid table name "x"/);
    assert.throws(
      () => new FleetStorage('same-fleets', { ...args, fleetsTableName: 'FLEETDEMAND' }),
      /must differ, got "FLEETDEMAND" twice/,
    );
    await flush();
    assert.deepEqual(
      seen.types.filter((t) => t.startsWith('azure-native:')),
      [],
    );
  });
});
