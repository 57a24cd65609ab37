// The stack's fleet resource against the real runtime (the local fleet: Azurite, the ACI emulator,
// the Functions host) rather than a fake: its provider creates a fleet (revision 1), a re-PUT of the
// same body is a no-op, a new image is revision 2, delete drains it and a second delete finds it
// gone. And the preview and the runtime agree: what the stack's check refuses, the API refuses
// too, naming the same field; what it accepts, the API takes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deleteFleet, putFleet, type FleetApiError } from '../../infra/deploy/fleetApi';
import { fleetProvider, type FleetInputs, type FleetOutputs } from '../../infra/deploy/fleetProvider';
import { checkStackFleets } from '../../infra/fleetSpecs';
import { call, startTestFleet, type LocalFleet } from '../support/localFleet';
import { FLEET_SECRET, fleetTemplate } from '../infra/support/fleetBodies';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet({ settings: { FLEET_RESOURCE_GROUPS: 'games', FLEET_MAX_SERVERS: '20' } });
});
after(() => fleet?.stop());

const KEYS = { fleets: 'aci-fleet:fleets', maxServers: 'aci-fleet:maxServers' };
const FAST = { requestTimeoutMs: 30_000, maxAttempts: 3, retryInitialDelayMs: 5, retryMaxDelayMs: 20 };

const body = (image: string, over: Record<string, unknown> = {}) => ({ replicas: 0, template: fleetTemplate(image, 'games'), ...over });

/** The fleet resource's inputs, as the program makes them from a checked stack fleet. */
function inputsOf(name: string, b: Record<string, unknown>): FleetInputs {
  const { fleets, problems } = checkStackFleets({ [name]: b }, fleet.settings, KEYS);
  assert.deepEqual(problems, []);
  const checked = fleets[name]!;
  return {
    apiBaseUrl: `${fleet.url}/api`,
    name,
    spec: checked.shown,
    body: checked.body,
    secrets: checked.secrets,
    functionKey: fleet.key,
    timing: FAST,
  };
}

describe('the stack fleet resource on the local fleet', () => {
  it('creates, re-PUTs as a no-op, rolls a new image out as revision 2, and deletes', async () => {
    const created = (await fleetProvider.create!(inputsOf('arena', body('example/game:1')))) as { outs: FleetOutputs };
    assert.equal(created.outs.revision, 1);
    const again = (await fleetProvider.update!('id', created.outs, inputsOf('arena', body('example/game:1')))) as { outs: FleetOutputs };
    assert.equal(again.outs.revision, 1, 'the same body again: the same revision');
    const viewed = await call(fleet, 'fleets/arena');
    assert.equal(viewed.body.Revision, 1);
    assert.equal(viewed.body.Template.containerGroup.containers[0].environmentVariables[1].secureValue, '<redacted>');
    assert.ok(!JSON.stringify(viewed.body).includes(FLEET_SECRET));
    assert.equal(
      ((await fleetProvider.diff!('id', again.outs, inputsOf('arena', body('example/game:1')))) as { changes: boolean }).changes,
      false,
    );

    const rolled = (await fleetProvider.update!('id', again.outs, inputsOf('arena', body('example/game:2')))) as { outs: FleetOutputs };
    assert.equal(rolled.outs.revision, 2);
    assert.equal((await call(fleet, 'fleets/arena')).body.Template.containerGroup.containers[0].image, 'example/game:2');

    await fleetProvider.delete!('id', rolled.outs);
    assert.equal((await call(fleet, 'fleets/arena')).status, 404, 'no servers to drain: gone at once');
    await fleetProvider.delete!('id', rolled.outs); // 404: already gone, no error
  });

  it("refreshes by the runtime's ETag: quiet while untouched, a change by hand put back on the next update", async () => {
    const created = (await fleetProvider.create!(inputsOf('lobby', body('example/lobby:1')))) as { outs: FleetOutputs };
    assert.match(created.outs.etag ?? '', /^"1-/);
    const same = (await fleetProvider.read!('id', created.outs)) as { props: FleetOutputs };
    assert.deepEqual(same.props, created.outs, 'the ETag did not move: nothing to do');
    const byHand = await call(fleet, 'fleets/lobby', body('example/lobby:hotfix'), { method: 'PUT' });
    assert.equal(byHand.body.Revision, 2);
    const drifted = (await fleetProvider.read!('id', created.outs)) as { props: FleetOutputs };
    assert.equal(drifted.props.revision, 2);
    const diff = (await fleetProvider.diff!('id', drifted.props, inputsOf('lobby', body('example/lobby:1')))) as { changes: boolean };
    assert.equal(diff.changes, true, 'the stack puts its own spec back');
    const restored = (await fleetProvider.update!('id', drifted.props, inputsOf('lobby', body('example/lobby:1')))) as {
      outs: FleetOutputs;
    };
    assert.equal(restored.outs.revision, 3);
    await fleetProvider.delete!('id', restored.outs);
    assert.deepEqual(await fleetProvider.read!('id', restored.outs), { id: '', props: {} });
  });

  // Bodies the preview refuses: the API refuses each too (400 or 409), naming the same field.
  const refused: Array<[string, string, Record<string, unknown>, string]> = [
    [
      'a resource group outside FLEET_RESOURCE_GROUPS',
      'bad-rg',
      body('x', { template: { ...body('x').template, resourceGroup: 'elsewhere' } }),
      'template.resourceGroup',
    ],
    ['negative replicas', 'bad-replicas', body('x', { replicas: -1 }), 'replicas'],
    ['both replicas and an autoscaler', 'bad-both', body('x', { replicas: 1, autoscaler: {} }), 'autoscaler'],
    ['a rollout that never replaces', 'bad-rollout', body('x', { rollout: { maxSurge: 0, maxUnavailable: 0 } }), 'rollout.maxSurge'],
    [
      'no containers',
      'bad-containers',
      body('x', { template: { ...body('x').template, containerGroup: { location: 'westeurope', osType: 'Linux', containers: [] } } }),
      'template.containerGroup.containers',
    ],
    ['the default fleet', 'default', body('x'), ''],
  ];
  for (const [what, name, b, field] of refused) {
    it(`agrees with the runtime on ${what}: both refuse it`, async () => {
      const { problems } = checkStackFleets({ [name]: b }, fleet.settings, KEYS);
      assert.ok(problems.length > 0, 'the preview refuses it');
      assert.ok(
        problems.some((p) => p.startsWith(`${KEYS.fleets}.${name}${field ? `.${field}` : ''}: `)),
        problems.join('\n'),
      );
      const error = await putFleet({ apiBaseUrl: `${fleet.url}/api`, functionKey: fleet.key, timing: FAST }, name, b).then(
        () => assert.fail('the runtime took it'),
        (e: unknown) => e as FleetApiError,
      );
      assert.ok(error.status === 400 || error.status === 409, error.message);
      if (field) assert.match(error.message, new RegExp(field.replace(/[.[\]]/g, '\\$&')));
      assert.equal((await call(fleet, `fleets/${name}`)).status, 404, 'nothing written');
    });
  }

  it('deletes a fleet the runtime does not know without an error', async () => {
    assert.deepEqual(await deleteFleet({ apiBaseUrl: `${fleet.url}/api`, functionKey: fleet.key, timing: FAST }, 'never-made'), {
      status: 404,
    });
  });
});
