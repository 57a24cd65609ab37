// A report token belongs to one incarnation of a server: after the server is deleted and a new
// one is created under the same name, the old container's token (or a leaked ACI_SET_SESSIONS_URL)
// cannot report for its successor. The token secret's rotation keeps working.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createBody, eventually, startTestFleet, testContext, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet();
});
after(() => fleet?.stop());

const key = (name: string) => ({ resourceGroup: 'games', containerGroupName: name });
const row = async (name: string) => (await fleet.services.store.get(key(name)))?.value;
const envOf = (name: string) => fleet.emulator.containerEnvironment('games', name)!.server!;
const report = (token: string, body: unknown = { activeSessions: 2 }) =>
  fetch(`${fleet.url}/api/ACIReport`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) }).then(
    async (res) => ({ status: res.status, body: (await res.json()) as any }),
  );

async function runningServer(name: string): Promise<void> {
  assert.equal((await call(fleet, 'ACICreate', createBody(name))).status, 202);
  await eventually(async () => (await row(name))?.state === 'Running', `${name} Running`);
}

describe('report tokens and incarnations', () => {
  it("refuses the deleted server's token for the server re-created under its name", async () => {
    await runningServer('inc-a');
    const old = envOf('inc-a');
    assert.equal((await report(old.ACI_REPORT_TOKEN!)).status, 200);

    assert.equal((await call(fleet, 'ACIDelete', key('inc-a'))).status, 200);
    await eventually(
      async () => (await row('inc-a')) === undefined && !fleet.emulator.groups().some((g) => g.name === 'inc-a'),
      'inc-a gone',
    );
    await runningServer('inc-a');
    const current = envOf('inc-a');
    assert.notEqual(current.ACI_REPORT_TOKEN, old.ACI_REPORT_TOKEN, 'a new server gets a new token');

    const before = await fleet.services.store.get(key('inc-a'));
    const stale = await report(old.ACI_REPORT_TOKEN!);
    assert.equal(stale.status, 401, 'a revoked token: invalid_token');
    assert.equal(stale.body.error.code, 'Unauthorized');
    assert.match(stale.body.error.message, /earlier server/);
    // The seed-compatible URL carries the old token too: refused the same way.
    const legacy = await fetch(old.ACI_SET_SESSIONS_URL!, { method: 'POST', body: JSON.stringify([{ activeSessions: 3 }]) });
    assert.equal(legacy.status, 401);
    assert.equal((await fleet.services.store.get(key('inc-a')))?.etag, before?.etag, 'nothing was written');

    assert.equal((await report(current.ACI_REPORT_TOKEN!)).status, 200);
  });

  it('keeps the incarnation on the group, so a server adopted by reconcile still reports', async () => {
    await runningServer('inc-b');
    const token = envOf('inc-b').ACI_REPORT_TOKEN!;
    const stored = (await fleet.services.store.get(key('inc-b')))!;
    await fleet.services.store.remove(key('inc-b'), stored.etag); // the row is lost; the group lives on
    await fleet.services.reconciler(testContext()).reconcile();
    assert.equal((await row('inc-b'))?.state, 'Running');
    assert.equal((await report(token)).status, 200);
  });
});
