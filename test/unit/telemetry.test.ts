// The fleet snapshot (pure): what ACIMetrics publishes for a given set of servers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import type { ServerState } from '../../runtime/src/domain/servers/states';
import { fleetSnapshot, parseTelemetryLine, TELEMETRY_PREFIX } from '../../runtime/src/telemetry';

const server = (state: ServerState, location: string, activeSessions: number, maxSessions: number): ServerRecord => ({
  resourceGroup: 'rg',
  containerGroupName: `s-${Math.random().toString(36).slice(2)}`,
  state,
  activeSessions,
  maxSessions,
  location,
  image: 'i',
  cpu: 1,
  ramGb: 1,
  createdAt: '',
  stateChangedAt: '',
  specHash: '',
});

describe('fleetSnapshot', () => {
  it('counts every state, zeros included, and sums Running sessions per location', () => {
    const metrics = fleetSnapshot([
      server('Running', 'westeurope', 3, 8),
      server('Running', 'westeurope', 1, 8),
      server('Running', 'eastus', 0, 4),
      server('MarkedForDeletion', 'westeurope', 2, 8), // draining sessions are not capacity
      server('Failed', 'eastus', 0, 4),
    ]);
    const get = (name: string, key: string, value: string) => metrics.find((m) => m.name === name && m.properties[key] === value)?.value;
    assert.equal(get('Servers', 'state', 'Running'), 3);
    assert.equal(get('Servers', 'state', 'MarkedForDeletion'), 1);
    assert.equal(get('Servers', 'state', 'Failed'), 1);
    assert.equal(get('Servers', 'state', 'Creating'), 0);
    assert.equal(get('Servers', 'state', 'Deleting'), 0);
    assert.equal(get('ActiveSessions', 'location', 'westeurope'), 4);
    assert.equal(get('MaxSessions', 'location', 'westeurope'), 16);
    assert.equal(get('ActiveSessions', 'location', 'eastus'), 0);
    assert.equal(get('MaxSessions', 'location', 'eastus'), 4);
  });

  it('publishes only the per-state zeros for an empty fleet', () => {
    const metrics = fleetSnapshot([]);
    assert.equal(metrics.length, 5);
    assert.ok(metrics.every((m) => m.name === 'Servers' && m.value === 0));
  });
});

describe('parseTelemetryLine', () => {
  it('reads a telemetry line wherever the host put it, and ignores others', () => {
    assert.deepEqual(parseTelemetryLine(`[ACIGC] information: ${TELEMETRY_PREFIX}{"kind":"metric","name":"GcDeleted","value":2}`), {
      kind: 'metric',
      name: 'GcDeleted',
      value: 2,
    });
    assert.equal(parseTelemetryLine('server creating {"server":"rg/a"}'), undefined);
    assert.equal(parseTelemetryLine(`${TELEMETRY_PREFIX}{broken`), undefined);
  });
});
