// The smoke test against the local fake of the app and ARM: it passes on a working fleet (and
// returns the function key), waits for an app that is still starting, and fails the update with
// what is wrong when the OpenAPI document, ACIList or an Event Grid subscription is not right.
import { describe, it, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  aciListVerdict,
  anonymousListVerdict,
  hostKeysVerdict,
  openApiVerdict,
  smokeTest,
  subscriptionVerdict,
  type SmokeTestError,
  type Verdict,
} from '../../infra/deploy/smokeTest';
import {
  APP_RESOURCE_ID,
  FUNCTION_KEY,
  OPENAPI_DOCUMENT,
  manualWaiting,
  startFakeAzure,
  type FakeAzure,
  type FakeScript,
} from './support/fakeAzure';

const SUBSCRIPTIONS = ['a', 'b'].map(
  (g) =>
    `/subscriptions/sub/resourceGroups/servers-${g}/providers/Microsoft.EventGrid/systemTopics/topic-${g}/eventSubscriptions/aci-monitor`,
);

let fake: FakeAzure | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function smoke(script: FakeScript, opts: { listPublic?: boolean; timeoutMs?: number } = {}) {
  fake = await startFakeAzure({ eventSubscriptions: Object.fromEntries(SUBSCRIPTIONS.map((id) => [id, ['Succeeded']])), ...script });
  const waiting = manualWaiting();
  const run = smokeTest({
    armUrl: fake.url,
    appResourceId: APP_RESOURCE_ID,
    apiBaseUrl: `${fake.url}/api`,
    openApiUrl: `${fake.url}/api/openapi.json`,
    listPublic: opts.listPublic ?? false,
    eventSubscriptionIds: SUBSCRIPTIONS,
    getToken: () => 'arm-token',
    timing: { pollIntervalMs: 10_000, timeoutMs: opts.timeoutMs ?? 10 * 60_000, requestTimeoutMs: 60_000 },
    waiting,
  });
  return { run, fake, waiting };
}

const failure = (run: Promise<unknown>) =>
  run.then(
    () => assert.fail('expected the smoke test to fail'),
    (e: unknown) => e as SmokeTestError,
  );

describe('smokeTest', () => {
  it('passes on a working fleet, reading the key with the ARM token and calling ACIList with the key', async () => {
    const { run, fake } = await smoke({});
    const result = await run;
    assert.equal(result.functionKey, FUNCTION_KEY);
    assert.equal(result.passed.length, 1 + 1 + SUBSCRIPTIONS.length + 2);
    const listKeys = fake.requests.find((r) => r.path.includes('/host/default/listkeys'))!;
    assert.equal(listKeys.method, 'POST');
    assert.equal(listKeys.authorization, 'Bearer arm-token');
    const lists = fake.requests.filter((r) => r.path === '/api/ACIList');
    assert.deepEqual(lists.map((r) => r.functionKey).sort(), [FUNCTION_KEY, undefined].sort());
    for (const r of fake.requests.filter((x) => x.path.startsWith('/api/')))
      assert.equal(r.authorization, undefined, 'the app never sees the ARM token');
    for (const id of SUBSCRIPTIONS)
      assert.ok(
        fake.requests.some((r) => r.path === `${id}?api-version=2025-02-15`),
        id,
      );
  });

  it('does not ask for a refusal without a key when the list is public', async () => {
    const { run, fake } = await smoke({ aciList: { withoutKey: [{ status: 200, body: [] }] } }, { listPublic: true });
    await run;
    assert.equal(fake.requests.filter((r) => r.path === '/api/ACIList').length, 1);
  });

  it('waits for an app that is still starting: no key yet, the document and ACIList not served yet, a subscription still creating', async () => {
    const { run, waiting } = await smoke({
      hostKeys: [
        { status: 200, body: { masterKey: 'm', functionKeys: {}, systemKeys: {} } },
        { status: 200, body: { functionKeys: { default: FUNCTION_KEY } } },
      ],
      openApi: [{ status: 503, body: 'starting' }, { status: 404 }, { status: 200, body: OPENAPI_DOCUMENT }],
      aciList: { withKey: [{ status: 503 }, { status: 200, body: [] }] },
      eventSubscriptions: { [SUBSCRIPTIONS[0]]: ['Creating', 'Succeeded'], [SUBSCRIPTIONS[1]]: ['Succeeded'] },
    });
    assert.equal((await run).functionKey, FUNCTION_KEY);
    assert.ok(waiting.elapsed() > 0 && waiting.elapsed() < 10 * 60_000);
  });

  it('fails with what is wrong when ACIList never answers with the key', async () => {
    const { run, waiting } = await smoke({
      aciList: { withKey: [{ status: 500, body: { error: { code: 'Internal', message: 'boom' } } }] },
    });
    const error = await failure(run);
    assert.match(error.message, /The smoke test failed \(still, after 10 min\)/);
    assert.match(error.message, /ACIList with the function key .*: ACIList answered HTTP 500: boom with the function key/);
    assert.equal(error.problems.length, 1, error.message);
    assert.ok(waiting.elapsed() >= 10 * 60_000);
  });

  it('fails at once when an Event Grid subscription is Failed, naming it', async () => {
    const { run, waiting } = await smoke({ eventSubscriptions: { [SUBSCRIPTIONS[0]]: ['Succeeded'], [SUBSCRIPTIONS[1]]: ['Failed'] } });
    const error = await failure(run);
    assert.match(error.message, /Event Grid subscription .*topic-b\/eventSubscriptions\/aci-monitor: is Failed/);
    assert.equal(waiting.elapsed(), 0, 'a final failure is not waited on');
  });

  it('fails at once when ACIList answers without a key although the list is not public', async () => {
    const error = await failure((await smoke({ aciList: { withoutKey: [{ status: 200, body: [] }] } })).run);
    assert.match(error.message, /ACIList without a key: ACIList answers without a function key although serverListPublic is false/);
  });

  it("fails with what is wrong when the document is not the API's", async () => {
    const error = await failure((await smoke({ openApi: [{ status: 200, body: { openapi: '3.1.0', paths: {} } }] })).run);
    assert.match(error.message, /the OpenAPI document .*: the OpenAPI document does not list ACIList/);
  });

  it('fails naming every check still failing at the deadline', async () => {
    const { run } = await smoke(
      { openApi: [{ status: 404 }], eventSubscriptions: { [SUBSCRIPTIONS[0]]: ['Creating'], [SUBSCRIPTIONS[1]]: ['Succeeded'] } },
      { timeoutMs: 60_000 },
    );
    const error = await failure(run);
    assert.equal(error.problems.length, 2, error.message);
    assert.match(error.message, /the OpenAPI document .*HTTP 404/);
    assert.match(error.message, /topic-a\/eventSubscriptions\/aci-monitor: is Creating/);
  });
});

describe('smoke test verdicts', () => {
  const outcome = (v: Verdict<unknown>) => (v.ok ? 'pass' : v.final ? 'fail' : 'wait');
  const cases: Array<[string, (status: number, text: string) => Verdict<unknown>, number, unknown, 'pass' | 'wait' | 'fail']> = [
    ['keys with a default key', hostKeysVerdict, 200, { functionKeys: { default: 'k' } }, 'pass'],
    ['keys without a default key yet', hostKeysVerdict, 200, { functionKeys: {} }, 'wait'],
    ['keys while the host starts', hostKeysVerdict, 400, 'Encountered an error (ServiceUnavailable) from host runtime', 'wait'],
    ['keys refused to the deployer', hostKeysVerdict, 403, { error: { message: 'no' } }, 'fail'],
    ['the document', openApiVerdict, 200, OPENAPI_DOCUMENT, 'pass'],
    ['no document yet', openApiVerdict, 503, '', 'wait'],
    ['a document of OpenAPI 2', openApiVerdict, 200, { swagger: '2.0', paths: { '/api/ACIList': {} } }, 'fail'],
    ['a document that is not JSON', openApiVerdict, 200, '<html>', 'fail'],
    ['ACIList with servers', aciListVerdict, 200, [{ containerGroupName: 'gs-1' }], 'pass'],
    ['ACIList answering an object', aciListVerdict, 200, { servers: [] }, 'fail'],
    ['ACIList refusing the key (keys not synced yet)', aciListVerdict, 401, '', 'wait'],
    ['ACIList refusing an anonymous caller', anonymousListVerdict, 401, '', 'pass'],
    ['ACIList open to an anonymous caller', anonymousListVerdict, 200, [], 'fail'],
    ['a Succeeded subscription', subscriptionVerdict, 200, { properties: { provisioningState: 'Succeeded' } }, 'pass'],
    [
      'an AwaitingManualAction subscription',
      subscriptionVerdict,
      200,
      { properties: { provisioningState: 'AwaitingManualAction' } },
      'wait',
    ],
    ['a Canceled subscription', subscriptionVerdict, 200, { properties: { provisioningState: 'Canceled' } }, 'fail'],
    ['a subscription that does not exist', subscriptionVerdict, 404, '', 'fail'],
  ];
  for (const [what, verdict, status, body, expected] of cases) {
    it(`${expected}s on ${what}`, () => {
      assert.equal(outcome(verdict(status, typeof body === 'string' ? body : JSON.stringify(body))), expected);
    });
  }
});
