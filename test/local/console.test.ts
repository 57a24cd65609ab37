// What `npm start` prints: one line per server lifecycle event and scale action by default (not a
// metrics line because a state is called Failed), errors only with --quiet, everything with --verbose.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { consoleLine, type ConsoleMode } from '../../runtime/local/console';
import type { LogLevel } from '../../runtime/local/aci-emulator';
import { call, createBody, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';

const games = (containerGroupName: string) => ({ resourceGroup: 'games', containerGroupName });
const template = {
  resourceGroup: 'games',
  maxSessions: 4,
  namePrefix: 'auto',
  containerGroup: createBody('unused').containerGroup,
};

describe('the local fleet’s console', () => {
  let fleet: LocalFleet;
  const lines: Array<{ line: string; level: LogLevel }> = [];
  const printed = (mode: ConsoleMode) =>
    lines.map(({ line, level }) => consoleLine(line, level, mode)).filter((l): l is string => l !== undefined);
  const TIME = /^\d\d:\d\d:\d\d {2}/;
  /** The lifecycle lines printed (they start with the time of day), without the time. */
  const stories = (mode: ConsoleMode) =>
    printed(mode)
      .filter((l) => TIME.test(l))
      .map((l) => l.replace(TIME, ''));

  before(async () => {
    fleet = await startTestFleet({
      log: (line, level = 'info') => lines.push({ line, level }),
      settings: {
        AUTOSCALER_ENABLED: 'true',
        // `buffer` with no buffer: exactly the missed sessions' servers (the rate policy would also cover more like them).
        AUTOSCALER_POLICY: 'buffer',
        AUTOSCALER_MINIMUM_INSTANCES: '0',
        AUTOSCALER_BUFFER_SLOTS: '0',
        AUTOSCALER_BUFFER_PERCENT: '0',
        AUTOSCALER_SCALE_IN_COOLDOWN_SECONDS: '0',
        CONTAINER_GROUP_TEMPLATE: JSON.stringify(template),
      },
    });
    // A server's whole life: created, running, drained, deleting, deleted; another one failing.
    await call(fleet, 'ACICreate', createBody('life'));
    const broken = createBody('broken');
    broken.containerGroup.containers[0]!.image = 'example/fail:1';
    await call(fleet, 'ACICreate', broken);
    await eventually(async () => (await fleet.services.store.get(games('life')))?.value.state === 'Running', 'life Running');
    await eventually(async () => (await fleet.services.store.get(games('broken')))?.value.state === 'Failed', 'broken Failed');
    await call(fleet, 'ACISetState', { ...games('life'), state: 'MarkedForDeletion' });
    await fleet.host.runTimer('ACIGC');
    await eventually(async () => (await fleet.services.store.get(games('life'))) === undefined, 'life deleted');
    await fleet.host.runTimer('ACIMetrics'); // its lines name every state, Failed included
  });
  after(() => fleet?.stop());

  it('prints one line per lifecycle event, with the function that caused it and a failure’s reason', () => {
    const shown = stories('normal');
    const running = shown.filter((l) => /^games\/life running at 203\.0\.113\.\d+ {2}\(ACIMonitor\)$/.test(l));
    assert.equal(running.length, 1, shown.join('\n'));
    assert.deepEqual(
      shown.filter((l) => !running.includes(l)).sort(),
      [
        'games/life created  (ACICreate)',
        'games/broken created  (ACICreate)',
        'games/broken failed: Failed to pull image "example/fail:1": manifest unknown (emulated pull failure)  (ACIMonitor)',
        'games/life drained  (ACISetState)',
        'games/life deleting  (ACIGC)',
        'games/life deleted  (ACIMonitor)',
      ].sort(),
    );
    // Anything else printed is a warning or an error, as written (a loaded machine may make some).
    const others = printed('normal').filter((l) => !TIME.test(l));
    assert.ok(
      others.every((l) => lines.some((x) => x.line === l && x.level !== 'info')),
      others.join('\n'),
    );
    assert.ok(!printed('normal').some((l) => l.includes('aci-fleet.telemetry')), 'no metrics or other telemetry lines');
  });

  it('prints the autoscaler’s scale outs and scale ins, and the servers it creates and drains', async () => {
    const before = lines.length;
    // Two misses of 4 sessions: demand for two servers of 4 (5 at once would be a 400: no server holds it).
    await call(fleet, 'ACIAllocate', { sessions: 4, requestId: 'console-1' });
    await call(fleet, 'ACIAllocate', { sessions: 4, requestId: 'console-2' });
    await fleet.host.runTimer('ACIAutoScaler');
    const created = (await fleet.services.store.list()).map((r) => r.value).filter((r) => r.containerGroupName.startsWith('auto-'));
    assert.equal(created.length, 2);
    await eventually(
      async () =>
        (await fleet.services.store.list({ states: ['Running'] })).filter((r) => r.value.containerGroupName.startsWith('auto-')).length ===
        2,
      'scaled-out servers Running',
    );
    await fleet.emulator.idle();
    await fleet.services.demand.prune(new Date(Date.now() + 3_600_000)); // the miss is served: no more demand
    await fleet.host.runTimer('ACIAutoScaler');
    const shown = lines
      .slice(before)
      .map(({ line, level }) => consoleLine(line, level, 'normal'))
      .filter((l): l is string => l !== undefined && TIME.test(l))
      .map((l) => l.replace(TIME, ''));
    for (const server of created)
      assert.ok(shown.includes(`games/${server.containerGroupName} created  (ACIAutoScaler)`), shown.join('\n'));
    assert.ok(
      shown.some((l) => /^scaled out: \+2 servers — .*\(ACIAutoScaler\)$/.test(l)),
      shown.join('\n'),
    );
    assert.equal(shown.filter((l) => / drained {2}\(ACIAutoScaler\)$/.test(l)).length, 1, shown.join('\n'));
    assert.ok(
      shown.some((l) => /^scaled in: 1 server drained — .*\(ACIAutoScaler\)$/.test(l)),
      shown.join('\n'),
    );
  });

  it('--quiet prints errors only; --verbose every line as it is', () => {
    assert.deepEqual(
      printed('quiet'),
      lines.filter((l) => l.level === 'error').map((l) => l.line),
    );
    assert.ok(printed('normal').length > printed('quiet').length);
    assert.deepEqual(
      printed('verbose'),
      lines.map((l) => l.line),
    );
    const error = '[aci-emulator] timer callback failed: boom';
    for (const mode of ['quiet', 'normal', 'verbose'] as const) assert.equal(consoleLine(error, 'error', mode), error);
    assert.equal(consoleLine('[ACIAllocate] warning: busy', 'warning', 'normal'), '[ACIAllocate] warning: busy');
    assert.equal(consoleLine('[ACIAllocate] warning: busy', 'warning', 'quiet'), undefined);
  });
});
