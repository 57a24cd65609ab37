// The fleet controller's decision, pure: from a fleet, its servers and how big it should be, which
// servers to create, drain and bring back, and where its rollout stands. No session is ever cut:
// a drain only stops new bookings (ACIGC deletes a drained server once its sessions reach 0).
import { loadOf, hasLiveReservations } from '../allocation/booking';
import type { Decision } from '../autoscaling/policy';
import { isOutdated, revisionOf } from '../servers/membership';
import { describeKey, keyOf, type ServerKey, type ServerRecord } from '../servers/server';
import { STATES } from '../servers/states';
import { resolveRollout, revisionInfo, type FleetRecord, type FleetStatus, type ObservedStatus, type RolloutState } from './fleet';

/** How many servers the fleet should have, as its spec says. */
export type Sizing =
  /** `replicas`: exactly this many. */
  | { kind: 'replicas'; replicas: number }
  /** Neither replicas nor autoscaler: as many as ACICreate made; a rollout replaces them one for one. */
  | { kind: 'manual' }
  /** `autoscaler`: the policy's decision (../autoscaling/policy.ts) on the fleet's census (see censusForPolicy). */
  | { kind: 'autoscaler'; decision: Decision };

export type DrainCause = 'rollout' | 'scale-in' | 'failed' | 'fleet-deleted';

export interface FleetPlan {
  create: number;
  drain: Array<{ key: ServerKey; cause: DrainCause }>;
  /** Drained servers of the current revision to put back in service (the autoscaler's choice). */
  restore: ServerKey[];
  state: RolloutState;
  reason: string;
  /** Servers the fleet should have. */
  desired: number;
  /** Servers it would create were it not paused or held by the create quota (`create` is what it does create). */
  wanted: number;
}

const alive = (s: ServerRecord) => s.state === 'Creating' || s.state === 'Running';

/**
 * After Azure refused to create a server of the current revision, the controller creates none
 * for this long, then tries again: a corrected PUT is the fix, but a registry that was briefly
 * unreachable heals by itself.
 */
export const REFUSED_RETRY_MS = 10 * 60_000;

/** Azure's refusal of the fleet's current revision, if it refused one (ObservedStatus.refused). */
export function refusalOf(fleet: FleetRecord): { message: string; at: string } | undefined {
  return fleet.observed?.revision === fleet.revision && !fleet.deletingSince ? fleet.observed.refused : undefined;
}

/** Whether a refusal still holds the fleet's creates back at `now`. */
export const refusalHolds = (refused: { at: string } | undefined, now: Date) =>
  refused !== undefined && now.getTime() < Date.parse(refused.at) + REFUSED_RETRY_MS;

/** The fleet's servers sorted by revision, and what they say about the rollout. */
export interface Assessment {
  current: ServerRecord[];
  outdated: ServerRecord[];
  /** Servers of the current revision that failed, while old ones still serve or none of it ever ran: a bad revision. */
  failing: ServerRecord[];
  paused: boolean;
}

export function assess(fleet: FleetRecord, servers: readonly ServerRecord[]): Assessment {
  const info = revisionInfo(fleet);
  const current = servers.filter((s) => !isOutdated(s, info));
  const outdated = servers.filter((s) => isOutdated(s, info));
  // Only servers known to be of this revision tell about it (not one made by hand before fleets).
  const failed = current.filter((s) => s.state === 'Failed' && revisionOf(s, info) === fleet.revision);
  const rolling = outdated.some(alive);
  // A failure of the new revision pauses a rollout (old servers keep serving); a fleet whose
  // current revision has never run pauses too, rather than create failing servers forever.
  const paused = !fleet.deletingSince && failed.length > 0 && (rolling || !current.some((s) => s.state === 'Running'));
  return { current, outdated, failing: paused ? failed : [], paused };
}

/**
 * The census the autoscaler's policy decides on: the fleet's servers, less the outdated ones that
 * no longer serve (they are leaving and must never be brought back).
 */
export function censusForPolicy(fleet: FleetRecord, servers: readonly ServerRecord[]): ServerRecord[] {
  const info = revisionInfo(fleet);
  return servers.filter((s) => !isOutdated(s, info) || alive(s));
}

/** Drain order: not serving yet first (costs no capacity), then the emptiest, the oldest revision, the name. */
function drainOrder(fleet: FleetRecord, now: Date) {
  const info = revisionInfo(fleet);
  return (a: ServerRecord, b: ServerRecord) =>
    Number(a.state === 'Running') - Number(b.state === 'Running') ||
    loadOf(a, now) - loadOf(b, now) ||
    (revisionOf(a, info) ?? 0) - (revisionOf(b, info) ?? 0) ||
    describeKey(a).localeCompare(describeKey(b));
}

export function planFleet(input: {
  fleet: FleetRecord;
  servers: readonly ServerRecord[];
  sizing: Sizing;
  now: Date;
  /** Creates ACI's create quota still allows in its window (the autoscaler's decision is capped by it already). */
  createsLeft?: number;
}): FleetPlan {
  const { fleet, servers, sizing, now, createsLeft = Number.POSITIVE_INFINITY } = input;
  const assessment = assess(fleet, servers);
  const { current, outdated, failing } = assessment;
  const refused = refusalOf(fleet);
  // A refusal holds back only creates the fleet still wants: one that no longer needs them plans as
  // if unrefused, and a paused plan wants what the unrefused one would (its own drains never ran).
  const holding = refusalHolds(refused, now);
  let unrefusedWants: number | undefined;
  if (holding) {
    const unrefused = planFleet({ ...input, fleet: { ...fleet, observed: { ...fleet.observed!, refused: undefined } } });
    if (unrefused.wanted === 0) return unrefused;
    unrefusedWants = unrefused.wanted;
  }
  // Refused by Azure: nothing is created and no old server drained until the retry time (or a new revision).
  const paused = assessment.paused || holding;
  // The last run's creates were over ACI's quota: they may not be made now either.
  const quotaHeld = quotaReachedOf(fleet) !== undefined;

  if (fleet.deletingSince) {
    const drain = servers.filter((s) => alive(s) || s.state === 'Failed').map((s) => ({ key: keyOf(s), cause: 'fleet-deleted' as const }));
    const left = servers.length;
    return {
      create: 0,
      drain,
      restore: [],
      state: 'Deleting',
      desired: 0,
      wanted: 0,
      reason: left === 0 ? 'every server is gone' : `${left} server(s) left; each goes once its sessions end`,
    };
  }

  const currentAlive = current.filter(alive);
  const outdatedAlive = outdated.filter(alive);
  const rolling = outdatedAlive.length > 0;
  // The size a rollout keeps: what the controller last decided, and never less than the old servers
  // serving now (ones made by hand since its last run count too, or they would all be drained at once).
  const before = Math.max(fleet.observed?.desired ?? currentAlive.length + outdatedAlive.length, outdatedAlive.length);
  const byKey = new Map(servers.map((s) => [describeKey(s), s]));
  const drained = new Set<string>();
  const drain: FleetPlan['drain'] = [];
  const drainOne = (s: ServerRecord, cause: DrainCause) => {
    if (drained.has(describeKey(s))) return;
    drained.add(describeKey(s));
    drain.push({ key: keyOf(s), cause });
  };

  // How many servers the fleet should have. During a rollout the autoscaler may add, never take
  // away (its scale-in waits for the rollout to finish), and a fleet sized by hand keeps its size.
  let desired: number;
  let restore: ServerKey[] = [];
  if (sizing.kind === 'replicas') desired = sizing.replicas;
  else if (sizing.kind === 'manual') desired = rolling ? before : currentAlive.length;
  else {
    restore = sizing.decision.restore.filter((k) => {
      const s = byKey.get(describeKey(k));
      return s !== undefined && s.state === 'MarkedForDeletion' && !outdated.includes(s);
    });
    const added = sizing.decision.create + restore.length;
    // A paused rollout creates nothing, and one at ACI's quota may not: adding the policy's creates to
    // the last size anyway would grow it run after run (and hold back its drains).
    desired = rolling
      ? before + (paused || quotaHeld ? restore.length : added)
      : Math.max(0, currentAlive.length + added - sizing.decision.drain.length);
  }

  // Cleanup: failed servers are drained (ACIGC deletes them), except the failing ones of a paused
  // revision, which say why it is paused until a corrected PUT makes them outdated.
  const info = revisionInfo(fleet);
  for (const s of outdated) if (s.state === 'Failed') drainOne(s, 'failed');
  if (!paused) for (const s of current) if (s.state === 'Failed' && revisionOf(s, info) === fleet.revision) drainOne(s, 'failed');

  const { maxSurge, maxUnavailable } = resolveRollout(fleet.spec.rollout, desired);
  let currentCount = currentAlive.length + restore.length;
  const currentReady = current.filter((s) => s.state === 'Running').length + restore.length;
  let outdatedCount = outdatedAlive.length;

  if (!paused) {
    // Old servers give way only as far as the fleet stays available: at least desired − maxUnavailable Running.
    const minAvailable = Math.max(0, desired - maxUnavailable);
    let ready = currentReady + outdatedAlive.filter((s) => s.state === 'Running').length;
    for (const s of [...outdatedAlive].sort(drainOrder(fleet, now))) {
      if (s.state === 'Running') {
        if (ready - 1 < minAvailable) break;
        ready--;
      }
      drainOne(s, 'rollout');
      outdatedCount--;
    }

    // Too many of the current revision: the autoscaler names its own; replicas drain the extras.
    let extra: ServerRecord[] = [];
    if (sizing.kind === 'autoscaler' && !rolling) {
      extra = sizing.decision.drain.map((k) => byKey.get(describeKey(k))).filter((s): s is ServerRecord => !!s && alive(s));
    } else if (sizing.kind === 'replicas' && currentCount > desired) {
      // Never one a player was just booked onto: it stays until the next run looks again.
      const candidates = currentAlive.filter((s) => !hasLiveReservations(s, now)).sort(drainOrder(fleet, now));
      extra = candidates.slice(0, currentCount - desired);
    }
    for (const s of extra) {
      drainOne(s, 'scale-in');
      currentCount--;
    }
  }

  const wanted =
    unrefusedWants ??
    (sizing.kind === 'autoscaler' && !rolling
      ? (sizing.decision.wanted ?? sizing.decision.create)
      : Math.max(0, Math.min(desired - currentCount, desired + maxSurge - currentCount - outdatedCount)));
  const create = paused ? 0 : Math.min(wanted, createsLeft);

  const state: RolloutState = paused ? 'Paused' : outdated.length > 0 ? 'Progressing' : 'Complete';
  return {
    create,
    drain,
    restore,
    state,
    desired,
    wanted,
    reason: reasonFor(fleet, state, { current, outdated, failing, desired, now, refused: paused ? refused : undefined }),
  };
}

/** Paused because Azure refused to create the revision's servers: the reason says what ARM said and when the next try is. */
export function refusedReason(fleet: FleetRecord, refused: { message: string; at: string }): string {
  const retryAt = new Date(Date.parse(refused.at) + REFUSED_RETRY_MS).toISOString();
  return (
    `revision ${fleet.revision}: Azure refused to create its servers (${refused.message}); ` +
    `nothing is created or rolled out meanwhile. PUT a corrected template; the fleet tries again after ${retryAt}`
  );
}

/**
 * Said after the reason while ACI's quota holds the fleet's creates back: whether servers on their
 * way out (drained, waiting for their sessions to end) will make room, and if none is, what would.
 */
export function quotaReachedReason(state: RolloutState, { message, leaving }: { message: string; leaving: number }): string {
  const room =
    leaving > 0
      ? `${leaving} server(s) on their way out free their share as they go; each run asks again`
      : `no server is on its way out to make room: raise the quota${state === 'Progressing' ? ', allow a larger rollout.maxUnavailable' : ''}, or make the fleet smaller`;
  return `; ${message.replace(/\.?$/, '.')} So ${room}`;
}

/** The region of the fleet's template, as ARM names it (`West Europe` → `westeurope`). */
export const templateRegion = (fleet: FleetRecord) => regionOf(fleet.spec.template.containerGroup.location);
const regionOf = (location: string) => location.replace(/\s+/g, '').toLowerCase();

/**
 * Servers that will free their share of the quota the fleet's creates wait for, without anyone's
 * help: drained (their sessions ending) or being deleted, in the region its template creates in.
 */
export const leavingCount = (fleet: FleetRecord, servers: readonly ServerRecord[]) =>
  servers.filter((s) => (s.state === 'MarkedForDeletion' || s.state === 'Deleting') && regionOf(s.location) === templateRegion(fleet))
    .length;

/** The last run's quota note: about the region, so it holds for a new revision too, if it creates in the same region. */
export function quotaReachedOf(fleet: FleetRecord): ObservedStatus['quotaReached'] {
  const note = fleet.deletingSince ? undefined : fleet.observed?.quotaReached;
  return note?.location === templateRegion(fleet) ? note : undefined;
}

function reasonFor(
  fleet: FleetRecord,
  state: RolloutState,
  s: {
    current: ServerRecord[];
    outdated: ServerRecord[];
    failing: ServerRecord[];
    desired: number;
    now: Date;
    refused?: { message: string; at: string };
  },
): string {
  const ready = s.current.filter((r) => r.state === 'Running').length;
  if (state === 'Paused') {
    const first = s.failing[0];
    if (!first) return refusedReason(fleet, s.refused!);
    return (
      `revision ${fleet.revision} failed (${describeKey(first)}: ${first.failureReason ?? 'Failed'}); ` +
      `old servers are kept. PUT a corrected template, or drain the failed server${s.failing.length > 1 ? 's' : ''} to try again`
    );
  }
  if (state === 'Progressing') {
    const sessions = s.outdated.reduce((n, r) => n + liveSessions(r, s.now), 0);
    return (
      `${ready} of ${s.desired} server(s) on revision ${fleet.revision} running; ${s.outdated.length} of older revisions left` +
      (sessions > 0 ? ` (holding ${sessions} session(s): they stay until these end)` : '')
    );
  }
  return `every server is on revision ${fleet.revision} (${ready} of ${s.desired} running)`;
}

/** Sessions a server still holds (booked ones too): none on a Failed one, whose container holds none (the fleet drains it with none). */
const liveSessions = (r: ServerRecord, now: Date) => (r.state === 'Failed' ? 0 : loadOf(r, now));

/** The fleet's status for GET: servers per revision and state, and where the rollout stands. */
export function fleetStatusOf(fleet: FleetRecord, servers: readonly ServerRecord[], desired: number, now: Date): FleetStatus {
  const info = revisionInfo(fleet);
  const { current, outdated, failing, paused: failed } = assess(fleet, servers);
  // Refused (even once the retry time has come, until a run's creates succeed): the last run's word stands.
  const refused = refusalOf(fleet);
  const paused = failed || refused !== undefined;
  const state: RolloutState = fleet.deletingSince ? 'Deleting' : paused ? 'Paused' : outdated.length > 0 ? 'Progressing' : 'Complete';
  const byRevision = new Map<number | null, ServerRecord[]>();
  for (const s of servers) {
    const revision = revisionOf(s, info) ?? null;
    byRevision.set(revision, [...(byRevision.get(revision) ?? []), s]);
  }
  const rows = [...byRevision]
    .sort(([a], [b]) => (b ?? 0) - (a ?? 0))
    .map(([revision, list]) => ({
      Revision: revision,
      Current: revision === fleet.revision || (revision === null && list.every((s) => !isOutdated(s, info))),
      ...(Object.fromEntries(STATES.map((st) => [st, list.filter((s) => s.state === st).length])) as Record<
        (typeof STATES)[number],
        number
      >),
      ActiveSessions: list.reduce((n, s) => n + s.activeSessions, 0),
    }));
  const quota = quotaReachedOf(fleet);
  const reason =
    state === 'Deleting'
      ? `${servers.length} server(s) left; each goes once its sessions end`
      : reasonFor(fleet, state, { current, outdated, failing, desired, now, refused }) +
        (quota && !paused ? quotaReachedReason(state, quota) : '');
  const completed = fleet.observed?.revision === fleet.revision ? fleet.observed.completedAt : undefined;
  return {
    State: state,
    Reason: reason,
    Desired: desired,
    Ready: current.filter((s) => s.state === 'Running').length,
    Outdated: outdated.length,
    OutdatedSessions: outdated.reduce((n, s) => n + (s.state === 'Failed' ? 0 : s.activeSessions), 0),
    Servers: rows,
    RevisionAt: fleet.revisionAt,
    CompletedAt: state === 'Complete' ? (completed ?? null) : null,
    ObservedAt: fleet.observed?.at ?? null,
    QuotaReached: quota && !paused && state !== 'Deleting' ? quota.message : null,
  };
}
