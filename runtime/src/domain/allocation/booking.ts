// Pure decisions for ACIAllocate: how loaded a server is once its bookings count, which server a
// request should go to (pack the fullest that fits, so idle ones can drain), and the booked row.
import { normalizeResourceGroup } from '../core/resourceGroups';
import { fleetOf, isOutdated, type FleetRevision } from '../servers/membership';
import { reservedSessions, type Reservation, type ServerRecord } from '../servers/server';

export interface AllocationRequest {
  sessions: number;
  location?: string;
  resourceGroup?: string;
  /** Only this fleet's servers (servers created without a fleet are the default fleet's). */
  fleet?: string;
  requestId?: string;
}

/** Every fleet's current revision, by name: servers of another revision are booked only when no current one fits. */
export type Revisions = ReadonlyMap<string, FleetRevision>;

export interface ReservationTimings {
  /** How long a booking counts at most (ALLOCATION_RESERVATION_TTL_SECONDS). */
  ttlMs: number;
  /** A server report must be at least this much younger than the booking to be taken to include it. */
  reportGraceMs: number;
}

/**
 * Live bookings one server row holds at most. The bookings are one string property, and Table
 * Storage keeps at most 32K UTF-16 characters in one: 100 of the largest (a 128-character
 * requestId, ≈ 270 characters each) stay well inside it, so a row can never become unwritable.
 */
export const MAX_RESERVATIONS_PER_SERVER = 100;

/** Sessions a server holds or has promised: its last report plus bookings that report cannot include yet. */
export const loadOf = (r: ServerRecord, now: Date) => r.activeSessions + reservedSessions(r, now);

export const freeSlotsOf = (r: ServerRecord, now: Date) => Math.max(0, r.maxSessions - loadOf(r, now));

/** Bookings on the row that have not expired (covered or not): what the next write keeps. */
export const liveReservationsOf = (r: ServerRecord, now: Date) => {
  let n = 0;
  for (const res of r.reservations ?? []) if (Date.parse(res.expiresAt) > now.getTime()) n++;
  return n;
};

/** Whether the row holds as many bookings as it may: more would not fit in one Table Storage property. */
export const holdsMostBookings = (r: ServerRecord, now: Date) => liveReservationsOf(r, now) >= MAX_RESERVATIONS_PER_SERVER;

export const hasLiveReservations = (r: ServerRecord, now: Date) => reservedSessions(r, now) > 0;

/** Whether `r` can take the request now: Running, in the asked location/resource group/fleet, with room. */
export function fits(r: ServerRecord, req: AllocationRequest, now: Date): boolean {
  if (r.state !== 'Running') return false;
  if (req.fleet !== undefined && fleetOf(r) !== req.fleet) return false;
  if (req.location && r.location !== req.location.toLowerCase()) return false;
  if (req.resourceGroup && r.resourceGroup !== normalizeResourceGroup(req.resourceGroup)) return false;
  return freeSlotsOf(r, now) >= req.sessions && !holdsMostBookings(r, now);
}

/**
 * The servers that fit, best first: those of their fleet's current revision before any outdated
 * one, then fewest free slots left (the fullest that fits), then the most loaded, then by name so
 * the order is stable. Packing keeps the emptiest servers empty to drain.
 */
export function rankCandidates<T extends { value: ServerRecord }>(
  rows: readonly T[],
  req: AllocationRequest,
  now: Date,
  revisions: Revisions = NO_REVISIONS,
): T[] {
  return onlyCurrentIfAny(
    rows
      .filter((row) => fits(row.value, req, now))
      .map((row) => ranked(row, now, revisions))
      .sort(byPreference),
  ).map((c) => c.row);
}

const NO_REVISIONS: Revisions = new Map();

interface Ranked<T> {
  row: T;
  outdated: boolean;
  free: number;
  load: number;
}

const ranked = <T extends { value: ServerRecord }>(row: T, now: Date, revisions: Revisions): Ranked<T> => ({
  row,
  outdated: isOutdated(row.value, revisions.get(fleetOf(row.value))),
  free: freeSlotsOf(row.value, now),
  load: loadOf(row.value, now),
});

/** An outdated server is never booked while one of the current revision has room: drop them when the best is current. */
const onlyCurrentIfAny = <T>(sorted: Ranked<T>[]) => (sorted[0] && !sorted[0].outdated ? sorted.filter((c) => !c.outdated) : sorted);

const byPreference = <T extends { value: ServerRecord }>(a: Ranked<T>, b: Ranked<T>) =>
  Number(a.outdated) - Number(b.outdated) ||
  a.free - b.free ||
  b.load - a.load ||
  a.row.value.resourceGroup.localeCompare(b.row.value.resourceGroup) ||
  a.row.value.containerGroupName.localeCompare(b.row.value.containerGroupName);

/**
 * The first `count` of rankCandidates' order, in one pass without sorting the whole fleet: all the
 * allocator ever tries (see pickCandidate), and a fraction of the cost at 10,000 servers.
 */
export function bestCandidates<T extends { value: ServerRecord }>(
  rows: Iterable<T>,
  req: AllocationRequest,
  now: Date,
  count = 3,
  revisions: Revisions = NO_REVISIONS,
): T[] {
  const best: Ranked<T>[] = [];
  for (const row of rows) {
    if (!fits(row.value, req, now)) continue;
    const c = ranked(row, now, revisions);
    if (best.length === count && byPreference(c, best[count - 1]!) >= 0) continue;
    let i = Math.min(best.length, count - 1);
    while (i > 0 && byPreference(c, best[i - 1]!) < 0) i--;
    best.splice(i, 0, c);
    if (best.length > count) best.pop();
  }
  return onlyCurrentIfAny(best).map((c) => c.row);
}

/**
 * Which candidate to try on this attempt. The first try takes the best; after a lost race the
 * winner is probably booking the same best server again, so spread over the few best instead.
 */
export function pickCandidate<T>(ranked: readonly T[], attempt: number, random: () => number): T | undefined {
  if (ranked.length === 0) return undefined;
  if (attempt <= 1) return ranked[0];
  const spread = Math.min(ranked.length, 3);
  return ranked[Math.min(spread - 1, Math.floor(random() * spread))];
}

/** A booking made earlier with this requestId that still holds, so a retry gets the same server. */
export function findReservation<T extends { value: ServerRecord }>(
  rows: readonly T[],
  requestId: string,
  now: Date,
): { row: T; reservation: Reservation } | undefined {
  for (const row of rows) {
    const reservation = row.value.reservations?.find((res) => res.id === requestId && Date.parse(res.expiresAt) > now.getTime());
    if (reservation) return { row, reservation };
  }
  return undefined;
}

/** Drops bookings past their TTL (covered ones stay until then, so a late retry still finds its server). */
export function pruneReservations(r: ServerRecord, now: Date): ServerRecord {
  const kept = (r.reservations ?? []).filter((res) => Date.parse(res.expiresAt) > now.getTime());
  if (kept.length === (r.reservations?.length ?? 0)) return r;
  return { ...r, reservations: kept.length > 0 ? kept : undefined };
}

/** The row with the booking added, or undefined if it no longer fits (someone else took the room). */
export function reserve(
  r: ServerRecord,
  req: AllocationRequest & { id: string },
  now: Date,
  timings: ReservationTimings,
): { record: ServerRecord; reservation: Reservation } | undefined {
  if (!fits(r, req, now)) return undefined;
  const reservation: Reservation = {
    id: req.id,
    sessions: req.sessions,
    at: now.toISOString(),
    reportAfter: new Date(now.getTime() + timings.reportGraceMs).toISOString(),
    expiresAt: new Date(now.getTime() + timings.ttlMs).toISOString(),
  };
  const pruned = pruneReservations(r, now);
  return { record: { ...pruned, reservations: [...(pruned.reservations ?? []), reservation] }, reservation };
}
