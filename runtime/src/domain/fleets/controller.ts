// ACIFleetController's use case: drive each fleet towards its spec. Per fleet, one run acts at a
// time (a lease in its state record); the pure plan (./plan.ts) decides, and this applies it:
// servers are created only through ServerService.create, drained with ETag-conditional writes,
// and what the run saw is noted on the fleet's row. ACIGC deletes drained servers at 0 sessions.
import type { DemandMiss, DemandStore } from '../allocation/ports';
import type { ArrivalEstimate } from '../autoscaling/arrivals';
import { releaseLease, takeLease } from '../autoscaling/lease';
import { decide } from '../autoscaling/policy';
import type { AutoscalerState, AutoscalerStateStore } from '../autoscaling/ports';
import { silentLogger, silentTelemetry, systemClock, type Clock, type Logger, type Telemetry, type Versioned } from '../core/ports';
import { FleetError } from '../core/errors';
import { truncate } from '../core/text';
import { trackLifecycle, transition, undrainedState } from '../servers/lifecycle';
import { fleetOf } from '../servers/membership';
import { mutateServer } from '../servers/mutate';
import { namePrefixFrom, slotName } from '../servers/names';
import type { ServerStore } from '../servers/ports';
import { describeKey, type ServerKey, type ServerRecord } from '../servers/server';
import { isDefaultFleet, type FleetRecord, type ObservedStatus } from './fleet';
import type { FleetService } from './fleetService';
import {
  censusForPolicy,
  leavingCount,
  planFleet,
  quotaReachedOf,
  quotaReachedReason,
  refusalOf,
  refusedReason,
  templateRegion,
  type FleetPlan,
  type Sizing,
} from './plan';

export interface FleetControllerDeps {
  fleets: FleetService;
  serverStore: ServerStore;
  demand: DemandStore;
  /** Each fleet's lease and last actions (cooldowns, create quota). */
  state: (fleet: string) => AutoscalerStateStore;
  /** Who this run is, in the lease (the invocation id on Azure). */
  holder: string;
  /** How long a lease holds if its run dies without releasing it. */
  leaseMs: number;
  writeAttempts: number;
  /** FLEET_NAME: the default fleet's servers are named after it when its template has no namePrefix. */
  deploymentName: string;
  clock?: Clock;
  log?: Logger;
  telemetry?: Telemetry;
}

export interface FleetRun {
  fleet: string;
  /** false when another run held this fleet's lease. */
  acted: boolean;
  plan?: FleetPlan;
  created: ServerKey[];
  drained: ServerKey[];
  restored: ServerKey[];
  /** true when the fleet was deleted and its row removed in this run. */
  removed: boolean;
}

const NOTHING_DONE = { createTimes: [], scaledOut: false, scaledIn: false };

/** Creates sent to ARM at once; ACI answers each in about a second. */
const CREATE_CONCURRENCY = 8;

/** The telemetry event of a run that scaled a fleet out (servers created or un-drained) or in (drained); a rollout's surge is not one. */
export const SCALED_EVENT = 'FleetScaled';

/** ARM's words on a refused create, as the fleet's status keeps them (the row's Observed property). */
const MAX_REFUSAL_CHARS = 1000;

export class FleetController {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly telemetry: Telemetry;

  constructor(private readonly deps: FleetControllerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.telemetry = deps.telemetry ?? silentTelemetry;
  }

  /**
   * One pass over the fleets (all of them, or only `only`): each fleet's lease is taken first, then
   * the servers are read once (so a run that waited for a lease never acts on servers read before
   * another run's creates), then each fleet is driven on its own, so one fleet's trouble never holds
   * up another's.
   */
  async run(options: { only?: string; skip?: string } = {}): Promise<FleetRun[]> {
    const all = await this.deps.fleets.fleets();
    const fleets = all.filter((f) => (options.only === undefined || f.value.name === options.only) && f.value.name !== options.skip);
    // A run over every fleet also drains the servers no fleet drives (see FleetService.orphansOf).
    const sweep = options.only === undefined;
    if (fleets.length === 0 && !sweep) return [];
    const leases = await Promise.all(
      fleets.map((f) =>
        takeLease(this.deps.state(f.value.name), this.deps.holder, this.deps.leaseMs, this.clock.now(), this.fleetLog(f.value.name)).catch(
          (e) => {
            this.log.error('fleet controller run failed; the next run retries', { fleet: f.value.name, error: String(e) });
            return null;
          },
        ),
      ),
    );
    let servers: ServerRecord[] = [];
    try {
      if (sweep || leases.some(Boolean)) servers = (await this.deps.serverStore.list()).map((r) => r.value);
    } catch (e) {
      // Nothing was decided: give the leases back so the next run need not wait for them to run out.
      await Promise.all(
        fleets.map((f, i) => {
          const lease = leases[i];
          return lease
            ? releaseLease(
                this.deps.state(f.value.name),
                lease,
                NOTHING_DONE,
                this.deps.fleets.scalingConfig(f.value.spec).createQuotaWindowMs,
                this.clock.now(),
                this.fleetLog(f.value.name),
              )
            : undefined;
        }),
      );
      throw e;
    }
    if (sweep)
      await this.drainOrphans(
        all.map((f) => f.value),
        servers,
      );
    // Names in use (any fleet, any state): the slots new servers are named after are the free ones.
    const taken = new Set(servers.map(nameKey));
    const runs: FleetRun[] = [];
    for (const [i, fleet] of fleets.entries()) {
      const lease = leases[i];
      if (lease === null) continue;
      if (lease === undefined) {
        runs.push({ fleet: fleet.value.name, acted: false, created: [], drained: [], restored: [], removed: false });
        continue;
      }
      try {
        runs.push(await this.runFleet(fleet, lease, this.deps.fleets.membersOf(fleet.value, servers), taken));
      } catch (e) {
        this.log.error('fleet controller run failed; the next run retries', { fleet: fleet.value.name, error: String(e) });
      }
    }
    return runs;
  }

  private async drainOrphans(fleets: readonly FleetRecord[], servers: readonly ServerRecord[]): Promise<void> {
    const orphans = this.deps.fleets
      .orphansOf(fleets, servers)
      .filter((s) => s.state === 'Running' || s.state === 'Creating' || s.state === 'Failed');
    const drained = await this.each(orphans, (key) => this.deps.fleets.drain(key));
    if (drained.length > 0) this.log.info('servers of deleted fleets drained', { servers: drained.map(describeKey) });
  }

  private fleetLog(name: string): Logger {
    return {
      info: (m: string, p?: object) => this.log.info(m, { fleet: name, ...p }),
      warn: this.log.warn,
      error: this.log.error,
    };
  }

  private async runFleet(
    row: Versioned<FleetRecord>,
    lease: Versioned<AutoscalerState>,
    members: ServerRecord[],
    taken: Set<string>,
  ): Promise<FleetRun> {
    const fleet = row.value;
    const run: FleetRun = { fleet: fleet.name, acted: true, created: [], drained: [], restored: [], removed: false };
    const state = this.deps.state(fleet.name);
    const log = this.fleetLog(fleet.name);

    const createTimes: string[] = [];
    // Every fleet's creates count against ACI's create quota, whatever sizes it (the AUTOSCALER_* quota when its own gives none).
    const quota = this.deps.fleets.scalingConfig(fleet.spec);
    const config = fleet.spec.autoscaler ? quota : undefined;
    let plan: FleetPlan | undefined;
    let arrivals: ArrivalEstimate | undefined;
    let refusal: string | undefined;
    let quotaReached: string | undefined;
    let blockedOtherwise = false;
    try {
      const now = this.clock.now();
      const sizing = await this.sizing(fleet, members, config, lease.value, now);
      if (sizing.kind === 'autoscaler') arrivals = sizing.decision.arrivals;
      const recentCreates = lease.value.creates.filter((t) => now.getTime() - Date.parse(t) < quota.createQuotaWindowMs).length;
      plan = planFleet({ fleet, servers: members, sizing, now, createsLeft: Math.max(0, quota.createQuota - recentCreates) });
      run.plan = plan;

      run.restored = await this.each(plan.restore, (key) => this.restore(key));
      const drainAll = async (list: FleetPlan['drain']) => {
        const drains = await Promise.all(
          list.map(async (d) => ({
            ...d,
            // A scale-in never takes a server a player was booked onto since the decision; a rollout's drain may (it keeps its sessions).
            done: await this.deps.fleets.drain(d.key, { unlessBooked: d.cause === 'scale-in' }).catch((e) => this.failed(d.key, e)),
          })),
        );
        for (const d of drains) {
          if (!d.done) continue;
          run.drained.push(d.key);
          if (d.cause === 'rollout')
            this.telemetry.trackEvent('RolloutServerDrained', { fleet: fleet.name, revision: fleet.revision, server: describeKey(d.key) });
        }
      };
      await drainAll(plan.drain.filter((d) => d.cause !== 'rollout'));
      // Named after free slots, not at random: two runs that decide on the same view (a lease run
      // out, a run that read before another's creates) pick the same names, and the second create
      // of a name is a no-op, so no shortfall is ever filled twice.
      const keys = this.slotNames(fleet, plan.create, taken);
      // After a run found ACI's quota used up, one create asks first whether there is room again,
      // and the others follow only while creates go through.
      const probing = quotaReachedOf(fleet) !== undefined;
      for (let i = 0; i < keys.length && refusal === undefined && quotaReached === undefined; ) {
        const size = probing && i === 0 ? 1 : CREATE_CONCURRENCY;
        const made = await this.each(keys.slice(i, i + size), async (key) => {
          createTimes.push(this.clock.now().toISOString()); // a refused create still used the quota
          try {
            return (await this.deps.fleets.createFrom(fleet, key)).created;
          } catch (e) {
            // ARM refused the template itself: every other server of it would be refused too.
            if (e instanceof FleetError && e.code === 'AzureRequestRejected') refusal ??= e.message;
            // The region is full, not the template wrong: the rollout goes on, and its drains free the quota.
            else if (e instanceof FleetError && e.code === 'AzureQuotaReached') quotaReached ??= e.message;
            // Held back by something else (the server ceiling, a name taken): the quota is not what stops it now.
            else if (!(e instanceof FleetError && e.code === 'AzureUnavailable')) blockedOtherwise = true;
            throw e;
          }
        });
        run.created.push(...made);
        i += size;
        if (probing && made.length === 0) break;
      }
      // Old servers give way after the new ones were asked for: a revision ARM refuses drains none.
      if (refusal === undefined) await drainAll(plan.drain.filter((d) => d.cause === 'rollout'));
    } finally {
      const scaledIn = plan?.drain.some((d) => d.cause === 'scale-in') ?? false;
      const scaledOut = run.restored.length > 0 || (sizing(plan, fleet) && run.created.length > 0);
      await releaseLease(state, lease, { createTimes, scaledOut, scaledIn, arrivals }, quota.createQuotaWindowMs, this.clock.now(), log);
    }

    this.reportScaling(fleet, plan!, run);
    // Every run ACI refused for its quota: the alert on it tells operators before players notice.
    if (quotaReached)
      this.telemetry.trackEvent('FleetQuotaReached', {
        fleet: fleet.name,
        revision: fleet.revision,
        location: templateRegion(fleet),
        message: quotaReached,
      });
    const observed = await this.record(row, plan!, {
      refusal,
      quotaReached,
      attempted: createTimes.length > 0,
      blockedOtherwise,
      created: run.created.length,
      leaving: leavingCount(fleet, afterRun(members, run)),
    });
    if (fleet.deletingSince && members.length === 0 && observed) run.removed = await this.deps.fleets.removeIfEmpty(observed, members);
    if (run.created.length + run.drained.length + run.restored.length > 0) {
      this.log.info('fleet controller acted', {
        fleet: fleet.name,
        revision: fleet.revision,
        state: plan.state,
        reason: plan.reason,
        created: run.created.map(describeKey),
        drained: run.drained.map(describeKey),
        restored: run.restored.map(describeKey),
      });
    }
    return run;
  }

  private reportScaling(fleet: FleetRecord, plan: FleetPlan, run: FleetRun): void {
    const drainedNow = new Set(run.drained.map(describeKey));
    const scaledIn = plan.drain.filter((d) => d.cause === 'scale-in' && drainedNow.has(describeKey(d.key))).length;
    const created = plan.state === 'Progressing' ? 0 : run.created.length;
    const out = created + run.restored.length;
    if (out > 0) {
      this.telemetry.trackEvent(SCALED_EVENT, {
        fleet: fleet.name,
        direction: 'out',
        servers: out,
        created,
        restored: run.restored.length,
        reason: plan.reason,
      });
    }
    if (scaledIn > 0)
      this.telemetry.trackEvent(SCALED_EVENT, { fleet: fleet.name, direction: 'in', servers: scaledIn, reason: plan.reason });
  }

  /** How big the fleet should be: replicas, the autoscaler's decision on its census, or its own size. */
  private async sizing(
    fleet: FleetRecord,
    members: ServerRecord[],
    config: ReturnType<FleetService['scalingConfig']> | undefined,
    last: Parameters<typeof decide>[4],
    now: Date,
  ): Promise<Sizing> {
    if (fleet.spec.replicas !== undefined) return { kind: 'replicas', replicas: fleet.spec.replicas };
    if (!config) return { kind: 'manual' };
    const misses = (await this.deps.demand.since(new Date(now.getTime() - config.demandWindowMs))).filter((m) => isDemandFor(fleet, m));
    return { kind: 'autoscaler', decision: decide(censusForPolicy(fleet, members), misses, config, now, last) };
  }

  /** Notes the run on the fleet's row and reports rollout events when its state changed. */
  private async record(
    row: Versioned<FleetRecord>,
    plan: FleetPlan,
    creates: { refusal?: string; quotaReached?: string; attempted: boolean; blockedOtherwise: boolean; created: number; leaving: number },
  ): Promise<Versioned<FleetRecord> | undefined> {
    const fleet = row.value;
    const now = this.clock.now();
    const before = fleet.observed;
    const sameRevision = before?.revision === fleet.revision;
    // A refusal stands until a run asks ARM again and is not refused, or the fleet no longer wants
    // those servers; a run held back (the retry time, the create quota) keeps it.
    const earlier = refusalOf(fleet);
    const refused = creates.refusal
      ? { message: truncate(creates.refusal, MAX_REFUSAL_CHARS)!, at: now.toISOString() }
      : !creates.attempted && plan.wanted > 0
        ? earlier
        : undefined;
    const state = refused ? 'Paused' : plan.state;
    // The quota note stays until a create goes through, or the fleet no longer wants servers.
    const earlierQuota = quotaReachedOf(fleet);
    const quotaReached = creates.quotaReached
      ? { message: truncate(creates.quotaReached, MAX_REFUSAL_CHARS)!, leaving: creates.leaving, location: templateRegion(fleet) }
      : earlierQuota && creates.created === 0 && !creates.blockedOtherwise && plan.wanted > 0 && !refused
        ? { ...earlierQuota, leaving: creates.leaving }
        : undefined;
    const observed: ObservedStatus = {
      state,
      // A paused plan already says why (a failed server, or the refusal it held for); a refusal this run is news.
      reason:
        refused && plan.state !== 'Paused'
          ? refusedReason(fleet, refused)
          : plan.reason + (quotaReached && state !== 'Paused' ? quotaReachedReason(state, quotaReached) : ''),
      desired: plan.desired,
      at: now.toISOString(),
      revision: fleet.revision,
      // Once complete, a revision stays so through a refused scale-out.
      completedAt:
        sameRevision && before?.completedAt && (state === 'Complete' || refused)
          ? before.completedAt
          : state === 'Complete'
            ? now.toISOString()
            : undefined,
      ...(refused ? { refused } : {}),
      ...(quotaReached ? { quotaReached } : {}),
    };
    const props = { fleet: fleet.name, revision: fleet.revision };
    if (state === 'Progressing' && !(sameRevision && before?.state === 'Progressing'))
      this.telemetry.trackEvent('RolloutStarted', { ...props, previous: before?.revision, reason: observed.reason });
    if (state === 'Paused' && !(sameRevision && before?.state === 'Paused'))
      this.telemetry.trackEvent('RolloutPaused', { ...props, reason: observed.reason });
    if (
      state === 'Complete' &&
      before &&
      before.state !== 'Complete' &&
      before.state !== 'Deleting' &&
      !(sameRevision && before.completedAt)
    )
      this.telemetry.trackEvent('RolloutCompleted', {
        ...props,
        minutes: Math.round((now.getTime() - Date.parse(fleet.revisionAt)) / 6000) / 10,
      });
    const unchanged =
      before &&
      before.state === observed.state &&
      before.reason === observed.reason &&
      before.desired === observed.desired &&
      before.refused?.at === observed.refused?.at &&
      before.quotaReached?.message === observed.quotaReached?.message &&
      sameRevision;
    // The row is written when what the run saw changed (not every run), so PUTs rarely race it.
    if (unchanged) return row;
    return this.deps.fleets.observe(fleet.name, observed);
  }

  private async restore(key: ServerKey): Promise<boolean> {
    let changed = false;
    await mutateServer(
      this.deps.serverStore,
      this.deps.writeAttempts,
      key,
      (r) => {
        // A server drained after it failed stays drained: it never runs again.
        changed = r.state === 'MarkedForDeletion' && undrainedState(r) !== 'Failed';
        return changed ? transition(r, 'Running', 'operator', this.clock.now()) : undefined;
      },
      undefined,
      (before, after) => trackLifecycle(this.telemetry, before, after),
    );
    return changed;
  }

  private failed(key: ServerKey, e: unknown): false {
    this.log.warn('fleet controller action failed; the next run decides again', { server: describeKey(key), error: String(e) });
    return false;
  }

  /** Runs `act` for each key; keeps the keys it succeeded for, logs (and skips) the ones that failed. */
  private async each(keys: readonly ServerKey[], act: (key: ServerKey) => Promise<boolean>): Promise<ServerKey[]> {
    const outcomes = await Promise.all(keys.map((key) => act(key).catch((e) => this.failed(key, e))));
    return keys.filter((_, i) => outcomes[i]);
  }

  /** The first `count` free slots' names in the fleet's resource group (`<prefix>-<n>`), marked taken. */
  private slotNames(fleet: FleetRecord, count: number, taken: Set<string>): ServerKey[] {
    const prefix = fleet.spec.template.namePrefix ?? (isDefaultFleet(fleet.name) ? namePrefixFrom(this.deps.deploymentName) : fleet.name);
    const resourceGroup = fleet.spec.template.resourceGroup;
    const keys: ServerKey[] = [];
    for (let slot = 1; keys.length < count; slot++) {
      const key = { resourceGroup, containerGroupName: slotName(prefix, slot) };
      if (taken.has(nameKey(key))) continue;
      taken.add(nameKey(key));
      keys.push(key);
    }
    return keys;
  }
}

/** ARM compares resource group names without regard to case. */
const nameKey = (k: ServerKey) => `${k.resourceGroup.toLowerCase()}/${k.containerGroupName}`;

/** Whether the autoscaler may count the creates of this run as a scale out (not a rollout's surge). */
function sizing(plan: FleetPlan | undefined, fleet: FleetRecord): boolean {
  return plan !== undefined && fleet.spec.autoscaler !== undefined && plan.state !== 'Progressing';
}

/**
 * Misses this fleet's servers could have served: those that named it (the default fleet: or named
 * none), and asked no location or resource group its template is not in.
 */
export function isDemandFor(fleet: FleetRecord, m: DemandMiss): boolean {
  const template = fleet.spec.template;
  return (
    fleetOf(m) === fleet.name &&
    (!m.location || m.location === template.containerGroup.location.toLowerCase()) &&
    (!m.resourceGroup || m.resourceGroup === template.resourceGroup)
  );
}

/** The fleet's servers as the run left them: the ones it drained draining, the ones it restored serving. */
function afterRun(members: readonly ServerRecord[], run: FleetRun): ServerRecord[] {
  const drained = new Set(run.drained.map(describeKey));
  const restored = new Set(run.restored.map(describeKey));
  return members.map((s) =>
    drained.has(describeKey(s))
      ? { ...s, state: 'MarkedForDeletion' as const }
      : restored.has(describeKey(s))
        ? { ...s, state: 'Running' as const }
        : s,
  );
}
