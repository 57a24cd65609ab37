import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asciiChart } from '../../tools/sim/asciiChart';
import { oracleServerMinutes, parseTrace, simulate, type TraceSession } from '../../tools/sim/simulator';
import { FAMILY, generate } from '../../tools/sim/traces';

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);

describe('the simulator on tiny traces (figures worked out by hand)', () => {
  it('seed: one server, two sessions fill it, the third is turned away', async () => {
    // max 2 sessions a server. The warm start gives the seed's one server; its 10-minute cooldown
    // keeps it from adding another when the third session comes at 30 s.
    const trace = parseTrace('start,duration\n0,60\n0,60\n30,60\n');
    const r = await simulate(trace, { policy: 'seed', maxSessions: 2, maxInstances: 100, provisionSeconds: 30 });
    assert.equal(r.sessions, 3);
    assert.equal(r.rejected, 1);
    close(r.rejectedRatio, 1 / 3, 'rejectedRatio');
    close(r.serverMinutes, 90 / 60, 'serverMinutes'); // one server for the 90 s the trace lasts
    // Concurrency 2, 3, 1 over three 30 s spans -> 1, 2, 1 servers -> 120 s.
    close(r.oracleServerMinutes, 2, 'oracleServerMinutes');
    close(r.costRatio, 0.75, 'costRatio');
    assert.equal(r.peakServers, 1);
    assert.equal(r.scaleOuts, 1);
    assert.equal(r.scaleIns, 0);
  });

  it('buffer: scales out ahead of demand, paying for provisioning time', async () => {
    // Buffer of 2 free slots, max 2 sessions a server, 10 s provisioning, runs every 30 s:
    //  t=0 warm start: 1 server (S1). A (0 s) and B (1 s) fill it.
    //  t=30: 0 free < 2 -> create S2 (Running at 40). C (40 s) and D (45 s) fill it.
    //  t=60: 0 free -> create S3 (Running at 70). Nothing drains: the scale-in cooldown is 10 minutes.
    // The trace ends at 145 s: S1 145 s + S2 115 s + S3 85 s = 345 s.
    const trace = parseTrace('start,duration\n0,100\n1,100\n40,100\n45,100\n');
    const r = await simulate(trace, {
      policy: 'buffer',
      maxSessions: 2,
      maxInstances: 100,
      provisionSeconds: 10,
      settings: { AUTOSCALER_BUFFER_SLOTS: '2', AUTOSCALER_BUFFER_PERCENT: '0' },
    });
    assert.equal(r.rejected, 0);
    close(r.serverMinutes, 345 / 60, 'serverMinutes');
    // Concurrency 1,2,3,4,3,2,1 on [0,1,40,45,100,101,140,145] -> servers 1,1,2,2,2,1,1 -> 206 s.
    close(r.oracleServerMinutes, 206 / 60, 'oracleServerMinutes');
    close(r.costRatio, 345 / 206, 'costRatio');
    assert.equal(r.peakServers, 3);
    assert.equal(r.scaleOuts, 3);
    assert.equal(r.scaleIns, 0);
  });

  it('computes the oracle as the integral of ceil(concurrent / max)', () => {
    close(
      oracleServerMinutes(
        [
          { start: 0, duration: 60 },
          { start: 0, duration: 120 },
          { start: 30, duration: 30 },
        ],
        2,
      ),
      (30 + 30 * 2 + 60) / 60,
      'oracle',
    );
    assert.equal(oracleServerMinutes([], 12), 0);
    // From 30 s on: 2 servers for 30 s, then 1 for 60 s.
    close(
      oracleServerMinutes(
        [
          { start: 0, duration: 60 },
          { start: 0, duration: 120 },
          { start: 30, duration: 30 },
        ],
        2,
        30,
      ),
      (30 * 2 + 60) / 60,
      'oracle after a warm-up',
    );
  });

  it('leaves the warm-up out of every figure', async () => {
    // seed, 2 sessions a server: the third session at 1 s is turned away, inside the 10 s warm-up;
    // after it, one server for 50 s. The oracle serves all three: 2 servers to 31 s, then 1 to 60 s.
    const trace = parseTrace('start,duration\n0,60\n0,60\n1,30\n');
    const r = await simulate(trace, { policy: 'seed', maxSessions: 2, maxInstances: 100, provisionSeconds: 30, warmupSeconds: 10 });
    assert.equal(r.sessions, 0, 'no session starts after the warm-up');
    assert.equal(r.rejected, 0);
    close(r.serverMinutes, 50 / 60, 'serverMinutes');
    close(r.oracleServerMinutes, (21 * 2 + 29) / 60, 'oracleServerMinutes');
  });

  it('refuses a trace without its header or with a bad row, naming the line', () => {
    assert.throws(() => parseTrace('0,60\n'), /first line must be 'start,duration'/);
    assert.throws(() => parseTrace('start,duration\n0,60\n5,-1\n'), /line 3/);
  });
});

/** The most sessions at once in a trace. */
function peakConcurrency(sessions: readonly TraceSession[]): number {
  const events = sessions.flatMap(
    (s): Array<[number, number]> => [
      [s.start, 1],
      [s.start + s.duration, -1],
    ],
  );
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of events) {
    now += d;
    peak = Math.max(peak, now);
  }
  return peak;
}

describe('the family of traces', () => {
  it('is the same on every run (seeded), and each trace is at the scale its name says (12 sessions a server)', () => {
    const servers = { small: [1, 5], mid: [25, 60], large: [300, 800] } as const;
    for (const member of FAMILY) {
      const sessions = generate(member.spec);
      assert.deepEqual(generate(member.spec).slice(0, 50), sessions.slice(0, 50), `${member.name} repeats`);
      const peak = Math.ceil(peakConcurrency(sessions) / 12);
      const [low, high] = servers[member.scale];
      assert.ok(peak >= low && peak <= high, `${member.name}: peak of ${peak} servers, not ${low}–${high}`);
    }
    const shapes = new Set(FAMILY.map((f) => f.shape));
    assert.deepEqual([...shapes].sort(), ['diurnal', 'flat', 'spikes', 'weekend']);
  });

  it('charts servers against what a clairvoyant fleet needs, and where sessions were turned away', () => {
    const samples = [0, 60, 120, 180].map((t, i) => ({
      t,
      demand: [12, 24, 36, 12][i]!,
      capacity: 0,
      servers: [2, 2, 4, 3][i]!,
      rejected: i === 2 ? 1 : 0,
    }));
    const chart = asciiChart([{ mark: 'r', label: 'rate', samples }], 12, 8, 5);
    const rows = chart.split('\n');
    assert.equal(rows[0], '    4 ┤     r  ', 'the peak of 4 servers on the top row, at 120 s of 180');
    assert.equal(rows[1], '      ┤     · r', 'the 3 servers 36 sessions need, under it; 3 servers at the end');
    assert.ok(
      rows.some((r) => r.startsWith('r away') && r.includes('x')),
      chart,
    );
    assert.match(chart, /r rate; · what a clairvoyant fleet needs/);
  });
});
