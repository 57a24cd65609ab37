// Writes the shipped traces (traces/*.csv) from a seeded PRNG, so they can be regenerated exactly:
//   npx tsx tools/generate-traces.ts
// Sessions arrive as a Poisson process whose rate follows the wanted concurrency (rate = concurrency /
// mean duration); durations are 1 minute plus an exponential tail, capped at 90 minutes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom, type TraceSession } from './sim/simulator';

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

export const toCsv = (sessions: readonly TraceSession[]) =>
  `start,duration\n${sessions.map((s) => `${s.start},${s.duration}`).join('\n')}\n`;

if (require.main === module) {
  for (const [name, spec] of Object.entries(TRACES)) {
    const sessions = generate(spec);
    const file = join(__dirname, '..', 'traces', `${name}.csv`);
    writeFileSync(file, toCsv(sessions));
    console.log(`${file}: ${sessions.length} sessions over ${spec.seconds / HOUR} h`);
  }
}
