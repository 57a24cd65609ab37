// A server row for tests that write the table directly or feed pure decisions: sensible
// defaults (a Running 1-CPU server in 'games'), every field overridable.
import type { ServerRecord } from '../../runtime/src/domain/servers/server';

export function serverRecord(name: string, extra: Partial<ServerRecord> = {}): ServerRecord {
  const at = extra.createdAt ?? new Date().toISOString();
  return {
    resourceGroup: 'games',
    containerGroupName: name,
    state: 'Running',
    activeSessions: 0,
    maxSessions: 10,
    location: 'westeurope',
    image: 'img',
    cpu: 1,
    ramGb: 1,
    createdAt: at,
    stateChangedAt: at,
    specHash: 'seeded',
    ...extra,
  };
}
