// FLEET_MAX_SERVERS: a ceiling on the servers of the fleet, whatever creates them (ACICreate, the
// autoscaler and every other creator go through ServerService.create), kept under concurrent
// creates; and Failed servers are deleted after FAILED_RETENTION_MINUTES so they do not pile up.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FleetError } from '../../runtime/src/domain/core/errors';
import { parseRequest } from '../../runtime/src/domain/core/validation';
import type { ServerStore } from '../../runtime/src/domain/servers/ports';
import { createRequest } from '../../runtime/src/domain/servers/requests';
import { ServerService } from '../../runtime/src/domain/servers/serverService';
import { readSettings } from '../../runtime/src/options';
import { ManualClock } from '../support/clock';
import { call, createBody, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';

const MAX = 3;
const clock = new ManualClock();
let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet({
    overrides: { clock },
    settings: { FLEET_MAX_SERVERS: String(MAX), FAILED_RETENTION_MINUTES: '30', AUTOSCALER_MAXIMUM_INSTANCES: String(MAX) },
  });
});
after(() => fleet?.stop());

const key = (name: string) => ({ resourceGroup: 'games', containerGroupName: name });
const rows = async () => (await fleet.services.store.list()).map((r) => r.value);
const hasGroup = (name: string) => fleet.emulator.groups().some((g) => g.name === name);
const runGc = async () =>
  assert.equal(
    (await fetch(`${fleet.url}/admin/functions/ACIGC`, { method: 'POST', headers: { 'x-functions-key': fleet.key } })).status,
    202,
  );

async function deleteAll(): Promise<void> {
  for (const r of await rows()) await call(fleet, 'ACIDelete', key(r.containerGroupName));
  await eventually(async () => (await rows()).length === 0, 'every row gone');
  await fleet.emulator.idle();
}

describe('FLEET_MAX_SERVERS', () => {
  it('refuses the create beyond the limit with a 409 naming it, and writes nothing', async () => {
    for (const n of ['lim-1', 'lim-2', 'lim-3']) assert.equal((await call(fleet, 'ACICreate', createBody(n))).status, 202);
    const res = await call(fleet, 'ACICreate', createBody('lim-4'));
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'ServerLimitReached');
    assert.match(res.body.error.message, /FLEET_MAX_SERVERS/);
    assert.deepEqual(res.body.error.details, { limit: MAX, setting: 'FLEET_MAX_SERVERS' });
    assert.equal(await fleet.services.store.get(key('lim-4')), undefined);
    assert.equal(hasGroup('lim-4'), false);
    // A repeat of an accepted create is still answered (it creates nothing).
    assert.equal((await call(fleet, 'ACICreate', createBody('lim-1'))).status, 200);
    await deleteAll();
  });

  it('keeps the limit when another create lands between a create’s check and its row', async () => {
    for (const n of ['pre-1', 'pre-2']) assert.equal((await call(fleet, 'ACICreate', createBody(n))).status, 202);
    // A store whose first insert lets a rival create (through the host) run to its end first.
    let raced = false;
    const store: ServerStore = Object.create(fleet.services.store);
    store.insert = async (record) => {
      if (!raced) {
        raced = true;
        assert.equal((await call(fleet, 'ACICreate', createBody('rival'))).status, 202);
      }
      return fleet.services.store.insert(record);
    };
    const service = new ServerService({ store, groups: fleet.services.groups, options: fleet.services.options, clock });
    const input = parseRequest(createRequest, createBody('late'));
    const lost = await service.create({ ...input, containerGroup: input.containerGroup! }).catch((e: unknown) => e);
    assert.ok(raced, 'the race was staged');
    assert.ok(lost instanceof FleetError && lost.code === 'ServerLimitReached', String(lost));
    assert.deepEqual((await rows()).map((r) => r.containerGroupName).sort(), ['pre-1', 'pre-2', 'rival']);
    assert.equal(hasGroup('late'), false);
    await deleteAll();
  });

  it('never goes over the limit under 12 concurrent creates', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => call(fleet, 'ACICreate', createBody(`burst-${i}`))));
    const accepted = answers.filter((a) => a.status === 202).length;
    for (const a of answers) if (a.status !== 202) assert.equal(a.body.error.code, 'ServerLimitReached', JSON.stringify(a.body));
    assert.ok(accepted >= 1 && accepted <= MAX, `${accepted} accepted`);
    await fleet.emulator.idle();
    assert.ok((await rows()).length <= MAX);
    assert.ok(fleet.emulator.groups().filter((g) => g.name.startsWith('burst-')).length <= MAX);
    await deleteAll();
  });

  it('is a start-up error when the autoscaler may keep more servers than the fleet may hold', () => {
    assert.throws(
      () => readSettings({ FLEET_MAX_SERVERS: '5', AUTOSCALER_MAXIMUM_INSTANCES: '6' }),
      /AUTOSCALER_MAXIMUM_INSTANCES: must not exceed FLEET_MAX_SERVERS/,
    );
  });
});

describe('FAILED_RETENTION_MINUTES', () => {
  it('lets ACIGC delete a Failed server once it has been Failed that long, and frees its place', async () => {
    const broken = createBody('broken');
    broken.containerGroup.containers[0]!.image = 'example/fail-on-purpose:1';
    assert.equal((await call(fleet, 'ACICreate', broken)).status, 202);
    await eventually(async () => (await fleet.services.store.get(key('broken')))?.value.state === 'Failed', 'broken Failed');

    clock.advance(29 * 60_000);
    await runGc();
    assert.equal((await fleet.services.store.get(key('broken')))?.value.state, 'Failed', 'kept within the retention, for its logs');

    clock.advance(2 * 60_000);
    await runGc();
    await eventually(async () => (await fleet.services.store.get(key('broken'))) === undefined && !hasGroup('broken'), 'broken deleted');
  });
});
