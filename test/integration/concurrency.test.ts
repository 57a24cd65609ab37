// Concurrency: many writers on the same rows at once (per-server reports, batch reports, drains,
// GC, heartbeat checks). Every write is ETag-conditional, so no update is lost and GC never
// deletes a server that got a session report before its conditional move to Deleting.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerStore } from '../../runtime/src/fleet/ports';
import { Reconciler } from '../../runtime/src/fleet/reconciler';
import { Fleet } from '../../runtime/src/fleet/service';
import { call, createBody, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet();
});
after(() => fleet?.stop());

const key = (name: string) => ({ resourceGroup: 'games', containerGroupName: name });
const row = async (name: string) => (await fleet.services.store.get(key(name)))?.value;
const tokenOf = (name: string) => fleet.emulator.containerEnvironment('games', name)!['server']!['ACI_REPORT_TOKEN']!;
const report = async (name: string, activeSessions: number) => {
  const res = await fetch(`${fleet.url}/api/ACIReport`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokenOf(name)}` },
    body: JSON.stringify({ activeSessions }),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const runGc = () => fetch(`${fleet.url}/admin/functions/ACIGC`, { method: 'POST', headers: { 'x-functions-key': fleet.key } });

async function runningServers(prefix: string, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await Promise.all(names.map((n) => call(fleet, 'ACICreate', createBody(n))));
  await eventually(async () => (await Promise.all(names.map(row))).every((r) => r?.state === 'Running'), `${prefix} Running`);
  return names;
}

describe('concurrent writers', () => {
  it('50 session reports, a batch report, 10 drains and GC runs at once: no lost update, no wrongful delete', async () => {
    const names = await runningServers('conc', 10);
    // Every report carries at least one session, so once one is recorded GC may never take the server.
    const reports = names.flatMap((name, i) => Array.from({ length: 5 }, (_, j) => ({ name, sessions: i * 10 + j + 1 })));
    const [reportResults, batch, drains] = await Promise.all([
      Promise.all(reports.map(async (r) => ({ ...r, res: await report(r.name, r.sessions) }))),
      call(fleet, 'ACISetSessions', names.map((n, i) => ({ ...key(n), activeSessions: 100 + i }))),
      Promise.all(names.map((n) => call(fleet, 'ACISetState', { ...key(n), state: 'MarkedForDeletion' }))),
      Promise.all([runGc(), runGc(), runGc()]),
    ]);
    await runGc();

    for (const d of drains) assert.equal(d.status, 200, JSON.stringify(d.body));
    // The batch is one all-or-nothing transaction over all ten rows, so under this much contention
    // it may run out of attempts: then it answers 503 WriteContention and has written nothing.
    // (Each single-row writer here has at most seven rivals, fewer than its eight attempts.)
    const batchWritten = batch.status === 200;
    if (!batchWritten) assert.deepEqual([batch.status, batch.body.error.code], [503, 'WriteContention']);
    const batchIgnored = new Set(
      batchWritten ? (batch.body.ignored as Array<{ containerGroupName: string }>).map((k) => k.containerGroupName) : names,
    );

    for (const [i, name] of names.entries()) {
      const mine = reportResults.filter((r) => r.name === name);
      for (const r of mine) assert.ok(r.res.status === 200 || r.res.status === 404, `${name}: ${r.res.status} ${JSON.stringify(r.res.body)}`);
      const accepted = mine.filter((r) => r.res.status === 200 && r.res.body.recorded).map((r) => r.sessions);
      if (!batchIgnored.has(name)) accepted.push(100 + i);
      const r = await row(name);
      if (accepted.length === 0) {
        // GC took it before any report: fine, as long as it really is on its way out.
        assert.ok(r === undefined || r.state === 'Deleting' || (r.state === 'MarkedForDeletion' && r.activeSessions === 0), `${name}: ${r?.state}`);
        continue;
      }
      assert.ok(r, `${name} was deleted although ${accepted.length} report(s) reached it first`);
      assert.equal(r.state, 'MarkedForDeletion', `${name}: the drain was not lost`);
      assert.ok(accepted.includes(r.activeSessions), `${name}: ${r.activeSessions} is one of the recorded reports ${accepted}`);
      assert.ok(r.lastReportAt, `${name}: the report's timestamp was not lost`);
      assert.ok(fleet.emulator.groups().some((g) => g.name === name), `${name}: its group still exists`);
    }
  });

  it('GC loses to a per-server report that lands between its read and its conditional write', async () => {
    const [name] = await runningServers('race-gc', 1);
    assert.equal((await call(fleet, 'ACISetState', { ...key(name!), state: 'MarkedForDeletion' })).status, 200);
    const store: ServerStore = Object.create(fleet.services.store);
    let raced = false;
    store.replace = async (record, etag) => {
      if (!raced && record.containerGroupName === name && record.state === 'Deleting') {
        raced = true;
        assert.equal((await report(name!, 3)).status, 200);
      }
      return fleet.services.store.replace(record, etag);
    };
    const result = await new Fleet({ store, groups: fleet.services.groups, options: fleet.services.options }).collectGarbage();
    assert.ok(raced, 'the race was staged');
    assert.deepEqual(result.deleted, []);
    const r = await row(name!);
    assert.equal(r?.state, 'MarkedForDeletion');
    assert.equal(r?.activeSessions, 3);
  });

  it('the heartbeat check loses to a report that lands before its conditional write', async () => {
    const [name] = await runningServers('race-hb', 1);
    const stored = (await fleet.services.store.get(key(name!)))!;
    await fleet.services.store.replace({ ...stored.value, lastReportAt: new Date(Date.now() - 10 * 60_000).toISOString() }, stored.etag);
    const store: ServerStore = Object.create(fleet.services.store);
    let raced = false;
    store.replace = async (record, etag) => {
      if (!raced && record.containerGroupName === name && record.state === 'Failed') {
        raced = true;
        assert.equal((await report(name!, 2)).status, 200);
      }
      return fleet.services.store.replace(record, etag);
    };
    const { groups, options, reconcilePolicy } = fleet.services;
    const reconciler = new Reconciler({
      fleet: new Fleet({ store, groups, options }),
      store,
      groups,
      options,
      policy: { ...reconcilePolicy, heartbeatTimeoutMs: 5 * 60_000 },
    });
    assert.deepEqual(await reconciler.expireSilentServers(), []);
    assert.ok(raced, 'the race was staged');
    assert.equal((await row(name!))?.state, 'Running');
  });
});
