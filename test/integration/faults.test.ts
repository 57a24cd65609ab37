// Faults: ARM throttling and 5xx bursts, answers lost after the work was done, and a storage
// outage in the middle of a run. Callers always get JSON (4xx/503), nothing hangs, no group is
// created twice, and afterwards one reconcile leaves the table consistent with ARM.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signReportToken } from '../../runtime/src/domain/reports/tokens';
import { disagreements, groupIds } from '../support/consistency';
import { call, createBody, eventually, startTestFleet, testContext, type LocalFleet } from '../support/localFleet';

const key = (name: string) => ({ resourceGroup: 'games', containerGroupName: name });

describe('ARM throttling and transient failures', () => {
  let fleet: LocalFleet;
  before(async () => {
    // Two retries, short backoff (startTestFleet); the emulator's counters decide what fails.
    fleet = await startTestFleet();
  });
  after(() => fleet?.stop());
  const row = async (name: string) => (await fleet.services.store.get(key(name)))?.value;
  const groupsNamed = (name: string) => fleet.emulator.groups().filter((g) => g.name === name).length;

  it('rides out a burst of 429s without Retry-After (backoff) and creates the group once', async () => {
    fleet.emulator.faults.set({ failRequests: { status: 429, count: 2, methods: ['PUT'] } });
    const res = await call(fleet, 'ACICreate', createBody('throttled'));
    assert.equal(res.status, 202);
    assert.equal(fleet.emulator.faults.stats().failedRequests, 2);
    await eventually(async () => (await row('throttled'))?.state === 'Running', 'Running');
    assert.equal(groupsNamed('throttled'), 1);
  });

  it('answers 503 JSON with Retry-After when 500s outlast the retries, writes nothing, and a retry later works once', async () => {
    fleet.emulator.faults.set({ failRequests: { status: 500, count: 3, methods: ['PUT'] } });
    const res = await call(fleet, 'ACICreate', createBody('burst'));
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'AzureUnavailable');
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    assert.equal(await row('burst'), undefined, 'the row was taken back');
    assert.equal(groupsNamed('burst'), 0);

    fleet.emulator.faults.clear();
    assert.equal((await call(fleet, 'ACICreate', createBody('burst'))).status, 202);
    await eventually(async () => (await row('burst'))?.state === 'Running', 'Running');
    assert.equal(groupsNamed('burst'), 1);
  });

  it('keeps the server when the PUT landed but every answer was lost (no orphan, no duplicate)', async () => {
    fleet.emulator.faults.set({ failRequests: { status: 500, count: 3, methods: ['PUT'], afterApply: true } });
    const res = await call(fleet, 'ACICreate', createBody('lost-answer'));
    fleet.emulator.faults.clear();
    assert.equal(res.status, 202);
    await eventually(async () => (await row('lost-answer'))?.state === 'Running', 'Running');
    assert.equal(groupsNamed('lost-answer'), 1);
    // The caller retries anyway: same spec, same server, still one group.
    assert.equal((await call(fleet, 'ACICreate', createBody('lost-answer'))).status, 200);
    assert.equal(groupsNamed('lost-answer'), 1);
  });

  it('hands a long Retry-After back to the caller as 503 instead of holding the request', async () => {
    await call(fleet, 'ACICreate', createBody('details-throttled'));
    // The one 429 must meet ACIDetails' GET, not the monitor's GET of the create's events.
    await eventually(async () => (await row('details-throttled'))?.state === 'Running', 'Running');
    await fleet.emulator.idle();
    fleet.emulator.faults.set({ failRequests: { status: 429, count: 1, methods: ['GET'], retryAfterSeconds: 120 } });
    const res = await call(fleet, 'ACIDetails', key('details-throttled'));
    fleet.emulator.faults.clear();
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'AzureUnavailable');
    assert.equal((await call(fleet, 'ACIDetails', key('details-throttled'))).status, 200);
  });

  it('answers every function with JSON (4xx/503) while ARM fails everything', async () => {
    await call(fleet, 'ACICreate', createBody('during-outage'));
    await eventually(async () => (await row('during-outage'))?.state === 'Running', 'Running');
    fleet.emulator.faults.set({ failRequests: { status: 500, count: 1000 } });
    try {
      const answers = await Promise.all([
        call(fleet, 'ACICreate', createBody('during-outage-2')),
        call(fleet, 'ACIDelete', key('during-outage')),
        call(fleet, 'ACIDetails', key('during-outage')),
        call(fleet, 'ACIList'),
        call(fleet, 'ACISetSessions', [{ ...key('during-outage'), activeSessions: 1 }]),
        call(fleet, 'ACISetState', { ...key('during-outage'), state: 'MarkedForDeletion' }),
      ]);
      for (const a of answers) {
        assert.ok(a.status < 500 || a.status === 503, `${a.status} ${JSON.stringify(a.body)}`);
        assert.equal(typeof a.body, 'object');
        if (a.status >= 400) assert.ok(a.body.error.code);
      }
    } finally {
      fleet.emulator.faults.clear();
    }
    await fleet.emulator.idle();
    await fleet.services.reconciler(testContext()).reconcile();
    assert.deepEqual(await disagreements(fleet), []);
  });
});

describe('a storage (Azurite) outage in the middle of a run', () => {
  let fleet: LocalFleet;
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'aci-fleet-faults-'));
    // Data on disk so the restart keeps it; short storage retries and timeout so an outage answers fast.
    fleet = await startTestFleet({
      dataDir,
      overrides: { storage: { maxRetries: 1, retryDelayInMs: 50, maxRetryDelayInMs: 100, timeoutMs: 2000 } },
    });
  });
  after(async () => {
    await fleet?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 JSON (never hangs) while storage is down, and one reconcile afterwards restores a consistent table with no duplicate group', async () => {
    await Promise.all(['before-1', 'before-2'].map((n) => call(fleet, 'ACICreate', createBody(n))));
    await eventually(async () => (await fleet.services.store.list({ states: ['Running'] })).length === 2, 'Running');
    // Creates whose events arrive while storage is down, so they are lost: the emulator holds every
    // event back until storage is down (a count more than will come; clear() lets them go). Waiting
    // for them to be late enough (a long provisioning time) raced the outage on a slow machine.
    fleet.emulator.faults.set({ reorderEvents: 1000 });
    await Promise.all(['mid-1', 'mid-2', 'mid-3'].map((n) => call(fleet, 'ACICreate', createBody(n))));

    await fleet.azurite.stop();
    fleet.emulator.faults.clear();
    const token = signReportToken(key('before-1'), fleet.settings.REPORT_TOKEN_SECRET!);
    const answers = await Promise.all([
      call(fleet, 'ACICreate', createBody('while-down')),
      call(fleet, 'ACIList', undefined, { query: { state: 'all' } }),
      call(fleet, 'ACISetSessions', [{ ...key('before-1'), activeSessions: 2 }]),
      call(fleet, 'ACISetState', { ...key('before-2'), state: 'MarkedForDeletion' }),
      call(fleet, 'ACIDelete', key('before-2')),
      call(fleet, 'ACIDetails', key('before-1')),
      fetch(`${fleet.url}/api/ACIReport`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: '{"activeSessions":1}',
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any })),
    ]);
    for (const a of answers) {
      assert.equal(a.status, 503, JSON.stringify(a.body));
      assert.equal(a.body.error.code, 'StorageUnavailable');
    }
    await fleet.emulator.idle(); // every mid-* event was delivered during the outage, and given up on

    await fleet.azurite.start();
    const stuck = await Promise.all(['mid-1', 'mid-2', 'mid-3'].map(async (n) => (await fleet.services.store.get(key(n)))?.value.state));
    assert.deepEqual(stuck, ['Creating', 'Creating', 'Creating'], 'events were lost during the outage');
    const report = await fleet.services.reconciler(testContext()).reconcile();
    assert.deepEqual(report.failed, []);
    assert.deepEqual(await disagreements(fleet), []);
    for (const name of ['mid-1', 'mid-2', 'mid-3']) assert.equal((await fleet.services.store.get(key(name)))?.value.state, 'Running', name);
    assert.equal(await fleet.services.store.get(key('while-down')), undefined);
    const ids = groupIds(fleet);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(!ids.some((id) => id.endsWith('/while-down')), 'a create refused during the outage left no group');

    // And the fleet works normally again.
    assert.equal((await call(fleet, 'ACICreate', createBody('after'))).status, 202);
  });
});
