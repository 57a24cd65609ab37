// What fleets need from the outside world: the table of fleets (one row per fleet, ETag-written).
// Azure Table Storage implements it (../../azure/fleetStore.ts); the simulator keeps it in memory.
import type { Versioned } from '../core/ports';
import type { FleetRecord } from './fleet';

export interface FleetStore {
  get(name: string): Promise<Versioned<FleetRecord> | undefined>;
  /** AlreadyExistsError if a fleet of that name exists. */
  insert(record: FleetRecord): Promise<Versioned<FleetRecord>>;
  /** Only if the row still has `etag`; StaleWriteError otherwise (also when it was removed). */
  replace(record: FleetRecord, etag: string): Promise<Versioned<FleetRecord>>;
  /** Only if the row still has `etag` (StaleWriteError otherwise); a row already gone is fine. */
  remove(name: string, etag: string): Promise<void>;
  list(): Promise<Versioned<FleetRecord>[]>;
}
