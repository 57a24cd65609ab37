// The server rows this process's ACISetSessions last wrote, with the ETags the writes answered. A
// caller that reports the same servers again (a matchmaker every few seconds) then writes without
// reading them first. Safe because every write is still conditional on the ETag kept here: a row
// someone else changed fails its transaction, nothing of it is written, and the batch is read.
import type { Versioned } from '../core/ports';
import { describeKey, type ServerKey, type ServerRecord } from './server';

/**
 * Rows kept per process: a region's fleet is bounded by ACI's quota, far below this. A row is a few
 * hundred bytes, more with many bookings (each about 100): a few MB in all, at worst tens.
 */
const KNOWN_ROWS_CAPACITY = 5_000;
/** After a run of stale batches, at most this many batches go straight to storage before the next try. */
const MAX_BATCHES_SKIPPED = 63;

export class KnownRows {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  private readonly rows = new Map<string, Versioned<ServerRecord>>();
  private staleInARow = 0;
  private batchesToSkip = 0;

  constructor(private readonly capacity = KNOWN_ROWS_CAPACITY) {}

  get size(): number {
    return this.rows.size;
  }

  /**
   * Every key's row, or undefined when one is unknown (kept rows are only rows written, so never one
   * being deleted), or while recent batches kept finding their rows changed (see `outcome`).
   */
  lookup(keys: readonly ServerKey[]): Map<string, Versioned<ServerRecord>> | undefined {
    if (this.batchesToSkip > 0) {
      this.batchesToSkip--;
      return undefined;
    }
    const found = new Map<string, Versioned<ServerRecord>>();
    for (const key of keys) {
      const id = describeKey(key);
      const row = this.rows.get(id);
      if (!row) return undefined;
      found.set(id, row);
    }
    for (const [id, row] of found) this.keep(id, row);
    return found;
  }

  remember(rows: readonly Versioned<ServerRecord>[]): void {
    for (const row of rows) this.keep(describeKey(row.value), row);
  }

  forget(keys: readonly ServerKey[]): void {
    for (const key of keys) this.rows.delete(describeKey(key));
  }

  /**
   * How a batch written from known rows went. Where other writers keep changing the rows (allocation,
   * ACIReport), each try costs a failed transaction, so after each stale batch in a row twice as
   * many batches read first: 1, 3, 7… up to 63; one batch that goes through resets it.
   */
  outcome(stale: boolean): void {
    if (!stale) {
      this.staleInARow = 0;
      return;
    }
    this.staleInARow++;
    this.batchesToSkip = Math.min(2 ** this.staleInARow - 1, MAX_BATCHES_SKIPPED);
  }

  private keep(id: string, row: Versioned<ServerRecord>): void {
    this.rows.delete(id);
    this.rows.set(id, row);
    if (this.rows.size > this.capacity) this.rows.delete(this.rows.keys().next().value!);
  }
}
