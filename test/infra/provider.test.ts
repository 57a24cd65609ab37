// The dynamic providers (One Deploy, provider registration, the smoke test, fleets), as Pulumi runs them:
// serialized to text, loaded by plain Node (no TypeScript loader, no access to the repository's
// files) and driven against the local fake.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { deploymentChanges, oneDeployProvider, type CodeDeploymentInputs } from '../../infra/deploy/provider';
import { registrationProvider, type RegistrationInputs } from '../../infra/deploy/registrationProvider';
import { smokeTestProvider, type SmokeTestInputs } from '../../infra/deploy/smokeTestProvider';
import { fleetProvider, type FleetInputs } from '../../infra/deploy/fleetProvider';
import { FLEETS_KEY, startFakeFleetsApi, type FakeFleetsApi } from './support/fakeFleetsApi';
import { APP_RESOURCE_ID, FAST, FUNCTION_KEY, SUBSCRIPTION, startFakeAzure, type FakeAzure } from './support/fakeAzure';

describe('deploymentChanges', () => {
  const olds = { appResourceId: APP_RESOURCE_ID, scmUrl: 'https://app.scm', hash: 'h1', functions: ['ACIMonitor'] };
  const news = (over: Partial<CodeDeploymentInputs>): CodeDeploymentInputs => ({
    ...olds,
    armUrl: 'https://arm',
    zipPath: '/tmp/x.zip',
    token: 'new-token',
    ...over,
  });
  const cases: Array<[string, Partial<CodeDeploymentInputs>, string[]]> = [
    ['a new token and zip path alone', {}, []],
    ['a new package', { hash: 'h2' }, ['hash']],
    ['another app', { appResourceId: `${APP_RESOURCE_ID}2` }, ['appResourceId']],
    ['the same app id in another casing', { appResourceId: APP_RESOURCE_ID.toUpperCase() }, []],
    ['another SCM host', { scmUrl: 'https://other.scm' }, ['scmUrl']],
    ['another function to wait for', { functions: ['ACIMonitor', 'ACIGC'] }, ['functions']],
  ];
  for (const [what, over, changed] of cases) {
    it(`${changed.length ? 'redeploys' : 'does not redeploy'} on ${what}`, () => {
      assert.deepEqual(deploymentChanges(olds, news(over)), changed);
    });
  }
});

describe('serialized provider', () => {
  let fake: FakeAzure;
  let fleetsApi: FakeFleetsApi;
  let dir: string;
  let providerFile: string;
  const files = new Map<string, string>();
  const subscriptionId =
    '/subscriptions/sub/resourceGroups/servers/providers/Microsoft.EventGrid/systemTopics/t/eventSubscriptions/aci-monitor';

  before(async () => {
    fake = await startFakeAzure({
      publish: [
        { status: 403, body: 'Forbidden' },
        { status: 202, body: '"dep-7"' },
      ],
      deployments: { 'dep-7': [{ status: 200, body: { id: 'dep-7', status: 4, complete: true } }] },
      functions: [['ACIMonitor', 'ACIList']],
      providers: { 'Microsoft.ContainerInstance': ['NotRegistered', 'Registered'] },
      eventSubscriptions: { [subscriptionId]: ['Succeeded'] },
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aci-fleet-provider-'));
    // Exactly what pulumi.dynamic.Resource stores in __provider.
    const providers: Array<[string, pulumi.dynamic.ResourceProvider]> = [
      ['provider.js', oneDeployProvider],
      ['registration.js', registrationProvider],
      ['smoke.js', smokeTestProvider],
      ['fleet.js', fleetProvider],
    ];
    for (const [file, provider] of providers) {
      const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
      fs.writeFileSync(path.join(dir, file), serialized.text);
      files.set(file, path.join(dir, file));
    }
    providerFile = files.get('provider.js')!;
    fleetsApi = await startFakeFleetsApi();
    fs.writeFileSync(path.join(dir, 'package.zip'), Buffer.from('zip bytes'));
  });
  after(async () => {
    await fake.close();
    await fleetsApi.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Loads the serialized provider in a plain `node` and calls one of its methods. */
  function callInPlainNode(method: 'create' | 'diff', ...args: unknown[]): Promise<any> {
    return callFileInPlainNode(providerFile, method, ...args);
  }

  function callFileInPlainNode(file: string, method: 'create' | 'diff' | 'delete', ...args: unknown[]): Promise<any> {
    const runner = `
      const provider = require(${JSON.stringify(file)}).handler();
      provider.${method}(...${JSON.stringify(args)}).then(
        (r) => { process.stdout.write('\\n@@RESULT@@' + JSON.stringify(r ?? null)); },
        (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', runner], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => {
        if (code !== 0) return reject(new Error(`provider ${method} failed: ${err}`));
        // The provider logs its progress first; the result follows the marker.
        resolve(JSON.parse(out.slice(out.lastIndexOf('@@RESULT@@') + '@@RESULT@@'.length)));
      });
    });
  }

  it('do not reference repository files or TypeScript', () => {
    for (const file of files.values()) {
      const text = fs.readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /require\(["']\.{1,2}\//, `${file}: a relative require would not resolve where Pulumi runs the provider`);
      assert.doesNotMatch(text, /\.ts["']/, file);
    }
  });

  it('registers a resource provider from a plain Node process', async () => {
    const inputs: RegistrationInputs = {
      armUrl: fake.url,
      subscriptionId: SUBSCRIPTION,
      namespace: 'Microsoft.ContainerInstance',
      token: 'secret-token',
      timing: FAST,
    };
    const result = await callFileInPlainNode(files.get('registration.js')!, 'create', inputs);
    assert.equal(result.id, `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.ContainerInstance`);
    assert.deepEqual(result.outs, {
      subscriptionId: SUBSCRIPTION,
      namespace: 'Microsoft.ContainerInstance',
      registrationState: 'Registered',
    });
    assert.ok(fake.requests.some((r) => r.method === 'POST' && r.path.includes('/Microsoft.ContainerInstance/register')));
  });

  it('runs the smoke test from a plain Node process, keeping the token out of its outputs, on every update', async () => {
    const inputs: SmokeTestInputs = {
      armUrl: fake.url,
      appResourceId: APP_RESOURCE_ID,
      apiBaseUrl: `${fake.url}/api`,
      openApiUrl: `${fake.url}/api/openapi.json`,
      listPublic: false,
      eventSubscriptionIds: [subscriptionId],
      token: 'secret-token',
      timing: { pollIntervalMs: 5, timeoutMs: 60_000, requestTimeoutMs: 60_000 },
    };
    const result = await callFileInPlainNode(files.get('smoke.js')!, 'create', inputs);
    assert.equal(result.outs.functionKey, FUNCTION_KEY);
    assert.ok(!JSON.stringify(result.outs).includes('secret-token'));
    assert.equal((await callFileInPlainNode(files.get('smoke.js')!, 'diff', 'id', result.outs, inputs)).changes, true);
  });

  it('writes a fleet from a plain Node process: PUT with the key, no secret in its outputs, a quiet diff, then DELETE', async () => {
    const body = {
      replicas: 1,
      template: {
        resourceGroup: 'rg',
        containerGroup: { containers: [{ name: 's', environmentVariables: [{ name: 'T', secureValue: 'fleet-secret' }] }] },
      },
    };
    const inputs: FleetInputs = {
      apiBaseUrl: fleetsApi.apiBaseUrl,
      name: 'game',
      spec: JSON.parse(JSON.stringify(body).replace('fleet-secret', '<redacted>')),
      body,
      secrets: ['fleet-secret'],
      functionKey: FLEETS_KEY,
      timing: { maxAttempts: 2, retryInitialDelayMs: 1, retryMaxDelayMs: 1 },
    };
    const fleetFile = files.get('fleet.js')!;
    const result = await callFileInPlainNode(fleetFile, 'create', inputs);
    assert.equal(result.outs.revision, 1);
    assert.ok(!JSON.stringify(result.outs).includes('fleet-secret'));
    const put = fleetsApi.requests.find((r) => r.method === 'PUT')!;
    assert.equal(put.functionKey, FLEETS_KEY);
    assert.ok(put.body.includes('fleet-secret'));
    assert.equal((await callFileInPlainNode(fleetFile, 'diff', 'id', result.outs, inputs)).changes, false);
    await callFileInPlainNode(fleetFile, 'delete', 'id', result.outs);
    assert.equal(fleetsApi.fleets.size, 0);
  });

  it('deploys from a plain Node process, retrying the 403, and keeps the token out of its outputs', async () => {
    const inputs: CodeDeploymentInputs = {
      appResourceId: APP_RESOURCE_ID,
      scmUrl: fake.url,
      armUrl: fake.url,
      zipPath: path.join(dir, 'package.zip'),
      hash: 'h1',
      functions: ['ACIMonitor'],
      token: 'secret-token',
      timing: FAST,
    };
    const result = await callInPlainNode('create', inputs);
    assert.equal(result.id, `${APP_RESOURCE_ID}/deployments/aci-fleet`);
    assert.equal(result.outs.deploymentId, 'dep-7');
    assert.deepEqual(result.outs.indexedFunctions, ['ACIList', 'ACIMonitor']);
    assert.equal(result.outs.hash, 'h1');
    assert.ok(!JSON.stringify(result.outs).includes('secret-token'));
    const posts = fake.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/api/publish'));
    assert.equal(posts.length, 2);
    assert.equal(posts[1].body.toString(), 'zip bytes');
    assert.equal(posts[1].authorization, 'Bearer secret-token');
  });

  it('answers diff from a plain Node process: same package, no deployment', async () => {
    const olds = { appResourceId: APP_RESOURCE_ID, scmUrl: fake.url, hash: 'h1', functions: ['ACIMonitor'] };
    const news = { ...olds, armUrl: fake.url, zipPath: 'elsewhere.zip', token: 'another-token' };
    assert.deepEqual(await callInPlainNode('diff', 'id', olds, news), { changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it('is the object the dynamic resource serializes', () => {
    assert.equal(typeof oneDeployProvider.create, 'function');
    assert.equal(typeof oneDeployProvider.diff, 'function');
    assert.equal(typeof oneDeployProvider.update, 'function');
  });
});
