// The policy pack's rules against the resources the program records: the stack as built passes
// every rule (resource and stack rules alike), and each rule catches the mistake it exists for.
// Then the pack itself is started the way `pulumi preview --policy-pack infra/policy` starts it.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from '@pulumi/policy';
import {
  TAGGED_TYPES,
  appInsightsEntraOnly,
  appSettingsKeyless,
  basicAuthOff,
  basicAuthOffForEveryApp,
  eventGridDeadLetter,
  eventGridSubjectFilter,
  fleetResourceGroups,
  functionAppHttps,
  isAzureType,
  noBroadRoles,
  policies,
  requiredTags,
  rolePrincipalType,
  roleScopesInFleet,
  storageKeyless,
  storagePublicNetwork,
  storageTls,
} from '../../infra/policy/rules';
import { baseConfig, one, recordInChild, type RecordedResource, type Recording } from './support/recording';

/** Runs a policy's resource validations on one resource, as the policy host would. */
function violations(policy: ResourceValidationPolicy, r: Pick<RecordedResource, 'type' | 'name' | 'inputs'>): string[] {
  const found: string[] = [];
  const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
  const args = {
    type: r.type,
    name: r.name,
    urn: `urn:pulumi:dev::aci-fleet::${r.type}::${r.name}`,
    props: r.inputs,
    opts: { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], customTimeouts: {} },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: () => ({}),
    notApplicable: () => {
      throw new Error('not applicable');
    },
  } as unknown as ResourceValidationArgs;
  for (const validate of validations) validate(args, (message) => found.push(message));
  return found;
}

const isResourcePolicy = (p: ResourceValidationPolicy | StackValidationPolicy): p is ResourceValidationPolicy => 'validateResource' in p;

/** Runs a stack policy on a whole stack, as the policy host would after a preview. */
function stackViolations(policy: StackValidationPolicy, resources: Array<Pick<RecordedResource, 'type' | 'name' | 'inputs'>>): string[] {
  const found: string[] = [];
  const args = {
    resources: resources.map((r) => ({
      type: r.type,
      name: r.name,
      urn: `urn:pulumi:dev::aci-fleet::${r.type}::${r.name}`,
      props: r.inputs,
    })),
    stackTags: new Map(),
    getConfig: () => ({}),
    notApplicable: () => {
      throw new Error('not applicable');
    },
  } as unknown as StackValidationArgs;
  policy.validateStack(args, (message) => found.push(message));
  return found;
}

/** A deep copy of a recorded resource with its inputs changed. */
function mutated(r: RecordedResource, change: (inputs: Record<string, any>) => void): RecordedResource {
  const copy = structuredClone(r);
  change(copy.inputs);
  return copy;
}

let rec: Recording;
before(async () => {
  rec = await recordInChild(baseConfig());
  assert.equal(rec.error, undefined, rec.error);
});

describe('policy pack on the recorded stack', () => {
  it('finds no violation anywhere in the stack the program builds', () => {
    const all = rec.resources.flatMap((r) =>
      policies.filter(isResourcePolicy).flatMap((p) => violations(p, r).map((v) => `${p.name} on ${r.key}: ${v}`)),
    );
    assert.deepEqual(all, []);
    for (const p of policies) if (!isResourcePolicy(p)) assert.deepEqual(stackViolations(p, rec.resources), [], p.name);
  });

  it("counts the stack's own resource groups: the ones it creates and the ones it deploys into", () => {
    assert.deepEqual([...fleetResourceGroups(rec.resources.map((r) => ({ type: r.type, props: r.inputs })))].sort(), [
      'aci-fleet-dev-app',
      'aci-fleet-dev-servers',
    ]);
  });

  it('checks the tags of every taggable type the stack creates', () => {
    const tagged = rec.resources.filter((r) => r.inputs && 'tags' in r.inputs && r.type.startsWith('azure-native:'));
    for (const r of tagged)
      assert.ok(
        TAGGED_TYPES.some(([m, n]) => isAzureType(r.type, m, n)),
        `${r.type} has tags but no rule checks them`,
      );
  });

  it('has mandatory, uniquely named policies', () => {
    assert.equal(new Set(policies.map((p) => p.name)).size, policies.length);
    for (const p of policies) assert.equal(p.enforcementLevel, 'mandatory', p.name);
  });

  it('matches Azure types in their default and versioned forms only', () => {
    assert.equal(isAzureType('azure-native:storage:StorageAccount', 'storage', 'StorageAccount'), true);
    assert.equal(isAzureType('azure-native:storage/v20240101:StorageAccount', 'storage', 'StorageAccount'), true);
    assert.equal(isAzureType('azure-native:storage:StorageAccountX', 'storage', 'StorageAccount'), false);
    assert.equal(isAzureType('azure:storage:StorageAccount', 'storage', 'StorageAccount'), false);
  });
});

describe('each rule catches its mistake', () => {
  const cases: Array<{
    policy: ResourceValidationPolicy;
    type: string;
    name?: string;
    what: string;
    change: (i: Record<string, any>) => void;
    expect: RegExp;
  }> = [
    {
      policy: storageKeyless,
      type: 'azure-native:storage:StorageAccount',
      what: 'shared key access left on',
      change: (i) => delete i.allowSharedKeyAccess,
      expect: /allowSharedKeyAccess must be false/,
    },
    {
      policy: storageKeyless,
      type: 'azure-native:storage:StorageAccount',
      what: 'public blob access',
      change: (i) => (i.allowBlobPublicAccess = true),
      expect: /allowBlobPublicAccess must be false/,
    },
    {
      policy: storageTls,
      type: 'azure-native:storage:StorageAccount',
      what: 'TLS 1.0',
      change: (i) => (i.minimumTlsVersion = 'TLS1_0'),
      expect: /TLS1_2 or later, got TLS1_0/,
    },
    {
      policy: functionAppHttps,
      type: 'azure-native:web:WebApp',
      what: 'HTTP allowed',
      change: (i) => (i.httpsOnly = false),
      expect: /httpsOnly must be true/,
    },
    {
      policy: appSettingsKeyless,
      type: 'azure-native:web:WebAppApplicationSettings',
      what: 'a storage connection string',
      change: (i) => (i.properties.AzureWebJobsStorage = 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc=='),
      expect: /AzureWebJobsStorage must not be set|carries a key/,
    },
    {
      policy: appSettingsKeyless,
      type: 'azure-native:web:WebAppApplicationSettings',
      what: 'telemetry with the instrumentation key instead of Entra ID',
      change: (i) => delete i.properties.APPLICATIONINSIGHTS_AUTHENTICATION_STRING,
      expect: /Authorization=AAD/,
    },
    {
      policy: appSettingsKeyless,
      type: 'azure-native:web:WebApp',
      what: 'a SAS in siteConfig app settings',
      change: (i) => (i.siteConfig = { appSettings: [{ name: 'PACKAGE', value: 'https://x.blob.core.windows.net/c/p.zip?sv=1&sig=abc' }] }),
      expect: /PACKAGE carries a key or SAS/,
    },
    {
      policy: appInsightsEntraOnly,
      type: 'azure-native:applicationinsights:Component',
      what: 'local auth on',
      change: (i) => (i.disableLocalAuth = false),
      expect: /disableLocalAuth must be true/,
    },
    {
      policy: noBroadRoles,
      type: 'azure-native:authorization:RoleAssignment',
      name: 'access-aci-aci-fleet-dev-servers',
      what: 'Contributor instead of the ACI role',
      change: (i) => (i.roleDefinitionId = i.roleDefinitionId.replace(/[^/]+$/, 'b24988ac-6180-42a0-ab88-20f7382dd24c')),
      expect: /Role Contributor is too broad/,
    },
    {
      policy: noBroadRoles,
      type: 'azure-native:authorization:RoleAssignment',
      name: 'access-aci-aci-fleet-dev-servers',
      what: 'the subscription as scope',
      change: (i) => (i.scope = i.scope.replace(/\/resourceGroups\/.*$/, '')),
      expect: /Scope \/subscriptions\/[^ ]+ is too broad/,
    },
    {
      policy: eventGridDeadLetter,
      type: 'azure-native:eventgrid:SystemTopicEventSubscription',
      what: 'no dead-lettering',
      change: (i) => delete i.deadLetterWithResourceIdentity,
      expect: /Dead-lettering is required/,
    },
    {
      policy: eventGridDeadLetter,
      type: 'azure-native:eventgrid:SystemTopicEventSubscription',
      what: 'no retry policy',
      change: (i) => delete i.retryPolicy,
      expect: /retry policy is required/,
    },
    {
      policy: storagePublicNetwork,
      type: 'azure-native:storage:StorageAccount',
      what: 'public network access left to the default',
      change: (i) => delete i.publicNetworkAccess,
      expect: /publicNetworkAccess must be stated/,
    },
    {
      policy: storagePublicNetwork,
      type: 'azure-native:storage:StorageAccount',
      what: 'an internet-reachable account that takes keys',
      change: (i) => (i.allowSharedKeyAccess = true),
      expect: /reachable from the internet must refuse keys/,
    },
    {
      policy: basicAuthOff,
      type: 'azure-native:web:WebAppScmAllowed',
      what: 'SCM basic auth on',
      change: (i) => (i.allow = true),
      expect: /WebAppScmAllowed: allow must be false/,
    },
    {
      policy: basicAuthOff,
      type: 'azure-native:web:WebAppFtpAllowed',
      what: 'FTP basic auth on',
      change: (i) => delete i.allow,
      expect: /WebAppFtpAllowed: allow must be false/,
    },
    {
      policy: rolePrincipalType,
      type: 'azure-native:authorization:RoleAssignment',
      name: 'access-aci-aci-fleet-dev-servers',
      what: 'no principal type',
      change: (i) => delete i.principalType,
      expect: /principalType must be set/,
    },
    {
      policy: eventGridSubjectFilter,
      type: 'azure-native:eventgrid:SystemTopicEventSubscription',
      what: 'no subject filter',
      change: (i) => delete i.filter.subjectBeginsWith,
      expect: /subjectBeginsWith is required/,
    },
    {
      policy: requiredTags,
      type: 'azure-native:keyvault:Vault',
      what: 'no ownership tag',
      change: (i) => delete i.tags['aci-fleet'],
      expect: /Tag aci-fleet is required/,
    },
    {
      policy: requiredTags,
      type: 'azure-native:web:WebApp',
      what: 'no tags at all',
      change: (i) => delete i.tags,
      expect: /Tag aci-fleet is required/,
    },
  ];

  /** Stack rules: the recorded stack passes; changed as said, it fails. */
  const stackCases: Array<{
    policy: StackValidationPolicy;
    what: string;
    change: (resources: RecordedResource[]) => RecordedResource[];
    expect: RegExp;
  }> = [
    {
      policy: basicAuthOffForEveryApp,
      what: 'an app whose FTP basic auth the stack does not turn off',
      change: (rs) => rs.filter((r) => r.type !== 'azure-native:web:WebAppFtpAllowed'),
      expect: /Function App aci-fleet-dev-abc123: no WebAppFtpAllowed with allow false/,
    },
    {
      policy: basicAuthOffForEveryApp,
      what: 'an app whose SCM basic auth is turned on',
      change: (rs) => rs.map((r) => (r.type === 'azure-native:web:WebAppScmAllowed' ? mutated(r, (i) => (i.allow = true)) : r)),
      expect: /no WebAppScmAllowed with allow false/,
    },
    {
      policy: roleScopesInFleet,
      what: "a role assignment in another team's resource group",
      change: (rs) =>
        rs.map((r) =>
          r.name === 'access-blob-data-owner'
            ? mutated(r, (i) => (i.scope = i.scope.replace(/resourceGroups\/[^/]+/, 'resourceGroups/payments-prod')))
            : r,
        ),
      expect: /Role assignment scope \/subscriptions\/[^/]+\/resourceGroups\/payments-prod\/.* is outside the fleet's resource groups/,
    },
    {
      policy: roleScopesInFleet,
      what: 'a role assignment on the whole subscription',
      change: (rs) =>
        rs.map((r) =>
          r.name === 'access-metrics-publisher' ? mutated(r, (i) => (i.scope = i.scope.replace(/\/resourceGroups\/.*$/, ''))) : r,
        ),
      expect: /Role assignment scope \/subscriptions\/[^/ ]+ is outside/,
    },
    {
      policy: roleScopesInFleet,
      what: 'a custom role assignable anywhere in the subscription',
      change: (rs) =>
        rs.map((r) => (r.type === 'azure-native:authorization:RoleDefinition' ? mutated(r, (i) => (i.assignableScopes = [i.scope])) : r)),
      expect: /Custom role assignable scope \/subscriptions\/[^/ ]+ is outside/,
    },
  ];

  for (const c of stackCases) {
    it(`${c.policy.name}: passes the recorded stack, fails it with ${c.what}`, () => {
      assert.deepEqual(stackViolations(c.policy, rec.resources), []);
      const found = stackViolations(c.policy, c.change(structuredClone(rec.resources)));
      assert.ok(
        found.some((v) => c.expect.test(v)),
        `expected ${c.expect}, got ${JSON.stringify(found)}`,
      );
    });
  }

  for (const c of cases) {
    it(`${c.policy.name}: passes the recorded ${c.type.split(':').pop()}, fails it with ${c.what}`, () => {
      const recorded = one(rec, c.type, c.name);
      assert.deepEqual(violations(c.policy, recorded), []);
      const found = violations(c.policy, mutated(recorded, c.change));
      assert.ok(
        found.some((v) => c.expect.test(v)),
        `expected ${c.expect}, got ${JSON.stringify(found)}`,
      );
    });
  }

  it('aci-fleet-app-settings-keyless: refuses a connection strings resource outright', () => {
    const found = violations(appSettingsKeyless, { type: 'azure-native:web:WebAppConnectionStrings', name: 'cs', inputs: {} });
    assert.equal(found.length, 1);
  });

  it('every policy is covered by a failing case', () => {
    const covered = new Set([...cases.map((c) => c.policy.name), ...stackCases.map((c) => c.policy.name)]);
    assert.deepEqual(
      policies.map((p) => p.name).filter((n) => !covered.has(n)),
      [],
    );
  });
});

describe('policy pack process', () => {
  // Compiling the pack takes seconds, several times that on a loaded CI machine: the deadline is
  // only a safety net against a host that never answers (npm test's own is 240 s per test).
  it('compiles and serves under the Node.js policy-pack host Pulumi uses', { timeout: 180_000 }, async () => {
    const root = path.resolve(__dirname, '../..');
    const host = require.resolve('@pulumi/pulumi/cmd/run-policy-pack', { paths: [root] });
    // `pulumi preview --policy-pack infra/policy` runs this host in the pack's directory; it
    // compiles the TypeScript itself and prints the port of its gRPC server once the pack loaded.
    const child = spawn(process.execPath, [host, '127.0.0.1:1', '.'], {
      cwd: path.join(root, 'infra/policy'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', () => {
          const m = out.match(/^(\d+)\s*$/m);
          if (m) resolve(Number(m[1]));
        });
        child.on('close', (code) => reject(new Error(`policy pack exited ${code}: ${err}${out}`)));
      });
      assert.ok(port > 0);
      assert.equal(err, '');
    } finally {
      child.kill();
    }
  });
});
