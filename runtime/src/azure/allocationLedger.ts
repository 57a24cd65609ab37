// AllocationLedger on Table Storage: one row per requestId (RowKey; requestIds are limited to
// [\w.:@-]{1,128}, all legal in a key) in a partition of the fleet's own: what the request asked
// for, when it was claimed, and the server booked for it. Every write is insert-if-absent or ETag-conditional.
import { odata, RestError, type TableClient, type TableEntity, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import { storageUnavailable, tableCreator } from './storage';
import { AlreadyExistsError, StaleWriteError, type Versioned } from '../domain/core/ports';
import type { AllocationLedger, LedgerEntry } from '../domain/allocation/ports';

type LedgerEntity = TableEntity<{
  Sessions: number;
  /** The request's filters ('' = none). */
  Location: string;
  FilterResourceGroup: string;
  Fleet: string;
  ClaimedAt: string;
  /** The booked server ('' while the claim is pending). */
  ResourceGroup: string;
  ContainerGroupName: string;
  ExpiresAt: string;
}>;

/** At most this many expired rows go per prune, so one ACIGC run stays short. */
const PRUNE_BATCH = 500;
/** Table Storage's limit of operations in one transaction. */
const TRANSACTION_SIZE = 100;

export class TableAllocationLedger implements AllocationLedger {
  private readonly ensureTable: () => Promise<void>;

  constructor(
    private readonly table: TableClient,
    /** Not the demand partition (the fleet name), so demand queries never see these rows. */
    private readonly partition: string,
  ) {
    this.ensureTable = tableCreator(table);
  }

  async read(requestId: string): Promise<Versioned<LedgerEntry> | undefined> {
    await this.ensureTable();
    try {
      return fromEntity(await this.table.getEntity<LedgerEntity>(this.partition, requestId));
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return undefined;
      throw storageUnavailable(e);
    }
  }

  async claim(entry: LedgerEntry): Promise<Versioned<LedgerEntry>> {
    await this.ensureTable();
    try {
      const { etag } = await this.table.createEntity(this.toEntity(entry));
      return { value: entry, etag: etag! };
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 409) throw new AlreadyExistsError(`requestId ${entry.requestId}`);
      throw storageUnavailable(e);
    }
  }

  async replace(entry: LedgerEntry, etag: string): Promise<Versioned<LedgerEntry>> {
    await this.ensureTable();
    try {
      const result = await this.table.updateEntity(this.toEntity(entry), 'Replace', { etag });
      return { value: entry, etag: result.etag! };
    } catch (e) {
      if (e instanceof RestError && (e.statusCode === 412 || e.statusCode === 404))
        throw new StaleWriteError(`requestId ${entry.requestId}`);
      throw storageUnavailable(e);
    }
  }

  async release(requestId: string, etag: string): Promise<void> {
    await this.ensureTable();
    try {
      await this.table.deleteEntity(this.partition, requestId, { etag });
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return;
      if (e instanceof RestError && e.statusCode === 412) throw new StaleWriteError(`requestId ${requestId}`);
      throw storageUnavailable(e);
    }
  }

  private toEntity(entry: LedgerEntry): LedgerEntity {
    return {
      partitionKey: this.partition,
      rowKey: entry.requestId,
      Sessions: entry.request.sessions,
      Location: entry.request.location ?? '',
      FilterResourceGroup: entry.request.resourceGroup ?? '',
      Fleet: entry.request.fleet ?? '',
      ClaimedAt: entry.claimedAt,
      ResourceGroup: entry.server?.resourceGroup ?? '',
      ContainerGroupName: entry.server?.containerGroupName ?? '',
      ExpiresAt: entry.expiresAt,
    };
  }

  async prune(now: Date): Promise<number> {
    await this.ensureTable();
    // ISO times of one format sort as strings, so "expired" is a string comparison.
    const filter = odata`PartitionKey eq ${this.partition} and ExpiresAt lt ${now.toISOString()}`;
    const expired: string[] = [];
    try {
      for await (const e of this.table.listEntities<LedgerEntity>({ queryOptions: { filter, select: ['RowKey'] } })) {
        expired.push(e.rowKey!);
        if (expired.length >= PRUNE_BATCH) break;
      }
      let removed = 0;
      for (let i = 0; i < expired.length; i += TRANSACTION_SIZE) {
        const chunk = expired.slice(i, i + TRANSACTION_SIZE);
        const actions: TransactionAction[] = chunk.map((rowKey) => ['delete', { partitionKey: this.partition, rowKey }]);
        try {
          await this.table.submitTransaction(actions);
          removed += chunk.length;
        } catch (e) {
          // One row already gone (a concurrent prune) fails the whole transaction: delete that chunk one by one.
          if (!(e instanceof RestError && e.statusCode === 404)) throw e;
          for (const rowKey of chunk) {
            const gone = await this.table.deleteEntity(this.partition, rowKey).then(
              () => true,
              (err) => {
                if (err instanceof RestError && err.statusCode === 404) return false;
                throw err;
              },
            );
            if (gone) removed++;
          }
        }
      }
      return removed;
    } catch (e) {
      throw storageUnavailable(e);
    }
  }
}

function fromEntity(e: TableEntityResult<LedgerEntity>): Versioned<LedgerEntry> {
  return {
    etag: e.etag!,
    value: {
      requestId: e.rowKey!,
      request: {
        sessions: Number(e.Sessions ?? 1),
        location: e.Location || undefined,
        resourceGroup: e.FilterResourceGroup || undefined,
        fleet: e.Fleet || undefined,
      },
      claimedAt: e.ClaimedAt ?? '',
      server: e.ContainerGroupName ? { resourceGroup: e.ResourceGroup, containerGroupName: e.ContainerGroupName } : undefined,
      expiresAt: e.ExpiresAt ?? '',
    },
  };
}
