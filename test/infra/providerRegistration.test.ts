// Resource provider registration against the local fake of ARM: nothing to do when Registered,
// register and wait when not, say what to do when the identity may not, give up after a bound.
import { describe, it, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { registerProvider, type RegistrationError } from '../../infra/deploy/providerRegistration';
import { registrationReplaces } from '../../infra/deploy/registrationProvider';
import { FAST, SUBSCRIPTION, manualWaiting, startFakeAzure, type FakeAzure, type FakeScript } from './support/fakeAzure';

let fake: FakeAzure | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const timing = {
  pollIntervalMs: 5,
  timeoutMs: 60_000,
  retryInitialDelayMs: 5,
  retryMaxDelayMs: 20,
  requestTimeoutMs: FAST.requestTimeoutMs,
};

async function register(
  script: FakeScript,
  namespace = 'Microsoft.ContainerInstance',
  waiting?: ReturnType<typeof manualWaiting>,
  t = timing,
) {
  fake = await startFakeAzure(script);
  const logs: string[] = [];
  const run = registerProvider({
    armUrl: fake.url,
    subscriptionId: SUBSCRIPTION,
    namespace,
    getToken: () => 'arm-token',
    timing: t,
    waiting,
    log: (m) => logs.push(m),
  });
  return { run, fake, logs };
}

const posts = (f: FakeAzure) => f.requests.filter((r) => r.method === 'POST');

describe('registerProvider', () => {
  it('does nothing but read when the provider is Registered already', async () => {
    const { run, fake } = await register({ providers: { 'Microsoft.ContainerInstance': ['Registered'] } });
    assert.deepEqual(await run, { namespace: 'Microsoft.ContainerInstance', registrationState: 'Registered', registeredNow: false });
    assert.equal(posts(fake).length, 0);
    assert.match(fake.requests[0].path, /^\/subscriptions\/sub\/providers\/Microsoft\.ContainerInstance\?api-version=2021-04-01$/);
    assert.equal(fake.requests[0].authorization, 'Bearer arm-token');
  });

  it('registers a NotRegistered provider once, then waits while it is Registering', async () => {
    const { run, fake, logs } = await register(
      {
        providers: { 'Microsoft.EventGrid': ['NotRegistered', 'Registering', 'Registering', 'Registered'] },
      },
      'Microsoft.EventGrid',
    );
    assert.deepEqual(await run, { namespace: 'Microsoft.EventGrid', registrationState: 'Registered', registeredNow: true });
    assert.deepEqual(
      posts(fake).map((r) => r.path),
      ['/subscriptions/sub/providers/Microsoft.EventGrid/register?api-version=2021-04-01'],
    );
    assert.equal(fake.requests.filter((r) => r.method === 'GET').length, 4);
    assert.match(logs.join('\n'), /registration requested/);
  });

  it('registers again a provider someone unregistered', async () => {
    const { run, fake } = await register({ providers: { 'Microsoft.Web': ['Unregistered', 'Registered'] } }, 'Microsoft.Web');
    assert.equal((await run).registeredNow, true);
    assert.equal(posts(fake).length, 1);
  });

  it('rides out throttling and platform errors on the way', async () => {
    const { run, fake } = await register(
      {
        providers: { 'Microsoft.KeyVault': ['NotRegistered', 'NotRegistered', 'Registered'] },
        register: {
          'Microsoft.KeyVault': [{ status: 429, body: { error: { code: 'TooManyRequests', message: 'slow down' } } }, { status: 200 }],
        },
      },
      'Microsoft.KeyVault',
    );
    assert.equal((await run).registrationState, 'Registered');
    assert.equal(posts(fake).length, 2);
  });

  it('says what is missing when the identity may not register providers', async () => {
    const { run, fake } = await register(
      {
        providers: { 'Microsoft.Insights': ['NotRegistered'] },
        register: {
          'Microsoft.Insights': [
            {
              status: 403,
              body: {
                error: {
                  code: 'AuthorizationFailed',
                  message: 'does not have authorization to perform action Microsoft.Insights/register/action',
                },
              },
            },
          ],
        },
      },
      'Microsoft.Insights',
    );
    await assert.rejects(
      run,
      (e: RegistrationError) =>
        e.code === 'forbidden' && /may not register Microsoft\.Insights/.test(e.message) && /register\/action/.test(e.message),
    );
    assert.equal(posts(fake).length, 1, 'a refusal is not retried');
  });

  it('gives up after its bound when the provider never becomes Registered, measured on its clock', async () => {
    const waiting = manualWaiting();
    const { run } = await register(
      { providers: { 'Microsoft.OperationalInsights': ['NotRegistered', 'Registering'] } },
      'Microsoft.OperationalInsights',
      waiting,
      { ...timing, pollIntervalMs: 5_000, timeoutMs: 15 * 60_000 },
    );
    await assert.rejects(
      run,
      (e: RegistrationError) => e.code === 'timeout' && /not Registered .* after 15 min \(last: Registering\)/.test(e.message),
    );
    assert.ok(waiting.elapsed() >= 15 * 60_000 && waiting.elapsed() < 15 * 60_000 + 5_000, String(waiting.elapsed()));
  });
});

describe('registrationReplaces', () => {
  const olds = { subscriptionId: 'sub', namespace: 'Microsoft.Web', registrationState: 'Registered' };
  const cases: Array<[string, { subscriptionId: string; namespace: string }, string[]]> = [
    ['the same provider with a new token', { subscriptionId: 'sub', namespace: 'Microsoft.Web' }, []],
    ['the same provider in another casing', { subscriptionId: 'SUB', namespace: 'microsoft.web' }, []],
    ['another provider', { subscriptionId: 'sub', namespace: 'Microsoft.Storage' }, ['namespace']],
    ['another subscription', { subscriptionId: 'sub-2', namespace: 'Microsoft.Web' }, ['subscriptionId']],
  ];
  for (const [what, news, replaces] of cases) {
    it(`${replaces.length ? 'replaces' : 'keeps'} the registration for ${what}`, () => {
      assert.deepEqual(registrationReplaces(olds, { ...news, armUrl: 'https://arm', token: 't' }), replaces);
    });
  }
});
