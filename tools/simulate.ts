// npm run simulate -- --trace FILE [--policy threshold|buffer|seed[,...]] [--max-sessions N] [--max-instances N]
//                     [--provision-seconds S] [--rollout-at S] [--json] [--chart FILE.svg] [--set SETTING=VALUE ...]
// Replays a trace of sessions against the real allocation and fleet controller code on a simulated
// clock and prints what the policy would have cost and how many sessions it would have turned away;
// with --rollout-at, a rolling update in the middle: sessions cut (must be 0) and its extra server-minutes.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { POLICIES, type ScalingPolicy } from '../runtime/src/domain/autoscaling/policy';
import { isSettingName, readSettings } from '../runtime/src/options';
import { chartSvg } from './sim/chart';
import { parseTrace, simulate, type SimulationResult } from './sim/simulator';

const USAGE = `usage: npm run simulate -- --trace FILE [--policy ${POLICIES.join('|')}[,...]] [--max-sessions N] [--max-instances N]
                            [--provision-seconds S] [--rollout-at S] [--json] [--chart FILE.svg] [--set SETTING=VALUE ...]`;

/** A run with a rollout, next to the same run without one. */
type Figures = Omit<SimulationResult, 'samples'> & { rolloutExtraServerMinutes?: number };

function parseCommandLine() {
  return parseArgs({
    options: {
      trace: { type: 'string' },
      policy: { type: 'string' },
      'max-sessions': { type: 'string', default: '12' },
      'max-instances': { type: 'string', default: '100' },
      'provision-seconds': { type: 'string', default: '30' },
      'rollout-at': { type: 'string' },
      json: { type: 'boolean', default: false },
      chart: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
  }).values;
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseCommandLine>;
  try {
    args = parseCommandLine();
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (!args.trace) {
    console.error(`--trace is required\n${USAGE}`);
    return 2;
  }
  const settings = Object.fromEntries(
    args.set.map((kv) => {
      const at = kv.indexOf('=');
      if (at < 1) throw new Error(`--set takes SETTING=VALUE, not '${kv}'`);
      if (!isSettingName(kv.slice(0, at)))
        throw new Error(`--set: '${kv.slice(0, at)}' is not a setting (see the README's settings table)`);
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
  );
  // Several policies (comma-separated) run one after another and print side by side.
  const policies = (args.policy ?? readSettings(settings).AUTOSCALER_POLICY).split(',').map((p) => p.trim()) as ScalingPolicy[];
  const unknown = policies.find((p) => !POLICIES.includes(p));
  if (unknown !== undefined) {
    console.error(`--policy must be one of ${POLICIES.join(', ')} (or several, comma-separated), not '${unknown}'`);
    return 2;
  }
  if (args.chart && policies.length > 1) {
    console.error('--chart draws one policy; give a single --policy');
    return 2;
  }
  const number = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, not '${value}'`);
    return n;
  };
  const maxSessions = number('max-sessions', args['max-sessions'], 1);
  const maxInstances = number('max-instances', args['max-instances'], 1);
  const provisionSeconds = number('provision-seconds', args['provision-seconds'], 0);
  const rolloutAtSeconds = args['rollout-at'] === undefined ? undefined : number('rollout-at', args['rollout-at'], 1);

  const trace = parseTrace(readFileSync(args.trace, 'utf8'));
  const name = basename(args.trace);
  const figures: Figures[] = [];
  for (const policy of policies) {
    const run = (rollout: number | undefined) =>
      simulate(trace, {
        policy,
        maxSessions,
        maxInstances,
        provisionSeconds,
        settings,
        rolloutAtSeconds: rollout,
        sampleSeconds: args.chart ? 60 : undefined,
        progress: trace.length > 2_000 ? progressReporter(`${name} ${policy}${rollout === undefined ? '' : ' with a rollout'}`) : undefined,
      });
    const result = await run(rolloutAtSeconds);
    if (args.chart) {
      writeFileSync(args.chart, chartSvg(result, name));
      console.error(`chart written to ${args.chart}`);
    }
    const { samples: _, ...rest } = result;
    // What the rollout cost: the same trace and policy without it, side by side.
    const baseline = rolloutAtSeconds === undefined ? undefined : await run(undefined);
    figures.push(baseline ? { ...rest, rolloutExtraServerMinutes: result.serverMinutes - baseline.serverMinutes } : rest);
  }
  // --json: one JSON object per policy, one per line.
  console.log(args.json ? figures.map((f) => JSON.stringify(f)).join('\n') : table(figures));
  return 0;
}

/** Progress on stderr: a live percentage on a terminal, a line per tenth otherwise (CI logs). */
function progressReporter(label: string): (fraction: number) => void {
  if (process.stderr.isTTY) {
    return (f) => process.stderr.write(`\r${label}: ${Math.round(f * 100)}%${f >= 1 ? '\n' : ''}`);
  }
  let shown = -1;
  return (f) => {
    const tenth = Math.floor(f * 10);
    if (tenth > shown) process.stderr.write(`${label}: ${tenth * 10}%\n`);
    shown = tenth;
  };
}

function table(results: Figures[]): string {
  const rows: Array<[string, (r: Figures) => string]> = [
    ['policy', (r) => r.policy],
    ['sessions', (r) => String(r.sessions)],
    ['rejected', (r) => String(r.rejected)],
    ['rejectedRatio', (r) => `${(r.rejectedRatio * 100).toFixed(3)} %`],
    ['serverMinutes', (r) => r.serverMinutes.toFixed(1)],
    ['oracleServerMinutes', (r) => r.oracleServerMinutes.toFixed(1)],
    ['costRatio', (r) => r.costRatio.toFixed(3)],
    ['peakServers', (r) => String(r.peakServers)],
    ['scaleOuts', (r) => String(r.scaleOuts)],
    ['scaleIns', (r) => String(r.scaleIns)],
    ['serversCreated', (r) => String(r.serversCreated)],
    ['serversDrained', (r) => String(r.serversDrained)],
    ['sessionsCut', (r) => String(r.sessionsCut)],
  ];
  if (results.some((r) => r.rolloutExtraServerMinutes !== undefined)) {
    rows.push(
      ['rolloutMinutes', (r) => (r.rolloutSeconds === undefined ? 'never complete' : (r.rolloutSeconds / 60).toFixed(1))],
      ['rolloutExtraServerMinutes', (r) => r.rolloutExtraServerMinutes?.toFixed(1) ?? ''],
    );
  }
  const cells = rows.map(([label, value]) => [label, ...results.map(value)]);
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error((e as Error).message);
    process.exit(1);
  },
);
