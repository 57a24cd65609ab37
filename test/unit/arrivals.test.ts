// The rate policy (runtime/src/domain/autoscaling/arrivals.ts, policy.ts `rate`): the Poisson
// quantile, the arrival estimate over restarts, gaps and skewed clocks, and the decision's bounds
// under fake demand and stuck reports. Every time is given: nothing here reads the machine's clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { DemandMiss } from '../../runtime/src/domain/allocation/ports';
import {
  observeArrivals,
  poissonQuantile,
  STEADY_SECONDS,
  type ArrivalEstimate,
  type ArrivalSettings,
} from '../../runtime/src/domain/autoscaling/arrivals';
import { decide, slotsToCover, type ScalingConfig } from '../../runtime/src/domain/autoscaling/policy';
import { describeKey, type Reservation, type ServerRecord } from '../../runtime/src/domain/servers/server';
import type { ServerState } from '../../runtime/src/domain/servers/states';
import { readSettings, scalingConfigFrom } from '../../runtime/src/options';
import { seededRandom } from '../../tools/sim/simulator';
import { numberedServers } from '../support/records';

const T0 = Date.parse('2026-11-22T12:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();

const SETTINGS: ArrivalSettings = { periodMs: 30_000, bookingLifetimeMs: 60_000, demandWindowMs: 60_000, maxPerSecond: 100 };

const fleetMember = numberedServers(iso(-3600));
let counter = 0; // also keeps the request ids of the property test's bookings apart
function server(state: ServerState, activeSessions = 0, reservations?: Reservation[]): ServerRecord {
  counter++;
  return fleetMember(state, activeSessions, { reservations });
}
/** `n` bookings of one session made at `second` (relative to T0). */
const bookings = (n: number, second: number, prefix = `b${second}`): Reservation[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    sessions: 1,
    at: iso(second),
    reportAfter: iso(second + 5),
    expiresAt: iso(second + 60),
  }));
const misses = (n: number, second: number, requestId?: string): DemandMiss[] =>
  Array.from({ length: n }, () => ({ at: iso(second), sessions: 1, requestId }));
const estimate = (second: number, perSecond: number, reported = 0): ArrivalEstimate => ({ at: iso(second), perSecond, reported });

describe('poissonQuantile', () => {
  it('is the least k whose cumulative probability reaches the level (worked out by hand)', () => {
    // Poisson(1): P(X<=4) = 0.99634, P(X<=5) = 0.99941. Poisson(2): P(X<=7) = 0.99890, P(X<=8) = 0.99976.
    assert.equal(poissonQuantile(1, 0.999), 5);
    assert.equal(poissonQuantile(2, 0.999), 8);
    assert.equal(poissonQuantile(1, 0.99), 4);
    assert.equal(poissonQuantile(0, 0.999), 0);
  });

  it('stays exact where exp(-mean) underflows: near mean + 3.09 sd at 99.9 %', () => {
    for (const mean of [1000, 10_000, 100_000]) {
      const k = poissonQuantile(mean, 0.999);
      const z = (k - mean) / Math.sqrt(mean);
      assert.ok(z > 3.0 && z < 3.25, `mean ${mean}: ${k} is ${z.toFixed(2)} sd above`);
    }
  });

  it('grows with the mean and the level', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 5000, noNaN: true }), fc.double({ min: 0.5, max: 0.9999, noNaN: true }), (mean, level) => {
        assert.ok(poissonQuantile(mean * 1.1 + 1, level) >= poissonQuantile(mean, level));
        assert.ok(poissonQuantile(mean, Math.min(0.99999, level + 0.0001)) >= poissonQuantile(mean, level));
      }),
    );
  });
});

describe('observeArrivals', () => {
  it('counts each booking since the last run once, and misses no booking has answered since', () => {
    const fleet = [server('Running', 3, bookings(3, -10)), server('Running', 0, [...bookings(2, -20), ...bookings(4, -50, 'old')])];
    const missed = [...misses(2, -5, 'retry-1'), ...misses(3, -4), ...misses(1, -8, 'b-10-0')]; // the last one was booked since
    const { arrivals, windowSeconds } = observeArrivals(fleet, missed, SETTINGS, at(0), estimate(-30, 0, 3));
    assert.equal(windowSeconds, 30);
    // 3 + 2 bookings in the last 30 s (not the 4 from 50 s ago), the retried miss once, 3 anonymous misses.
    assert.equal(arrivals, 3 + 2 + 1 + 3);
  });

  it('takes reports rising as arrivals when nothing was booked (sessions that never went through ACIAllocate)', () => {
    const fleet = [server('Running', 10), server('MarkedForDeletion', 5)];
    const { arrivals, estimate: e } = observeArrivals(fleet, [], SETTINGS, at(0), estimate(-30, 0, 6));
    assert.equal(arrivals, 9); // 15 reported now, 6 then
    assert.equal(e.reported, 15);
  });

  it('after a restart (no estimate kept) looks back over what bookings and misses are kept, and ignores the reports', () => {
    const fleet = [server('Running', 11, [...bookings(6, -50), ...bookings(9, -90)])];
    const { arrivals, windowSeconds, estimate: e } = observeArrivals(fleet, [], SETTINGS, at(0), undefined);
    assert.equal(windowSeconds, 60);
    assert.equal(arrivals, 6);
    assert.equal(e.perSecond, 0.1);
  });

  it('after a long gap does not take a day of reports rising for one window of arrivals', () => {
    const fleet = [server('Running', 12, bookings(3, -20))];
    const { arrivals, windowSeconds } = observeArrivals(fleet, [], SETTINGS, at(0), estimate(-6 * 3600, 0.5, 0));
    assert.equal(windowSeconds, 60);
    assert.equal(arrivals, 3);
  });

  it('keeps an estimate made by an instance whose clock runs ahead, without dividing by a tiny window', () => {
    const fleet = [server('Running', 4, bookings(3, -5))];
    const ahead = observeArrivals(fleet, [], SETTINGS, at(0), estimate(20, 2, 4));
    assert.equal(ahead.estimate.perSecond, 2, 'not decayed by a negative gap');
    assert.ok(ahead.windowSeconds >= 15, `window ${ahead.windowSeconds} s`);
    const barely = observeArrivals(fleet, [], SETTINGS, at(0), estimate(-0.001, 0, 4));
    assert.ok(barely.windowSeconds >= 15 && barely.estimate.perSecond <= 3 / 15);
  });

  it('ignores a kept estimate that is not one (edited, truncated, from an older version)', () => {
    const garbage = [
      { at: 'yesterday', perSecond: 1, reported: 0 },
      { at: iso(-30), perSecond: Number.NaN, reported: 0 },
      { at: iso(-30), perSecond: -5, reported: 0 },
      { at: iso(-30), perSecond: 1, reported: '7' },
      { at: iso(-30), perSecond: 1e308, reported: 1e308 * 10 },
      'rate',
    ] as unknown as ArrivalEstimate[];
    for (const g of garbage) {
      const { estimate: e } = observeArrivals([server('Running', 2, bookings(6, -10))], [], SETTINGS, at(0), g);
      assert.equal(e.perSecond, 0.1, JSON.stringify(g)); // 6 bookings over the 60 s a fresh start looks back
    }
  });

  /** Runs every 30 s from `from`, each seeing `count(second)` one-session bookings made in its window. */
  function runs(start: ArrivalEstimate | undefined, from: number, to: number, count: (second: number) => number) {
    let e = start;
    for (let second = from; second <= to; second += 30) {
      const fleet = [server('Running', 0, bookings(count(second), second - 15, `r${second}`))];
      e = observeArrivals(fleet, [], { ...SETTINGS, maxPerSecond: 1000 }, at(second), e).estimate;
    }
    return e!;
  }

  it('follows a surge within minutes, and lets go of it slowly', () => {
    const surged = runs(estimate(-30, 1, 0), 0, 240, () => 300); // 1/s, then 10/s: far beyond chance
    assert.ok(surged.perSecond > 9, `4 minutes into the surge: ${surged.perSecond}`);
    const after = runs(surged, 270, 270 + 300, () => 30);
    const kept = 1 + (surged.perSecond - 1) * Math.exp(-330 / STEADY_SECONDS);
    assert.ok(Math.abs(after.perSecond - kept) < 0.3, `5 minutes after: ${after.perSecond}, about ${kept}`);
  });

  it('averages chance out instead of ratcheting up on it (a small game: one arrival a minute)', () => {
    const random = seededRandom(5);
    const poisson = (mean: number) => {
      let k = 0;
      for (let p = Math.exp(-mean), u = random(), cdf = p; u > cdf; k++, p = (p * mean) / k, cdf += p);
      return k;
    };
    const seen: number[] = [];
    let e: ArrivalEstimate | undefined;
    for (let second = 0; second < 6 * 3600; second += 30) {
      e = runs(e, second, second, () => poisson(0.5));
      if (second > 3600) seen.push(e.perSecond * 60);
    }
    const mean = seen.reduce((a, b) => a + b, 0) / seen.length;
    assert.ok(mean > 0.8 && mean < 1.2, `mean estimate ${mean.toFixed(2)} a minute, 1 true`);
  });

  it('never exceeds the most that could matter, whatever floods in', () => {
    const flood = misses(10_000_000, -1);
    const { estimate: e } = observeArrivals([], flood, SETTINGS, at(0), estimate(-30, 1e9, 0));
    assert.equal(e.perSecond, SETTINGS.maxPerSecond);
  });
});

const RATE: ScalingConfig = { ...scalingConfigFrom(readSettings({})), newServerMaxSessions: 12, minInstances: 1, maxInstances: 50 };

describe('decide with the rate policy', () => {
  it('keeps free the slots one lead time of arrivals needs (Poisson quantile at the service level)', () => {
    // Lead time 30 s provisioning + 30 s period; 1 arrival a second: 60 expected, 85 at 99.9 %, 87 at the default 99.95 %.
    assert.equal(RATE.serviceLevel, 0.9995);
    assert.equal(slotsToCover(1, RATE), poissonQuantile(60, 0.9995));
    assert.ok(slotsToCover(1, RATE) > poissonQuantile(60, 0.999), 'more headroom than 99.9 %');
    const fleet = [server('Running', 12), server('Running', 12)];
    const d = decide(fleet, [], RATE, at(0), { creates: [], arrivals: estimate(-30, 1, 24) });
    const cover = poissonQuantile(60 * d.arrivals!.perSecond, 0.9995);
    assert.equal(d.create, Math.ceil(cover / 12), d.reason);
    assert.equal(d.arrivals?.at, iso(0));
  });

  it('brings drained servers back before it creates any', () => {
    const drained = [server('MarkedForDeletion', 6), server('MarkedForDeletion', 2)];
    const d = decide([server('Running', 12), ...drained], [], RATE, at(0), { creates: [], arrivals: estimate(-30, 0.2, 20) });
    // 0.2/s over 60 s: 12 expected, about 23 at the service level: both drained servers (6 + 10 free) and one new.
    assert.deepEqual(d.restore.map(describeKey).sort(), drained.map(describeKey).sort(), d.reason);
    assert.equal(d.create, 1, d.reason);
  });

  it('drains the emptiest servers as soon as a server more than is needed is free, without a cooldown', () => {
    const fleet = [server('Running', 11), server('Running', 1), server('Running', 0), server('Running', 9)];
    const d = decide(fleet, [], RATE, at(0), {
      creates: [],
      lastScaleInAt: iso(-30),
      lastScaleOutAt: iso(-60),
      arrivals: estimate(-30, 0.01, 21),
    });
    // 0.57 arrivals expected: 4 slots at 99.9 %. 27 free; draining the empty server leaves 15, the one
    // with 1 session 4 (still enough, and able to take its session), the next would leave 1.
    assert.deepEqual(d.drain.map(describeKey), [describeKey(fleet[2]!), describeKey(fleet[1]!)], d.reason);
  });

  it('creates for a burst of misses at once, capped by the maximum', () => {
    const d = decide([server('Running', 12)], misses(2000, -2), RATE, at(0), { creates: [] });
    assert.equal(d.create, RATE.maxInstances - 1, d.reason);
  });
});

describe('decide with the rate policy (properties: fake demand, stuck reports, garbled state)', () => {
  const arbServer = fc.record({
    state: fc.constantFrom<ServerState>('Running', 'Running', 'Running', 'Creating', 'MarkedForDeletion'),
    sessions: fc.integer({ min: 0, max: 12 }),
    booked: fc.integer({ min: 0, max: 30 }),
    bookedAgo: fc.integer({ min: -120, max: 120 }),
  });
  const arbPrevious = fc.option(
    fc.record({
      at: fc.integer({ min: -86_400, max: 3600 }).map(iso),
      perSecond: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant(Number.NaN), fc.constant(-1)),
      reported: fc.integer({ min: 0, max: 1_000_000 }),
    }),
    { nil: undefined },
  );

  it('never goes past the maximum or below the minimum, and never both ways at once', () => {
    fc.assert(
      fc.property(
        fc.array(arbServer, { maxLength: 40 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 100_000 }),
        arbPrevious,
        (specs, minInstances, maxInstances, fake, previous) => {
          const config = { ...RATE, minInstances: Math.min(minInstances, maxInstances), maxInstances };
          const fleet = specs.map((s) =>
            server(
              s.state,
              s.sessions,
              s.state === 'Running' && s.booked > 0 ? bookings(s.booked, -s.bookedAgo, `x${counter}`) : undefined,
            ),
          );
          const demand: DemandMiss[] = fake > 0 ? [{ at: iso(-1), sessions: fake }] : [];
          const d = decide(fleet, demand, config, at(0), { creates: [], arrivals: previous as ArrivalEstimate | undefined });
          const existing = fleet.length;
          const instances = fleet.filter((r) => r.state === 'Running' || r.state === 'Creating').length;
          assert.ok(d.create <= Math.max(0, config.maxInstances - existing), `within the maximum: ${d.reason}`);
          assert.ok(d.create === 0 || d.drain.length === 0, 'never both ways');
          if (d.drain.length > 0) assert.ok(instances - d.drain.length >= config.minInstances, `the minimum stays: ${d.reason}`);
          assert.ok(d.arrivals && Number.isFinite(d.arrivals.perSecond) && d.arrivals.perSecond >= 0, 'a sane estimate to keep');
        },
      ),
      { numRuns: 400 },
    );
  });
});
