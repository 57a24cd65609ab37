// A server as the fleet sees it (one table row), and the seed-compatible view callers receive.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { stableHash } from '../core/hash';
import type { ContainerGroupSpec } from './requests';
import { STATES, type ServerState } from './states';

/** A reservation counts in the server's load until it expires or a report made late enough covers it. */
export function isCounted(res: Reservation, r: Pick<ServerRecord, 'lastReportAt'>, now: Date): boolean {
  if (timeOf(res.expiresAt) <= now.getTime()) return false;
  return !(r.lastReportAt && timeOf(r.lastReportAt) >= timeOf(res.reportAfter));
}

// Every allocation weighs every booking of every server: the same few timestamps, parsed once.
const parsedTimes = new Map<string, number>();
function timeOf(iso: string): number {
  let t = parsedTimes.get(iso);
  if (t === undefined) {
    if (parsedTimes.size >= 50_000) parsedTimes.clear();
    t = Date.parse(iso);
    parsedTimes.set(iso, t);
  }
  return t;
}

/** Sessions booked on `r` that its own reports do not include yet. */
export function reservedSessions(r: Pick<ServerRecord, 'reservations' | 'lastReportAt'>, now: Date): number {
  let n = 0;
  for (const res of r.reservations ?? []) if (isCounted(res, r, now)) n += res.sessions;
  return n;
}

export interface ServerKey {
  resourceGroup: string;
  containerGroupName: string;
}

export interface ServerRecord extends ServerKey {
  state: ServerState;
  activeSessions: number;
  maxSessions: number;
  location: string;
  image: string;
  cpu: number;
  ramGb: number;
  publicIp?: string;
  fqdn?: string;
  createdAt: string;
  stateChangedAt: string;
  lastReportAt?: string;
  failureReason?: string;
  /** While MarkedForDeletion: the state it was drained from, where an un-drain returns it (see lifecycle.ts). */
  drainedFrom?: ServerState;
  /** Hash of the create request, so a repeated ACICreate can be told apart from a different one. */
  specHash: string;
  /**
   * Random at create (and on the group as a tag): tells this server from an earlier one of the
   * same name, so a report token dies with its server. Absent on rows made before incarnations.
   */
  incarnation?: string;
  /** Sessions booked by ACIAllocate that the server may not have reported yet (see ../allocation/booking.ts). */
  reservations?: Reservation[];
  /** The fleet it was made for (../fleets); absent for a server created without one. */
  fleet?: string;
  /** That fleet's incarnation: a fleet deleted and made again under its name never takes this server in. */
  fleetIncarnation?: string;
  /** The fleet's revision whose template it was made from. */
  revision?: number;
}

/** One booking made by ACIAllocate; it lives on the server's row so one ETag write checks and books. */
export interface Reservation {
  /** The caller's requestId, or a generated one. */
  id: string;
  sessions: number;
  /** When it was made. */
  at: string;
  /** A server report made at or after this time is taken to include these sessions. */
  reportAfter: string;
  /** After this it no longer counts, and a retry with the same requestId books afresh. */
  expiresAt: string;
}

/**
 * The representation every endpoint returns: the seed's PascalCase names plus what the fleet adds.
 * Defined once as a schema so the OpenAPI document and the TypeScript type cannot drift apart.
 */
export const serverView = z.object({
  ResourceGroup: z.string(),
  ContainerGroupName: z.string(),
  State: z.enum(STATES),
  ActiveSessions: z.number().int().min(0),
  MaxSessions: z.number().int().min(1),
  PublicIP: z.string().nullable(),
  Fqdn: z.string().nullable(),
  Location: z.string(),
  Image: z.string(),
  CPU: z.number(),
  RAM: z.number().describe('GB'),
  CreatedAt: z.string().describe('ISO 8601'),
  StateChangedAt: z.string().describe('ISO 8601'),
  LastReportAt: z.string().nullable().describe('ISO 8601; the last session report'),
  FailureReason: z.string().nullable(),
  ReservedSessions: z
    .number()
    .int()
    .min(0)
    .describe('sessions booked by ACIAllocate and not yet covered by a report (counted in the load)'),
  Fleet: z.string().nullable().describe('the fleet it belongs to; null when created without one (the default fleet counts those)'),
  Revision: z.number().int().min(1).nullable().describe('the fleet revision it was made from; null when created without a fleet'),
});
export type ServerView = z.infer<typeof serverView>;

export function toView(r: ServerRecord, now: Date): ServerView {
  return {
    ResourceGroup: r.resourceGroup,
    ContainerGroupName: r.containerGroupName,
    State: r.state,
    ActiveSessions: r.activeSessions,
    MaxSessions: r.maxSessions,
    PublicIP: r.publicIp ?? null,
    Fqdn: r.fqdn ?? null,
    Location: r.location,
    Image: r.image,
    CPU: r.cpu,
    RAM: r.ramGb,
    CreatedAt: r.createdAt,
    StateChangedAt: r.stateChangedAt,
    LastReportAt: r.lastReportAt ?? null,
    FailureReason: r.failureReason ?? null,
    // The bookings themselves stay private: their ids are the matchmakers', and ACIList may be public.
    ReservedSessions: reservedSessions(r, now),
    Fleet: r.fleet ?? null,
    Revision: r.revision ?? null,
  };
}

/**
 * Why `activeSessions` cannot be this server's count, or undefined when it can: a server holds at
 * most MaxSessions, so a higher count is a report to fix (refused, never clamped: a clamped count
 * would hide the game server's bug and let ACIAllocate book seats that are taken).
 */
export function sessionsBeyondCapacity(r: Pick<ServerRecord, 'maxSessions'>, activeSessions: number): string | undefined {
  return activeSessions > r.maxSessions
    ? `${activeSessions} is more than the server holds: its MaxSessions is ${r.maxSessions}`
    : undefined;
}

/** What an incarnation looks like: 16 base64url characters (96 random bits). */
export const INCARNATION = /^[A-Za-z0-9_-]{16}$/;

export const newIncarnation = (): string => randomBytes(12).toString('base64url');

/**
 * The hash that tells a repeated ACICreate from a different one. A server without a fleet hashes as
 * it always did, so the default fleet can recognise the servers made from its template before fleets.
 */
export const serverSpecHash = (containerGroup: ContainerGroupSpec, maxSessions: number, fleet?: string) =>
  stableHash({ containerGroup, maxSessions, fleet });

export const keyOf = (r: ServerKey): ServerKey => ({
  resourceGroup: r.resourceGroup,
  containerGroupName: r.containerGroupName,
});

export const describeKey = (k: ServerKey) => `${k.resourceGroup}/${k.containerGroupName}`;

/** `items` grouped by `keyOf`, in the order each key first appears. */
export function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/**
 * How a store writes many rows atomically: Table Storage's transactions hold one partition (resource
 * group) and at most `limit` rows, so the rows go in batches of one resource group, each all or nothing.
 */
export function transactionBatches<T>(rows: readonly T[], groupOf: (row: T) => string, limit: number): T[][] {
  const batches: T[][] = [];
  for (const group of groupBy(rows, groupOf).values()) {
    for (let i = 0; i < group.length; i += limit) batches.push(group.slice(i, i + limit));
  }
  return batches;
}
