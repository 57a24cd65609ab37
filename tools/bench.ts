// `npm run bench [-- --json]`: throughput and latency of the hot endpoints against the local host
// and Azurite, the size of the deployed bundle and how long it takes to load cold. Prints a table
// (or one JSON object) with the targets and whether they are met.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient, type TransactionAction } from '@azure/data-tables';
import { build } from 'esbuild';
import { runtimeBuildOptions } from '../runtime/esbuild';
import { toEntity } from '../runtime/src/azure/tableStore';
import type { ServerRecord } from '../runtime/src/domain/servers/server';
import { FUNCTIONS } from '../runtime/src/functions';
import { startLocalFleet, type LocalFleet } from '../runtime/local/fleet';

const JSON_OUTPUT = process.argv.includes('--json');
const LIST_SIZES = [1_000, 10_000];
const CLIENTS = 8;

interface Measurement {
  operation: string;
  calls: number;
  failures: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  note?: string;
}

interface Target {
  target: string;
  value: string;
  met: boolean | null;
}

const log = (line: string) => {
  if (!JSON_OUTPUT) process.stderr.write(`${line}\n`);
};

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Runs `calls` operations on `concurrency` workers; the latency of each is recorded. */
async function measure(operation: string, calls: number, concurrency: number, run: (i: number) => Promise<boolean>): Promise<Measurement> {
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < calls; i = next++) {
        const t = performance.now();
        const ok = await run(i).catch(() => false);
        latencies.push(performance.now() - t);
        if (!ok) failures++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    operation,
    calls,
    failures,
    seconds: round(seconds, 2),
    perSecond: round(calls / seconds, 1),
    p50ms: round(percentile(latencies, 50), 1),
    p99ms: round(percentile(latencies, 99), 1),
  };
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

function api(fleet: LocalFleet, name: string, body?: unknown, query = ''): Promise<Response> {
  return fetch(`${fleet.url}/api/${name}${query}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'x-functions-key': fleet.key, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Inserts servers straight into the table in 100-row transactions (one resource group per 1,000). */
async function seed(fleet: LocalFleet, from: number, to: number): Promise<void> {
  const table = TableClient.fromConnectionString(fleet.azurite.connectionString, fleet.settings.FLEET_TABLE_NAME, {
    allowInsecureConnection: true,
  });
  await table.createTable();
  const now = new Date().toISOString();
  const record = (i: number): ServerRecord => ({
    resourceGroup: `bench-${Math.floor(i / 1000)}`,
    containerGroupName: `gs-${String(i).padStart(6, '0')}`,
    state: 'Running',
    activeSessions: 0,
    maxSessions: 8,
    location: 'westeurope',
    image: 'bench/game-server:1',
    cpu: 1,
    ramGb: 1.5,
    publicIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    createdAt: now,
    stateChangedAt: now,
    specHash: 'bench',
  });
  const batches: TransactionAction[][] = [];
  for (let start = from; start < to; start += 100) {
    const end = Math.min(to, start + 100, (Math.floor(start / 1000) + 1) * 1000); // one partition per transaction
    batches.push(Array.from({ length: end - start }, (_, k) => ['create', toEntity(record(start + k))] as TransactionAction));
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let b = next++; b < batches.length; b = next++) await table.submitTransaction(batches[b]!);
    }),
  );
}

const serverName = (i: number) => ({
  resourceGroup: `bench-${Math.floor(i / 1000)}`,
  containerGroupName: `gs-${String(i).padStart(6, '0')}`,
});

/** Bundles `entry` exactly as the deployment does (runtime/esbuild.ts). */
async function bundleFile(entry: string, outfile: string): Promise<number> {
  await build({ ...runtimeBuildOptions(entry), outfile });
  return statSync(outfile).size;
}

/** Median time to require `file` in a fresh process (7 runs). */
function coldLoad(file: string): number[] {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write('\\n'+String(Number(process.hrtime.bigint()-t)/1e6))`;
  const loads: number[] = [];
  for (let i = 0; i < 7; i++) {
    const run = spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${file} failed to load: ${run.stderr}`);
    loads.push(Number(run.stdout.trim().split('\n').pop()));
  }
  return loads.sort((a, b) => a - b).map((l) => round(l, 1));
}

async function bundle(): Promise<{ bytes: number; coldLoadMs: number; loads: number[]; servicesLoadMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'aci-fleet-bench-'));
  try {
    const bytes = await bundleFile('runtime/src/index.ts', join(dir, 'index.js'));
    // Outside the Functions host @azure/functions runs in its test mode; the load is the same work.
    const loads = coldLoad(join(dir, 'index.js'));
    // The Azure SDKs load on the first invocation that needs storage or ARM (see runtime/src/index.ts).
    await bundleFile('runtime/src/services.ts', join(dir, 'services.js'));
    const services = coldLoad(join(dir, 'services.js'));
    return { bytes, coldLoadMs: percentile(loads, 50), loads, servicesLoadMs: percentile(services, 50) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' }).trim() || model;
  } catch {
    /* not Linux */
  }
  return {
    cpus: cpus().length,
    model,
    memoryGb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage: round(loadavg()[0]!, 1),
  };
}

async function main(): Promise<void> {
  const has = (name: string) => FUNCTIONS.some((f) => f.name === name);
  const measurements: Measurement[] = [];
  const targets: Target[] = [];
  const notMeasured = (operation: string, note: string) =>
    measurements.push({ operation, calls: 0, failures: 0, seconds: 0, perSecond: NaN, p50ms: NaN, p99ms: NaN, note });

  log('Bundling runtime/src/index.ts and loading it cold…');
  const bundled = await bundle();
  targets.push({ target: 'deployed bundle ≤ 2 MB', value: `${round(bundled.bytes / 2 ** 20, 2)} MB`, met: bundled.bytes <= 2 * 2 ** 20 });
  targets.push({
    target: 'bundle loads cold in ≤ 250 ms (median of 7)',
    value: `${bundled.coldLoadMs} ms`,
    met: bundled.coldLoadMs <= 250,
  });

  log('Starting a local fleet (Azurite + ACI emulator + host)…');
  const fleet = await startLocalFleet({
    provisioningMs: 30,
    timers: false,
    env: {},
    // 10,000 servers are seeded: the ceiling on servers must leave room for the report targets created after them.
    settings: { FLEET_MAX_SERVERS: '100000' },
    overrides: { arm: { pollIntervalMs: 10 } },
  });
  try {
    /** Matchmakers booking one session each, 8 at a time, against the fleet as seeded so far. */
    const measureAllocate = async (servers: number) => {
      if (!has('ACIAllocate')) return notMeasured(`ACIAllocate (${CLIENTS} clients)`, 'n/a (not on this branch)');
      log(`ACIAllocate, ${CLIENTS} concurrent clients, ${servers.toLocaleString('en')} servers…`);
      let misses = 0;
      const m = await measure(
        `ACIAllocate, 1 session, ${servers.toLocaleString('en')} servers (${CLIENTS} clients)`,
        400,
        CLIENTS,
        async () => {
          const res = await api(fleet, 'ACIAllocate', { sessions: 1, requestId: crypto.randomUUID() });
          if (res.status === 503) misses++;
          await res.arrayBuffer();
          return res.ok;
        },
      );
      m.note = `${misses} misses (503)`;
      measurements.push(m);
    };
    let seeded = 0;
    let list10k: Measurement | undefined;
    for (const size of LIST_SIZES) {
      log(`Seeding ${size.toLocaleString('en')} servers…`);
      await seed(fleet, seeded, size);
      seeded = size;
      const calls = size >= 10_000 ? 10 : 40;
      const m = await measure(`ACIList ?state=all, ${size.toLocaleString('en')} servers`, calls, 1, async () => {
        const res = await api(fleet, 'ACIList', undefined, '?state=all');
        const body = (await res.json()) as unknown[];
        return res.ok && body.length === size;
      });
      measurements.push(m);
      if (size === 10_000) list10k = m;
      // A region's fleet is bounded by ACI's quota (100 groups by default); 1,000 is already generous,
      // and 10,000 shows whether a call's cost still grows with the fleet.
      if (size === 1_000 || size === 10_000) await measureAllocate(size);
    }
    targets.push({
      target: 'ACIList of 10,000 servers completes',
      value: list10k && list10k.failures === 0 ? `yes, p50 ${list10k.p50ms} ms` : 'no',
      met: !!list10k && list10k.failures === 0,
    });

    log('ACISetSessions, batches of 100 servers…');
    let maxTransactions = 0;
    const batches = 40;
    measurements.push(
      await measure('ACISetSessions, 100 servers per call (4 clients)', batches, 4, async (b) => {
        const reports = Array.from({ length: 100 }, (_, k) => ({ ...serverName(b * 100 + k), activeSessions: (b + k) % 8 }));
        const res = await api(fleet, 'ACISetSessions', reports);
        const body = (await res.json()) as { transactions?: number; updated?: number };
        maxTransactions = Math.max(maxTransactions, body.transactions ?? Infinity);
        return res.ok && body.updated === 100;
      }),
    );
    targets.push({
      target: 'ACISetSessions of 100 servers: ≤ 1 table transaction per 100 rows',
      value: `${maxTransactions} per call`,
      met: maxTransactions <= 1,
    });

    if (has('ACIReport')) {
      const tokens = await reportTargets(fleet);
      if (tokens.length === 0) notMeasured('ACIReport', 'n/a (no server with a report token found in the emulator)');
      else {
        log('ACIReport…');
        measurements.push(
          await measure(`ACIReport (${CLIENTS} clients)`, 400, CLIENTS, async (i) => {
            const target = tokens[i % tokens.length]!;
            const res = await fetch(target.url, {
              method: 'POST',
              headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
              body: JSON.stringify({ activeSessions: i % 4 }),
            });
            await res.arrayBuffer();
            return res.ok;
          }),
        );
      }
    } else notMeasured('ACIReport', 'n/a (not on this branch)');
  } finally {
    await fleet.stop();
  }

  const result = {
    machine: machine(),
    bundle: { bytes: bundled.bytes, coldLoadMs: bundled.coldLoadMs, loadsMs: bundled.loads, azureSdksOnFirstUseMs: bundled.servicesLoadMs },
    measurements,
    targets,
  };
  if (JSON_OUTPUT) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    printTable(result);
  }
  if (targets.some((t) => t.met === false)) process.exitCode = 1;
}

/** Creates servers through ACICreate and reads the report URL and token the fleet gave each one. */
async function reportTargets(fleet: LocalFleet): Promise<Array<{ url: string; token: string }>> {
  const names = Array.from({ length: CLIENTS }, (_, i) => `report-${i}`);
  for (const name of names) {
    await api(fleet, 'ACICreate', {
      resourceGroup: 'bench-report',
      containerGroupName: name,
      containerGroup: {
        location: 'westeurope',
        osType: 'Linux',
        containers: [{ name: 'server', image: 'bench/game-server:1', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
      },
    });
  }
  const out: Array<{ url: string; token: string }> = [];
  for (const name of names) {
    // What the container itself sees, secure values included (ARM's GET never returns them).
    const env = fleet.emulator.containerEnvironment('bench-report', name)?.server ?? {};
    const url = env.ACI_REPORT_URL;
    const token = env.ACI_REPORT_TOKEN;
    if (url && token) out.push({ url, token });
  }
  return out;
}

function printTable(result: {
  machine: ReturnType<typeof machine>;
  bundle: { bytes: number; coldLoadMs: number; azureSdksOnFirstUseMs: number };
  measurements: Measurement[];
  targets: Target[];
}): void {
  const m = result.machine;
  console.log(
    `\naci-fleet benchmark — ${m.cpus} × ${m.model}, ${m.memoryGb} GB, Node ${m.node} (${m.platform}), load average ${m.loadAverage} at the end; local host + Azurite\n`,
  );
  const rows = result.measurements.map((x) => [
    x.operation,
    x.calls ? String(x.calls) : '—',
    x.calls ? x.perSecond.toFixed(1) : '—',
    x.calls ? x.p50ms.toFixed(1) : '—',
    x.calls ? x.p99ms.toFixed(1) : '—',
    x.calls ? String(x.failures) : '—',
    x.note ?? '',
  ]);
  table(['operation', 'calls', 'calls/s', 'p50 ms', 'p99 ms', 'failed', 'note'], rows);
  console.log('');
  console.log(
    `Bundle ${(result.bundle.bytes / 2 ** 20).toFixed(2)} MB loads in ${result.bundle.coldLoadMs} ms (median of 7); the Azure SDKs add ${result.bundle.azureSdksOnFirstUseMs} ms on the first invocation that needs them.\n`,
  );
  table(
    ['target', 'measured', 'met'],
    result.targets.map((t) => [t.target, t.value, t.met === null ? '—' : t.met ? 'yes' : 'NO']),
  );
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i > 0 && i < cells.length - 1 && /^[\d.—]+$/.test(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

main().catch((e) => {
  console.error(`The benchmark failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
