// The report-token secrets: where each generation lives, that a rotation regenerates exactly one
// secret and keeps the one before it, that a stack from before rotation keeps its secret, and
// the vault's name.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { keyVaultName, keyVaultReference, reportTokenPlan, slotKeepers } from '../../infra/keyVault';

describe('reportTokenPlan', () => {
  const cases: Array<[number, boolean, ReturnType<typeof reportTokenPlan>]> = [
    [0, true, { slots: [{ slot: 'a', generation: 0 }], current: 'a', previous: undefined }],
    [
      1,
      true,
      {
        slots: [
          { slot: 'a', generation: 0 },
          { slot: 'b', generation: 1 },
        ],
        current: 'b',
        previous: 'a',
      },
    ],
    [
      2,
      true,
      {
        slots: [
          { slot: 'a', generation: 2 },
          { slot: 'b', generation: 1 },
        ],
        current: 'a',
        previous: 'b',
      },
    ],
    [
      3,
      false,
      {
        slots: [
          { slot: 'a', generation: 2 },
          { slot: 'b', generation: 3 },
        ],
        current: 'b',
        previous: undefined,
      },
    ],
    [0, false, { slots: [{ slot: 'a', generation: 0 }], current: 'a', previous: undefined }],
  ];
  for (const [generation, keepPrevious, plan] of cases) {
    it(`generation ${generation}${keepPrevious ? '' : ', previous dropped'}: current in ${plan.current}`, () => {
      assert.deepEqual(reportTokenPlan(generation, keepPrevious), plan);
    });
  }

  it('rotating one generation at a time regenerates exactly one secret, and the one before it stays the previous', () => {
    /** The secret each slot holds: its keepers, which decide when it is regenerated. */
    let held = new Map<string, string>();
    let lastCurrent: string | undefined;
    for (let generation = 0; generation <= 12; generation++) {
      const plan = reportTokenPlan(generation, true);
      const now = new Map(plan.slots.map((s) => [s.slot, JSON.stringify(slotKeepers(s) ?? null)]));
      const regenerated = [...now].filter(([slot, keepers]) => held.get(slot) !== keepers).map(([slot]) => slot);
      assert.deepEqual(regenerated, [plan.current], `generation ${generation}: only the current slot gets a new secret`);
      if (generation > 0) assert.equal(plan.previous, lastCurrent, `generation ${generation}: the old current is the previous`);
      held = now;
      lastCurrent = plan.current;
    }
  });

  it('keeps the secret of a stack deployed before rotation (no keepers at generation 0)', () => {
    assert.equal(slotKeepers({ slot: 'a', generation: 0 }), undefined);
    assert.deepEqual(slotKeepers({ slot: 'a', generation: 2 }), { generation: '2' });
  });

  it('refuses a generation that is not a whole number from 0', () => {
    for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => reportTokenPlan(bad, true), /whole number/);
  });
});

describe('keyVaultName', () => {
  const cases: Array<[string, string, string]> = [
    ['aci-fleet-dev', 'abc123', 'kv-aci-fleet-dev-abc123'],
    ['aci-fleet-eastus2', 'abc123', 'kv-aci-fleet-east-abc123'],
    // Cut to 14 characters, 'aci-fleet-dev-' must not leave a trailing hyphen (a double one with the suffix's).
    ['aci-fleet-dev-x', 'abc123', 'kv-aci-fleet-dev-abc123'],
    ['a'.repeat(32), 'zzzzzz', `kv-${'a'.repeat(14)}-zzzzzz`],
  ];
  for (const [fleet, suffix, name] of cases) {
    it(`names ${fleet} ${name}`, () => {
      assert.equal(keyVaultName(fleet, suffix), name);
      assert.ok(name.length >= 3 && name.length <= 24 && !name.includes('--'));
    });
  }
});

describe('keyVaultReference', () => {
  it('is the app setting syntax App Service resolves', () => {
    assert.equal(
      keyVaultReference('https://kv-x.vault.azure.net/secrets/report-token-a/0123abc'),
      '@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/report-token-a/0123abc)',
    );
  });
});
