// One booking per requestId, across every instance: a call claims its requestId in the ledger
// (insert if absent) before it books, and the booking on the server's row is the record of what it
// booked. A retry that arrives meanwhile looks for that booking and waits for it instead of booking
// again; a claim whose call died before booking is taken over once its lease is up.
import { FleetError } from '../core/errors';
import { AlreadyExistsError, StaleWriteError, silentLogger, systemClock, type Clock, type Logger, type Versioned } from '../core/ports';
import { normalizeResourceGroup } from '../core/resourceGroups';
import type { AllocationFilters, AllocationLedger, LedgerEntry } from './ports';

/**
 * How long a claim whose booking does not show holds before another call may take it over: far longer than a
 * booking takes (a snapshot read and a few conditional writes, each bounded by STORAGE_TIMEOUT_MS).
 */
export const CLAIM_LEASE_MS = 30_000;

/** Waits (ms) for a claim another call holds to turn into a booking, before answering 503. */
const WAITS = [50, 100, 200, 400, 800];

/** A requestId this call holds in the ledger; `takenOver` when an earlier call's claim was abandoned. */
export interface Claim {
  entry: Versioned<LedgerEntry>;
  takenOver: boolean;
}

export interface RequestClaimsDeps {
  ledger: AllocationLedger;
  /** How long a booking lives (ALLOCATION_RESERVATION_TTL_SECONDS): an entry is kept as long, so a reused requestId is refused that long. */
  bookingLifetimeMs: number;
  clock?: Clock;
  log?: Logger;
  /** Waits between looks at a claim another call holds; tests pass their own. */
  sleep?: (ms: number) => Promise<void>;
}

export class RequestClaims {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: RequestClaimsDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Claims `requestId` for this call, or returns the booking an earlier call made for it, which
   * `findBooking` looks for on the servers themselves: the booking is the record, so a claim costs
   * one write and nothing is noted after the booking. 409 when the requestId was used for another
   * request; 503 when another call holds it and its booking has not shown within a few looks.
   */
  async claim<T>(
    requestId: string,
    request: AllocationFilters,
    findBooking: () => Promise<T | undefined>,
  ): Promise<{ claim: Claim } | { earlier: T }> {
    const asked = filtersOf(request);
    for (let attempt = 0; ; attempt++) {
      const now = this.clock.now();
      const fresh: LedgerEntry = {
        requestId,
        request: asked,
        claimedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + Math.max(CLAIM_LEASE_MS, this.deps.bookingLifetimeMs)).toISOString(),
      };
      try {
        return { claim: { entry: await this.deps.ledger.claim(fresh), takenOver: false } };
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) throw e;
      }
      const current = await this.deps.ledger.read(requestId);
      if (!current) continue; // released meanwhile (that call found no room): claim it now
      const live = Date.parse(current.value.expiresAt) > now.getTime();
      if (live && !sameFilters(current.value.request, asked)) throw reused(requestId, current.value.request, asked);
      if (live) {
        const earlier = await findBooking();
        if (earlier !== undefined) return { earlier };
        // No booking shows: the claimer is still booking, unless its lease is over (it died, or its booking ended).
        if (Date.parse(current.value.claimedAt) + CLAIM_LEASE_MS > now.getTime()) {
          const wait = WAITS[attempt];
          if (wait === undefined) {
            throw new FleetError(
              'WriteContention',
              `Another call with requestId '${requestId}' is booking it right now; retry shortly to get its booking.`,
              { requestId },
              1,
            );
          }
          await this.sleep(wait);
          continue;
        }
      }
      try {
        return { claim: { entry: await this.deps.ledger.replace(fresh, current.etag), takenOver: true } };
      } catch (e) {
        if (!(e instanceof StaleWriteError)) throw e;
      }
    }
  }

  /** Gives the requestId back (nothing was booked), so a retry claims it afresh at once. */
  async release(claim: Claim): Promise<void> {
    await this.deps.ledger.release(claim.entry.value.requestId, claim.entry.etag).catch((e) =>
      this.log.warn('could not release a requestId claim; it lapses with its lease', {
        requestId: claim.entry.value.requestId,
        error: String(e),
      }),
    );
  }
}

/** The filters as the table stores them: resource groups and locations compare without case. */
function filtersOf(r: AllocationFilters): AllocationFilters {
  return {
    sessions: r.sessions,
    ...(r.location ? { location: r.location.toLowerCase() } : {}),
    ...(r.resourceGroup ? { resourceGroup: normalizeResourceGroup(r.resourceGroup) } : {}),
    ...(r.fleet ? { fleet: r.fleet } : {}),
  };
}

const sameFilters = (a: AllocationFilters, b: AllocationFilters) =>
  a.sessions === b.sessions &&
  (a.location ?? '') === (b.location ?? '') &&
  (a.resourceGroup ?? '') === (b.resourceGroup ?? '') &&
  (a.fleet ?? '') === (b.fleet ?? '');

const describeFilters = (f: AllocationFilters) =>
  [
    `${f.sessions} session(s)`,
    f.fleet && `of fleet ${f.fleet}`,
    f.location && `in ${f.location}`,
    f.resourceGroup && `in resource group ${f.resourceGroup}`,
  ]
    .filter(Boolean)
    .join(' ');

/** 409: a requestId names one allocation; the same id asking for something else is a caller's mistake. */
function reused(requestId: string, earlier: AllocationFilters, asked: AllocationFilters): FleetError {
  return new FleetError(
    'Conflict',
    `requestId '${requestId}' was used for ${describeFilters(earlier)}; this request asks for ${describeFilters(asked)}. A requestId stands for one allocation: send a new one for a different request.`,
    { requestId, earlier, asked },
  );
}
