// The Function App's decisions: which settings the runtime gets, and where One Deploy goes.
// (test/infra/settings.test.ts checks those settings against what the runtime reads.)
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as pulumi from '@pulumi/pulumi';
import { FunctionApp, appSettings, scmHostName, type AppSettingsInput } from '../../infra/app';
import { parseConfig } from '../../infra/config';
import { appInput } from './support/appInput';
import { flush, useMocks } from './support/mocks';

const input: AppSettingsInput = appInput();

describe('appSettings', () => {
  it('always writes what the stack created or decided, and the two switches', () => {
    assert.deepEqual(appSettings(input), {
      AzureWebJobsStorage__accountName: 'stfleet',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: input.identityClientId,
      AzureWebJobsStorage__blobServiceUri: 'https://stfleet.blob.core.windows.net',
      AzureWebJobsStorage__queueServiceUri: 'https://stfleet.queue.core.windows.net',
      AzureWebJobsStorage__tableServiceUri: 'https://stfleet.table.core.windows.net',
      AzureWebJobsDisableHomepage: 'true',
      FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '1048576',
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=0;IngestionEndpoint=https://x/',
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${input.identityClientId};Authorization=AAD`,
      FLEET_NAME: 'fleet',
      FLEET_TABLE_NAME: 'ACIDetails',
      FLEET_DEMAND_TABLE_NAME: 'FleetDemand',
      FLEET_FLEETS_TABLE_NAME: 'FleetSpecs',
      AUTOSCALER_STATE_CONTAINER: 'autoscaler-state',
      AZURE_SUBSCRIPTION_ID: 'sub',
      AZURE_CLIENT_ID: input.identityClientId,
      FLEET_RESOURCE_GROUPS: 'rg-a,rg-b',
      FLEET_PUBLIC_URL: 'https://fleet.azurewebsites.net',
      REPORT_TOKEN_SECRET: input.reportTokenSecret,
      FLEET_LIST_PUBLIC: 'true',
      AUTOSCALER_ENABLED: 'false',
    });
  });

  it('writes the previous report-token secret only during a rotation', () => {
    const previous = '@Microsoft.KeyVault(SecretUri=https://kv-fleet.vault.azure.net/secrets/report-token-b/v7)';
    assert.equal(appSettings({ ...input, reportTokenSecretPrevious: previous }).REPORT_TOKEN_SECRET_PREVIOUS, previous);
    assert.ok(!('REPORT_TOKEN_SECRET_PREVIOUS' in appSettings(input)));
  });

  it('writes each runtime option the stack file sets, and only those', () => {
    const template = {
      resourceGroup: 'rg-a',
      containerGroup: {
        location: 'westeurope',
        osType: 'Linux',
        containers: [{ name: 's', image: 'i', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
      },
    };
    const config = parseConfig(
      {
        location: 'westeurope',
        containerResourceGroups: '["rg-a","rg-b"]',
        serverListPublic: 'false',
        defaultMaxSessions: '8',
        gcSchedule: '0 */2 * * * *',
        reconcileSchedule: '0 */10 * * * *',
        metricsSchedule: '',
        creatingTimeoutMinutes: '20',
        heartbeatTimeoutSeconds: '90',
        allocation: JSON.stringify({ reservationTtlSeconds: 90, reportGraceSeconds: 2.5, retryAfterSeconds: 3 }),
        autoscaler: JSON.stringify({
          enabled: true,
          policy: 'threshold',
          schedule: '0 */1 * * * *',
          minimumInstances: 2,
          maximumInstances: 9,
          scaleOutThreshold: 0.75,
          scaleInThreshold: 0.5,
          cooldownInMinutes: 7,
          scaleOutCooldownSeconds: 30,
          scaleInCooldownSeconds: 600,
          bufferSlots: 3,
          bufferPercent: 7.5,
          createQuota: 50,
          createQuotaWindowSeconds: 600,
          demandWindowSeconds: 120,
          containerGroupTemplate: JSON.stringify(template),
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
      },
      { project: 'aci-fleet', stack: 'dev' },
    );
    const s = appSettings({ ...input, options: config.optionSettings });
    const expected: Array<[string, string]> = [
      ['FLEET_LIST_PUBLIC', 'false'],
      ['FLEET_DEFAULT_MAX_SESSIONS', '8'],
      ['GC_SCHEDULE', '0 */2 * * * *'],
      ['RECONCILE_SCHEDULE', '0 */10 * * * *'],
      ['FLEET_METRICS_SCHEDULE', ''],
      ['CREATING_TIMEOUT_MINUTES', '20'],
      ['HEARTBEAT_TIMEOUT_SECONDS', '90'],
      ['ALLOCATION_RESERVATION_TTL_SECONDS', '90'],
      ['ALLOCATION_REPORT_GRACE_SECONDS', '2.5'],
      ['ALLOCATION_RETRY_AFTER_SECONDS', '3'],
      ['AUTOSCALER_ENABLED', 'true'],
      ['AUTOSCALER_POLICY', 'threshold'],
      ['AUTOSCALER_SCHEDULE', '0 */1 * * * *'],
      ['AUTOSCALER_MINIMUM_INSTANCES', '2'],
      ['AUTOSCALER_MAXIMUM_INSTANCES', '9'],
      ['AUTOSCALER_SCALE_OUT_THRESHOLD', '0.75'],
      ['AUTOSCALER_SCALE_IN_THRESHOLD', '0.5'],
      ['AUTOSCALER_COOLDOWN_IN_MINUTES', '7'],
      ['AUTOSCALER_SCALE_OUT_COOLDOWN_SECONDS', '30'],
      ['AUTOSCALER_SCALE_IN_COOLDOWN_SECONDS', '600'],
      ['AUTOSCALER_BUFFER_SLOTS', '3'],
      ['AUTOSCALER_BUFFER_PERCENT', '7.5'],
      ['AUTOSCALER_CREATE_QUOTA', '50'],
      ['AUTOSCALER_CREATE_QUOTA_WINDOW_SECONDS', '600'],
      ['AUTOSCALER_DEMAND_WINDOW_SECONDS', '120'],
      ['CONTAINER_GROUP_TEMPLATE', JSON.stringify(template)],
      ['ARM_MAX_RETRIES', '6'],
      ['ARM_RETRY_DELAY_MS', '250'],
      ['ARM_MAX_RETRY_DELAY_MS', '4000'],
      ['ARM_TIMEOUT_MS', '20000'],
      ['STORAGE_MAX_RETRIES', '3'],
      ['STORAGE_TIMEOUT_MS', '5000'],
      ['FLEET_WRITE_ATTEMPTS', '12'],
    ];
    for (const [name, value] of expected) assert.equal(s[name], value, name);
    const always = Object.keys(appSettings(input));
    assert.equal(
      Object.keys(s).length,
      always.length + expected.length - 2,
      'nothing else (FLEET_LIST_PUBLIC and AUTOSCALER_ENABLED are always there)',
    );
  });

  it('refuses an option setting that is not one a stack file decides', () => {
    assert.throws(
      () => appSettings({ ...input, options: { ...input.options, ARM_ENDPOINT: 'http://127.0.0.1:1' } }),
      /ARM_ENDPOINT is not an option a stack file sets/,
    );
    assert.throws(
      () => appSettings({ ...input, options: { ...input.options, FLEET_RESOURCE_GROUPS: 'other' } }),
      /FLEET_RESOURCE_GROUPS is not an option/,
    );
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
      [
        { name: 'app-x1.westeurope-01.azurewebsites.net', hostType: 'Standard' },
        { name: 'app-x1.scm.westeurope-01.azurewebsites.net', hostType: 'Repository' },
      ],
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
      identityId: '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-fleet',
      grants: [new pulumi.ComponentResource('test:grant', 'grant')],
      maximumInstanceCount: 40,
      instanceMemoryMB: 2048 as const,
      settings: { ...input },
    };
    assert.throws(() => new FunctionApp('too-many', { ...args, maximumInstanceCount: 5000 }), /maximumInstanceCount must be 1-1000/);
    assert.throws(() => new FunctionApp('bad-memory', { ...args, instanceMemoryMB: 512 as never }), /instanceMemoryMB/);
    assert.throws(() => new FunctionApp('no-grants', { ...args, grants: [] }), /role assignments in "grants"/);
    await flush();
    assert.deepEqual(
      seen.types.filter((t) => t.startsWith('azure-native:')),
      [],
    );
  });
});
