// Stack configuration: typed values with defaults, and a bad value fails with the key's name.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as pulumi from '@pulumi/pulumi';
import { isFleetName, isNcrontab, isRegionName, isResourceGroupName, loadConfig, parseConfig, readConfig } from '../../infra/config';
import { readSettings } from '../../runtime/src/options';
import { configRefusal } from './support/configRefusal';
import { stackFileConfig } from './support/recording';

const root = path.resolve(__dirname, '../..');
const ctx = { project: 'aci-fleet', stack: 'dev' };

const problemsOf = (raw: Record<string, string>, context = ctx) => configRefusal(raw, context).message;

describe('validators', () => {
  it('accepts region names, not display names', () => {
    const cases: Array<[string, boolean]> = [
      ['westeurope', true],
      ['eastus2', true],
      ['swedencentral', true],
      ['West Europe', false],
      ['WestEurope', false],
      ['west-europe', false],
      ['eu', false],
      ['', false],
    ];
    for (const [v, ok] of cases) assert.equal(isRegionName(v), ok, v);
  });

  it('accepts six-field NCRONTAB only', () => {
    const cases: Array<[string, boolean]> = [
      ['0 */1 * * * *', true],
      ['0 0 3 * * Mon', true],
      ['*/30 * * * * *', true],
      ['*/5 * * * *', false], // five fields: cron, not NCRONTAB
      ['every minute', false],
      ['0 */1 * * * * *', false],
    ];
    for (const [v, ok] of cases) assert.equal(isNcrontab(v), ok, v);
  });

  it('applies Azure resource group and fleet name rules', () => {
    assert.equal(isResourceGroupName('rg-game_servers.eu(1)'), true);
    assert.equal(isResourceGroupName('ends-with-period.'), false);
    assert.equal(isResourceGroupName('has space'), false);
    assert.equal(isResourceGroupName('x'.repeat(91)), false);
    assert.equal(isResourceGroupName('spiele-münchen'), true, 'ARM allows letters of any script');
    assert.equal(isResourceGroupName('ü'.repeat(90)), true);
    assert.equal(isResourceGroupName('ü'.repeat(91)), false);
    assert.equal(isResourceGroupName('games🎮'), false, 'an emoji is no letter');
    assert.equal(isResourceGroupName('İstanbul'), false, 'its lower-case spelling is another name');
    assert.equal(isFleetName('aci-fleet-dev'), true);
    assert.equal(isFleetName('Aci'), false);
    assert.equal(isFleetName('double--hyphen'), false);
    assert.equal(isFleetName('trailing-'), false);
  });
});

describe('parseConfig', () => {
  it("fills the stack's own defaults and leaves the runtime's options unset", () => {
    const always = {
      FLEET_NAME: 'aci-fleet-dev',
      FLEET_TABLE_NAME: 'ACIDetails',
      FLEET_DEMAND_TABLE_NAME: 'FleetDemand',
      FLEET_FLEETS_TABLE_NAME: 'FleetSpecs',
      FLEET_LIST_PUBLIC: 'false',
      AUTOSCALER_ENABLED: 'false',
    };
    const c = parseConfig({ location: 'westeurope' }, ctx);
    assert.deepEqual(c, {
      location: 'westeurope',
      fleetName: 'aci-fleet-dev',
      appResourceGroupName: 'aci-fleet-dev-app',
      containerResourceGroups: [{ name: 'aci-fleet-dev-servers', existing: false }],
      maxFunctionInstances: 40,
      instanceMemoryMB: 2048,
      eventDelivery: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 },
      logRetentionDays: 30,
      reportTokens: { generation: 0, keepPrevious: true },
      alertEmail: undefined,
      runtimeDir: 'runtime',
      tags: {},
      fleets: {},
      fleetDemand: [],
      fleetsSecret: false,
      // Only what the stack always writes: every other option is left to the runtime's default.
      optionSettings: always,
      runtime: readSettings({ ...always, FLEET_RESOURCE_GROUPS: 'aci-fleet-dev-servers' }),
    });
  });

  it("takes the runtime's own default policy (rate) when none is set", () => {
    const c = parseConfig({ location: 'westeurope' }, ctx);
    assert.equal(c.runtime.AUTOSCALER_POLICY, 'rate');
    assert.equal(c.optionSettings.AUTOSCALER_POLICY, undefined);
  });

  it('reads every runtime option a stack may set', () => {
    const c = parseConfig(
      {
        location: 'westeurope',
        metricsSchedule: '',
        creatingTimeoutMinutes: '20',
        allocation: JSON.stringify({ reservationTtlSeconds: 90, reportGraceSeconds: 2.5, retryAfterSeconds: 3 }),
        autoscaler: JSON.stringify({
          bufferPercent: 7.5,
          scaleOutCooldownSeconds: 30,
          scaleInCooldownSeconds: 300,
          createQuota: 50,
          createQuotaWindowSeconds: 600,
          demandWindowSeconds: 120,
        }),
        retries: JSON.stringify({ armMaxRetries: 6, storageTimeoutMs: 5000, writeAttempts: 12 }),
      },
      ctx,
    );
    assert.equal(c.runtime.FLEET_METRICS_SCHEDULE, '', '"" turns ACIMetrics off');
    assert.equal(c.optionSettings.FLEET_METRICS_SCHEDULE, '');
    assert.equal(c.runtime.CREATING_TIMEOUT_MINUTES, 20);
    const {
      FLEET_NAME,
      FLEET_TABLE_NAME,
      FLEET_DEMAND_TABLE_NAME,
      FLEET_FLEETS_TABLE_NAME,
      FLEET_LIST_PUBLIC,
      AUTOSCALER_ENABLED,
      ...set
    } = c.optionSettings;
    assert.deepEqual(set, {
      FLEET_METRICS_SCHEDULE: '',
      CREATING_TIMEOUT_MINUTES: '20',
      ALLOCATION_RESERVATION_TTL_SECONDS: '90',
      ALLOCATION_REPORT_GRACE_SECONDS: '2.5',
      ALLOCATION_RETRY_AFTER_SECONDS: '3',
      AUTOSCALER_BUFFER_PERCENT: '7.5',
      AUTOSCALER_SCALE_OUT_COOLDOWN_SECONDS: '30',
      AUTOSCALER_SCALE_IN_COOLDOWN_SECONDS: '300',
      AUTOSCALER_CREATE_QUOTA: '50',
      AUTOSCALER_CREATE_QUOTA_WINDOW_SECONDS: '600',
      AUTOSCALER_DEMAND_WINDOW_SECONDS: '120',
      ARM_MAX_RETRIES: '6',
      STORAGE_TIMEOUT_MS: '5000',
      FLEET_WRITE_ATTEMPTS: '12',
    });
    assert.deepEqual(
      [FLEET_NAME, FLEET_TABLE_NAME, FLEET_DEMAND_TABLE_NAME, FLEET_FLEETS_TABLE_NAME, FLEET_LIST_PUBLIC, AUTOSCALER_ENABLED],
      ['aci-fleet-dev', 'ACIDetails', 'FleetDemand', 'FleetSpecs', 'false', 'false'],
    );
    assert.equal(c.runtime.AUTOSCALER_BUFFER_PERCENT, 7.5);
    assert.equal(c.runtime.FLEET_WRITE_ATTEMPTS, 12);
  });

  it('takes azure-native:location when aci-fleet:location is not set', () => {
    assert.equal(parseConfig({}, { ...ctx, providerLocation: 'eastus2' }).location, 'eastus2');
  });

  it('reads existing and created container resource groups', () => {
    const c = parseConfig(
      { location: 'westeurope', containerResourceGroups: JSON.stringify(['new-rg', { name: 'old-rg', existing: true }]) },
      ctx,
    );
    assert.deepEqual(c.containerResourceGroups, [
      { name: 'new-rg', existing: false },
      { name: 'old-rg', existing: true },
    ]);
  });

  const template = {
    resourceGroup: 'aci-fleet-dev-servers',
    containerGroup: {
      location: 'westeurope',
      osType: 'Linux',
      containers: [{ name: 'server', image: 'example/game:1', resources: { requests: { cpu: 1, memoryInGB: 1.5 } } }],
    },
  };

  it('passes the autoscaler template to the runtime as JSON, from YAML or from JSON text', () => {
    const fromYaml = parseConfig(
      { location: 'westeurope', autoscaler: JSON.stringify({ enabled: true, containerGroupTemplate: template }) },
      ctx,
    );
    assert.deepEqual(JSON.parse(fromYaml.optionSettings.CONTAINER_GROUP_TEMPLATE!), template);
    const fromText = parseConfig(
      { location: 'westeurope', autoscaler: JSON.stringify({ containerGroupTemplate: JSON.stringify(template) }) },
      ctx,
    );
    assert.equal(fromText.optionSettings.CONTAINER_GROUP_TEMPLATE, JSON.stringify(template));
  });

  it('accepts a template in any container resource group, whatever its case', () => {
    const c = parseConfig(
      {
        location: 'westeurope',
        containerResourceGroups: JSON.stringify(['servers-a', { name: 'Shared-Servers', existing: true }]),
        autoscaler: JSON.stringify({ containerGroupTemplate: { ...template, resourceGroup: 'shared-servers' } }),
      },
      ctx,
    );
    assert.equal(c.runtime.CONTAINER_GROUP_TEMPLATE?.resourceGroup, 'shared-servers');
  });

  const invalid: Array<[string, Record<string, string>, RegExp]> = [
    ['no location at all', {}, /aci-fleet:location: is required/],
    ['a display name as region', { location: 'West Europe' }, /aci-fleet:location: must be a region name/],
    [
      'minimum above maximum instances',
      { autoscaler: '{"minimumInstances":5,"maximumInstances":3}' },
      /aci-fleet:autoscaler\.minimumInstances: must not exceed maximumInstances \(5 > 3\)/,
    ],
    [
      "a minimum above the runtime's default maximum",
      { autoscaler: '{"minimumInstances":20}' },
      /aci-fleet:autoscaler\.minimumInstances: must not exceed maximumInstances \(20 > the default 10\)/,
    ],
    [
      'scale-in at or above scale-out',
      { autoscaler: '{"scaleInThreshold":0.9,"scaleOutThreshold":0.8}' },
      /aci-fleet:autoscaler\.scaleInThreshold: must be below scaleOutThreshold/,
    ],
    [
      'a scale-out threshold at or below the default scale-in one',
      { autoscaler: '{"scaleOutThreshold":0.5}' },
      /aci-fleet:autoscaler\.scaleOutThreshold: must be above scaleInThreshold \(0\.5 <= the default 0\.6\)/,
    ],
    ['a threshold above 1', { autoscaler: '{"scaleOutThreshold":80}' }, /aci-fleet:autoscaler\.scaleOutThreshold: must be a fraction/],
    [
      'a scale-in threshold of 1',
      { autoscaler: '{"scaleInThreshold":1}' },
      /aci-fleet:autoscaler\.scaleInThreshold: must be a fraction from 0 and below 1/,
    ],
    ['an unknown autoscaler policy', { autoscaler: '{"policy":"magic"}' }, /aci-fleet:autoscaler\.policy/],
    [
      'a buffer percentage above 95',
      { autoscaler: '{"bufferPercent":96}' },
      /aci-fleet:autoscaler\.bufferPercent: must be a number from 0 to 95/,
    ],
    [
      'a service level of 1',
      { autoscaler: '{"serviceLevel":1}' },
      /aci-fleet:autoscaler\.serviceLevel: must be a fraction above 0 and below 1/,
    ],
    ['a service level of 0', { autoscaler: '{"serviceLevel":0}' }, /aci-fleet:autoscaler\.serviceLevel: must be a fraction above 0/],
    [
      'the rate policy run less often than bookings are kept',
      { autoscaler: '{"schedule":"0 */2 * * * *"}' },
      /aci-fleet:autoscaler\.schedule: runs up to 120 s apart, longer than .*reservationTtlSeconds \(the default 60 s\)/,
    ],
    ['a create quota of 0', { autoscaler: '{"createQuota":0}' }, /aci-fleet:autoscaler\.createQuota: must be a whole number from 1/],
    [
      'an enabled autoscaler without a template',
      { autoscaler: '{"enabled":true}' },
      /aci-fleet:autoscaler\.containerGroupTemplate: is required when the autoscaler is enabled/,
    ],
    [
      'a template that is not JSON',
      { autoscaler: '{"containerGroupTemplate":"{nope"}' },
      /aci-fleet:autoscaler\.containerGroupTemplate: must be a YAML map/,
    ],
    [
      'a bare container group as template',
      { autoscaler: '{"containerGroupTemplate":{"location":"westeurope","osType":"Linux"}}' },
      /aci-fleet:autoscaler\.containerGroupTemplate\.resourceGroup: .*\n.*aci-fleet:autoscaler\.containerGroupTemplate\.containerGroup/,
    ],
    [
      'a template container without an image',
      {
        autoscaler: JSON.stringify({
          containerGroupTemplate: {
            resourceGroup: 'aci-fleet-dev-servers',
            containerGroup: {
              location: 'westeurope',
              osType: 'Linux',
              containers: [{ name: 's', image: '', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
            },
          },
        }),
      },
      /aci-fleet:autoscaler\.containerGroupTemplate\.containerGroup\.containers\.0\.image: image is required/,
    ],
    [
      "a template outside the fleet's resource groups",
      {
        autoscaler: JSON.stringify({
          containerGroupTemplate: {
            resourceGroup: 'elsewhere',
            containerGroup: {
              location: 'westeurope',
              osType: 'Linux',
              containers: [{ name: 's', image: 'i', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
            },
          },
        }),
      },
      /aci-fleet:autoscaler\.containerGroupTemplate\.resourceGroup: "elsewhere" is not one of containerResourceGroups \(aci-fleet-dev-servers\)/,
    ],
    [
      'a booking TTL above an hour',
      { allocation: '{"reservationTtlSeconds":7200}' },
      /aci-fleet:allocation\.reservationTtlSeconds: must be a whole number from 1 to 3600/,
    ],
    ['a misspelt allocation key', { allocation: '{"ttl":60}' }, /aci-fleet:allocation\.ttl: unknown key/],
    [
      'a metrics schedule that is not NCRONTAB',
      { metricsSchedule: '*/5 * * * *' },
      /aci-fleet:metricsSchedule: must be an NCRONTAB expression with six fields, or "" to turn ACIMetrics off/,
    ],
    ['too many ARM retries', { retries: '{"armMaxRetries":11}' }, /aci-fleet:retries\.armMaxRetries: must be a whole number from 0 to 10/],
    [
      'the demand table named like the fleet table',
      { demandTableName: 'acidetails' },
      /aci-fleet:demandTableName: must differ from tableName \("ACIDetails"\)/,
    ],
    [
      'an empty resource group list',
      { containerResourceGroups: '[]' },
      /aci-fleet:containerResourceGroups: must list at least one resource group/,
    ],
    [
      'a duplicated resource group',
      { containerResourceGroups: '["rg1","RG1"]' },
      /aci-fleet:containerResourceGroups\.1\.name: "RG1" is listed twice/,
    ],
    ['an invalid resource group name', { containerResourceGroups: '["bad name"]' }, /aci-fleet:containerResourceGroups\.0\.name/],
    [
      'a list that is not YAML structure',
      { containerResourceGroups: 'rg1,rg2' },
      /aci-fleet:containerResourceGroups: must be YAML structure/,
    ],
    ['a five-field cron schedule', { gcSchedule: '*/5 * * * *' }, /aci-fleet:gcSchedule: must be an NCRONTAB expression with six fields/],
    [
      'a non-numeric instance count',
      { maxFunctionInstances: 'many' },
      /aci-fleet:maxFunctionInstances: must be a whole number from 1 to 1000/,
    ],
    [
      'too many Function instances',
      { maxFunctionInstances: '5000' },
      /aci-fleet:maxFunctionInstances: must be a whole number from 1 to 1000/,
    ],
    ['an unsupported instance memory', { instanceMemoryMB: '512' }, /aci-fleet:instanceMemoryMB: must be 2048 or 4096/],
    ['a boolean that is not one', { serverListPublic: 'yes' }, /aci-fleet:serverListPublic: must be true or false/],
    ['a misspelt key', { autoscalr: '{}' }, /aci-fleet:autoscalr: unknown key/],
    ['a misspelt nested key', { autoscaler: '{"enable":true}' }, /aci-fleet:autoscaler\.enable: unknown key/],
    ['a fleet name unfit for DNS', { fleetName: 'My_Fleet' }, /aci-fleet:fleetName/],
    ['an invalid table name', { tableName: '1table' }, /aci-fleet:tableName/],
    ['too many delivery attempts', { eventDelivery: '{"maxDeliveryAttempts":100}' }, /aci-fleet:eventDelivery\.maxDeliveryAttempts/],
    ['an alert e-mail that is not one', { alertEmail: 'ops at example.com' }, /aci-fleet:alertEmail: must be an e-mail address/],
    ['an alert e-mail without a domain', { alertEmail: 'ops@' }, /aci-fleet:alertEmail: must be an e-mail address/],
    [
      'a negative report-token generation',
      { reportTokenGeneration: '-1' },
      /aci-fleet:reportTokenGeneration: must be a whole number from 0/,
    ],
    ['a fractional report-token generation', { reportTokenGeneration: '1.5' }, /aci-fleet:reportTokenGeneration: must be a whole number/],
    [
      'a keepPrevious that is not a boolean',
      { reportTokenKeepPrevious: 'maybe' },
      /aci-fleet:reportTokenKeepPrevious: must be true or false/,
    ],
  ];
  for (const [what, raw, expected] of invalid) {
    it(`rejects ${what}, naming the key`, () => {
      const withLocation = 'location' in raw || what === 'no location at all' ? raw : { location: 'westeurope', ...raw };
      assert.match(problemsOf(withLocation), expected);
    });
  }

  it('reads the alert e-mail and the report-token rotation', () => {
    const c = parseConfig(
      { location: 'westeurope', alertEmail: 'ops@example.com', reportTokenGeneration: '3', reportTokenKeepPrevious: 'false' },
      ctx,
    );
    assert.equal(c.alertEmail, 'ops@example.com');
    assert.deepEqual(c.reportTokens, { generation: 3, keepPrevious: false });
  });

  it('reports every bad key at once', () => {
    const message = problemsOf({ location: 'westeurope', gcSchedule: 'x', maxFunctionInstances: '0' });
    assert.match(message, /aci-fleet:gcSchedule/);
    assert.match(message, /aci-fleet:maxFunctionInstances/);
  });
});

describe('stack files', () => {
  const stacks = fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => Boolean(s));

  it('exist for at least two regions (one stack per region)', () => {
    const regions = new Set(stacks.map((s) => stackFileConfig(s)['aci-fleet:location']));
    assert.ok(stacks.includes('dev'));
    assert.ok(regions.size >= 2, `regions: ${[...regions].join(', ')}`);
  });

  for (const stack of stacks) {
    it(`Pulumi.${stack}.yaml is a valid configuration`, () => {
      const config = readConfig(stackFileConfig(stack), 'aci-fleet', stack);
      assert.ok(isRegionName(config.location));
    });
  }

  it('the project file runs infra/index.ts with Node.js', () => {
    const project = parseYaml(fs.readFileSync(path.join(root, 'Pulumi.yaml'), 'utf8')) as {
      name: string;
      runtime: { name: string; options?: { nodeargs?: string; typescript?: boolean } };
      main: string;
    };
    assert.equal(project.name, 'aci-fleet');
    assert.equal(project.runtime.name, 'nodejs');
    assert.ok(fs.existsSync(path.join(root, project.main)), project.main);
    assert.match(project.runtime.options?.nodeargs ?? '', /--import tsx/);
    assert.ok(fs.existsSync(path.join(root, 'node_modules/tsx')));
  });
});

describe('loadConfig', () => {
  it('fails the Pulumi run with a RunError (message only, no stack trace) naming the key', async () => {
    await pulumi.runtime.setMocks(
      { newResource: () => assert.fail('no resource'), call: () => assert.fail('no invoke') },
      'aci-fleet',
      'dev',
    );
    pulumi.runtime.setAllConfig({ 'aci-fleet:location': 'westeurope', 'aci-fleet:containerResourceGroups': '[]' });
    assert.throws(loadConfig, (e: Error) => pulumi.RunError.isInstance(e) && /aci-fleet:containerResourceGroups/.test(e.message));
    pulumi.runtime.setAllConfig({ 'aci-fleet:location': 'westeurope', 'other-project:key': 'ignored' });
    assert.equal(loadConfig().fleetName, 'aci-fleet-dev');
  });
});
