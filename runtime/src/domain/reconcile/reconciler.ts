// ACIReconcile's service: reads the table and ARM, asks ./reconcile.ts what drifted, and repairs
// it with ETag-conditional writes (or insert-if-absent), so it is safe next to every other writer.
import {
  adoptedRecord,
  expireHeartbeat,
  heartbeatExpired,
  planReconcile,
  reconcileRow,
  type ReconcileAction,
  type ReconcilePolicy,
} from './plan';
import { isOwnedBy, trackLifecycle } from '../servers/lifecycle';
import { AlreadyExistsError, silentLogger, silentTelemetry, systemClock, type Clock, type Logger, type Telemetry } from '../core/ports';
import type { ContainerGroups, ServerStore } from '../servers/ports';
import { describeKey, type ServerKey } from '../servers/server';
import { mutateServer, type RowWritten } from '../servers/mutate';
import type { ServerOptions } from '../servers/serverService';

export interface ReconcilerDeps {
  store: ServerStore;
  groups: ContainerGroups;
  options: ServerOptions;
  policy: ReconcilePolicy;
  clock?: Clock;
  log?: Logger;
  /** Where each repair's step in a server's life is sent. */
  telemetry?: Telemetry;
}

export interface ReconcileReport {
  repaired: Array<ServerKey & { reason: string; outcome: 'updated' | 'removed' | 'unchanged' }>;
  adopted: Array<ServerKey & { state: string }>;
  /** Actions that failed this run (the next run tries again). */
  failed: Array<ServerKey & { error: string }>;
}

export class Reconciler {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly written: RowWritten;

  constructor(private readonly deps: ReconcilerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    const telemetry = deps.telemetry ?? silentTelemetry;
    this.written = (before, after) => trackLifecycle(telemetry, before, after);
  }

  /** One pass: every row compared with every owned group; each repair re-reads its group first. */
  async reconcile(): Promise<ReconcileReport> {
    const { store, groups, options, policy } = this.deps;
    // Rows before groups: see planReconcile for why the order matters.
    const rows = await store.list();
    const owned = await groups.listOwned(options.fleetName, options.allowedResourceGroups);
    const actions = planReconcile({ rows: rows.map((r) => r.value), owned, now: this.clock.now(), policy });

    const report: ReconcileReport = { repaired: [], adopted: [], failed: [] };
    for (const action of actions) {
      try {
        await this.apply(action, report);
      } catch (e) {
        report.failed.push({ ...action.key, error: String(e) });
        this.log.warn('reconcile could not repair a server; the next run retries', { server: describeKey(action.key), error: String(e) });
      }
    }
    if (actions.length > 0) {
      this.log.info('reconcile repaired drift', {
        repaired: report.repaired.length,
        adopted: report.adopted.length,
        failed: report.failed.length,
      });
    }
    return report;
  }

  private async apply(action: ReconcileAction, report: ReconcileReport): Promise<void> {
    const { store, groups, options, policy } = this.deps;
    // The listing may be a moment old; decide on a fresh read of the one group.
    const group = await groups.get(action.key);
    if (action.kind === 'repair') {
      let outcome: 'updated' | 'removed' | 'unchanged' = 'unchanged';
      await mutateServer(
        store,
        options.writeAttempts,
        action.key,
        (r) => {
          const change = reconcileRow(r, group, this.clock.now(), policy);
          outcome = change === undefined ? 'unchanged' : change === 'remove' ? 'removed' : 'updated';
          return change;
        },
        undefined,
        this.written,
      );
      report.repaired.push({ ...action.key, reason: action.reason, outcome });
      if (outcome !== 'unchanged')
        this.log.info('reconcile repaired a server', { server: describeKey(action.key), reason: action.reason, outcome });
      return;
    }
    // Gone, no longer ours, or being deleted meanwhile: nothing to adopt.
    if (!group || !isOwnedBy(group.tags, options.fleetName) || group.provisioningState.toLowerCase() === 'deleting') return;
    const record = adoptedRecord(group, this.clock.now(), options.defaultMaxSessions);
    try {
      await store.insert(record);
    } catch (e) {
      if (e instanceof AlreadyExistsError) return; // ACICreate (or another reconcile) wrote it first
      throw e;
    }
    this.written(undefined, record);
    report.adopted.push({ ...action.key, state: record.state });
    this.log.info('reconcile adopted a tagged group that had no row', { server: describeKey(action.key), state: record.state });
  }

  /**
   * Table-only heartbeat check (ACIGC runs it every minute): a Running server that has not
   * reported for HEARTBEAT_TIMEOUT_SECONDS becomes Failed. The write is ETag-conditional and
   * re-checks the fresh row, so a report that lands first keeps the server Running.
   */
  async expireSilentServers(): Promise<ServerKey[]> {
    const { store, options, policy } = this.deps;
    if (policy.heartbeatTimeoutMs === undefined) return [];
    const rows = await store.list({ states: ['Running'] });
    const expired: ServerKey[] = [];
    for (const row of rows) {
      if (!heartbeatExpired(row.value, this.clock.now(), policy.heartbeatTimeoutMs)) continue;
      try {
        const next = await mutateServer(
          store,
          options.writeAttempts,
          row.value,
          (r) => expireHeartbeat(r, this.clock.now(), policy.heartbeatTimeoutMs),
          row,
          this.written,
        );
        if (next?.value.state === 'Failed') {
          expired.push({ resourceGroup: row.value.resourceGroup, containerGroupName: row.value.containerGroupName });
          this.log.warn('server missed its heartbeats; marked Failed', { server: describeKey(row.value) });
        }
      } catch (e) {
        this.log.error('heartbeat check of a server failed; next run retries', { server: describeKey(row.value), error: String(e) });
      }
    }
    return expired;
  }
}
