// Runs the Pulumi program (infra/index.ts) under mocks in this process and records the resource
// graph: every resource's type, name, resolved inputs (and which were secret), parent and explicit
// dependencies, and the stack outputs. Run as a script by recordInChild (./recording.ts), it reads
// the config from ACI_FLEET_TEST_CONFIG and prints the recording after a marker line. What the
// program asks ARM itself (preflight) goes to the local fake (./fakeAzure.ts), scripted by
// ACI_FLEET_TEST_ARM.
import * as pulumi from '@pulumi/pulumi';
import { specialSecretSig, specialSigKey } from '@pulumi/pulumi/runtime/rpc';
import { ARM_URL } from '../../../infra/deploy/armToken';
import { startFakeAzure, type FakeScript } from './fakeAzure';
import {
  APP_CLIENT_ID,
  APP_PRINCIPAL_ID,
  FUNCTION_KEY,
  SUBSCRIPTION_ID,
  TENANT_ID,
  type RecordedResource,
  type Recording,
} from './recording';

const sub = `/subscriptions/${SUBSCRIPTION_ID}`;

/** Azure-like ids and computed outputs for the resources the program creates. */
function mockResource(type: string, name: string, inputs: any): { id: string; state: Record<string, unknown> } {
  const rg = inputs.resourceGroupName ?? 'rg';
  const under = (provider: string, n: string) => `${sub}/resourceGroups/${rg}/providers/${provider}/${n}`;
  switch (type) {
    case 'azure-native:resources:ResourceGroup': {
      const n = inputs.resourceGroupName ?? name;
      return { id: `${sub}/resourceGroups/${n}`, state: { ...inputs, name: n } };
    }
    case 'azure-native:storage:StorageAccount': {
      const n = inputs.accountName;
      const ep = (svc: string) => `https://${n}.${svc}.core.windows.net/`;
      return {
        id: under('Microsoft.Storage/storageAccounts', n),
        state: { ...inputs, name: n, primaryEndpoints: { blob: ep('blob'), queue: ep('queue'), table: ep('table') } },
      };
    }
    case 'azure-native:storage:BlobContainer':
      return {
        id: under(`Microsoft.Storage/storageAccounts/${inputs.accountName}/blobServices/default/containers`, inputs.containerName),
        state: { ...inputs, name: inputs.containerName },
      };
    case 'azure-native:storage:Table':
      return { id: `${name}-id`, state: { ...inputs, name: inputs.tableName } };
    case 'azure-native:applicationinsights:Component':
      return {
        id: under('Microsoft.Insights/components', name),
        state: {
          ...inputs,
          name,
          connectionString:
            'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/',
        },
      };
    case 'azure-native:web:WebApp': {
      const host = `${inputs.name}.azurewebsites.net`;
      return {
        id: under('Microsoft.Web/sites', inputs.name),
        state: {
          ...inputs,
          defaultHostName: host,
          identity: { type: 'UserAssigned', userAssignedIdentities: { [inputs.identity?.userAssignedIdentities?.[0] ?? '?']: {} } },
          hostNameSslStates: [
            { name: host, hostType: 'Standard' },
            { name: `${inputs.name}.scm.azurewebsites.net`, hostType: 'Repository' },
          ],
        },
      };
    }
    case 'azure-native:managedidentity:UserAssignedIdentity':
      return {
        id: under('Microsoft.ManagedIdentity/userAssignedIdentities', inputs.resourceName),
        state: { ...inputs, name: inputs.resourceName, principalId: APP_PRINCIPAL_ID, clientId: APP_CLIENT_ID, tenantId: TENANT_ID },
      };
    case 'azure-native:authorization:RoleDefinition':
      return {
        id: `${inputs.scope}/providers/Microsoft.Authorization/roleDefinitions/${inputs.roleDefinitionId}`,
        state: { ...inputs, name: inputs.roleDefinitionId },
      };
    case 'azure-native:keyvault:Vault':
      return {
        id: under('Microsoft.KeyVault/vaults', inputs.vaultName),
        state: {
          ...inputs,
          name: inputs.vaultName,
          properties: { ...inputs.properties, vaultUri: `https://${inputs.vaultName}.vault.azure.net/` },
        },
      };
    case 'azure-native:keyvault:Secret': {
      const uri = `https://${inputs.vaultName}.vault.azure.net/secrets/${inputs.secretName}`;
      return {
        id: under(`Microsoft.KeyVault/vaults/${inputs.vaultName}/secrets`, inputs.secretName),
        // The version changes with the value, as Key Vault's does.
        state: {
          ...inputs,
          name: inputs.secretName,
          properties: { ...inputs.properties, secretUri: uri, secretUriWithVersion: `${uri}/v-${versionOf(inputs.properties?.value)}` },
        },
      };
    }
    case 'azure-native:eventgrid:SystemTopicEventSubscription':
      return {
        id: under(`Microsoft.EventGrid/systemTopics/${inputs.systemTopicName}/eventSubscriptions`, inputs.eventSubscriptionName),
        state: { ...inputs, name: inputs.eventSubscriptionName, provisioningState: 'Succeeded' },
      };
    case 'pulumi-nodejs:dynamic/aci-fleet:SmokeTest':
      return { id: `${inputs.appResourceId}/smoke-test`, state: { ...inputs, functionKey: FUNCTION_KEY, passed: ['(mocked)'] } };
    case 'pulumi-nodejs:dynamic/aci-fleet:ResourceProviderRegistration':
      return { id: `${sub}/providers/${inputs.namespace}`, state: { ...inputs, registrationState: 'Registered' } };
    case 'azure-native:eventgrid:SystemTopic':
      return {
        id: under('Microsoft.EventGrid/systemTopics', name),
        state: { ...inputs, name: `${name}-1234`, identity: { type: 'SystemAssigned', principalId: `principal-of-${name}` } },
      };
    case 'random:index/randomString:RandomString':
      return { id: name, state: { ...inputs, result: 'abc123' } };
    case 'random:index/randomPassword:RandomPassword':
      return { id: name, state: { ...inputs, result: 'p'.repeat(inputs.length ?? 32) } };
    case 'pulumi-nodejs:dynamic/aci-fleet:Fleet':
      return { id: `${inputs.apiBaseUrl}/fleets/${inputs.name}`, state: { ...inputs, revision: 1 } };
    case 'pulumi-nodejs:dynamic/aci-fleet:OneDeploy':
      return {
        id: `${inputs.appResourceId}/deployments/aci-fleet`,
        state: { ...inputs, deploymentId: 'deployment-1', indexedFunctions: ['ACIMonitor'] },
      };
    default:
      return { id: `${name}-id`, state: { ...inputs, name } };
  }
}

/** A short stand-in for a secret version id, different for each value. */
function versionOf(value: unknown): string {
  let h = 0;
  for (const c of JSON.stringify(value ?? '')) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(16);
}

/** Invokes the program may make; any other one fails the test (an unmocked Output invoke would hang). */
function mockCall(token: string, inputs: any): Record<string, unknown> {
  switch (token) {
    case 'azure-native:authorization:getClientConfig':
      return { subscriptionId: SUBSCRIPTION_ID, tenantId: TENANT_ID, clientId: 'client', objectId: 'deployer' };
    case 'azure-native:authorization:getClientToken':
      return { token: 'arm-token-for-tests' };
    case 'azure-native:resources:getResourceGroup':
      return {
        id: `${sub}/resourceGroups/${inputs.resourceGroupName}`,
        name: inputs.resourceGroupName,
        location: 'westeurope',
        properties: { provisioningState: 'Succeeded' },
        type: 'Microsoft.Resources/resourceGroups',
        azureApiVersion: '2024-03-01',
      };
    default:
      throw new Error(`unmocked invoke ${token}(${JSON.stringify(inputs)})`);
  }
}

/** Mocks see secrets as `{ <sig>: <secret sig>, value }`: unwrap them and say which top-level inputs were. */
function unwrapSecrets(inputs: Record<string, any>): { plain: Record<string, any>; secrets: string[] } {
  const isSecret = (v: any) => v && typeof v === 'object' && v[specialSigKey] === specialSecretSig;
  const deep = (v: any): any => {
    if (isSecret(v)) return deep(v.value);
    if (Array.isArray(v)) return v.map(deep);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)]));
    return v;
  };
  const secrets = Object.entries(inputs ?? {})
    .filter(([, v]) => isSecret(v))
    .map(([k]) => k);
  return { plain: deep(inputs ?? {}), secrets };
}

function settle<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Sends what the program asks ARM directly (not through the provider) to the fake instead. */
async function armToFake(script: FakeScript): Promise<() => Promise<void>> {
  const fake = await startFakeAzure(script);
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((url: string | URL | Request, init?: RequestInit) => {
    const text = String(url instanceof Request ? url.url : url);
    return realFetch(text.startsWith(ARM_URL) ? fake.url + text.slice(ARM_URL.length) : url, init);
  }) as typeof fetch;
  return fake.close;
}

/** Runs infra/index.ts in this process (once per process) and records it. */
export async function record(
  config: Record<string, string>,
  stack = 'dev',
  arm: FakeScript = {},
  secretKeys: string[] = [],
): Promise<Recording> {
  const closeFake = await armToFake(arm);
  const resources = new Map<string, RecordedResource>();
  const byObject = new Map<pulumi.Resource, string>();
  const options = new Map<string, { dependsOn: unknown; parent?: pulumi.Resource; aliases?: unknown[] }>();
  const calls: string[] = [];
  const warnings: string[] = [];
  const warn = pulumi.log.warn;
  pulumi.log.warn = (message, ...rest) => {
    warnings.push(message);
    return warn(message, ...rest);
  };

  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const key = `${args.type}::${args.name}`;
        const { plain, secrets } = unwrapSecrets(args.inputs);
        const { id, state } = mockResource(args.type, args.name, plain);
        const entry = resources.get(key) ?? { type: args.type, name: args.name, key, inputs: {}, secretInputs: [], dependsOn: [] };
        entry.inputs = plain;
        entry.secretInputs = secrets;
        resources.set(key, entry);
        return { id, state };
      },
      call: (args) => {
        calls.push(args.token);
        return mockCall(args.token, args.inputs);
      },
    },
    'aci-fleet',
    stack,
    false,
  );

  const outputs: Recording['outputs'] = {};
  let error: string | undefined;
  try {
    let exported: Record<string, unknown> = {};
    await pulumi.runtime.runInPulumiStack(async () => {
      // Sees every resource with its options (the mocks only see inputs).
      pulumi.runtime.registerStackTransformation((args) => {
        const key = `${args.type}::${args.name}`;
        byObject.set(args.resource, key);
        options.set(key, { dependsOn: args.opts.dependsOn, parent: args.opts.parent, aliases: args.opts.aliases as unknown[] | undefined });
        if (!resources.has(key)) {
          resources.set(key, { type: args.type, name: args.name, key, inputs: {}, secretInputs: [], dependsOn: [] });
        }
        return undefined;
      });
      // The program is a function; what it returns is the stack outputs, as Outputs.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const program = require('../../../infra/index') as () => Promise<Record<string, unknown>>;
      exported = { ...(await program()) };
      return exported;
    });

    await Promise.all([...byObject.keys()].map((r) => settle(r.urn)));
    for (const [name, value] of Object.entries(exported)) {
      if (name === 'default' || name === '__esModule') continue;
      if (pulumi.Output.isInstance(value)) {
        outputs[name] = { value: await settle(value), secret: await pulumi.isSecret(value) };
      } else {
        outputs[name] = { value, secret: false };
      }
    }
  } catch (e) {
    error = (e as Error).message;
  }

  for (const [key, opt] of options) {
    const r = resources.get(key)!;
    const deps = await settle(pulumi.output(opt.dependsOn as pulumi.Input<pulumi.Resource[]>)).catch(() => []);
    const list = (Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[];
    r.dependsOn = list.map((d) => byObject.get(d) ?? '?');
    if (opt.parent) r.parent = byObject.get(opt.parent);
    // `{ parent: pulumi.rootStackResource }` (undefined) says the old resource had no parent.
    const aliases = (opt.aliases ?? []).filter((a): a is { name?: string; parent?: unknown } => typeof a === 'object' && a !== null);
    if (aliases.length > 0)
      r.aliases = aliases.map((a) => ({ name: a.name, noParent: Object.hasOwn(a, 'parent') && a.parent === undefined }));
  }
  await closeFake();
  return { resources: [...resources.values()], calls, outputs, error, warnings };
}

if (require.main === module) {
  const config = JSON.parse(process.env.ACI_FLEET_TEST_CONFIG ?? '{}') as Record<string, string>;
  const arm = JSON.parse(process.env.ACI_FLEET_TEST_ARM ?? '{}') as FakeScript;
  const secretKeys = JSON.parse(process.env.ACI_FLEET_TEST_SECRET_KEYS ?? '[]') as string[];
  record(config, process.env.ACI_FLEET_TEST_STACK ?? 'dev', arm, secretKeys).then(
    (recording) => {
      // Pulumi's runtime keeps handles open: exit once the recording is written (a pipe may take it in parts).
      process.stdout.write(`\n@@RECORDING@@${JSON.stringify(recording)}`, () => process.exit(0));
    },
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
