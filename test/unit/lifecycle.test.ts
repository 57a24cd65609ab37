import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetError } from '../../runtime/src/domain/core/errors';
import { applyObservation, isCollectable, lifecycleEvent, transition } from '../../runtime/src/domain/servers/lifecycle';
import type { ContainerGroupObservation } from '../../runtime/src/domain/servers/ports';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import type { ServerState } from '../../runtime/src/domain/servers/states';
import { serverRecord } from '../support/records';

const now = new Date('2026-11-22T12:00:00Z');

function row(state: ServerState, extra: Partial<ServerRecord> = {}): ServerRecord {
  return serverRecord('gs-1', { state, createdAt: '2026-11-22T11:00:00Z', specHash: 'h', ...extra });
}

function group(provisioningState: string, extra: Partial<ContainerGroupObservation> = {}): ContainerGroupObservation {
  return {
    resourceGroup: 'games',
    containerGroupName: 'gs-1',
    id: '/subscriptions/s/resourceGroups/games/providers/Microsoft.ContainerInstance/containerGroups/gs-1',
    location: 'westeurope',
    provisioningState,
    instanceState: provisioningState === 'Succeeded' ? 'Running' : undefined,
    publicIp: provisioningState === 'Succeeded' ? '203.0.113.7' : undefined,
    tags: {},
    ...extra,
  };
}

describe('applyObservation (what ARM says, applied to a row)', () => {
  it('moves Creating to Running with the address once the group succeeded', () => {
    const next = applyObservation(row('Creating'), group('Succeeded', { fqdn: 'gs-1.westeurope.azurecontainer.io' }), now);
    assert.ok(next && next !== 'remove');
    assert.equal(next.state, 'Running');
    assert.equal(next.publicIp, '203.0.113.7');
    assert.equal(next.fqdn, 'gs-1.westeurope.azurecontainer.io');
    assert.equal(next.stateChangedAt, now.toISOString());
  });

  it('leaves Creating alone while ARM is still provisioning (an early or stale event)', () => {
    assert.equal(applyObservation(row('Creating'), group('Pending'), now), undefined);
    assert.equal(applyObservation(row('Creating'), undefined, now), undefined);
  });

  it('is idempotent: the same observation twice changes nothing the second time', () => {
    const first = applyObservation(row('Creating'), group('Succeeded'), now);
    assert.ok(first && first !== 'remove');
    assert.equal(applyObservation(first, group('Succeeded'), now), undefined);
  });

  it('never revives a drained server, but keeps its address current', () => {
    const drained = row('MarkedForDeletion', { publicIp: '203.0.113.1' });
    const next = applyObservation(drained, group('Succeeded'), now);
    assert.ok(next && next !== 'remove');
    assert.equal(next.state, 'MarkedForDeletion');
    assert.equal(next.publicIp, '203.0.113.7');
  });

  it('never moves Failed or Deleting forward on a success', () => {
    assert.equal(applyObservation(row('Failed'), group('Succeeded'), now), undefined);
    assert.equal(applyObservation(row('Deleting'), group('Succeeded'), now), undefined);
  });

  it('records ARM failure with its message', () => {
    const next = applyObservation(row('Creating'), group('Failed', { failureMessage: 'image pull failed' }), now);
    assert.ok(next && next !== 'remove');
    assert.equal(next.state, 'Failed');
    assert.equal(next.failureReason, 'image pull failed');
  });

  it('removes the row of a deleting or drained server whose group is gone', () => {
    assert.equal(applyObservation(row('Deleting'), undefined, now), 'remove');
    assert.equal(applyObservation(row('MarkedForDeletion'), undefined, now), 'remove');
  });

  it('marks a Running server whose group vanished as Failed with a reason', () => {
    const next = applyObservation(row('Running'), undefined, now);
    assert.ok(next && next !== 'remove');
    assert.equal(next.state, 'Failed');
    assert.match(next.failureReason ?? '', /no longer exists/);
  });

  it('marks a Running server whose containers stopped as Failed', () => {
    const next = applyObservation(row('Running'), group('Succeeded', { instanceState: 'Stopped' }), now);
    assert.ok(next && next !== 'remove');
    assert.equal(next.state, 'Failed');
  });
});

describe('transition', () => {
  it('throws a 409 FleetError for a move the actor may not make', () => {
    assert.throws(
      () => transition(row('Creating'), 'Running', 'operator', now),
      (e: unknown) => e instanceof FleetError && e.code === 'InvalidStateTransition' && e.status === 409,
    );
  });

  it('returns the same row when the state is already the target', () => {
    const r = row('Running');
    assert.equal(transition(r, 'Running', 'operator', now), r);
  });

  it('un-drains a server to the state it was drained from, never reviving a failed one', () => {
    const undrain = (r: ServerRecord) => transition(r, 'Running', 'operator', now);
    const drain = (r: ServerRecord) => transition(r, 'MarkedForDeletion', 'operator', now);
    assert.equal(drain(row('Running')).drainedFrom, 'Running');
    const running = undrain(drain(row('Running', { publicIp: '203.0.113.7' })));
    assert.deepEqual([running.state, running.drainedFrom], ['Running', undefined]);
    // Drained while still Creating: Creating again, until ARM says it runs (it has no address yet).
    const creating = undrain(drain(row('Creating')));
    assert.deepEqual([creating.state, creating.drainedFrom], ['Creating', undefined]);
    const failed = drain(transition(row('Running'), 'Failed', 'operator', now, 'image pull failed'));
    assert.throws(
      () => undrain(failed),
      (e: unknown) => e instanceof FleetError && e.code === 'InvalidStateTransition' && /failed \(image pull failed\)/.test(e.message),
    );
    // Rows drained before drainedFrom was recorded: a failure on the row still says it failed.
    assert.equal(undrain(row('MarkedForDeletion')).state, 'Running');
    assert.throws(() => undrain(row('MarkedForDeletion', { failureReason: 'missed heartbeats' })), { code: 'InvalidStateTransition' });
  });
});

describe('isCollectable', () => {
  it('takes only drained servers with no sessions', () => {
    assert.equal(isCollectable(row('MarkedForDeletion', { activeSessions: 0 }), now), true);
    assert.equal(isCollectable(row('MarkedForDeletion', { activeSessions: 1 }), now), false);
    assert.equal(isCollectable(row('Running', { activeSessions: 0 }), now), false);
  });
});

describe('lifecycleEvent (what a row write was, for operators)', () => {
  const failed = row('Failed', { failureReason: 'image pull failed' });
  const cases: Array<[string, ServerRecord | undefined, ServerRecord | undefined, unknown]> = [
    ['inserted Creating', undefined, row('Creating'), { event: 'created', server: 'games/gs-1', to: 'Creating' }],
    ['inserted Running (reconcile adopting a group)', undefined, row('Running'), { event: 'adopted', server: 'games/gs-1', to: 'Running' }],
    [
      'Creating → Running',
      row('Creating'),
      row('Running', { publicIp: '203.0.113.7' }),
      { event: 'running', server: 'games/gs-1', from: 'Creating', to: 'Running', publicIp: '203.0.113.7' },
    ],
    [
      'Running → MarkedForDeletion',
      row('Running'),
      row('MarkedForDeletion'),
      { event: 'drained', server: 'games/gs-1', from: 'Running', to: 'MarkedForDeletion' },
    ],
    [
      'MarkedForDeletion → Running',
      row('MarkedForDeletion'),
      row('Running'),
      { event: 'undrained', server: 'games/gs-1', from: 'MarkedForDeletion', to: 'Running' },
    ],
    [
      'Running → Failed',
      row('Running'),
      failed,
      { event: 'failed', server: 'games/gs-1', from: 'Running', to: 'Failed', reason: 'image pull failed' },
    ],
    [
      'MarkedForDeletion → Deleting',
      row('MarkedForDeletion'),
      row('Deleting'),
      { event: 'deleting', server: 'games/gs-1', from: 'MarkedForDeletion', to: 'Deleting' },
    ],
    ['removed', row('Deleting'), undefined, { event: 'deleted', server: 'games/gs-1', from: 'Deleting' }],
    ['a session report (no move)', row('Running'), row('Running', { activeSessions: 3 }), undefined],
  ];
  for (const [what, before, after, expected] of cases) {
    it(what, () => assert.deepEqual(lifecycleEvent(before, after), expected));
  }
});
