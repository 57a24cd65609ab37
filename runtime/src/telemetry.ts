// Telemetry without an SDK: each metric or event is one structured log line through the
// invocation's context. The Functions host sends those to Application Insights as `traces`
// (with the invocation id and function name), where the README's KQL queries read them.
import type { InvocationContext } from '@azure/functions';
import type { ContainerGroups } from './domain/servers/ports';
import type { Logger, Telemetry } from './domain/core/ports';
import { describeKey, type ServerRecord } from './domain/servers/server';
import { STATES } from './domain/servers/states';

/** Every telemetry line starts with this, so a query can find them among ordinary logs. */
export const TELEMETRY_PREFIX = 'aci-fleet.telemetry ';

type Properties = Record<string, string | number | boolean | undefined>;

export interface TelemetryRecord {
  kind: 'event' | 'metric';
  name: string;
  value?: number;
  function: string;
  invocationId: string;
  [property: string]: unknown;
}

export function contextTelemetry(context: InvocationContext): Telemetry {
  const emit = (record: Omit<TelemetryRecord, 'function' | 'invocationId'>) =>
    context.log(`${TELEMETRY_PREFIX}${JSON.stringify({ ...record, function: context.functionName, invocationId: context.invocationId })}`);
  return {
    trackEvent: (name, properties) => emit({ kind: 'event', name, ...properties }),
    trackMetric: (name, value, properties) => emit({ kind: 'metric', name, value, ...properties }),
  };
}

/** Reads a telemetry line back (tests, and anyone tailing local logs). */
export function parseTelemetryLine(line: string): TelemetryRecord | undefined {
  const at = line.indexOf(TELEMETRY_PREFIX);
  if (at < 0) return undefined;
  try {
    return JSON.parse(line.slice(at + TELEMETRY_PREFIX.length)) as TelemetryRecord;
  } catch {
    return undefined;
  }
}

/**
 * Structured log lines: the message, then JSON with the invocation id, the function and the
 * properties given (the fleet always names the `server` a line is about).
 */
export function contextLogger(context: InvocationContext): Logger {
  const line = (message: string, properties?: Record<string, unknown>) =>
    `${message} ${JSON.stringify({ ...properties, function: context.functionName, invocationId: context.invocationId })}`;
  return {
    info: (m, p) => context.log(line(m, p)),
    warn: (m, p) => context.warn(line(m, p)),
    error: (m, p) => context.error(line(m, p)),
  };
}

/**
 * ARM creates and deletes are the fleet's costly actions: each becomes an event, tagged with the
 * function that caused it (ACICreate, the autoscaler's scale-out, ACIGC's deletion, ACIDelete).
 */
export function instrumentContainerGroups(groups: ContainerGroups, telemetry: Telemetry): ContainerGroups {
  return {
    get: (key) => groups.get(key),
    describe: (key) => groups.describe(key),
    logs: (key, container, tail) => groups.logs(key, container, tail),
    listOwned: (fleetName, resourceGroups) => groups.listOwned(fleetName, resourceGroups),
    async beginCreate(key, spec) {
      await groups.beginCreate(key, spec);
      telemetry.trackEvent('ContainerGroupCreateStarted', { server: describeKey(key), location: spec.location });
    },
    async beginDelete(key) {
      await groups.beginDelete(key);
      telemetry.trackEvent('ContainerGroupDeleteStarted', { server: describeKey(key) });
    },
  };
}

export interface FleetSnapshotMetric {
  name: 'Servers' | 'ActiveSessions' | 'MaxSessions';
  value: number;
  properties: Properties;
}

/**
 * The fleet at a glance, for dashboards: servers per state (every state, zeros included, so a
 * chart line drops to 0 rather than vanishing), and Running sessions and capacity per location.
 */
export function fleetSnapshot(servers: readonly ServerRecord[]): FleetSnapshotMetric[] {
  const metrics: FleetSnapshotMetric[] = STATES.map((state) => ({
    name: 'Servers',
    value: servers.filter((s) => s.state === state).length,
    properties: { state },
  }));
  const locations = [...new Set(servers.filter((s) => s.state === 'Running').map((s) => s.location))].sort();
  for (const location of locations) {
    const running = servers.filter((s) => s.state === 'Running' && s.location === location);
    metrics.push({ name: 'ActiveSessions', value: running.reduce((n, s) => n + s.activeSessions, 0), properties: { location } });
    metrics.push({ name: 'MaxSessions', value: running.reduce((n, s) => n + s.maxSessions, 0), properties: { location } });
  }
  return metrics;
}
