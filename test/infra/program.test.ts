// The whole program under Pulumi mocks: every resource the issue names exists with its settings,
// the app settings are keyless, roles are least-privilege, and the Event Grid subscriptions wait
// for the code deployment.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  APP_PRINCIPAL_ID,
  FUNCTION_KEY,
  SUBSCRIPTION_ID,
  baseConfig,
  ofType,
  one,
  recordInChild,
  type Recording,
} from './support/recording';
import { ROLES, BROAD_ROLES, appSettingsProblems, roleGuid } from '../../infra/invariants';

const T = {
  rg: 'azure-native:resources:ResourceGroup',
  account: 'azure-native:storage:StorageAccount',
  container: 'azure-native:storage:BlobContainer',
  table: 'azure-native:storage:Table',
  workspace: 'azure-native:operationalinsights:Workspace',
  insights: 'azure-native:applicationinsights:Component',
  plan: 'azure-native:web:AppServicePlan',
  app: 'azure-native:web:WebApp',
  settings: 'azure-native:web:WebAppApplicationSettings',
  scmBasicAuth: 'azure-native:web:WebAppScmAllowed',
  ftpBasicAuth: 'azure-native:web:WebAppFtpAllowed',
  role: 'azure-native:authorization:RoleAssignment',
  topic: 'azure-native:eventgrid:SystemTopic',
  subscription: 'azure-native:eventgrid:SystemTopicEventSubscription',
  deploy: 'pulumi-nodejs:dynamic/aci-fleet:OneDeploy',
};
const sub = `/subscriptions/${SUBSCRIPTION_ID}`;
const appRg = 'aci-fleet-dev-app';
const accountId = `${sub}/resourceGroups/${appRg}/providers/Microsoft.Storage/storageAccounts/stacifleetdevabc123`;
const appId = `${sub}/resourceGroups/${appRg}/providers/Microsoft.Web/sites/aci-fleet-dev-abc123`;

/** An ACICreate body without containerGroupName, in one of the `mixed` stack's groups. */
const template = {
  resourceGroup: 'servers-a',
  maxSessions: 8,
  containerGroup: {
    location: 'westeurope',
    osType: 'Linux',
    containers: [{ name: 'server', image: 'example/game:1', resources: { requests: { cpu: 1, memoryInGB: 1.5 } } }],
  },
};

let dev: Recording;
let mixed: Recording;
let invalid: Recording;

before(async () => {
  [dev, mixed, invalid] = await Promise.all([
    recordInChild(baseConfig()),
    recordInChild(
      baseConfig({
        'aci-fleet:containerResourceGroups': JSON.stringify(['servers-a', { name: 'shared-servers', existing: true }]),
        'aci-fleet:serverListPublic': 'true',
        'aci-fleet:autoscaler': JSON.stringify({ enabled: true, policy: 'threshold', bufferPercent: 5, containerGroupTemplate: template }),
        'aci-fleet:allocation': JSON.stringify({ retryAfterSeconds: 2 }),
      }),
    ),
    recordInChild(baseConfig({ 'aci-fleet:autoscaler': JSON.stringify({ minimumInstances: 5, maximumInstances: 2 }) })),
  ]);
  for (const r of [dev, mixed]) assert.equal(r.error, undefined, `program failed: ${r.error}`);
});

describe('program graph', () => {
  it('groups every resource under one component per concern', () => {
    const components = dev.resources.filter((r) => r.type.startsWith('aci-fleet:infra:')).map((r) => r.type.split(':')[2]);
    assert.deepEqual(components.sort(), [
      'AppAccess',
      'CodeDeployment',
      'ContainerEvents',
      'FleetStorage',
      'FunctionApp',
      'Monitoring',
      'ResourceGroups',
      'RuntimeBundle',
    ]);
    const orphans = dev.resources.filter((r) => r.type.startsWith('azure-native:') && !r.parent?.startsWith('aci-fleet:infra:'));
    assert.deepEqual(
      orphans.map((r) => r.key),
      [],
    );
  });

  it('calls only the invokes it is expected to (unmocked ones fail the run)', () => {
    assert.deepEqual([...new Set(dev.calls)].sort(), [
      'azure-native:authorization:getClientConfig',
      'azure-native:authorization:getClientToken',
      'azure-native:web:listWebAppHostKeys',
    ]);
  });

  it('creates the app resource group and the container resource group in the stack location', () => {
    const groups = ofType(dev, T.rg).map((r) => [r.inputs.resourceGroupName, r.inputs.location]);
    assert.deepEqual(groups.sort(), [
      ['aci-fleet-dev-app', 'westeurope'],
      ['aci-fleet-dev-servers', 'westeurope'],
    ]);
  });

  it('references an existing container resource group without creating (or ever deleting) it', () => {
    const created = ofType(mixed, T.rg)
      .map((r) => r.inputs.resourceGroupName)
      .sort();
    assert.deepEqual(created, ['aci-fleet-dev-app', 'servers-a']);
    assert.ok(mixed.calls.includes('azure-native:resources:getResourceGroup'));
    const aci = ofType(mixed, T.role).filter((r) => roleGuid(r.inputs.roleDefinitionId) === ROLES.containerInstancesContributor);
    assert.deepEqual(aci.map((r) => r.inputs.scope).sort(), [`${sub}/resourceGroups/servers-a`, `${sub}/resourceGroups/shared-servers`]);
    assert.equal(ofType(mixed, T.topic).length, 2);
  });

  it('makes a keyless storage account (no shared key, no public blobs, TLS 1.2, HTTPS)', () => {
    const account = one(dev, T.account).inputs;
    assert.equal(account.allowSharedKeyAccess, false);
    assert.equal(account.allowBlobPublicAccess, false);
    assert.equal(account.minimumTlsVersion, 'TLS1_2');
    assert.equal(account.enableHttpsTrafficOnly, true);
    assert.equal(account.kind, 'StorageV2');
    assert.match(account.accountName, /^[a-z0-9]{3,24}$/);
  });

  it('creates the fleet and demand tables and private containers for the package, the autoscaler state and dead letters', () => {
    assert.deepEqual(
      ofType(dev, T.table)
        .map((r) => r.inputs.tableName)
        .sort(),
      ['ACIDetails', 'FleetDemand'],
    );
    const containers = ofType(dev, T.container).map((r) => [r.inputs.containerName, r.inputs.publicAccess]);
    assert.deepEqual(containers.sort(), [
      ['app-package', 'None'],
      ['autoscaler-state', 'None'],
      ['eventgrid-deadletters', 'None'],
    ]);
  });

  it('makes a workspace-based Application Insights with local auth off', () => {
    const insights = one(dev, T.insights).inputs;
    assert.equal(insights.disableLocalAuth, true);
    assert.equal(insights.ingestionMode, 'LogAnalytics');
    assert.ok(insights.workspaceResourceId);
    assert.equal(one(dev, T.workspace).inputs.retentionInDays, 30);
  });

  it('runs the app on a Flex Consumption plan: Node 22, system identity, HTTPS only, package from blob by identity', () => {
    const plan = one(dev, T.plan).inputs;
    assert.deepEqual(plan.sku, { name: 'FC1', tier: 'FlexConsumption' });
    assert.equal(plan.reserved, true);
    const app = one(dev, T.app).inputs;
    assert.equal(app.kind, 'functionapp,linux');
    assert.equal(app.httpsOnly, true);
    assert.deepEqual(app.identity, { type: 'SystemAssigned' });
    assert.equal(app.siteConfig, undefined, 'siteConfig would bring netFrameworkVersion, which Flex rejects');
    assert.deepEqual(app.functionAppConfig, {
      deployment: {
        storage: {
          type: 'blobContainer',
          value: 'https://stacifleetdevabc123.blob.core.windows.net/app-package',
          authentication: { type: 'SystemAssignedIdentity' },
        },
      },
      runtime: { name: 'node', version: '22' },
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 },
    });
    assert.equal(one(dev, T.scmBasicAuth).inputs.allow, false);
    assert.equal(one(dev, T.ftpBasicAuth).inputs.allow, false);
  });

  it('gives the runtime what the stack made, in identity-based app settings, as a secret, and leaves the rest to its defaults', () => {
    const settingsResource = one(dev, T.settings);
    const s = settingsResource.inputs.properties as Record<string, string>;
    assert.deepEqual(settingsResource.secretInputs, ['properties'], 'the settings hold the report token secret');
    assert.deepEqual(appSettingsProblems(s), []);
    assert.deepEqual(
      Object.keys(s).sort(),
      [
        'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
        'AUTOSCALER_ENABLED',
        'AUTOSCALER_STATE_CONTAINER',
        'AZURE_SUBSCRIPTION_ID',
        'AzureWebJobsDisableHomepage',
        'AzureWebJobsStorage__accountName',
        'AzureWebJobsStorage__blobServiceUri',
        'AzureWebJobsStorage__queueServiceUri',
        'AzureWebJobsStorage__tableServiceUri',
        'FLEET_DEMAND_TABLE_NAME',
        'FLEET_FLEETS_TABLE_NAME',
        'FLEET_LIST_PUBLIC',
        'FLEET_NAME',
        'FLEET_PUBLIC_URL',
        'FLEET_RESOURCE_GROUPS',
        'FLEET_TABLE_NAME',
        'REPORT_TOKEN_SECRET',
      ].sort(),
    );
    assert.equal(s.AzureWebJobsStorage__accountName, 'stacifleetdevabc123');
    assert.equal(s.AzureWebJobsStorage__blobServiceUri, 'https://stacifleetdevabc123.blob.core.windows.net');
    assert.equal(s.AzureWebJobsStorage__queueServiceUri, 'https://stacifleetdevabc123.queue.core.windows.net');
    assert.equal(s.AzureWebJobsStorage__tableServiceUri, 'https://stacifleetdevabc123.table.core.windows.net');
    assert.equal(s.APPLICATIONINSIGHTS_AUTHENTICATION_STRING, 'Authorization=AAD');
    assert.equal(s.FLEET_NAME, 'aci-fleet-dev');
    assert.equal(s.FLEET_TABLE_NAME, 'ACIDetails');
    assert.equal(s.FLEET_DEMAND_TABLE_NAME, 'FleetDemand');
    assert.equal(s.FLEET_FLEETS_TABLE_NAME, 'FleetSpecs');
    assert.equal(s.AzureWebJobsDisableHomepage, 'true', 'ServerPage is at `/`, not the platform landing page');
    assert.equal(s.AZURE_SUBSCRIPTION_ID, SUBSCRIPTION_ID);
    assert.equal(s.FLEET_RESOURCE_GROUPS, 'aci-fleet-dev-servers');
    assert.equal(s.FLEET_PUBLIC_URL, 'https://aci-fleet-dev-abc123.azurewebsites.net');
    assert.equal(s.FLEET_LIST_PUBLIC, 'false');
    assert.equal(s.AUTOSCALER_ENABLED, 'false');
    assert.equal(s.AUTOSCALER_STATE_CONTAINER, 'autoscaler-state');
    assert.ok(s.REPORT_TOKEN_SECRET.length >= 32);
    for (const forbidden of [
      'AzureWebJobsStorage',
      'FUNCTIONS_WORKER_RUNTIME',
      'WEBSITE_RUN_FROM_PACKAGE',
      'WEBSITE_NODE_DEFAULT_VERSION',
    ]) {
      assert.ok(!(forbidden in s), forbidden);
    }
    assert.ok(Object.values(s).every((v) => !/AccountKey=|SharedAccessSignature=|DefaultEndpointsProtocol=/i.test(v)));
    const secret = ofType(dev, 'random:index/randomPassword:RandomPassword');
    assert.ok(secret.length === 1 && secret[0].inputs.length >= 32);
  });

  it('carries the configuration through: every resource group, public list, the runtime options set, the template', () => {
    const s = one(mixed, T.settings).inputs.properties as Record<string, string>;
    assert.equal(s.FLEET_RESOURCE_GROUPS, 'servers-a,shared-servers');
    assert.equal(s.FLEET_LIST_PUBLIC, 'true');
    assert.equal(s.AUTOSCALER_ENABLED, 'true');
    assert.equal(s.AUTOSCALER_POLICY, 'threshold');
    assert.equal(s.AUTOSCALER_BUFFER_PERCENT, '5');
    assert.equal(s.ALLOCATION_RETRY_AFTER_SECONDS, '2');
    assert.ok(!('AUTOSCALER_BUFFER_SLOTS' in s), 'not set in the stack: the runtime decides');
    assert.deepEqual(JSON.parse(s.CONTAINER_GROUP_TEMPLATE), template);
  });

  it('grants the app exactly its least-privilege roles, on the narrowest scopes', () => {
    const grants = ofType(dev, T.role)
      .filter((r) => r.inputs.principalId === APP_PRINCIPAL_ID)
      .map((r) => [roleGuid(r.inputs.roleDefinitionId), r.inputs.scope, r.inputs.principalType]);
    assert.deepEqual(
      grants.sort(),
      [
        [ROLES.storageTableDataContributor, `${accountId}/tableServices/default`, 'ServicePrincipal'],
        [
          ROLES.monitoringMetricsPublisher,
          `${sub}/resourceGroups/${appRg}/providers/Microsoft.Insights/components/monitoring-insights`,
          'ServicePrincipal',
        ],
        [ROLES.storageQueueDataContributor, accountId, 'ServicePrincipal'],
        [ROLES.containerInstancesContributor, `${sub}/resourceGroups/aci-fleet-dev-servers`, 'ServicePrincipal'],
        [ROLES.storageBlobDataOwner, accountId, 'ServicePrincipal'],
      ].sort(),
    );
    for (const r of ofType(dev, T.role)) {
      assert.ok(r.inputs.roleDefinitionId.startsWith(`${sub}/providers/Microsoft.Authorization/roleDefinitions/`));
      assert.ok(!(roleGuid(r.inputs.roleDefinitionId) in BROAD_ROLES), `${r.name} grants a broad role`);
    }
  });

  it('deploys the bundle after the settings and every app role assignment, waiting for ACIMonitor', () => {
    const deploy = one(dev, T.deploy);
    const appRoles = ofType(dev, T.role)
      .filter((r) => r.inputs.principalId === APP_PRINCIPAL_ID)
      .map((r) => r.key);
    assert.deepEqual([...deploy.dependsOn].sort(), [one(dev, T.settings).key, ...appRoles].sort());
    assert.equal(deploy.inputs.appResourceId, appId);
    assert.equal(deploy.inputs.scmUrl, 'https://aci-fleet-dev-abc123.scm.azurewebsites.net');
    assert.deepEqual(deploy.inputs.functions, ['ACIMonitor']);
    assert.equal(deploy.inputs.hash, dev.outputs.runtimeHash.value);
    assert.match(deploy.inputs.zipPath, new RegExp(`${deploy.inputs.hash}\\.zip$`));
    assert.ok(deploy.secretInputs.includes('token'), 'the ARM token is a secret');
    assert.equal(typeof deploy.inputs.__provider, 'string');
  });

  it('subscribes ACIMonitor to container-group events of each container group, after the deployment', () => {
    const topic = one(dev, T.topic).inputs;
    assert.equal(topic.topicType, 'Microsoft.Resources.ResourceGroups');
    assert.equal(topic.location, 'global');
    assert.equal(topic.source, `${sub}/resourceGroups/aci-fleet-dev-servers`);
    assert.deepEqual(topic.identity, { type: 'SystemAssigned' });

    const subscription = one(dev, T.subscription);
    assert.ok(subscription.dependsOn.includes(one(dev, T.deploy).key), 'created only after the code is deployed');
    const s = subscription.inputs;
    assert.deepEqual(s.destination, { endpointType: 'AzureFunction', resourceId: `${appId}/functions/ACIMonitor`, maxEventsPerBatch: 1 });
    assert.deepEqual([...s.filter.includedEventTypes].sort(), [
      'Microsoft.Resources.ResourceDeleteFailure',
      'Microsoft.Resources.ResourceDeleteSuccess',
      'Microsoft.Resources.ResourceWriteFailure',
      'Microsoft.Resources.ResourceWriteSuccess',
    ]);
    assert.equal(
      s.filter.subjectBeginsWith,
      `${sub}/resourceGroups/aci-fleet-dev-servers/providers/Microsoft.ContainerInstance/containerGroups`,
    );
    assert.equal(s.filter.isSubjectCaseSensitive, false);
    assert.deepEqual(s.retryPolicy, { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 });
    assert.deepEqual(s.deadLetterWithResourceIdentity, {
      identity: { type: 'SystemAssigned' },
      deadLetterDestination: { endpointType: 'StorageBlob', resourceId: accountId, blobContainerName: 'eventgrid-deadletters' },
    });
  });

  it('lets each system topic write dead letters to the dead-letter container only', () => {
    const writer = ofType(dev, T.role).find((r) => r.inputs.principalId === 'principal-of-events-aci-fleet-dev-servers-topic');
    assert.ok(writer);
    assert.equal(roleGuid(writer.inputs.roleDefinitionId), ROLES.storageBlobDataContributor);
    assert.equal(writer.inputs.scope, `${accountId}/blobServices/default/containers/eventgrid-deadletters`);
    assert.ok(one(dev, T.subscription).dependsOn.includes(writer.key));
  });

  it('exports the URLs, names and the function key (as a secret)', () => {
    const o = dev.outputs;
    assert.equal(o.apiBaseUrl.value, 'https://aci-fleet-dev-abc123.azurewebsites.net/api');
    assert.equal(o.serverListUrl.value, 'https://aci-fleet-dev-abc123.azurewebsites.net/');
    assert.equal(o.openApiUrl.value, 'https://aci-fleet-dev-abc123.azurewebsites.net/api/openapi.json');
    assert.equal(o.appName.value, 'aci-fleet-dev-abc123');
    assert.equal(o.appResourceGroupName.value, 'aci-fleet-dev-app');
    assert.deepEqual(o.containerResourceGroupNames.value, ['aci-fleet-dev-servers']);
    assert.deepEqual(o.functionKey, { value: FUNCTION_KEY, secret: true });
    for (const [name, out] of Object.entries(o)) {
      if (name !== 'functionKey') assert.equal(out.secret, false, `${name} is not secret`);
    }
  });
});

describe('invalid configuration', () => {
  it('fails the program with the key named, before declaring any resource', () => {
    assert.match(invalid.error ?? '', /aci-fleet:autoscaler\.minimumInstances: must not exceed maximumInstances \(5 > 2\)/);
    assert.deepEqual(
      invalid.resources.filter((r) => r.type !== 'pulumi:pulumi:Stack').map((r) => r.key),
      [],
    );
  });
});
