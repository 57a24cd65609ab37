// ACIFleetController's use case: drive each fleet towards its spec. Per fleet, one run acts at a
// time (a lease in its state record); the pure plan (./plan.ts) decides, and this applies it:
// servers are created only through ServerService.create, drained with ETag-conditional writes,
// and what the run saw is noted on the fleet's row. ACIGC deletes drained servers at 0 sessions.
import type { DemandMiss, DemandStore } from '../allocation/ports';
import { releaseLease, takeLease } from '../autoscaling/lease';
import { decide } from '../autoscaling/policy';
import type { AutoscalerStateStore } from '../autoscaling/ports';
import { silentLogger, silentTelemetry, systemClock, type Clock, type Logger, type Telemetry, type Versioned } from '../core/ports';
import { trackLifecycle, transition } from '../servers/lifecycle';
import { fleetOf } from '../servers/membership';
import { mutateServer } from '../servers/mutate';
import { namePrefixFrom, newServerName } from '../servers/names';
import type { ServerStore } from '../servers/ports';
import { describeKey, type ServerKey, type ServerRecord } from '../servers/server';
import type { ServerService } from '../servers/serverService';
import { isDefaultFleet, type FleetRecord, type ObservedStatus } from './fleet';
import type { FleetService } from './fleetService';
import { censusForPolicy, planFleet, type FleetPlan, type Sizing } from './plan';

export interface FleetControllerDeps {
  fleets: FleetService;
  servers: ServerService;
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
  /** Quota window for fleets without an autoscaler (ACI's create quota applies to every create). */
  createQuotaWindowMs: number;
  clock?: Clock;
  log?: Logger;
  telemetry?: Telemetry;
  /** Random suffixes of new names; the simulator passes a seeded one so its runs repeat. */
  random?: () => number;
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

/** Creates sent to ARM at once; ACI answers each in about a second. */
const CREATE_CONCURRENCY = 8;

/** The telemetry event of a run that scaled a fleet out (servers created or un-drained) or in (drained); a rollout's surge is not one. */
export const SCALED_EVENT = 'FleetScaled';

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
   * One pass over the fleets (all of them, or only `only`): the servers are read once, then each
   * fleet is driven on its own, so one fleet's trouble never holds up another's.
   */
  async run(options: { only?: string; skip?: string } = {}): Promise<FleetRun[]> {
    const fleets = (await this.deps.fleets.fleets()).filter(
      (f) => (options.only === undefined || f.value.name === options.only) && f.value.name !== options.skip,
    );
    if (fleets.length === 0) return [];
    const servers = (await this.deps.serverStore.list()).map((r) => r.value);
    const runs: FleetRun[] = [];
    for (const fleet of fleets) {
      try {
        runs.push(await this.runFleet(fleet, this.deps.fleets.membersOf(fleet.value.name, servers)));
      } catch (e) {
        this.log.error('fleet controller run failed; the next run retries', { fleet: fleet.value.name, error: String(e) });
      }
    }
    return runs;
  }

  private async runFleet(row: Versioned<FleetRecord>, members: ServerRecord[]): Promise<FleetRun> {
    const fleet = row.value;
    const run: FleetRun = { fleet: fleet.name, acted: false, created: [], drained: [], restored: [], removed: false };
    const state = this.deps.state(fleet.name);
    const log = {
      info: (m: string, p?: object) => this.log.info(m, { fleet: fleet.name, ...p }),
      warn: this.log.warn,
      error: this.log.error,
    };
    const lease = await takeLease(state, this.deps.holder, this.deps.leaseMs, this.clock.now(), log);
    if (!lease) return run;
    run.acted = true;

    const createTimes: string[] = [];
    const config = fleet.spec.autoscaler ? this.deps.fleets.scalingConfig(fleet.spec) : undefined;
    let plan: FleetPlan | undefined;
    try {
      const now = this.clock.now();
      const sizing = await this.sizing(fleet, members, config, lease.value, now);
      plan = planFleet({ fleet, servers: members, sizing, now });
      run.plan = plan;

      run.restored = await this.each(plan.restore, (key) => this.restore(key));
      const drains = await Promise.all(
        plan.drain.map(async (d) => ({
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
      const names = Array.from({ length: plan.create }, () => this.newName(fleet));
      for (let i = 0; i < names.length; i += CREATE_CONCURRENCY) {
        run.created.push(
          ...(await this.each(
            names
              .slice(i, i + CREATE_CONCURRENCY)
              .map((containerGroupName) => ({ resourceGroup: fleet.spec.template.resourceGroup, containerGroupName })),
            async (key) => {
              createTimes.push(this.clock.now().toISOString()); // a refused create still used the quota
              await this.deps.fleets.createFrom(fleet, key);
              return true;
            },
          )),
        );
      }
    } finally {
      const scaledIn = plan?.drain.some((d) => d.cause === 'scale-in') ?? false;
      const scaledOut = run.restored.length > 0 || (sizing(plan, fleet) && run.created.length > 0);
      await releaseLease(
        state,
        lease,
        { createTimes, scaledOut, scaledIn },
        config?.createQuotaWindowMs ?? this.deps.createQuotaWindowMs,
        this.clock.now(),
        log,
      );
    }

    this.reportScaling(fleet, plan!, run);
    const observed = await this.record(row, plan!);
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
  private async record(row: Versioned<FleetRecord>, plan: FleetPlan): Promise<Versioned<FleetRecord> | undefined> {
    const fleet = row.value;
    const now = this.clock.now();
    const before = fleet.observed;
    const sameRevision = before?.revision === fleet.revision;
    const observed: ObservedStatus = {
      state: plan.state,
      reason: plan.reason,
      desired: plan.desired,
      at: now.toISOString(),
      revision: fleet.revision,
      completedAt: plan.state === 'Complete' ? (sameRevision && before?.completedAt ? before.completedAt : now.toISOString()) : undefined,
    };
    const props = { fleet: fleet.name, revision: fleet.revision };
    if (plan.state === 'Progressing' && !(sameRevision && before?.state === 'Progressing'))
      this.telemetry.trackEvent('RolloutStarted', { ...props, previous: before?.revision, reason: plan.reason });
    if (plan.state === 'Paused' && !(sameRevision && before?.state === 'Paused'))
      this.telemetry.trackEvent('RolloutPaused', { ...props, reason: plan.reason });
    if (plan.state === 'Complete' && before && before.state !== 'Complete' && before.state !== 'Deleting')
      this.telemetry.trackEvent('RolloutCompleted', {
        ...props,
        minutes: Math.round((now.getTime() - Date.parse(fleet.revisionAt)) / 6000) / 10,
      });
    const unchanged =
      before && before.state === observed.state && before.reason === observed.reason && before.desired === observed.desired && sameRevision;
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
        changed = r.state === 'MarkedForDeletion';
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

  private newName(fleet: FleetRecord): string {
    const prefix = fleet.spec.template.namePrefix ?? (isDefaultFleet(fleet.name) ? namePrefixFrom(this.deps.deploymentName) : fleet.name);
    return newServerName(prefix, this.clock.now(), this.deps.random);
  }
}

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
