// What a hostile caller sends to the front door: broken %-escapes in the path, bodies far larger
// than a function needs (read before any credential was checked), and deeply nested JSON. Each
// gets a 4xx JSON error, nothing is written, and no unauthenticated body is read.
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { FUNCTIONS } from '../../runtime/src/functions';
import type { HttpFunction } from '../../runtime/src/functions/definition';
import { LARGEST_BODY_BYTES } from '../../runtime/src/functions/http';
import { call, createBody, startTestFleet, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet();
});
after(() => fleet?.stop());

interface RawAnswer {
  status: number;
  body: any;
  /** How many body bytes had been sent when the answer arrived. */
  sentBeforeAnswer: number;
}

/**
 * Sends a request by hand: the path exactly as given (no URL normalisation), `declaredLength`
 * as Content-Length, and only `send` bytes of the body, the rest held back until the answer
 * arrives. An answer that comes while the body is still unsent proves the body was not needed.
 */
function rawRequest(
  base: string,
  options: { method?: string; path: string; headers?: Record<string, string>; declaredLength?: number; send?: Buffer | string },
): Promise<RawAnswer> {
  const url = new URL(base);
  const body = options.send === undefined ? Buffer.alloc(0) : Buffer.from(options.send);
  return new Promise((resolve, reject) => {
    let sent = 0;
    // A safety net only: a host that waits for the held-back body never answers at all.
    const deadline = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer to ${options.path} while ${sent} bytes of the body were sent`));
    }, 30_000);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'POST',
        path: options.path,
        headers: {
          ...options.headers,
          ...(options.declaredLength !== undefined ? { 'content-length': String(options.declaredLength) } : {}),
        },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* keep the text */
          }
          clearTimeout(deadline);
          resolve({ status: res.statusCode ?? 0, body: parsed, sentBeforeAnswer: sent });
          req.destroy(); // the rest of a held-back body is never sent
        });
      },
    );
    req.on('error', (e) => {
      // The server may close the connection once it has answered; only an error before any answer fails.
      if (!req.destroyed || sent === 0) reject(e);
    });
    if (body.length > 0) {
      req.write(body);
      sent = body.length;
    }
    // Without a declared length the body is all there is; with one, the rest is held back.
    if (options.declaredLength === undefined) req.end();
  });
}

/** Every row's ETag and every group: if nothing changed, nothing was written. */
const snapshot = async () =>
  JSON.stringify({
    rows: (await fleet.services.store.list()).map((r) => `${r.value.containerGroupName}@${r.etag}`).sort(),
    groups: fleet.emulator.groups().map((g) => g.id),
  });

const HTTP = FUNCTIONS.filter((f): f is HttpFunction => f.trigger === 'http');
const limitOf = (name: string) => HTTP.find((f) => f.name === name)!.maxBodyBytes;

describe('a broken %-escape in the path', () => {
  for (const path of ['/api/%', '/api/%zz', '/api/ACIList%', '/admin/functions/%E0%A4%A', '/runtime/webhooks/eventgrid%']) {
    for (const withKey of [false, true]) {
      it(`${path} ${withKey ? 'with' : 'without'} the key is a 4xx JSON error`, async () => {
        const res = await rawRequest(fleet.url, { method: 'GET', path, headers: withKey ? { 'x-functions-key': fleet.key } : {} });
        assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(typeof res.body?.error?.code, 'string');
      });
    }
  }

  it('is a 4xx from the ACI emulator too, as ARM answers it', async () => {
    const res = await rawRequest(fleet.emulator.url, {
      method: 'GET',
      path: `/subscriptions/${fleet.emulator.subscriptionId}/resourceGroups/games/providers/Microsoft.ContainerInstance/containerGroups/%zz?api-version=2023-05-01`,
    });
    assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(typeof res.body?.error?.code, 'string');
  });
});

describe('bodies: credentials first, then at most what each function needs', () => {
  it("every HTTP function declares a body limit, none above the Functions host's limit on Azure", () => {
    for (const fn of HTTP) {
      assert.ok(Number.isInteger(fn.maxBodyBytes) && fn.maxBodyBytes >= 0, fn.name);
      assert.ok(fn.maxBodyBytes <= LARGEST_BODY_BYTES, `${fn.name}: ${fn.maxBodyBytes}`);
    }
    assert.equal(LARGEST_BODY_BYTES, Math.max(...HTTP.map((f) => f.maxBodyBytes)), 'the host reads no more than the largest needs');
    // A game server's report and a matchmaker's booking are tiny; a batch of session reports is not.
    assert.ok(limitOf('ACIReport') <= 4096);
    assert.ok(limitOf('ACIAllocate') <= 4096);
    assert.ok(limitOf('ACISetSessions') >= 5000 * 200, 'room for the largest batch the schema allows');
  });

  const forged = 'v2.Z2FtZXMvbm9ib2R5.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

  it('refuses a forged report token before reading the body', async () => {
    const res = await rawRequest(fleet.url, {
      path: '/api/ACIReport',
      headers: { authorization: `Bearer ${forged}` },
      declaredLength: 2000,
      send: '{"activeSessions":',
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'Forbidden');
  });

  it('refuses a 9.9 MB report before reading a byte of it, whatever its token', async () => {
    const res = await rawRequest(fleet.url, {
      path: '/api/ACIReport',
      headers: { authorization: `Bearer ${forged}` },
      declaredLength: 9_900_000,
      send: '{"activeSessions":',
    });
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'PayloadTooLarge');
  });

  it('refuses a function call without the key before reading its body', async () => {
    const res = await rawRequest(fleet.url, { path: '/api/ACISetSessions', declaredLength: 900_000, send: '[' });
    assert.equal(res.status, 401);
  });

  it("refuses a declared length over the function's limit before reading the body", async () => {
    for (const name of ['ACIAllocate', 'ACICreate', 'ACIDelete', 'ACISetSessions']) {
      const res = await rawRequest(fleet.url, {
        path: `/api/${name}`,
        headers: { 'x-functions-key': fleet.key },
        declaredLength: limitOf(name) + 1,
        send: '{',
      });
      assert.equal(res.status, 413, name);
      assert.equal(res.body.error.code, 'PayloadTooLarge');
      assert.equal(res.body.error.details.limit, limitOf(name));
    }
  });

  it('stops reading a chunked body (no declared length) once it passes the limit', async () => {
    const before = await snapshot();
    const padded = `{"resourceGroup":"games","containerGroupName":"nobody"${' '.repeat(limitOf('ACIDelete'))}}`;
    const res = await rawRequest(fleet.url, {
      path: '/api/ACIDelete',
      headers: { 'x-functions-key': fleet.key, 'transfer-encoding': 'chunked' },
      send: padded,
    });
    assert.equal(res.status, 413);
    assert.equal(await snapshot(), before);
  });

  it('caps each function at what it needs: a padded report or booking is too large, a large batch is not', async () => {
    const padding = ' '.repeat(8 * 1024);
    const report = await fetch(`${fleet.url}/api/ACIReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${forged}` },
      body: `{"activeSessions":1${padding}}`,
    });
    assert.equal(report.status, 413);
    const booking = await call(fleet, 'ACIAllocate', `{"sessions":1${padding}}`);
    assert.equal(booking.status, 413);
    // 1,000 reports for servers that do not exist: read whole (≈ 80 KB), then refused as unknown.
    const batch = Array.from({ length: 1000 }, (_, i) => ({
      resourceGroup: 'games',
      containerGroupName: `nobody-${i}`,
      activeSessions: 1,
    }));
    const res = await call(fleet, 'ACISetSessions', batch);
    assert.equal(res.status, 404, JSON.stringify(res.body).slice(0, 200));
  });
});

describe('deeply nested JSON', () => {
  /** `body` as JSON text with `"$DEEP"` replaced by `depth` nested arrays (JSON.stringify itself would overflow). */
  const withDeep = (body: unknown, depth: number) => JSON.stringify(body).replace('"$DEEP"', `${'['.repeat(depth)}${']'.repeat(depth)}`);

  it('5,000 levels inside containerGroup (10 KB) is a 400 that writes nothing', async () => {
    const before = await snapshot();
    const body = withDeep(createBody('deep-1', { containerGroup: { ...createBody('x').containerGroup, extra: '$DEEP' } }), 5000);
    assert.ok(body.length < 11_000);
    const res = await call(fleet, 'ACICreate', body);
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
    assert.equal(res.body.error.code, 'ValidationFailed');
    assert.match(res.body.error.message, /nest/i);
    assert.equal(await snapshot(), before);
  });

  it('the same inside a volume and inside a session batch', async () => {
    const volume = createBody('deep-2', {
      containerGroup: { ...createBody('x').containerGroup, volumes: [{ name: 'v', emptyDir: { deep: '$DEEP' } }] },
    });
    assert.equal((await call(fleet, 'ACICreate', withDeep(volume, 5000))).status, 400);
    const batch = [{ resourceGroup: 'games', containerGroupName: 'nobody', activeSessions: 1, deep: '$DEEP' }];
    assert.equal((await call(fleet, 'ACISetSessions', withDeep(batch, 5000))).status, 400);
  });

  it('ordinary nesting (an ARM spec is a handful of levels deep) still passes', async () => {
    const body = createBody('deep-ok', {
      containerGroup: { ...createBody('x').containerGroup, extra: { a: { b: { c: { d: [[{ e: 1 }]] } } } } },
    });
    assert.equal((await call(fleet, 'ACICreate', body)).status, 202);
  });
});
