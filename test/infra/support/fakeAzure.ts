// A local stand-in for the Azure REST surface the deploy-time steps call, on 127.0.0.1, scripted
// per test: a Flex Consumption app's SCM (Kudu) endpoint and its HTTP API, and ARM's function
// list, host keys, resource providers, Event Grid subscriptions, geoRegions and functionAppStacks.
// Scripted answers are consumed in order, the last one repeats. The ARM shapes follow the REST
// specs' published examples (azure-rest-api-specs: Microsoft.Web GetFunctionAppStacksForLocation,
// ListHostKeys; Microsoft.Resources Providers_Get/Register; Microsoft.EventGrid
// SystemTopicEventSubscriptions_Get).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../support/clock';

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface FakeScript {
  /** Answers to POST /api/publish. */
  publish?: Answer[];
  /** Answers to GET /api/deployments/<id> (and /latest), by id. */
  deployments?: Record<string, Answer[]>;
  /** Answers to GET /api/deployments/<id>/log. */
  logs?: Record<string, Answer>;
  /** Answers to GET /details/<n> (log entry details). */
  details?: Record<string, Answer>;
  /** Function names ARM lists, one list per GET of `.../functions`. */
  functions?: string[][];
  /** Resource providers' registrationState, one per GET, by namespace (default: Registered). */
  providers?: Record<string, string[]>;
  /** Answers to POST .../providers/<ns>/register, by namespace (default: 200 Registering). */
  register?: Record<string, Answer[]>;
  /** Display names of the regions offering Flex Consumption (geoRegions?sku=FlexConsumption). */
  flexRegions?: string[];
  /** Overrides the geoRegions answer (e.g. 409 MissingSubscriptionRegistration). */
  geoRegions?: Answer;
  /** What Flex offers per region: `{ westeurope: [['node', '20'], ['node', '22']] }`; other regions are unknown (404). */
  flexRuntimes?: Record<string, Array<[string, string]>>;
  /** ACI's usages per region (`Microsoft.ContainerInstance/locations/<region>/usages`); others: aciUsagesBody(100, 100). */
  aciUsages?: Record<string, Answer>;
  /** Answers to POST <app>/host/default/listkeys. */
  hostKeys?: Answer[];
  /** Answers to GET /api/openapi.json. */
  openApi?: Answer[];
  /** Answers to GET /api/ACIList, with the function key and without it. */
  aciList?: { withKey?: Answer[]; withoutKey?: Answer[] };
  /** provisioningState of Event Grid subscriptions, one per GET, by resource id. */
  eventSubscriptions?: Record<string, string[]>;
}

export interface SeenRequest {
  method: string;
  path: string;
  authorization?: string;
  functionKey?: string;
  contentType?: string;
  body: Buffer;
}

export interface FakeAzure {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export const SUBSCRIPTION = 'sub';
export const APP_RESOURCE_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Web/sites/app`;
export const FUNCTION_KEY = 'fake-function-key';
/** Regions of the default catalog, as geoRegions names them. */
export const DEFAULT_FLEX_REGIONS = ['West Europe', 'North Europe', 'East US', 'East US 2', 'Sweden Central'];
export const DEFAULT_FLEX_RUNTIMES: Record<string, Array<[string, string]>> = Object.fromEntries(
  [...DEFAULT_FLEX_REGIONS, 'UK South'].map((r) => [
    r.replace(/\s+/g, '').toLowerCase(),
    [
      ['node', '20'],
      ['node', '22'],
    ],
  ]),
);

function take<T>(list: T[] | undefined, fallback: T): T {
  if (!list || list.length === 0) return fallback;
  return list.length > 1 ? list.shift()! : list[0];
}

const copyLists = <T>(r: Record<string, T[]> | undefined) => Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, [...v]]));

/**
 * A region's ACI usages as ContainerGroupUsage.json (2023-05-01) shows them, with the cores quotas
 * ACI lists beside the groups' (users' quota errors name StandardCores and StandardSpotCores).
 */
export function aciUsagesBody(groups: number, cores: number, inUse = { groups: 0, cores: 0 }) {
  const usage = (value: string, localizedValue: string, limit: number, currentValue: number) => ({
    unit: 'Count',
    currentValue,
    limit,
    name: { value, localizedValue },
  });
  return {
    value: [
      usage('ContainerGroups', 'Container Groups', groups, inUse.groups),
      usage('StandardCores', 'Standard Cores', cores, inUse.cores),
      usage('StandardSpotCores', 'Standard Spot Cores', cores, 0),
    ],
  };
}

/** A geoRegions answer as ARM gives it: display names, a subscription-scoped id. */
export function geoRegionsBody(displayNames: readonly string[]) {
  return {
    value: displayNames.map((name) => ({
      id: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Web/geoRegions/${name}`,
      name,
      type: 'Microsoft.Web/geoRegions',
      properties: { name, displayName: name, orgDomain: 'PUBLIC;FLEXCONSUMPTION' },
    })),
  };
}

/** A region's functionAppStacks for one stack, with an FC1 entry per Flex runtime (as GetFunctionAppStacksForLocation shows them). */
export function functionAppStacksBody(location: string, stack: string, runtimes: Array<[string, string]>) {
  const versions = runtimes.filter(([name]) => name === stack).map(([, version]) => version);
  return {
    value: [
      {
        id: `/providers/Microsoft.Web/locations/functionAppStacks/${stack}`,
        name: stack,
        type: 'Microsoft.Web/locations/functionAppStacks',
        location,
        properties: {
          displayText: stack,
          value: stack,
          preferredOs: 'Linux',
          majorVersions: versions.map((v) => ({
            displayText: `${stack} ${v}`,
            value: v,
            minorVersions: [
              {
                displayText: `${stack} ${v} LTS`,
                value: `${v} LTS`,
                stackSettings: {
                  linuxRuntimeSettings: {
                    runtimeVersion: `${stack.toUpperCase()}|${v}`,
                    appSettingsDictionary: { FUNCTIONS_WORKER_RUNTIME: stack },
                    siteConfigPropertiesDictionary: { use32BitWorkerProcess: false, linuxFxVersion: `${stack.toUpperCase()}|${v}` },
                    supportedFunctionsExtensionVersions: ['~4'],
                    Sku: [
                      {
                        skuCode: 'FC1',
                        instanceMemoryMB: [
                          { size: 2048, isDefault: true },
                          { size: 4096, isDefault: false },
                        ],
                        maximumInstanceCount: { lowestMaximumInstanceCount: 40, highestMaximumInstanceCount: 1000, defaultValue: 100 },
                        functionAppConfigProperties: { runtime: { name: stack, version: v } },
                      },
                    ],
                  },
                },
              },
            ],
          })),
        },
      },
    ],
  };
}

/** The OpenAPI document the runtime's OpenApi function serves, in outline. */
export const OPENAPI_DOCUMENT = { openapi: '3.1.0', info: { title: 'aci-fleet', version: '1' }, paths: { '/api/ACIList': { get: {} } } };

export async function startFakeAzure(script: FakeScript): Promise<FakeAzure> {
  const requests: SeenRequest[] = [];
  const publish = [...(script.publish ?? [])];
  const deployments = copyLists(script.deployments);
  const functions = [...(script.functions ?? [])];
  const providers = copyLists(script.providers);
  const register = copyLists(script.register);
  const hostKeys = [...(script.hostKeys ?? [])];
  const openApi = [...(script.openApi ?? [])];
  const withKey = [...(script.aciList?.withKey ?? [])];
  const withoutKey = [...(script.aciList?.withoutKey ?? [])];
  const eventSubscriptions = copyLists(script.eventSubscriptions);
  const flexRuntimes = script.flexRuntimes ?? DEFAULT_FLEX_RUNTIMES;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const functionKey = req.headers['x-functions-key'];
      requests.push({
        method: req.method ?? '',
        path: `${url.pathname}${url.search}`,
        authorization: req.headers.authorization,
        functionKey: typeof functionKey === 'string' ? functionKey : undefined,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks),
      });
      const send = (a: Answer) => {
        const body = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
        res.writeHead(a.status, { 'Content-Type': 'application/json', ...a.headers });
        res.end(body);
      };
      const p = decodeURIComponent(url.pathname);
      const notFound = (what: string): Answer => ({ status: 404, body: { error: { code: 'ResourceNotFound', message: `no ${what}` } } });
      /** Method, path pattern, and the answer from the pattern's groups. */
      const routes: Array<[string, RegExp, (m: RegExpMatchArray) => Answer]> = [
        // SCM (Kudu)
        ['POST', /^\/api\/publish$/, () => take(publish, { status: 500 })],
        ['GET', /^\/api\/deployments\/([^/]+)\/log$/, (m) => script.logs?.[m[1]] ?? { status: 200, body: [] }],
        ['GET', /^\/api\/deployments\/([^/]+)$/, (m) => take(deployments[m[1]], { status: 404 })],
        ['GET', /^\/details\/([^/]+)$/, (m) => script.details?.[m[1]] ?? { status: 404 }],
        // The app's HTTP API
        ['GET', /^\/api\/openapi\.json$/, () => take(openApi, { status: 200, body: OPENAPI_DOCUMENT })],
        [
          'GET',
          /^\/api\/ACIList$/,
          () => (functionKey === FUNCTION_KEY ? take(withKey, { status: 200, body: [] }) : take(withoutKey, { status: 401 })),
        ],
        // ARM: the app
        [
          'GET',
          new RegExp(`^${APP_RESOURCE_ID}/functions$`),
          () => ({
            status: 200,
            body: {
              value: take(functions, []).map((n) => ({
                id: `${APP_RESOURCE_ID}/functions/${n}`,
                name: `app/${n}`,
                properties: { name: n },
              })),
            },
          }),
        ],
        [
          'POST',
          new RegExp(`^${APP_RESOURCE_ID}/host/default/listkeys$`),
          () => take(hostKeys, { status: 200, body: { masterKey: 'master', functionKeys: { default: FUNCTION_KEY }, systemKeys: {} } }),
        ],
        // ARM: resource providers, regions and stacks
        [
          'POST',
          /^\/subscriptions\/([^/]+)\/providers\/([^/]+)\/register$/,
          (m) => take(register[m[2]], { status: 200, body: { namespace: m[2], registrationState: 'Registering' } }),
        ],
        [
          'GET',
          /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Web\/geoRegions$/,
          () => script.geoRegions ?? { status: 200, body: geoRegionsBody(script.flexRegions ?? DEFAULT_FLEX_REGIONS) },
        ],
        [
          'GET',
          /^\/subscriptions\/([^/]+)\/providers\/([^/]+)$/,
          (m) => ({
            status: 200,
            body: { id: p, namespace: m[2], registrationState: take(providers[m[2]], 'Registered'), resourceTypes: [] },
          }),
        ],
        [
          'GET',
          /^\/providers\/Microsoft\.Web\/locations\/([^/]+)\/functionAppStacks$/,
          (m) =>
            flexRuntimes[m[1]]
              ? { status: 200, body: functionAppStacksBody(m[1], url.searchParams.get('stack') ?? 'node', flexRuntimes[m[1]]) }
              : { status: 404, body: { error: { code: 'LocationNotFound', message: `No location ${m[1]}` } } },
        ],
        [
          'GET',
          /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.ContainerInstance\/locations\/([^/]+)\/usages$/,
          (m) => script.aciUsages?.[m[2]] ?? { status: 200, body: aciUsagesBody(100, 100) },
        ],
        // ARM: Event Grid subscriptions
        [
          'GET',
          /^(\/subscriptions\/.+\/providers\/Microsoft\.EventGrid\/systemTopics\/[^/]+\/eventSubscriptions\/[^/]+)$/,
          (m) => {
            const state = take<string | undefined>(eventSubscriptions[m[1]], undefined);
            return state === undefined
              ? notFound(m[1])
              : { status: 200, body: { id: m[1], name: m[1].split('/').pop(), properties: { provisioningState: state } } };
          },
        ],
      ];
      for (const [method, pattern, answer] of routes) {
        const m = req.method === method ? p.match(pattern) : null;
        if (m) return send(answer(m));
      }
      send({ status: 404, body: { error: { code: 'NotFound', message: `no route ${req.method} ${p}` } } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Timing small enough for tests; the logic is the same as with the defaults. The waits between
 * polls and retries are short; the deadlines are only safety nets, so long that no run expecting
 * success hits one on a loaded machine (oneDeploy measures them by the wall clock). A test about a
 * deadline sets its own short one, against a fake that never finishes, or runs on manualWaiting.
 */
export const FAST = {
  pollIntervalMs: 5,
  deployTimeoutMs: 60_000,
  indexTimeoutMs: 60_000,
  maxPublishAttempts: 5,
  storagePropagationTimeoutMs: 60_000,
  retryInitialDelayMs: 5,
  retryMaxDelayMs: 20,
  requestTimeoutMs: 60_000,
};

/**
 * A deploy step's clock and waits on a ManualClock: each wait moves the clock and returns at once,
 * so a test of a bound of minutes runs in milliseconds and the bound is exactly the one measured.
 */
export function manualWaiting(start = Date.UTC(2025, 0, 1)) {
  const clock = new ManualClock(start);
  const slept: number[] = [];
  return {
    now: () => clock.now().getTime(),
    sleep: async (ms: number) => {
      slept.push(ms);
      clock.advance(ms);
    },
    slept,
    clock,
    /** Milliseconds the step has waited in all. */
    elapsed: () => clock.now().getTime() - start,
  };
}
