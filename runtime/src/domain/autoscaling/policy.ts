// The autoscaler's decision, pure: from a snapshot of the fleet, recent unmet demand, the
// settings, the time and what it did lately, how many servers to create, which to drain and
// which drained ones to bring back. ACIAutoScaler and the simulator (tools/simulate.ts) both call it.
import { freeSlotsOf, hasLiveReservations, loadOf } from '../allocation/booking';
import { observeArrivals, poissonQuantile, type ArrivalEstimate } from './arrivals';
import type { DemandMiss } from '../allocation/ports';
import { keyOf, type ServerKey, type ServerRecord } from '../servers/server';

export const POLICIES = ['rate', 'threshold', 'buffer', 'seed'] as const;
/**
 * - `rate`: keep the free slots that cover the sessions expected to arrive before a server created
 *   now could take them (provisioning plus one autoscaler period), at a service level; the arrival
 *   rate is estimated from bookings, reports and misses (./arrivals.ts). The default.
 * - `threshold`: the original's utilisation thresholds, but it steps straight to the needed count,
 *   counts servers still Creating as capacity on the way, and has separate out/in cooldowns.
 * - `buffer`: keep a number (or percentage) of free session slots ready, plus recent unmet demand.
 * - `seed`: the original algorithm (one server per cooldown), kept as the simulator's baseline.
 */
export type ScalingPolicy = (typeof POLICIES)[number];

export interface ScalingConfig {
  policy: ScalingPolicy;
  minInstances: number;
  maxInstances: number;
  scaleOutThreshold: number;
  scaleInThreshold: number;
  /** The original's single cooldown after any action (the `seed` policy). */
  cooldownMs: number;
  /** After a scale out, before the next scale out. */
  scaleOutCooldownMs: number;
  /** After any scale out or in, before a scale in. */
  scaleInCooldownMs: number;
  /** `buffer`: free slots to keep ready… */
  bufferSlots: number;
  /** …or this percentage of all slots in use, whichever is more (like Agones' buffer policy). */
  bufferPercent: number;
  /** ACI's create quota: at most this many creates… */
  createQuota: number;
  /** …per this window. */
  createQuotaWindowMs: number;
  /** Misses older than this no longer count as demand. */
  demandWindowMs: number;
  /** MaxSessions of the servers the autoscaler creates. */
  newServerMaxSessions: number;
  /** `rate`: the share of lead times whose arrivals the free slots cover (0.9995). */
  serviceLevel: number;
  /** `rate`: how long a new server takes from create to Running. */
  provisioningMs: number;
  /** How often the policy runs (the longest gap its schedule leaves): a decision holds until the next one. */
  periodMs: number;
  /** How long a booking stays visible on its server (ALLOCATION_RESERVATION_TTL_SECONDS). */
  bookingLifetimeMs: number;
}

export interface LastActions {
  lastScaleOutAt?: string;
  lastScaleInAt?: string;
  /** When recent creates were sent (for the quota). */
  creates: readonly string[];
  /** The arrival rate the last run estimated (every policy keeps it, so a switch to `rate` starts warm). */
  arrivals?: ArrivalEstimate;
}

export interface Decision {
  create: number;
  /** Creates the policy would make were the create quota not spent (within the instance maximum); `create` when absent. */
  wanted?: number;
  drain: ServerKey[];
  /** Drained servers to put back in service: capacity at once, without provisioning. */
  restore: ServerKey[];
  reason: string;
  /** The arrival rate as of this decision, to keep for the next. */
  arrivals?: ArrivalEstimate;
}

const nothing = (reason: string): Decision => ({ create: 0, drain: [], restore: [], reason });

/** What every step of a policy looks at: the fleet, the settings, the time and the last actions. */
interface Situation {
  fleet: Census;
  config: ScalingConfig;
  now: Date;
  last: LastActions;
}

/** Everything the policies need to know about the fleet, computed once. */
interface Census {
  running: ServerRecord[];
  creating: ServerRecord[];
  draining: ServerRecord[];
  /** Servers the policy manages: Running and Creating. */
  instances: number;
  /** Creates still allowed: by the instance maximum (drained servers still count) and the quota. */
  createLimit: number;
  /** Creates the instance maximum alone still allows. */
  room: number;
  /** Unmet sessions since the window started or the last scale out, whichever is later. */
  unmet: number;
}

export function decide(
  snapshot: readonly ServerRecord[],
  demand: readonly DemandMiss[],
  config: ScalingConfig,
  now: Date,
  last: LastActions,
): Decision {
  const fleet = describe(snapshot, demand, config, now, last);
  const { estimate } = observeArrivals(snapshot, demand, arrivalSettings(config), now, last.arrivals);
  return { ...decideBy(fleet, config, now, last, estimate.perSecond), arrivals: estimate };
}

function decideBy(fleet: Census, config: ScalingConfig, now: Date, last: LastActions, perSecond: number): Decision {
  switch (config.policy) {
    case 'rate':
      return decideRate(fleet, config, now, last, perSecond);
    case 'seed':
      return decideSeed(fleet, config, now, last);
    case 'threshold':
      return decideThreshold(fleet, config, now, last);
    case 'buffer':
      return decideBuffer(fleet, config, now, last);
  }
}

/** Seconds from a decision to a server it creates taking sessions: what the free slots must bridge. */
export const leadSecondsOf = (c: ScalingConfig) => (c.provisioningMs + c.periodMs) / 1000;

function arrivalSettings(c: ScalingConfig) {
  return {
    periodMs: c.periodMs,
    bookingLifetimeMs: c.bookingLifetimeMs,
    demandWindowMs: c.demandWindowMs,
    // Arrivals that would fill the largest fleet within one lead time: any more would change nothing.
    maxPerSecond: (c.maxInstances * c.newServerMaxSessions) / Math.max(1, leadSecondsOf(c)),
  };
}

/** The free slots `rate` keeps: the arrivals of one lead time at the service level. */
export function slotsToCover(perSecond: number, config: ScalingConfig): number {
  return poissonQuantile(perSecond * leadSecondsOf(config), config.serviceLevel);
}

function describe(
  snapshot: readonly ServerRecord[],
  demand: readonly DemandMiss[],
  config: ScalingConfig,
  now: Date,
  last: LastActions,
): Census {
  const running = snapshot.filter((r) => r.state === 'Running');
  const creating = snapshot.filter((r) => r.state === 'Creating');
  const draining = snapshot.filter((r) => r.state === 'MarkedForDeletion');
  const existing = running.length + creating.length + draining.length;
  const recentCreates = last.creates.filter((t) => now.getTime() - Date.parse(t) < config.createQuotaWindowMs).length;
  const room = Math.max(0, config.maxInstances - existing);
  const createLimit = Math.max(0, Math.min(room, config.createQuota - recentCreates));

  // A miss from before the last scale out was what that scale out was for.
  const since = Math.max(now.getTime() - config.demandWindowMs, last.lastScaleOutAt ? Date.parse(last.lastScaleOutAt) + 1 : -Infinity);
  const seen = new Set<string>();
  let unmet = 0;
  for (const miss of demand) {
    const at = Date.parse(miss.at);
    if (at < since || at > now.getTime()) continue;
    if (miss.requestId) {
      if (seen.has(miss.requestId)) continue; // a matchmaker's retries are one player
      seen.add(miss.requestId);
    }
    unmet += miss.sessions;
  }
  return { running, creating, draining, instances: running.length + creating.length, createLimit, room, unmet };
}

const since = (now: Date, at: string | undefined) => (at ? now.getTime() - Date.parse(at) : Infinity);
const latest = (a: string | undefined, b: string | undefined) => (!a ? b : !b ? a : Date.parse(a) > Date.parse(b) ? a : b);
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** The original: one server out above the threshold, one in below, one cooldown for both. It only saw Running servers. */
function decideSeed(fleet: Census, config: ScalingConfig, now: Date, last: LastActions): Decision {
  if (since(now, latest(last.lastScaleOutAt, last.lastScaleInAt)) < config.cooldownMs) return nothing('cooling down');
  const servers = fleet.running.length;
  const sessions = sum(fleet.running.map((r) => r.activeSessions));
  const capacity = sum(fleet.running.map((r) => r.maxSessions));
  const one = Math.min(1, fleet.createLimit);
  const wanted = Math.min(1, fleet.room);
  if (servers < config.minInstances)
    return { ...nothing(`${servers} server(s), below the minimum ${config.minInstances}`), create: one, wanted };
  if (sessions > config.scaleOutThreshold * capacity && servers < config.maxInstances) {
    return { ...nothing(`${sessions}/${capacity} sessions is above ${config.scaleOutThreshold}`), create: one, wanted };
  }
  if (sessions < config.scaleInThreshold * capacity && servers > config.minInstances) {
    const victim = [...fleet.running].sort((a, b) => a.activeSessions - b.activeSessions || byName(a, b))[0]!;
    return { ...nothing(`${sessions}/${capacity} sessions is below ${config.scaleInThreshold}`), drain: [keyOf(victim)] };
  }
  return nothing('within thresholds');
}

/** Utilisation thresholds, stepping straight to the count that brings utilisation to the middle of the band. */
function decideThreshold(fleet: Census, config: ScalingConfig, now: Date, last: LastActions): Decision {
  const load = sum(fleet.running.map((r) => loadOf(r, now))) + fleet.unmet;
  const capacity = sum([...fleet.running, ...fleet.creating].map((r) => r.maxSessions));
  const target = (config.scaleOutThreshold + config.scaleInThreshold) / 2;
  const utilisation = capacity > 0 ? load / capacity : load > 0 ? Infinity : 0;
  const shortfall = Math.max(0, config.minInstances - fleet.instances);
  const describeLoad = `load ${load}/${capacity} (${capacity > 0 ? Math.round(utilisation * 100) : '∞'}%)`;

  if (utilisation > config.scaleOutThreshold || shortfall > 0) {
    const deficit = Math.ceil(load / target) - capacity;
    return scaleOut({ fleet, config, now, last }, { deficit, shortfall, why: `${describeLoad} above ${config.scaleOutThreshold}` });
  }
  if (utilisation < config.scaleInThreshold) {
    // Keep enough capacity for utilisation to land mid-band, never less than the minimum.
    const keep = Math.ceil(load / target);
    return scaleIn(
      { fleet, config, now, last },
      { enough: (_, capacityAfter) => capacityAfter >= keep, why: `${describeLoad} below ${config.scaleInThreshold}` },
    );
  }
  return nothing(`${describeLoad} within thresholds`);
}

/** Keep free slots ready: a fixed number or a share of the slots in use, plus what was recently asked for and missing. */
function decideBuffer(fleet: Census, config: ScalingConfig, now: Date, last: LastActions): Decision {
  const load = sum(fleet.running.map((r) => loadOf(r, now)));
  const free = sum(fleet.running.map((r) => freeSlotsOf(r, now))) + sum(fleet.creating.map((r) => r.maxSessions));
  const percent = Math.min(config.bufferPercent, 95);
  const buffer = Math.max(config.bufferSlots, Math.ceil((load * percent) / (100 - percent)));
  const wanted = buffer + fleet.unmet;
  const shortfall = Math.max(0, config.minInstances - fleet.instances);
  const describeFree = `${free} free slot(s) for a buffer of ${buffer}${fleet.unmet ? ` + ${fleet.unmet} unmet` : ''}`;

  if (free < wanted || shortfall > 0)
    return scaleOut({ fleet, config, now, last }, { deficit: wanted - free, shortfall, why: describeFree });
  // Drain only with a server's worth to spare beyond the buffer: sessions come and go, and a drain
  // undone minutes later costs a create and a server that lingers until its last session ends.
  return scaleIn(
    { fleet, config, now, last },
    { enough: (freeAfter, _, held) => freeAfter - held >= wanted + config.newServerMaxSessions, why: describeFree },
  );
}

/**
 * Keep free what the next lead time brings at the service level, plus what was asked for and
 * missed. Scale out when the free slots fall below that; drain a server only when the free slots
 * of the servers kept still cover it. Between the two the fleet rests: a band one server's free
 * slots wide (the hysteresis), with no cooldown. The averaged estimate keeps it from following
 * chance, and a drained server that is needed again comes back at once, without provisioning.
 */
function decideRate(fleet: Census, config: ScalingConfig, now: Date, last: LastActions, perSecond: number): Decision {
  const load = sum(fleet.running.map((r) => loadOf(r, now)));
  const free = sum(fleet.running.map((r) => freeSlotsOf(r, now))) + sum(fleet.creating.map((r) => r.maxSessions));
  const cover = slotsToCover(perSecond, config);
  const wanted = cover + fleet.unmet;
  const shortfall = Math.max(0, config.minInstances - fleet.instances);
  const describeFree =
    `${free} free slot(s), ${load} in use, for ${cover} (${(perSecond * 60).toFixed(1)} arrivals/min over ${leadSecondsOf(config)} s at ${config.serviceLevel})` +
    (fleet.unmet ? ` + ${fleet.unmet} unmet` : '');
  if (free < wanted || shortfall > 0)
    return scaleOut({ fleet, config, now, last }, { deficit: wanted - free, shortfall, why: describeFree });
  return scaleIn({ fleet, config, now, last }, { enough: (freeAfter) => freeAfter >= wanted, why: describeFree, cooldownMs: 0 });
}

/**
 * Adds `deficit` slots (and at least `shortfall` servers): drained servers come back first — they
 * are up already and still paid for — then new ones, within the maximum and ACI's create quota.
 * The minimum is restored even while cooling down.
 */
function scaleOut({ fleet, config, now, last }: Situation, step: { deficit: number; shortfall: number; why: string }): Decision {
  let { deficit, shortfall } = step;
  const { why } = step;
  if (since(now, last.lastScaleOutAt) < config.scaleOutCooldownMs) {
    deficit = 0;
    if (shortfall === 0) return nothing(`${why}; cooling down after the last scale out`);
  }
  const restore: ServerKey[] = [];
  // Bring back the busiest drained servers first: they would keep running longest anyway.
  for (const r of [...fleet.draining].sort((a, b) => b.activeSessions - a.activeSessions || byName(a, b))) {
    if (deficit <= 0 && shortfall <= 0) break;
    restore.push(keyOf(r));
    deficit -= Math.max(0, r.maxSessions - r.activeSessions);
    shortfall -= 1;
  }
  const wantedCreates = Math.max(Math.ceil(Math.max(0, deficit) / config.newServerMaxSessions), Math.max(0, shortfall));
  const create = Math.min(wantedCreates, fleet.createLimit);
  const wanted = Math.min(wantedCreates, fleet.room);
  const capped = create < wantedCreates ? ` (capped from ${wantedCreates} by the maximum or the create quota)` : '';
  if (create === 0 && restore.length === 0) return { ...nothing(`${why}; no room to add servers${capped}`), wanted };
  return { create, wanted, drain: [], restore, reason: `${why}: restore ${restore.length}, create ${create}${capped}` };
}

/**
 * Drains the emptiest Running servers while `enough(freeAfter, capacityAfter, held)` still holds, the
 * remaining servers can absorb what the drained ones hold, and the minimum stays. Never a server
 * with live reservations (a player is on the way), never while servers are still being created.
 */
function scaleIn(
  { fleet, config, now, last }: Situation,
  {
    enough,
    why,
    cooldownMs = config.scaleInCooldownMs,
  }: {
    /** Whether the fleet would still have enough: free slots and capacity left on the servers kept, and what the drained ones hold. */
    enough: (freeAfter: number, capacityAfter: number, heldByDrained: number) => boolean;
    why: string;
    cooldownMs?: number;
  },
): Decision {
  if (fleet.creating.length > 0) return nothing(`${why}; servers are still being created`);
  if (fleet.instances <= config.minInstances) return nothing(`${why}; at the minimum of ${config.minInstances}`);
  if (since(now, latest(last.lastScaleOutAt, last.lastScaleInAt)) < cooldownMs) return nothing(`${why}; cooling down`);

  let free = sum(fleet.running.map((r) => freeSlotsOf(r, now)));
  let capacity = sum(fleet.running.map((r) => r.maxSessions));
  let absorbed = 0;
  let instances = fleet.instances;
  const drain: ServerKey[] = [];
  const candidates = fleet.running
    .filter((r) => !hasLiveReservations(r, now))
    .sort((a, b) => loadOf(a, now) - loadOf(b, now) || byName(a, b));
  for (const r of candidates) {
    if (instances <= config.minInstances) break;
    const freeAfter = free - freeSlotsOf(r, now);
    const capacityAfter = capacity - r.maxSessions;
    const load = loadOf(r, now);
    if (!enough(freeAfter, capacityAfter, absorbed + load) || absorbed + load > freeAfter) break;
    drain.push(keyOf(r));
    free = freeAfter;
    capacity = capacityAfter;
    absorbed += load;
    instances -= 1;
  }
  if (drain.length === 0) return nothing(`${why}; no server can be drained without cutting into what is needed`);
  return { create: 0, drain, restore: [], reason: `${why}: drain ${drain.length}` };
}

const byName = (a: ServerRecord, b: ServerRecord) =>
  a.resourceGroup.localeCompare(b.resourceGroup) || a.containerGroupName.localeCompare(b.containerGroupName);
