// ACIGC: deletes drained, empty servers, and loses (safely) to a session report that lands first.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServerService } from '../../runtime/src/domain/servers/serverService';
import { call, createBody, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';
import { racingStore } from '../support/races';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet();
});
after(() => fleet?.stop());

const key = (name: string) => ({ resourceGroup: 'games', containerGroupName: name });
const row = async (name: string) => (await fleet.services.store.get(key(name)))?.value;
const hasGroup = (name: string) => fleet.emulator.groups().some((g) => g.name === name);

async function drainedServer(name: string, sessions: number): Promise<void> {
  await call(fleet, 'ACICreate', createBody(name));
  await eventually(async () => (await row(name))?.state === 'Running', `${name} Running`);
  await call(fleet, 'ACISetSessions', [{ ...key(name), activeSessions: sessions }]);
  assert.equal((await call(fleet, 'ACISetState', { ...key(name), state: 'MarkedForDeletion' })).status, 200);
}

const runGc = async () => {
  const res = await fetch(`${fleet.url}/admin/functions/ACIGC`, { method: 'POST', headers: { 'x-functions-key': fleet.key } });
  assert.equal(res.status, 202);
};

describe('ACIGC', () => {
  it('deletes a drained server with no sessions and leaves one with sessions alone', async () => {
    await drainedServer('gc-empty', 0);
    await drainedServer('gc-busy', 2);
    await runGc();
    assert.equal((await row('gc-busy'))?.state, 'MarkedForDeletion');
    assert.ok(hasGroup('gc-busy'));
    await eventually(async () => !hasGroup('gc-empty') && (await row('gc-empty')) === undefined, 'gc-empty gone');

    // Once its last session ends, the next run takes it.
    await call(fleet, 'ACISetSessions', [{ ...key('gc-busy'), activeSessions: 0 }]);
    await runGc();
    await eventually(async () => !hasGroup('gc-busy') && (await row('gc-busy')) === undefined, 'gc-busy gone');
  });

  it('never deletes a server whose session report lands between its read and its write', async () => {
    await drainedServer('gc-race', 0);
    // A store that lets a session report in right before GC's conditional write.
    const { store, raced } = racingStore(
      fleet.services.store,
      (record) => record.containerGroupName === 'gc-race' && record.state === 'Deleting',
      async () => {
        const res = await call(fleet, 'ACISetSessions', [{ ...key('gc-race'), activeSessions: 1 }]);
        assert.equal(res.status, 200);
      },
    );
    const gc = new ServerService({ store, groups: fleet.services.groups, options: fleet.services.options });
    const result = await gc.collectGarbage();
    assert.ok(raced(), 'the race was staged');
    assert.deepEqual(result.deleted, []);
    const after = await row('gc-race');
    assert.equal(after?.state, 'MarkedForDeletion');
    assert.equal(after?.activeSessions, 1);
    assert.ok(hasGroup('gc-race'));
  });

  it('answers 404 for a timer that does not exist and 401 without the key', async () => {
    assert.equal(
      (await fetch(`${fleet.url}/admin/functions/Nope`, { method: 'POST', headers: { 'x-functions-key': fleet.key } })).status,
      404,
    );
    assert.equal((await fetch(`${fleet.url}/admin/functions/ACIGC`, { method: 'POST' })).status, 401);
  });
});
