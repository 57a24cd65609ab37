import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetError } from '../../runtime/src/domain/core/errors';
import { containerGroupOf } from '../../runtime/src/domain/servers/armEvents';
import { createRequest, setSessionsRequest, setStateRequest } from '../../runtime/src/domain/servers/requests';
import { parseRequest } from '../../runtime/src/domain/core/validation';
import { stableHash } from '../../runtime/src/domain/core/hash';
import { createBody } from '../support/localFleet';

function failure(fn: () => unknown): FleetError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FleetError) return e;
    throw e;
  }
  assert.fail('expected a validation error');
}

describe('request validation', () => {
  it('accepts the seed-shaped create body and lower-cases the resource group', () => {
    const parsed = parseRequest(createRequest, createBody('gs-1', {}, 'Games'));
    assert.equal(parsed.resourceGroup, 'games');
    assert.equal(parsed.containerGroup!.containers[0]!.image, 'ghcr.io/example/game-server:1.0');
  });

  const badNames = ['-gs', 'gs-', 'g--s', 'GS1', 'a'.repeat(64), '', 'gs_1', 'gs.1'];
  for (const name of badNames) {
    it(`rejects the container group name ${JSON.stringify(name)} as ARM would`, () => {
      const e = failure(() => parseRequest(createRequest, createBody(name)));
      assert.equal(e.status, 400);
      assert.ok((e.details as Array<{ path: string }>).some((d) => d.path === 'containerGroupName'));
    });
  }

  it('names the missing field of a container', () => {
    const body = createBody('gs-1');
    delete (body.containerGroup.containers[0] as Record<string, unknown>).image;
    const e = failure(() => parseRequest(createRequest, body));
    assert.ok(
      (e.details as Array<{ path: string }>).some((d) => d.path === 'containerGroup.containers[0].image'),
      JSON.stringify(e.details),
    );
  });

  it('rejects two containers with the same name', () => {
    const body = createBody('gs-1');
    body.containerGroup.containers.push({ ...body.containerGroup.containers[0]! });
    const e = failure(() => parseRequest(createRequest, body));
    assert.match(e.message, /used twice/);
  });

  for (const activeSessions of [-1, 1.5, '3', null]) {
    it(`rejects activeSessions ${JSON.stringify(activeSessions)}`, () => {
      const e = failure(() => parseRequest(setSessionsRequest, [{ resourceGroup: 'g', containerGroupName: 'a', activeSessions }]));
      assert.equal(e.code, 'ValidationFailed');
      assert.equal((e.details as Array<{ path: string }>)[0]!.path, '[0].activeSessions');
    });
  }

  it('rejects the same server twice in one session batch', () => {
    const report = { resourceGroup: 'g', containerGroupName: 'a', activeSessions: 1 };
    const e = failure(() => parseRequest(setSessionsRequest, [report, report]));
    assert.match(e.message, /twice/);
  });

  it('allows only the operator states in ACISetState', () => {
    for (const state of ['MarkedForDeletion', 'Failed', 'Running']) {
      assert.equal(parseRequest(setStateRequest, { resourceGroup: 'g', containerGroupName: 'a', state }).state, state);
    }
    for (const state of ['Creating', 'Deleting', 'running', 1]) {
      assert.equal(failure(() => parseRequest(setStateRequest, { resourceGroup: 'g', containerGroupName: 'a', state })).status, 400);
    }
  });
});

describe('containerGroupOf (Event Grid subject)', () => {
  it('reads the server from data.resourceUri whatever the casing of resourceGroups', () => {
    for (const segment of ['resourceGroups', 'resourcegroups', 'RESOURCEGROUPS']) {
      const uri = `/subscriptions/s/${segment}/Games/providers/Microsoft.ContainerInstance/containerGroups/gs-1`;
      assert.deepEqual(containerGroupOf({ data: { resourceUri: uri } }), { resourceGroup: 'games', containerGroupName: 'gs-1' });
    }
  });

  it('ignores events about other resources', () => {
    assert.equal(
      containerGroupOf({ subject: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/x' }),
      undefined,
    );
    assert.equal(containerGroupOf({}), undefined);
  });
});

describe('stableHash', () => {
  it('ignores key order but not values', () => {
    assert.equal(stableHash({ a: 1, b: { c: 2, d: 3 } }), stableHash({ b: { d: 3, c: 2 }, a: 1 }));
    assert.notEqual(stableHash({ a: 1 }), stableHash({ a: 2 }));
  });
});
