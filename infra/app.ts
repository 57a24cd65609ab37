// The Function App that runs the fleet: a Flex Consumption plan, the app with its system-assigned
// identity, and the app settings that tell the runtime where everything is (names and URLs, no keys).
import * as pulumi from '@pulumi/pulumi';
import * as web from '@pulumi/azure-native/web';
import { OPTION_KEYS, type FleetConfig } from './config';
import { appSettingsProblems } from './invariants';
import { LARGEST_BODY_BYTES } from '../runtime/src/functions/http';

/** Everything the runtime needs to know, as plain values; see {@link appSettings}. */
export interface AppSettingsInput {
  storageAccountName: string;
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
  appInsightsConnectionString: string;
  autoscalerStateContainer: string;
  subscriptionId: string;
  containerResourceGroups: string[];
  reportTokenSecret: string;
  /** `https://<defaultHostName>`. */
  publicUrl: string;
  /** The app settings of the runtime options the stack file decides ({@link FleetConfig.optionSettings}). */
  options: Record<string, string>;
}

/** Settings the Functions host reads, not the runtime, and why the stack writes them. */
export const HOST_SETTINGS = {
  AzureWebJobsStorage__queueServiceUri: 'host storage queues (the runtime itself uses blobs and tables)',
  AzureWebJobsDisableHomepage: 'no platform landing page at `/`, where ServerPage is',
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'where the host sends telemetry',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'telemetry sent with the managed identity',
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: 'the host reads at most the largest body a function takes (1 MiB), not its default 100 MB',
} as const;

const trimSlash = (u: string) => u.replace(/\/+$/, '');

/**
 * The app settings, by name: what the stack created or decided, then the runtime options of the
 * stack file. Host storage is identity-based (`AzureWebJobsStorage__*`; the system-assigned
 * identity is the default credential, so no `__credential`/`__clientId`), and telemetry is sent
 * with the identity (`Authorization=AAD`). Throws if a key would slip in.
 */
export function appSettings(i: AppSettingsInput): Record<string, string> {
  if (i.containerResourceGroups.length === 0) throw new Error('appSettings: no container resource group');
  const decided: Record<string, string> = {
    AzureWebJobsStorage__accountName: i.storageAccountName,
    AzureWebJobsStorage__blobServiceUri: trimSlash(i.blobEndpoint),
    AzureWebJobsStorage__queueServiceUri: trimSlash(i.queueEndpoint),
    AzureWebJobsStorage__tableServiceUri: trimSlash(i.tableEndpoint),
    // The runtime serves its own page at `/` (ServerPage, with routePrefix ""): no platform landing page.
    AzureWebJobsDisableHomepage: 'true',
    // The host buffers each body before a function runs: no more than the largest any function takes.
    FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: String(LARGEST_BODY_BYTES),
    APPLICATIONINSIGHTS_CONNECTION_STRING: i.appInsightsConnectionString,
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
    // The container the stack created for the autoscaler's lease.
    AUTOSCALER_STATE_CONTAINER: i.autoscalerStateContainer,
    AZURE_SUBSCRIPTION_ID: i.subscriptionId,
    // Always set, so the runtime never falls back to "any resource group".
    FLEET_RESOURCE_GROUPS: i.containerResourceGroups.join(','),
    FLEET_PUBLIC_URL: trimSlash(i.publicUrl),
    REPORT_TOKEN_SECRET: i.reportTokenSecret,
  };
  const clash = Object.keys(i.options).filter((name) => name in decided || !OPTION_SETTINGS.has(name));
  if (clash.length > 0) throw new Error(`appSettings: ${clash.join(', ')} is not an option a stack file sets`);
  const settings = { ...decided, ...i.options };

  const problems = appSettingsProblems(settings);
  if (problems.length > 0) throw new Error(`appSettings: ${problems.join('; ')}`);
  return settings;
}

/** The app settings a stack file may decide (rows of the options table with a stack key). */
const OPTION_SETTINGS = new Set<string>(OPTION_KEYS.values());

/**
 * The SCM (Kudu) host One Deploy talks to: the `Repository` entry of the app's host names, or,
 * before ARM reports it, the default host name with `.scm` after its first label.
 */
export function scmHostName(states: ReadonlyArray<{ name?: string; hostType?: string }> | undefined, defaultHostName: string): string {
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
    this.scmHostName = pulumi.all([app.hostNameSslStates, app.defaultHostName]).apply(([states, host]) => scmHostName(states, host));
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
