// The whole program under Pulumi mocks: every resource the issue names exists with its settings,
// the app settings are keyless, roles are least-privilege, deterministic and granted before the
// app exists, providers are registered before anything else, the report-token secrets live in Key
// Vault, the fleet has its alerts and workbook, the smoke test runs last, and a stack that cannot
// work stops before declaring anything.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  APP_CLIENT_ID,
  APP_PRINCIPAL_ID,
  FUNCTION_KEY,
  SUBSCRIPTION_ID,
  TENANT_ID,
  baseConfig,
  ofType,
  one,
  recordInChild,
  type Recording,
} from './support/recording';
import { ROLES, BROAD_ROLES, appSettingsProblems, roleGuid } from '../../infra/invariants';
import { roleAssignmentName } from '../../infra/names';
import { CONTAINER_ROLE_ACTIONS } from '../../infra/containerRole';
import { RESOURCE_PROVIDERS } from '../../infra/resourceProviders';
import { LOG_ALERTS } from '../../infra/alerts';
import { WORKBOOK_PANELS } from '../../infra/workbook';
import { minimalTemplate } from './support/fleetBodies';

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
  identity: 'azure-native:managedidentity:UserAssignedIdentity',
  role: 'azure-native:authorization:RoleAssignment',
  roleDefinition: 'azure-native:authorization:RoleDefinition',
  vault: 'azure-native:keyvault:Vault',
  secret: 'azure-native:keyvault:Secret',
  password: 'random:index/randomPassword:RandomPassword',
  topic: 'azure-native:eventgrid:SystemTopic',
  subscription: 'azure-native:eventgrid:SystemTopicEventSubscription',
  logAlert: 'azure-native:monitor:ScheduledQueryRule',
  metricAlert: 'azure-native:monitor:MetricAlert',
  actionGroup: 'azure-native:monitor:ActionGroup',
  workbook: 'azure-native:applicationinsights:Workbook',
  deploy: 'pulumi-nodejs:dynamic/aci-fleet:OneDeploy',
  registration: 'pulumi-nodejs:dynamic/aci-fleet:ResourceProviderRegistration',
  smoke: 'pulumi-nodejs:dynamic/aci-fleet:SmokeTest',
};
const sub = `/subscriptions/${SUBSCRIPTION_ID}`;
const appRg = 'aci-fleet-dev-app';
const accountId = `${sub}/resourceGroups/${appRg}/providers/Microsoft.Storage/storageAccounts/stacifleetdevabc123`;
const appId = `${sub}/resourceGroups/${appRg}/providers/Microsoft.Web/sites/aci-fleet-dev-abc123`;
const identityId = `${sub}/resourceGroups/${appRg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aci-fleet-dev`;
const insightsId = `${sub}/resourceGroups/${appRg}/providers/Microsoft.Insights/components/monitoring-insights`;
const vaultId = `${sub}/resourceGroups/${appRg}/providers/Microsoft.KeyVault/vaults/kv-aci-fleet-dev-abc123`;

/** An ACICreate body without containerGroupName, in one of the `mixed` stack's groups. */
const template = minimalTemplate();

let dev: Recording;
let mixed: Recording;
let invalid: Recording;
let noFlex: Recording;

before(async () => {
  [dev, mixed, invalid, noFlex] = await Promise.all([
    recordInChild(baseConfig()),
    recordInChild(
      baseConfig({
        'aci-fleet:containerResourceGroups': JSON.stringify(['servers-a', { name: 'shared-servers', existing: true }]),
        'aci-fleet:serverListPublic': 'true',
        'aci-fleet:autoscaler': JSON.stringify({ enabled: true, policy: 'threshold', bufferPercent: 5, containerGroupTemplate: template }),
        'aci-fleet:allocation': JSON.stringify({ retryAfterSeconds: 2 }),
        'aci-fleet:alertEmail': 'ops@example.com',
        // In the middle of a rotation.
        'aci-fleet:reportTokenGeneration': '1',
      }),
    ),
    recordInChild(baseConfig({ 'aci-fleet:autoscaler': JSON.stringify({ minimumInstances: 5, maximumInstances: 2 }) })),
    // A region the fake's geoRegions does not list.
    recordInChild(baseConfig({ 'aci-fleet:location': 'francecentral', 'azure-native:location': 'francecentral' })),
  ]);
  for (const r of [dev, mixed]) assert.equal(r.error, undefined, `program failed: ${r.error}`);
});

const appRoles = (rec: Recording) => ofType(rec, T.role).filter((r) => r.inputs.principalId === APP_PRINCIPAL_ID);

describe('program graph', () => {
  it('groups every resource under one component per concern', () => {
    const components = dev.resources.filter((r) => r.type.startsWith('aci-fleet:infra:')).map((r) => r.type.split(':')[2]);
    assert.deepEqual(components.sort(), [
      'AppAccess',
      'AppIdentity',
      'CodeDeployment',
      'ContainerEvents',
      'ContainerRole',
      'FleetAlerts',
      'FleetStorage',
      'FleetWorkbook',
      'FunctionApp',
      'Monitoring',
      'ReportTokenSecrets',
      'ResourceGroups',
      'ResourceProviders',
      'RuntimeBundle',
      'SmokeTest',
      'StackFleets',
    ]);
    const orphans = dev.resources.filter(
      (r) => (r.type.startsWith('azure-native:') || r.type.startsWith('pulumi-nodejs:')) && !r.parent?.startsWith('aci-fleet:infra:'),
    );
    assert.deepEqual(
      orphans.map((r) => r.key),
      [],
    );
  });

  it('calls only the invokes it is expected to (unmocked ones fail the run), and no list of keys while previewing', () => {
    assert.deepEqual([...new Set(dev.calls)].sort(), [
      'azure-native:authorization:getClientConfig',
      'azure-native:authorization:getClientToken',
    ]);
  });

  it('registers every resource provider it uses, and creates the resource groups only after them', () => {
    const registrations = ofType(dev, T.registration);
    assert.deepEqual(registrations.map((r) => r.inputs.namespace).sort(), Object.keys(RESOURCE_PROVIDERS).sort());
    for (const ns of [
      'Microsoft.ContainerInstance',
      'Microsoft.EventGrid',
      'Microsoft.Web',
      'Microsoft.Storage',
      'Microsoft.KeyVault',
      'Microsoft.Insights',
      'Microsoft.OperationalInsights',
    ]) {
      assert.ok(
        registrations.some((r) => r.inputs.namespace === ns),
        ns,
      );
    }
    for (const r of registrations) {
      assert.equal(r.inputs.subscriptionId, SUBSCRIPTION_ID);
      assert.ok(r.secretInputs.includes('token'), 'the ARM token is a secret');
    }
    const keys = registrations.map((r) => r.key).sort();
    for (const rg of ofType(dev, T.rg)) assert.deepEqual([...rg.dependsOn].sort(), keys, rg.name);
    // A topic may be in an existing group, which the stack does not create: it waits itself.
    for (const topic of ofType(mixed, T.topic)) {
      assert.deepEqual(
        [...topic.dependsOn].sort(),
        ofType(mixed, T.registration)
          .map((r) => r.key)
          .sort(),
      );
    }
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
    const aci = appRoles(mixed).filter((r) => r.name.startsWith('access-aci-'));
    assert.deepEqual(aci.map((r) => r.inputs.scope).sort(), [`${sub}/resourceGroups/servers-a`, `${sub}/resourceGroups/shared-servers`]);
    assert.equal(ofType(mixed, T.topic).length, 2);
  });

  it('makes a keyless storage account (no shared key, no public blobs, TLS 1.2, HTTPS, public endpoint stated)', () => {
    const account = one(dev, T.account).inputs;
    assert.equal(account.allowSharedKeyAccess, false);
    assert.equal(account.allowBlobPublicAccess, false);
    assert.equal(account.minimumTlsVersion, 'TLS1_2');
    assert.equal(account.enableHttpsTrafficOnly, true);
    assert.equal(account.publicNetworkAccess, 'Enabled');
    assert.equal(account.kind, 'StorageV2');
    assert.match(account.accountName, /^[a-z0-9]{3,24}$/);
  });

  it('creates the servers, demand and fleets tables and private containers for the package, the autoscaler state and dead letters', () => {
    assert.deepEqual(
      ofType(dev, T.table)
        .map((r) => r.inputs.tableName)
        .sort(),
      ['ACIDetails', 'FleetDemand', 'FleetSpecs'],
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

  it('runs the app on Flex Consumption as its user-assigned identity: Node 22, HTTPS only, package and Key Vault by that identity', () => {
    const plan = one(dev, T.plan).inputs;
    assert.deepEqual(plan.sku, { name: 'FC1', tier: 'FlexConsumption' });
    assert.equal(plan.reserved, true);
    const app = one(dev, T.app).inputs;
    assert.equal(app.kind, 'functionapp,linux');
    assert.equal(app.httpsOnly, true);
    assert.deepEqual(app.identity, { type: 'UserAssigned', userAssignedIdentities: [identityId] });
    assert.equal(app.keyVaultReferenceIdentity, identityId);
    assert.equal(app.siteConfig, undefined, 'siteConfig would bring netFrameworkVersion, which Flex rejects');
    assert.deepEqual(app.functionAppConfig, {
      deployment: {
        storage: {
          type: 'blobContainer',
          value: 'https://stacifleetdevabc123.blob.core.windows.net/app-package',
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId },
        },
      },
      runtime: { name: 'node', version: '22' },
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 },
    });
    assert.equal(one(dev, T.scmBasicAuth).inputs.allow, false);
    assert.equal(one(dev, T.ftpBasicAuth).inputs.allow, false);
  });

  it('creates the app only after its identity holds every role it needs', () => {
    const app = one(dev, T.app);
    assert.deepEqual(
      [...app.dependsOn].sort(),
      appRoles(dev)
        .map((r) => r.key)
        .sort(),
    );
    assert.equal(one(dev, T.identity).inputs.resourceName, 'id-aci-fleet-dev');
  });

  it('gives the runtime what the stack made, in identity-based app settings, as a secret, and leaves the rest to its defaults', () => {
    const settingsResource = one(dev, T.settings);
    const s = settingsResource.inputs.properties as Record<string, string>;
    assert.deepEqual(settingsResource.secretInputs, ['properties'], 'a template may hold secure values set as secrets');
    assert.deepEqual(appSettingsProblems(s), []);
    assert.deepEqual(
      Object.keys(s).sort(),
      [
        'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
        'AUTOSCALER_ENABLED',
        'AUTOSCALER_STATE_CONTAINER',
        'AZURE_CLIENT_ID',
        'AZURE_SUBSCRIPTION_ID',
        'AzureWebJobsDisableHomepage',
        'AzureWebJobsStorage__accountName',
        'AzureWebJobsStorage__blobServiceUri',
        'AzureWebJobsStorage__clientId',
        'AzureWebJobsStorage__credential',
        'AzureWebJobsStorage__queueServiceUri',
        'AzureWebJobsStorage__tableServiceUri',
        'FLEET_DEMAND_TABLE_NAME',
        'FLEET_FLEETS_TABLE_NAME',
        'FLEET_LIST_PUBLIC',
        'FLEET_NAME',
        'FLEET_PUBLIC_URL',
        'FLEET_RESOURCE_GROUPS',
        'FLEET_TABLE_NAME',
        'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT',
        'REPORT_TOKEN_SECRET',
      ].sort(),
    );
    assert.equal(s.AzureWebJobsStorage__accountName, 'stacifleetdevabc123');
    assert.equal(s.AzureWebJobsStorage__credential, 'managedidentity');
    assert.equal(s.AzureWebJobsStorage__clientId, APP_CLIENT_ID);
    assert.equal(s.AZURE_CLIENT_ID, APP_CLIENT_ID);
    assert.equal(s.AzureWebJobsStorage__blobServiceUri, 'https://stacifleetdevabc123.blob.core.windows.net');
    assert.equal(s.AzureWebJobsStorage__queueServiceUri, 'https://stacifleetdevabc123.queue.core.windows.net');
    assert.equal(s.AzureWebJobsStorage__tableServiceUri, 'https://stacifleetdevabc123.table.core.windows.net');
    assert.equal(s.APPLICATIONINSIGHTS_AUTHENTICATION_STRING, `ClientId=${APP_CLIENT_ID};Authorization=AAD`);
    assert.equal(s.FLEET_NAME, 'aci-fleet-dev');
    assert.equal(s.FLEET_TABLE_NAME, 'ACIDetails');
    assert.equal(s.FLEET_DEMAND_TABLE_NAME, 'FleetDemand');
    assert.equal(s.FLEET_FLEETS_TABLE_NAME, 'FleetSpecs');
    assert.equal(s.AzureWebJobsDisableHomepage, 'true', 'ServerPage is at `/`, not the platform landing page');
    assert.equal(s.FUNCTIONS_REQUEST_BODY_SIZE_LIMIT, '1048576', 'the host reads no body larger than a function takes');
    assert.equal(s.AZURE_SUBSCRIPTION_ID, SUBSCRIPTION_ID);
    assert.equal(s.FLEET_RESOURCE_GROUPS, 'aci-fleet-dev-servers');
    assert.equal(s.FLEET_PUBLIC_URL, 'https://aci-fleet-dev-abc123.azurewebsites.net');
    assert.equal(s.FLEET_LIST_PUBLIC, 'false');
    assert.equal(s.AUTOSCALER_ENABLED, 'false');
    assert.equal(s.AUTOSCALER_STATE_CONTAINER, 'autoscaler-state');
    for (const forbidden of [
      'AzureWebJobsStorage',
      'FUNCTIONS_WORKER_RUNTIME',
      'WEBSITE_RUN_FROM_PACKAGE',
      'WEBSITE_NODE_DEFAULT_VERSION',
    ]) {
      assert.ok(!(forbidden in s), forbidden);
    }
    assert.ok(Object.values(s).every((v) => !/AccountKey=|SharedAccessSignature=|DefaultEndpointsProtocol=/i.test(v)));
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
});

describe('roles', () => {
  it('grants the app identity exactly its least-privilege roles, on the narrowest scopes', () => {
    const containerRole = one(dev, T.roleDefinition);
    const containerRoleId = `${sub}/providers/Microsoft.Authorization/roleDefinitions/${containerRole.inputs.roleDefinitionId}`;
    const grants = appRoles(dev).map((r) => [r.inputs.roleDefinitionId, r.inputs.scope]);
    const builtIn = (guid: string) => `${sub}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
    assert.deepEqual(
      grants.sort(),
      [
        [builtIn(ROLES.storageTableDataContributor), `${accountId}/tableServices/default`],
        [builtIn(ROLES.monitoringMetricsPublisher), insightsId],
        [builtIn(ROLES.storageQueueDataContributor), accountId],
        [builtIn(ROLES.storageBlobDataOwner), accountId],
        [builtIn(ROLES.keyVaultSecretsUser), vaultId],
        [containerRoleId, `${sub}/resourceGroups/aci-fleet-dev-servers`],
      ].sort(),
    );
    for (const r of ofType(dev, T.role)) {
      assert.ok(r.inputs.roleDefinitionId.startsWith(`${sub}/providers/Microsoft.Authorization/roleDefinitions/`));
      assert.ok(!(roleGuid(r.inputs.roleDefinitionId) in BROAD_ROLES), `${r.name} grants a broad role`);
      assert.notEqual(roleGuid(r.inputs.roleDefinitionId), ROLES.containerInstancesContributor, 'the built-in ACI role allows exec');
    }
  });

  it('names every role assignment after its scope, principal and role, states the principal type, and replaces by deleting first', () => {
    const assignments = [...ofType(dev, T.role), ...ofType(mixed, T.role)];
    assert.ok(assignments.length >= 8);
    for (const r of assignments) {
      assert.equal(r.inputs.roleAssignmentName, roleAssignmentName(r.inputs.scope, r.inputs.principalId, r.inputs.roleDefinitionId), r.key);
      assert.equal(r.inputs.principalType, 'ServicePrincipal', r.key);
    }
    // The same grant in two runs of the program has the same name: lost state finds it again.
    const name = (rec: Recording) => ofType(rec, T.role).find((r) => r.name === 'access-blob-data-owner')!.inputs.roleAssignmentName;
    assert.equal(name(dev), name(mixed));
    assert.equal(new Set(assignments.map((r) => `${r.inputs.roleAssignmentName}`)).size, new Set(assignments.map((r) => r.key)).size);
  });

  it("defines the fleet's own container role: what the runtime does to container groups, on the container groups only", () => {
    const role = one(mixed, T.roleDefinition).inputs;
    assert.equal(role.scope, sub);
    assert.equal(role.roleType, 'CustomRole');
    assert.match(role.roleDefinitionId, /^[0-9a-f-]{36}$/);
    assert.equal(role.roleDefinitionId, one(dev, T.roleDefinition).inputs.roleDefinitionId, 'fixed by the fleet and subscription');
    assert.match(role.roleName, /aci-fleet-dev/);
    assert.deepEqual(role.permissions, [
      { actions: Object.keys(CONTAINER_ROLE_ACTIONS), notActions: [], dataActions: [], notDataActions: [] },
    ]);
    assert.deepEqual([...role.assignableScopes].sort(), [`${sub}/resourceGroups/servers-a`, `${sub}/resourceGroups/shared-servers`]);
    for (const action of role.permissions[0].actions as string[]) {
      assert.ok(!action.includes('*') && !/exec|attach/.test(action), action);
    }
  });

  it('lets each system topic write dead letters to the dead-letter container only', () => {
    const writer = ofType(dev, T.role).find((r) => r.inputs.principalId === 'principal-of-events-aci-fleet-dev-servers-topic');
    assert.ok(writer);
    assert.equal(roleGuid(writer.inputs.roleDefinitionId), ROLES.storageBlobDataContributor);
    assert.equal(writer.inputs.scope, `${accountId}/blobServices/default/containers/eventgrid-deadletters`);
    assert.ok(one(dev, T.subscription).dependsOn.includes(writer.key));
  });
});

describe('report-token secrets', () => {
  const reference = (rec: Recording, slot: string) => {
    const secret = ofType(rec, T.secret).find((r) => r.inputs.secretName === `report-token-${slot}`)!;
    return `@Microsoft.KeyVault(SecretUri=https://${secret.inputs.vaultName}.vault.azure.net/secrets/report-token-${slot}/v-`;
  };

  it('keeps the secret in an RBAC vault, read by the app through a versioned Key Vault reference', () => {
    const vault = one(dev, T.vault).inputs;
    assert.equal(vault.properties.enableRbacAuthorization, true);
    assert.equal(vault.properties.tenantId, TENANT_ID);
    assert.equal(vault.properties.accessPolicies, undefined);
    assert.equal(vault.vaultName, 'kv-aci-fleet-dev-abc123');
    const passwords = ofType(dev, T.password);
    assert.deepEqual(
      passwords.map((p) => [p.name, p.inputs.length, p.inputs.special, p.inputs.keepers]),
      [['report-tokens-a', 48, false, undefined]],
    );
    // The same inputs as the top-level secret stacks had before Key Vault: upgrading keeps its value.
    assert.deepEqual(passwords[0].aliases, [{ name: 'report-token-secret', noParent: true }]);
    const secret = one(dev, T.secret);
    assert.equal(secret.inputs.secretName, 'report-token-a');
    assert.equal(secret.inputs.properties.value, 'p'.repeat(48));
    const s = one(dev, T.settings).inputs.properties as Record<string, string>;
    assert.ok(s.REPORT_TOKEN_SECRET.startsWith(reference(dev, 'a')), s.REPORT_TOKEN_SECRET);
    assert.ok(!('REPORT_TOKEN_SECRET_PREVIOUS' in s));
  });

  it('during a rotation, makes a new secret and keeps the one before it as REPORT_TOKEN_SECRET_PREVIOUS', () => {
    const passwords = ofType(mixed, T.password).map((p) => [p.name, p.inputs.keepers]);
    assert.deepEqual(passwords.sort(), [
      ['report-tokens-a', undefined],
      ['report-tokens-b', { generation: '1' }],
    ]);
    const s = one(mixed, T.settings).inputs.properties as Record<string, string>;
    assert.ok(s.REPORT_TOKEN_SECRET.startsWith(reference(mixed, 'b')), s.REPORT_TOKEN_SECRET);
    assert.ok(s.REPORT_TOKEN_SECRET_PREVIOUS.startsWith(reference(mixed, 'a')), s.REPORT_TOKEN_SECRET_PREVIOUS);
  });
});

describe('deployment and events', () => {
  it('deploys the bundle after the settings, waiting for ACIMonitor', () => {
    const deploy = one(dev, T.deploy);
    assert.deepEqual(deploy.dependsOn, [one(dev, T.settings).key]);
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
      'Microsoft.Resources.ResourceActionSuccess',
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
});

describe('operations', () => {
  it('alerts on failed servers, the NoCapacity rate and function errors, from Application Insights, with no one to mail by default', () => {
    const rules = ofType(dev, T.logAlert);
    assert.deepEqual(rules.map((r) => r.inputs.ruleName).sort(), LOG_ALERTS.map((a) => `aci-fleet-dev-${a.key}`).sort());
    for (const r of rules) {
      assert.deepEqual(r.inputs.scopes, [insightsId]);
      assert.equal(r.inputs.kind, 'LogAlert');
      assert.equal(r.inputs.enabled, true);
      assert.equal(r.inputs.location, 'westeurope');
      const [condition] = r.inputs.criteria.allOf;
      const alert = LOG_ALERTS.find((a) => r.inputs.ruleName.endsWith(a.key))!;
      assert.equal(condition.query, alert.query);
      assert.equal(condition.metricMeasureColumn, alert.measure);
      assert.deepEqual(r.inputs.actions, { actionGroups: [] });
    }
    assert.equal(ofType(dev, T.actionGroup).length, 0);
  });

  it('alerts on dead-lettered Event Grid deliveries of every container resource group', () => {
    const alerts = ofType(mixed, T.metricAlert);
    assert.deepEqual(
      alerts.map((a) => a.inputs.scopes[0]).sort(),
      ofType(mixed, T.topic)
        .map((t) => `${sub}/resourceGroups/${t.inputs.resourceGroupName}/providers/Microsoft.EventGrid/systemTopics/${t.name}`)
        .sort(),
    );
    for (const a of alerts) {
      const [criterion] = a.inputs.criteria.allOf;
      assert.equal(criterion.metricNamespace, 'Microsoft.EventGrid/systemTopics');
      assert.equal(criterion.metricName, 'DeadLetteredCount');
      assert.equal(criterion.operator, 'GreaterThan');
      assert.equal(criterion.threshold, 0);
    }
  });

  it('mails every alert to the address the stack names, through one action group', () => {
    const group = one(mixed, T.actionGroup);
    assert.deepEqual(group.inputs.emailReceivers, [{ name: 'operators', emailAddress: 'ops@example.com', useCommonAlertSchema: true }]);
    assert.equal(group.inputs.actionGroupName, 'ag-aci-fleet-dev');
    const id = `${group.name}-id`; // the mocks' id of the action group
    for (const r of ofType(mixed, T.logAlert)) assert.deepEqual(r.inputs.actions.actionGroups, [id], r.name);
    for (const a of ofType(mixed, T.metricAlert)) assert.deepEqual(a.inputs.actions, [{ actionGroupId: id }], a.name);
  });

  it('has a workbook with the servers by state, sessions against capacity, allocation misses and autoscaler actions', () => {
    const workbook = one(dev, T.workbook).inputs;
    assert.equal(workbook.kind, 'shared');
    assert.equal(workbook.category, 'workbook');
    assert.equal(workbook.sourceId, insightsId.toLowerCase());
    assert.match(workbook.resourceName, /^[0-9a-f-]{36}$/);
    const content = JSON.parse(workbook.serializedData) as {
      version: string;
      items: Array<{ type: number; content: { title?: string; query?: string } }>;
    };
    assert.equal(content.version, 'Notebook/1.0');
    const titles = content.items.filter((i) => i.type === 3).map((i) => i.content.title);
    assert.deepEqual(
      titles,
      WORKBOOK_PANELS.map((p) => p.title),
    );
    for (const wanted of [/servers by state/i, /sessions against capacity/i, /allocation misses/i, /autoscaler actions/i]) {
      assert.ok(
        titles.some((t) => wanted.test(t ?? '')),
        String(wanted),
      );
    }
  });

  it('runs the smoke test last: after the deployment and every event subscription, with what it checks', () => {
    const smoke = one(mixed, T.smoke);
    assert.deepEqual([...smoke.dependsOn].sort(), [one(mixed, T.deploy).key, ...ofType(mixed, T.subscription).map((s) => s.key)].sort());
    assert.equal(smoke.inputs.appResourceId, appId);
    assert.equal(smoke.inputs.openApiUrl, 'https://aci-fleet-dev-abc123.azurewebsites.net/api/openapi.json');
    assert.equal(smoke.inputs.apiBaseUrl, 'https://aci-fleet-dev-abc123.azurewebsites.net/api');
    assert.equal(smoke.inputs.listPublic, true);
    assert.equal(one(dev, T.smoke).inputs.listPublic, false);
    assert.equal(smoke.inputs.eventSubscriptionIds.length, 2);
    for (const id of smoke.inputs.eventSubscriptionIds as string[])
      assert.match(id, /\/providers\/Microsoft\.EventGrid\/systemTopics\/.+\/eventSubscriptions\/aci-monitor$/);
    assert.ok(smoke.secretInputs.includes('token'));
  });

  it('exports the URLs, names, what the smoke test passed, and the function key (as a secret)', () => {
    const o = dev.outputs;
    assert.equal(o.apiBaseUrl.value, 'https://aci-fleet-dev-abc123.azurewebsites.net/api');
    assert.equal(o.serverListUrl.value, 'https://aci-fleet-dev-abc123.azurewebsites.net/');
    assert.equal(o.openApiUrl.value, 'https://aci-fleet-dev-abc123.azurewebsites.net/api/openapi.json');
    assert.equal(o.appName.value, 'aci-fleet-dev-abc123');
    assert.equal(o.appResourceGroupName.value, 'aci-fleet-dev-app');
    assert.equal(o.keyVault.value, 'kv-aci-fleet-dev-abc123');
    assert.deepEqual(o.containerResourceGroupNames.value, ['aci-fleet-dev-servers']);
    assert.deepEqual(o.functionKey, { value: FUNCTION_KEY, secret: true });
    assert.deepEqual(o.fleetRevisions, { value: {}, secret: false }, 'no fleets in the stack file: none written');
    assert.equal(ofType(dev, 'pulumi-nodejs:dynamic/aci-fleet:Fleet').length, 0);
    for (const [name, out] of Object.entries(o)) {
      if (name !== 'functionKey') assert.equal(out.secret, false, `${name} is not secret`);
    }
  });
});

describe('a stack that cannot work', () => {
  const declared = (rec: Recording) => rec.resources.filter((r) => r.type !== 'pulumi:pulumi:Stack').map((r) => r.key);

  it('fails the program with the key named, before declaring any resource (a bad value)', () => {
    assert.match(invalid.error ?? '', /aci-fleet:autoscaler\.minimumInstances: must not exceed maximumInstances \(5 > 2\)/);
    assert.deepEqual(declared(invalid), []);
  });

  it('fails the program with the region named, before declaring any resource (a region without Flex Consumption)', () => {
    assert.match(noFlex.error ?? '', /aci-fleet:location: francecentral does not offer Flex Consumption \(regions that do: .*westeurope/);
    assert.deepEqual(declared(noFlex), []);
  });
});
