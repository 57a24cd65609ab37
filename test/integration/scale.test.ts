// Fleets bigger than one page of Table Storage: listing reads every page, batches use 100-row transactions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import { call, startTestFleet, type LocalFleet } from '../support/localFleet';
import { serverRecord } from '../support/records';

let fleet: LocalFleet;
const SERVERS = 1_250; // more than the 1,000 rows Table Storage returns per page

before(async () => {
  fleet = await startTestFleet();
  const record = (i: number): ServerRecord =>
    serverRecord(`gs-${String(i).padStart(5, '0')}`, {
      resourceGroup: i % 2 ? 'games-a' : 'games-b',
      state: i % 10 === 0 ? 'MarkedForDeletion' : 'Running',
      maxSessions: 8,
    });
  const records = Array.from({ length: SERVERS }, (_, i) => record(i));
  for (let i = 0; i < records.length; i += 50) await Promise.all(records.slice(i, i + 50).map((r) => fleet.services.store.insert(r)));
});
after(() => fleet?.stop());

describe('a fleet larger than one page', () => {
  it('lists every server, and every Running one by default', async () => {
    const all = await call(fleet, 'ACIList', undefined, { query: { state: 'all' } });
    assert.equal(all.body.length, SERVERS);
    const runningOnly = await call(fleet, 'ACIList');
    assert.equal(runningOnly.body.length, SERVERS - SERVERS / 10);
  });

  it('writes a 250-server batch in one transaction per 100 rows of a resource group', async () => {
    const batch = Array.from({ length: 250 }, (_, i) => ({
      resourceGroup: 'games-a',
      containerGroupName: `gs-${String(2 * i + 1).padStart(5, '0')}`,
      activeSessions: i % 8,
    }));
    const res = await call(fleet, 'ACISetSessions', batch);
    assert.equal(res.status, 200);
    assert.equal(res.body.updated, 250);
    assert.equal(res.body.transactions, 3);
    const listed = new Map(
      (await call(fleet, 'ACIList', undefined, { query: { state: 'all' } })).body.map((s: any) => [s.ContainerGroupName, s]),
    );
    for (const r of batch) assert.equal((listed.get(r.containerGroupName) as any).ActiveSessions, r.activeSessions);
  });
});
