// In-memory implementations of the fleet's ports, with the same ETag semantics as Table and Blob
// Storage, for the simulator (and unit tests): the real services run on top of them unchanged.
import { keyOf, describeKey, transactionBatches, type ServerKey, type ServerRecord } from '../../runtime/src/domain/servers/server';
import { AlreadyExistsError, StaleWriteError, type Clock, type Versioned } from '../../runtime/src/domain/core/ports';
import type { AllocationLedger, DemandMiss, DemandStore, LedgerEntry } from '../../runtime/src/domain/allocation/ports';
import type { AutoscalerState, AutoscalerStateStore } from '../../runtime/src/domain/autoscaling/ports';
import type { ContainerGroupObservation, ContainerGroups, ServerStore } from '../../runtime/src/domain/servers/ports';
import type { ContainerGroupSpec } from '../../runtime/src/domain/servers/requests';
import type { ServerState } from '../../runtime/src/domain/servers/states';
import type { FleetRecord } from '../../runtime/src/domain/fleets/fleet';
import type { FleetStore } from '../../runtime/src/domain/fleets/ports';

export class MemoryServerStore implements ServerStore {
  /** As in Table Storage: replaceMany writes batches of one resource group and at most this many rows, each all or nothing. */
  readonly rowsPerTransaction = 100;
  private readonly rows = new Map<string, Versioned<ServerRecord>>();
  private version = 0;

  private stamp(value: ServerRecord): Versioned<ServerRecord> {
    const row = { value, etag: `W/"${++this.version}"` };
    this.rows.set(describeKey(value), row);
    return row;
  }

  async get(key: ServerKey) {
    return this.rows.get(describeKey(key));
  }

  async getMany(keys: readonly ServerKey[]) {
    const found = new Map<string, Versioned<ServerRecord>>();
    for (const key of keys) {
      const row = this.rows.get(describeKey(key));
      if (row) found.set(describeKey(key), row);
    }
    return found;
  }

  async insert(record: ServerRecord) {
    if (this.rows.has(describeKey(record))) throw new AlreadyExistsError(describeKey(record));
    return this.stamp(record);
  }

  async replace(record: ServerRecord, etag: string) {
    if (this.rows.get(describeKey(record))?.etag !== etag) throw new StaleWriteError(describeKey(record));
    return this.stamp(record);
  }

  async remove(key: ServerKey, etag: string) {
    const row = this.rows.get(describeKey(key));
    if (!row) return;
    if (row.etag !== etag) throw new StaleWriteError(describeKey(key));
    this.rows.delete(describeKey(key));
  }

  async list(filter?: { states?: readonly ServerState[] }) {
    const all = [...this.rows.values()];
    return filter?.states ? all.filter((r) => filter.states!.includes(r.value.state)) : all;
  }

  async countUpTo(limit: number) {
    return Math.min(limit, this.rows.size);
  }

  async replaceMany(rows: Versioned<ServerRecord>[]) {
    const batches = transactionBatches(rows, (r) => r.value.resourceGroup, this.rowsPerTransaction);
    const stale: ServerKey[] = [];
    const written: Versioned<ServerRecord>[] = [];
    for (const batch of batches) {
      if (batch.some((r) => this.rows.get(describeKey(r.value))?.etag !== r.etag)) stale.push(...batch.map((r) => keyOf(r.value)));
      else written.push(...batch.map((r) => this.stamp(r.value)));
    }
    return { transactions: batches.length, stale, written };
  }

  /** Synchronous read of every row, for the simulator's bookkeeping. */
  all(): ServerRecord[] {
    return [...this.rows.values()].map((r) => r.value);
  }
}

export class MemoryDemandStore implements DemandStore {
  private misses: DemandMiss[] = [];

  async record(miss: DemandMiss) {
    this.misses.push(miss);
  }

  async since(since: Date) {
    return this.misses.filter((m) => Date.parse(m.at) >= since.getTime());
  }

  async prune(before: Date) {
    const count = this.misses.length;
    this.misses = this.misses.filter((m) => Date.parse(m.at) >= before.getTime());
    return count - this.misses.length;
  }
}

export class MemoryStateStore implements AutoscalerStateStore {
  private current: Versioned<AutoscalerState> | undefined;
  private version = 0;

  async read() {
    return this.current;
  }

  async write(state: AutoscalerState, etag: string | undefined) {
    if (this.current?.etag !== etag) throw new StaleWriteError('autoscaler state');
    this.current = { value: state, etag: `"${++this.version}"` };
    return this.current;
  }
}

/**
 * Container groups that take `provisionMs` to start. `due(now)` hands the simulator the groups whose
 * create or delete has finished, so it can deliver what ACIMonitor would hear.
 */
export class SimulatedContainerGroups implements ContainerGroups {
  private readonly groups = new Map<string, { key: ServerKey; location: string; readyAt: number; gone: boolean }>();
  private changed: ServerKey[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly provisionMs: number,
  ) {}

  async get(key: ServerKey): Promise<ContainerGroupObservation | undefined> {
    const g = this.groups.get(describeKey(key));
    if (!g || g.gone) return undefined;
    const ready = this.clock.now().getTime() >= g.readyAt;
    return {
      ...key,
      id: describeKey(key),
      location: g.location,
      provisioningState: ready ? 'Succeeded' : 'Creating',
      instanceState: ready ? 'Running' : undefined,
      publicIp: ready ? '203.0.113.1' : undefined,
      tags: {},
    };
  }

  async describe(key: ServerKey) {
    return (await this.get(key)) as unknown as Record<string, unknown> | undefined;
  }

  async beginCreate(key: ServerKey, spec: ContainerGroupSpec) {
    this.groups.set(describeKey(key), {
      key,
      location: spec.location,
      readyAt: this.clock.now().getTime() + this.provisionMs,
      gone: false,
    });
  }

  async beginDelete(key: ServerKey) {
    const g = this.groups.get(describeKey(key));
    if (g) g.gone = true;
    this.changed.push(key);
  }

  async logs() {
    return '';
  }

  async listOwned(): Promise<ContainerGroupObservation[]> {
    const live = [...this.groups.values()].filter((g) => !g.gone);
    return (await Promise.all(live.map((g) => this.get(g.key)))).filter((g): g is ContainerGroupObservation => g !== undefined);
  }

  /** Finishes every create in progress now (the simulator's warm start). */
  readyNow(): void {
    for (const g of this.groups.values()) if (g.readyAt !== -1) g.readyAt = Math.min(g.readyAt, this.clock.now().getTime());
  }

  /** Groups whose create finished by `now`, or that were deleted, since the last call. */
  due(now: number): ServerKey[] {
    const out = this.changed;
    this.changed = [];
    for (const [name, g] of this.groups) {
      if (g.gone) this.groups.delete(name);
      else if (g.readyAt <= now && g.readyAt !== -1) {
        out.push(g.key);
        g.readyAt = -1; // reported once; stays Succeeded
      }
    }
    return out;
  }
}

/** AllocationLedger in memory, with the ETag semantics of the table: claim if absent, replace and release if unchanged. */
export class MemoryAllocationLedger implements AllocationLedger {
  readonly entries = new Map<string, Versioned<LedgerEntry>>();
  private version = 0;

  async read(requestId: string) {
    return this.entries.get(requestId);
  }

  async claim(entry: LedgerEntry) {
    if (this.entries.has(entry.requestId)) throw new AlreadyExistsError(`requestId ${entry.requestId}`);
    return this.stamp(entry);
  }

  async replace(entry: LedgerEntry, etag: string) {
    if (this.entries.get(entry.requestId)?.etag !== etag) throw new StaleWriteError(`requestId ${entry.requestId}`);
    return this.stamp(entry);
  }

  async release(requestId: string, etag: string) {
    const current = this.entries.get(requestId);
    if (!current) return;
    if (current.etag !== etag) throw new StaleWriteError(`requestId ${requestId}`);
    this.entries.delete(requestId);
  }

  private stamp(entry: LedgerEntry): Versioned<LedgerEntry> {
    const row = { value: structuredClone(entry), etag: `W/"${++this.version}"` };
    this.entries.set(entry.requestId, row);
    return row;
  }

  async prune(now: Date) {
    let removed = 0;
    for (const [id, e] of this.entries) {
      if (Date.parse(e.value.expiresAt) < now.getTime()) {
        this.entries.delete(id);
        removed++;
      }
    }
    return removed;
  }
}

/** FleetStore in memory, with Table Storage's ETag rules. */
export class MemoryFleetStore implements FleetStore {
  private readonly rows = new Map<string, Versioned<FleetRecord>>();
  private version = 0;

  private stamp(value: FleetRecord): Versioned<FleetRecord> {
    const row = { value, etag: `W/"f${++this.version}"` };
    this.rows.set(value.name, row);
    return row;
  }

  async get(name: string) {
    return this.rows.get(name);
  }

  async insert(record: FleetRecord) {
    if (this.rows.has(record.name)) throw new AlreadyExistsError(`fleet ${record.name}`);
    return this.stamp(record);
  }

  async replace(record: FleetRecord, etag: string) {
    if (this.rows.get(record.name)?.etag !== etag) throw new StaleWriteError(`fleet ${record.name}`);
    return this.stamp(record);
  }

  async remove(name: string, etag: string) {
    const row = this.rows.get(name);
    if (!row) return;
    if (row.etag !== etag) throw new StaleWriteError(`fleet ${name}`);
    this.rows.delete(name);
  }

  async list() {
    return [...this.rows.values()];
  }
}
