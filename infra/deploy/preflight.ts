// Preflight: before the stack creates anything, ask ARM whether the region offers Flex Consumption
// (`Microsoft.Web/geoRegions?sku=FlexConsumption`) and the app's language version on it (the
// region's `functionAppStacks`, whose FC1 entries list what Flex runs), so a region that cannot
// work fails `pulumi preview` with a message naming `aci-fleet:location`. Plain REST, tested
// against the local fake; the decisions are the pure functions below. It also reads ACI's quotas in
// the regions the fleets run in (`Microsoft.ContainerInstance/locations/{region}/usages`) and warns
// when the fleets at their largest would not fit: ACI would refuse the creates past the quota.
import type { FleetDemand } from '../fleetSpecs';
import { type FetchLike, type HttpClient, describeAnswer, platformCode, sendText } from './http';

export const WEB_API_VERSION = '2024-04-01';
/** Where a region's problems are reported: the stack key that chose it. */
const KEY = 'aci-fleet:location';

/** `West Europe` → `westeurope`: geoRegions name regions by display name. */
export function regionName(displayName: string): string {
  return displayName.replace(/\s+/g, '').toLowerCase();
}

interface GeoRegion {
  name?: string;
  properties?: { name?: string; displayName?: string };
}

/** The regions of a geoRegions answer, as programmatic names, sorted. */
export function regionsOf(body: { value?: GeoRegion[] }): string[] {
  const names = new Set<string>();
  for (const r of body.value ?? []) {
    for (const n of [r.name, r.properties?.name, r.properties?.displayName]) if (n) names.add(regionName(n));
  }
  return [...names].sort();
}

interface StackSku {
  skuCode?: string;
  functionAppConfigProperties?: { runtime?: { name?: string; version?: string } };
}
interface MinorVersion {
  stackSettings?: { linuxRuntimeSettings?: { Sku?: StackSku[] | null; sku?: StackSku[] | null } };
}
interface FunctionAppStack {
  properties?: { majorVersions?: Array<{ minorVersions?: MinorVersion[] }> };
}

/**
 * The versions of `runtime` Flex Consumption (sku FC1) offers, from a region's functionAppStacks:
 * the `runtime` each FC1 entry's functionAppConfigProperties names (what a Flex app's
 * `functionAppConfig.runtime` must say).
 */
export function flexRuntimeVersions(body: { value?: FunctionAppStack[] }, runtime: string): string[] {
  const versions = new Set<string>();
  for (const stack of body.value ?? []) {
    for (const major of stack.properties?.majorVersions ?? []) {
      for (const minor of major.minorVersions ?? []) {
        const linux = minor.stackSettings?.linuxRuntimeSettings;
        for (const sku of linux?.Sku ?? linux?.sku ?? []) {
          const r = sku.functionAppConfigProperties?.runtime;
          if (sku.skuCode?.toUpperCase() === 'FC1' && r?.name?.toLowerCase() === runtime.toLowerCase() && r.version)
            versions.add(r.version);
        }
      }
    }
  }
  return [...versions].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

export interface PreflightFacts {
  location: string;
  runtime: { name: string; version: string };
  /** The regions offering Flex Consumption; undefined when ARM could not list them yet (Microsoft.Web not registered). */
  flexRegions?: string[];
  /** What the region's Flex offers of the runtime; undefined when ARM does not know the region. */
  runtimeVersions?: string[];
}

const LANGUAGE: Record<string, string> = { node: 'Node.js', python: 'Python', java: 'Java', powershell: 'PowerShell' };

/** The problems with a region, each naming `aci-fleet:location`. Empty when it works. */
export function preflightProblems(f: PreflightFacts): string[] {
  const language = LANGUAGE[f.runtime.name] ?? f.runtime.name;
  if (f.flexRegions && !f.flexRegions.includes(f.location)) {
    return [
      `${KEY}: ${f.location} does not offer Flex Consumption (regions that do: ${f.flexRegions.join(', ') || 'none'}). ` +
        'Pick one of those for the app; servers can still run in any region ACI offers.',
    ];
  }
  if (f.runtimeVersions === undefined) return [`${KEY}: ${f.location} is not a region Azure Functions knows`];
  if (f.runtimeVersions.length === 0) return [`${KEY}: Flex Consumption in ${f.location} offers no ${language} version`];
  if (!f.runtimeVersions.includes(f.runtime.version)) {
    return [
      `${KEY}: Flex Consumption in ${f.location} offers ${language} ${f.runtimeVersions.join(', ')}, not ${f.runtime.version} ` +
        `(the version the app is built for)`,
    ];
  }
  return [];
}

export interface PreflightOptions {
  armUrl: string;
  subscriptionId: string;
  location: string;
  runtime: { name: string; version: string };
  getToken: () => string | Promise<string>;
  fetch?: FetchLike;
  requestTimeoutMs?: number;
}

/** Asks ARM both questions and returns the problems (empty: the region works). Throws when ARM cannot be asked. */
export async function preflight(opts: PreflightOptions): Promise<string[]> {
  const client: HttpClient = { getToken: opts.getToken, fetch: opts.fetch, requestTimeoutMs: opts.requestTimeoutMs ?? 60_000 };
  const arm = opts.armUrl.replace(/\/+$/, '');
  const [regions, stacks] = await Promise.all([
    sendText(
      client,
      `${arm}/subscriptions/${opts.subscriptionId}/providers/Microsoft.Web/geoRegions?sku=FlexConsumption&api-version=${WEB_API_VERSION}`,
    ),
    sendText(
      client,
      `${arm}/providers/Microsoft.Web/locations/${encodeURIComponent(opts.location)}/functionAppStacks` +
        `?stack=${encodeURIComponent(opts.runtime.name)}&removeHiddenStacks=true&api-version=${WEB_API_VERSION}`,
    ),
  ]);
  const cannotAsk = (what: string, a: { status: number; text: string }) =>
    new Error(`Preflight could not ask ARM ${what} for ${KEY} ${opts.location}: ${describeAnswer(a.status, a.text)}`);

  let flexRegions: string[] | undefined;
  if (regions.status === 200) flexRegions = regionsOf(JSON.parse(regions.text));
  // A new subscription: Microsoft.Web is registered by the stack right after preflight. The
  // region's stacks (a tenant-wide list) still tell whether it offers Flex.
  else if (!(regions.status === 409 && platformCode(regions.text) === 'MissingSubscriptionRegistration')) {
    throw cannotAsk('which regions offer Flex Consumption', regions);
  }

  let runtimeVersions: string[] | undefined;
  if (stacks.status === 200) runtimeVersions = flexRuntimeVersions(JSON.parse(stacks.text), opts.runtime.name);
  else if (stacks.status !== 400 && stacks.status !== 404) throw cannotAsk('which runtimes Flex Consumption offers', stacks);

  return preflightProblems({ location: opts.location, runtime: opts.runtime, flexRegions, runtimeVersions });
}

/** The API version of the ACI SDK the app uses; its ContainerGroupUsage example is the shape read here. */
export const ACI_API_VERSION = '2023-05-01';

/** One entry of a region's usages: `{ name: { value: 'ContainerGroups' }, limit: 100, currentValue: 3 }`. */
export interface AciUsage {
  name?: { value?: string };
  limit?: number;
  currentValue?: number;
}

/** The entries of a usages answer; undefined for anything else (a proxy's page, a body of another shape). */
function usageList(text: string): AciUsage[] | undefined {
  try {
    const value = (JSON.parse(text) as { value?: unknown } | null)?.value;
    return Array.isArray(value) ? value.filter((u): u is AciUsage => u !== null && typeof u === 'object') : undefined;
  } catch {
    return undefined;
  }
}

/** ACI's quotas a fleet's servers count against: every group, and the cores of its SKU and priority. */
const QUOTAS = [
  { quota: 'ContainerGroups', what: 'container groups', of: (d: FleetDemand) => d.servers },
  { quota: 'StandardCores', what: 'vCPUs', of: (d: FleetDemand) => (d.coresQuota === 'StandardCores' ? d.cores : 0) },
  { quota: 'StandardSpotCores', what: 'Spot vCPUs', of: (d: FleetDemand) => (d.coresQuota === 'StandardSpotCores' ? d.cores : 0) },
];

/**
 * Where the fleets at their largest would need more than ACI's quota in their region allows, one
 * warning per quota. Only the limit is compared: what is in use may be these fleets' own servers.
 * A region whose usages could not be read is not judged.
 */
export function quotaWarnings(demand: readonly FleetDemand[], usages: ReadonlyMap<string, readonly AciUsage[]>): string[] {
  const warnings: string[] = [];
  for (const location of [...new Set(demand.map((d) => d.location))].sort()) {
    const here = demand.filter((d) => d.location === location);
    for (const { quota, what, of } of QUOTAS) {
      const usage = usages.get(location)?.find((u) => String(u.name?.value).toLowerCase() === quota.toLowerCase());
      const wanted = Math.round(here.reduce((n, d) => n + of(d), 0) * 100) / 100;
      if (typeof usage?.limit !== 'number' || wanted <= usage.limit) continue;
      const who = here
        .filter((d) => of(d) > 0)
        .map((d) => `${d.fleet} ${Math.round(of(d) * 100) / 100}`)
        .join(', ');
      warnings.push(
        `ACI quota: at their largest the fleets may ask for ${wanted} ${what} in ${location} (${who}; drained servers waiting for their sessions to end come on top), more than the ` +
          `subscription's quota there (${quota}: ${usage.limit}, ${usage.currentValue ?? 0} in use). ACI refuses the creates past it ` +
          '(ContainerGroupQuotaReached) and the fleets stay smaller: ask Azure for more (Quotas in the portal), or lower their maximumInstances or replicas',
      );
    }
  }
  return warnings;
}

/**
 * Each region's usages, as ARM answers them; a region it did not answer for is left out (a
 * subscription that has not registered Microsoft.ContainerInstance yet has none to show), and
 * `unread` says why for any other answer.
 */
export async function readAciUsages(
  opts: Omit<PreflightOptions, 'location' | 'runtime'>,
  locations: readonly string[],
): Promise<{ usages: Map<string, AciUsage[]>; unread: string[] }> {
  const client: HttpClient = { getToken: opts.getToken, fetch: opts.fetch, requestTimeoutMs: opts.requestTimeoutMs ?? 60_000 };
  const arm = opts.armUrl.replace(/\/+$/, '');
  const usages = new Map<string, AciUsage[]>();
  const unread: string[] = [];
  await Promise.all(
    [...new Set(locations)].map(async (location) => {
      const url =
        `${arm}/subscriptions/${opts.subscriptionId}/providers/Microsoft.ContainerInstance/locations/` +
        `${encodeURIComponent(location)}/usages?api-version=${ACI_API_VERSION}`;
      const answer = await sendText(client, url).catch((e: Error) => ({ status: 0, text: e.message }));
      const list = answer.status === 200 ? usageList(answer.text) : undefined;
      if (list) usages.set(location, list);
      else if (!(answer.status === 409 && platformCode(answer.text) === 'MissingSubscriptionRegistration')) {
        const why = answer.status === 200 ? 'an answer that is not a usage list' : describeAnswer(answer.status, answer.text);
        unread.push(`ACI quota: could not read the quotas in ${location} (${why}); not checked`);
      }
    }),
  );
  return { usages, unread };
}
