// ACIAllocate's use case: book sessions on a Running server atomically. The choice is pure
// (./allocation.ts); here it is applied with ETag-conditional writes, so concurrent matchmakers
// can never book a server beyond its MaxSessions, and a miss is recorded as demand.
import { randomUUID } from 'node:crypto';
import { findReservation, pickCandidate, rankCandidates, reserve, type AllocationRequest, type ReservationTimings } from './allocation';
import { FleetError } from './errors';
import {
  StaleWriteError,
  silentLogger,
  systemClock,
  type Clock,
  type DemandStore,
  type Logger,
  type ServerStore,
  type Versioned,
} from './ports';
import { describeKey, keyOf, toView, type Reservation, type ServerRecord, type ServerView } from './server';

export interface AllocatorOptions extends ReservationTimings {
  /** Lost races tolerated before answering 503 WriteContention (each one means someone else booked). */
  attempts: number;
  /** Seconds a caller is told to wait when there is no room. */
  retryAfterSeconds: number;
  /** FLEET_RESOURCE_GROUPS: a filter naming another resource group is refused (403), like every other call. */
  allowedResourceGroups?: readonly string[];
}

export interface AllocatorDeps {
  store: ServerStore;
  demand: DemandStore;
  options: AllocatorOptions;
  clock?: Clock;
  log?: Logger;
  random?: () => number;
}

export interface Allocation {
  server: ServerView;
  reservation: Reservation;
  /** true when a retry found the booking its requestId made before. */
  repeated: boolean;
}

export class Allocator {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;

  constructor(private readonly deps: AllocatorDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.random = deps.random ?? Math.random;
  }

  async allocate(req: AllocationRequest): Promise<Allocation> {
    const { store, options } = this.deps;
    const allowed = options.allowedResourceGroups ?? [];
    if (req.resourceGroup && allowed.length > 0 && !allowed.some((rg) => rg.toLowerCase() === req.resourceGroup)) {
      throw new FleetError('Forbidden', `Resource group '${req.resourceGroup}' is not one of this fleet's resource groups (${allowed.join(', ')}).`, {
        resourceGroup: req.resourceGroup,
        allowed,
      });
    }
    const rows = new Map<string, Versioned<ServerRecord>>();
    for (const row of await store.list({ states: ['Running'] })) rows.set(describeKey(row.value), row);

    if (req.requestId) {
      const earlier = findReservation([...rows.values()], req.requestId, this.clock.now());
      if (earlier) return { server: toView(earlier.row.value, this.clock.now()), reservation: earlier.reservation, repeated: true };
    }

    const id = req.requestId ?? randomUUID();
    for (let attempt = 1; attempt <= options.attempts; attempt++) {
      const now = this.clock.now();
      const pick = pickCandidate(rankCandidates([...rows.values()], req, now), attempt, this.random);
      if (!pick) return this.noCapacity(req, now);
      const booked = reserve(pick.value, { ...req, id }, now, options);
      if (!booked) continue; // cannot happen for a ranked candidate, but never write a row that does not fit
      try {
        const written = await store.replace(booked.record, pick.etag);
        this.log.info('sessions allocated', { server: describeKey(written.value), sessions: req.sessions, requestId: id, attempt });
        return { server: toView(written.value, now), reservation: booked.reservation, repeated: false };
      } catch (e) {
        if (!(e instanceof StaleWriteError)) throw e;
        // Someone booked or reported on it first: look at that one server again and choose afresh.
        const fresh = await store.get(keyOf(pick.value));
        if (fresh && fresh.value.state === 'Running') rows.set(describeKey(fresh.value), fresh);
        else rows.delete(describeKey(pick.value));
      }
    }
    throw new FleetError('WriteContention', 'Too many matchmakers booked the same servers at once; retry shortly.', undefined, 1);
  }

  private async noCapacity(req: AllocationRequest, now: Date): Promise<never> {
    // The miss is what tells the autoscaler to add room; losing it must not turn a 503 into a 500.
    await this.deps.demand
      .record({ at: now.toISOString(), sessions: req.sessions, requestId: req.requestId, location: req.location, resourceGroup: req.resourceGroup })
      .catch((e) => this.log.warn('could not record unmet demand', { error: String(e) }));
    const where = [req.location && `in ${req.location}`, req.resourceGroup && `in resource group ${req.resourceGroup}`].filter(Boolean).join(' ');
    throw new FleetError(
      'NoCapacity',
      `No Running server${where ? ` ${where}` : ''} has room for ${req.sessions} session(s) now; more are on the way, retry after the time in Retry-After.`,
      { sessions: req.sessions, location: req.location, resourceGroup: req.resourceGroup },
      this.deps.options.retryAfterSeconds,
    );
  }
}
