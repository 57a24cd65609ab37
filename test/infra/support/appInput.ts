// What infra hands appSettings() about the resources it made: one fixture for the tests that
// need a complete set (each overrides what it is about).
import type { AppSettingsInput } from '../../../infra/app';

export function appInput(overrides: Partial<AppSettingsInput> = {}): AppSettingsInput {
  return {
    storageAccountName: 'stfleet',
    blobEndpoint: 'https://stfleet.blob.core.windows.net/',
    queueEndpoint: 'https://stfleet.queue.core.windows.net/',
    tableEndpoint: 'https://stfleet.table.core.windows.net/',
    appInsightsConnectionString: 'InstrumentationKey=0;IngestionEndpoint=https://x/',
    autoscalerStateContainer: 'autoscaler-state',
    subscriptionId: 'sub',
    containerResourceGroups: ['rg-a', 'rg-b'],
    identityClientId: '00000000-0000-0000-0000-00000000c11d',
    reportTokenSecret: '@Microsoft.KeyVault(SecretUri=https://kv-fleet.vault.azure.net/secrets/report-token-a/v1)',
    publicUrl: 'https://fleet.azurewebsites.net/',
    options: {
      FLEET_NAME: 'fleet',
      FLEET_TABLE_NAME: 'ACIDetails',
      FLEET_DEMAND_TABLE_NAME: 'FleetDemand',
      FLEET_FLEETS_TABLE_NAME: 'FleetSpecs',
      FLEET_LIST_PUBLIC: 'true',
      AUTOSCALER_ENABLED: 'false',
    },
    ...overrides,
  };
}

/**
 * The settings as the runtime sees them on Azure: the platform replaces each Key Vault reference
 * with the secret's value (here a stand-in of 48 characters, one per reference) before the app starts.
 */
export function resolvedByPlatform(settings: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(settings).map(([name, value]) => {
      const ref = /^@Microsoft\.KeyVault\(SecretUri=(.+)\)$/.exec(value);
      return [name, ref ? `resolved-${Buffer.from(ref[1]).toString('base64url')}`.padEnd(48, 'x').slice(0, 64) : value];
    }),
  );
}
