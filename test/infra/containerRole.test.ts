// The fleet's container role: every ARM call the runtime's adapter makes on container groups is
// allowed, nothing else is (no exec, no attach, no wildcard), read from the adapter's own source so
// that a new call without a new action fails here rather than with a 403 on Azure.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CONTAINER_ROLE_ACTIONS,
  FORBIDDEN_CONTAINER_ACTIONS,
  ContainerRole,
  containerRoleName,
  containerRoleProblems,
} from '../../infra/containerRole';
import { flush, useMocks } from './support/mocks';

const CG = 'Microsoft.ContainerInstance/containerGroups';
/** The action ARM checks for each @azure/arm-containerinstance method (its REST operation). */
const ACTION_OF_METHOD: Record<string, string> = {
  'containerGroups.beginCreateOrUpdate': `${CG}/write`,
  'containerGroups.beginCreateOrUpdateAndWait': `${CG}/write`,
  'containerGroups.update': `${CG}/write`,
  'containerGroups.beginDelete': `${CG}/delete`,
  'containerGroups.beginDeleteAndWait': `${CG}/delete`,
  'containerGroups.get': `${CG}/read`,
  'containerGroups.list': `${CG}/read`,
  'containerGroups.listByResourceGroup': `${CG}/read`,
  'containerGroups.beginRestart': `${CG}/restart/action`,
  'containerGroups.stop': `${CG}/stop/action`,
  'containerGroups.beginStart': `${CG}/start/action`,
  'containers.listLogs': `${CG}/containers/logs/read`,
  'containers.executeCommand': `${CG}/containers/exec/action`,
  'containers.attach': `${CG}/containers/attach/action`,
};

/** `this.client.<group>.<method>(` calls in the runtime's container-group adapter. */
function adapterCalls(): string[] {
  const source = fs.readFileSync(path.resolve(__dirname, '../../runtime/src/azure/containerGroups.ts'), 'utf8');
  return [...new Set([...source.matchAll(/this\.client\.(\w+)\.(\w+)\(/g)].map((m) => `${m[1]}.${m[2]}`))].sort();
}

describe('the container role', () => {
  const granted = Object.keys(CONTAINER_ROLE_ACTIONS);

  it('allows every call the runtime makes on container groups', () => {
    const calls = adapterCalls();
    assert.ok(calls.length >= 5, calls.join(', '));
    for (const call of calls) {
      const action = ACTION_OF_METHOD[call];
      assert.ok(action, `${call}: add its ARM action to ACTION_OF_METHOD (and to the role if the runtime needs it)`);
      assert.ok(granted.includes(action), `${call} needs ${action}`);
    }
  });

  it('allows nothing the runtime does not do, except reading its own long-running operations', () => {
    const needed = new Set(adapterCalls().map((c) => ACTION_OF_METHOD[c]));
    assert.deepEqual(
      granted.filter((a) => !needed.has(a)),
      [`${CG}/operationResults/read`],
    );
    assert.deepEqual(containerRoleProblems(granted), []);
    for (const forbidden of FORBIDDEN_CONTAINER_ACTIONS) assert.ok(!granted.includes(forbidden), forbidden);
  });

  const problems: Array<[string, string[], RegExp | undefined]> = [
    ['the granted actions', granted, undefined],
    ['a wildcard', [`${CG}/*`], /no wildcard/],
    ['everything', ['*'], /no wildcard/],
    ['exec', [`${CG}/containers/exec/action`], /never granted/],
    ['attach, in another casing', [`${CG}/CONTAINERS/ATTACH/ACTION`], /never granted/],
  ];
  for (const [what, actions, problem] of problems) {
    it(`${problem ? 'refuses' : 'accepts'} ${what}`, () => {
      const found = containerRoleProblems(actions);
      if (problem) assert.match(found.join('\n'), problem);
      else assert.deepEqual(found, []);
    });
  }

  it('has a name unique to the fleet and the subscription (role names are unique in a tenant)', () => {
    const names = new Set([
      containerRoleName('fleet-a', 'sub-1'),
      containerRoleName('fleet-a', 'sub-2'),
      containerRoleName('fleet-b', 'sub-1'),
    ]);
    assert.equal(names.size, 3);
  });

  it('needs a container resource group before defining anything', async () => {
    const seen = await useMocks();
    assert.throws(
      () => new ContainerRole('none', { fleetName: 'f', subscriptionId: 's', containerResourceGroupIds: [] }),
      /no container resource group/,
    );
    await flush();
    assert.deepEqual(
      seen.types.filter((t) => t.startsWith('azure-native:')),
      [],
    );
  });
});
