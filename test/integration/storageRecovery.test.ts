// Storage that comes back empty (Azurite restarted in memory, a table deleted by hand): the fleet
// recreates its tables by itself and answers as an empty fleet would, never 500 until a restart;
// while storage is down it answers 503 + Retry-After, and a reconcile brings its servers back.
import { DEFAULT_FLEET } from '../../runtime/src/domain/servers/membership';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { call, createBody, eventually, startTestFleet, testContext, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
before(async () => {
  // Storage in memory (no data folder): a restart brings it back empty. Short retries so an outage answers fast.
  fleet = await startTestFleet({ overrides: { storage: { maxRetries: 1, retryDelayInMs: 50, maxRetryDelayInMs: 100, timeoutMs: 2000 } } });
});
after(() => fleet?.stop());

const key = (name: string) => ({ resourceGroup: 'games', containerGroupName: name });
const running = (name: string) =>
  eventually(async () => (await fleet.services.store.get(key(name)))?.value.state === 'Running', `${name} Running`);
const report = (name: string, activeSessions: number) =>
  fetch(`${fleet.url}/api/ACIReport`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fleet.emulator.containerEnvironment('games', name)!.server!.ACI_REPORT_TOKEN}` },
    body: JSON.stringify({ activeSessions }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
const runTimer = (name: string) =>
  fetch(`${fleet.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': fleet.key } }).then((r) => r.status);

/** Every call a matchmaker, an operator or a game server makes: none may answer 500. */
async function everyCall(server: string) {
  return {
    list: await call(fleet, 'ACIList', undefined, { query: { state: 'all' } }),
    allocate: await call(fleet, 'ACIAllocate', { sessions: 1, requestId: `after-${Date.now()}` }),
    setSessions: await call(fleet, 'ACISetSessions', [{ ...key(server), activeSessions: 1 }]),
    setState: await call(fleet, 'ACISetState', { ...key(server), state: 'MarkedForDeletion' }),
    details: await call(fleet, 'ACIDetails', key(server)),
    report: await report(server, 1),
  };
}

describe('storage that comes back empty', () => {
  it('answers 503 + Retry-After while storage is down, then works again with its tables recreated', async () => {
    await call(fleet, 'ACICreate', createBody('sr-a'));
    await running('sr-a');
    assert.equal((await call(fleet, 'ACIAllocate', { sessions: 1, requestId: 'before-restart' })).status, 200);
    await fleet.services.fleetState(DEFAULT_FLEET).write({ creates: [] }, (await fleet.services.fleetState(DEFAULT_FLEET).read())?.etag);

    await fleet.azurite.stop();
    const down = await call(fleet, 'ACIList');
    assert.equal(down.status, 503);
    assert.equal(down.body.error.code, 'StorageUnavailable');
    assert.ok(Number(down.headers.get('retry-after')) > 0);

    await fleet.azurite.start(); // in memory: every table and container is gone
    const answers = await everyCall('sr-a');
    for (const [what, res] of Object.entries(answers))
      assert.ok(res.status < 500 || res.body?.error?.code === 'NoCapacity', `${what}: ${res.status} ${JSON.stringify(res.body)}`);
    assert.deepEqual(answers.list.body, []);
    assert.equal(answers.setSessions.status, 404, 'the row is gone until reconcile brings it back');
    assert.equal(answers.report.status, 404);
    assert.equal(answers.allocate.status, 503, 'no server is known yet: a miss, recorded as demand');
    assert.equal((await fleet.services.demand.since(new Date(0))).length, 1);

    // The timers work too: GC prunes the (recreated) ledger, the autoscaler's state can be written again.
    assert.equal(await runTimer('ACIGC'), 202);
    assert.equal(await runTimer('ACIReconcile'), 202);
    await fleet.services.fleetState(DEFAULT_FLEET).write({ creates: [] }, (await fleet.services.fleetState(DEFAULT_FLEET).read())?.etag);

    // Reconcile adopted the group it found in ARM: the server is back, and reports again.
    await running('sr-a');
    assert.equal((await report('sr-a', 2)).status, 200);
    assert.equal((await call(fleet, 'ACICreate', createBody('sr-b'))).status, 202);
    await running('sr-b');
  });

  it('recreates a table deleted while it runs, on the next call that needs it', async () => {
    const tables = [fleet.settings.FLEET_TABLE_NAME, fleet.settings.FLEET_DEMAND_TABLE_NAME].map((name) =>
      TableClient.fromConnectionString(fleet.azurite.connectionString, name, { allowInsecureConnection: true }),
    );
    for (const table of tables) await table.deleteTable();

    const list = await call(fleet, 'ACIList', undefined, { query: { state: 'all' } });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(list.body, []);
    const miss = await call(fleet, 'ACIAllocate', { sessions: 1 });
    assert.equal(miss.status, 503);
    assert.equal(miss.body.error.code, 'NoCapacity');
    assert.equal((await call(fleet, 'ACICreate', createBody('sr-c'))).status, 202);
    await running('sr-c');
    const report = await fleet.services.reconciler(testContext()).reconcile();
    assert.deepEqual(report.failed, []);
  });
});
