// What allocation needs from the outside world: recent unmet demand (also the autoscaler's signal)
// and the ledger of requestIds, shared by every instance.
import type { ServerKey } from '../servers/server';

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

/**
 * Which server each recent requestId was booked on, shared by every instance (Table Storage on
 * Azure), so a retry finds its booking even when the instance it lands on has an older snapshot.
 */
export interface AllocationLedger {
  /** The server booked for `requestId`, if one was remembered (the server row says whether it still holds). */
  recall(requestId: string): Promise<ServerKey | undefined>;
  /** Notes the booking until `expiresAt` (ISO); a later booking with the same id replaces it. */
  remember(requestId: string, key: ServerKey, expiresAt: string): Promise<void>;
  /** Forgets entries that expired before `now`, a bounded number per call; returns how many went. */
  prune(now: Date): Promise<number>;
}
