// The stack file's fleets in the program, under Pulumi mocks: one resource per fleet, written after
// the smoke test, with the body (and its secrets) as Pulumi secrets and only the redacted spec in
// the clear, and the revisions as the `fleetRevisions` output. (Without fleets, and the fleets
// table: program.test.ts; bad fleets at preview: fleetSpecs.test.ts.)
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { FLEET_SECRET, fleetTemplate } from './support/fleetBodies';
import { aciUsagesBody } from './support/fakeAzure';
import { FUNCTION_KEY, baseConfig, ofType, one, recordInChild, type Recording } from './support/recording';

const T = {
  fleet: 'pulumi-nodejs:dynamic/aci-fleet:Fleet',
  smoke: 'pulumi-nodejs:dynamic/aci-fleet:SmokeTest',
};

const template = (image: string) =>
  fleetTemplate(image, 'aci-fleet-dev-servers', {
    imageRegistryCredentials: [{ server: 'example.azurecr.io', username: 'pull', password: 'registry-s3cret' }],
  });

const FLEETS = {
  game: { template: template('example/game:1'), replicas: 3, rollout: { maxSurge: 1 } },
  lobby: { template: template('example/lobby:7'), autoscaler: { minimumInstances: 1, maximumInstances: 4 } },
};

let plain: Recording;
let secretKey: Recording;
let smallQuota: Recording;

before(async () => {
  [plain, secretKey, smallQuota] = await Promise.all([
    recordInChild(baseConfig({ 'aci-fleet:fleets': JSON.stringify(FLEETS) })),
    recordInChild(baseConfig({ 'aci-fleet:fleets': JSON.stringify(FLEETS) }), 'dev', {}, ['aci-fleet:fleets']),
    // A new subscription's ACI quota in the fleets' region: 5 vCPUs.
    recordInChild(baseConfig({ 'aci-fleet:fleets': JSON.stringify(FLEETS) }), 'dev', {
      aciUsages: { westeurope: { status: 200, body: aciUsagesBody(100, 5) } },
    }),
  ]);
  for (const r of [plain, secretKey, smallQuota]) assert.equal(r.error, undefined, `program failed: ${r.error}`);
});

describe("stack fleets and ACI's quota", () => {
  it('warns at preview when the fleets at their largest need more than the region allows, and goes on', () => {
    assert.deepEqual(plain.warnings, [], 'room enough: nothing to say');
    assert.equal(smallQuota.warnings.length, 1, smallQuota.warnings.join('\n'));
    // game: 3 replicas + a surge of 1; lobby: at most 4 + a surge of 1 (25%); one vCPU each.
    assert.match(smallQuota.warnings[0]!, /may ask for 9 vCPUs in westeurope \(game 4, lobby 5;.*\(StandardCores: 5, 0 in use\)/);
    assert.equal(ofType(smallQuota, T.fleet).length, 2, 'the stack is declared all the same');
  });
});

describe('stack fleets', () => {
  it('declares one fleet resource per fleet of the stack file, under the StackFleets component, after the smoke test', () => {
    const fleets = ofType(plain, T.fleet);
    assert.deepEqual(fleets.map((f) => [f.name, f.inputs.name]).sort(), [
      ['fleets-game', 'game'],
      ['fleets-lobby', 'lobby'],
    ]);
    const smoke = one(plain, T.smoke);
    for (const f of fleets) {
      assert.deepEqual(f.dependsOn, [smoke.key], 'written only once the deployed app answered the smoke test');
      assert.equal(f.parent, 'aci-fleet:infra:StackFleets::fleets');
      assert.equal(f.inputs.apiBaseUrl, 'https://aci-fleet-dev-abc123.azurewebsites.net/api');
      assert.equal(f.inputs.functionKey, FUNCTION_KEY, 'the key the smoke test read');
      assert.equal(typeof f.inputs.__provider, 'string', 'the provider serialized into the state');
    }
  });

  it('sends the body as the stack file gives it, as a secret; shows only the redacted spec', () => {
    const game = one(plain, T.fleet, 'fleets-game');
    assert.deepEqual(game.inputs.body, FLEETS.game);
    assert.deepEqual([...game.secretInputs].sort(), ['body', 'functionKey', 'secrets']);
    assert.deepEqual([...game.inputs.secrets].sort(), [FLEET_SECRET, 'registry-s3cret'].sort());
    const shown = JSON.stringify(game.inputs.spec);
    assert.ok(!shown.includes(FLEET_SECRET) && !shown.includes('registry-s3cret'), shown);
    const group = game.inputs.spec.template.containerGroup;
    assert.deepEqual(group.containers[0].environmentVariables, [
      { name: 'MODE', value: 'ranked' },
      { name: 'API_TOKEN', secureValue: '<redacted>' },
    ]);
    assert.equal(group.imageRegistryCredentials[0].password, '<redacted>');
    assert.equal(group.containers[0].image, 'example/game:1', 'an image tag change shows in the preview');
  });

  it('keeps even the shown spec secret when the fleets key holds a value set with --secret', () => {
    const game = one(secretKey, T.fleet, 'fleets-game');
    assert.deepEqual([...game.secretInputs].sort(), ['body', 'functionKey', 'secrets', 'spec']);
  });

  it('exports each fleet revision as fleetRevisions', () => {
    assert.deepEqual(plain.outputs.fleetRevisions, { value: { game: 1, lobby: 1 }, secret: false });
  });
});
