// The list-servers page in real headless Chromium: it asks for the key when the list is
// protected, shows a seeded fleet with totals, filters by state, refreshes by itself when
// sessions change, escapes a hostile name, and runs under its strict CSP without a violation.
// The fleet runs on a ManualClock and the page's Date is fixed to the same instant, so the ages
// it shows ("1h 0m", "0s") are exact, however long starting the fleet and the browser took.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import type { ServerState } from '../../runtime/src/domain/servers/states';
import { browserSkipReason, launchChromium } from '../support/browser';
import { ManualClock } from '../support/clock';
import { call, startTestFleet, type LocalFleet } from '../support/localFleet';
import { newFleet } from '../../runtime/src/domain/fleets/fleet';
import { fleetSpec } from '../../runtime/src/domain/fleets/requests';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';
const FLEET = '<b>ops<img src=x onerror="window.__pwned=3">';
/** The fleet's time, and the page's: it never moves, so the seeded servers stay exactly an hour old. */
const clock = new ManualClock();

function record(name: string, state: ServerState, extra: Partial<ServerRecord> = {}): ServerRecord {
  const now = new Date(clock.now().getTime() - 3_600_000).toISOString();
  return {
    resourceGroup: 'games',
    containerGroupName: name,
    state,
    activeSessions: 0,
    maxSessions: 8,
    location: 'westeurope',
    image: 'ghcr.io/example/game-server:1.0',
    cpu: 1,
    ramGb: 1.5,
    publicIp: state === 'Running' ? '20.1.2.3' : undefined,
    createdAt: now,
    stateChangedAt: now,
    specHash: 'seeded',
    ...extra,
  };
}

const SEED: ServerRecord[] = [
  record('gs-eu-1', 'Running', { activeSessions: 3, fqdn: 'gs-eu-1.westeurope.azurecontainer.io' }),
  record('gs-eu-2', 'Running', { publicIp: '20.1.2.4' }),
  record('gs-eu-3', 'Creating'),
  record('gs-eu-4', 'MarkedForDeletion', { activeSessions: 1 }),
  record('gs-eu-5', 'Failed', { failureReason: `image pull failed ${HOSTILE}` }),
  // Table Storage accepts names ACI never would, so the page must cope with anything.
  record(HOSTILE, 'Running', { image: `<script>window.__pwned=2</script>` }),
];

describe('the list-servers page', { skip: browserSkipReason }, () => {
  let fleet: LocalFleet;
  let browser: Browser;
  const cspViolations: string[] = [];

  before(async () => {
    // Markup in the fleet name (no '/': FLEET_NAME refuses the characters Table Storage keys forbid).
    fleet = await startTestFleet({ settings: { FLEET_NAME: FLEET }, overrides: { clock } });
    for (const r of SEED) await fleet.services.store.insert(r);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await fleet?.stop();
  });

  async function openPage(url: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1360, height: 720 } });
    // Only Date is fixed; the page's own timers (its refresh) still run in real time.
    await page.clock.setFixedTime(clock.now());
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(url);
    return page;
  }
  const rows = (page: Page) => page.locator('#rows tr');
  const row = (page: Page, name: string) => page.locator(`#rows tr[data-server="games/${name}"]`);

  let page: Page;

  it('asks for the function key when the list is protected, and says when a key is refused', async () => {
    page = await openPage(`${fleet.url}/?refresh=0.5`);
    await page.locator('#key-panel').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#app').isVisible(), false);
    await page.fill('#key-input', 'not-the-key');
    await page.click('#key-panel button[type=submit]');
    await page.locator('#key-error', { hasText: 'refused' }).waitFor();
    await page.screenshot({ path: '/tmp/aci-fleet-key-prompt.png' }).catch(() => {});
  });

  it('shows the seeded fleet with totals per state once the key is given', async () => {
    await page.fill('#key-input', fleet.key);
    await page.click('#key-panel button[type=submit]');
    await rows(page).first().waitFor();
    assert.equal(await rows(page).count(), SEED.length);
    const total = async (state: string) => page.locator(`#totals button[data-state="${state}"] .n`).textContent();
    assert.equal(await total('all'), '6');
    assert.equal(await total('Running'), '3');
    assert.equal(await total('Creating'), '1');
    assert.equal(await total('MarkedForDeletion'), '1');
    assert.equal(await total('Failed'), '1');
    const first = row(page, 'gs-eu-1');
    assert.match(
      (await first.textContent())!,
      /gs-eu-1.*Running.*20\.1\.2\.3.*gs-eu-1\.westeurope\.azurecontainer\.io.*3 \/ 8.*westeurope.*1 vCPU · 1\.5 GB.*1h 0m.*never/,
    );
    assert.equal(await page.evaluate(() => sessionStorage.getItem('aci-fleet.functionKey')), fleet.key, 'kept for this tab');
    await page.screenshot({ path: '/tmp/aci-fleet-server-page.png', fullPage: true }).catch(() => {});
  });

  it('filters by state', async () => {
    await page.click('#totals button[data-state="Failed"]');
    assert.equal(await rows(page).count(), 1);
    assert.match((await rows(page).first().textContent())!, /gs-eu-5/);
    await page.click('#totals button[data-state="Failed"]'); // clicking again shows all
    assert.equal(await rows(page).count(), SEED.length);
  });

  it('updates by itself when sessions change', async () => {
    const res = await call(fleet, 'ACISetSessions', [{ resourceGroup: 'games', containerGroupName: 'gs-eu-2', activeSessions: 7 }]);
    assert.equal(res.status, 200);
    // The page refreshes every 0.5 s; the deadline is only a safety net against a hang.
    await row(page, 'gs-eu-2').locator('td.sessions', { hasText: '7 / 8' }).waitFor({ timeout: 60_000 });
    assert.equal(await row(page, 'gs-eu-2').locator('td').last().textContent(), '0s', 'last report is now, no longer "never"');
  });

  it('shows a hostile name as text, never as markup', async () => {
    const names = await page.locator('#rows .name').allTextContents();
    assert.equal(names.filter((n) => n === HOSTILE).length, 1, 'the name is shown exactly as stored');
    assert.match((await row(page, 'gs-eu-5').locator('.reason').textContent())!, /image pull failed <img src=x/);
    assert.equal(await page.locator('#rows img, #rows script').count(), 0);
    assert.equal(await page.evaluate(() => (window as any).__pwned), undefined);
    assert.match((await page.locator('#rows').textContent())!, /<script>window\.__pwned=2<\/script>/);
    assert.equal(await page.locator('header .fleet').textContent(), FLEET, 'the fleet name is escaped too');
  });

  it('remembers the key for the tab only, and runs under its CSP without a violation', async () => {
    await page.reload();
    await rows(page).first().waitFor();
    assert.equal(await page.locator('#key-panel').isVisible(), false);
    const other = await openPage(`${fleet.url}/`); // a new tab (context page) has its own sessionStorage
    await other.locator('#key-panel').waitFor({ state: 'visible' });
    await other.close();
    const response = await page.request.get(`${fleet.url}/`);
    assert.match(
      response.headers()['content-security-policy']!,
      /default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self'/,
    );
    assert.deepEqual(cspViolations, []);
  });
});

describe('the list-servers page of a fleet whose list is public', { skip: browserSkipReason }, () => {
  let fleet: LocalFleet;
  let browser: Browser;
  before(async () => {
    fleet = await startTestFleet({ settings: { FLEET_LIST_PUBLIC: 'true' } });
    await fleet.services.store.insert(record('gs-public', 'Running'));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await fleet?.stop();
  });

  it('shows the servers without asking for a key', async () => {
    const page = await browser.newPage();
    await page.goto(`${fleet.url}/`);
    await page.locator('#rows tr[data-server="games/gs-public"]').waitFor();
    assert.equal(await page.locator('#key-panel').isVisible(), false);
    assert.equal(await page.locator('#forget').isVisible(), false);
  });
});

describe('the list-servers page during a rollout', { skip: browserSkipReason }, () => {
  let fleet: LocalFleet;
  let browser: Browser;
  before(async () => {
    fleet = await startTestFleet({ overrides: { clock } });
    // A fleet at revision 2 with one server of each revision, and one made without a fleet.
    const spec = fleetSpec.parse({
      template: {
        resourceGroup: 'games',
        containerGroup: {
          location: 'westeurope',
          osType: 'Linux',
          containers: [{ name: 's', image: 'g:2', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
        },
      },
      replicas: 2,
    });
    await fleet.services.fleetStore.insert({ ...newFleet('web', spec, clock.now()), revision: 2 });
    await fleet.services.store.insert(record('web-old', 'Running', { fleet: 'web', revision: 1, activeSessions: 3 }));
    await fleet.services.store.insert(record('web-new', 'Running', { fleet: 'web', revision: 2 }));
    await fleet.services.store.insert(record('by-hand', 'Running'));
    // A complete fleet whose last run found ACI's quota in its region used up.
    const quotaMessage =
      "Azure's quota for container groups is used up, so creating games/arena-2 was refused: Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded in region 'westeurope'. Limit: '10', Usage: '10' Requested: '1'.";
    await fleet.services.fleetStore.insert({
      ...newFleet('arena', { ...spec, replicas: 3 }, clock.now()),
      observed: {
        state: 'Complete',
        reason: 'every server is on revision 1',
        desired: 3,
        at: clock.now().toISOString(),
        revision: 1,
        quotaReached: { message: quotaMessage, leaving: 0, location: 'westeurope' },
      },
    });
    await fleet.services.store.insert(record('arena-1', 'Running', { fleet: 'arena', revision: 1 }));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await fleet?.stop();
  });

  it("shows each server's fleet and revision, marks the outdated one, and the rollout's progress", async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 720 } });
    await page.clock.setFixedTime(clock.now());
    await page.goto(`${fleet.url}/`);
    await page.fill('#key-input', fleet.key);
    await page.click('#key-panel button[type=submit]');
    const fleetCell = (name: string) => page.locator(`#rows tr[data-server="games/${name}"] .sub.fleet`);
    await fleetCell('web-old').waitFor();
    assert.equal(await fleetCell('web-old').textContent(), 'games · web r1outdated');
    assert.equal(await fleetCell('web-new').textContent(), 'games · web r2');
    assert.equal(await fleetCell('by-hand').textContent(), 'games');
    const rollout = page.locator('#rollouts .rollout[data-fleet="web"]');
    assert.equal(await rollout.locator('.title').textContent(), 'web: rolling out revision 2 · 1 / 2 ready · 1 old left');
    assert.match((await rollout.locator('.why').textContent())!, /holding 3 session/);
    const held = page.locator('#rollouts .rollout.quota[data-fleet="arena"]');
    assert.equal(await held.locator('.title').textContent(), "arena: held at ACI's quota · 1 / 3 ready", 'shown though Complete');
    assert.match(
      (await held.locator('.why').textContent())!,
      /quota 'StandardCores' exceeded.*So no server is on its way out to make room: raise the quota, or make the fleet smaller/,
    );
    await page.fill('#search', 'web');
    assert.equal(await page.locator('#rows tr').count(), 2, 'the search finds servers by fleet');
    await page.screenshot({ path: '/tmp/aci-fleet-rollout-page.png', fullPage: true }).catch(() => {});
  });
});
