// Preflight against the local fake of ARM: a region without Flex Consumption, or without the app's
// Node.js version on it, is refused with a message naming aci-fleet:location; a subscription that
// has not registered Microsoft.Web yet is still checked; ARM refusing to answer stops the run.
import { describe, it, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  flexRuntimeVersions,
  preflight,
  preflightProblems,
  quotaWarnings,
  readAciUsages,
  regionName,
  regionsOf,
} from '../../infra/deploy/preflight';
import type { FleetDemand } from '../../infra/fleetSpecs';
import { FLEX_RUNTIME } from '../../infra/app';
import {
  SUBSCRIPTION,
  aciUsagesBody,
  functionAppStacksBody,
  geoRegionsBody,
  startFakeAzure,
  type FakeAzure,
  type FakeScript,
} from './support/fakeAzure';

let fake: FakeAzure | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function check(location: string, script: FakeScript = {}) {
  await fake?.close();
  fake = await startFakeAzure(script);
  return preflight({ armUrl: fake.url, subscriptionId: SUBSCRIPTION, location, runtime: FLEX_RUNTIME, getToken: () => 'arm-token' });
}

describe('preflight decisions', () => {
  it('reads region names from display names', () => {
    assert.equal(regionName('East US 2'), 'eastus2');
    assert.deepEqual(regionsOf(geoRegionsBody(['West Europe', 'East US 2', 'west europe'])), ['eastus2', 'westeurope']);
    assert.deepEqual(regionsOf({}), []);
  });

  it('reads the versions Flex (FC1) offers of a runtime, and nothing of other plans or runtimes', () => {
    const body = functionAppStacksBody('westeurope', 'node', [
      ['node', '20'],
      ['node', '22'],
    ]);
    assert.deepEqual(flexRuntimeVersions(body, 'node'), ['20', '22']);
    assert.deepEqual(flexRuntimeVersions(body, 'python'), []);
    // An entry for another plan (no FC1 sku) is not Flex.
    const consumption = structuredClone(body);
    for (const major of consumption.value[0].properties.majorVersions) {
      for (const minor of major.minorVersions) minor.stackSettings.linuxRuntimeSettings.Sku[0].skuCode = 'Y1';
    }
    assert.deepEqual(flexRuntimeVersions(consumption, 'node'), []);
    assert.deepEqual(
      flexRuntimeVersions({ value: [{ properties: { majorVersions: [{ minorVersions: [{ stackSettings: {} }] }] } }] }, 'node'),
      [],
    );
  });

  const runtime = { name: 'node', version: '22' };
  const cases: Array<[string, Parameters<typeof preflightProblems>[0], RegExp | undefined]> = [
    [
      'a region with Flex and Node 22',
      { location: 'westeurope', runtime, flexRegions: ['westeurope'], runtimeVersions: ['20', '22'] },
      undefined,
    ],
    [
      'a region without Flex',
      { location: 'francecentral', runtime, flexRegions: ['eastus', 'westeurope'], runtimeVersions: ['22'] },
      /^aci-fleet:location: francecentral does not offer Flex Consumption \(regions that do: eastus, westeurope\)/,
    ],
    [
      'a region whose Flex has only older Node versions',
      { location: 'uksouth', runtime, flexRegions: ['uksouth'], runtimeVersions: ['18', '20'] },
      /^aci-fleet:location: Flex Consumption in uksouth offers Node\.js 18, 20, not 22/,
    ],
    [
      'a region whose Flex has no Node at all',
      { location: 'uksouth', runtime, flexRegions: ['uksouth'], runtimeVersions: [] },
      /offers no Node\.js version/,
    ],
    [
      'a region ARM does not know',
      { location: 'moon', runtime, flexRegions: undefined, runtimeVersions: undefined },
      /^aci-fleet:location: moon is not a region/,
    ],
    [
      'a region checked without the region list (Microsoft.Web unregistered)',
      { location: 'westeurope', runtime, runtimeVersions: ['22'] },
      undefined,
    ],
  ];
  for (const [what, facts, problem] of cases) {
    it(`${problem ? 'refuses' : 'accepts'} ${what}`, () => {
      const found = preflightProblems(facts);
      if (problem) {
        assert.equal(found.length, 1);
        assert.match(found[0], problem);
      } else assert.deepEqual(found, []);
    });
  }
});

describe('preflight against ARM', () => {
  it('accepts a region that offers Flex and Node 22, asking both questions with the token', async () => {
    assert.deepEqual(await check('westeurope'), []);
    const paths = fake!.requests.map((r) => r.path).sort();
    assert.deepEqual(paths, [
      '/providers/Microsoft.Web/locations/westeurope/functionAppStacks?stack=node&removeHiddenStacks=true&api-version=2024-04-01',
      `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Web/geoRegions?sku=FlexConsumption&api-version=2024-04-01`,
    ]);
    assert.ok(fake!.requests.every((r) => r.authorization === 'Bearer arm-token'));
  });

  it('refuses a region without Flex Consumption, naming the ones with it', async () => {
    const [problem] = await check('francecentral', { flexRuntimes: { francecentral: [['node', '22']] } });
    assert.match(
      problem,
      /aci-fleet:location: francecentral does not offer Flex Consumption \(regions that do: eastus, eastus2, northeurope, swedencentral, westeurope\)/,
    );
  });

  it('refuses a region whose Flex lacks the Node version the app runs on', async () => {
    const [problem] = await check('westeurope', { flexRuntimes: { westeurope: [['node', '20']] } });
    assert.match(problem, /aci-fleet:location: Flex Consumption in westeurope offers Node\.js 20, not 22/);
  });

  it('still checks the region of a subscription that has not registered Microsoft.Web yet', async () => {
    const unregistered = {
      status: 409,
      body: {
        error: { code: 'MissingSubscriptionRegistration', message: "The subscription is not registered to use namespace 'Microsoft.Web'." },
      },
    };
    assert.deepEqual(await check('westeurope', { geoRegions: unregistered }), []);
    const [problem] = await check('atlantis', { geoRegions: unregistered });
    assert.match(problem, /aci-fleet:location: atlantis is not a region Azure Functions knows/);
  });

  it('stops with what ARM said when it will not answer', async () => {
    await assert.rejects(
      check('westeurope', { geoRegions: { status: 403, body: { error: { code: 'AuthorizationFailed', message: 'no read access' } } } }),
      /Preflight could not ask ARM which regions offer Flex Consumption for aci-fleet:location westeurope: HTTP 403: no read access/,
    );
  });
});

describe("ACI's quotas against what the fleets may ask for", () => {
  const fleet = (name: string, location: string, servers: number, cores: number, spot = false): FleetDemand => ({
    fleet: name,
    location,
    servers,
    cores,
    coresQuota: spot ? 'StandardSpotCores' : 'StandardCores',
  });
  // ContainerGroupUsage.json (2023-05-01) as published: one entry, the groups' quota.
  const published = [
    { unit: 'Count', currentValue: 1, limit: 2000, name: { value: 'ContainerGroups', localizedValue: 'Container Groups' } },
  ];

  it('warns for each quota the fleets of a region would pass together at their largest, naming them', () => {
    const demand = [fleet('game', 'westeurope', 25, 50), fleet('default', 'westeurope', 13, 13), fleet('spot', 'westeurope', 4, 4, true)];
    const warnings = quotaWarnings(demand, new Map([['westeurope', aciUsagesBody(100, 10, { groups: 3, cores: 6 }).value]]));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(
      warnings[0]!,
      /^ACI quota: at their largest the fleets may ask for 63 vCPUs in westeurope \(game 50, default 13; drained servers waiting for their sessions to end come on top\), more than the subscription's quota there \(StandardCores: 10, 6 in use\)\. ACI refuses the creates past it \(ContainerGroupQuotaReached\)/,
    );
    const spot = quotaWarnings(demand, new Map([['westeurope', aciUsagesBody(100, 2).value]]));
    assert.deepEqual(
      spot.map((w) => w.match(/\((\w+): \d+/)?.[1]),
      ['StandardCores', 'StandardSpotCores'],
      'Spot servers count against their own quota',
    );
  });

  it('takes the published shape, judges only regions it could read, and compares the limit, not what is in use', () => {
    assert.deepEqual(quotaWarnings([fleet('game', 'westcentralus', 2000, 4000)], new Map([['westcentralus', published]])), []);
    assert.match(
      quotaWarnings([fleet('game', 'westcentralus', 2001, 1)], new Map([['westcentralus', published]]))[0]!,
      /2001 container groups/,
    );
    assert.deepEqual(quotaWarnings([fleet('game', 'eastus', 500, 500)], new Map()), [], 'no usages read: nothing to say');
    const gpu: FleetDemand = { fleet: 'gpu', location: 'eastus', servers: 5, cores: 500 };
    assert.deepEqual(
      quotaWarnings([gpu], new Map([['eastus', aciUsagesBody(10, 10).value]])),
      [],
      "a GPU group's cores are another quota's",
    );
    // What is in use may be these very fleets' servers (a second `pulumi up`).
    assert.deepEqual(
      quotaWarnings([fleet('game', 'eastus', 10, 10)], new Map([['eastus', aciUsagesBody(10, 10, { groups: 10, cores: 10 }).value]])),
      [],
    );
  });

  it('reads each region once from ARM with the token; an unregistered provider is no answer, anything else says so', async () => {
    fake = await startFakeAzure({
      aciUsages: {
        northeurope: {
          status: 409,
          body: {
            error: {
              code: 'MissingSubscriptionRegistration',
              message: "The subscription is not registered to use namespace 'Microsoft.ContainerInstance'.",
            },
          },
        },
        swedencentral: { status: 403, body: { error: { code: 'AuthorizationFailed', message: 'no read access' } } },
        // A proxy's page, and a body of another shape: no usages, never a failed preview.
        eastus: { status: 200, body: '<html>gateway</html>' },
        eastus2: { status: 200, body: { value: {} } },
      },
    });
    const { usages, unread } = await readAciUsages({ armUrl: fake.url, subscriptionId: SUBSCRIPTION, getToken: () => 'arm-token' }, [
      'westeurope',
      'westeurope',
      'northeurope',
      'swedencentral',
      'eastus',
      'eastus2',
    ]);
    assert.deepEqual([...usages.keys()], ['westeurope']);
    assert.equal(usages.get('westeurope')?.find((u) => u.name?.value === 'StandardCores')?.limit, 100);
    assert.deepEqual(unread.sort(), [
      'ACI quota: could not read the quotas in eastus (an answer that is not a usage list); not checked',
      'ACI quota: could not read the quotas in eastus2 (an answer that is not a usage list); not checked',
      'ACI quota: could not read the quotas in swedencentral (HTTP 403: no read access); not checked',
    ]);
    const asked = fake.requests.filter((r) => r.path.includes('Microsoft.ContainerInstance'));
    assert.equal(asked.length, 5);
    assert.ok(asked.every((r) => r.authorization === 'Bearer arm-token'));
    assert.ok(
      asked.some(
        (r) =>
          r.path ===
          `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.ContainerInstance/locations/westeurope/usages?api-version=2023-05-01`,
      ),
    );
  });
});
