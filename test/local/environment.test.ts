// The local host's way to a server's report token (README, "Server reports"): the environment its
// containers see, from the ACI emulator, behind the function key; nothing like it on Azure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { FUNCTIONS } from '../../runtime/src/functions';
import { compileRoute } from '../../runtime/src/functions/routes';
import { createBody, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';

describe('GET /admin/servers/<resourceGroup>/<name>/environment (local host only)', () => {
  let fleet: LocalFleet;
  const url = (name: string, query = '') => `${fleet.url}/admin/servers/games/${name}/environment${query}`;
  const get = (name: string, query = '', key: string | null = fleet.key) =>
    fetch(url(name, query), { headers: key === null ? {} : { 'x-functions-key': key } });

  before(async () => {
    fleet = await startTestFleet();
    const body = createBody('gs-1');
    Object.assign(body.containerGroup.containers[0]!, { environmentVariables: [{ name: 'MOTD', value: `it's $HOME "quoted"` }] });
    await fetch(`${fleet.url}/api/ACICreate`, { method: 'POST', headers: { 'x-functions-key': fleet.key }, body: JSON.stringify(body) });
    await eventually(
      async () => (await fleet.services.store.get({ resourceGroup: 'games', containerGroupName: 'gs-1' }))?.value.state === 'Running',
      'Running',
    );
  });
  after(() => fleet?.stop());

  it('gives what each container sees, report token included, and needs the key', async () => {
    const res = await get('gs-1');
    assert.equal(res.status, 200);
    const env = ((await res.json()) as Record<string, Record<string, string>>).server!;
    assert.equal(env.ACI_REPORT_URL, `${fleet.url}/api/ACIReport`);
    assert.match(env.ACI_REPORT_TOKEN!, /^v2\./); // bound to this server's incarnation
    assert.equal(env.MOTD, `it's $HOME "quoted"`);
    assert.equal((await get('gs-1', '', null)).status, 401);
    assert.equal((await get('gs-1', '', 'wrong')).status, 401);
    assert.equal((await get('nope')).status, 404);
    assert.equal((await get('gs-1', '?format=sh&container=nope')).status, 404);
  });

  it('as export lines for eval, with which the README’s ACIReport example runs as written', async () => {
    const exports = await (await get('gs-1', '?format=sh')).text();
    const [reportUrl, token, motd] = execFileSync(
      'bash',
      ['-c', 'eval "$1"; printf "%s\\n" "$ACI_REPORT_URL" "$ACI_REPORT_TOKEN" "$MOTD"', 'environment', exports],
      { encoding: 'utf8' },
    ).split('\n');
    assert.equal(motd, `it's $HOME "quoted"`, 'values are quoted for the shell');
    // curl -s -H "Authorization: Bearer $ACI_REPORT_TOKEN" -d '{"activeSessions": 3}' "$ACI_REPORT_URL"
    const report = await fetch(reportUrl!, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: '{"activeSessions": 3}',
    });
    assert.equal(report.status, 200);
    assert.deepEqual(await report.json(), {
      state: 'Running',
      activeSessions: 3,
      maxSessions: 10,
      acceptingSessions: true,
      recorded: true,
      fleet: null,
      revision: null,
      outdated: false,
      draining: false,
    });
  });

  it('is no function of the table, so it never exists on Azure', () => {
    for (const fn of FUNCTIONS) {
      if (fn.trigger !== 'http') continue;
      assert.ok(!compileRoute(fn.route).matches('/admin/servers/games/gs-1/environment'), fn.name);
    }
  });
});
