// What the domain needs from the outside world. Adapters in ../azure implement these against
// Table Storage and ARM; tests and the simulator may implement them in memory.
import type { ContainerGroupSpec } from './requests';
import type { ServerKey, ServerRecord } from './server';
import type { ServerState } from './states';

export interface Versioned<T> {
  value: T;
  etag: string;
}

/** Thrown by a store when a conditional write loses to a concurrent writer (HTTP 412). */
export class StaleWriteError extends Error {
  constructor(what: string) {
    super(`${what} was changed by someone else`);
    this.name = 'StaleWriteError';
  }
}

/** Thrown by a store when an insert finds the row already there (HTTP 409). */
export class AlreadyExistsError extends Error {
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = 'AlreadyExistsError';
  }
}

export interface ServerStore {
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
  /**
   * Replaces many rows of one resource group in as few atomic transactions as the store allows
   * (Table Storage: 100 per transaction). Each chunk is all-or-nothing; StaleWriteError names the keys of a failed chunk.
   */
  replaceMany(rows: Versioned<ServerRecord>[]): Promise<{ transactions: number; stale: ServerKey[] }>;
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

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface Logger {
  info(message: string, properties?: Record<string, unknown>): void;
  warn(message: string, properties?: Record<string, unknown>): void;
  error(message: string, properties?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * Metrics and events for operators (Application Insights on Azure). Names are stable: the
 * README's KQL queries depend on them.
 */
export interface Telemetry {
  trackEvent(name: string, properties?: Record<string, string | number | boolean | undefined>): void;
  trackMetric(name: string, value: number, properties?: Record<string, string | number | boolean | undefined>): void;
}

export const silentTelemetry: Telemetry = { trackEvent() {}, trackMetric() {} };
/** One allocation that found no room: demand the autoscaler should add capacity for. */
export interface DemandMiss {
  at: string;
  sessions: number;
  /** Retries of one request carry the same id, so they count once. */
  requestId?: string;
  location?: string;
  resourceGroup?: string;
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

/** What the autoscaler remembers between runs: who is acting now, and what it did lately. */
export interface AutoscalerState {
  /** The run holding the lease, until `leaseUntil`; a crashed run's lease simply runs out. */
  leaseHolder?: string;
  leaseUntil?: string;
  lastScaleOutAt?: string;
  lastScaleInAt?: string;
  /** When each recent create was sent, for ACI's create quota. */
  creates: string[];
}

export interface AutoscalerStateStore {
  read(): Promise<Versioned<AutoscalerState> | undefined>;
  /** Writes only if the record still has `etag` (or, without one, does not exist yet); StaleWriteError otherwise. */
  write(state: AutoscalerState, etag: string | undefined): Promise<Versioned<AutoscalerState>>;
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
