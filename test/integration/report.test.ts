// ACIReport: each server reports for itself with its own token (never a function key), learns
// its state, and cannot touch any other server; heartbeats turn silent servers Failed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signReportToken } from '../../runtime/src/domain/reports/tokens';
import { call, createBody, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet({ settings: { HEARTBEAT_TIMEOUT_SECONDS: '300' } });
  await Promise.all(['rep-a', 'rep-b', 'rep-drain', 'rep-silent'].map((n) => call(fleet, 'ACICreate', createBody(n))));
  await eventually(async () => (await fleet.services.store.list({ states: ['Running'] })).length === 4, 'servers Running');
});
after(() => fleet?.stop());

const key = (name: string) => ({ resourceGroup: 'games', containerGroupName: name });
const row = async (name: string) => (await fleet.services.store.get(key(name)))!;
const envOf = (name: string) => fleet.emulator.containerEnvironment('games', name)!.server!;
const tokenOf = (name: string) => envOf(name).ACI_REPORT_TOKEN!;

/** POSTs to ACIReport the way a container does: no function key, its token as a Bearer header. */
const report = (token: string | undefined, body: unknown, url = `${fleet.url}/api/ACIReport`) =>
  fetch(url, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, headers: res.headers, body: (await res.json()) as any }));

/** Every row's ETag: if none changed, nothing was written. */
const etags = async () => Object.fromEntries((await fleet.services.store.list()).map((r) => [r.value.containerGroupName, r.etag]));

describe('what a container is given', () => {
  it('gets its report URL and its own token as secure values, and never the function key', async () => {
    const env = envOf('rep-a');
    assert.equal(env.ACI_REPORT_URL, `${fleet.url}/api/ACIReport`);
    const { incarnation } = (await row('rep-a')).value;
    assert.ok(incarnation);
    assert.equal(env.ACI_REPORT_TOKEN, signReportToken({ ...key('rep-a'), incarnation }, fleet.settings.REPORT_TOKEN_SECRET!));
    assert.notEqual(tokenOf('rep-a'), tokenOf('rep-b'));
    const legacy = new URL(env.ACI_SET_SESSIONS_URL!);
    assert.equal(`${legacy.origin}${legacy.pathname}`, `${fleet.url}/api/ACIReport`);
    assert.equal(legacy.searchParams.get('token'), tokenOf('rep-a'));
    assert.ok(!Object.values(env).some((v) => v.includes(fleet.key)), 'no function key in the environment');
    const declared = fleet.emulator.groups().find((g) => g.name === 'rep-a')!.properties.containers[0]!.properties.environmentVariables!;
    for (const name of ['ACI_REPORT_URL', 'ACI_REPORT_TOKEN', 'ACI_SET_SESSIONS_URL']) {
      assert.ok(
        declared.some((v) => v.name === name && v.value === undefined),
        `${name} is a secure value`,
      );
    }
  });

  it('ACIDetails never returns a secure value or a token', async () => {
    const res = await call(fleet, 'ACIDetails', key('rep-a'));
    assert.equal(res.status, 200);
    const text = JSON.stringify(res.body);
    assert.ok(!text.includes(tokenOf('rep-a')), 'token not in details');
    assert.ok(!text.includes('/api/ACIReport'), 'report URL not in details');
  });
});

describe('ACIReport', () => {
  it("records the sessions of the token's server and answers its state", async () => {
    const res = await report(tokenOf('rep-a'), { activeSessions: 3 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      state: 'Running',
      activeSessions: 3,
      maxSessions: 10,
      acceptingSessions: true,
      recorded: true,
      // Created without a fleet: nothing newer can make it outdated.
      fleet: null,
      revision: null,
      outdated: false,
      draining: false,
    });
    const r = (await row('rep-a')).value;
    assert.equal(r.activeSessions, 3);
    assert.ok(r.lastReportAt);
  });

  it("accepts the original system's one-element array on ACI_SET_SESSIONS_URL (token in the URL)", async () => {
    const res = await report(undefined, [{ ...key('rep-b'), activeSessions: 4 }], envOf('rep-b').ACI_SET_SESSIONS_URL);
    assert.equal(res.status, 200);
    assert.equal((await row('rep-b')).value.activeSessions, 4);
    const bare = await report(undefined, [{ activeSessions: 5 }], envOf('rep-b').ACI_SET_SESSIONS_URL);
    assert.equal(bare.status, 200);
    assert.equal((await row('rep-b')).value.activeSessions, 5);
  });

  it('tells a drained server it is being drained', async () => {
    assert.equal((await call(fleet, 'ACISetState', { ...key('rep-drain'), state: 'MarkedForDeletion' })).status, 200);
    const res = await report(tokenOf('rep-drain'), { activeSessions: 1 });
    assert.equal(res.status, 200);
    assert.equal(res.body.state, 'MarkedForDeletion');
    assert.equal(res.body.acceptingSessions, false);
  });

  it('answers a report without any token with the 401 every function gives a caller without its credential', async () => {
    const before = await etags();
    const res = await report(undefined, { activeSessions: 9 });
    const keyless = await call(fleet, 'ACIList', undefined, { key: null });
    assert.equal(res.status, 401);
    assert.equal(keyless.status, 401);
    assert.deepEqual(Object.keys(res.body.error), Object.keys(keyless.body.error));
    assert.equal(res.body.error.code, keyless.body.error.code);
    assert.match(res.body.error.message, /ACI_REPORT_TOKEN/);
    // It names the scheme to use (a 401 must); a function key has none, so ACIList's 401 names none.
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="[^"]+"$/);
    assert.equal(keyless.headers.get('www-authenticate'), null);
    assert.deepEqual(await etags(), before);
  });

  const invalid: Array<[string, () => string]> = [
    ['a garbage token', () => 'not-a-token'],
    [
      "a forged token (B's name, A's signature)",
      () => {
        const [v, , incarnation, mac] = tokenOf('rep-a').split('.');
        return `${v}.${Buffer.from('games/rep-b').toString('base64url')}.${incarnation}.${mac}`;
      },
    ],
    ['a token signed with a secret the fleet no longer has', () => signReportToken(key('rep-a'), 'x'.repeat(40))],
  ];
  for (const [what, token] of invalid) {
    it(`answers 401 invalid_token (RFC 6750) JSON and writes nothing for ${what}`, async () => {
      const before = await etags();
      const res = await report(token(), { activeSessions: 9 });
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'Unauthorized');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="[^"]+", error="invalid_token"$/);
      assert.deepEqual(await etags(), before);
    });
  }

  // A valid token used beyond its own server: RFC 6750's insufficient_scope, a 403.
  const refusals: Array<[string, () => string | undefined, unknown]> = [
    ["A's token naming server B", () => tokenOf('rep-a'), [{ ...key('rep-b'), activeSessions: 9 }]],
    ["A's token naming B in a plain body", () => tokenOf('rep-a'), { containerGroupName: 'rep-b', activeSessions: 9 }],
    ["A's token naming another resource group", () => tokenOf('rep-a'), { resourceGroup: 'other', activeSessions: 9 }],
  ];
  for (const [what, token, body] of refusals) {
    it(`answers 403 JSON and writes nothing for ${what}`, async () => {
      const before = await etags();
      const res = await report(token(), body);
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'Forbidden');
      assert.deepEqual(await etags(), before);
    });
  }

  it('answers 400 for a bad body with a good token, and writes nothing', async () => {
    const before = await etags();
    for (const body of [
      '{activeSessions: 1}',
      { activeSessions: -1 },
      { activeSessions: 'two' },
      [],
      [{ activeSessions: 1 }, { activeSessions: 2 }],
    ]) {
      const res = await report(tokenOf('rep-a'), body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.deepEqual(await etags(), before);
  });

  it('answers 404 for a valid token of a server the fleet does not know', async () => {
    const res = await report(signReportToken(key('never-created'), fleet.settings.REPORT_TOKEN_SECRET!), { activeSessions: 1 });
    assert.equal(res.status, 404);
  });

  it('is refused with the function key alone (the key is not a report token)', async () => {
    const res = await fetch(`${fleet.url}/api/ACIReport`, {
      method: 'POST',
      headers: { 'x-functions-key': fleet.key },
      body: '{"activeSessions":1}',
    });
    assert.equal(res.status, 401);
  });
});

describe('heartbeats (HEARTBEAT_TIMEOUT_SECONDS=300, checked by ACIGC)', () => {
  it('marks a Running server silent for longer Failed, drops it from the list, and keeps one that reported', async () => {
    const silent = await row('rep-silent');
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    await fleet.services.store.replace({ ...silent.value, lastReportAt: tenMinutesAgo }, silent.etag);
    assert.equal((await report(tokenOf('rep-a'), { activeSessions: 2 })).status, 200);

    const gc = await fetch(`${fleet.url}/admin/functions/ACIGC`, { method: 'POST', headers: { 'x-functions-key': fleet.key } });
    assert.equal(gc.status, 202);

    const r = (await row('rep-silent')).value;
    assert.equal(r.state, 'Failed');
    assert.match(r.failureReason ?? '', /missed heartbeats/);
    assert.equal((await row('rep-a')).value.state, 'Running');
    const listed = (await call(fleet, 'ACIList')).body as Array<{ ContainerGroupName: string }>;
    assert.ok(!listed.some((s) => s.ContainerGroupName === 'rep-silent'));
    assert.ok(listed.some((s) => s.ContainerGroupName === 'rep-a'));

    // A late report is recorded but does not revive it: the server learns it is Failed.
    const late = await report(tokenOf('rep-silent'), { activeSessions: 0 });
    assert.equal(late.body.state, 'Failed');
    assert.equal(late.body.acceptingSessions, false);
  });
});
