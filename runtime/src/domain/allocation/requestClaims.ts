// One booking per requestId, across every instance: a call claims its requestId in the ledger
// (insert if absent) before it books, and notes the server once booked. A retry that arrives
// meanwhile waits for that call instead of booking again; a claim whose call died (crashed
// between claim and booking, or before noting the server) is taken over once its lease is up.
import { FleetError } from '../core/errors';
import { AlreadyExistsError, StaleWriteError, silentLogger, systemClock, type Clock, type Logger, type Versioned } from '../core/ports';
import { normalizeResourceGroup } from '../core/resourceGroups';
import type { ServerKey } from '../servers/server';
import type { AllocationFilters, AllocationLedger, LedgerEntry } from './ports';

/**
 * How long a claim without a server holds before another call may take it over: far longer than a
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
   * Claims `requestId` for this call, or returns what an earlier call booked for it (`found`
   * says whether that booking still holds; when it does not, the call books afresh). 409 when the
   * requestId was used for another request; 503 when another call holds it for too long.
   */
  async claim<T>(
    requestId: string,
    request: AllocationFilters,
    found: (server: ServerKey) => Promise<T | undefined>,
  ): Promise<{ claim: Claim } | { earlier: T }> {
    const asked = filtersOf(request);
    for (let attempt = 0; ; attempt++) {
      const now = this.clock.now();
      const fresh: LedgerEntry = {
        requestId,
        request: asked,
        claimedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + CLAIM_LEASE_MS).toISOString(),
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
      if (live && current.value.server) {
        const earlier = await found(current.value.server);
        if (earlier !== undefined) return { earlier };
      } else if (live) {
        // Another call claimed it and is booking now: wait for its booking rather than make a second.
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
      // Expired, abandoned by a call that died, or booked on a server that no longer holds it: take it over.
      try {
        return { claim: { entry: await this.deps.ledger.replace(fresh, current.etag), takenOver: true } };
      } catch (e) {
        if (!(e instanceof StaleWriteError)) throw e;
      }
    }
  }

  /**
   * Notes the server booked under the claim. If this fails the booking still stands: a retry
   * waits out the claim's lease, takes it over and finds the booking on the server's row.
   */
  async complete(claim: Claim, server: ServerKey, expiresAt: string): Promise<void> {
    const entry: LedgerEntry = {
      ...claim.entry.value,
      server: { resourceGroup: server.resourceGroup, containerGroupName: server.containerGroupName },
      expiresAt,
    };
    await this.deps.ledger
      .replace(entry, claim.entry.etag)
      .catch((e) =>
        this.log.warn(
          e instanceof StaleWriteError
            ? 'the requestId was taken over while this call booked it (the call outlived its claim); a retry may book again'
            : 'could not note the booking of a requestId; a retry finds it once the claim lease is over',
          { requestId: entry.requestId, error: String(e) },
        ),
      );
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
