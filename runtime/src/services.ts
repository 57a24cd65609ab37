// The composition root: builds the Azure adapters from the settings once per process and hands
// each invocation a Fleet that logs through that invocation's context.
import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { InvocationContext } from '@azure/functions';
import type { FleetSettings } from './config';
import { createContainerInstanceClient } from './azure/armClient';
import { ArmContainerGroups } from './azure/containerGroups';
import { TableServerStore } from './azure/tableStore';
import type { Clock, ContainerGroups, ServerStore, Telemetry } from './fleet/ports';
import { Fleet, type FleetOptions } from './fleet/service';
import { contextLogger, contextTelemetry, instrumentContainerGroups } from './telemetry';

export interface Services {
  readonly settings: FleetSettings;
  readonly store: ServerStore;
  readonly groups: ContainerGroups;
  readonly options: FleetOptions;
  fleet(context: InvocationContext): Fleet;
  /** Metrics and events of this invocation (Application Insights on Azure). */
  telemetry(context: InvocationContext): Telemetry;
}

export interface ServiceOverrides {
  clock?: Clock;
  /** ARM polling and retry timings; tests shorten them. */
  arm?: { pollIntervalMs?: number; retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number } };
}

export function createServices(settings: FleetSettings, overrides: ServiceOverrides = {}): Services {
  let credential: TokenCredential | undefined;
  const azureCredential = () => (credential ??= new DefaultAzureCredential());

  const store = new TableServerStore(tableClient(settings, azureCredential));
  const isLocalArm = settings.ARM_ENDPOINT.startsWith('http://');
  const groups = new ArmContainerGroups(
    createContainerInstanceClient({
      subscriptionId: settings.AZURE_SUBSCRIPTION_ID,
      endpoint: settings.ARM_ENDPOINT,
      credential: isLocalArm ? undefined : azureCredential(),
      ...overrides.arm,
    }),
  );
  const options: FleetOptions = {
    fleetName: settings.FLEET_NAME,
    defaultMaxSessions: settings.FLEET_DEFAULT_MAX_SESSIONS,
    allowedResourceGroups: settings.FLEET_RESOURCE_GROUPS,
    writeAttempts: settings.FLEET_WRITE_ATTEMPTS,
  };
  return {
    settings,
    store,
    groups,
    options,
    fleet: (context) =>
      new Fleet({
        store,
        groups: instrumentContainerGroups(groups, contextTelemetry(context)),
        options,
        clock: overrides.clock,
        log: contextLogger(context),
      }),
    telemetry: contextTelemetry,
  };
}

function tableClient(settings: FleetSettings, credential: () => TokenCredential): TableClient {
  const table = settings.FLEET_TABLE_NAME;
  if (settings.FLEET_STORAGE_CONNECTION_STRING) {
    // Azurite speaks plain http locally.
    return TableClient.fromConnectionString(settings.FLEET_STORAGE_CONNECTION_STRING, table, { allowInsecureConnection: true });
  }
  const account = settings.AzureWebJobsStorage__accountName;
  const url = settings.AzureWebJobsStorage__tableServiceUri ?? (account && `https://${account}.table.core.windows.net`);
  if (!url) {
    throw new Error('Set AzureWebJobsStorage__accountName (Azure) or FLEET_STORAGE_CONNECTION_STRING (local) so the fleet can reach Table Storage.');
  }
  return new TableClient(url, table, credential());
}

// Kept here for callers that imported it from the composition root.
export { contextLogger };
