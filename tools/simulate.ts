// npm run simulate -- --trace FILE [--policy rate|threshold|buffer|seed[,...]] [--max-sessions N] [--max-instances N]
//                     [--provision-seconds S] [--rollout-at S] [--json] [--chart FILE.svg] [--set SETTING=VALUE ...]
// npm run simulate -- --family [--only NAME[,...]] [--policy ...] [--chart-dir DIR] [--json] [--set ...]
// Replays a trace of sessions against the real allocation and fleet controller code on a simulated
// clock and prints what the policy would have cost and how many sessions it would have turned away;
// with --rollout-at, a rolling update in the middle: sessions cut (must be 0) and its extra server-minutes.
// --family runs the policies (the default, the old `buffer` and the original's `seed`) over the
// generated family of traces (tools/sim/traces.ts) and prints a chart per trace and one table.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { POLICIES, type ScalingPolicy } from '../runtime/src/domain/autoscaling/policy';
import { isSettingName, readSettings } from '../runtime/src/options';
import { asciiChart } from './sim/asciiChart';
import { chartSvg } from './sim/chart';
import { parseTrace, simulate, type SimulationResult } from './sim/simulator';
import { FAMILY, FAMILY_WARMUP_SECONDS, generate } from './sim/traces';

const USAGE = `usage: npm run simulate -- --trace FILE [--policy ${POLICIES.join('|')}[,...]] [--max-sessions N] [--max-instances N]
                            [--provision-seconds S] [--rollout-at S] [--json] [--chart FILE.svg] [--set SETTING=VALUE ...]
       npm run simulate -- --family [--only ${FAMILY.map((f) => f.name).join('|')}[,...]] [--policy ...]
                            [--max-sessions N] [--provision-seconds S] [--chart-dir DIR] [--json] [--set SETTING=VALUE ...]`;

/** A run with a rollout, next to the same run without one. */
type Figures = Omit<SimulationResult, 'samples'> & { rolloutExtraServerMinutes?: number };

function parseCommandLine() {
  return parseArgs({
    options: {
      trace: { type: 'string' },
      policy: { type: 'string' },
      'max-sessions': { type: 'string', default: '12' },
      'max-instances': { type: 'string' },
      'provision-seconds': { type: 'string', default: '30' },
      'rollout-at': { type: 'string' },
      json: { type: 'boolean', default: false },
      chart: { type: 'string' },
      family: { type: 'boolean', default: false },
      only: { type: 'string' },
      'chart-dir': { type: 'string' },
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
  if (!args.trace === !args.family) {
    console.error(`give --trace or --family\n${USAGE}`);
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
  const defaultPolicy = readSettings(settings).AUTOSCALER_POLICY;
  const policies = (args.policy ?? (args.family ? [...new Set([defaultPolicy, 'buffer', 'seed'])].join(',') : defaultPolicy))
    .split(',')
    .map((p) => p.trim()) as ScalingPolicy[];
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
  // The family's large fleets need room: 1000 is the most AUTOSCALER_MAXIMUM_INSTANCES takes.
  const maxInstances = number('max-instances', args['max-instances'] ?? (args.family ? '1000' : '100'), 1);
  const provisionSeconds = number('provision-seconds', args['provision-seconds'], 0);
  if (args.family)
    return runFamily({
      policies,
      maxSessions,
      maxInstances,
      provisionSeconds,
      settings,
      only: args.only,
      chartDir: args['chart-dir'],
      json: args.json,
    });
  const rolloutAtSeconds = args['rollout-at'] === undefined ? undefined : number('rollout-at', args['rollout-at'], 1);

  const trace = parseTrace(readFileSync(args.trace!, 'utf8'));
  const name = basename(args.trace!);
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

interface FamilyRun {
  policies: ScalingPolicy[];
  maxSessions: number;
  maxInstances: number;
  provisionSeconds: number;
  settings: Record<string, string>;
  only?: string;
  chartDir?: string;
  json: boolean;
}

const MARKS: Record<ScalingPolicy, string> = { rate: 'r', buffer: 'b', seed: 's', threshold: 't' };

/** Every trace of the family under every policy: a chart per trace as it finishes, then one table. */
async function runFamily(run: FamilyRun): Promise<number> {
  const names = run.only?.split(',').map((n) => n.trim());
  const unknown = names?.find((n) => !FAMILY.some((f) => f.name === n));
  if (unknown !== undefined) {
    console.error(`--only takes trace names of the family (${FAMILY.map((f) => f.name).join(', ')}), not '${unknown}'`);
    return 2;
  }
  if (run.chartDir) mkdirSync(run.chartDir, { recursive: true });
  const rows: Array<{
    trace: string;
    about: string;
    oracleMax: number;
    result: Omit<SimulationResult, 'samples'>;
    seconds: number;
    cpuSeconds: number;
  }> = [];
  const started = performance.now();
  for (const member of FAMILY.filter((f) => !names || names.includes(f.name))) {
    const trace = generate(member.spec);
    const series = [];
    for (const policy of run.policies) {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const result = await simulate(trace, {
        policy,
        maxSessions: run.maxSessions,
        maxInstances: run.maxInstances,
        provisionSeconds: run.provisionSeconds,
        settings: run.settings,
        warmupSeconds: FAMILY_WARMUP_SECONDS,
        untilSeconds: member.spec.seconds,
        sampleSeconds: 60,
        progress: trace.length > 20_000 ? progressReporter(`${member.name} ${policy} (${trace.length} sessions)`) : undefined,
      });
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const { samples, ...figures } = result;
      const oracleMax = Math.max(...(samples ?? []).map((s) => Math.ceil(s.demand / run.maxSessions)));
      rows.push({ trace: member.name, about: member.about, oracleMax, result: figures, seconds, cpuSeconds });
      series.push({ mark: MARKS[policy], label: policy, samples: samples ?? [] });
      if (run.chartDir) writeFileSync(join(run.chartDir, `${member.name}-${policy}.svg`), chartSvg(result, member.name));
      console.error(
        `${member.name} ${policy}: ${trace.length} sessions in ${seconds.toFixed(1)} s (${cpuSeconds.toFixed(1)} s of CPU; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`,
      );
    }
    // Each trace's figures as soon as it is done: the whole family takes minutes.
    const own = rows.filter((r) => r.trace === member.name).map(familyCells);
    if (!run.json)
      console.log(`\n${member.name} — ${member.about}\n${asciiChart(series, run.maxSessions)}\n\n${markdownTable(FAMILY_HEADER, own)}\n`);
  }
  if (run.json) {
    console.log(rows.map((r) => JSON.stringify({ trace: r.trace, seconds: r.seconds, cpuSeconds: r.cpuSeconds, ...r.result })).join('\n'));
    return 0;
  }
  console.log(markdownTable(FAMILY_HEADER, rows.map(familyCells)));
  console.log(
    `\n${run.maxSessions} sessions a server, ${run.provisionSeconds} s provisioning, at most ${run.maxInstances} servers; the first ${FAMILY_WARMUP_SECONDS / 60} minutes of each trace (from an empty fleet) and the time after its last arrival (its last sessions ending) are left out of the figures. Total ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  );
  return 0;
}

const FAMILY_HEADER = [
  'trace',
  'peak need',
  'policy',
  'sessions',
  'turned away',
  'cost × oracle',
  'peak servers',
  'scale outs',
  'scale ins',
  'cut',
  'run time',
  'CPU',
];

function familyCells(r: {
  trace: string;
  oracleMax: number;
  result: Omit<SimulationResult, 'samples'>;
  seconds: number;
  cpuSeconds: number;
}) {
  return [
    r.trace,
    String(r.oracleMax),
    r.result.policy,
    String(r.result.sessions),
    `${(r.result.rejectedRatio * 100).toFixed(3)} %`,
    r.result.costRatio.toFixed(3),
    String(r.result.peakServers),
    String(r.result.scaleOuts),
    String(r.result.scaleIns),
    String(r.result.sessionsCut),
    `${r.seconds.toFixed(1)} s`,
    `${r.cpuSeconds.toFixed(1)} s`,
  ];
}

function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i < 3 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
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
