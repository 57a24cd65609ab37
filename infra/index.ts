// aci-fleet: a fleet manager for stateful containers on Azure Container Instances.
// One stack per region. Read top to bottom: the checks, the components, then what a user copies
// (the outputs). The program is an async function so that the checks run before anything is declared.
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization';
import * as random from '@pulumi/random';
import { loadConfig } from './config';
import { checkRegion } from './preflight';
import { ResourceProviders } from './resourceProviders';
import { ResourceGroups } from './groups';
import { FleetStorage, storageAccountName } from './storage';
import { Monitoring } from './monitoring';
import { AppIdentity } from './identity';
import { ContainerRole } from './containerRole';
import { ReportTokenSecrets, keyVaultName } from './keyVault';
import { AppAccess } from './access';
import { FunctionApp } from './app';
import { RuntimeBundle } from './bundle';
import { CodeDeployment } from './deployment';
import { ContainerEvents } from './events';
import { FleetAlerts } from './alerts';
import { FleetWorkbook } from './workbook';
import { SmokeTest } from './smokeTest';
import { StackFleets } from './fleets';

/** The Event Grid function: the deployment waits for it, the subscriptions deliver to it. */
const MONITOR_FUNCTION = 'ACIMonitor';
const repoRoot = path.resolve(__dirname, '..');

export = async () => {
  // A stack that cannot work stops here, naming the key, before anything is declared.
  const config = loadConfig();
  const client = await authorization.getClientConfig();
  await checkRegion(config.location, client.subscriptionId, config.fleetDemand);
  const tags = { 'aci-fleet': config.fleetName, ...config.tags };

  const providers = new ResourceProviders('providers', { subscriptionId: client.subscriptionId });

  // Storage account, vault and app names are global DNS names: a random suffix, fixed for the stack's life.
  const suffix = new random.RandomString('suffix', { length: 6, special: false, upper: false });

  const groups = new ResourceGroups('groups', {
    location: config.location,
    appResourceGroupName: config.appResourceGroupName,
    containerResourceGroups: config.containerResourceGroups,
    tags,
    after: providers.registrations,
  });

  const data = new FleetStorage('storage', {
    resourceGroupName: groups.app.name,
    location: config.location,
    accountName: suffix.result.apply((s) => storageAccountName(config.fleetName, s)),
    tableName: config.runtime.FLEET_TABLE_NAME,
    demandTableName: config.runtime.FLEET_DEMAND_TABLE_NAME,
    fleetsTableName: config.runtime.FLEET_FLEETS_TABLE_NAME,
    tags,
  });

  const monitoring = new Monitoring('monitoring', {
    resourceGroupName: groups.app.name,
    location: config.location,
    retentionInDays: config.logRetentionDays,
    tags,
  });

  const identity = new AppIdentity('identity', {
    resourceGroupName: groups.app.name,
    location: config.location,
    fleetName: config.fleetName,
    tags,
  });

  const containerRole = new ContainerRole('container-role', {
    fleetName: config.fleetName,
    subscriptionId: client.subscriptionId,
    containerResourceGroupIds: groups.containers.map((g) => g.id),
  });

  // The HMAC key for the per-server report tokens: generated here, kept in Key Vault, rotated by config.
  const reportTokens = new ReportTokenSecrets('report-tokens', {
    resourceGroupName: groups.app.name,
    location: config.location,
    vaultName: suffix.result.apply((s) => keyVaultName(config.fleetName, s)),
    tenantId: client.tenantId,
    generation: config.reportTokens.generation,
    keepPrevious: config.reportTokens.keepPrevious,
    tags,
  });

  // Granted before the app exists, to the identity it will run as.
  const access = new AppAccess('access', {
    principalId: identity.principalId,
    subscriptionId: client.subscriptionId,
    containerRoleId: containerRole.roleDefinitionId,
    scopes: {
      storageAccount: data.accountId,
      tableService: data.tableServiceId,
      appInsights: monitoring.appInsightsId,
      keyVault: reportTokens.vaultId,
      containerResourceGroups: groups.containers,
    },
  });

  const app = new FunctionApp('app', {
    resourceGroupName: groups.app.name,
    location: config.location,
    appName: pulumi.interpolate`${config.fleetName}-${suffix.result}`,
    deploymentContainerUrl: data.deploymentContainerUrl,
    identityId: identity.id,
    grants: access.assignments,
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
      identityClientId: identity.clientId,
      reportTokenSecret: reportTokens.current,
      reportTokenSecretPrevious: reportTokens.previous,
      options: config.optionSettings,
    }),
    tags,
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
    after: [app.settings],
  });

  const events = new ContainerEvents('events', {
    containerResourceGroups: groups.containers,
    subscriptionId: client.subscriptionId,
    functionResourceId: pulumi.interpolate`${deployment.appResourceId}/functions/${MONITOR_FUNCTION}`,
    deadLetter: { storageAccountId: data.accountId, containerName: data.containers.deadLetters },
    retry: config.eventDelivery,
    deployment: deployment.resource,
    after: providers.registrations,
    tags,
  });

  new FleetAlerts('alerts', {
    resourceGroupName: groups.app.name,
    location: config.location,
    fleetName: config.fleetName,
    appInsightsId: monitoring.appInsightsId,
    topics: events.topics,
    email: config.alertEmail,
    tags,
  });

  new FleetWorkbook('workbook', {
    resourceGroupName: groups.app.name,
    location: config.location,
    fleetName: config.fleetName,
    appInsightsId: monitoring.appInsightsId,
    tags,
  });

  // Last: the fleet answers, with its key, and hears its container groups.
  const smoke = new SmokeTest('smoke-test', {
    appResourceId: deployment.appResourceId,
    apiBaseUrl: app.apiBaseUrl,
    openApiUrl: app.openApiUrl,
    listPublic: config.runtime.FLEET_LIST_PUBLIC,
    eventSubscriptionIds: events.subscriptions.map((s) => s.id),
    after: [deployment.resource, ...events.subscriptions],
  });

  // The stack file's fleets, written through the API once it answers: a new image tag is a rolling update.
  const fleets = new StackFleets('fleets', {
    fleets: config.fleets,
    secretConfig: config.fleetsSecret,
    apiBaseUrl: app.apiBaseUrl,
    functionKey: smoke.functionKey,
    after: [smoke.resource],
  });

  return {
    /** Every API function is `<apiBaseUrl>/<Name>`, e.g. `<apiBaseUrl>/ACIList`. */
    apiBaseUrl: app.apiBaseUrl,
    /** The page listing the running servers. */
    serverListUrl: app.serverListUrl,
    /** The API's OpenAPI document. */
    openApiUrl: app.openApiUrl,
    appName: app.appName,
    location: config.location,
    appResourceGroupName: groups.app.name,
    containerResourceGroupNames: groups.containers.map((g) => g.name),
    storageAccount: data.accountName,
    keyVault: reportTokens.vaultName,
    runtimeHash: bundle.hash,
    indexedFunctions: deployment.indexedFunctions,
    /** What the smoke test at the end of the update confirmed. */
    smokeTest: smoke.passed,
    /** The default function key (send it as `x-functions-key`), read by the smoke test. */
    functionKey: smoke.functionKey,
    /** `{ <fleet>: <revision> }` of the stack file's fleets: a changed template shows its new revision here. */
    fleetRevisions: fleets.revisions,
  };
};
