// The Function App that runs the fleet: a Flex Consumption plan, the app with its system-assigned
// identity, and the app settings that tell the runtime where everything is (names and URLs, no keys).
import * as pulumi from '@pulumi/pulumi';
import * as web from '@pulumi/azure-native/web';
import type { FleetConfig } from './config';
import { appSettingsProblems } from './invariants';

/** What the stack file says about the runtime's behaviour; what it leaves unset the runtime decides. */
export type RuntimeOptions = Pick<
  FleetConfig,
  | 'serverListPublic'
  | 'defaultMaxSessions'
  | 'gcSchedule'
  | 'reconcileSchedule'
  | 'metricsSchedule'
  | 'creatingTimeoutMinutes'
  | 'heartbeatTimeoutSeconds'
  | 'allocation'
  | 'autoscaler'
  | 'retries'
>;

/** Everything the runtime needs to know, as plain values; see {@link appSettings}. */
export interface AppSettingsInput {
  storageAccountName: string;
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
  appInsightsConnectionString: string;
  fleetName: string;
  tableName: string;
  demandTableName: string;
  autoscalerStateContainer: string;
  subscriptionId: string;
  containerResourceGroups: string[];
  reportTokenSecret: string;
  /** `https://<defaultHostName>`. */
  publicUrl: string;
  runtime: RuntimeOptions;
}

const trimSlash = (u: string) => u.replace(/\/+$/, '');

/**
 * The app settings, by name. Host storage is identity-based (`AzureWebJobsStorage__*`; the
 * system-assigned identity is the default credential, so no `__credential`/`__clientId`), and
 * telemetry is sent with the identity (`Authorization=AAD`). Throws if a key would slip in.
 *
 * What the stack creates or decides is always written; a runtime option only when the stack file
 * sets it, so an unset one follows the runtime's default (runtime/src/config.ts) rather than a copy.
 */
export function appSettings(i: AppSettingsInput): Record<string, string> {
  if (i.containerResourceGroups.length === 0) throw new Error('appSettings: no container resource group');
  const { allocation, autoscaler: a, retries } = i.runtime;
  const settings: Record<string, string> = {
    AzureWebJobsStorage__accountName: i.storageAccountName,
    AzureWebJobsStorage__blobServiceUri: trimSlash(i.blobEndpoint),
    AzureWebJobsStorage__queueServiceUri: trimSlash(i.queueEndpoint),
    AzureWebJobsStorage__tableServiceUri: trimSlash(i.tableEndpoint),
    // The runtime serves its own page at `/` (ServerPage, with routePrefix ""): no platform landing page.
    AzureWebJobsDisableHomepage: 'true',
    APPLICATIONINSIGHTS_CONNECTION_STRING: i.appInsightsConnectionString,
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
    FLEET_NAME: i.fleetName,
    // The tables and the container the stack created (the runtime's defaults name others).
    FLEET_TABLE_NAME: i.tableName,
    FLEET_DEMAND_TABLE_NAME: i.demandTableName,
    AUTOSCALER_STATE_CONTAINER: i.autoscalerStateContainer,
    AZURE_SUBSCRIPTION_ID: i.subscriptionId,
    // Always set, so the runtime never falls back to "any resource group".
    FLEET_RESOURCE_GROUPS: i.containerResourceGroups.join(','),
    FLEET_PUBLIC_URL: trimSlash(i.publicUrl),
    REPORT_TOKEN_SECRET: i.reportTokenSecret,
    // The two switches are always written: who may read the list, and whether the app creates
    // (billable) servers on its own, never rest on a default.
    FLEET_LIST_PUBLIC: String(i.runtime.serverListPublic),
    AUTOSCALER_ENABLED: String(a.enabled),
  };

  const options: Record<string, string | number | undefined> = {
    FLEET_DEFAULT_MAX_SESSIONS: i.runtime.defaultMaxSessions,
    GC_SCHEDULE: i.runtime.gcSchedule,
    RECONCILE_SCHEDULE: i.runtime.reconcileSchedule,
    FLEET_METRICS_SCHEDULE: i.runtime.metricsSchedule,
    CREATING_TIMEOUT_MINUTES: i.runtime.creatingTimeoutMinutes,
    HEARTBEAT_TIMEOUT_SECONDS: i.runtime.heartbeatTimeoutSeconds,
    ALLOCATION_RESERVATION_TTL_SECONDS: allocation.reservationTtlSeconds,
    ALLOCATION_REPORT_GRACE_SECONDS: allocation.reportGraceSeconds,
    ALLOCATION_RETRY_AFTER_SECONDS: allocation.retryAfterSeconds,
    ALLOCATION_SNAPSHOT_MAX_AGE_MS: allocation.snapshotMaxAgeMs,
    AUTOSCALER_POLICY: a.policy,
    AUTOSCALER_SCHEDULE: a.schedule,
    AUTOSCALER_MINIMUM_INSTANCES: a.minimumInstances,
    AUTOSCALER_MAXIMUM_INSTANCES: a.maximumInstances,
    AUTOSCALER_SCALE_OUT_THRESHOLD: a.scaleOutThreshold,
    AUTOSCALER_SCALE_IN_THRESHOLD: a.scaleInThreshold,
    AUTOSCALER_COOLDOWN_IN_MINUTES: a.cooldownInMinutes,
    AUTOSCALER_SCALE_OUT_COOLDOWN_SECONDS: a.scaleOutCooldownSeconds,
    AUTOSCALER_SCALE_IN_COOLDOWN_SECONDS: a.scaleInCooldownSeconds,
    AUTOSCALER_BUFFER_SLOTS: a.bufferSlots,
    AUTOSCALER_BUFFER_PERCENT: a.bufferPercent,
    AUTOSCALER_CREATE_QUOTA: a.createQuota,
    AUTOSCALER_CREATE_QUOTA_WINDOW_SECONDS: a.createQuotaWindowSeconds,
    AUTOSCALER_DEMAND_WINDOW_SECONDS: a.demandWindowSeconds,
    CONTAINER_GROUP_TEMPLATE: a.containerGroupTemplate,
    ARM_MAX_RETRIES: retries.armMaxRetries,
    ARM_RETRY_DELAY_MS: retries.armRetryDelayMs,
    ARM_MAX_RETRY_DELAY_MS: retries.armMaxRetryDelayMs,
    STORAGE_MAX_RETRIES: retries.storageMaxRetries,
    STORAGE_TIMEOUT_MS: retries.storageTimeoutMs,
    FLEET_WRITE_ATTEMPTS: retries.writeAttempts,
  };
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined) settings[name] = String(value);
  }

  const problems = appSettingsProblems(settings);
  if (problems.length > 0) throw new Error(`appSettings: ${problems.join('; ')}`);
  return settings;
}

/**
 * The SCM (Kudu) host One Deploy talks to: the `Repository` entry of the app's host names, or,
 * before ARM reports it, the default host name with `.scm` after its first label.
 */
export function scmHostName(
  states: ReadonlyArray<{ name?: string; hostType?: string }> | undefined,
  defaultHostName: string,
): string {
  const repo = states?.find((s) => s.hostType === 'Repository' && s.name);
  if (repo?.name) return repo.name;
  const [first, ...rest] = defaultHostName.split('.');
  return [first, 'scm', ...rest].join('.');
}

export interface FunctionAppArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  /** Globally unique: it becomes `<appName>.azurewebsites.net`. */
  appName: pulumi.Input<string>;
  /** Blob container URL Flex Consumption reads the package from. */
  deploymentContainerUrl: pulumi.Input<string>;
  maximumInstanceCount: number;
  instanceMemoryMB: 2048 | 4096;
  /** The settings apart from what depends on the app itself (its URL). */
  settings: pulumi.Input<Omit<AppSettingsInput, 'publicUrl'>>;
  tags?: Record<string, string>;
}

export class FunctionApp extends pulumi.ComponentResource {
  readonly appName: pulumi.Output<string>;
  readonly appId: pulumi.Output<string>;
  readonly defaultHostName: pulumi.Output<string>;
  readonly scmHostName: pulumi.Output<string>;
  readonly principalId: pulumi.Output<string>;
  /** `https://<defaultHostName>/api`: every API function is at `<apiBaseUrl>/<Name>`. */
  readonly apiBaseUrl: pulumi.Output<string>;
  /** `https://<defaultHostName>/`: the server list page. */
  readonly serverListUrl: pulumi.Output<string>;
  /** The OpenAPI document of the HTTP API (the runtime's OpenApi function). */
  readonly openApiUrl: pulumi.Output<string>;
  /** The app settings resource: deploy only after it, so the first start sees its configuration. */
  readonly settings: web.WebAppApplicationSettings;

  constructor(name: string, args: FunctionAppArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:FunctionApp', name, {}, opts);
    if (!Number.isInteger(args.maximumInstanceCount) || args.maximumInstanceCount < 1 || args.maximumInstanceCount > 1000) {
      throw new Error(`FunctionApp ${name}: maximumInstanceCount must be 1-1000, got ${args.maximumInstanceCount}`);
    }
    if (args.instanceMemoryMB !== 2048 && args.instanceMemoryMB !== 4096) {
      throw new Error(`FunctionApp ${name}: instanceMemoryMB must be 2048 or 4096`);
    }

    const plan = new web.AppServicePlan(
      `${name}-plan`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        kind: 'functionapp',
        reserved: true, // Linux
        sku: { name: 'FC1', tier: 'FlexConsumption' },
        tags: args.tags,
      },
      { parent: this },
    );

    const app = new web.WebApp(
      `${name}-app`,
      {
        name: args.appName,
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        kind: 'functionapp,linux',
        serverFarmId: plan.id,
        httpsOnly: true,
        identity: { type: 'SystemAssigned' },
        // No siteConfig: the SDK would add netFrameworkVersion, which Flex rejects in some regions
        // (pulumi-azure-native#4168). Settings go through WebAppApplicationSettings below.
        functionAppConfig: {
          deployment: {
            storage: {
              type: 'blobContainer',
              value: args.deploymentContainerUrl,
              authentication: { type: 'SystemAssignedIdentity' },
            },
          },
          runtime: { name: 'node', version: '22' },
          scaleAndConcurrency: {
            maximumInstanceCount: args.maximumInstanceCount,
            instanceMemoryMB: args.instanceMemoryMB,
          },
        },
        tags: args.tags,
      },
      { parent: this },
    );

    // Deployment uses Entra tokens only; publishing with basic-auth credentials stays off.
    new web.WebAppScmAllowed(
      `${name}-scm-basic-auth`,
      { name: app.name, resourceGroupName: args.resourceGroupName, allow: false },
      { parent: this },
    );
    new web.WebAppFtpAllowed(
      `${name}-ftp-basic-auth`,
      { name: app.name, resourceGroupName: args.resourceGroupName, allow: false },
      { parent: this },
    );

    const publicUrl = pulumi.interpolate`https://${app.defaultHostName}`;
    this.settings = new web.WebAppApplicationSettings(
      `${name}-settings`,
      {
        name: app.name,
        resourceGroupName: args.resourceGroupName,
        properties: pulumi
          .all([pulumi.output(args.settings), publicUrl])
          .apply(([s, url]) => appSettings({ ...(s as Omit<AppSettingsInput, 'publicUrl'>), publicUrl: url })),
      },
      { parent: this },
    );

    this.appName = app.name;
    this.appId = app.id;
    this.defaultHostName = app.defaultHostName;
    this.scmHostName = pulumi
      .all([app.hostNameSslStates, app.defaultHostName])
      .apply(([states, host]) => scmHostName(states, host));
    this.principalId = app.identity.apply((identity) => {
      if (!identity?.principalId) throw new Error(`FunctionApp ${name}: the app has no system-assigned identity`);
      return identity.principalId;
    });
    this.apiBaseUrl = pulumi.interpolate`${publicUrl}/api`;
    this.serverListUrl = pulumi.interpolate`${publicUrl}/`;
    this.openApiUrl = pulumi.interpolate`${publicUrl}/api/openapi.json`;
    this.registerOutputs({ appName: this.appName, apiBaseUrl: this.apiBaseUrl });
  }
}
