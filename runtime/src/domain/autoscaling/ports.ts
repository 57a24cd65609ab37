// What the autoscaler remembers between runs, and where (Blob Storage on Azure, memory in the simulator).
import type { Versioned } from '../core/ports';
import type { ArrivalEstimate } from './arrivals';

/** What the autoscaler remembers between runs: who is acting now, and what it did lately. */
export interface AutoscalerState {
  /** The run holding the lease, until `leaseUntil`; a crashed run's lease simply runs out. */
  leaseHolder?: string;
  leaseUntil?: string;
  lastScaleOutAt?: string;
  lastScaleInAt?: string;
  /** When each recent create was sent, for ACI's create quota. */
  creates: string[];
  /** The `rate` policy's estimate of arrivals, as of the last run that decided (./arrivals.ts). */
  arrivals?: ArrivalEstimate;
}

export interface AutoscalerStateStore {
  read(): Promise<Versioned<AutoscalerState> | undefined>;
  /** Writes only if the record still has `etag` (or, without one, does not exist yet); StaleWriteError otherwise. */
  write(state: AutoscalerState, etag: string | undefined): Promise<Versioned<AutoscalerState>>;
}
