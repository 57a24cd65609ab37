// npm run simulate -- --trace FILE [--policy threshold|buffer|seed] [--max-sessions N] [--max-instances N]
//                     [--provision-seconds S] [--json] [--chart FILE.svg] [--set SETTING=VALUE ...]
// Replays a trace of sessions against the real allocation and autoscaler code on a simulated clock
// and prints what the policy would have cost and how many sessions it would have turned away.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { POLICIES, type ScalingPolicy } from '../runtime/src/fleet/autoscaler';
import { readSettings, SETTING_NAMES } from '../runtime/src/config';
import { chartSvg } from './sim/chart';
import { parseTrace, simulate, type SimulationResult } from './sim/simulator';

const USAGE = `usage: npm run simulate -- --trace FILE [--policy ${POLICIES.join('|')}] [--max-sessions N] [--max-instances N]
                            [--provision-seconds S] [--json] [--chart FILE.svg] [--set SETTING=VALUE ...]`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        trace: { type: 'string' },
        policy: { type: 'string' },
        'max-sessions': { type: 'string', default: '12' },
        'max-instances': { type: 'string', default: '100' },
        'provision-seconds': { type: 'string', default: '30' },
        json: { type: 'boolean', default: false },
        chart: { type: 'string' },
        set: { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', default: false },
      },
    }).values;
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
      if (!SETTING_NAMES.includes(kv.slice(0, at))) throw new Error(`--set: '${kv.slice(0, at)}' is not a setting (see the README's settings table)`);
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
  );
  const policy = (args.policy ?? readSettings(settings).AUTOSCALER_POLICY) as ScalingPolicy;
  if (!POLICIES.includes(policy)) {
    console.error(`--policy must be one of ${POLICIES.join(', ')}`);
    return 2;
  }
  const number = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, not '${value}'`);
    return n;
  };

  const trace = parseTrace(readFileSync(args.trace, 'utf8'));
  const progress = process.stderr.isTTY
    ? (f: number) => process.stderr.write(`\r${basename(args.trace!)} ${policy}: ${Math.round(f * 100)}%${f >= 1 ? '\n' : ''}`)
    : (() => {
        let shown = -1;
        return (f: number) => {
          const tenth = Math.floor(f * 10);
          if (tenth > shown) process.stderr.write(`${basename(args.trace!)} ${policy}: ${tenth * 10}%\n`);
          shown = tenth;
        };
      })();
  const result = await simulate(trace, {
    policy,
    maxSessions: number('max-sessions', args['max-sessions'], 1),
    maxInstances: number('max-instances', args['max-instances'], 1),
    provisionSeconds: number('provision-seconds', args['provision-seconds'], 0),
    settings,
    sampleSeconds: args.chart ? 60 : undefined,
    progress: trace.length > 2_000 ? progress : undefined,
  });
  if (args.chart) {
    writeFileSync(args.chart, chartSvg(result, basename(args.trace)));
    console.error(`chart written to ${args.chart}`);
  }
  const { samples: _, ...figures } = result;
  console.log(args.json ? JSON.stringify(figures) : table(figures));
  return 0;
}

function table(r: Omit<SimulationResult, 'samples'>): string {
  const rows: Array<[string, string]> = [
    ['policy', r.policy],
    ['sessions', String(r.sessions)],
    ['rejected', String(r.rejected)],
    ['rejectedRatio', `${(r.rejectedRatio * 100).toFixed(3)} %`],
    ['serverMinutes', r.serverMinutes.toFixed(1)],
    ['oracleServerMinutes', r.oracleServerMinutes.toFixed(1)],
    ['costRatio', r.costRatio.toFixed(3)],
    ['peakServers', String(r.peakServers)],
    ['scaleOuts', String(r.scaleOuts)],
    ['scaleIns', String(r.scaleIns)],
    ['serversCreated', String(r.serversCreated)],
    ['serversDrained', String(r.serversDrained)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error((e as Error).message);
    process.exit(1);
  },
);
