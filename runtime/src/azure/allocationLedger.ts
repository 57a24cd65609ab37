// AllocationLedger on Table Storage: one row per requestId (RowKey; requestIds are limited to
// [\w.:@-]{1,128}, all legal in a key) in a partition of the fleet's own: what the request asked
// for and when it was claimed. Every write is insert-if-absent or ETag-conditional.
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
  ExpiresAt: string;
}>;

/** Expired rows read per query page of a prune. */
const PRUNE_BATCH = 500;
/** A prune's deletes in flight at once: GC work, kept from crowding out the hot path's storage calls. */
const PRUNE_CONCURRENCY = 16;
/** Table Storage's limit of operations in one transaction. */
const TRANSACTION_SIZE = 100;

interface QueuedWrite {
  entry: LedgerEntry;
  action: 'create' | 'update';
  etag?: string;
  resolve: (written: Versioned<LedgerEntry>) => void;
  reject: (e: unknown) => void;
}

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

  /**
   * Claims and notes made in the same turn of the event loop go in one transaction (the ledger is
   * one partition): concurrent ACIAllocate calls cost one round trip, not one each. A transaction
   * is all or nothing, so when it fails (one requestId claimed already, one note stale) each of
   * its entries is written alone and gets its own answer.
   */
  claim(entry: LedgerEntry): Promise<Versioned<LedgerEntry>> {
    return this.batched({ entry, action: 'create' });
  }

  replace(entry: LedgerEntry, etag: string): Promise<Versioned<LedgerEntry>> {
    return this.batched({ entry, action: 'update', etag });
  }

  private queue: QueuedWrite[] = [];

  private batched(write: Omit<QueuedWrite, 'resolve' | 'reject'>): Promise<Versioned<LedgerEntry>> {
    return new Promise((resolve, reject) => {
      if (this.queue.push({ ...write, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    const writes = this.queue.splice(0);
    // One entity per transaction at most: a requestId claimed and noted in one turn goes alone.
    const seen = new Set<string>();
    const together: QueuedWrite[] = [];
    const alone: QueuedWrite[] = [];
    for (const w of writes) {
      if (seen.has(w.entry.requestId) || together.length >= TRANSACTION_SIZE) alone.push(w);
      else {
        seen.add(w.entry.requestId);
        together.push(w);
      }
    }
    await Promise.all([this.writeTogether(together), ...alone.map((w) => this.writeAlone(w))]);
  }

  private async writeTogether(writes: QueuedWrite[]): Promise<void> {
    if (writes.length <= 1) return writes[0] && this.writeAlone(writes[0]);
    let etags: Map<string | undefined, string | undefined>;
    try {
      await this.ensureTable();
      const actions: TransactionAction[] = writes.map((w) =>
        w.action === 'create' ? ['create', this.toEntity(w.entry)] : ['update', this.toEntity(w.entry), 'Replace', { etag: w.etag }],
      );
      const result = await this.table.submitTransaction(actions);
      etags = new Map(result.subResponses.map((r) => [r.rowKey, r.etag]));
    } catch {
      // One entry spoiled the transaction (claimed already, stale) or storage failed: nothing was written, so each goes alone.
      await Promise.all(writes.map((w) => this.writeAlone(w)));
      return;
    }
    await Promise.all(
      writes.map(async (w) => {
        const etag = etags.get(w.entry.requestId) ?? (await this.read(w.entry.requestId).catch(() => undefined))?.etag;
        if (etag) w.resolve({ value: w.entry, etag });
        else w.reject(storageUnavailable(new Error(`the transaction gave no ETag for requestId ${w.entry.requestId}`)));
      }),
    );
  }

  private async writeAlone(w: QueuedWrite): Promise<void> {
    try {
      w.resolve(w.action === 'create' ? await this.insertOne(w.entry) : await this.replaceOne(w.entry, w.etag!));
    } catch (e) {
      w.reject(e);
    }
  }

  private async insertOne(entry: LedgerEntry): Promise<Versioned<LedgerEntry>> {
    await this.ensureTable();
    try {
      const { etag } = await this.table.createEntity(this.toEntity(entry));
      return { value: entry, etag: etag! };
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 409) throw new AlreadyExistsError(`requestId ${entry.requestId}`);
      throw storageUnavailable(e);
    }
  }

  private async replaceOne(entry: LedgerEntry, etag: string): Promise<Versioned<LedgerEntry>> {
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
      ExpiresAt: entry.expiresAt,
    };
  }

  async prune(now: Date): Promise<number> {
    await this.ensureTable();
    // ISO times of one format sort as strings, so "expired" is a string comparison.
    const filter = odata`PartitionKey eq ${this.partition} and ExpiresAt lt ${now.toISOString()}`;
    let removed = 0;
    try {
      // Batch after batch until none is left: a fixed number per run would fall behind steady traffic for good.
      for (;;) {
        const expired: Expired[] = [];
        for await (const e of this.table.listEntities<LedgerEntity>({ queryOptions: { filter, select: ['RowKey'] } })) {
          expired.push({ rowKey: e.rowKey!, etag: e.etag });
          if (expired.length >= PRUNE_BATCH) break;
        }
        removed += await this.removeRows(expired);
        if (expired.length < PRUNE_BATCH) return removed;
      }
    } catch (e) {
      throw storageUnavailable(e);
    }
  }

  /**
   * Deletes the rows, each under the ETag it was listed with: a row a retry took over since (a fresh
   * claim on an expired entry) is live again and must stay, or a second retry could claim the
   * requestId afresh and book twice. One by one, because a transaction cannot carry a delete's
   * ETag (@azure/data-tables' submitTransaction drops it: every delete in it is unconditional).
   */
  private async removeRows(rows: Expired[]): Promise<number> {
    let removed = 0;
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const { rowKey, etag } = rows[next++]!;
        try {
          await this.table.deleteEntity(this.partition, rowKey, { etag });
          removed++;
        } catch (e) {
          // 404: a concurrent prune removed it; 412: taken over, live again.
          if (!(e instanceof RestError && (e.statusCode === 404 || e.statusCode === 412))) throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PRUNE_CONCURRENCY, rows.length) }, worker));
    return removed;
  }
}

/** A row a prune found expired, with the ETag it had then. */
interface Expired {
  rowKey: string;
  etag: string;
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
      expiresAt: e.ExpiresAt ?? '',
    },
  };
}
