// The Function App that runs the fleet: a Flex Consumption plan, the app running as its
// user-assigned identity (created and granted its roles before the app), and the app settings that
// tell the runtime where everything is (names, URLs and Key Vault references; no keys).
import * as pulumi from '@pulumi/pulumi';
import * as web from '@pulumi/azure-native/web';
import { OPTION_KEYS, type FleetConfig } from './config';
import { appSettingsProblems } from './invariants';

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
  /** Client id of the app's user-assigned identity: every SDK in the app signs in as it. */
  identityClientId: string;
  /** A Key Vault reference to the report-token secret (keyVault.ts). */
  reportTokenSecret: string;
  /** A Key Vault reference to the previous one, during a rotation. */
  reportTokenSecretPrevious?: string;
  /** `https://<defaultHostName>`. */
  publicUrl: string;
  /** The app settings of the runtime options the stack file decides ({@link FleetConfig.optionSettings}). */
  options: Record<string, string>;
}

/** Settings the Functions host reads, not the runtime, and why the stack writes them. */
export const HOST_SETTINGS = {
  AzureWebJobsStorage__credential: 'host storage through a managed identity…',
  AzureWebJobsStorage__clientId: '…the user-assigned one, by client id',
  AzureWebJobsStorage__queueServiceUri: 'host storage queues (the runtime itself uses blobs and tables)',
  AzureWebJobsDisableHomepage: 'no platform landing page at `/`, where ServerPage is',
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'where the host sends telemetry',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'telemetry sent with the managed identity',
} as const;

const trimSlash = (u: string) => u.replace(/\/+$/, '');

/** The language stack the app runs on Flex Consumption (the bundle targets it; preflight checks the region offers it). */
export const FLEX_RUNTIME = { name: 'node', version: '22' } as const;

/**
 * The app settings, by name: what the stack created or decided, then the runtime options of the
 * stack file. Host storage is identity-based (`AzureWebJobsStorage__*` with the user-assigned
 * identity's client id), telemetry is sent with that identity (`ClientId=…;Authorization=AAD`), and
 * the report-token secrets are Key Vault references. Throws if a key would slip in.
 */
export function appSettings(i: AppSettingsInput): Record<string, string> {
  if (i.containerResourceGroups.length === 0) throw new Error('appSettings: no container resource group');
  const decided: Record<string, string> = {
    AzureWebJobsStorage__accountName: i.storageAccountName,
    AzureWebJobsStorage__credential: 'managedidentity',
    AzureWebJobsStorage__clientId: i.identityClientId,
    AzureWebJobsStorage__blobServiceUri: trimSlash(i.blobEndpoint),
    AzureWebJobsStorage__queueServiceUri: trimSlash(i.queueEndpoint),
    AzureWebJobsStorage__tableServiceUri: trimSlash(i.tableEndpoint),
    // The runtime serves its own page at `/` (ServerPage, with routePrefix ""): no platform landing page.
    AzureWebJobsDisableHomepage: 'true',
    APPLICATIONINSIGHTS_CONNECTION_STRING: i.appInsightsConnectionString,
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${i.identityClientId};Authorization=AAD`,
    // The container the stack created for the autoscaler's lease.
    AUTOSCALER_STATE_CONTAINER: i.autoscalerStateContainer,
    AZURE_SUBSCRIPTION_ID: i.subscriptionId,
    AZURE_CLIENT_ID: i.identityClientId,
    // Always set, so the runtime never falls back to "any resource group".
    FLEET_RESOURCE_GROUPS: i.containerResourceGroups.join(','),
    FLEET_PUBLIC_URL: trimSlash(i.publicUrl),
    REPORT_TOKEN_SECRET: i.reportTokenSecret,
    ...(i.reportTokenSecretPrevious ? { REPORT_TOKEN_SECRET_PREVIOUS: i.reportTokenSecretPrevious } : {}),
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
  /** The user-assigned identity the app runs as (identity.ts). */
  identityId: pulumi.Input<string>;
  /** Its role assignments: the app is created only once they exist. */
  grants: pulumi.Resource[];
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
    if (args.grants.length === 0) throw new Error(`FunctionApp ${name}: pass the identity's role assignments in "grants"`);

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
        identity: { type: 'UserAssigned', userAssignedIdentities: [args.identityId] },
        // Key Vault references resolve with the same identity (there is no system-assigned one).
        keyVaultReferenceIdentity: args.identityId,
        // No siteConfig: the SDK would add netFrameworkVersion, which Flex rejects in some regions
        // (pulumi-azure-native#4168). Settings go through WebAppApplicationSettings below.
        functionAppConfig: {
          deployment: {
            storage: {
              type: 'blobContainer',
              value: args.deploymentContainerUrl,
              authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: args.identityId },
            },
          },
          runtime: { ...FLEX_RUNTIME },
          scaleAndConcurrency: {
            maximumInstanceCount: args.maximumInstanceCount,
            instanceMemoryMB: args.instanceMemoryMB,
          },
        },
        tags: args.tags,
      },
      // Its first start already finds its roles in place (they were granted to the identity first).
      { parent: this, dependsOn: args.grants },
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
        // Secret as a whole: a container group template may carry secure values (set with --secret),
        // and which of the stack's values were secrets does not survive into this map.
        properties: pulumi.secret(
          pulumi
            .all([pulumi.output(args.settings), publicUrl])
            .apply(([s, url]) => appSettings({ ...(s as Omit<AppSettingsInput, 'publicUrl'>), publicUrl: url })),
        ),
      },
      { parent: this },
    );

    this.appName = app.name;
    this.appId = app.id;
    this.defaultHostName = app.defaultHostName;
    this.scmHostName = pulumi.all([app.hostNameSslStates, app.defaultHostName]).apply(([states, host]) => scmHostName(states, host));
    this.apiBaseUrl = pulumi.interpolate`${publicUrl}/api`;
    this.serverListUrl = pulumi.interpolate`${publicUrl}/`;
    this.openApiUrl = pulumi.interpolate`${publicUrl}/api/openapi.json`;
    this.registerOutputs({ appName: this.appName, apiBaseUrl: this.apiBaseUrl });
  }
}
