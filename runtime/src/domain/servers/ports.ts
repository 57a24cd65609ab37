// What the server lifecycle needs from the outside world: the table of servers and ARM's container
// groups. Adapters in ../../azure implement them; tests and the simulator implement them in memory.
import type { Versioned } from '../core/ports';
import type { ContainerGroupSpec } from './requests';
import type { ServerKey, ServerRecord } from './server';
import type { ServerState } from './states';

export interface ServerStore {
  /** The most rows of one resource group a single atomic write (replaceMany) takes. */
  readonly rowsPerTransaction: number;
  get(key: ServerKey): Promise<Versioned<ServerRecord> | undefined>;
  /** Many rows at once (absent ones are left out), keyed by `describeKey`; fewer round trips than one get each. */
  getMany(keys: readonly ServerKey[]): Promise<Map<string, Versioned<ServerRecord>>>;
  /** Inserts a new row; AlreadyExistsError if it exists. */
  insert(record: ServerRecord): Promise<Versioned<ServerRecord>>;
  /** Replaces the row only if its ETag still matches; StaleWriteError otherwise. */
  replace(record: ServerRecord, etag: string): Promise<Versioned<ServerRecord>>;
  /** Removes the row only if its ETag still matches; a row already gone is fine. */
  remove(key: ServerKey, etag: string): Promise<void>;
  /** Every row (every page), optionally only those in the given states. */
  list(filter?: { states?: readonly ServerState[] }): Promise<Versioned<ServerRecord>[]>;
  /** How many rows there are, counting no further than `limit` (all a check against a ceiling needs). */
  countUpTo(limit: number): Promise<number>;
  /**
   * Replaces many rows of one resource group in as few atomic transactions as the store allows
   * (Table Storage: 100 per transaction). Each chunk is all-or-nothing: `stale` names the keys of
   * every failed chunk; `written` holds the rows written, as stored now, with their new ETags
   * (a row whose new ETag the store did not report is left out).
   */
  replaceMany(
    rows: Versioned<ServerRecord>[],
    /** The only fields that differ from the rows as read: a store may send just these (still ETag-checked). */
    changed?: readonly (keyof ServerRecord)[],
  ): Promise<{ transactions: number; stale: ServerKey[]; written: Versioned<ServerRecord>[] }>;
}

/** What ARM says about a container group, reduced to what the fleet decides on. */
export interface ContainerGroupObservation extends ServerKey {
  id: string;
  location: string;
  provisioningState: string;
  /** The group's instance view state (Running, Stopped, Pending…), when ARM reports one. */
  instanceState?: string;
  publicIp?: string;
  fqdn?: string;
  tags: Record<string, string>;
  /** The most useful message ARM gives for a failure (container events, instance view). */
  failureMessage?: string;
  /** What the group runs (first container's image, summed requests), so reconcile can adopt it. */
  image?: string;
  cpu?: number;
  ramGb?: number;
}

export interface ContainerGroups {
  get(key: ServerKey): Promise<ContainerGroupObservation | undefined>;
  /** The full ARM representation, secure values removed, for ACIDetails. */
  describe(key: ServerKey): Promise<Record<string, unknown> | undefined>;
  /** Starts the create (ARM long-running operation) without waiting for it to finish. */
  beginCreate(key: ServerKey, spec: ContainerGroupSpec): Promise<void>;
  /** Starts the delete without waiting for it to finish; a group already gone is fine. */
  beginDelete(key: ServerKey): Promise<void>;
  logs(key: ServerKey, containerName: string, tail?: number): Promise<string>;
  /**
   * Every group carrying the ownership tag with this fleet's name (every page), in the given
   * resource groups, or in the whole subscription when none are given.
   */
  listOwned(fleetName: string, resourceGroups: readonly string[]): Promise<ContainerGroupObservation[]>;
}
