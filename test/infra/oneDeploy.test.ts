// One Deploy against a local fake of the SCM and ARM endpoints: publish, poll, retry while role
// assignments propagate, report the platform's own failure message, wait for indexing.
import { describe, it, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  oneDeploy,
  parseDeploymentId,
  isAuthorizationFailure,
  isFinished,
  backoffMs,
  retryAfterMs,
  platformMessage,
  functionName,
  type OneDeployError,
} from '../../infra/deploy/oneDeploy';
import { APP_RESOURCE_ID, FAST, startFakeAzure, type FakeAzure, type FakeScript } from './support/fakeAzure';

const ZIP = Buffer.from('PK\u0003\u0004 not really a zip, the fake does not care');

let fake: FakeAzure | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function deployWith(script: FakeScript, functions = ['ACIMonitor'], timing: typeof FAST = FAST) {
  fake = await startFakeAzure(script);
  const logs: string[] = [];
  const run = oneDeploy({
    scmUrl: fake.url,
    armUrl: fake.url,
    appResourceId: APP_RESOURCE_ID,
    zip: ZIP,
    getToken: async () => 'token-123',
    functions,
    timing,
    log: (m) => logs.push(m),
  });
  return { run, logs, fake };
}

const succeeded = { status: 200, body: { id: 'dep-1', status: 4, status_text: '', complete: true } };

describe('oneDeploy', () => {
  it('publishes the zip with a bearer token, polls until success and returns once ACIMonitor is indexed', async () => {
    const { run, fake } = await deployWith({
      publish: [{ status: 202, body: '"dep-1"', headers: { Location: '/api/deployments/dep-1' } }],
      deployments: {
        'dep-1': [{ status: 404 }, { status: 200, body: { id: 'dep-1', status: 1, progress: 'Building', complete: false } }, succeeded],
      },
      functions: [['ACICreate', 'ACIMonitor']],
    });
    const result = await run;
    assert.equal(result.deploymentId, 'dep-1');
    assert.deepEqual(result.functions, ['ACICreate', 'ACIMonitor']);
    assert.equal(result.publishAttempts, 1);

    const post = fake.requests.find((r) => r.method === 'POST')!;
    assert.equal(post.path, '/api/publish?RemoteBuild=false&Deployer=aci-fleet');
    assert.equal(post.contentType, 'application/zip');
    assert.equal(post.authorization, 'Bearer token-123');
    assert.deepEqual(post.body, ZIP);
    assert.equal(fake.requests.filter((r) => r.path === '/api/deployments/dep-1').length, 3);
    assert.ok(fake.requests.every((r) => r.authorization === 'Bearer token-123'));
    const list = fake.requests.find((r) => r.path.startsWith(`${APP_RESOURCE_ID}/functions`))!;
    assert.match(list.path, /\?api-version=\d{4}-\d{2}-\d{2}$/);
  });

  it('retries a 403 from the publish endpoint (role assignments propagating), then succeeds', async () => {
    const { run, logs, fake } = await deployWith({
      publish: [
        { status: 403, body: { Message: 'The client does not have authorization' } },
        { status: 403, body: { Message: 'The client does not have authorization' } },
        { status: 202, body: '"dep-1"' },
      ],
      deployments: { 'dep-1': [succeeded] },
      functions: [['ACIMonitor']],
    });
    const result = await run;
    assert.equal(result.publishAttempts, 3);
    assert.equal(fake.requests.filter((r) => r.method === 'POST').length, 3);
    assert.match(logs.join('\n'), /HTTP 403: The client does not have authorization; retrying/);
  });

  it('publishes again when the deployment failed because the app identity was not authorized yet', async () => {
    const { run, fake } = await deployWith({
      publish: [
        { status: 202, body: '"dep-1"' },
        { status: 202, body: '"dep-2"' },
      ],
      deployments: {
        'dep-1': [
          {
            status: 200,
            body: { id: 'dep-1', status: 3, complete: true, status_text: 'AuthorizationPermissionMismatch uploading the package' },
          },
        ],
        'dep-2': [{ status: 200, body: { id: 'dep-2', status: 4, complete: true } }],
      },
      functions: [['ACIMonitor']],
    });
    const result = await run;
    assert.equal(result.deploymentId, 'dep-2');
    assert.equal(fake.requests.filter((r) => r.method === 'POST').length, 2);
  });

  it('reports a failed deployment with the platform message, its log and the log details', async () => {
    const { run, fake } = await deployWith({
      publish: [{ status: 202, body: '"dep-9"' }],
      deployments: {
        'dep-9': [{ status: 200, body: { id: 'dep-9', status: 3, complete: true, status_text: 'Deployment failed.' } }],
      },
      logs: {
        'dep-9': {
          status: 200,
          body: [
            { message: 'Fetching changes.', details_url: null },
            { message: 'Syncing triggers failed', details_url: `/details/1` },
          ],
        },
      },
      details: { '1': { status: 200, body: [{ message: 'Error: Cannot find module ./index.js' }] } },
    });
    const error = (await run.then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    )) as OneDeployError;
    assert.equal(error.code, 'failed');
    assert.match(error.message, /status 3 Failed/);
    assert.match(error.message, /Deployment failed\./);
    assert.match(error.message, /Syncing triggers failed/);
    assert.match(error.message, /Cannot find module \.\/index\.js/);
    // A real failure is not retried, and the functions are never polled.
    assert.equal(fake.requests.filter((r) => r.method === 'POST').length, 1);
    assert.ok(!fake.requests.some((r) => r.path.includes('/functions')));
  });

  it('does not retry a request the platform rejects (400) and says why', async () => {
    const { run, fake } = await deployWith({
      publish: [{ status: 400, body: { error: { code: 'BadRequest', message: 'Zip file is invalid' } } }],
    });
    await assert.rejects(run, (e: OneDeployError) => e.code === 'rejected' && /HTTP 400: Zip file is invalid/.test(e.message));
    assert.equal(fake.requests.length, 1);
  });

  it('gives up after the last attempt when 403 never goes away', async () => {
    const { run, fake } = await deployWith({ publish: [{ status: 403, body: 'Forbidden' }] });
    await assert.rejects(run, (e: OneDeployError) => e.code === 'rejected' && /refused 5 times.*HTTP 403/.test(e.message));
    assert.equal(fake.requests.length, FAST.maxPublishAttempts);
  });

  it('waits until ACIMonitor is indexed, following the list as it grows', async () => {
    const { run, fake } = await deployWith({
      publish: [{ status: 202, body: '"dep-1"' }],
      deployments: { 'dep-1': [succeeded] },
      functions: [[], ['ACICreate'], ['ACICreate', 'ACIMonitor', 'ACIGC']],
    });
    const result = await run;
    assert.deepEqual(result.functions, ['ACICreate', 'ACIGC', 'ACIMonitor']);
    assert.equal(fake.requests.filter((r) => r.path.includes('/functions')).length, 3);
  });

  it('fails with what was indexed when ACIMonitor never appears', async () => {
    const { run } = await deployWith(
      {
        publish: [{ status: 202, body: '"dep-1"' }],
        deployments: { 'dep-1': [succeeded] },
        functions: [['ACICreate']],
      },
      ['ACIMonitor'],
      { ...FAST, indexTimeoutMs: 100 }, // the fake never lists it: this deadline fires however fast the machine is
    );
    await assert.rejects(run, (e: OneDeployError) => e.code === 'not-indexed' && /indexed: ACICreate; missing: ACIMonitor/.test(e.message));
  });

  it('times out when the deployment never finishes', async () => {
    fake = await startFakeAzure({
      publish: [{ status: 202, body: '"dep-1"' }],
      deployments: { 'dep-1': [{ status: 200, body: { id: 'dep-1', status: 2, progress: 'Deploying', complete: false } }] },
    });
    await assert.rejects(
      oneDeploy({
        scmUrl: fake.url,
        armUrl: fake.url,
        appResourceId: APP_RESOURCE_ID,
        zip: ZIP,
        getToken: () => 't',
        functions: ['ACIMonitor'],
        timing: { ...FAST, deployTimeoutMs: 100 },
      }),
      (e: OneDeployError) => e.code === 'timeout' && /2 Deploying/.test(e.message),
    );
  });
});

describe('oneDeploy decisions', () => {
  it('reads the deployment id from the forms the publish endpoint answers with', () => {
    const cases: Array<[string, string]> = [
      ['"abc-123"', 'abc-123'],
      ['abc-123', 'abc-123'],
      ['{"id":"abc"}', 'abc'],
      ['', ''],
      ['<html>oops</html>', ''],
    ];
    for (const [body, id] of cases) assert.equal(parseDeploymentId(body), id, body);
  });

  it('treats authorization failures as transient and other failures as final', () => {
    const cases: Array<[string, boolean]> = [
      ['This request is not authorized to perform this operation. AuthorizationPermissionMismatch', true],
      ['Status: 403 (Forbidden)', true],
      ['Failed to upload the package: does not have authorization to perform action', true],
      ['Syncing triggers failed: Cannot find module', false],
      ['Deployment failed.', false],
    ];
    for (const [message, transient] of cases) assert.equal(isAuthorizationFailure(message), transient, message);
  });

  it('knows when a deployment record is final', () => {
    const cases: Array<[object, boolean]> = [
      [{ status: 0 }, false],
      [{ status: 1 }, false],
      [{ status: 2 }, false],
      [{ status: 3 }, true],
      [{ status: 4 }, true],
      [{ status: 5 }, true],
      [{ status: 6 }, true],
      [{ status: 2, complete: true }, true],
    ];
    for (const [record, done] of cases) assert.equal(isFinished(record), done, JSON.stringify(record));
  });

  it('backs off exponentially up to the maximum and honours Retry-After', () => {
    const t = { retryInitialDelayMs: 5_000, retryMaxDelayMs: 60_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, t)),
      [5_000, 10_000, 20_000, 40_000, 60_000, 60_000],
    );
    assert.equal(retryAfterMs('7'), 7_000);
    assert.equal(retryAfterMs(null), undefined);
    assert.equal(retryAfterMs('soon'), undefined);
  });

  it('extracts the message from ARM and Kudu error bodies', () => {
    assert.equal(platformMessage('{"error":{"code":"X","message":"arm says"}}'), 'arm says');
    assert.equal(platformMessage('{"Message":"kudu says"}'), 'kudu says');
    assert.equal(platformMessage('plain text'), 'plain text');
  });

  it('names functions from ARM envelopes', () => {
    assert.equal(functionName({ name: 'app/ACIMonitor', properties: { name: 'ACIMonitor' } }), 'ACIMonitor');
    assert.equal(functionName({ name: 'app/ACIGC' }), 'ACIGC');
  });
});
