// ACIAutoScaler's use case: take the lease (one run acts at a time), read the fleet and recent
// demand, ask the pure policy (./autoscaler.ts) what to do, then do it through the Fleet service
// and remember it. Every step that writes is ETag-conditional.
import { randomBytes } from 'node:crypto';
import { hasLiveReservations } from '../allocation/booking';
import { decide, type ScalingConfig, type Decision } from './policy';
import { trackLifecycle, transition } from '../servers/lifecycle';
import {
  StaleWriteError,
  silentLogger,
  silentTelemetry,
  systemClock,
  type Clock,
  type Logger,
  type Telemetry,
  type Versioned,
} from '../core/ports';
import type { AutoscalerState, AutoscalerStateStore } from './ports';
import type { DemandStore } from '../allocation/ports';
import type { ServerStore } from '../servers/ports';
import type { ContainerGroupTemplate } from '../servers/requests';
import { describeKey, type ServerKey } from '../servers/server';
import { mutateServer } from '../servers/mutate';
import type { ServerService } from '../servers/serverService';

export interface AutoscalerDeps {
  /** Creates the new servers. */
  servers: ServerService;
  store: ServerStore;
  demand: DemandStore;
  state: AutoscalerStateStore;
  config: ScalingConfig;
  template: ContainerGroupTemplate;
  /** Prefix of new servers' names when the template has none. */
  namePrefix: string;
  /** Who this run is, in the lease record (the invocation id on Azure). */
  holder: string;
  /** Attempts of one conditional write of a server row (FLEET_WRITE_ATTEMPTS). */
  writeAttempts: number;
  /** How long a lease holds if its run dies without releasing it. */
  leaseMs: number;
  clock?: Clock;
  log?: Logger;
  /** Where scale actions (SCALED_EVENT) and the drains they make are sent. */
  telemetry?: Telemetry;
  /** Random suffixes of new names; the simulator passes a seeded one so its runs repeat. */
  random?: () => number;
}

export interface AutoscalerRun {
  /** false when another run held the lease or took it first. */
  acted: boolean;
  decision?: Decision;
  created: ServerKey[];
  drained: ServerKey[];
  restored: ServerKey[];
}

/** Creates sent to ARM at once; ACI answers each in about a second. */
const CREATE_CONCURRENCY = 8;

/** The telemetry event of a run that scaled the fleet out (servers created or un-drained) or in (drained). */
export const SCALED_EVENT = 'FleetScaled';

export class Autoscaler {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly telemetry: Telemetry;

  constructor(private readonly deps: AutoscalerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.telemetry = deps.telemetry ?? silentTelemetry;
  }

  async run(): Promise<AutoscalerRun> {
    const idle: AutoscalerRun = { acted: false, created: [], drained: [], restored: [] };
    const lease = await this.takeLease();
    if (!lease) return idle;

    const { store, demand, config, template } = this.deps;
    const now = this.clock.now();
    const run: AutoscalerRun = { acted: true, created: [], drained: [], restored: [] };
    const createTimes: string[] = [];
    try {
      const rows = (await store.list()).map((r) => r.value);
      // Only misses that servers made from the template could have served are demand for it.
      const location = template.containerGroup.location.toLowerCase();
      const misses = (await demand.since(new Date(now.getTime() - config.demandWindowMs))).filter(
        (m) => (!m.location || m.location === location) && (!m.resourceGroup || m.resourceGroup === template.resourceGroup),
      );
      const decision = decide(rows, misses, config, now, lease.value);
      run.decision = decision;

      run.restored = await this.each(decision.restore, (key) => this.setState(key, 'Running'));
      run.drained = await this.each(decision.drain, (key) => this.setState(key, 'MarkedForDeletion'));
      const names = Array.from({ length: decision.create }, () => this.newName());
      for (let i = 0; i < names.length; i += CREATE_CONCURRENCY) {
        const created = await this.each(
          names
            .slice(i, i + CREATE_CONCURRENCY)
            .map((containerGroupName) => ({ resourceGroup: template.resourceGroup, containerGroupName })),
          async (key) => {
            createTimes.push(this.clock.now().toISOString()); // a refused create still used the quota
            await this.create(key);
            return true;
          },
        );
        run.created.push(...created);
      }
    } finally {
      // Released even when a step failed, so the next run need not wait for the lease to run out.
      await this.release(lease, run, createTimes);
    }
    await demand
      .prune(new Date(now.getTime() - config.demandWindowMs))
      .catch((e) => this.log.warn('could not prune old demand', { error: String(e) }));
    const decision = run.decision!;
    if (decision.create + decision.drain.length + decision.restore.length > 0 || run.created.length > 0) {
      this.log.info('autoscaler acted', {
        policy: config.policy,
        reason: decision.reason,
        created: run.created.map(describeKey),
        drained: run.drained.map(describeKey),
        restored: run.restored.map(describeKey),
      });
    }
    const out = run.created.length + run.restored.length;
    if (out > 0) {
      this.telemetry.trackEvent(SCALED_EVENT, {
        direction: 'out',
        servers: out,
        created: run.created.length,
        restored: run.restored.length,
        reason: decision.reason,
      });
    }
    if (run.drained.length > 0)
      this.telemetry.trackEvent(SCALED_EVENT, { direction: 'in', servers: run.drained.length, reason: decision.reason });
    return run;
  }

  /** The lease: written with the record's ETag, so of two runs that read it at once only one gets it. */
  private async takeLease(): Promise<Versioned<AutoscalerState> | undefined> {
    const now = this.clock.now();
    const current = await this.deps.state.read();
    const held =
      current?.value.leaseUntil && Date.parse(current.value.leaseUntil) > now.getTime() && current.value.leaseHolder !== this.deps.holder;
    if (held) {
      this.log.info('autoscaler skipped: another run holds the lease', { holder: current!.value.leaseHolder });
      return undefined;
    }
    const state: AutoscalerState = {
      creates: [],
      ...current?.value,
      leaseHolder: this.deps.holder,
      leaseUntil: new Date(now.getTime() + this.deps.leaseMs).toISOString(),
    };
    try {
      return await this.deps.state.write(state, current?.etag);
    } catch (e) {
      if (!(e instanceof StaleWriteError)) throw e;
      this.log.info('autoscaler skipped: another run took the lease first');
      return undefined;
    }
  }

  private async release(lease: Versioned<AutoscalerState>, run: AutoscalerRun, createTimes: string[]): Promise<void> {
    const now = this.clock.now();
    const window = this.deps.config.createQuotaWindowMs;
    const state: AutoscalerState = {
      ...lease.value,
      leaseHolder: undefined,
      leaseUntil: undefined,
      creates: [...lease.value.creates, ...createTimes].filter((t) => now.getTime() - Date.parse(t) < window),
      lastScaleOutAt: run.created.length + run.restored.length > 0 ? now.toISOString() : lease.value.lastScaleOutAt,
      lastScaleInAt: run.drained.length > 0 ? now.toISOString() : lease.value.lastScaleInAt,
    };
    try {
      await this.deps.state.write(state, lease.etag);
    } catch (e) {
      // Our lease ran out and another run took over: its record wins; the fleet itself is consistent.
      this.log.warn('autoscaler could not record its run', { error: String(e) });
    }
  }

  /** Drain or un-drain, ETag-conditional; a server that got a booking meanwhile is not drained. */
  private async setState(key: ServerKey, to: 'Running' | 'MarkedForDeletion'): Promise<boolean> {
    const from = to === 'Running' ? 'MarkedForDeletion' : 'Running';
    let changed = false;
    await mutateServer(
      this.deps.store,
      this.deps.writeAttempts,
      key,
      (r) => {
        const now = this.clock.now();
        changed = false;
        if (r.state !== from) return undefined;
        if (to === 'MarkedForDeletion' && hasLiveReservations(r, now)) return undefined;
        changed = true;
        return transition(r, to, 'operator', now, undefined);
      },
      undefined,
      (before, after) => trackLifecycle(this.telemetry, before, after),
    );
    return changed;
  }

  private async create(key: ServerKey): Promise<void> {
    const { template } = this.deps;
    await this.deps.servers.create({
      resourceGroup: key.resourceGroup,
      containerGroupName: key.containerGroupName,
      containerGroup: template.containerGroup,
      maxSessions: template.maxSessions,
    });
  }

  /** Runs `act` for each key; keeps the keys it succeeded for, logs (and skips) the ones that failed. */
  private async each(keys: readonly ServerKey[], act: (key: ServerKey) => Promise<boolean>): Promise<ServerKey[]> {
    const outcomes = await Promise.all(
      keys.map((key) =>
        act(key).catch((e) => {
          this.log.warn('autoscaler action failed; the next run decides again', { server: describeKey(key), error: String(e) });
          return false;
        }),
      ),
    );
    return keys.filter((_, i) => outcomes[i]);
  }

  /** `<prefix>-<time in base 36><random>`: sortable by age, and unique without asking anyone. */
  private newName(): string {
    const prefix = this.deps.template.namePrefix ?? this.deps.namePrefix;
    const random = this.deps.random ? Math.floor(this.deps.random() * 0x1000000) : randomBytes(3).readUIntBE(0, 3);
    return `${prefix}-${this.clock.now().getTime().toString(36)}${random.toString(36).padStart(5, '0')}`;
  }
}

/** A name prefix made from the fleet's name: lowercase letters, digits and single dashes. */
export function namePrefixFrom(fleetName: string): string {
  const cleaned = fleetName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40)
    .replace(/-$/, '');
  return cleaned.length >= 2 ? cleaned : 'gs';
}
