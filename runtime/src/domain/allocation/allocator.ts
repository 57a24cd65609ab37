// ACIAllocate's use case: book sessions on a Running server atomically. The choice is pure
// (./allocation.ts); here it is applied with ETag-conditional writes, so concurrent matchmakers
// can never book a server beyond its MaxSessions, and a miss is recorded as demand.
import { randomUUID } from 'node:crypto';
import { bestCandidates, findReservation, pickCandidate, reserve, type AllocationRequest, type ReservationTimings } from './booking';
import type { RunningServersSnapshot, SnapshotView } from './snapshot';
import { FleetError } from '../core/errors';
import { assertAllowedResourceGroup } from '../core/resourceGroups';
import { StaleWriteError, silentLogger, systemClock, type Clock, type Logger, type Versioned } from '../core/ports';
import type { AllocationLedger, DemandStore } from './ports';
import type { ServerStore } from '../servers/ports';
import { DEFAULT_FLEET, type FleetRevisionSource } from '../servers/membership';
import { describeKey, keyOf, toView, type Reservation, type ServerRecord, type ServerView } from '../servers/server';

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
  /** The process's shared copy of the Running servers; without one, every call lists them afresh. */
  snapshot?: RunningServersSnapshot;
  /** Which server each requestId was booked on, across instances; a snapshot needs it for retries. */
  ledger?: AllocationLedger;
  /** Every fleet's current revision (a recent copy): an outdated server is booked only when no current one has room. */
  revisions?: FleetRevisionSource;
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
    if (req.resourceGroup) assertAllowedResourceGroup(options.allowedResourceGroups ?? [], req.resourceGroup);
    const arrived = this.clock.now().getTime();
    const [view, earlier, revisions] = await Promise.all([
      this.running(),
      req.requestId ? this.recall(req.requestId) : undefined,
      this.deps.revisions?.current(),
    ]);
    if (earlier) return earlier;
    let rows = view.rows;
    // Only a read that started after the request arrived may answer "no room".
    let fresh = view.takenAt >= arrived;

    const id = req.requestId ?? randomUUID();
    for (let attempt = 1; attempt <= options.attempts; ) {
      const now = this.clock.now();
      if (req.requestId) {
        const found = findReservation([...rows.values()], req.requestId, now);
        if (found) return { server: toView(found.row.value, now), reservation: found.reservation, repeated: true };
      }
      const pick = pickCandidate(bestCandidates(rows.values(), req, now, undefined, revisions), attempt, this.random);
      if (!pick) {
        if (fresh) return this.noCapacity(req, now, revisions);
        // The copy predates the request: a server may have started or freed up since. Look once more.
        rows = (await this.running(arrived)).rows;
        fresh = true;
        continue;
      }
      const booked = reserve(pick.value, { ...req, id }, now, options);
      if (!booked) {
        attempt++; // cannot happen for a ranked candidate, but never write a row that does not fit
        continue;
      }
      try {
        const written = await store.replace(booked.record, pick.etag);
        this.deps.snapshot?.remember(written);
        this.log.info('sessions allocated', { server: describeKey(written.value), sessions: req.sessions, requestId: id, attempt });
        if (req.requestId) await this.remember(req.requestId, written.value, booked.reservation.expiresAt);
        return { server: toView(written.value, now), reservation: booked.reservation, repeated: false };
      } catch (e) {
        if (!(e instanceof StaleWriteError)) throw e;
        attempt++;
        // Someone booked or reported on it first: look at that one server again and choose afresh.
        const again = await store.get(keyOf(pick.value));
        if (again && again.value.state === 'Running') {
          rows.set(describeKey(again.value), again);
          this.deps.snapshot?.remember(again);
        } else {
          rows.delete(describeKey(pick.value));
          this.deps.snapshot?.forget(pick.value);
        }
      }
    }
    throw new FleetError('WriteContention', 'Too many matchmakers booked the same servers at once; retry shortly.', undefined, 1);
  }

  /** The Running servers: the shared copy (at most its max age old, or read since `since`), else a fresh list. */
  private async running(since?: number): Promise<SnapshotView> {
    const { snapshot, store } = this.deps;
    if (snapshot) return since === undefined ? snapshot.current() : snapshot.fresh(since);
    const takenAt = this.clock.now().getTime();
    const rows = new Map<string, Versioned<ServerRecord>>();
    for (const row of await store.list({ states: ['Running'] })) rows.set(describeKey(row.value), row);
    return { rows, takenAt };
  }

  /** A booking the ledger says this requestId made, if that server still holds it (one point read each). */
  private async recall(requestId: string): Promise<Allocation | undefined> {
    const { ledger, store, snapshot } = this.deps;
    const key = ledger && (await ledger.recall(requestId));
    if (!key) return undefined;
    const row = await store.get(key);
    if (row) snapshot?.remember(row);
    else snapshot?.forget(key);
    if (row?.value.state !== 'Running') return undefined;
    const now = this.clock.now();
    const found = findReservation([row], requestId, now);
    return found && { server: toView(row.value, now), reservation: found.reservation, repeated: true };
  }

  private async remember(requestId: string, server: ServerRecord, expiresAt: string): Promise<void> {
    // The booking stands either way; without the note a retry on another instance may book a second
    // time (until that instance's copy includes this booking), so say so rather than fail the call.
    await this.deps.ledger
      ?.remember(requestId, keyOf(server), expiresAt)
      .catch((e) =>
        this.log.warn('could not remember the booking for retries', { requestId, server: describeKey(server), error: String(e) }),
      );
  }

  private async noCapacity(
    req: AllocationRequest,
    now: Date,
    revisions: Awaited<ReturnType<FleetRevisionSource['current']>> | undefined,
  ): Promise<never> {
    // A fleet nobody defined is the caller's mistake, not missing capacity (servers without a fleet are the default fleet's).
    const known = req.fleet && revisions && !revisions.has(req.fleet) ? await this.deps.revisions!.current(now.getTime()) : revisions;
    if (req.fleet && req.fleet !== DEFAULT_FLEET && known && !known.has(req.fleet)) {
      throw new FleetError('NotFound', `No fleet '${req.fleet}' is known to this deployment (GET /api/fleets lists them).`, {
        fleet: req.fleet,
      });
    }
    // The miss is what tells the autoscaler to add room; losing it must not turn a 503 into a 500.
    await this.deps.demand
      .record({
        at: now.toISOString(),
        sessions: req.sessions,
        requestId: req.requestId,
        location: req.location,
        resourceGroup: req.resourceGroup,
        fleet: req.fleet,
      })
      .catch((e) => this.log.warn('could not record unmet demand', { error: String(e) }));
    const where = [
      req.fleet && `of fleet ${req.fleet}`,
      req.location && `in ${req.location}`,
      req.resourceGroup && `in resource group ${req.resourceGroup}`,
    ]
      .filter(Boolean)
      .join(' ');
    throw new FleetError(
      'NoCapacity',
      `No Running server${where ? ` ${where}` : ''} has room for ${req.sessions} session(s) now; more are on the way, retry after the time in Retry-After.`,
      { sessions: req.sessions, location: req.location, resourceGroup: req.resourceGroup, fleet: req.fleet },
      this.deps.options.retryAfterSeconds,
    );
  }
}
