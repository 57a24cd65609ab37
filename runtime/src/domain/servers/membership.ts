// Which fleet a server belongs to and whether it runs its fleet's current revision: the one rule
// the fleet controller, ACIAllocate's ranking and ACIReport's answer all ask (no I/O here).
import { FleetError } from '../core/errors';
import type { ServerRecord } from './server';

/** The fleet CONTAINER_GROUP_TEMPLATE and the AUTOSCALER_* settings define; servers created without a fleet count as its. */
export const DEFAULT_FLEET = 'default';

/** What the rest of the domain needs to know about a fleet's revisions. */
export interface FleetRevision {
  /** The current revision: servers of any other are outdated. */
  revision: number;
  /** The fleet's incarnation: a server made for an earlier fleet of its name is outdated (it is drained). */
  incarnation?: string;
  /**
   * Spec hashes (ServerRecord.specHash) of the revisions' servers, by hash, for servers made before
   * fleets existed (no Revision of their own): the default fleet's servers made from its template.
   */
  legacySpecHashes?: Readonly<Record<string, number>>;
  /** What the fleet's servers are like; absent while the fleet is being deleted (it makes none). */
  servers?: FleetServers;
}

/** Where a fleet's servers run and how many sessions each holds: what ACIAllocate's answers say about it. */
export interface FleetServers {
  location: string;
  resourceGroup: string;
  /** Undefined: FLEET_DEFAULT_MAX_SESSIONS. */
  maxSessions?: number;
  /** Whether the fleet adds servers for unmet demand (its autoscaler), rather than keeping a set number. */
  onDemand: boolean;
}

/** The one answer to a request naming a fleet nobody defined (ACICreate, ACIAllocate, the fleets API). */
export const unknownFleet = (name: string) =>
  new FleetError('NotFound', `No fleet '${name}' is known to this deployment (GET /api/fleets lists them).`, { fleet: name });

export const fleetOf = (r: Pick<ServerRecord, 'fleet'>): string => r.fleet ?? DEFAULT_FLEET;

/**
 * Whether `r` is a server of this fleet: made for its name, and for this incarnation of it (a fleet
 * deleted and made again under the same name is another fleet). Rows made before incarnations match by name.
 */
export const isMemberOf = (r: Pick<ServerRecord, 'fleet' | 'fleetIncarnation'>, fleet: { name: string; incarnation?: string }) =>
  fleetOf(r) === fleet.name &&
  (r.fleetIncarnation === undefined || fleet.incarnation === undefined || r.fleetIncarnation === fleet.incarnation);

/** The revision `r` was made from, or undefined when nobody can tell (a server created by hand without a fleet). */
export function revisionOf(r: Pick<ServerRecord, 'revision' | 'specHash'>, fleet: FleetRevision | undefined): number | undefined {
  if (r.revision !== undefined) return r.revision;
  return fleet?.legacySpecHashes?.[r.specHash];
}

/**
 * A server of an older (or any other) revision than its fleet's current one, or of an earlier fleet
 * of its name. Unknown revisions are never outdated.
 */
export function isOutdated(r: Pick<ServerRecord, 'revision' | 'specHash' | 'fleetIncarnation'>, fleet: FleetRevision | undefined): boolean {
  if (!fleet) return false;
  if (r.fleetIncarnation !== undefined && fleet.incarnation !== undefined && r.fleetIncarnation !== fleet.incarnation) return true;
  const revision = revisionOf(r, fleet);
  return revision !== undefined && revision !== fleet.revision;
}

/** Every fleet's current revision, by name; the allocator and ACIReport read a recent copy of it. */
export interface FleetRevisionSource {
  /** A recent copy; one read at or after `since` (ms since the epoch) when given. */
  current(since?: number): Promise<ReadonlyMap<string, FleetRevision>>;
}
