// A server row for tests that write the table directly or feed pure decisions: sensible
// defaults (a Running 1-CPU server in 'games'), every field overridable.
import type { ServerRecord } from '../../runtime/src/domain/servers/server';
import type { ServerState } from '../../runtime/src/domain/servers/states';

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

/**
 * Makes the servers of a fleet fed to the scaling decisions: named s000, s001, … in order, 12
 * slots each, in their state since `since`.
 */
export function numberedServers(since: string) {
  let count = 0;
  return (state: ServerState, activeSessions = 0, extra: Partial<ServerRecord> = {}): ServerRecord =>
    serverRecord(`s${String(count++).padStart(3, '0')}`, {
      state,
      activeSessions,
      maxSessions: 12,
      createdAt: since,
      stateChangedAt: since,
      specHash: 'h',
      ...extra,
    });
}
