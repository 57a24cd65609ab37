// One run acts on a fleet at a time: a lease in its state record, taken and released with the
// record's ETag (or only if absent), so of two runs that read it at once only one gets it. The
// record also remembers the last actions, for cooldowns and ACI's create quota.
import { StaleWriteError, type Logger, type Versioned } from '../core/ports';
import type { ArrivalEstimate } from './arrivals';
import type { AutoscalerState, AutoscalerStateStore } from './ports';

/** The lease for `holder`, or undefined when another run holds an unexpired one or took it first. */
export async function takeLease(
  store: AutoscalerStateStore,
  holder: string,
  leaseMs: number,
  now: Date,
  log: Logger,
): Promise<Versioned<AutoscalerState> | undefined> {
  const current = await store.read();
  const held = current?.value.leaseUntil && Date.parse(current.value.leaseUntil) > now.getTime() && current.value.leaseHolder !== holder;
  if (held) {
    log.info('skipped: another run holds the lease', { holder: current!.value.leaseHolder });
    return undefined;
  }
  const state: AutoscalerState = {
    creates: [],
    ...current?.value,
    leaseHolder: holder,
    leaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
  };
  try {
    return await store.write(state, current?.etag);
  } catch (e) {
    if (!(e instanceof StaleWriteError)) throw e;
    log.info('skipped: another run took the lease first');
    return undefined;
  }
}

export interface RunOutcome {
  /** When each create was sent (a refused one still used the quota). */
  createTimes: readonly string[];
  scaledOut: boolean;
  scaledIn: boolean;
  /** The arrival rate the run's decision estimated; the last one is kept when the run decided nothing. */
  arrivals?: ArrivalEstimate;
}

/** Gives the lease back and remembers what the run did; creates older than `quotaWindowMs` are forgotten. */
export async function releaseLease(
  store: AutoscalerStateStore,
  lease: Versioned<AutoscalerState>,
  outcome: RunOutcome,
  quotaWindowMs: number,
  now: Date,
  log: Logger,
): Promise<void> {
  const state: AutoscalerState = {
    ...lease.value,
    leaseHolder: undefined,
    leaseUntil: undefined,
    creates: [...lease.value.creates, ...outcome.createTimes].filter((t) => now.getTime() - Date.parse(t) < quotaWindowMs),
    lastScaleOutAt: outcome.scaledOut ? now.toISOString() : lease.value.lastScaleOutAt,
    lastScaleInAt: outcome.scaledIn ? now.toISOString() : lease.value.lastScaleInAt,
    arrivals: outcome.arrivals ?? lease.value.arrivals,
  };
  try {
    await store.write(state, lease.etag);
  } catch (e) {
    // Our lease ran out and another run took over: its record wins; the fleet itself is consistent.
    log.warn('could not record the run', { error: String(e) });
  }
}
