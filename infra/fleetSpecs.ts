// The fleets a stack declares (`aci-fleet:fleets`, a map from fleet name to the body of
// PUT /api/fleets/{name}): checked at preview with the runtime's own rules, so that a bad template
// fails `pulumi preview` naming the key path and the field, not `pulumi up` halfway through. Each
// body is also split into what may be shown (every secret value replaced by <redacted>) and the
// secret values themselves. Pure.
import type { ContainerGroup } from '@azure/arm-containerinstance';
import { redact } from '../runtime/src/azure/containerGroups';
import { FleetError } from '../runtime/src/domain/core/errors';
import { parseRequest } from '../runtime/src/domain/core/validation';
import { scalingConfigFor, scalingConfigProblem } from '../runtime/src/domain/fleets/autoscaling';
import { resolveRollout } from '../runtime/src/domain/fleets/fleet';
import { REDACTED } from '../runtime/src/domain/core/secrets';
import { DEFAULT_ROLLOUT, fleetName, fleetSpecFor, type FleetSpec } from '../runtime/src/domain/fleets/requests';
import { DEFAULT_FLEET } from '../runtime/src/domain/servers/membership';
import { Fleet } from '../runtime/src/functions/Fleets';
import { regionName } from './deploy/preflight';
import { fleetOptionsFrom, type FleetSettings } from '../runtime/src/options';

/** A fleet of the stack file, checked. */
export interface StackFleet {
  /** The body PUT /api/fleets/{name} is sent, as the stack file gives it (the runtime fills in its defaults). */
  body: Record<string, unknown>;
  /** The body with every secret value replaced by `<redacted>`: what previews, state and outputs may show. */
  shown: Record<string, unknown>;
  /** The secret values in the body (secure environment variables, registry passwords, …): kept out of every message. */
  secrets: string[];
}

/**
 * The most a fleet may run at once — its maximum (autoscaler) or replicas, plus a rollout's surge —
 * in its template's region, and the vCPUs those servers request: what ACI's quota there must allow.
 */
export interface FleetDemand {
  fleet: string;
  /** The region, as ARM names it (`westeurope`). */
  location: string;
  servers: number;
  cores: number;
  /**
   * The quota ACI counts those cores against: Spot servers have their own. Unknown here (and not
   * checked) for GPU, Dedicated and Confidential groups.
   */
  coresQuota?: 'StandardCores' | 'StandardSpotCores';
}

/** A fleet's demand; none for a fleet sized by hand (neither replicas nor autoscaler). */
export function demandOf(
  fleet: string,
  spec: { template: FleetSpec['template']; rollout?: FleetSpec['rollout']; replicas?: number },
  maxInstances?: number,
): FleetDemand | undefined {
  const size = maxInstances ?? spec.replicas;
  if (size === undefined) return undefined;
  const group = spec.template.containerGroup;
  const servers = size + (spec.rollout ? resolveRollout(spec.rollout, size).maxSurge : 0);
  // In hundredths, so that the sum of 0.1s is exact.
  const cores = group.containers.reduce((n, c) => n + Math.round(c.resources.requests.cpu * 100), 0) / 100;
  const standard = (group.sku ?? 'Standard').toLowerCase() === 'standard' && !group.containers.some((c) => c.resources.requests.gpu);
  return {
    fleet,
    location: regionName(group.location),
    servers,
    cores: Math.round(servers * cores * 100) / 100,
    ...(standard ? { coresQuota: group.priority?.toLowerCase() === 'spot' ? 'StandardSpotCores' : 'StandardCores' } : {}),
  };
}

/** How the problems name the stack's keys. */
export interface FleetKeyNames {
  /** `aci-fleet:fleets`. */
  fleets: string;
  /** `aci-fleet:maxServers` (FLEET_MAX_SERVERS). */
  maxServers: string;
}

/**
 * Checks every fleet as PUT /api/fleets/{name} would on this stack's app (its container resource
 * groups, its AUTOSCALER_* settings filling in a fleet's own), plus what the app would only find out
 * later: more servers than FLEET_MAX_SERVERS lets it create (for one fleet, for all of them, or for a
 * rollout with no room to surge that may not drain first). One problem per line, each naming its
 * key path (`aci-fleet:fleets.game.template.containerGroup.containers[0].image: ...`).
 */
export function checkStackFleets(
  raw: unknown,
  settings: FleetSettings,
  keys: FleetKeyNames,
): { fleets: Record<string, StackFleet>; problems: string[]; demand: FleetDemand[] } {
  const demand: FleetDemand[] = [];
  // The default fleet's servers count too, wherever its template runs them.
  const defaultTemplate = settings.CONTAINER_GROUP_TEMPLATE;
  if (settings.AUTOSCALER_ENABLED && defaultTemplate) {
    const d = demandOf(DEFAULT_FLEET, { template: defaultTemplate, rollout: DEFAULT_ROLLOUT }, settings.AUTOSCALER_MAXIMUM_INSTANCES);
    if (d) demand.push(d);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      demand,
      fleets: {},
      problems: [`${keys.fleets}: must be a YAML map from fleet name to its body ({template, replicas?, autoscaler?, rollout?})`],
    };
  }
  const problems: string[] = [];
  const fleets: Record<string, StackFleet> = {};
  // Servers each fleet keeps at the least, against the one ceiling: [who, how many].
  const least: Array<[string, number]> = [];
  const options = fleetOptionsFrom(settings);
  const maxServers = `${keys.maxServers} (FLEET_MAX_SERVERS: ${settings.FLEET_MAX_SERVERS})`;

  for (const [name, body] of Object.entries(raw)) {
    const at = `${keys.fleets}.${name}`;
    if (name === DEFAULT_FLEET) {
      problems.push(
        `${at}: "${DEFAULT_FLEET}" is the fleet the app settings define (autoscaler.containerGroupTemplate, CONTAINER_GROUP_TEMPLATE), and the API refuses to write it: give this fleet another name, or set its template there`,
      );
      continue;
    }
    const named = fleetName.safeParse(name);
    if (!named.success) {
      problems.push(`${at}: ${named.error.issues[0]?.message ?? 'is not a valid fleet name'}`);
      continue;
    }
    let spec: FleetSpec;
    try {
      spec = parseRequest(fleetSpecFor(options.allowedResourceGroups), body);
    } catch (e) {
      if (!(e instanceof FleetError)) throw e;
      const details = (e.details ?? []) as Array<{ path: string; message: string }>;
      for (const d of details) problems.push(`${at}${d.path ? `.${d.path}` : ''}: ${d.message}`);
      continue;
    }
    // What the runtime's PUT checks beyond the schema: the fleet's autoscaler with the deployment's settings filling in.
    const scaling = spec.autoscaler
      ? scalingConfigFor(options.autoscalerDefaults, spec.autoscaler, spec.template, options.defaultMaxSessions)
      : undefined;
    if (scaling) {
      const problem = scalingConfigProblem(scaling);
      if (problem) problems.push(`${at}.autoscaler.${problem[0]}: ${problem[1]}`);
      if (scaling.maxInstances > settings.FLEET_MAX_SERVERS)
        problems.push(`${at}.autoscaler.maximumInstances: ${scaling.maxInstances} is more servers than ${maxServers} lets the app create`);
      least.push([name, scaling.minInstances]);
    }
    const d = demandOf(name, spec, scaling?.maxInstances);
    if (d) demand.push(d);
    if (spec.replicas !== undefined) {
      least.push([name, spec.replicas]);
      problems.push(...replicaProblems(at, spec, settings.FLEET_MAX_SERVERS, maxServers));
    }
    const bytes = Buffer.byteLength(JSON.stringify(body));
    if (bytes > Fleet.maxBodyBytes) {
      problems.push(`${at}: the body is ${bytes} bytes; PUT /api/fleets/{name} takes at most ${Fleet.maxBodyBytes}`);
    }
    fleets[name] = { body: body as Record<string, unknown>, ...redactedBody(body as Record<string, unknown>) };
  }

  // Every fleet's servers count against one ceiling, the default fleet's too: together they must fit under it.
  if (settings.AUTOSCALER_ENABLED && settings.CONTAINER_GROUP_TEMPLATE)
    least.push([`${DEFAULT_FLEET} (autoscaler.minimumInstances)`, settings.AUTOSCALER_MINIMUM_INSTANCES]);
  const total = least.reduce((n, [, count]) => n + count, 0);
  if (least.length > 1 && total > settings.FLEET_MAX_SERVERS) {
    const each = least.map(([who, count]) => `${who} ${count}`).join(', ');
    problems.push(
      `${keys.fleets}: the fleets keep at least ${total} servers together (${each}), more than ${maxServers} lets the app create`,
    );
  }
  return { fleets, problems, demand };
}

/**
 * A fixed-size fleet under the ceiling: more replicas than it allows, or a rollout that could never
 * start (no room to surge beyond the size, and maxUnavailable 0 drains no server first).
 */
function replicaProblems(at: string, spec: FleetSpec, max: number, maxServers: string): string[] {
  const replicas = spec.replicas ?? 0;
  if (replicas > max) return [`${at}.replicas: ${replicas} is more servers than ${maxServers} lets the app create`];
  const { maxSurge, maxUnavailable } = resolveRollout(spec.rollout, replicas);
  if (maxUnavailable > 0 || replicas === 0 || replicas + maxSurge <= max) return [];
  return [
    `${at}.rollout: a rollout needs ${replicas} + ${maxSurge} (maxSurge) servers at once, more than ${maxServers} lets the app create, and maxUnavailable 0 drains none first: lower replicas, raise the ceiling, or allow maxUnavailable`,
  ];
}

/** The body with the template's secrets replaced (the paths ACIDetails redacts), and the values replaced. */
export function redactedBody(body: Record<string, unknown>): { shown: Record<string, unknown>; secrets: string[] } {
  const template = body.template as { containerGroup?: unknown } | undefined;
  const group = template?.containerGroup;
  if (!group || typeof group !== 'object') return { shown: body, secrets: [] };
  const redacted = redact(group as ContainerGroup);
  const secrets: string[] = [];
  collectReplaced(group, redacted, secrets);
  return { shown: { ...body, template: { ...template, containerGroup: redacted } }, secrets: [...new Set(secrets)] };
}

/** Every string the redacted copy changed (a secure value, a credential in a URL): the secret it was. */
function collectReplaced(original: unknown, redacted: unknown, out: string[]): void {
  if (typeof original === 'string') {
    if (original !== redacted && original !== '') out.push(original);
    return;
  }
  if (original === null || typeof original !== 'object' || redacted === null || typeof redacted !== 'object') return;
  for (const [k, v] of Object.entries(original)) {
    const other = (redacted as Record<string, unknown>)[k];
    // A whole map replaced by one placeholder (none today) still hides its strings.
    if (other === REDACTED && typeof v === 'object') collectReplaced(v, {}, out);
    else collectReplaced(v, other, out);
  }
}
