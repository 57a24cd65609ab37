// The Function App's decisions: which settings the runtime gets, and where One Deploy goes.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { FunctionApp, appSettings, scmHostName, type AppSettingsInput } from '../../infra/app';
import { flush, useMocks } from './support/mocks';

const input: AppSettingsInput = {
  storageAccountName: 'stfleet',
  blobEndpoint: 'https://stfleet.blob.core.windows.net/',
  queueEndpoint: 'https://stfleet.queue.core.windows.net/',
  tableEndpoint: 'https://stfleet.table.core.windows.net/',
  appInsightsConnectionString: 'InstrumentationKey=0;IngestionEndpoint=https://x/',
  fleetName: 'fleet',
  tableName: 'ACIDetails',
  subscriptionId: 'sub',
  containerResourceGroups: ['rg-a', 'rg-b'],
  gcSchedule: '0 */1 * * * *',
  reconcileSchedule: '0 */5 * * * *',
  serverListPublic: true,
  defaultMaxSessions: 8,
  autoscaler: {
    enabled: true,
    policy: 'buffer',
    schedule: '0 */2 * * * *',
    minimumInstances: 2,
    maximumInstances: 9,
    scaleOutThreshold: 0.75,
    scaleInThreshold: 0.5,
    cooldownInMinutes: 7,
    bufferSlots: 3,
  },
  autoscalerStateContainer: 'autoscaler-state',
  reportTokenSecret: 's'.repeat(48),
  publicUrl: 'https://fleet.azurewebsites.net/',
};

describe('appSettings', () => {
  it('maps the fleet configuration to the settings the runtime reads', () => {
    const s = appSettings(input);
    const expected: Array<[string, string]> = [
      ['AzureWebJobsStorage__accountName', 'stfleet'],
      ['AzureWebJobsStorage__blobServiceUri', 'https://stfleet.blob.core.windows.net'],
      ['AzureWebJobsStorage__queueServiceUri', 'https://stfleet.queue.core.windows.net'],
      ['AzureWebJobsStorage__tableServiceUri', 'https://stfleet.table.core.windows.net'],
      ['APPLICATIONINSIGHTS_AUTHENTICATION_STRING', 'Authorization=AAD'],
      ['FLEET_RESOURCE_GROUPS', 'rg-a,rg-b'],
      ['FLEET_PUBLIC_URL', 'https://fleet.azurewebsites.net'],
      ['FLEET_LIST_PUBLIC', 'true'],
      ['FLEET_DEFAULT_MAX_SESSIONS', '8'],
      ['AUTOSCALER_ENABLED', 'true'],
      ['AUTOSCALER_POLICY', 'buffer'],
      ['AUTOSCALER_SCHEDULE', '0 */2 * * * *'],
      ['AUTOSCALER_MINIMUM_INSTANCES', '2'],
      ['AUTOSCALER_MAXIMUM_INSTANCES', '9'],
      ['AUTOSCALER_SCALE_OUT_THRESHOLD', '0.75'],
      ['AUTOSCALER_SCALE_IN_THRESHOLD', '0.5'],
      ['AUTOSCALER_COOLDOWN_IN_MINUTES', '7'],
      ['AUTOSCALER_BUFFER_SLOTS', '3'],
    ];
    for (const [name, value] of expected) assert.equal(s[name], value, name);
    assert.ok(!('CONTAINER_GROUP_TEMPLATE' in s));
    assert.ok(!('HEARTBEAT_TIMEOUT_SECONDS' in s));
  });

  it('adds the optional settings only when configured', () => {
    const s = appSettings({
      ...input,
      heartbeatTimeoutSeconds: 90,
      autoscaler: { ...input.autoscaler, containerGroupTemplate: '{"osType":"Linux"}' },
    });
    assert.equal(s.HEARTBEAT_TIMEOUT_SECONDS, '90');
    assert.equal(s.CONTAINER_GROUP_TEMPLATE, '{"osType":"Linux"}');
  });

  it('refuses to produce settings that would carry a key', () => {
    assert.throws(
      () => appSettings({ ...input, appInsightsConnectionString: 'DefaultEndpointsProtocol=https;AccountKey=abc' }),
      /carries a key/,
    );
    assert.throws(() => appSettings({ ...input, containerResourceGroups: [] }), /no container resource group/);
  });
});

describe('scmHostName', () => {
  const cases: Array<[string, Array<{ name?: string; hostType?: string }> | undefined, string, string]> = [
    [
      'the Repository host ARM reports',
      [{ name: 'app-x1.westeurope-01.azurewebsites.net', hostType: 'Standard' }, { name: 'app-x1.scm.westeurope-01.azurewebsites.net', hostType: 'Repository' }],
      'app-x1.westeurope-01.azurewebsites.net',
      'app-x1.scm.westeurope-01.azurewebsites.net',
    ],
    ['the classic host when ARM has not said', undefined, 'app.azurewebsites.net', 'app.scm.azurewebsites.net'],
    ['a regional unique host', [], 'app-abc.eastus2-01.azurewebsites.net', 'app-abc.scm.eastus2-01.azurewebsites.net'],
  ];
  for (const [what, states, host, scm] of cases) {
    it(`uses ${what}`, () => assert.equal(scmHostName(states, host), scm));
  }
});

describe('FunctionApp', () => {
  it('validates its arguments before creating any child', async () => {
    const seen = await useMocks();
    const args = {
      resourceGroupName: 'rg',
      location: 'westeurope',
      appName: 'app',
      deploymentContainerUrl: 'https://st.blob.core.windows.net/app-package',
      maximumInstanceCount: 40,
      instanceMemoryMB: 2048 as const,
      settings: { ...input },
    };
    assert.throws(() => new FunctionApp('too-many', { ...args, maximumInstanceCount: 5000 }), /maximumInstanceCount must be 1-1000/);
    assert.throws(() => new FunctionApp('bad-memory', { ...args, instanceMemoryMB: 512 as never }), /instanceMemoryMB/);
    await flush();
    assert.deepEqual(seen.types.filter((t) => t.startsWith('azure-native:')), []);
  });
});
