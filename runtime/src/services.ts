// The composition root: builds the Azure adapters from the settings once per process and hands
// each invocation a Fleet that logs through that invocation's context.
import { TableClient } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { BlobServiceClient } from '@azure/storage-blob';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { InvocationContext } from '@azure/functions';
import {
  allocatorOptionsFrom,
  reconcilePolicyFrom,
  reportSecretsFrom,
  scalingConfigFrom,
  serverOptionsFrom,
  type FleetSettings,
} from './options';
import { createContainerInstanceClient } from './azure/armClient';
import { ArmContainerGroups } from './azure/containerGroups';
import { TableServerStore } from './azure/tableStore';
import { selfHealingTable } from './azure/storage';
import { systemClock, type Clock, type Telemetry } from './domain/core/ports';
import type { ContainerGroups, ServerStore } from './domain/servers/ports';
import { ServerService, type ServerOptions } from './domain/servers/serverService';
import { contextLogger, contextTelemetry, instrumentContainerGroups } from './telemetry';
import type { ReconcilePolicy } from './domain/reconcile/plan';
import { Reconciler } from './domain/reconcile/reconciler';
import { ServerReports } from './domain/reports/serverReports';
import { BlobAutoscalerStateStore } from './azure/autoscalerStateStore';
import { TableDemandStore } from './azure/demandStore';
import { Allocator } from './domain/allocation/allocator';
import { Autoscaler, namePrefixFrom } from './domain/autoscaling/autoscaler';
import type { AutoscalerStateStore } from './domain/autoscaling/ports';
import type { DemandStore } from './domain/allocation/ports';
import { RunningServersSnapshot } from './domain/allocation/snapshot';
import { TableAllocationLedger } from './azure/allocationLedger';
import type { AllocationLedger } from './domain/allocation/ports';

export interface Services {
  readonly settings: FleetSettings;
  readonly store: ServerStore;
  readonly groups: ContainerGroups;
  readonly options: ServerOptions;
  /** The time every service decides by (tests inject their own). */
  readonly clock: Clock;
  servers(context: InvocationContext): ServerService;
  /** Metrics and events of this invocation (Application Insights on Azure). */
  telemetry(context: InvocationContext): Telemetry;
  readonly reconcilePolicy: ReconcilePolicy;
  /** ACIReconcile (and ACIGC's heartbeat check). */
  reconciler(context: InvocationContext): Reconciler;
  /** ACIReport: per-server tokens. */
  reports(context: InvocationContext): ServerReports;
  /** Recent allocation misses (ACIAllocate writes, ACIAutoScaler reads). */
  readonly demand: DemandStore;
  readonly autoscalerState: AutoscalerStateStore;
  allocator(context: InvocationContext): Allocator;
  /** The autoscaler for one run; throws if CONTAINER_GROUP_TEMPLATE is not set. */
  autoscaler(context: InvocationContext): Autoscaler;
  /** ACIAllocate's copy of the Running servers, shared by every invocation in this process. */
  readonly allocationSnapshot: RunningServersSnapshot;
  /** requestId → booked server, shared by every instance (ACIAllocate writes, ACIGC prunes). */
  readonly allocationLedger: AllocationLedger;
}

export interface ServiceOverrides {
  clock?: Clock;
  /** ARM polling and retry timings; tests shorten them. */
  arm?: { pollIntervalMs?: number; retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number } };
  /** Table Storage retry and timeout; tests shorten them. */
  storage?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number; timeoutMs?: number };
}

export function createServices(settings: FleetSettings, overrides: ServiceOverrides = {}): Services {
  const clock = overrides.clock ?? systemClock;
  let credential: TokenCredential | undefined;
  // On Azure the app runs as a user-assigned identity: name it, or the managed identity endpoint has no default.
  const azureCredential = () =>
    (credential ??= new DefaultAzureCredential(settings.AZURE_CLIENT_ID ? { managedIdentityClientId: settings.AZURE_CLIENT_ID } : {}));

  const store = new TableServerStore(tableClient(settings, azureCredential, overrides.storage));
  const isLocalArm = settings.ARM_ENDPOINT.startsWith('http://');
  const groups = new ArmContainerGroups(
    createContainerInstanceClient({
      subscriptionId: settings.AZURE_SUBSCRIPTION_ID,
      endpoint: settings.ARM_ENDPOINT,
      credential: isLocalArm ? undefined : azureCredential(),
      ...overrides.arm,
      retry: {
        maxRetries: settings.ARM_MAX_RETRIES,
        retryDelayInMs: settings.ARM_RETRY_DELAY_MS,
        maxRetryDelayInMs: settings.ARM_MAX_RETRY_DELAY_MS,
        ...overrides.arm?.retry,
      },
    }),
  );
  const options = serverOptionsFrom(settings);
  const reconcilePolicy = reconcilePolicyFrom(settings);
  const secrets = reportSecretsFrom(settings);
  // Each invocation's Fleet logs through its context and reports its ARM actions as telemetry.
  const servers = (context: InvocationContext) =>
    new ServerService({
      store,
      groups: instrumentContainerGroups(groups, contextTelemetry(context)),
      options,
      clock: clock,
      log: contextLogger(context),
      telemetry: contextTelemetry(context),
    });
  const demandTable = tableClient({ ...settings, FLEET_TABLE_NAME: settings.FLEET_DEMAND_TABLE_NAME }, azureCredential);
  const demand = new TableDemandStore(demandTable, settings.FLEET_NAME);
  const allocationSnapshot = new RunningServersSnapshot(store, settings.ALLOCATION_SNAPSHOT_MAX_AGE_MS, clock);
  const allocationLedger = new TableAllocationLedger(demandTable, `${settings.FLEET_NAME}.requests`);
  const autoscalerState = new BlobAutoscalerStateStore(
    blobClient(settings, azureCredential).getContainerClient(settings.AUTOSCALER_STATE_CONTAINER),
    `${namePrefixFrom(settings.FLEET_NAME)}.json`,
  );
  const allocatorOptions = allocatorOptionsFrom(settings);
  const scalerConfig = scalingConfigFrom(settings);
  return {
    settings,
    clock,
    store,
    groups,
    options,
    servers,
    telemetry: contextTelemetry,
    reconcilePolicy,
    reconciler: (context) =>
      new Reconciler({
        store,
        groups,
        options,
        policy: reconcilePolicy,
        clock: clock,
        log: contextLogger(context),
        telemetry: contextTelemetry(context),
      }),
    reports: () => new ServerReports({ store, options, secrets, clock: clock }),
    demand,
    autoscalerState,
    allocator: (context) =>
      new Allocator({
        store,
        demand,
        options: allocatorOptions,
        clock: clock,
        log: contextLogger(context),
        snapshot: allocationSnapshot,
        ledger: allocationLedger,
      }),
    autoscaler(context) {
      const template = settings.CONTAINER_GROUP_TEMPLATE;
      if (!template) throw new Error('ACIAutoScaler needs CONTAINER_GROUP_TEMPLATE (an ACICreate body without containerGroupName).');
      return new Autoscaler({
        servers: servers(context),
        writeAttempts: settings.FLEET_WRITE_ATTEMPTS,
        store,
        demand,
        state: autoscalerState,
        config: { ...scalerConfig, newServerMaxSessions: template.maxSessions ?? settings.FLEET_DEFAULT_MAX_SESSIONS },
        template,
        namePrefix: namePrefixFrom(settings.FLEET_NAME),
        holder: context.invocationId,
        // Longer than any run takes, shorter than the schedule's period would make a crash costly.
        leaseMs: 5 * 60_000,
        clock: clock,
        log: contextLogger(context),
        telemetry: contextTelemetry(context),
      });
    },
    allocationSnapshot,
    allocationLedger,
  };
}

/** The table, with bounded retries and a timeout, and recreated whenever storage comes back without it. */
function tableClient(settings: FleetSettings, credential: () => TokenCredential, storage: ServiceOverrides['storage'] = {}): TableClient {
  const table = settings.FLEET_TABLE_NAME;
  // Bounded retries and a per-request timeout: a storage outage answers 503, it never hangs a caller.
  const { timeoutMs = settings.STORAGE_TIMEOUT_MS, ...retry } = storage;
  const options = {
    retryOptions: { maxRetries: settings.STORAGE_MAX_RETRIES, retryDelayInMs: 200, maxRetryDelayInMs: 2000, ...retry },
    additionalPolicies: [{ policy: requestTimeoutPolicy(timeoutMs), position: 'perRetry' as const }],
  };
  if (settings.FLEET_STORAGE_CONNECTION_STRING) {
    // Azurite speaks plain http locally.
    return selfHealingTable(
      TableClient.fromConnectionString(settings.FLEET_STORAGE_CONNECTION_STRING, table, { ...options, allowInsecureConnection: true }),
    );
  }
  const account = settings.AzureWebJobsStorage__accountName;
  const url = settings.AzureWebJobsStorage__tableServiceUri ?? (account && `https://${account}.table.core.windows.net`);
  if (!url) {
    throw new Error(
      'Set AzureWebJobsStorage__accountName (Azure) or FLEET_STORAGE_CONNECTION_STRING (local) so the fleet can reach Table Storage.',
    );
  }
  return selfHealingTable(new TableClient(url, table, credential(), options));
}

function blobClient(settings: FleetSettings, credential: () => TokenCredential): BlobServiceClient {
  if (settings.FLEET_STORAGE_CONNECTION_STRING) {
    return BlobServiceClient.fromConnectionString(settings.FLEET_STORAGE_CONNECTION_STRING);
  }
  const account = settings.AzureWebJobsStorage__accountName;
  const url = settings.AzureWebJobsStorage__blobServiceUri ?? (account && `https://${account}.blob.core.windows.net`);
  if (!url) {
    throw new Error(
      'Set AzureWebJobsStorage__accountName (Azure) or FLEET_STORAGE_CONNECTION_STRING (local) so the fleet can reach Blob Storage.',
    );
  }
  return new BlobServiceClient(url, credential());
}

/** Gives every storage request a timeout unless the SDK call set one. */
function requestTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'fleetRequestTimeout',
    sendRequest: (request, next) => {
      if (!request.timeout) request.timeout = timeoutMs;
      return next(request);
    },
  };
}
