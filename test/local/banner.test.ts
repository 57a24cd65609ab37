// The banner `npm start` prints: every URL in it is one the host serves, with the credential the
// banner says it takes (it once listed `/api/Fleet`, which 404s, and hid the webhook's key).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bannerText, endpointRows } from '../../runtime/local/banner';
import { FUNCTIONS } from '../../runtime/src/functions';
import type { HttpFunction } from '../../runtime/src/functions/definition';
import { readSettings } from '../../runtime/src/options';
import { startTestFleet, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
let banner: string;
before(async () => {
  fleet = await startTestFleet();
  banner = bannerText({
    functions: FUNCTIONS,
    settings: fleet.settings,
    url: fleet.url,
    key: fleet.key,
    defaultKey: false,
    emulator: fleet.emulator,
    tableUrl: `http://127.0.0.1:${fleet.azurite.ports.table}`,
    showsLifecycle: true,
  });
});
after(() => fleet?.stop());

/** The host's answer to a path it has nothing at (a function's own 404 says something else). */
const NOT_SERVED = /Nothing is served at/;

async function answer(method: string, url: string, key?: string) {
  const res = await fetch(url, {
    method,
    headers: key ? { 'x-functions-key': key } : {},
    body: method === 'GET' || method === 'HEAD' ? undefined : '{"not json',
  });
  return { status: res.status, text: await res.text() };
}

describe('the npm start banner', () => {
  it('lists every HTTP function of the table, once', () => {
    const http = FUNCTIONS.filter((f): f is HttpFunction => f.trigger === 'http');
    for (const fn of http) assert.equal(banner.split('\n').filter((l) => l.trimEnd().split(/\s+/).includes(fn.name)).length, 1, fn.name);
  });

  it('gives each function a URL the host serves, with every method it lists and the credential it names', async () => {
    const lines = banner.split('\n').filter((l) => /^ {4}[A-Z]/.test(l));
    assert.ok(lines.length >= 10, banner);
    for (const line of lines) {
      const [methods, url, credential] = /^ {4}([A-Z ]+?) {2,}(\S+) +(key|server token|none) /.exec(line)?.slice(1) ?? [];
      assert.ok(methods && url && credential, `cannot read: ${line}`);
      const concrete = url.replace(/\{\w+\}/g, 'banner-test');
      for (const method of methods.split(' ')) {
        const keyed = await answer(method, concrete, fleet.key);
        assert.doesNotMatch(keyed.text, NOT_SERVED, `${method} ${concrete}`);
        assert.notEqual(keyed.status, 405, `${method} ${concrete}`);
        const keyless = await answer(method, concrete);
        if (credential === 'none') assert.notEqual(keyless.status, 401, `${method} ${concrete} is said to need nothing`);
        else assert.equal(keyless.status, 401, `${method} ${concrete} without its ${credential}`);
        if (credential === 'server token') assert.equal(keyed.status, 401, `${method} ${concrete}: the key is no server token`);
      }
    }
  });

  it('runs each timer it names at the URL it gives, and takes Event Grid deliveries with the key', async () => {
    const timers = /admin\/functions\/<name> {3}\(([^)]+)\)/.exec(banner)?.[1]?.split(', ') ?? [];
    assert.ok(timers.includes('ACIGC'), banner);
    for (const name of timers) assert.equal((await answer('POST', `${fleet.url}/admin/functions/${name}`, fleet.key)).status, 202, name);
    const webhook = /POST (\S+eventgrid\S+)/.exec(banner)?.[1];
    assert.ok(webhook, banner);
    const delivered = await fetch(webhook, {
      method: 'POST',
      headers: { 'x-functions-key': fleet.key, 'aeg-event-type': 'Notification' },
      body: '[]',
    });
    assert.equal(delivered.status, 202);
    assert.equal((await answer('POST', webhook)).status, 401, 'the banner says the webhook takes the key');
  });

  it('says ACIList (and the page) need no key when FLEET_LIST_PUBLIC makes the list public', () => {
    const rows = endpointRows(FUNCTIONS, readSettings({ FLEET_LIST_PUBLIC: 'true' }));
    assert.equal(rows.find((r) => r[3] === 'ACIList')?.[2], 'none');
    assert.equal(rows.find((r) => r[3] === 'ACICreate')?.[2], 'key');
    assert.equal(rows.find((r) => r[3] === 'ACIReport')?.[2], 'server token');
  });
});
