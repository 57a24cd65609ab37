// AllocationLedger on Table Storage: one row per requestId (RowKey; requestIds are limited to
// [\w.:@-]{1,128}, all legal in a key) in a partition of the fleet's own, naming the booked server.
import { odata, RestError, type TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import { storageUnavailable, tableCreator } from './storage';
import type { AllocationLedger } from '../domain/allocation/ports';
import type { ServerKey } from '../domain/servers/server';

type LedgerEntity = TableEntity<{ ResourceGroup: string; ContainerGroupName: string; ExpiresAt: string }>;

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

  async recall(requestId: string): Promise<ServerKey | undefined> {
    await this.ensureTable();
    try {
      const e = await this.table.getEntity<LedgerEntity>(this.partition, requestId);
      return { resourceGroup: e.ResourceGroup, containerGroupName: e.ContainerGroupName };
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return undefined;
      throw storageUnavailable(e);
    }
  }

  async remember(requestId: string, key: ServerKey, expiresAt: string): Promise<void> {
    await this.ensureTable();
    // An upsert, not a conditional write: the row belongs to this one requestId, and its latest
    // booking is the one a retry must find.
    await this.table
      .upsertEntity<LedgerEntity>(
        {
          partitionKey: this.partition,
          rowKey: requestId,
          ResourceGroup: key.resourceGroup,
          ContainerGroupName: key.containerGroupName,
          ExpiresAt: expiresAt,
        },
        'Replace',
      )
      .catch((e) => {
        throw storageUnavailable(e);
      });
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
