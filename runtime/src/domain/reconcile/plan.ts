// Pure decisions of ACIReconcile: given the table's rows, the groups ARM says this fleet owns
// and the time, what must be repaired. The reconciler (./reconciler.ts) applies them.
import { isAllowedResourceGroup, normalizeResourceGroup } from '../core/resourceGroups';
import {
  applyObservation,
  INCARNATION_TAG,
  maxSessionsFromTags,
  membershipFromTags,
  transition,
  type RowChange,
} from '../servers/lifecycle';
import type { ContainerGroupObservation } from '../servers/ports';
import { describeKey, INCARNATION, keyOf, type ServerKey, type ServerRecord } from '../servers/server';

export interface ReconcilePolicy {
  /** A row still Creating after this long is marked Failed. */
  creatingTimeoutMs: number;
  /** A Running server silent for longer is marked Failed ("missed heartbeats"); undefined = no check. */
  heartbeatTimeoutMs?: number;
  /** Resource groups the fleet may manage (empty = any): groups elsewhere are never adopted. */
  allowedResourceGroups: readonly string[];
}

export type ReconcileAction =
  /** The row disagrees with ARM (or timed out): read the group again and apply `reconcileRow`. */
  | { kind: 'repair'; key: ServerKey; reason: string }
  /** A tagged group has no row: insert one (if still absent) with the group's real state. */
  | { kind: 'adopt'; key: ServerKey; group: ContainerGroupObservation };

const ageMs = (since: string | undefined, now: Date) => now.getTime() - Date.parse(since ?? '');

/** A Running server whose last report (or start, if it never reported) is older than the timeout. */
export function heartbeatExpired(r: ServerRecord, now: Date, timeoutMs: number | undefined): boolean {
  if (timeoutMs === undefined || r.state !== 'Running') return false;
  const age = ageMs(r.lastReportAt ?? r.stateChangedAt, now);
  return Number.isFinite(age) && age > timeoutMs;
}

/** Marks a silent server Failed, or leaves the row alone. */
export function expireHeartbeat(r: ServerRecord, now: Date, timeoutMs: number | undefined): RowChange {
  if (!heartbeatExpired(r, now, timeoutMs)) return undefined;
  const silentFor = Math.round(ageMs(r.lastReportAt ?? r.stateChangedAt, now) / 1000);
  return transition(r, 'Failed', 'heartbeat', now, `missed heartbeats: no report for ${silentFor} s`);
}

/**
 * What one row should become given its group in ARM (undefined = no group): what ARM says
 * first (lifecycle.applyObservation: forward only, never revives a drained server), then the
 * Creating timeout, then the heartbeat. Idempotent: applying it twice changes nothing more.
 */
export function reconcileRow(
  r: ServerRecord,
  group: ContainerGroupObservation | undefined,
  now: Date,
  policy: Pick<ReconcilePolicy, 'creatingTimeoutMs' | 'heartbeatTimeoutMs'>,
): RowChange {
  const observed = applyObservation(r, group, now);
  if (observed !== undefined) return observed;
  if (r.state === 'Creating') {
    const age = ageMs(r.stateChangedAt, now);
    if (!(age > policy.creatingTimeoutMs)) return undefined;
    const minutes = Math.round(policy.creatingTimeoutMs / 60_000);
    const why = group ? `Azure still reports it ${group.provisioningState}` : 'it never appeared in Azure';
    return transition(r, 'Failed', 'monitor', now, `still Creating after ${minutes} min: ${why}`);
  }
  return expireHeartbeat(r, now, policy.heartbeatTimeoutMs);
}

/**
 * Compares the table with ARM. `owned` must be read AFTER `rows`: a row missing from `rows`
 * then really had no group when it was removed, and a group created meanwhile has its row
 * already (ACICreate writes the row first), so adoption's insert-if-absent loses harmlessly.
 */
export function planReconcile(input: {
  rows: readonly ServerRecord[];
  owned: readonly ContainerGroupObservation[];
  now: Date;
  policy: ReconcilePolicy;
}): ReconcileAction[] {
  const { rows, owned, now, policy } = input;
  const groups = new Map(owned.map((g) => [id(g), g]));
  const actions: ReconcileAction[] = [];
  for (const row of rows) {
    const group = groups.get(id(row));
    const change = reconcileRow(row, group, now, policy);
    if (change === undefined) continue;
    actions.push({ kind: 'repair', key: keyOf(row), reason: repairReason(row, group, change) });
  }
  const known = new Set(rows.map(id));
  for (const group of owned) {
    if (known.has(id(group))) continue;
    if (group.provisioningState.toLowerCase() === 'deleting') continue; // on its way out: nothing to adopt
    if (!isAllowedResourceGroup(policy.allowedResourceGroups, group.resourceGroup)) continue;
    actions.push({ kind: 'adopt', key: keyOf(group), group });
  }
  return actions;
}

/** The row an adopted group gets: its real state, what it runs, the capacity its tag names (the fleet's default without one). */
export function adoptedRecord(group: ContainerGroupObservation, now: Date, defaultMaxSessions: number): ServerRecord {
  const at = now.toISOString();
  const provisioning = group.provisioningState.toLowerCase();
  const instance = group.instanceState?.toLowerCase();
  const failed = provisioning === 'failed' || instance === 'stopped' || instance === 'terminated';
  const state = failed ? 'Failed' : provisioning === 'succeeded' ? 'Running' : 'Creating';
  // The incarnation the fleet tagged the group with: the server's report token keeps working.
  const incarnation = group.tags[INCARNATION_TAG];
  return {
    ...keyOf(group),
    state,
    activeSessions: 0,
    maxSessions: maxSessionsFromTags(group.tags) ?? defaultMaxSessions,
    location: group.location.toLowerCase(),
    image: group.image ?? '',
    cpu: group.cpu ?? 0,
    ramGb: group.ramGb ?? 0,
    publicIp: state === 'Running' ? group.publicIp : undefined,
    fqdn: state === 'Running' ? group.fqdn : undefined,
    createdAt: at,
    stateChangedAt: at,
    failureReason: failed ? (group.failureMessage ?? `adopted: Azure reports it ${group.provisioningState}`) : undefined,
    // No create request is known, so a later ACICreate of this name is a Conflict, never a silent match.
    specHash: 'adopted',
    incarnation: incarnation && INCARNATION.test(incarnation) ? incarnation : undefined,
    ...membershipFromTags(group.tags),
  };
}

function repairReason(row: ServerRecord, group: ContainerGroupObservation | undefined, change: Exclude<RowChange, undefined>): string {
  if (change === 'remove') return `${row.state} and gone from Azure: remove the row`;
  if (change.state !== row.state)
    return `${row.state} -> ${change.state}${change.failureReason && change.state === 'Failed' ? ` (${change.failureReason})` : ''}`;
  return group ? 'address changed in Azure' : 'row out of date';
}

const id = (k: ServerKey) =>
  describeKey({ resourceGroup: normalizeResourceGroup(k.resourceGroup), containerGroupName: k.containerGroupName.toLowerCase() });
