// Storage that accepts a connection and then never finishes answering (no answer at all, or the
// headers and then nothing) must not hang a function: every Table and Blob call ends within its
// bounded timeouts and retries, as a 503 StorageUnavailable with Retry-After.
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { InvocationContext, HttpRequest } from '@azure/functions';
import { FleetError } from '../../runtime/src/domain/core/errors';
import { FUNCTIONS } from '../../runtime/src/functions';
import type { HttpFunction } from '../../runtime/src/functions/definition';
import { readSettings } from '../../runtime/src/options';
import { createServices, type Services } from '../../runtime/src/services';

type Stall = 'silent' | 'headers';

/** A storage endpoint that stalls every request: no answer at all, or the status and headers only. */
async function stallingStorage(stall: Stall): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    requests++;
    req.resume();
    held.push(res);
    if (stall === 'headers') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000', etag: '"0x1"' });
      res.write('{"PartitionKey":');
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Settles to the error `work` fails with, or fails the test if it is still pending after `safetyMs` (a hang). */
async function failure(work: Promise<unknown>, safetyMs = 60_000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${safetyMs} ms: it hangs`)), safetyMs);
  });
  try {
    await Promise.race([work, hang]);
  } catch (e) {
    if ((e as Error).message.includes('it hangs')) throw e;
    return e;
  } finally {
    clearTimeout(timer);
  }
  assert.fail('the call succeeded against storage that never answers');
}

for (const stall of ['silent', 'headers'] as const) {
  describe(`storage that ${stall === 'silent' ? 'never answers' : 'sends headers and then nothing'}`, () => {
    let storage: Awaited<ReturnType<typeof stallingStorage>>;
    let services: Services;
    before(async () => {
      storage = await stallingStorage(stall);
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
