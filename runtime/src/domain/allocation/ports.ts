// What allocation needs from the outside world: recent unmet demand (also the autoscaler's signal)
// and the ledger of requestIds, shared by every instance.
import type { Versioned } from '../core/ports';

/** One allocation that found no room: demand the autoscaler should add capacity for. */
export interface DemandMiss {
  at: string;
  sessions: number;
  /** Retries of one request carry the same id, so they count once. */
  requestId?: string;
  location?: string;
  resourceGroup?: string;
  /** The fleet it asked for: demand for that fleet's autoscaler (none: the default fleet's). */
  fleet?: string;
}

/** Recent unmet demand, shared across invocations (Table Storage on Azure, memory in the simulator). */
export interface DemandStore {
  /** Adds one miss; insert-only, so concurrent writers never collide. */
  record(miss: DemandMiss): Promise<void>;
  /** Misses recorded at or after `since`. */
  since(since: Date): Promise<DemandMiss[]>;
  /** Forgets misses older than `before`; returns how many went. */
  prune(before: Date): Promise<number>;
}

/** What an allocation asked for: a requestId stands for one of these, and only one. */
export interface AllocationFilters {
  sessions: number;
  location?: string;
  resourceGroup?: string;
  fleet?: string;
}

/** The ledger's note about one requestId: claimed by the call that books it (the booking itself is on the server's row). */
export interface LedgerEntry {
  requestId: string;
  /** What the requestId was first used for; the same id asking for something else is refused (409). */
  request: AllocationFilters;
  /** When the current claim was made: a claim whose booking shows nowhere after the claim lease is abandoned. */
  claimedAt: string;
  /** After this the entry is forgotten (ACIGC prunes it): as long as the booking could live. */
  expiresAt: string;
}

/**
 * The recent requestIds, shared by every instance (Table Storage on Azure). A call claims its
 * requestId here (insert if absent) before it books, so retries that arrive together, on any
 * instance, book once: the others wait for the claimer's booking to show and get it.
 */
export interface AllocationLedger {
  read(requestId: string): Promise<Versioned<LedgerEntry> | undefined>;
  /** Inserts the entry only if its requestId has none; AlreadyExistsError otherwise. */
  claim(entry: LedgerEntry): Promise<Versioned<LedgerEntry>>;
  /** Replaces the entry only if its ETag still matches; StaleWriteError otherwise (also when it is gone). */
  replace(entry: LedgerEntry, etag: string): Promise<Versioned<LedgerEntry>>;
  /** Removes the entry only if its ETag still matches; an entry already gone is fine. */
  release(requestId: string, etag: string): Promise<void>;
  /** Forgets every entry that expired before `now` (page by page); returns how many went. */
  prune(now: Date): Promise<number>;
}
