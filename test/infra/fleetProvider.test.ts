// The fleet resource's provider against a local fake of the fleets API: create PUTs (201, revision
// 1), the same spec again is no update at all and a re-PUT changes nothing, a new image is a new
// revision, a 4xx fails at once with the runtime's message (and no secret), 429/503 and lost
// connections are asked again with bounded backoff, and delete tolerates a fleet already gone.
import { describe, it, before, after, beforeEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_FLEET_API_TIMING, deleteFleet, putFleet, scrub, type FleetApiError } from '../../infra/deploy/fleetApi';
import { bodyDigest, fleetChanges, fleetProvider, type FleetInputs, type FleetOutputs } from '../../infra/deploy/fleetProvider';
import { manualWaiting } from './support/fakeAzure';
import { FLEET_SECRET, fleetTemplate } from './support/fleetBodies';
import { FLEETS_KEY, startFakeFleetsApi, type FakeFleetsApi } from './support/fakeFleetsApi';

const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';
const SECRET = FLEET_SECRET;
const FAST = { requestTimeoutMs: 10_000, maxAttempts: 4, retryInitialDelayMs: 1, retryMaxDelayMs: 5 };

const body = (image: string, replicas = 2) => ({ replicas, template: fleetTemplate(image, 'servers') });

const redacted = (b: ReturnType<typeof body>) => JSON.parse(JSON.stringify(b).replace(SECRET, '<redacted>')) as Record<string, unknown>;

let api: FakeFleetsApi;
const inputs = (b: ReturnType<typeof body>, over: Partial<FleetInputs> = {}): FleetInputs => ({
  apiBaseUrl: api.apiBaseUrl,
  name: 'game',
  spec: redacted(b),
  body: b,
  secrets: [SECRET],
  functionKey: FLEETS_KEY,
  timing: FAST,
  ...over,
});

before(async () => {
  api = await startFakeFleetsApi();
});
after(() => api.close());
beforeEach(() => {
  api.requests.length = 0;
  api.fleets.clear();
  api.script.PUT = [];
  api.script.DELETE = [];
});

const create = (i: FleetInputs) => fleetProvider.create!(i) as Promise<{ id: string; outs: FleetOutputs }>;
const update = (olds: FleetOutputs, i: FleetInputs) => fleetProvider.update!('id', olds, i) as Promise<{ outs: FleetOutputs }>;
const diff = (olds: FleetOutputs, i: FleetInputs) =>
  fleetProvider.diff!('id', olds, i) as Promise<{ changes: boolean; replaces: string[] }>;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e as FleetApiError,
  );

describe('fleet provider', () => {
  it('creates the fleet with a PUT of the body and the function key: revision 1, no secret in the outputs', async () => {
    const { id, outs } = await create(inputs(body('game:1')));
    assert.equal(id, `${api.apiBaseUrl}/fleets/game`);
    assert.equal(outs.revision, 1);
    assert.deepEqual(outs.spec, redacted(body('game:1')));
    assert.equal(outs.bodyDigest, bodyDigest(outs.salt, body('game:1')));
    assert.match(outs.salt, /^[0-9a-f]{32}$/);
    assert.ok(!JSON.stringify(outs).includes(SECRET), 'the secret stays in the (secret) inputs only');
    const [put] = api.requests;
    assert.equal(put.method, 'PUT');
    assert.equal(put.path, '/api/fleets/game');
    assert.equal(put.functionKey, FLEETS_KEY);
    assert.deepEqual(JSON.parse(put.body), body('game:1'), 'the secret itself is what the app is sent');
  });

  it('reports no change for the same spec: another key order, a preview that does not know the key yet', async () => {
    const { outs } = await create(inputs(body('game:1')));
    const b = body('game:1');
    const reordered = { template: b.template, replicas: b.replicas };
    assert.deepEqual(await diff(outs, inputs(reordered as ReturnType<typeof body>, { functionKey: UNKNOWN })), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    assert.equal(api.requests.length, 1, 'a diff calls nothing');
  });

  it('reports a change for a new image, a new secret, a new size, another app or a rotated key; a new name replaces', async () => {
    const { outs } = await create(inputs(body('game:1')));
    const secretChanged = JSON.parse(JSON.stringify(body('game:1')).replace(SECRET, 'another')) as ReturnType<typeof body>;
    const cases: Array<[string, FleetInputs, string[], string[]]> = [
      ['a new image', inputs(body('game:2')), ['body'], []],
      ['a new secret (the shown spec unchanged)', inputs(secretChanged, { spec: redacted(body('game:1')) }), ['body'], []],
      ['a new size', inputs(body('game:1', 5)), ['body'], []],
      ['another app', inputs(body('game:1'), { apiBaseUrl: 'https://other/api' }), ['apiBaseUrl'], []],
      ['a rotated function key', inputs(body('game:1'), { functionKey: 'rotated' }), ['functionKey'], []],
      ['another name', inputs(body('game:1'), { name: 'lobby' }), ['name'], ['name']],
    ];
    for (const [what, news, changes, replaces] of cases) {
      assert.deepEqual(fleetChanges(outs, news), { changes, replaces }, what);
    }
    assert.deepEqual(fleetChanges({}, inputs(body('game:1'))).changes, ['apiBaseUrl', 'body', 'functionKey', 'name'], 'no state yet');
  });

  it('re-PUTs the same body as a no-op (same revision), and a changed template as a new revision', async () => {
    const first = await create(inputs(body('game:1')));
    const again = await update(first.outs, inputs(body('game:1'), { functionKey: FLEETS_KEY }));
    assert.equal(again.outs.revision, 1);
    assert.equal(again.outs.salt, first.outs.salt, 'the salt is kept: the digest stays comparable');
    const rolled = await update(again.outs, inputs(body('game:2')));
    assert.equal(rolled.outs.revision, 2);
    assert.equal(api.fleets.get('game')?.revision, 2);
    assert.equal((await diff(rolled.outs, inputs(body('game:2')))).changes, false, 'quiet after the update');
    const resized = await update(rolled.outs, inputs(body('game:2', 4)));
    assert.equal(resized.outs.revision, 2, 'a new size is no new revision');
  });

  it("fails at once on a 4xx with the runtime's message and every field it names, without the secret", async () => {
    api.script.PUT = [
      {
        status: 400,
        body: {
          error: {
            code: 'ValidationFailed',
            message: `Invalid request: template.resourceGroup: 'x' is not one of this fleet's resource groups (got ${SECRET})`,
            details: [
              { path: 'template.resourceGroup', message: "'x' is not one of this fleet's resource groups" },
              { path: 'replicas', message: 'replicas cannot be negative' },
            ],
          },
        },
      },
    ];
    const error = await failure(create(inputs(body('game:1'))));
    assert.equal(api.requests.length, 1, 'not asked again');
    assert.equal(error.status, 400);
    assert.equal(error.code, 'ValidationFailed');
    assert.match(
      error.message,
      /^PUT http:\/\/127\.0\.0\.1:\d+\/api\/fleets\/game failed: HTTP 400 ValidationFailed: Invalid request: template\.resourceGroup: /,
    );
    assert.match(error.message, /; replicas: replicas cannot be negative$/);
    assert.ok(!error.message.includes(SECRET), error.message);
    assert.match(error.message, /\(got <redacted>\)/);
  });

  it('fails at once on a 409 (the fleet is still draining from an earlier delete), with what to do', async () => {
    api.script.PUT = [
      { status: 409, body: { error: { code: 'Conflict', message: "Fleet 'game' is being deleted; PUT it again once it is gone." } } },
    ];
    const error = await failure(create(inputs(body('game:1'))));
    assert.match(error.message, /HTTP 409 Conflict: Fleet 'game' is being deleted; PUT it again once it is gone\.$/);
    assert.equal(api.requests.length, 1);
  });

  it('says the function key was refused on a 401', async () => {
    const error = await failure(create(inputs(body('game:1'), { functionKey: 'wrong' })));
    assert.equal(error.status, 401);
    assert.match(error.message, /HTTP 401 \(the app refused the function key/);
    assert.equal(api.requests.length, 1);
  });

  it('asks again after 503 and 429 (as long as Retry-After says, within the bound), then succeeds', async () => {
    api.script.PUT = [
      { status: 503, body: 'Service Unavailable' },
      { status: 429, headers: { 'Retry-After': '7' }, body: { error: { code: 'TooManyRequests', message: 'slow down' } } },
    ];
    const waiting = manualWaiting();
    const logs: string[] = [];
    const timing = { ...FAST, retryInitialDelayMs: 1_000, retryMaxDelayMs: 30_000 };
    const result = await putFleet(
      { apiBaseUrl: api.apiBaseUrl, functionKey: FLEETS_KEY, timing, waiting, log: (m) => logs.push(m) },
      'game',
      body('game:1'),
    );
    assert.deepEqual(result, { status: 201, revision: 1, etag: '"1-0"' });
    assert.equal(api.requests.length, 3);
    assert.deepEqual(waiting.slept, [1_000, 7_000]);
    assert.ok(
      logs.some((l) => /PUT got HTTP 503: Service Unavailable; asking again in 1 s/.test(l)),
      logs.join('\n'),
    );
  });

  it('asks again when the connection fails, and gives up after the bounded attempts with the last answer', async () => {
    let calls = 0;
    const flaky = async (url: string, init?: RequestInit) => {
      calls++;
      if (calls === 1) throw new TypeError('fetch failed (ECONNRESET)');
      return fetch(url, init);
    };
    const waiting = manualWaiting();
    const ok = await putFleet(
      { apiBaseUrl: api.apiBaseUrl, functionKey: FLEETS_KEY, fetch: flaky, timing: FAST, waiting },
      'game',
      body('game:1'),
    );
    assert.equal(ok.revision, 1);
    assert.equal(calls, 2);

    api.script.PUT = Array.from({ length: 10 }, () => ({
      status: 500,
      body: { error: { code: 'StorageUnavailable', message: 'storage is down' } },
    }));
    const waited = manualWaiting();
    const error = await failure(
      putFleet(
        {
          apiBaseUrl: api.apiBaseUrl,
          functionKey: FLEETS_KEY,
          timing: { ...FAST, maxAttempts: 5, retryInitialDelayMs: 100, retryMaxDelayMs: 250 },
          waiting: waited,
        },
        'game',
        body('game:1'),
      ),
    );
    assert.match(error.message, /HTTP 500 StorageUnavailable: storage is down, still after 5 attempts$/);
    assert.deepEqual(waited.slept, [100, 200, 250, 250], 'doubling, capped, four waits between five attempts');
  });

  it('refreshes: an unchanged fleet stays quiet, one changed by hand is put back by the next update, one gone is gone', async () => {
    const created = await create(inputs(body('game:1')));
    assert.ok(created.outs.etag, 'the ETag of the PUT is kept');
    const same = (await fleetProvider.read!('id', created.outs)) as { id: string; props: FleetOutputs };
    assert.deepEqual(same, { id: 'id', props: created.outs });

    // Someone PUTs another image through the API by hand: a new revision and ETag.
    const byHand = await putFleet({ apiBaseUrl: api.apiBaseUrl, functionKey: FLEETS_KEY, timing: FAST }, 'game', body('game:hotfix'));
    assert.equal(byHand.revision, 2);
    const drifted = (await fleetProvider.read!('id', created.outs)) as { id: string; props: FleetOutputs };
    assert.equal(drifted.props.revision, 2);
    assert.deepEqual(fleetChanges(drifted.props, inputs(body('game:1'))).changes, ['body'], 'the stack wins on the next up');
    const restored = await update(drifted.props, inputs(body('game:1')));
    assert.equal(restored.outs.revision, 3);
    assert.equal(JSON.parse(api.fleets.get('game')!.body).template.containerGroup.containers[0].image, 'game:1');

    api.fleets.clear();
    assert.deepEqual(await fleetProvider.read!('id', restored.outs), { id: '', props: {} }, 'gone: the next up creates it');
  });

  it('deletes the fleet (its servers drain), and counts a fleet already gone (404) as deleted', async () => {
    const { outs } = await create(inputs(body('game:1')));
    await fleetProvider.delete!('id', outs);
    assert.equal(api.fleets.has('game'), false);
    await fleetProvider.delete!('id', outs);
    const deletes = api.requests.filter((r) => r.method === 'DELETE');
    assert.deepEqual(
      deletes.map((r) => [r.path, r.functionKey]),
      [
        ['/api/fleets/game', FLEETS_KEY],
        ['/api/fleets/game', FLEETS_KEY],
      ],
    );
  });

  it('asks a DELETE again after a 5xx; a 4xx other than 404 fails it', async () => {
    api.fleets.set('game', { body: '{}', template: '{}', revision: 3 });
    api.script.DELETE = [{ status: 502 }];
    const waiting = manualWaiting();
    assert.deepEqual(await deleteFleet({ apiBaseUrl: api.apiBaseUrl, functionKey: FLEETS_KEY, timing: FAST, waiting }, 'game'), {
      status: 202,
    });
    api.script.DELETE = [{ status: 412, body: { error: { code: 'PreconditionFailed', message: 'The fleet changed since you read it.' } } }];
    const error = await failure(deleteFleet({ apiBaseUrl: api.apiBaseUrl, functionKey: FLEETS_KEY, timing: FAST, waiting }, 'game'));
    assert.match(error.message, /^DELETE .*\/fleets\/game failed: HTTP 412 PreconditionFailed: The fleet changed since you read it\.$/);
  });

  it('bounds its retries by default to a few minutes', () => {
    let total = 0;
    for (let a = 1; a < DEFAULT_FLEET_API_TIMING.maxAttempts; a++)
      total += Math.min(DEFAULT_FLEET_API_TIMING.retryMaxDelayMs, DEFAULT_FLEET_API_TIMING.retryInitialDelayMs * 2 ** (a - 1));
    assert.ok(total >= 60_000 && total <= 10 * 60_000, `${total} ms`);
  });
});

describe('scrub', () => {
  it('replaces every secret, the longer first, and leaves a message without them alone', () => {
    assert.equal(scrub('a s3cret and s3cret-long', ['s3cret', 's3cret-long']), 'a <redacted> and <redacted>');
    assert.equal(scrub('nothing here', ['s3cret', '']), 'nothing here');
  });
});
