// ACIReconcile's decisions: which rows drifted from ARM, what each becomes, and which tagged groups are adopted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerGroupObservation } from '../../runtime/src/domain/servers/ports';
import { adoptedRecord, expireHeartbeat, planReconcile, reconcileRow, type ReconcilePolicy } from '../../runtime/src/domain/reconcile/plan';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import type { ServerState } from '../../runtime/src/domain/servers/states';
import { serverRecord } from '../support/records';

const now = new Date('2026-11-22T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();
const policy: ReconcilePolicy = { creatingTimeoutMs: 15 * 60_000, heartbeatTimeoutMs: 120_000, allowedResourceGroups: [] };

function row(name: string, state: ServerState, extra: Partial<ServerRecord> = {}): ServerRecord {
  return serverRecord(name, { state, createdAt: minutesAgo(1), lastReportAt: minutesAgo(0.5), specHash: 'h', ...extra });
}

function group(name: string, provisioningState: string, extra: Partial<ContainerGroupObservation> = {}): ContainerGroupObservation {
  const ok = provisioningState === 'Succeeded';
  return {
    resourceGroup: 'games',
    containerGroupName: name,
    id: `/subscriptions/s/resourceGroups/games/providers/Microsoft.ContainerInstance/containerGroups/${name}`,
    location: 'westeurope',
    provisioningState,
    instanceState: ok ? 'Running' : undefined,
    publicIp: ok ? '203.0.113.7' : undefined,
    tags: { 'aci-fleet': 'fleet' },
    image: 'ghcr.io/example/game:1',
    cpu: 2,
    ramGb: 3.5,
    ...extra,
  };
}

describe('reconcileRow', () => {
  const cases: Array<[string, ServerRecord, ContainerGroupObservation | undefined, ServerState | 'remove' | 'unchanged', RegExp?]> = [
    ['a lost Succeeded event: Creating becomes Running', row('x', 'Creating'), group('x', 'Succeeded'), 'Running'],
    [
      'a lost failure event: Creating becomes Failed',
      row('x', 'Creating'),
      group('x', 'Failed', { failureMessage: 'pull failed' }),
      'Failed',
      /pull failed/,
    ],
    ['a group still provisioning within the timeout is left alone', row('x', 'Creating'), group('x', 'Pending'), 'unchanged'],
    ['a create not yet in ARM within the timeout is left alone', row('x', 'Creating'), undefined, 'unchanged'],
    [
      'stuck Creating past the timeout with no group: Failed, reason recorded',
      row('x', 'Creating', { stateChangedAt: minutesAgo(16) }),
      undefined,
      'Failed',
      /never appeared in Azure/,
    ],
    [
      'stuck Creating past the timeout while ARM still provisions: Failed',
      row('x', 'Creating', { stateChangedAt: minutesAgo(16) }),
      group('x', 'Pending'),
      'Failed',
      /still reports it Pending/,
    ],
    ['a Running server whose group was deleted outside: Failed', row('x', 'Running'), undefined, 'Failed', /no longer exists/],
    ['a drained server whose group was deleted outside: row removed', row('x', 'MarkedForDeletion'), undefined, 'remove'],
    ['a Deleting row whose group is gone (lost delete event): removed', row('x', 'Deleting'), undefined, 'remove'],
    ['a Deleting row whose group still exists is left to GC', row('x', 'Deleting'), group('x', 'Succeeded'), 'unchanged'],
    ['a healthy Running server is left alone', row('x', 'Running', { publicIp: '203.0.113.7' }), group('x', 'Succeeded'), 'unchanged'],
    [
      'a Running server silent past the heartbeat timeout: Failed',
      row('x', 'Running', { publicIp: '203.0.113.7', lastReportAt: minutesAgo(3) }),
      group('x', 'Succeeded'),
      'Failed',
      /missed heartbeats/,
    ],
    [
      'a Running server that never reported counts from when it started',
      row('x', 'Running', { publicIp: '203.0.113.7', lastReportAt: undefined, stateChangedAt: minutesAgo(3) }),
      group('x', 'Succeeded'),
      'Failed',
      /missed heartbeats/,
    ],
    [
      'a drained server is never revived by ARM saying Succeeded',
      row('x', 'MarkedForDeletion', { publicIp: '203.0.113.7' }),
      group('x', 'Succeeded'),
      'unchanged',
    ],
    ['a Failed row stays Failed even if its group is gone', row('x', 'Failed'), undefined, 'unchanged'],
    ['a Failed row is not revived by a healthy group', row('x', 'Failed'), group('x', 'Succeeded'), 'unchanged'],
  ];
  for (const [what, r, g, expected, reason] of cases) {
    it(what, () => {
      const change = reconcileRow(r, g, now, policy);
      if (expected === 'unchanged') return assert.equal(change, undefined);
      if (expected === 'remove') return assert.equal(change, 'remove');
      assert.ok(change && change !== 'remove');
      assert.equal(change.state, expected);
      if (reason) assert.match(change.failureReason ?? '', reason);
      // Idempotent: the result needs nothing more.
      assert.equal(reconcileRow(change, g, now, policy), undefined);
    });
  }

  it('checks no heartbeat when none is configured', () => {
    const silent = row('x', 'Running', { publicIp: '203.0.113.7', lastReportAt: minutesAgo(600) });
    assert.equal(reconcileRow(silent, group('x', 'Succeeded'), now, { ...policy, heartbeatTimeoutMs: undefined }), undefined);
    assert.equal(expireHeartbeat(silent, now, undefined), undefined);
  });

  it('expires only Running servers', () => {
    for (const state of ['Creating', 'MarkedForDeletion', 'Failed', 'Deleting'] as const) {
      assert.equal(expireHeartbeat(row('x', state, { lastReportAt: minutesAgo(600) }), now, 1000), undefined, state);
    }
  });
});

describe('planReconcile', () => {
  it('repairs only drifted rows and adopts only tagged groups without a row', () => {
    const rows = [row('lost-event', 'Creating'), row('healthy', 'Running', { publicIp: '203.0.113.7' }), row('deleted-outside', 'Running')];
    const owned = [
      group('lost-event', 'Succeeded'),
      group('healthy', 'Succeeded'),
      group('orphan', 'Succeeded'),
      group('going', 'Deleting'),
    ];
    const actions = planReconcile({ rows, owned, now, policy });
    assert.deepEqual(
      actions.map((a) => [a.kind, a.key.containerGroupName]),
      [
        ['repair', 'lost-event'],
        ['repair', 'deleted-outside'],
        ['adopt', 'orphan'],
      ],
    );
  });

  it('matches rows and groups whatever the casing of the resource group', () => {
    const actions = planReconcile({
      rows: [row('x', 'Running', { publicIp: '203.0.113.7' })],
      owned: [group('x', 'Succeeded', { resourceGroup: 'GAMES' })],
      now,
      policy,
    });
    assert.deepEqual(actions, []);
  });

  it("never adopts a group outside the fleet's resource groups", () => {
    const actions = planReconcile({
      rows: [],
      owned: [group('a', 'Succeeded'), group('b', 'Succeeded', { resourceGroup: 'elsewhere' })],
      now,
      policy: { ...policy, allowedResourceGroups: ['Games'] },
    });
    assert.deepEqual(
      actions.map((a) => `${a.key.resourceGroup}/${a.key.containerGroupName}`),
      ['games/a'],
    );
  });

  it('is a no-op on a consistent fleet', () => {
    assert.deepEqual(
      planReconcile({ rows: [row('a', 'Running', { publicIp: '203.0.113.7' })], owned: [group('a', 'Succeeded')], now, policy }),
      [],
    );
  });
});

describe('adoptedRecord', () => {
  it("takes the group's real state and what it runs", () => {
    const running = adoptedRecord(group('a', 'Succeeded'), now, 12);
    assert.equal(running.state, 'Running');
    assert.equal(running.publicIp, '203.0.113.7');
    assert.equal(running.image, 'ghcr.io/example/game:1');
    assert.equal(running.cpu, 2);
    assert.equal(running.ramGb, 3.5);
    assert.equal(running.maxSessions, 12);
    assert.equal(running.specHash, 'adopted');

    const failed = adoptedRecord(group('b', 'Failed', { failureMessage: 'image pull failed' }), now, 12);
    assert.equal(failed.state, 'Failed');
    assert.equal(failed.failureReason, 'image pull failed');

    const stopped = adoptedRecord(group('c', 'Succeeded', { instanceState: 'Stopped' }), now, 12);
    assert.equal(stopped.state, 'Failed');

    assert.equal(adoptedRecord(group('d', 'Pending'), now, 12).state, 'Creating');
  });

  it('holds the MaxSessions its tag names (the default only without a well-formed one)', () => {
    const tagged = (value: string) => group('e', 'Succeeded', { tags: { 'aci-fleet': 'fleet', 'aci-fleet.maxSessions': value } });
    assert.equal(adoptedRecord(tagged('4'), now, 12).maxSessions, 4);
    for (const bad of ['0', '-3', '2.5', 'four', '', '100001', '04'])
      assert.equal(adoptedRecord(tagged(bad), now, 12).maxSessions, 12, JSON.stringify(bad));
  });
});
