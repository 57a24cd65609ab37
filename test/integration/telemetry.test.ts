// Telemetry reaches the logs the Functions host forwards to Application Insights: structured
// lines with the invocation id and server, events for creates, deletes, GC and refusals, and the
// fleet snapshot metrics.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseTelemetryLine, type TelemetryRecord } from '../../runtime/src/telemetry';
import { call, createBody, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
const lines: string[] = [];
const records = () => lines.map(parseTelemetryLine).filter((r): r is TelemetryRecord => r !== undefined);
const UUID = /^[0-9a-f-]{36}$/;

before(async () => {
  fleet = await startTestFleet({ log: (line) => lines.push(line) });
});
after(() => fleet?.stop());

describe('telemetry', () => {
  it('logs structured lines naming the server and the invocation', async () => {
    assert.equal((await call(fleet, 'ACICreate', createBody('tm-1'))).status, 202);
    const line = lines.find((l) => l.includes('server creating'));
    assert.ok(line, 'the create is logged');
    const json = JSON.parse(line!.slice(line!.indexOf('{')));
    assert.equal(json.server, 'games/tm-1');
    assert.equal(json.function, 'ACICreate');
    assert.match(json.invocationId, UUID);
  });

  it('records every ARM create and delete as an event, with the function that caused it', async () => {
    const created = records().find((r) => r.name === 'ContainerGroupCreateStarted' && r.server === 'games/tm-1');
    assert.ok(created);
    assert.equal(created!.kind, 'event');
    assert.equal(created!.function, 'ACICreate');
    assert.equal(created!.location, 'westeurope');
    await eventually(async () => (await call(fleet, 'ACIList')).body.some((s: any) => s.ContainerGroupName === 'tm-1'), 'Running');
    assert.equal(
      (await call(fleet, 'ACISetState', { resourceGroup: 'games', containerGroupName: 'tm-1', state: 'MarkedForDeletion' })).status,
      200,
    );
    await fleet.host.runTimer('ACIGC');
    const deleted = records().find((r) => r.name === 'ContainerGroupDeleteStarted' && r.server === 'games/tm-1');
    assert.equal(deleted?.function, 'ACIGC');
    assert.ok(records().some((r) => r.name === 'ServerCollected' && r.server === 'games/tm-1'));
    assert.ok(records().some((r) => r.kind === 'metric' && r.name === 'GcDeleted' && r.value === 1));
  });

  it('counts refusals by function and code', async () => {
    assert.equal((await call(fleet, 'ACISetState', { resourceGroup: 'games', containerGroupName: 'nope', state: 'Running' })).status, 404);
    const refusal = records().find((r) => r.name === 'HttpError' && r.function === 'ACISetState');
    assert.equal(refusal?.code, 'NotFound');
    assert.equal(refusal?.status, 404);
  });

  it('publishes the fleet snapshot: servers per state and sessions per location', async () => {
    assert.equal((await call(fleet, 'ACICreate', createBody('tm-2', { maxSessions: 6 }))).status, 202);
    await eventually(async () => (await call(fleet, 'ACIList')).body.some((s: any) => s.ContainerGroupName === 'tm-2'), 'Running');
    assert.equal(
      (await call(fleet, 'ACISetSessions', [{ resourceGroup: 'games', containerGroupName: 'tm-2', activeSessions: 4 }])).status,
      200,
    );
    const from = lines.length;
    await fleet.host.runTimer('ACIMetrics');
    const metrics = lines
      .slice(from)
      .map(parseTelemetryLine)
      .filter((r): r is TelemetryRecord => r?.kind === 'metric');
    const servers = (state: string) => metrics.find((m) => m.name === 'Servers' && m.state === state)?.value;
    assert.equal(servers('Running'), 1);
    assert.equal(servers('Failed'), 0, 'zeros are published too');
    assert.equal(metrics.find((m) => m.name === 'ActiveSessions' && m.location === 'westeurope')?.value, 4);
    assert.equal(metrics.find((m) => m.name === 'MaxSessions' && m.location === 'westeurope')?.value, 6);
    assert.ok(metrics.every((m) => m.function === 'ACIMetrics' && UUID.test(m.invocationId)));
  });

  it('records fleet and rollout events: created, revision, rollout started, servers drained for it, completed, deleted', async () => {
    const { containerGroupName: _, ...base } = createBody('unused');
    const withImage = (image: string) => ({
      ...base,
      containerGroup: { ...base.containerGroup, containers: [{ ...base.containerGroup.containers[0]!, image }] },
    });
    const put = (image: string) => call(fleet, 'fleets/tm-fleet', { template: withImage(image), replicas: 1 }, { method: 'PUT' });
    const settle = async (done: () => boolean) =>
      eventually(async () => {
        await fleet.host.runTimer('ACIFleetController');
        await fleet.emulator.idle();
        await fleet.host.runTimer('ACIGC');
        await fleet.emulator.idle();
        return done();
      }, 'the fleet settled');
    const named = (name: string) => records().filter((r) => r.name === name && r.fleet === 'tm-fleet');

    assert.equal((await put('example/tm:1')).status, 201);
    assert.equal(named('FleetCreated')[0]?.function, 'Fleet');
    await settle(() => true);
    assert.equal((await put('example/tm:2')).status, 200);
    assert.deepEqual([named('FleetRevisionCreated')[0]?.revision, named('FleetRevisionCreated')[0]?.previous], [2, 1]);
    await settle(() => named('RolloutCompleted').length > 0);
    const started = named('RolloutStarted');
    assert.equal(started.length, 1, 'once per rollout, not once per run');
    assert.deepEqual([started[0]!.revision, started[0]!.function], [2, 'ACIFleetController']);
    assert.equal(named('RolloutServerDrained').length, 1);
    assert.match(String(named('RolloutServerDrained')[0]!.server), /^games\/tm-fleet-/);
    assert.equal(typeof named('RolloutCompleted')[0]!.minutes, 'number');
    // Scaling is reported once, when the fleet got its first server; a rollout's surge and drains are not scale actions.
    assert.deepEqual(
      named('FleetScaled').map((r) => [r.direction, r.servers, r.created, r.function]),
      [['out', 1, 1, 'ACIFleetController']],
    );

    assert.equal((await call(fleet, 'fleets/tm-fleet', undefined, { method: 'DELETE' })).status, 202);
    assert.equal(named('FleetDeleting').length, 1);
    await settle(() => named('FleetDeleted').length > 0);
  });

  it('records a paused rollout with its reason', async () => {
    const { containerGroupName: _, ...base } = createBody('unused');
    const template = (image: string) => ({
      ...base,
      containerGroup: { ...base.containerGroup, containers: [{ ...base.containerGroup.containers[0]!, image }] },
    });
    await call(fleet, 'fleets/tm-bad', { template: template('example/tm:1'), replicas: 1 }, { method: 'PUT' });
    const turn = async () => {
      await fleet.host.runTimer('ACIFleetController');
      await fleet.emulator.idle();
    };
    await eventually(async () => {
      await turn();
      return (await call(fleet, 'fleets/tm-bad')).body.Status.Ready === 1;
    }, 'tm-bad up');
    await call(fleet, 'fleets/tm-bad', { template: template('example/tm:fail'), replicas: 1 }, { method: 'PUT' });
    await eventually(async () => {
      await turn();
      return records().some((r) => r.name === 'RolloutPaused' && r.fleet === 'tm-bad');
    }, 'RolloutPaused');
    const paused = records().find((r) => r.name === 'RolloutPaused' && r.fleet === 'tm-bad')!;
    assert.match(String(paused.reason), /revision 2 failed/);
  });
});
