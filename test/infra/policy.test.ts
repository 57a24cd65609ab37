// The policy pack's rules against the resources the program records: the stack as built passes
// every rule, and each rule catches the mistake it exists for. Then the pack itself is started
// the way `pulumi preview --policy-pack infra/policy` starts it.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import {
  appInsightsEntraOnly,
  appSettingsKeyless,
  eventGridDeadLetter,
  functionAppHttps,
  isAzureType,
  noBroadRoles,
  policies,
  storageKeyless,
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
    const all = rec.resources.flatMap((r) => policies.flatMap((p) => violations(p, r).map((v) => `${p.name} on ${r.key}: ${v}`)));
    assert.deepEqual(all, []);
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
  ];

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
    const covered = new Set(cases.map((c) => c.policy.name));
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
