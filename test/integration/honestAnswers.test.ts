// Honest answers: ACIAllocate's 503 says whether anyone is adding servers (the autoscaler may be
// off, or make servers elsewhere); a request for more sessions than any server can hold is a 400,
// not a 503 a client retries for nothing; a server cannot report more sessions than it holds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../support/clock';
import { call, createBody, eventually, expireAllocationSnapshot, startTestFleet, type LocalFleet } from '../support/localFleet';
import { serverRecord } from '../support/records';

const template = (maxSessions: number) =>
  JSON.stringify({ resourceGroup: 'scaled', maxSessions, containerGroup: createBody('x').containerGroup });

describe('ACIAllocate with the autoscaler off', () => {
  let fleet: LocalFleet;
  const clock = new ManualClock();
  before(async () => {
    fleet = await startTestFleet({ overrides: { clock } });
    for (const n of ['full-0', 'full-1']) await fleet.services.store.insert(serverRecord(n, { maxSessions: 4, activeSessions: 4 }));
    expireAllocationSnapshot(fleet, clock);
  });
  after(() => fleet?.stop());

  it('answers 503 saying nobody is adding servers, not that more are on the way', async () => {
    const res = await call(fleet, 'ACIAllocate', { sessions: 1, requestId: 'off-1' });
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'NoCapacity');
    assert.doesNotMatch(res.body.error.message, /on the way/);
    assert.match(res.body.error.message, /autoscaler is off/);
    assert.equal(res.body.error.details.autoscaler, 'off');
    assert.ok(Number(res.headers.get('retry-after')) > 0, 'room can still appear as sessions end');
  });

  it('answers 400 for more sessions than any server holds, and records no demand', async () => {
    const misses = (await fleet.services.demand.since(new Date(0))).length;
    const res = await call(fleet, 'ACIAllocate', { sessions: 5, requestId: 'off-big' });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'ValidationFailed');
    assert.match(res.body.error.message, /holds at most 4/);
    assert.deepEqual(
      res.body.error.details.map((d: { path: string }) => d.path),
      ['sessions'],
    );
    assert.equal((await fleet.services.demand.since(new Date(0))).length, misses, 'bad input writes nothing');
    assert.equal(await fleet.services.allocationLedger.read('off-big'), undefined, 'the requestId is not held either');
  });

  it('counts a server still being created: more than the Running ones hold, but not more than it will, is a 503', async () => {
    await fleet.services.store.insert(serverRecord('big-coming', { state: 'Creating', maxSessions: 8 }));
    const res = await call(fleet, 'ACIAllocate', { sessions: 6 });
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal((await call(fleet, 'ACIAllocate', { sessions: 9 })).status, 400);
  });
});

describe('ACIAllocate with the autoscaler on', () => {
  let fleet: LocalFleet;
  before(async () => {
    fleet = await startTestFleet({ settings: { AUTOSCALER_ENABLED: 'true', CONTAINER_GROUP_TEMPLATE: template(12) } });
  });
  after(() => fleet?.stop());

  it("answers 503 saying the autoscaler adds servers for what it can serve, and 400 beyond its servers' size", async () => {
    const adding = await call(fleet, 'ACIAllocate', { sessions: 10 });
    assert.equal(adding.status, 503);
    assert.match(adding.body.error.message, /autoscaler adds servers/);
    assert.equal(adding.body.error.details.autoscaler, 'adding');
    const tooBig = await call(fleet, 'ACIAllocate', { sessions: 13 });
    assert.equal(tooBig.status, 400);
    assert.match(tooBig.body.error.message, /holds at most 12/);
  });

  it("reads every fleet's servers: a fleet defined through the API counts with its own size and autoscaler", async () => {
    const spec = { template: JSON.parse(template(30)), autoscaler: { minimumInstances: 0 } };
    assert.equal((await call(fleet, 'fleets/big', spec, { method: 'PUT' })).status, 201);
    const fits = await call(fleet, 'ACIAllocate', { sessions: 20, fleet: 'big' });
    assert.equal(fits.status, 503, JSON.stringify(fits.body));
    assert.equal(fits.body.error.details.autoscaler, 'adding');
    const tooBig = await call(fleet, 'ACIAllocate', { sessions: 31, fleet: 'big' });
    assert.equal(tooBig.status, 400);
    assert.match(tooBig.body.error.message, /holds at most 30/);
    // The default fleet's servers hold 12, the API fleet's 30: without a fleet, 30 is the largest.
    assert.equal((await call(fleet, 'ACIAllocate', { sessions: 25 })).status, 503);
  });

  it('says so when the autoscaler adds servers elsewhere than the request asks', async () => {
    const res = await call(fleet, 'ACIAllocate', { sessions: 1, location: 'eastus' });
    assert.equal(res.status, 503);
    assert.equal(res.body.error.details.autoscaler, 'elsewhere');
    assert.match(res.body.error.message, /westeurope/);
  });
});

describe('session counts above MaxSessions', () => {
  let fleet: LocalFleet;
  before(async () => {
    fleet = await startTestFleet();
    await call(fleet, 'ACICreate', createBody('cap-a', { maxSessions: 6 }));
    await call(fleet, 'ACICreate', createBody('cap-b', { maxSessions: 6 }));
    await eventually(async () => (await fleet.services.store.list({ states: ['Running'] })).length === 2, 'Running');
  });
  after(() => fleet?.stop());

  const etags = async () => (await fleet.services.store.list()).map((r) => r.etag).sort();
  const report = (name: string, activeSessions: number) =>
    fetch(`${fleet.url}/api/ACIReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fleet.emulator.containerEnvironment('games', name)!.server!.ACI_REPORT_TOKEN}` },
      body: JSON.stringify({ activeSessions }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  it('ACIReport refuses a count above the server’s MaxSessions with 400, writing nothing', async () => {
    const before = await etags();
    const res = await report('cap-a', 7);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'ValidationFailed');
    assert.match(res.body.error.message, /MaxSessions is 6/);
    assert.deepEqual(await etags(), before);
    assert.equal((await report('cap-a', 6)).status, 200, 'a full server is fine');
  });

  it('ACISetSessions refuses the whole batch when one count is above its server’s MaxSessions, naming it', async () => {
    const before = await etags();
    const res = await call(fleet, 'ACISetSessions', [
      { resourceGroup: 'games', containerGroupName: 'cap-a', activeSessions: 2 },
      { resourceGroup: 'games', containerGroupName: 'cap-b', activeSessions: 9 },
    ]);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'ValidationFailed');
    assert.deepEqual(
      res.body.error.details.map((d: { path: string }) => d.path),
      ['[1].activeSessions'],
    );
    assert.deepEqual(await etags(), before);
  });
});
