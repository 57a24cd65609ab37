// The app settings the stack writes against the settings the runtime reads (runtime/src/config.ts),
// so the two cannot drift apart: every name written is one the runtime or the platform reads, each
// shipped stack's settings start the runtime, every runtime setting is carried or excluded on
// purpose, and no value the stack accepts is one the runtime would refuse.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import fc from 'fast-check';
import { OPTIONS, SETTING_NAMES, readSettings, settingText } from '../../runtime/src/options';
import { ConfigError, OPTION_KEYS, parseConfig } from '../../infra/config';
import { HOST_SETTINGS, appSettings, type AppSettingsInput } from '../../infra/app';
import { listStacks } from '../../infra/ci/stacks';
import { one, recordInChild, stackFileConfig, type Recording } from './support/recording';
import { resolvedByPlatform } from './support/appInput';

const isHostSetting = (n: string) => Object.hasOwn(HOST_SETTINGS, n);
const isRuntimeSetting = (n: string) => (SETTING_NAMES as readonly string[]).includes(n);

const ctx = { project: 'aci-fleet', stack: 'dev' };

/** What infra knows apart from the stack file: names and URLs of what it created. */
const made: Omit<AppSettingsInput, 'options'> = {
  storageAccountName: 'stfleet',
  blobEndpoint: 'https://stfleet.blob.core.windows.net/',
  queueEndpoint: 'https://stfleet.queue.core.windows.net/',
  tableEndpoint: 'https://stfleet.table.core.windows.net/',
  appInsightsConnectionString: 'InstrumentationKey=0;IngestionEndpoint=https://x/',
  autoscalerStateContainer: 'autoscaler-state',
  subscriptionId: '11111111-2222-3333-4444-555555555555',
  containerResourceGroups: ['aci-fleet-dev-servers'],
  identityClientId: '00000000-0000-0000-0000-00000000c11d',
  reportTokenSecret: '@Microsoft.KeyVault(SecretUri=https://kv-fleet.vault.azure.net/secrets/report-token-b/v2)',
  // A stack in the middle of a rotation writes every setting there is.
  reportTokenSecretPrevious: '@Microsoft.KeyVault(SecretUri=https://kv-fleet.vault.azure.net/secrets/report-token-a/v1)',
  publicUrl: 'https://aci-fleet-dev.azurewebsites.net',
};

/**
 * The settings infra writes for a stack file's raw `aci-fleet:*` values (parseConfig throws a
 * ConfigError if it refuses them), as the runtime reads them: Key Vault references resolved.
 */
const settingsFor = (raw: Record<string, string>) =>
  resolvedByPlatform(appSettings({ ...made, options: parseConfig({ location: 'westeurope', ...raw }, ctx).optionSettings }));

const template = {
  resourceGroup: 'aci-fleet-dev-servers',
  containerGroup: {
    location: 'westeurope',
    osType: 'Linux',
    containers: [{ name: 'server', image: 'example/game:1', resources: { requests: { cpu: 1, memoryInGB: 1.5 } } }],
  },
};

/** A stack file that sets every runtime option there is. */
const everything: Record<string, string> = {
  serverListPublic: 'true',
  defaultMaxSessions: '12',
  maxServers: '40',
  sessionsBatchMax: '500',
  failedRetentionMinutes: '120',
  gcSchedule: '0 */2 * * * *',
  reconcileSchedule: '0 */10 * * * *',
  metricsSchedule: '0 */5 * * * *',
  fleetControllerSchedule: '10,40 * * * * *',
  creatingTimeoutMinutes: '20',
  heartbeatTimeoutSeconds: '120',
  allocation: JSON.stringify({ reservationTtlSeconds: 90, reportGraceSeconds: 2, retryAfterSeconds: 3, snapshotMaxAgeMs: 250 }),
  autoscaler: JSON.stringify({
    enabled: true,
    policy: 'threshold',
    schedule: '0 */1 * * * *',
    minimumInstances: 2,
    maximumInstances: 30,
    scaleOutThreshold: 0.7,
    scaleInThreshold: 0.4,
    cooldownInMinutes: 5,
    scaleOutCooldownSeconds: 30,
    scaleInCooldownSeconds: 600,
    bufferSlots: 36,
    bufferPercent: 15,
    createQuota: 80,
    createQuotaWindowSeconds: 300,
    demandWindowSeconds: 90,
    serviceLevel: 0.99,
    provisioningSeconds: 60,
    containerGroupTemplate: template,
  }),
  retries: JSON.stringify({
    armMaxRetries: 6,
    armRetryDelayMs: 250,
    armMaxRetryDelayMs: 4000,
    armTimeoutMs: 20000,
    storageMaxRetries: 3,
    storageTimeoutMs: 5000,
    writeAttempts: 12,
  }),
};

describe('the runtime settings the stack can write', () => {
  const written = Object.keys(settingsFor(everything));

  it('are set by the stack file above, every key a stack may set (so the checks below cover them all)', () => {
    const set = Object.entries(everything).flatMap(([k, v]) =>
      v.startsWith('{') ? Object.keys(JSON.parse(v)).map((f) => `${k}.${f}`) : [k],
    );
    assert.deepEqual(
      [...OPTION_KEYS.keys()].filter(
        (k) => !set.includes(k) && !['fleetName', 'tableName', 'demandTableName', 'fleetsTableName'].includes(k),
      ),
      [],
    );
  });

  it('are what the options table says: stack-file options and what the stack decides written, local and platform ones never', () => {
    for (const name of SETTING_NAMES) {
      const { source } = OPTIONS[name];
      const expected = typeof source === 'object';
      assert.equal(written.includes(name), expected, `${name} (${JSON.stringify(source)})`);
    }
  });

  it('name only settings the runtime or the Functions host reads', () => {
    assert.deepEqual(
      written.filter((n) => !isRuntimeSetting(n) && !isHostSetting(n)),
      [],
    );
    for (const n of Object.keys(HOST_SETTINGS)) {
      assert.ok(!isRuntimeSetting(n), `${n} is a runtime setting now`);
      assert.ok(written.includes(n), `${n} is not written any more`);
    }
  });

  it('start the runtime with every option set, each reaching the runtime as given', () => {
    const s = readSettings(settingsFor(everything));
    assert.equal(s.FLEET_DEFAULT_MAX_SESSIONS, 12);
    assert.equal(s.FLEET_METRICS_SCHEDULE, '0 */5 * * * *');
    assert.equal(s.CREATING_TIMEOUT_MINUTES, 20);
    assert.equal(s.ALLOCATION_RESERVATION_TTL_SECONDS, 90);
    assert.equal(s.ALLOCATION_SNAPSHOT_MAX_AGE_MS, 250);
    assert.equal(s.AUTOSCALER_POLICY, 'threshold');
    assert.equal(s.AUTOSCALER_BUFFER_PERCENT, 15);
    assert.equal(s.AUTOSCALER_SCALE_IN_COOLDOWN_SECONDS, 600);
    assert.equal(s.AUTOSCALER_DEMAND_WINDOW_SECONDS, 90);
    assert.equal(s.FLEET_WRITE_ATTEMPTS, 12);
    assert.equal(s.CONTAINER_GROUP_TEMPLATE?.resourceGroup, 'aci-fleet-dev-servers');
  });

  it('leave the runtime where its own defaults put it when the stack file sets nothing', () => {
    const unset = readSettings(settingsFor({}));
    // Writing every default explicitly must change nothing: the defaults are the runtime's own.
    const defaults: Record<string, string> = {};
    for (const [key, name] of OPTION_KEYS)
      if (OPTIONS[name].default !== undefined && !key.includes('.')) defaults[key] = settingText(OPTIONS[name].default);
    const groups = new Map<string, Record<string, unknown>>();
    for (const [key, name] of OPTION_KEYS) {
      if (!key.includes('.') || OPTIONS[name].default === undefined) continue;
      const [group, field] = key.split('.') as [string, string];
      groups.set(group, { ...groups.get(group), [field]: OPTIONS[name].default });
    }
    for (const [group, fields] of groups) defaults[group] = JSON.stringify(fields);
    const explicit = readSettings(settingsFor({ ...defaults, fleetName: 'aci-fleet-dev' }));
    assert.deepEqual(explicit, unset);
    assert.equal(unset.AUTOSCALER_POLICY, 'rate');
  });
});

describe('values the stack accepts', () => {
  /** Values around every bound of the runtime's schema. */
  const probes: unknown[] = [-1, 0, 0.5, 1, 1.5, 2, 10, 60, 95, 95.5, 96, 100, 600, 601, 3600, 3601, 86_400, 1e6, 'x', ''];
  /** Every runtime option a stack may set: `[group, key]`, group '' for top-level keys. */
  const options: Array<[string, string]> = [...OPTION_KEYS.keys()]
    .filter((k) => k !== 'fleetName')
    .map((k) => (k.includes('.') ? (k.split('.') as [string, string]) : ['', k]));
  const raw = (group: string, key: string, value: unknown): Record<string, string> =>
    group === '' ? { [key]: String(value) } : { [group]: JSON.stringify({ [key]: value }) };
  for (const [group, key] of options) {
    const name = group ? `${group}.${key}` : key;
    it(`never include a value of ${name} the runtime would refuse`, () => {
      const candidates = [
        ...probes,
        true,
        false,
        'true',
        '0 */2 * * * *',
        '*/5 * * * *',
        'buffer',
        'threshold',
        'ACIDetails',
        template,
        { resourceGroup: 'x' },
      ];
      let accepted = 0;
      for (const value of candidates) {
        let settings: Record<string, string>;
        try {
          settings = settingsFor(raw(group, key, value));
        } catch (e) {
          if (e instanceof ConfigError) continue;
          throw e;
        }
        accepted++;
        assert.doesNotThrow(() => readSettings(settings), `${name} = ${JSON.stringify(value)}`);
      }
      assert.ok(accepted > 0, `no probe value is a valid ${name}`);
    });
  }

  it('never include a combination the runtime would refuse (bounds, thresholds, autoscaler without template)', () => {
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.record({
          enabled: fc.boolean(),
          minimumInstances: maybe(fc.integer({ min: 0, max: 25 })),
          maximumInstances: maybe(fc.integer({ min: 1, max: 25 })),
          scaleOutThreshold: maybe(fc.constantFrom(0.1, 0.5, 0.6, 0.8, 1)),
          scaleInThreshold: maybe(fc.constantFrom(0, 0.1, 0.5, 0.6, 0.8, 0.9)),
          containerGroupTemplate: maybe(fc.constant(template)),
        }),
        (autoscaler) => {
          let settings: Record<string, string>;
          try {
            settings = settingsFor({ autoscaler: JSON.stringify(autoscaler) });
          } catch (e) {
            if (e instanceof ConfigError) return;
            throw e;
          }
          accepted++;
          readSettings(settings);
        },
      ),
      { seed: 20_240_601, numRuns: 300 },
    );
    assert.ok(accepted > 30, `only ${accepted} of 300 combinations were accepted: the property says little`);
  });
});

describe('the shipped stack files', () => {
  const root = path.resolve(__dirname, '../..');
  const stacks = listStacks(root);
  const recordings = new Map<string, Recording>();

  before(async () => {
    await Promise.all(
      stacks.map(async (stack) => {
        // The fixture app instead of the runtime: the settings do not depend on the bundle.
        const config = { ...stackFileConfig(stack), 'aci-fleet:runtimeDir': 'test/infra/fixtures/runtime' };
        recordings.set(stack, await recordInChild(config, stack));
      }),
    );
  });

  const settingsOf = (stack: string) => {
    const recording = recordings.get(stack)!;
    assert.equal(recording.error, undefined, `Pulumi.${stack}.yaml: the program failed`);
    return resolvedByPlatform(one(recording, 'azure-native:web:WebAppApplicationSettings').inputs.properties as Record<string, string>);
  };

  it('are dev and eastus2 at least', () => {
    assert.ok(stacks.includes('dev') && stacks.includes('eastus2'), stacks.join(', '));
  });

  for (const stack of stacks) {
    it(`Pulumi.${stack}.yaml gives the app only settings the runtime or the platform reads`, () => {
      const names = Object.keys(settingsOf(stack));
      assert.deepEqual(
        names.filter((n) => !isRuntimeSetting(n) && !isHostSetting(n)),
        [],
      );
    });

    it(`Pulumi.${stack}.yaml gives the app settings the runtime starts with`, () => {
      const s = readSettings(settingsOf(stack));
      assert.equal(s.FLEET_NAME, `aci-fleet-${stack}`);
      assert.equal(s.FLEET_DEMAND_TABLE_NAME, 'FleetDemand');
      if (s.AUTOSCALER_ENABLED) {
        assert.ok(s.CONTAINER_GROUP_TEMPLATE, 'the autoscaler has a template');
        assert.ok(s.FLEET_RESOURCE_GROUPS.includes(s.CONTAINER_GROUP_TEMPLATE.resourceGroup), "in one of the fleet's groups");
      }
    });
  }

  it('Pulumi.dev.yaml declares one example fleet, written through the API, its revision an output', () => {
    const recording = recordings.get('dev')!;
    assert.equal(recording.error, undefined);
    const fleets = recording.resources.filter((r) => r.type === 'pulumi-nodejs:dynamic/aci-fleet:Fleet');
    assert.deepEqual(
      fleets.map((f) => f.inputs.name),
      ['game'],
    );
    assert.deepEqual(recording.outputs.fleetRevisions, { value: { game: 1 }, secret: false });
  });

  it('Pulumi.eastus2.yaml runs the autoscaler, with a template the runtime accepts', () => {
    const s = readSettings(settingsOf('eastus2'));
    assert.equal(s.AUTOSCALER_ENABLED, true);
    assert.equal(s.AUTOSCALER_POLICY, 'buffer');
    assert.equal(s.CONTAINER_GROUP_TEMPLATE?.resourceGroup, 'aci-fleet-eastus2-servers');
    assert.equal(s.CONTAINER_GROUP_TEMPLATE?.containerGroup.location, 'eastus2');
  });
});
