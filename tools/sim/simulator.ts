// The fleet simulator: replays a trace of sessions, second by second on a simulated clock, against
// the real Allocator, fleet controller (and so decide() and the rollout plan), server service and
// monitor logic, over in-memory stores and container groups that take a fixed time to provision.
import { readSettings } from '../../runtime/src/options';
import { Allocator } from '../../runtime/src/domain/allocation/allocator';
import { RunningServersSnapshot } from '../../runtime/src/domain/allocation/snapshot';
import type { ScalingPolicy } from '../../runtime/src/domain/autoscaling/policy';
import { FleetError } from '../../runtime/src/domain/core/errors';
import type { Clock } from '../../runtime/src/domain/core/ports';
import { FleetController } from '../../runtime/src/domain/fleets/controller';
import { FleetService } from '../../runtime/src/domain/fleets/fleetService';
import { CachedFleetRevisions } from '../../runtime/src/domain/fleets/revisions';
import { DEFAULT_FLEET } from '../../runtime/src/domain/servers/membership';
import type { ContainerGroupTemplate } from '../../runtime/src/domain/servers/requests';
import { describeKey, reservedSessions } from '../../runtime/src/domain/servers/server';
import { ServerService } from '../../runtime/src/domain/servers/serverService';
import { allocatorOptionsFrom, fleetOptionsFrom } from '../../runtime/src/options';
import { MemoryDemandStore, MemoryFleetStore, MemoryServerStore, MemoryStateStore, SimulatedContainerGroups } from './memory';

export interface TraceSession {
  /** Seconds from the trace's start. */
  start: number;
  duration: number;
}

export interface SimulationOptions {
  policy: ScalingPolicy;
  maxSessions: number;
  maxInstances: number;
  provisionSeconds: number;
  /** Period of ACIAutoScaler (AUTOSCALER_SCHEDULE's default: 30 s). */
  autoscalerSeconds?: number;
  /** Period of ACIGC (GC_SCHEDULE's default: 60 s). */
  gcSeconds?: number;
  /** Servers report their sessions this often when they changed. */
  reportSeconds?: number;
  /** Settings on top of the runtime's defaults (e.g. AUTOSCALER_BUFFER_SLOTS). */
  settings?: Record<string, string>;
  /** One sample per this many seconds for --chart; none when omitted. */
  sampleSeconds?: number;
  /** A rolling update (a new image) this many seconds into the trace. */
  rolloutAtSeconds?: number;
  /** Called now and then with the fraction of the trace done. */
  progress?: (fraction: number) => void;
  /** The first this many seconds run but are left out of every figure (the fleet starts empty). */
  warmupSeconds?: number;
  /** Figures stop here (the last arrival of a generated trace): the hour its last sessions take to end is no day's. */
  untilSeconds?: number;
}

export interface Sample {
  t: number;
  /** Sessions the trace wants at t (served or not). */
  demand: number;
  /** Session slots on Running servers. */
  capacity: number;
  /** Servers that exist (and are paid for): creating, running, draining. */
  servers: number;
  rejected: number;
}

export interface SimulationResult {
  policy: ScalingPolicy;
  sessions: number;
  rejected: number;
  rejectedRatio: number;
  serverMinutes: number;
  oracleServerMinutes: number;
  costRatio: number;
  peakServers: number;
  scaleOuts: number;
  scaleIns: number;
  serversCreated: number;
  serversDrained: number;
  /** Sessions whose server was deleted under them: must be 0. */
  sessionsCut: number;
  /** With a rollout: seconds from the new revision to no old server left (undefined if it never completed). */
  rolloutSeconds?: number;
  samples?: Sample[];
}

const EPOCH = Date.parse('2026-01-05T00:00:00Z');

/** Parses `start,duration` CSV (header required, seconds); throws with the line number on a bad row. */
export function parseTrace(csv: string): TraceSession[] {
  const lines = csv.split(/\r?\n/);
  const header = lines[0]?.trim().toLowerCase().replace(/\s/g, '');
  if (header !== 'start,duration') throw new Error(`The trace's first line must be 'start,duration', not '${lines[0]}'.`);
  const sessions: TraceSession[] = [];
  lines.slice(1).forEach((line, i) => {
    if (!line.trim()) return;
    const [start, duration, extra] = line.split(',').map((v) => Number(v.trim()));
    if (extra !== undefined || !Number.isFinite(start) || !Number.isFinite(duration) || start! < 0 || duration! <= 0) {
      throw new Error(`Trace line ${i + 2}: expected 'start,duration' with start >= 0 and duration > 0 seconds, got '${line}'.`);
    }
    sessions.push({ start: start!, duration: duration! });
  });
  return sessions.sort((a, b) => a.start - b.start);
}

/** The least any policy could pay: the integral of ceil(concurrent sessions / max sessions), in server-minutes (from `from` seconds on). */
export function oracleServerMinutes(sessions: readonly TraceSession[], maxSessions: number, from = 0, until = Infinity): number {
  const events: Array<[number, number]> = [];
  for (const s of sessions) events.push([s.start, 1], [s.start + s.duration, -1]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // ends before starts at the same instant
  let concurrent = 0;
  let last = 0;
  let area = 0;
  for (const [t, delta] of events) {
    area += Math.max(0, Math.min(t, until) - Math.max(last, from)) * Math.ceil(concurrent / maxSessions);
    concurrent += delta;
    last = t;
  }
  return area / 60;
}

/** A small deterministic PRNG (mulberry32), so simulated runs repeat exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEMPLATE = (maxSessions: number, image = 'example/game-server:sim'): ContainerGroupTemplate => ({
  resourceGroup: 'sim',
  maxSessions,
  containerGroup: {
    location: 'westeurope',
    osType: 'Linux',
    containers: [{ name: 'server', image, resources: { requests: { cpu: 1, memoryInGB: 1.5 } } }],
  },
});

export async function simulate(trace: readonly TraceSession[], options: SimulationOptions): Promise<SimulationResult> {
  const autoscalerSeconds = options.autoscalerSeconds ?? 30;
  const gcSeconds = options.gcSeconds ?? 60;
  const reportSeconds = options.reportSeconds ?? 5;
  // `seed` is the simulator's baseline only: no setting selects it, so it is put in after parsing.
  const settings = readSettings({
    AUTOSCALER_MAXIMUM_INSTANCES: String(options.maxInstances),
    // The autoscaler's maximum is the ceiling being simulated; the fleet's own may not be lower.
    FLEET_MAX_SERVERS: String(options.maxInstances),
    FLEET_DEFAULT_MAX_SESSIONS: String(options.maxSessions),
    ...options.settings,
    AUTOSCALER_ENABLED: 'true',
    CONTAINER_GROUP_TEMPLATE: JSON.stringify(TEMPLATE(options.maxSessions)),
  });

  let t = 0;
  const clock: Clock = { now: () => new Date(EPOCH + t * 1000) };
  const store = new MemoryServerStore();
  const groups = new SimulatedContainerGroups(clock, options.provisionSeconds * 1000);
  const demand = new MemoryDemandStore();
  const fleet = new ServerService({
    store,
    groups,
    clock,
    options: {
      fleetName: 'sim',
      defaultMaxSessions: options.maxSessions,
      allowedResourceGroups: [],
      writeAttempts: settings.FLEET_WRITE_ATTEMPTS,
    },
  });
  const fleetStore = new MemoryFleetStore();
  const fleetOptions = fleetOptionsFrom(settings);
  fleetOptions.autoscalerDefaults = { ...fleetOptions.autoscalerDefaults, policy: options.policy };
  const fleets = new FleetService({ store: fleetStore, serverStore: store, servers: fleet, options: fleetOptions, clock });
  const revisions = new CachedFleetRevisions(fleetStore, settings.ALLOCATION_SNAPSHOT_MAX_AGE_MS, clock);
  // The instance's copy of the Running servers, at most 1 ms old: on the simulated clock, that is one
  // read per simulated second, after that second's reports, drains and GC; in between, the
  // allocator's own bookings keep it exact (as they keep an instance's copy).
  const snapshot = new RunningServersSnapshot(store, 1, clock);
  const allocator = new Allocator({
    store,
    demand,
    clock,
    options: allocatorOptionsFrom(settings),
    random: seededRandom(1),
    revisions,
    snapshot,
  });
  const state = new MemoryStateStore();
  const controller = new FleetController({
    fleets,
    serverStore: store,
    demand,
    state: () => state,
    holder: 'simulator',
    leaseMs: 60_000,
    writeAttempts: settings.FLEET_WRITE_ATTEMPTS,
    deploymentName: 'gs',
    clock,
  });

  const sessions = [...trace].sort((a, b) => a.start - b.start);
  const end = Math.ceil(Math.max(0, ...sessions.map((s) => s.start + s.duration)));
  // Per second: which servers lose a session, and how many trace sessions end (served or not).
  const serverEnds = new Map<number, string[]>();
  const demandEnds = new Map<number, number>();
  const onServer = new Map<string, number>();
  const dirty = new Set<string>();
  const keyOfName = (name: string) => ({ resourceGroup: 'sim', containerGroupName: name.slice('sim/'.length) });

  const warmup = options.warmupSeconds ?? 0;
  const until = options.untilSeconds ?? Infinity;
  const result: SimulationResult = {
    policy: options.policy,
    sessions: sessions.filter((s) => s.start >= warmup).length,
    rejected: 0,
    rejectedRatio: 0,
    serverMinutes: 0,
    oracleServerMinutes: oracleServerMinutes(sessions, options.maxSessions, warmup, until),
    costRatio: 0,
    peakServers: 0,
    scaleOuts: 0,
    scaleIns: 0,
    serversCreated: 0,
    serversDrained: 0,
    sessionsCut: 0,
    samples: options.sampleSeconds ? [] : undefined,
  };

  const deliverArmChanges = async () => {
    for (const key of groups.due(clock.now().getTime())) {
      await fleet.refresh(key); // what ACIMonitor does on each event
      const name = describeKey(key);
      if ((await store.get(key)) === undefined && (onServer.get(name) ?? 0) > 0) {
        result.sessionsCut += onServer.get(name)!; // deleted with players on it: what must never happen
        onServer.delete(name);
      }
    }
  };
  let rolloutStarted: number | undefined;
  const runAutoscaler = async () => {
    const [run] = await controller.run({ only: DEFAULT_FLEET });
    if (!run?.plan) return;
    const scaledIn = run.plan.drain.filter((d) => d.cause === 'scale-in' && run.drained.some((k) => describeKey(k) === describeKey(d.key)));
    if (run.created.length + run.restored.length > 0 && run.plan.state !== 'Progressing') result.scaleOuts++;
    if (scaledIn.length > 0) result.scaleIns++;
    result.serversCreated += run.created.length;
    result.serversDrained += run.drained.length;
    if (rolloutStarted !== undefined && result.rolloutSeconds === undefined && run.plan.state === 'Complete') {
      result.rolloutSeconds = t - rolloutStarted;
    }
  };

  // The fleet is up when the trace starts: the first decision's servers are ready at once.
  await runAutoscaler();
  await deliverArmChanges();
  groups.readyNow();
  await deliverArmChanges();

  let next = 0;
  let concurrentDemand = 0;
  let rejectedSinceSample = 0;
  let serverSeconds = 0;
  const progressEvery = Math.max(1, Math.floor(end / 100));
  for (t = 0; t < end; t++) {
    for (const name of serverEnds.get(t) ?? []) {
      if (!onServer.has(name)) continue; // its server is gone (counted as cut)
      onServer.set(name, onServer.get(name)! - 1);
      dirty.add(name);
    }
    serverEnds.delete(t);
    concurrentDemand -= demandEnds.get(t) ?? 0;
    demandEnds.delete(t);

    await deliverArmChanges();
    if (t % gcSeconds === 0) {
      await fleet.collectGarbage();
      await deliverArmChanges();
    }
    if (t % reportSeconds === 0) {
      // Servers report when their count changed, and keep reporting while players are still on the way.
      const rows = store.all();
      for (const r of rows) if (reservedSessions(r, clock.now()) > 0) dirty.add(describeKey(r));
      const known = new Set(rows.map(describeKey));
      const reports = [...dirty]
        .filter((name) => known.has(name))
        .map((name) => ({ ...keyOfName(name), activeSessions: onServer.get(name) ?? 0 }));
      dirty.clear();
      if (reports.length > 0) await fleet.setSessions(reports);
    }
    if (options.rolloutAtSeconds !== undefined && t === Math.floor(options.rolloutAtSeconds)) {
      // A new build: the default fleet's template changes, and the next controller run rolls it out.
      fleetOptions.defaultFleet = { template: TEMPLATE(options.maxSessions, 'example/game-server:sim-2'), autoscaled: true };
      rolloutStarted = t;
    }
    if (t % autoscalerSeconds === 0 && t > 0) await runAutoscaler();

    for (; next < sessions.length && sessions[next]!.start < t + 1; next++) {
      const session = sessions[next]!;
      const ends = Math.max(t + 1, Math.floor(session.start + session.duration));
      concurrentDemand++;
      demandEnds.set(ends, (demandEnds.get(ends) ?? 0) + 1);
      try {
        const { server } = await allocator.allocate({ sessions: 1 });
        const name = `${server.ResourceGroup}/${server.ContainerGroupName}`;
        onServer.set(name, (onServer.get(name) ?? 0) + 1);
        dirty.add(name); // the player connects and the server reports its new count
        const list = serverEnds.get(ends);
        if (list) list.push(name);
        else serverEnds.set(ends, [name]);
      } catch (e) {
        if (!(e instanceof FleetError) || e.code !== 'NoCapacity') throw e;
        if (t >= warmup) result.rejected++;
        rejectedSinceSample++;
      }
    }

    const rows = store.all();
    if (t >= warmup && t < until) serverSeconds += rows.length;
    result.peakServers = Math.max(result.peakServers, rows.length);
    if (options.sampleSeconds && t % options.sampleSeconds === 0) {
      const capacity = rows.filter((r) => r.state === 'Running').reduce((n, r) => n + r.maxSessions, 0);
      result.samples!.push({ t, demand: concurrentDemand, capacity, servers: rows.length, rejected: rejectedSinceSample });
      rejectedSinceSample = 0;
    }
    if (options.progress && t % progressEvery === 0) options.progress(t / end);
  }
  options.progress?.(1);

  result.serverMinutes = serverSeconds / 60;
  result.rejectedRatio = sessions.length > 0 ? result.rejected / sessions.length : 0;
  result.costRatio = result.oracleServerMinutes > 0 ? result.serverMinutes / result.oracleServerMinutes : 0;
  return result;
}
