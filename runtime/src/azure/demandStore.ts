// DemandStore on Table Storage: one insert-only row per allocation that found no room, in the
// fleet's partition, keyed by time so "misses since T" is one range query and pruning is cheap.
import { randomBytes } from 'node:crypto';
import { odata, RestError, type TableClient, type TableEntity } from '@azure/data-tables';
import { storageUnavailable, tableCreator } from './storage';
import type { DemandMiss, DemandStore } from '../domain/allocation/ports';

type DemandEntity = TableEntity<{
  At: string;
  Sessions: number;
  RequestId?: string;
  Location?: string;
  ResourceGroup?: string;
  Fleet?: string;
}>;

/** At most this many old rows are removed per prune, so one autoscaler run stays short. */
const PRUNE_BATCH = 500;

export class TableDemandStore implements DemandStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(
    private readonly table: TableClient,
    /** Fleets sharing a storage account keep their demand apart. */
    private readonly partition: string,
  ) {
    this.ensureTable = tableCreator(table);
  }

  async record(miss: DemandMiss): Promise<void> {
    await this.ensureTable();
    // ISO times sort as strings; the random tail keeps simultaneous misses apart (insert-only, never a conflict).
    const rowKey = `${miss.at}-${randomBytes(6).toString('hex')}`;
    await this.table
      .createEntity<DemandEntity>({
        partitionKey: this.partition,
        rowKey,
        At: miss.at,
        Sessions: miss.sessions,
        RequestId: miss.requestId,
        Location: miss.location,
        ResourceGroup: miss.resourceGroup,
        Fleet: miss.fleet,
      })
      .catch((e) => {
        throw storageUnavailable(e);
      });
  }

  async since(since: Date): Promise<DemandMiss[]> {
    await this.ensureTable();
    const filter = odata`PartitionKey eq ${this.partition} and RowKey ge ${since.toISOString()}`;
    const misses: DemandMiss[] = [];
    try {
      for await (const e of this.table.listEntities<DemandEntity>({ queryOptions: { filter } })) {
        misses.push({
          at: e.At,
          sessions: Number(e.Sessions ?? 1),
          requestId: e.RequestId || undefined,
          location: e.Location || undefined,
          resourceGroup: e.ResourceGroup || undefined,
          fleet: e.Fleet || undefined,
        });
      }
    } catch (e) {
      throw storageUnavailable(e);
    }
    return misses;
  }

  async prune(before: Date): Promise<number> {
    await this.ensureTable();
    const filter = odata`PartitionKey eq ${this.partition} and RowKey lt ${before.toISOString()}`;
    let removed = 0;
    try {
      for await (const e of this.table.listEntities<DemandEntity>({ queryOptions: { filter, select: ['RowKey'] } })) {
        if (removed >= PRUNE_BATCH) break;
        await this.table.deleteEntity(this.partition, e.rowKey!, { etag: e.etag }).catch((err) => {
          if (!(err instanceof RestError && (err.statusCode === 404 || err.statusCode === 412))) throw err;
        });
        removed++;
      }
    } catch (e) {
      throw storageUnavailable(e);
    }
    return removed;
  }
}
