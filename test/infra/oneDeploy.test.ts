// One Deploy against a local fake of the SCM and ARM endpoints: publish, poll, retry while role
// assignments propagate (the 400 BlobUploadFailedException of a new Flex app included, for a
// bounded time), report the platform's own failure message, wait for indexing.
import { describe, it, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  oneDeploy,
  parseDeploymentId,
  isAuthorizationFailure,
  isFinished,
  isStoragePropagationFailure,
  functionName,
  type OneDeployError,
  type OneDeployTiming,
} from '../../infra/deploy/oneDeploy';
import { backoffMs, platformMessage, retryAfterMs } from '../../infra/deploy/http';
import { APP_RESOURCE_ID, FAST, manualWaiting, startFakeAzure, type FakeAzure, type FakeScript } from './support/fakeAzure';

const ZIP = Buffer.from('PK\u0003\u0004 not really a zip, the fake does not care');

let fake: FakeAzure | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function deployWith(
  script: FakeScript,
  functions = ['ACIMonitor'],
  timing: Partial<OneDeployTiming> = FAST,
  waiting?: ReturnType<typeof manualWaiting>,
) {
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
    waiting,
  });
  return { run, logs, fake };
}

/**
 * What the publish endpoint of a new Flex app answers while the app identity's blob role
 * propagates: a 400 wrapping storage's 403 (the message Kudu's StorageAccessibleCheck reports).
 */
const blobUploadFailed = (storageStatus: string) => ({
  status: 400,
  body:
    'InaccessibleStorageException: Failed to access storage account for deployment: BlobUploadFailedException: ' +
    `Failed to upload blob to storage account: ${storageStatus}`,
});
const STORAGE_403 = 'Response status code does not indicate success: 403 (This request is not authorized to perform this operation.).';

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

  it('retries the 400 BlobUploadFailedException of a new app while its storage role propagates, then succeeds', async () => {
    const { run, logs, fake } = await deployWith({
      publish: [
        blobUploadFailed(STORAGE_403),
        blobUploadFailed(STORAGE_403),
        blobUploadFailed(STORAGE_403),
        { status: 202, body: '"dep-1"' },
      ],
      deployments: { 'dep-1': [succeeded] },
      functions: [['ACIMonitor']],
    });
    const result = await run;
    assert.equal(result.publishAttempts, 4);
    assert.equal(fake.requests.filter((r) => r.method === 'POST').length, 4);
    assert.match(logs.join('\n'), /HTTP 400: InaccessibleStorageException.*BlobUploadFailedException.*403.*; retrying/);
  });

  it('retries that 400 for a bounded time, with backoff, however many attempts it takes, then says what to check', async () => {
    // A manual clock: the waits pass instantly, and the bound is measured on the clock the test controls.
    const waiting = manualWaiting();
    const timing = {
      ...FAST,
      retryInitialDelayMs: 5_000,
      retryMaxDelayMs: 60_000,
      storagePropagationTimeoutMs: 10 * 60_000,
      deployTimeoutMs: 20 * 60_000,
    };
    const { run, fake } = await deployWith({ publish: [blobUploadFailed(STORAGE_403)] }, ['ACIMonitor'], timing, waiting);
    const error = (await run.then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    )) as OneDeployError;
    assert.equal(error.code, 'rejected');
    assert.match(error.message, /BlobUploadFailedException/);
    assert.match(error.message, /Storage Blob Data Owner/);
    assert.match(error.message, /publicNetworkAccess must be Enabled/);
    // Waits of 5, 10, 20, 40 s, then 60 s each: the attempt that first sees 10 minutes gone is the last.
    const waits = [5, 10, 20, 40, ...Array.from({ length: 20 }, () => 60)];
    let elapsed = 0;
    let attempts = 1;
    while (elapsed < 600) elapsed += waits[attempts++ - 1];
    assert.equal(fake.requests.filter((r) => r.method === 'POST').length, attempts);
    assert.ok(attempts > FAST.maxPublishAttempts, 'the bound is time, not the attempts other refusals get');
    assert.deepEqual(waiting.slept.slice(0, 5), [5_000, 10_000, 20_000, 40_000, 60_000]);
    assert.equal(waiting.elapsed(), elapsed * 1000);
  });

  const finalBadRequests: Array<[string, { status: number; body: unknown }, RegExp]> = [
    [
      'an invalid package',
      { status: 400, body: { error: { code: 'BadRequest', message: 'Zip file is invalid' } } },
      /HTTP 400: Zip file is invalid/,
    ],
    [
      'a deployment container that does not exist',
      blobUploadFailed('Response status code does not indicate success: 404 (The specified container does not exist.).'),
      /404 \(The specified container does not exist/,
    ],
    [
      'a storage account that does not resolve',
      blobUploadFailed('Name or service not known (stfleet.blob.core.windows.net:443)'),
      /Name or service not known/,
    ],
  ];
  for (const [what, answer, message] of finalBadRequests) {
    it(`fails at once on every other 400: ${what}`, async () => {
      const { run, fake } = await deployWith({ publish: [answer] });
      await assert.rejects(run, (e: OneDeployError) => e.code === 'rejected' && /was rejected/.test(e.message) && message.test(e.message));
      assert.equal(fake.requests.length, 1);
    });
  }

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

  it('retries a 400 only when it is storage refusing the app identity', () => {
    const cases: Array<[number, string, boolean]> = [
      [400, blobUploadFailed(STORAGE_403).body, true],
      [400, 'BlobUploadFailedException: Failed to upload blob: Forbidden', true],
      [400, JSON.stringify({ Message: blobUploadFailed(STORAGE_403).body }), true],
      [400, blobUploadFailed('Response status code does not indicate success: 404 (The specified container does not exist.).').body, false],
      [400, blobUploadFailed('Name or service not known (x.blob.core.windows.net:443)').body, false],
      [400, 'Zip file is invalid (403 bytes)', false],
      [400, '', false],
      [403, blobUploadFailed(STORAGE_403).body, false],
      [500, blobUploadFailed(STORAGE_403).body, false],
    ];
    for (const [status, body, retried] of cases) assert.equal(isStoragePropagationFailure(status, body), retried, `${status} ${body}`);
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
    assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:30 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 30_000);
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
