// ACIAllocate's use case: book sessions on a Running server atomically. The choice is pure
// (./booking.ts); here it is applied with ETag-conditional writes, so concurrent matchmakers
// can never book a server beyond its MaxSessions, a requestId books once (./requestClaims.ts),
// and a miss is recorded as demand.
import { randomUUID } from 'node:crypto';
import {
  bestCandidates,
  findReservation,
  freeSlotsOf,
  holdsMostBookings,
  MAX_RESERVATIONS_PER_SERVER,
  pickCandidate,
  reserve,
  type AllocationRequest,
  type ReservationTimings,
} from './booking';
import type { RunningServersSnapshot, SnapshotView } from './snapshot';
import type { BookingCoalescer } from './coalescer';
import { FleetError } from '../core/errors';
import { assertAllowedResourceGroup, normalizeResourceGroup } from '../core/resourceGroups';
import { StaleWriteError, silentLogger, systemClock, type Clock, type Logger, type Versioned } from '../core/ports';
import type { AllocationLedger, DemandStore } from './ports';
import { RequestClaims, type Claim } from './requestClaims';
import type { ServerStore } from '../servers/ports';
import {
  DEFAULT_FLEET,
  fleetOf,
  unknownFleet,
  type FleetRevision,
  type FleetRevisionSource,
  type FleetServers,
} from '../servers/membership';
import { describeKey, keyOf, toView, type Reservation, type ServerRecord, type ServerView } from '../servers/server';

export interface AllocatorOptions extends ReservationTimings {
  /** Lost races tolerated before answering 503 WriteContention (each one means someone else booked). */
  attempts: number;
  /** Seconds a caller is told to wait when there is no room. */
  retryAfterSeconds: number;
  /** FLEET_RESOURCE_GROUPS: a filter naming another resource group is refused (403), like every other call. */
  allowedResourceGroups?: readonly string[];
  /**
   * The default fleet's servers (CONTAINER_GROUP_TEMPLATE; on demand with AUTOSCALER_ENABLED), known
   * from the settings even before the fleets table has it; other fleets come with their revisions.
   */
  defaultFleet?: FleetServers;
  /** MaxSessions of a server whose template gives none (FLEET_DEFAULT_MAX_SESSIONS). */
  defaultMaxSessions?: number;
}

type Revisions = ReadonlyMap<string, FleetRevision>;

export interface AllocatorDeps {
  store: ServerStore;
  demand: DemandStore;
  options: AllocatorOptions;
  clock?: Clock;
  log?: Logger;
  random?: () => number;
  /** The process's shared copy of the Running servers; without one, every call lists them afresh. */
  snapshot?: RunningServersSnapshot;
  /** Which server each requestId was booked on, across instances: a requestId books once, whatever instance its retries reach. */
  ledger?: AllocationLedger;
  /** Waits while another call books the same requestId; tests pass their own. */
  sleep?: (ms: number) => Promise<void>;
  /** Books concurrent calls on this instance together (one write per server); without one, each call writes alone. */
  coalescer?: BookingCoalescer;
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
  private readonly claims: RequestClaims | undefined;

  constructor(private readonly deps: AllocatorDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.random = deps.random ?? Math.random;
    this.claims =
      deps.ledger &&
      new RequestClaims({
        ledger: deps.ledger,
        bookingLifetimeMs: deps.options.ttlMs,
        clock: this.clock,
        log: this.log,
        sleep: deps.sleep,
      });
  }

  async allocate(req: AllocationRequest): Promise<Allocation> {
    const { options } = this.deps;
    if (req.resourceGroup) assertAllowedResourceGroup(options.allowedResourceGroups ?? [], req.resourceGroup);
    const arrived = this.clock.now().getTime();
    const { requestId } = req;
    // With a requestId, claim it before booking: of retries arriving together, on any instance, one books.
    const [view, claimed, revisions] = await Promise.all([
      this.running(),
      requestId && this.claims ? this.claims.claim(requestId, req, () => this.bookingAnywhere(requestId)) : undefined,
      this.deps.revisions?.current(),
    ]);
    if (claimed && 'earlier' in claimed) return claimed.earlier;
    const claim = claimed?.claim;
    try {
      return await this.book(req, view, arrived, claim, revisions);
    } catch (e) {
      if (claim) await this.claims!.release(claim); // nothing booked: a retry claims it afresh
      throw e;
    }
  }

  /** Books `req` on the best server that fits, trying again on lost races; NoCapacity when none has room. */
  private async book(
    req: AllocationRequest,
    view: SnapshotView,
    arrived: number,
    claim: Claim | undefined,
    revisions: Revisions | undefined,
  ): Promise<Allocation> {
    const { store, options } = this.deps;
    let rows = view.rows;
    // Only a read that started after the request arrived may answer "no room".
    let fresh = view.takenAt >= arrived;
    if (claim?.takenOver) {
      // The claim's earlier holder may have booked at the last moment: only a read from now on shows every booking.
      const earlier = req.requestId && (await this.bookingAnywhere(req.requestId));
      if (earlier) return earlier;
      rows = (await this.running(this.clock.now().getTime())).rows;
      fresh = true;
    }

    const id = req.requestId ?? randomUUID();
    for (let attempt = 1; attempt <= options.attempts; ) {
      const now = this.clock.now();
      if (req.requestId) {
        const found = findReservation([...rows.values()], req.requestId, now);
        if (found) return { server: toView(found.row.value, now), reservation: found.reservation, repeated: true };
      }
      if (this.deps.coalescer) {
        // Booked together with the other calls on this instance; undefined when nothing in the copy fits.
        const booked = await this.deps.coalescer.book({ ...req, id }, revisions);
        if (booked) {
          const at = booked.row.value;
          this.log.info('sessions allocated', { server: describeKey(at), sessions: req.sessions, requestId: id, attempt: booked.attempt });
          return { server: toView(at, this.clock.now()), reservation: booked.reservation, repeated: false };
        }
        if (fresh) return this.noCapacity(req, this.clock.now(), rows, revisions);
        rows = (await this.running(arrived)).rows;
        fresh = true;
        continue;
      }
      const pick = pickCandidate(bestCandidates(rows.values(), req, now, undefined, revisions), attempt, this.random);
      if (!pick) {
        if (fresh) return this.noCapacity(req, now, rows, revisions);
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

  /**
   * The booking `requestId` made, wherever it is: read afresh (not from a copy, which may predate
   * it), on a server in any state. One drained, failed or being deleted since still holds the
   * booking: the retry is answered with it (the server's state says what became of it), never
   * booked a second time elsewhere.
   */
  private async bookingAnywhere(requestId: string): Promise<Allocation | undefined> {
    const rows = await this.deps.store.list();
    const now = this.clock.now();
    const found = findReservation(rows, requestId, now);
    return found && { server: toView(found.row.value, now), reservation: found.reservation, repeated: true };
  }

  /**
   * No server has room now. A fleet nobody defined, or more sessions than any server can hold, is
   * the caller's mistake (404, 400; nothing recorded); otherwise a 503 that says honestly whether
   * anyone is adding servers: room may still appear as sessions end and bookings expire, so
   * retrying is right either way.
   */
  private async noCapacity(
    req: AllocationRequest,
    now: Date,
    running: Map<string, Versioned<ServerRecord>>,
    revisions: Revisions | undefined,
  ): Promise<never> {
    // Servers without a fleet are the default fleet's; a fleet missing from an older copy may be new: read once more.
    const known = req.fleet && revisions && !revisions.has(req.fleet) ? await this.deps.revisions!.current(now.getTime()) : revisions;
    if (req.fleet && req.fleet !== DEFAULT_FLEET && known && !known.has(req.fleet)) {
      throw unknownFleet(req.fleet);
    }
    const fleets = this.fleetsServing(known);
    const largest = await this.largestServerFor(req, running, fleets);
    if (largest !== undefined && req.sessions > largest) {
      const message = `${req.sessions} session(s) is more than any server${where(req) ? ` ${where(req)}` : ''} holds: the largest (Running, being created, or made by a fleet) holds at most ${largest} (MaxSessions)`;
      throw new FleetError('ValidationFailed', `Invalid request: sessions: ${message}.`, [{ path: 'sessions', message }]);
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
    const onDemand = [...fleets].filter(([, f]) => f.onDemand);
    const adding = onDemand.filter(([name, f]) => makesServersFor(name, f, req));
    const autoscaler = adding.length > 0 ? 'adding' : onDemand.length > 0 ? 'elsewhere' : 'off';
    const elsewhere = onDemand.map(([name, f]) => `fleet ${name} in ${f.location} (resource group ${f.resourceGroup})`).join(', ');
    const outlook = {
      adding: 'the autoscaler adds servers for unmet demand (up to its maximum); retry after the time in Retry-After',
      elsewhere: `the autoscaler only adds servers for ${elsewhere}, so none are being added for this request; room appears only as sessions end or bookings expire`,
      off: 'the autoscaler is off, so no servers are being added; room appears only as sessions end or bookings expire, or when servers are created (ACICreate, a fleet)',
    }[autoscaler];
    // Servers with free slots whose rows already hold as many bookings as a row can: say so, they free up as bookings expire.
    const rowsFull = [...running.values()].filter(
      (r) => inPlace(r.value, req) && freeSlotsOf(r.value, now) >= req.sessions && holdsMostBookings(r.value, now),
    ).length;
    const full =
      rowsFull > 0
        ? ` ${rowsFull} server(s) with free slots already hold ${MAX_RESERVATIONS_PER_SERVER} bookings each, the most one row keeps, until some of them expire;`
        : '';
    throw new FleetError(
      'NoCapacity',
      `No Running server${where(req) ? ` ${where(req)}` : ''} has room for ${req.sessions} session(s) now;${full} ${outlook}.`,
      { sessions: req.sessions, location: req.location, resourceGroup: req.resourceGroup, fleet: req.fleet, autoscaler, rowsFull },
      this.deps.options.retryAfterSeconds,
    );
  }

  /** The fleets that make servers, by name: the default one as the settings define it, the others from their revisions. */
  private fleetsServing(revisions: Revisions | undefined): Map<string, FleetServers> {
    const fleets = new Map<string, FleetServers>();
    for (const [name, revision] of revisions ?? []) if (revision.servers) fleets.set(name, revision.servers);
    const { defaultFleet } = this.deps.options;
    if (defaultFleet) fleets.set(DEFAULT_FLEET, defaultFleet);
    return fleets;
  }

  /**
   * The most sessions one server that could take this request holds: Running ones (just read),
   * those the fleets make, and — only when those are all too small — ones still being created.
   * Undefined when there is none at all.
   */
  private async largestServerFor(
    req: AllocationRequest,
    running: Map<string, Versioned<ServerRecord>>,
    fleets: Map<string, FleetServers>,
  ): Promise<number | undefined> {
    const sizes = [...running.values()].filter((r) => inPlace(r.value, req)).map((r) => r.value.maxSessions);
    for (const [name, f] of fleets)
      if (makesServersFor(name, f, req)) sizes.push(f.maxSessions ?? this.deps.options.defaultMaxSessions ?? 0);
    if (sizes.length > 0 && Math.max(...sizes) >= req.sessions) return Math.max(...sizes);
    for (const r of await this.deps.store.list({ states: ['Creating'] })) if (inPlace(r.value, req)) sizes.push(r.value.maxSessions);
    return sizes.length > 0 ? Math.max(...sizes) : undefined;
  }
}

const where = (req: AllocationRequest) =>
  [
    req.fleet && `of fleet ${req.fleet}`,
    req.location && `in ${req.location}`,
    req.resourceGroup && `in resource group ${req.resourceGroup}`,
  ]
    .filter(Boolean)
    .join(' ');

/** Whether a server is where the request asks (the same filters `fits` applies). */
const inPlace = (r: ServerRecord, req: AllocationRequest) =>
  (req.fleet === undefined || fleetOf(r) === req.fleet) &&
  (!req.location || r.location === req.location.toLowerCase()) &&
  (!req.resourceGroup || r.resourceGroup === normalizeResourceGroup(req.resourceGroup));

/** Whether fleet `name` makes servers where the request asks. */
const makesServersFor = (name: string, f: FleetServers, req: AllocationRequest) =>
  (req.fleet === undefined || name === req.fleet) &&
  (!req.location || f.location === req.location.toLowerCase()) &&
  (!req.resourceGroup || f.resourceGroup === normalizeResourceGroup(req.resourceGroup));
