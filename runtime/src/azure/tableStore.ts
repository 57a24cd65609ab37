// ServerStore on Azure Table Storage: one row per server, every write conditional on its ETag.
import { odata, RestError, type TableClient, type TableEntity, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import { storageUnavailable, tableCreator } from './storage';
import { AlreadyExistsError, StaleWriteError, type Versioned } from '../domain/core/ports';
import type { ServerStore } from '../domain/servers/ports';
import { describeKey, groupBy, transactionBatches, type Reservation, type ServerKey, type ServerRecord } from '../domain/servers/server';
import { isState, type ServerState } from '../domain/servers/states';

/** Table Storage's limit on operations in one entity group transaction. */
export const TRANSACTION_LIMIT = 100;
/** A query filter may hold at most 15 comparisons: one for the partition, fourteen row keys. */
const ROW_KEYS_PER_QUERY = 14;
/** Point reads in flight at once for a batch, so a big batch does not open hundreds of connections. */
const READ_CONCURRENCY = 8;

type ServerEntity = TableEntity<{
  State: string;
  ActiveSessions: number;
  MaxSessions: number;
  Location: string;
  Image: string;
  CPU: number;
  RAM: number;
  PublicIP?: string;
  Fqdn?: string;
  CreatedAt: string;
  StateChangedAt: string;
  LastReportAt?: string;
  FailureReason?: string;
  DrainedFrom?: string;
  SpecHash: string;
  Incarnation?: string;
  /** JSON array of ACIAllocate's reservations (domain/allocation/booking.ts); absent when there are none. */
  Reservations?: string;
  Fleet?: string;
  FleetIncarnation?: string;
  Revision?: number;
}>;

export class TableServerStore implements ServerStore {
  readonly rowsPerTransaction = TRANSACTION_LIMIT;
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = tableCreator(table);
  }

  async get(key: ServerKey): Promise<Versioned<ServerRecord> | undefined> {
    await this.ensureTable();
    try {
      return fromEntity(await this.table.getEntity<ServerEntity>(key.resourceGroup, key.containerGroupName));
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return undefined;
      throw storageUnavailable(e);
    }
  }

  async getMany(keys: readonly ServerKey[]): Promise<Map<string, Versioned<ServerRecord>>> {
    await this.ensureTable();
    const queries: string[] = [];
    for (const [partition, group] of groupBy([...keys], (k) => k.resourceGroup)) {
      const rowKeys = [...new Set(group.map((k) => k.containerGroupName))].sort();
      if (rowKeys.length > ROW_KEYS_PER_QUERY) {
        // More than one filter's worth: one range read of the partition (rows come sorted by RowKey,
        // a page of up to 1,000 per round trip) instead of a query per fourteen names.
        queries.push(odata`PartitionKey eq ${partition} and RowKey ge ${rowKeys[0]!} and RowKey le ${rowKeys.at(-1)!}`);
        continue;
      }
      const rows = rowKeys.map((rk) => odata`RowKey eq ${rk}`);
      queries.push(`${odata`PartitionKey eq ${partition}`} and (${rows.join(' or ')})`);
    }
    const wanted = new Set(keys.map(describeKey));
    const found = new Map<string, Versioned<ServerRecord>>();
    let next = 0;
    const worker = async () => {
      while (next < queries.length) {
        const filter = queries[next++]!;
        for await (const entity of this.table.listEntities<ServerEntity>({ queryOptions: { filter } })) {
          const row = fromEntity(entity);
          const key = describeKey(row.value);
          if (wanted.has(key)) found.set(key, row); // a range read also brings the rows between the names
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, queries.length) }, worker));
    } catch (e) {
      throw storageUnavailable(e);
    }
    return found;
  }

  async insert(record: ServerRecord): Promise<Versioned<ServerRecord>> {
    await this.ensureTable();
    try {
      const { etag } = await this.table.createEntity(toEntity(record));
      return { value: record, etag: required(etag) };
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 409) throw new AlreadyExistsError(describeKey(record));
      throw storageUnavailable(e);
    }
  }

  async replace(record: ServerRecord, etag: string): Promise<Versioned<ServerRecord>> {
    await this.ensureTable();
    try {
      const result = await this.table.updateEntity(toEntity(record), 'Replace', { etag });
      return { value: record, etag: required(result.etag) };
    } catch (e) {
      // 404: the row was deleted under us, which is also a lost race.
      if (e instanceof RestError && (e.statusCode === 412 || e.statusCode === 404)) throw new StaleWriteError(describeKey(record));
      throw storageUnavailable(e);
    }
  }

  async remove(key: ServerKey, etag: string): Promise<void> {
    await this.ensureTable();
    try {
      await this.table.deleteEntity(key.resourceGroup, key.containerGroupName, { etag });
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return;
      if (e instanceof RestError && e.statusCode === 412) throw new StaleWriteError(describeKey(key));
      throw storageUnavailable(e);
    }
  }

  async list(filter?: { states?: readonly ServerState[] }): Promise<Versioned<ServerRecord>[]> {
    await this.ensureTable();
    // odata`` escapes every value, so a state can never inject into the filter.
    const states = filter?.states ?? [];
    const query = states.length > 0 ? states.map((s) => odata`State eq ${s}`).join(' or ') : undefined;
    const rows: Versioned<ServerRecord>[] = [];
    try {
      // The iterator follows continuation tokens, so every page is read (1,000 rows a page).
      for await (const entity of this.table.listEntities<ServerEntity>({ queryOptions: { filter: query } })) {
        rows.push(fromEntity(entity));
      }
    } catch (e) {
      throw storageUnavailable(e);
    }
    return rows;
  }

  async countUpTo(limit: number): Promise<number> {
    await this.ensureTable();
    let count = 0;
    try {
      // Keys only, and no page past the limit: cheap however large the fleet.
      for await (const _ of this.table.listEntities({ queryOptions: { select: ['PartitionKey'] } })) {
        if (++count >= limit) break;
      }
    } catch (e) {
      throw storageUnavailable(e);
    }
    return count;
  }

  async replaceMany(
    rows: Versioned<ServerRecord>[],
    changed?: readonly (keyof ServerRecord)[],
  ): Promise<{ transactions: number; stale: ServerKey[]; written: Versioned<ServerRecord>[] }> {
    await this.ensureTable();
    const chunks = transactionBatches(rows, (r) => r.value.resourceGroup, TRANSACTION_LIMIT);
    const stale: ServerKey[] = [];
    const written: Versioned<ServerRecord>[] = [];
    await Promise.all(
      chunks.map(async (chunk) => {
        // Only the changed properties, merged under the row's ETag: the same outcome as a replace, a fraction of the bytes.
        const actions: TransactionAction[] = chunk.map((r) =>
          changed
            ? ['update', changedProperties(r.value, changed), 'Merge', { etag: r.etag }]
            : ['update', toEntity(r.value), 'Replace', { etag: r.etag }],
        );
        try {
          const result = await this.table.submitTransaction(actions);
          // Sub-responses come in request order; an update's names no row, so they are matched by index.
          chunk.forEach((r, i) => {
            const etag = result.subResponses[i]?.etag;
            if (etag) written.push({ value: r.value, etag });
          });
        } catch (e) {
          // The transaction is atomic: one stale row fails the chunk, so the whole chunk is retried.
          if (e instanceof RestError && (e.statusCode === 412 || e.statusCode === 404)) stale.push(...chunk.map((r) => r.value));
          else throw storageUnavailable(e);
        }
      }),
    );
    return { transactions: chunks.length, stale, written };
  }
}

/** The row as Table Storage stores it (exported for bulk seeding in tools/bench.ts). */
export function toEntity(r: ServerRecord): ServerEntity {
  return {
    partitionKey: r.resourceGroup,
    rowKey: r.containerGroupName,
    State: r.state,
    ActiveSessions: r.activeSessions,
    MaxSessions: r.maxSessions,
    Location: r.location,
    Image: r.image,
    CPU: r.cpu,
    RAM: r.ramGb,
    PublicIP: r.publicIp,
    Fqdn: r.fqdn,
    CreatedAt: r.createdAt,
    StateChangedAt: r.stateChangedAt,
    LastReportAt: r.lastReportAt,
    FailureReason: r.failureReason,
    DrainedFrom: r.drainedFrom,
    SpecHash: r.specHash,
    Incarnation: r.incarnation,
    Reservations: r.reservations?.length ? JSON.stringify(r.reservations) : undefined,
    Fleet: r.fleet,
    FleetIncarnation: r.fleetIncarnation,
    Revision: r.revision,
  };
}

/** The entity property each field is stored in (the names toEntity writes). */
const PROPERTY_OF: Partial<Record<keyof ServerRecord, keyof ServerEntity>> = {
  activeSessions: 'ActiveSessions',
  lastReportAt: 'LastReportAt',
  state: 'State',
  stateChangedAt: 'StateChangedAt',
  reservations: 'Reservations',
};

function changedProperties(r: ServerRecord, changed: readonly (keyof ServerRecord)[]): TableEntity<Record<string, unknown>> {
  const full = toEntity(r) as Record<string, unknown>;
  const entity: Record<string, unknown> = { partitionKey: r.resourceGroup, rowKey: r.containerGroupName };
  for (const field of changed) {
    const property = PROPERTY_OF[field];
    if (!property) throw new Error(`no entity property is known for ${field}`);
    // A merge leaves out what it does not name, so an emptied value must be sent as empty.
    entity[property] = full[property] ?? '';
  }
  return entity as TableEntity<Record<string, unknown>>;
}

function fromEntity(e: TableEntityResult<ServerEntity>): Versioned<ServerRecord> {
  return {
    etag: required(e.etag),
    value: {
      resourceGroup: required(e.partitionKey),
      containerGroupName: required(e.rowKey),
      state: e.State as ServerState,
      activeSessions: Number(e.ActiveSessions ?? 0),
      maxSessions: Number(e.MaxSessions ?? 0),
      location: e.Location ?? '',
      image: e.Image ?? '',
      cpu: Number(e.CPU ?? 0),
      ramGb: Number(e.RAM ?? 0),
      publicIp: e.PublicIP || undefined,
      fqdn: e.Fqdn || undefined,
      createdAt: e.CreatedAt ?? '',
      stateChangedAt: e.StateChangedAt ?? e.CreatedAt ?? '',
      lastReportAt: e.LastReportAt || undefined,
      failureReason: e.FailureReason || undefined,
      // A value that is no state (edited by hand) reads as a row from before DrainedFrom.
      drainedFrom: isState(e.DrainedFrom) ? e.DrainedFrom : undefined,
      specHash: e.SpecHash ?? '',
      incarnation: e.Incarnation || undefined,
      reservations: e.Reservations ? (JSON.parse(e.Reservations) as Reservation[]) : undefined,
      fleet: e.Fleet || undefined,
      fleetIncarnation: e.FleetIncarnation || undefined,
      revision: e.Revision === undefined || e.Revision === null ? undefined : Number(e.Revision),
    },
  };
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('Table Storage answered without a required field');
  return value;
}
