// The `rate` policy's sense of demand, pure: how many sessions a fleet gets per second, estimated
// from what its servers and the allocator show (bookings, reports rising, misses), and the free
// slots that cover the arrivals of one lead time at a service level. docs/autoscaling.md explains why.
import type { DemandMiss } from '../allocation/ports';
import type { ServerRecord } from '../servers/server';

/** What one run learnt about the arrival rate; kept beside the lease, so the next run (on any instance) goes on from it. */
export interface ArrivalEstimate {
  /** When it was made (the deciding run's clock). */
  at: string;
  /** Sessions a second, averaged over about STEADY_SECONDS; a surge shows within RISE_SECONDS. */
  perSecond: number;
  /** Sessions the fleet's servers reported then, in every state: the next run's "reports rising". */
  reported: number;
}

export interface ArrivalSettings {
  /** How often the autoscaler runs (the longest gap its schedule leaves). */
  periodMs: number;
  /** How long a booking stays on its server's row: older ones can no longer be seen. */
  bookingLifetimeMs: number;
  /** How far back the misses read go. */
  demandWindowMs: number;
  /** No estimate above this (a burst of fake demand buys nothing past the maximum anyway). */
  maxPerSecond: number;
}

/**
 * Time constant of the estimate: long enough that chance (a few players more in one window than the
 * rate says) averages out and the fleet shrinks smoothly, short enough to follow an evening's ramp.
 */
export const STEADY_SECONDS = 10 * 60;
/** Time constant of a rise too large to be chance (see SURGE_LEVEL): a surge shows in full within minutes. */
export const RISE_SECONDS = 60;
/** A window's arrivals above this quantile of what the estimate expects are a surge, not noise. */
export const SURGE_LEVEL = 0.999;

export interface ArrivalObservation {
  estimate: ArrivalEstimate;
  /** Sessions that arrived in the window: booked or missed, or the reports' rise where that is more. */
  arrivals: number;
  windowSeconds: number;
}

/**
 * Observes arrivals since the previous estimate and folds them in. Robust to what a real fleet does:
 * a missing or garbled previous estimate (restart, storage lost) starts afresh from what is still
 * visible; a long gap looks back only as far as bookings and misses are kept; a previous estimate
 * from the future (another instance's clock runs ahead) is kept, not decayed, and never divides by
 * a tiny window; and the result never exceeds `maxPerSecond`.
 */
export function observeArrivals(
  snapshot: readonly ServerRecord[],
  misses: readonly DemandMiss[],
  settings: ArrivalSettings,
  now: Date,
  previous: ArrivalEstimate | undefined,
): ArrivalObservation {
  const t = now.getTime();
  const prev = saneEstimate(previous, settings.maxPerSecond);
  const longest = Math.max(1000, Math.min(settings.bookingLifetimeMs, settings.demandWindowMs));
  const shortest = Math.min(longest, Math.max(1000, settings.periodMs / 2));
  const gap = prev ? t - Date.parse(prev.at) : Number.NaN;
  const lookback = Number.isFinite(gap) ? Math.min(longest, Math.max(shortest, gap)) : longest;
  const start = t - lookback;

  const seen = new Set<string>();
  let booked = 0;
  let reported = 0;
  for (const r of snapshot) {
    reported += Math.max(0, r.activeSessions);
    for (const res of r.reservations ?? []) {
      const at = Date.parse(res.at);
      // A booking stamped a little ahead (the allocating instance's clock) still counts once it is made.
      if (!(at > start && at <= t + settings.periodMs) || seen.has(res.id)) continue;
      seen.add(res.id);
      booked += Math.max(0, res.sessions);
    }
  }
  let missed = 0;
  for (const m of misses) {
    const at = Date.parse(m.at);
    if (!(at > start && at <= t)) continue;
    if (m.requestId) {
      if (seen.has(m.requestId)) continue; // one player: retried, or booked since
      seen.add(m.requestId);
    }
    missed += Math.max(0, m.sessions);
  }
  // Sessions that came without a booking (a matchmaker of its own, the original clients) show as reports rising;
  // a rise is arrivals less departures, so it only ever raises the count. Over a long gap it says nothing.
  const rise = prev && gap > 0 && gap <= longest ? Math.max(0, reported - prev.reported) : 0;
  const arrivals = Math.max(booked, rise) + missed;
  const windowSeconds = lookback / 1000;
  const sample = Math.min(settings.maxPerSecond, arrivals / windowSeconds);

  let perSecond = sample;
  if (prev && !(gap > 0))
    perSecond = Math.max(prev.perSecond, sample); // skewed clocks: keep what is known
  else if (prev) {
    // A symmetric average, so noise does not ratchet it up; only a rise beyond chance is followed fast.
    const surge = arrivals > poissonQuantile(prev.perSecond * windowSeconds, SURGE_LEVEL);
    const keep = Math.exp(-gap / 1000 / (surge ? RISE_SECONDS : STEADY_SECONDS));
    perSecond = prev.perSecond * keep + sample * (1 - keep);
  }
  return {
    estimate: { at: now.toISOString(), perSecond: Math.min(settings.maxPerSecond, perSecond), reported },
    arrivals,
    windowSeconds,
  };
}

/** The previous estimate if it is one (the record is JSON anyone with storage access could edit). */
function saneEstimate(e: ArrivalEstimate | undefined, maxPerSecond: number): ArrivalEstimate | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const ok =
    typeof e.at === 'string' &&
    Number.isFinite(Date.parse(e.at)) &&
    typeof e.perSecond === 'number' &&
    Number.isFinite(e.perSecond) &&
    e.perSecond >= 0 &&
    typeof e.reported === 'number' &&
    Number.isFinite(e.reported) &&
    e.reported >= 0;
  return ok ? { ...e, perSecond: Math.min(maxPerSecond, e.perSecond) } : undefined;
}

/**
 * The least k with P(Poisson(mean) <= k) >= level: the free slots that cover the arrivals of one
 * lead time `level` of the time. Summed in log space from 0 (exact at any mean this code meets).
 */
export function poissonQuantile(mean: number, level: number): number {
  if (!(mean > 0)) return 0;
  const logMean = Math.log(mean);
  let logP = -mean;
  let cdf = Math.exp(logP);
  let k = 0;
  const limit = Math.ceil(mean + 12 * Math.sqrt(mean) + 20);
  while (cdf < level && k < limit) {
    k++;
    logP += logMean - Math.log(k);
    cdf += Math.exp(logP);
  }
  return k;
}
