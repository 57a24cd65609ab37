// ARM that accepts a connection and then never finishes answering (no answer at all, or the
// headers and then nothing) must not hold a function until the host gives up: each ARM call ends
// after ARM_TIMEOUT_MS as a 503 AzureUnavailable with Retry-After, and the timed-out attempt is
// not retried (a caller waits one timeout, not one per retry).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FleetError } from '../../runtime/src/domain/core/errors';
import type { ContainerGroupSpec } from '../../runtime/src/domain/servers/requests';
import { readSettings } from '../../runtime/src/options';
import { createServices, type Services } from '../../runtime/src/services';
import { failure, stallingServer } from '../support/stalling';

const key = { resourceGroup: 'games', containerGroupName: 'gs-1' };

/** Services whose ARM is `armUrl`; storage is never reached by these calls. */
function servicesFor(armUrl: string, timeoutMs: number): Services {
  return createServices(
    readSettings({
      FLEET_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${Buffer.from('k').toString('base64')};BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;`,
      ARM_ENDPOINT: armUrl,
      ARM_TIMEOUT_MS: String(timeoutMs),
      ARM_MAX_RETRIES: '3',
      ARM_RETRY_DELAY_MS: '10',
      ARM_MAX_RETRY_DELAY_MS: '20',
      AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
    }),
  );
}

for (const stall of ['silent', 'headers'] as const) {
  describe(`ARM that ${stall === 'silent' ? 'never answers' : 'sends headers and then nothing'}`, () => {
    let arm: Awaited<ReturnType<typeof stallingServer>>;
    let services: Services;
    before(async () => {
      arm = await stallingServer(stall);
      services = servicesFor(arm.url, 1000);
    });
    after(() => arm?.close());

    /** `call` ends as a 503 AzureUnavailable naming the setting, after exactly one request to ARM. */
    const assertTimedOut = async (call: () => Promise<unknown>) => {
      const before = arm.requests();
      const e = await failure(call());
      assert.ok(e instanceof FleetError, String(e));
      assert.equal(e.code, 'AzureUnavailable', e.message);
      assert.equal(e.status, 503);
      assert.ok(e.retryAfterSeconds !== undefined && e.retryAfterSeconds > 0, 'a Retry-After the caller can use');
      assert.match(e.message, /within 1000 ms \(ARM_TIMEOUT_MS\)/);
      assert.equal(arm.requests() - before, 1, 'a timed-out attempt is not retried');
    };

    it('reading a group', () => assertTimedOut(() => services.groups.get(key)));
    it('creating a group (the initial PUT)', () =>
      assertTimedOut(() =>
        services.groups.beginCreate(key, {
          location: 'westeurope',
          containers: [{ name: 'game', image: 'nginx', resources: { requests: { cpu: 1, memoryInGB: 1.5 } } }],
          osType: 'Linux',
        } as unknown as ContainerGroupSpec),
      ));
    it('deleting a group', () => assertTimedOut(() => services.groups.beginDelete(key)));
    it("reading a container's logs", () => assertTimedOut(() => services.groups.logs(key, 'game')));
    it('listing the fleet', () => assertTimedOut(() => services.groups.listOwned('fleet', [])));
  });
}

describe('ARM that answers slowly, within ARM_TIMEOUT_MS', () => {
  let url: string;
  let close: () => Promise<void>;
  before(async () => {
    // A 404 after 100 ms: the group does not exist (an answer, not a timeout).
    const server = createServer((req, res) => {
      req.resume();
      setTimeout(() => {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'ResourceNotFound', message: 'not found' } }));
      }, 100);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise<void>((r) => server.close(() => r()));
  });
  after(() => close?.());

  it('is waited for: the answer arrives', async () => {
    assert.equal(await servicesFor(url, 30_000).groups.get(key), undefined);
  });
});
