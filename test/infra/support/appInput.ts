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
    reportTokenSecret: 's'.repeat(48),
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
