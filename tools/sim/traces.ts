// Synthetic traces from a seeded PRNG, so every run of the simulator sees the same sessions: the two
// shipped ones (traces/*.csv) and the family `npm run simulate -- --family` runs a policy over, at
// three scales (a small game of 1–5 servers, a mid one of ~30, a large one of 300+) and four shapes
// (a flat day, a diurnal curve, spikes, a weekend).
// Sessions arrive as a Poisson process whose rate follows the wanted concurrency (rate = concurrency /
// mean duration); durations are 1 minute plus an exponential tail, capped at 90 minutes.
import { seededRandom, type TraceSession } from './simulator';

const MEAN_DURATION_S = 20 * 60;
const HOUR = 3600;

export interface TraceSpec {
  seconds: number;
  /** Concurrent sessions wanted at time t (seconds). */
  concurrency: (t: number) => number;
  /** Multiplies the arrival rate at t (a spike of new players, not of long sessions). */
  surge?: (t: number) => number;
  seed: number;
}

export function generate(spec: TraceSpec): TraceSession[] {
  const random = seededRandom(spec.seed);
  const exponential = (mean: number) => -Math.log(1 - random()) * mean;
  const sessions: TraceSession[] = [];
  for (let t = 0; t < spec.seconds; t++) {
    const rate = (spec.concurrency(t) / MEAN_DURATION_S) * (spec.surge?.(t) ?? 1);
    // Poisson arrivals within this second, by inversion (rates here are well under 10/s).
    let arrivals = 0;
    for (let p = Math.exp(-rate), u = random(), cdf = p; u > cdf; ) {
      arrivals++;
      p = (p * rate) / arrivals;
      cdf += p;
    }
    for (let i = 0; i < arrivals; i++) {
      const duration = Math.round(Math.min(90 * 60, 60 + exponential(MEAN_DURATION_S - 60)));
      sessions.push({ start: t, duration });
    }
  }
  return sessions;
}

export const toCsv = (sessions: readonly TraceSession[]) =>
  `start,duration\n${sessions.map((s) => `${s.start},${s.duration}`).join('\n')}\n`;

/** Low at 06:00, high at 18:00. */
const diurnal = (low: number, high: number) => (t: number) =>
  (low + high) / 2 - ((high - low) / 2) * Math.cos((2 * Math.PI * (t / HOUR - 6)) / 24);
/** `times` the arrivals for ten minutes from each of `hours` (a streamer's raid, a patch going live). */
const surges =
  (times: number, ...hours: number[]) =>
  (t: number) =>
    hours.some((h) => t >= h * HOUR && t < h * HOUR + 600) ? times : 1;
/** Two days of a weekend: quiet nights, a long busy afternoon and evening, Sunday a little lower. */
const weekend = (night: number, day: number) => (t: number) => {
  const h = (t / HOUR) % 24;
  const busy = Math.max(0, Math.sin((Math.PI * (h - 8)) / 16)) ** 1.5; // 08:00 to 24:00, highest at 16:00
  return (night + (day - night) * busy) * (t < 24 * HOUR ? 1 : 0.85);
};

export const TRACES: Record<string, TraceSpec> = {
  /** Six hours at about 300 concurrent sessions. */
  steady: { seconds: 6 * HOUR, concurrency: () => 300, seed: 42 },
  /**
   * A day: 150 concurrent at 06:00 rising to 850 at 18:00, and at 09:30 a sudden surge (four times
   * the arrivals for ten minutes — a streamer's raid, a patch going live) that more than doubles it.
   */
  'diurnal-spike': {
    seconds: 24 * HOUR,
    concurrency: (t) => 500 - 350 * Math.cos((2 * Math.PI * (t / HOUR - 6)) / 24),
    surge: (t) => (t >= 9.5 * HOUR && t < 9.5 * HOUR + 600 ? 4 : 1),
    seed: 7,
  },
};

export interface FamilyTrace {
  name: string;
  scale: 'small' | 'mid' | 'large';
  shape: 'flat' | 'diurnal' | 'spikes' | 'weekend';
  spec: TraceSpec;
  /** What it looks like, in a line. */
  about: string;
}

/**
 * The family. Each starts from an empty fleet and no sessions: the simulator leaves the first
 * FAMILY_WARMUP_SECONDS out of the figures (a real fleet is never empty at a busy hour).
 */
export const FAMILY: FamilyTrace[] = [
  {
    name: 'small-flat',
    scale: 'small',
    shape: 'flat',
    spec: { seconds: 24 * HOUR, concurrency: () => 20, seed: 101 },
    about: '20 concurrent all day (2 servers)',
  },
  {
    name: 'small-diurnal',
    scale: 'small',
    shape: 'diurnal',
    spec: { seconds: 24 * HOUR, concurrency: diurnal(4, 38), seed: 102 },
    about: '4 concurrent at 06:00 to 38 at 18:00 (peak 4–5 servers)',
  },
  {
    name: 'mid-flat',
    scale: 'mid',
    shape: 'flat',
    spec: { seconds: 8 * HOUR, concurrency: () => 330, seed: 201 },
    about: '330 concurrent for 8 hours (28 servers)',
  },
  {
    name: 'mid-diurnal',
    scale: 'mid',
    shape: 'diurnal',
    spec: { seconds: 24 * HOUR, concurrency: diurnal(40, 400), seed: 202 },
    about: '40 concurrent at 06:00 to 400 at 18:00 (peak 34 servers)',
  },
  {
    name: 'mid-spikes',
    scale: 'mid',
    shape: 'spikes',
    spec: { seconds: 24 * HOUR, concurrency: diurnal(80, 320), surge: surges(4, 9.5, 14, 20.5), seed: 203 },
    about: '80 to 320 concurrent, and three surges of 4× the arrivals for 10 minutes',
  },
  {
    name: 'mid-weekend',
    scale: 'mid',
    shape: 'weekend',
    spec: { seconds: 48 * HOUR, concurrency: weekend(60, 420), seed: 204 },
    about: 'Saturday and Sunday: 60 at night, 420 in the afternoon (Sunday 15 % lower)',
  },
  {
    name: 'large-evening',
    scale: 'large',
    shape: 'diurnal',
    spec: { seconds: 6 * HOUR, concurrency: (t) => 2600 + 1500 * Math.sin((Math.PI * t) / (6 * HOUR)) ** 2, seed: 301 },
    about: 'an evening: 2,600 concurrent rising to 4,100 and back (peak ~345 servers)',
  },
  {
    name: 'large-spikes',
    scale: 'large',
    shape: 'spikes',
    spec: { seconds: 4 * HOUR, concurrency: () => 3600, surge: surges(2, 1.5, 3), seed: 302 },
    about: '3,600 concurrent for 4 hours, two surges of twice the arrivals for 10 minutes',
  },
];

export const FAMILY_WARMUP_SECONDS = 30 * 60;
