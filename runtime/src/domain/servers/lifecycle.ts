// Pure decisions about one server's lifecycle: moving it between states, and what a fresh
// look at its container group in ARM means for its row. No I/O here.
import { FleetError } from '../core/errors';
import type { Telemetry } from '../core/ports';
import type { ContainerGroupObservation } from './ports';
import { MAX_SESSIONS, RESERVED_TAG_PREFIX } from './requests';
import { describeKey, INCARNATION, reservedSessions, type ServerRecord } from './server';
import { canTransition, type Actor, type ServerState } from './states';

/** The ownership tag put on every container group this fleet creates. */
export const OWNER_TAG = RESERVED_TAG_PREFIX;

/** The tag that carries a group's incarnation, so a row rebuilt by reconcile keeps its server's report token valid. */
export const INCARNATION_TAG = `${RESERVED_TAG_PREFIX}.incarnation`;

export const isOwnedBy = (tags: Record<string, string> | undefined, fleetName: string) => tags?.[OWNER_TAG] === fleetName;

/** Tags naming a server's fleet and revision, so a reconcile that adopts its group (its row lost) restores them. */
export const FLEET_TAG = `${RESERVED_TAG_PREFIX}.fleet`;
export const REVISION_TAG = `${RESERVED_TAG_PREFIX}.revision`;
export const FLEET_INCARNATION_TAG = `${RESERVED_TAG_PREFIX}.fleetIncarnation`;

type Membership = Pick<ServerRecord, 'fleet' | 'revision' | 'fleetIncarnation'>;

export function membershipTags(r: Membership): Record<string, string> {
  return {
    ...(r.fleet !== undefined ? { [FLEET_TAG]: r.fleet } : {}),
    ...(r.fleetIncarnation !== undefined ? { [FLEET_INCARNATION_TAG]: r.fleetIncarnation } : {}),
    ...(r.revision !== undefined ? { [REVISION_TAG]: String(r.revision) } : {}),
  };
}

/** The tag that carries a server's MaxSessions, so a row rebuilt by reconcile holds what the server was made to hold. */
export const MAX_SESSIONS_TAG = `${RESERVED_TAG_PREFIX}.maxSessions`;

/** MaxSessions as a group's tag names it, if it is a whole number a server may hold. */
export function maxSessionsFromTags(tags: Record<string, string> | undefined): number | undefined {
  const value = tags?.[MAX_SESSIONS_TAG];
  if (value === undefined || !/^[1-9]\d{0,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= MAX_SESSIONS ? n : undefined;
}

/** The fleet and revision a group's tags name, if they are well-formed. */
export function membershipFromTags(tags: Record<string, string> | undefined): Membership {
  const fleet = tags?.[FLEET_TAG];
  const revision = Number(tags?.[REVISION_TAG]);
  const fleetIncarnation = tags?.[FLEET_INCARNATION_TAG];
  return {
    ...(fleet ? { fleet } : {}),
    ...(fleet && fleetIncarnation && INCARNATION.test(fleetIncarnation) ? { fleetIncarnation } : {}),
    ...(fleet && Number.isInteger(revision) && revision >= 1 ? { revision } : {}),
  };
}

/**
 * Moves `r` to `to` on behalf of `actor`, or throws InvalidStateTransition (409). An un-drain
 * (MarkedForDeletion to Running) returns the server to the state it was drained from: one drained
 * while still Creating is Creating again (ACIMonitor or ACIReconcile says when it runs), and one
 * drained after it failed is refused, as Failed to Running is.
 */
export function transition(r: ServerRecord, to: ServerState, actor: Actor, now: Date, reason?: string): ServerRecord {
  if (r.state === to) return r;
  const target = r.state === 'MarkedForDeletion' && to === 'Running' ? undrainedState(r) : to;
  if (target === 'Failed' && to !== 'Failed') {
    throw new FleetError(
      'InvalidStateTransition',
      `${describeKey(r)} was drained after it failed (${r.failureReason ?? 'Failed'}); a failed server never runs again: create a new one.`,
      { from: r.state, to, drainedFrom: 'Failed' },
    );
  }
  if (!canTransition(r.state, target, actor)) {
    throw new FleetError('InvalidStateTransition', `${describeKey(r)} is ${r.state}; it cannot become ${to}.`, { from: r.state, to });
  }
  const { drainedFrom: _, ...rest } = r;
  return {
    ...rest,
    state: target,
    stateChangedAt: now.toISOString(),
    failureReason: target === 'Failed' ? (reason ?? 'marked Failed') : r.failureReason,
    ...(target === 'MarkedForDeletion' ? { drainedFrom: r.state } : {}),
  };
}

/**
 * Where an un-drain takes `r`: the state it was drained from. A row drained before that was
 * recorded counts as drained while Running, unless it carries a failure.
 */
export function undrainedState(r: ServerRecord): ServerState {
  return r.drainedFrom ?? (r.failureReason ? 'Failed' : 'Running');
}

/** What to do with a row after looking at its group in ARM: a new row, 'remove' it, or leave it. */
export type RowChange = ServerRecord | 'remove' | undefined;

/**
 * Applies what ARM says now to the row. Event Grid delivers at least once and out of order, so
 * this never trusts an event: it looks at the group itself, only moves the row forward, and never
 * revives a drained or deleted server. Calling it twice with the same observation changes nothing.
 */
export function applyObservation(r: ServerRecord, group: ContainerGroupObservation | undefined, now: Date): RowChange {
  const may = (to: ServerState) => canTransition(r.state, to, 'monitor');

  if (!group) {
    switch (r.state) {
      case 'Deleting':
      case 'MarkedForDeletion':
        return 'remove'; // it was on its way out anyway
      case 'Running':
        return transition(r, 'Failed', 'monitor', now, 'container group no longer exists in Azure');
      default:
        // Creating: the create may not have reached ARM yet; reconcile times it out.
        return undefined;
    }
  }

  const provisioning = group.provisioningState.toLowerCase();
  const instance = group.instanceState?.toLowerCase();
  if (provisioning === 'failed') {
    return may('Failed')
      ? transition(r, 'Failed', 'monitor', now, group.failureMessage ?? 'container group provisioning failed')
      : undefined;
  }
  if (provisioning !== 'succeeded') return undefined; // Pending, Creating, Repairing: not yet

  // Its containers have ended (Succeeded and Failed are what a group that does not restart ends in).
  if (instance === 'stopped' || instance === 'terminated' || instance === 'succeeded' || instance === 'failed') {
    return may('Failed') ? transition(r, 'Failed', 'monitor', now, group.failureMessage ?? 'container group stopped') : undefined;
  }

  const addressed = withAddress(r, group);
  if (r.state === 'Creating') return transition(addressed, 'Running', 'monitor', now);
  if (r.state === 'Running' || r.state === 'MarkedForDeletion') return addressed === r ? undefined : addressed;
  return undefined;
}

function withAddress(r: ServerRecord, group: ContainerGroupObservation): ServerRecord {
  if (r.publicIp === group.publicIp && r.fqdn === group.fqdn) return r;
  return { ...r, publicIp: group.publicIp, fqdn: group.fqdn };
}

/** GC may delete a server only when it is drained and empty, with no booking a player may still be on the way for. */
export const isCollectable = (r: ServerRecord, now: Date) =>
  r.state === 'MarkedForDeletion' && r.activeSessions === 0 && reservedSessions(r, now) === 0;

/** A step in a server's life, as operators follow it (the local console prints one line per event). */
export type LifecycleEventName = 'created' | 'adopted' | 'running' | 'drained' | 'undrained' | 'failed' | 'deleting' | 'deleted';

export interface LifecycleEvent {
  event: LifecycleEventName;
  server: string;
  from?: ServerState;
  to?: ServerState;
  publicIp?: string;
  reason?: string;
}

/** The telemetry event every step of a server's life is sent as. */
export const LIFECYCLE_EVENT = 'ServerLifecycle';

/** What a row write did to the server's life: its row written first, a move between states, or its removal. */
export function lifecycleEvent(before: ServerRecord | undefined, after: ServerRecord | undefined): LifecycleEvent | undefined {
  if (!after) return before && { event: 'deleted', server: describeKey(before), from: before.state };
  const server = describeKey(after);
  if (!before) return { event: after.state === 'Creating' ? 'created' : 'adopted', server, to: after.state };
  if (before.state === after.state) return undefined;
  const step = { server, from: before.state, to: after.state };
  switch (after.state) {
    case 'Running':
      return before.state === 'MarkedForDeletion'
        ? { event: 'undrained', ...step }
        : { event: 'running', ...step, publicIp: after.publicIp };
    case 'MarkedForDeletion':
      return { event: 'drained', ...step };
    case 'Failed':
      return { event: 'failed', ...step, reason: after.failureReason };
    case 'Deleting':
      return { event: 'deleting', ...step };
    case 'Creating':
      return before.state === 'MarkedForDeletion' ? { event: 'undrained', ...step } : undefined;
    default:
      return undefined;
  }
}

/** Sends the lifecycle event of a row write, if it was one. */
export function trackLifecycle(telemetry: Telemetry, before: ServerRecord | undefined, after: ServerRecord | undefined): void {
  const event = lifecycleEvent(before, after);
  if (event) telemetry.trackEvent(LIFECYCLE_EVENT, { ...event });
}
