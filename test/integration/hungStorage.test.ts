// Storage that accepts a connection and then never finishes answering (no answer at all, or the
// headers and then nothing) must not hang a function: every Table and Blob call ends within its
// bounded timeouts and retries, as a 503 StorageUnavailable with Retry-After.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvocationContext, HttpRequest } from '@azure/functions';
import { FleetError } from '../../runtime/src/domain/core/errors';
import { FUNCTIONS } from '../../runtime/src/functions';
import type { HttpFunction } from '../../runtime/src/functions/definition';
import { readSettings } from '../../runtime/src/options';
import { createServices, type Services } from '../../runtime/src/services';
import { failure, stallingServer } from '../support/stalling';

for (const stall of ['silent', 'headers'] as const) {
  describe(`storage that ${stall === 'silent' ? 'never answers' : 'sends headers and then nothing'}`, () => {
    let storage: Awaited<ReturnType<typeof stallingServer>>;
    let services: Services;
    before(async () => {
      storage = await stallingServer(stall);
      const endpoint = `${storage.url}/devstoreaccount1`;
      const settings = readSettings({
        FLEET_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${Buffer.from('k').toString('base64')};BlobEndpoint=${endpoint};TableEndpoint=${endpoint};`,
        ARM_ENDPOINT: 'http://127.0.0.1:9',
        AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
      });
      services = createServices(settings, { storage: { timeoutMs: 200, maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 } });
    });
    after(() => storage?.close());

    const assertUnavailable = (e: unknown) => {
      assert.ok(e instanceof FleetError, String(e));
      assert.equal(e.code, 'StorageUnavailable', e.message);
      assert.equal(e.status, 503);
      assert.ok(e.retryAfterSeconds !== undefined && e.retryAfterSeconds > 0, 'a Retry-After the caller can use');
    };

    it('a Table read ends as StorageUnavailable with Retry-After', async () => {
      assertUnavailable(await failure(services.store.get({ resourceGroup: 'games', containerGroupName: 'gs-1' })));
    });

    it("a fleet's Blob state read and write end as StorageUnavailable with Retry-After", async () => {
      const state = services.fleetState('default');
      assertUnavailable(await failure(state.read()));
      assertUnavailable(await failure(state.write({ creates: [] } as never, undefined)));
    });

    it('an HTTP function answers 503 JSON with Retry-After', async () => {
      const fn = FUNCTIONS.find((f): f is HttpFunction => f.trigger === 'http' && f.name === 'ACIList')!;
      const request = new HttpRequest({ method: 'GET', url: 'http://localhost/api/ACIList' });
      const res = await fn.handler(request, new InvocationContext({ functionName: 'ACIList', logHandler: () => {} }), services);
      assert.equal(res.status, 503);
      assert.equal((res.jsonBody as { error: { code: string } }).error.code, 'StorageUnavailable');
      assert.ok(Number((res.headers as Record<string, string>)['Retry-After']) > 0);
    });
  });
}
