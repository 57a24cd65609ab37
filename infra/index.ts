// aci-fleet: a fleet manager for stateful containers on Azure Container Instances.
// One stack per region. Read top to bottom: the components, then what a user copies (outputs).
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization';
import * as web from '@pulumi/azure-native/web';
import * as random from '@pulumi/random';
import { loadConfig } from './config';
import { ResourceGroups } from './groups';
import { FleetStorage, storageAccountName } from './storage';
import { Monitoring } from './monitoring';
import { FunctionApp } from './app';
import { AppAccess } from './access';
import { RuntimeBundle } from './bundle';
import { CodeDeployment } from './deployment';
import { ContainerEvents } from './events';

const config = loadConfig();
/** The Event Grid function: the deployment waits for it, the subscriptions deliver to it. */
const MONITOR_FUNCTION = 'ACIMonitor';
const repoRoot = path.resolve(__dirname, '..');
const client = authorization.getClientConfigOutput();
const tags = { 'aci-fleet': config.fleetName, ...config.tags };

// Storage account and app names are global DNS names: a random suffix, fixed for the stack's life.
const suffix = new random.RandomString('suffix', { length: 6, special: false, upper: false });

const groups = new ResourceGroups('groups', {
  location: config.location,
  appResourceGroupName: config.appResourceGroupName,
  containerResourceGroups: config.containerResourceGroups,
  tags,
});

const data = new FleetStorage('storage', {
  resourceGroupName: groups.app.name,
  location: config.location,
  accountName: suffix.result.apply((s) => storageAccountName(config.fleetName, s)),
  tableName: config.runtime.FLEET_TABLE_NAME,
  demandTableName: config.runtime.FLEET_DEMAND_TABLE_NAME,
  tags,
});

const monitoring = new Monitoring('monitoring', {
  resourceGroupName: groups.app.name,
  location: config.location,
  retentionInDays: config.logRetentionDays,
  tags,
});

// HMAC key for the per-server report tokens; generated here so no one ever types it.
const reportTokenSecret = new random.RandomPassword('report-token-secret', { length: 48, special: false });

const app = new FunctionApp('app', {
  resourceGroupName: groups.app.name,
  location: config.location,
  appName: pulumi.interpolate`${config.fleetName}-${suffix.result}`,
  deploymentContainerUrl: data.deploymentContainerUrl,
  maximumInstanceCount: config.maxFunctionInstances,
  instanceMemoryMB: config.instanceMemoryMB,
  settings: pulumi.output({
    storageAccountName: data.accountName,
    blobEndpoint: data.blobEndpoint,
    queueEndpoint: data.queueEndpoint,
    tableEndpoint: data.tableEndpoint,
    appInsightsConnectionString: monitoring.connectionString,
    autoscalerStateContainer: data.containers.autoscalerState,
    subscriptionId: client.subscriptionId,
    containerResourceGroups: groups.containers.map((g) => g.name),
    // Marked here so the settings resource is secret without relying on the random provider doing it.
    reportTokenSecret: pulumi.secret(reportTokenSecret.result),
    options: config.optionSettings,
  }),
  tags,
});

const access = new AppAccess('access', {
  principalId: app.principalId,
  subscriptionId: client.subscriptionId,
  scopes: {
    storageAccount: data.accountId,
    tableService: data.tableServiceId,
    appInsights: monitoring.appInsightsId,
    containerResourceGroups: groups.containers,
  },
});

const bundle = new RuntimeBundle('bundle', {
  entry: path.join(config.runtimeDir, 'src', 'index.ts'),
  hostJson: path.join(config.runtimeDir, 'host.json'),
  workingDir: repoRoot,
  outDir: path.join(repoRoot, 'dist', 'bundle'),
});

const deployment = new CodeDeployment('deployment', {
  appResourceId: app.appId,
  scmHostName: app.scmHostName,
  zipPath: bundle.zipPath,
  hash: bundle.hash,
  waitForFunctions: [MONITOR_FUNCTION],
  after: [app.settings, ...access.assignments],
});

new ContainerEvents('events', {
  containerResourceGroups: groups.containers,
  subscriptionId: client.subscriptionId,
  functionResourceId: pulumi.interpolate`${deployment.appResourceId}/functions/${MONITOR_FUNCTION}`,
  deadLetter: { storageAccountId: data.accountId, containerName: data.containers.deadLetters },
  retry: config.eventDelivery,
  deployment: deployment.resource,
  tags,
});

/** Every API function is `<apiBaseUrl>/<Name>`, e.g. `<apiBaseUrl>/ACIList`. */
export const apiBaseUrl = app.apiBaseUrl;
/** The page listing the running servers. */
export const serverListUrl = app.serverListUrl;
/** The API's OpenAPI document. */
export const openApiUrl = app.openApiUrl;
export const appName = app.appName;
export const location = config.location;
export const appResourceGroupName = groups.app.name;
export const containerResourceGroupNames = groups.containers.map((g) => g.name);
export const storageAccount = data.accountName;
export const runtimeHash = bundle.hash;
export const indexedFunctions = deployment.indexedFunctions;
/** The default function key (send it as `x-functions-key`); read after the code is deployed. */
export const functionKey = pulumi.secret(
  web
    .listWebAppHostKeysOutput({ name: app.appName, resourceGroupName: groups.app.name }, { dependsOn: [deployment.resource] })
    .apply((keys) => {
      const key = keys.functionKeys?.default;
      // The deployment itself succeeded: say so rather than fail the update over an output.
      if (!key) pulumi.log.warn('The app has no default function key yet; run `pulumi up` again to read it.');
      return key ?? '';
    }),
);
