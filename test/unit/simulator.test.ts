import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oracleServerMinutes, parseTrace, simulate } from '../../tools/sim/simulator';

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
  });

  it('refuses a trace without its header or with a bad row, naming the line', () => {
    assert.throws(() => parseTrace('0,60\n'), /first line must be 'start,duration'/);
    assert.throws(() => parseTrace('start,duration\n0,60\n5,-1\n'), /line 3/);
  });
});
