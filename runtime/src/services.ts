// The composition root: builds the Azure adapters from the settings once per process and hands
// each invocation a Fleet that logs through that invocation's context.
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { InvocationContext } from '@azure/functions';
import {
  allocatorOptionsFrom,
  fleetOptionsFrom,
  reconcilePolicyFrom,
  reportSecretsFrom,
  serverOptionsFrom,
  type FleetSettings,
} from './options';
import { createContainerInstanceClient } from './azure/armClient';
import { ArmContainerGroups } from './azure/containerGroups';
import { TableServerStore } from './azure/tableStore';
import { attemptDeadlinePolicy } from './azure/retry';
import { selfHealingTable, timedOut } from './azure/storage';
import { systemClock, type Clock, type Telemetry } from './domain/core/ports';
import type { ContainerGroups, ServerStore } from './domain/servers/ports';
import { ServerService, type ServerOptions } from './domain/servers/serverService';
import { KnownRows } from './domain/servers/knownRows';
import { contextLogger, contextTelemetry, instrumentContainerGroups } from './telemetry';
import type { ReconcilePolicy } from './domain/reconcile/plan';
import { Reconciler } from './domain/reconcile/reconciler';
import { ServerReports } from './domain/reports/serverReports';
import { BlobAutoscalerStateStore } from './azure/autoscalerStateStore';
import { TableDemandStore } from './azure/demandStore';
import { Allocator } from './domain/allocation/allocator';
import { namePrefixFrom } from './domain/servers/names';
import { DEFAULT_FLEET } from './domain/servers/membership';
import { TableFleetStore } from './azure/fleetStore';
import { FleetService } from './domain/fleets/fleetService';
import { FleetController } from './domain/fleets/controller';
import type { FleetStore } from './domain/fleets/ports';
import { CachedFleetRevisions } from './domain/fleets/revisions';
import type { AutoscalerStateStore } from './domain/autoscaling/ports';
import type { DemandStore } from './domain/allocation/ports';
import { RunningServersSnapshot } from './domain/allocation/snapshot';
import { BookingCoalescer } from './domain/allocation/coalescer';
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
  /** A fleet's lease and last actions (cooldowns, create quota), one blob per fleet. */
  fleetState(fleet: string): AutoscalerStateStore;
  allocator(context: InvocationContext): Allocator;
  /** The fleets table (PUT /api/fleets/{name}). */
  readonly fleetStore: FleetStore;
  fleets(context: InvocationContext): FleetService;
  /** ACIFleetController (and ACIAutoScaler, for the default fleet): drives fleets towards their spec. */
  fleetController(context: InvocationContext): FleetController;
  /** ACIAllocate's copy of the Running servers, shared by every invocation in this process. */
  readonly allocationSnapshot: RunningServersSnapshot;
  /** Books this process's concurrent ACIAllocate calls together, one write per server. */
  readonly bookingCoalescer: BookingCoalescer;
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
      timeoutMs: settings.ARM_TIMEOUT_MS,
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
  // One per process, like the allocation snapshot: kept across invocations, checked by ETag on every write.
  const knownRows = new KnownRows();
  // Each invocation's Fleet logs through its context and reports its ARM actions as telemetry.
  const servers = (context: InvocationContext) =>
    new ServerService({
      store,
      groups: instrumentContainerGroups(groups, contextTelemetry(context)),
      options,
      clock: clock,
      log: contextLogger(context),
      telemetry: contextTelemetry(context),
      knownRows,
    });
  const demandTable = tableClient({ ...settings, FLEET_TABLE_NAME: settings.FLEET_DEMAND_TABLE_NAME }, azureCredential);
  const demand = new TableDemandStore(demandTable, settings.FLEET_NAME);
  const allocationSnapshot = new RunningServersSnapshot(store, settings.ALLOCATION_SNAPSHOT_MAX_AGE_MS, clock);
  const allocatorOptions = allocatorOptionsFrom(settings);
  // One per process, like the snapshot: the calls it books together are this instance's.
  const bookingCoalescer = new BookingCoalescer({
    store,
    snapshot: allocationSnapshot,
    timings: allocatorOptions,
    attempts: allocatorOptions.attempts,
    clock,
  });
  const allocationLedger = new TableAllocationLedger(demandTable, `${settings.FLEET_NAME}.requests`);
  const blobs = blobClient(settings, azureCredential, overrides.storage);
  const stateContainer = blobs.client.getContainerClient(settings.AUTOSCALER_STATE_CONTAINER);
  const prefix = namePrefixFrom(settings.FLEET_NAME);
  // The default fleet keeps the blob the autoscaler always had, so cooldowns and the quota carry over.
  const fleetState = (fleet: string) =>
    new BlobAutoscalerStateStore(stateContainer, fleet === DEFAULT_FLEET ? `${prefix}.json` : `${prefix}.fleet.${fleet}.json`, {
      deadlineMs: blobs.deadlineMs,
    });
  const fleetOptions = fleetOptionsFrom(settings);
  const fleetStore = new TableFleetStore(
    tableClient({ ...settings, FLEET_TABLE_NAME: settings.FLEET_FLEETS_TABLE_NAME }, azureCredential),
    settings.FLEET_NAME,
  );
  const fleetRevisions = new CachedFleetRevisions(fleetStore, settings.ALLOCATION_SNAPSHOT_MAX_AGE_MS, clock);
  const fleets = (context: InvocationContext) =>
    new FleetService({
      store: fleetStore,
      serverStore: store,
      servers: servers(context),
      options: fleetOptions,
      clock,
      log: contextLogger(context),
      telemetry: contextTelemetry(context),
      onRevision: () => fleetRevisions.invalidate(),
    });
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
    reports: () => new ServerReports({ store, options, secrets, clock: clock, revisions: fleetRevisions }),
    demand,
    fleetState,
    fleetStore,
    fleets,
    fleetController: (context) =>
      new FleetController({
        fleets: fleets(context),
        serverStore: store,
        demand,
        state: fleetState,
        holder: context.invocationId,
        // Longer than any run takes, shorter than the schedule's period would make a crash costly.
        leaseMs: 5 * 60_000,
        writeAttempts: settings.FLEET_WRITE_ATTEMPTS,
        deploymentName: settings.FLEET_NAME,
        clock,
        log: contextLogger(context),
        telemetry: contextTelemetry(context),
      }),
    allocator: (context) =>
      new Allocator({
        store,
        demand,
        options: allocatorOptions,
        clock: clock,
        log: contextLogger(context),
        snapshot: allocationSnapshot,
        coalescer: bookingCoalescer,
        ledger: allocationLedger,
        revisions: fleetRevisions,
      }),
    allocationSnapshot,
    bookingCoalescer,
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
    additionalPolicies: [
      { policy: attemptDeadlinePolicy(timeoutMs, () => timedOut('Table Storage', timeoutMs)), position: 'perRetry' as const },
    ],
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

/**
 * The Blob client with the same bounds as the tables: STORAGE_MAX_RETRIES retries with short
 * backoff (the SDK's default waits up to 2 minutes between its 4 tries, with no client-side
 * timeout at all), and `deadlineMs`, within which each adapter call ends, retries included.
 */
function blobClient(
  settings: FleetSettings,
  credential: () => TokenCredential,
  storage: ServiceOverrides['storage'] = {},
): { client: BlobServiceClient; deadlineMs: number } {
  const { timeoutMs = settings.STORAGE_TIMEOUT_MS, maxRetries = settings.STORAGE_MAX_RETRIES } = storage;
  const retryDelayInMs = storage.retryDelayInMs ?? 200;
  const maxRetryDelayInMs = storage.maxRetryDelayInMs ?? 2000;
  const options: StoragePipelineOptions = {
    // tryTimeoutInMs is the server-side timeout of each try; the deadline below is the client's.
    retryOptions: { maxTries: maxRetries + 1, retryDelayInMs, maxRetryDelayInMs, tryTimeoutInMs: Math.max(1000, timeoutMs) },
  };
  const deadlineMs = timeoutMs * (maxRetries + 1) + maxRetryDelayInMs * maxRetries;
  if (settings.FLEET_STORAGE_CONNECTION_STRING) {
    return { client: BlobServiceClient.fromConnectionString(settings.FLEET_STORAGE_CONNECTION_STRING, options), deadlineMs };
  }
  const account = settings.AzureWebJobsStorage__accountName;
  const url = settings.AzureWebJobsStorage__blobServiceUri ?? (account && `https://${account}.blob.core.windows.net`);
  if (!url) {
    throw new Error(
      'Set AzureWebJobsStorage__accountName (Azure) or FLEET_STORAGE_CONNECTION_STRING (local) so the fleet can reach Blob Storage.',
    );
  }
  return { client: new BlobServiceClient(url, credential(), options), deadlineMs };
}
