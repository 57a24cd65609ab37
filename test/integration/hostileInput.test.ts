// What a hostile caller sends to the front door: broken %-escapes in the path, bodies far larger
// than a function needs (read before any credential was checked), and deeply nested JSON. Each
// gets a 4xx JSON error, nothing is written, and no unauthenticated body is read.
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FUNCTIONS } from '../../runtime/src/functions';
import type { HttpFunction } from '../../runtime/src/functions/definition';
import { LARGEST_BODY_BYTES } from '../../runtime/src/functions/http';
import { compileRoute } from '../../runtime/src/functions/routes';
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

/**
 * Sends `head` (request line and headers, CRLF-separated, without the blank line) byte for byte
 * on a new connection and reads the answer until the host closes it: what no HTTP client sends.
 */
function rawExchange(head: string, body = ''): Promise<{ status: number; headers: Record<string, string>; body: any }> {
  const { hostname, port } = new URL(fleet.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(`${head}\r\nconnection: close\r\n\r\n${body}`));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [top = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = top.split('\r\n');
      const headers = Object.fromEntries(
        headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const bodyText = headers['transfer-encoding'] === 'chunked' ? unchunked(rest.join('\r\n\r\n')) : rest.join('\r\n\r\n');
      let parsed: unknown = bodyText;
      try {
        parsed = bodyText ? JSON.parse(bodyText) : undefined;
      } catch {
        /* keep the text */
      }
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body: parsed });
    });
  });
}

/** A chunked body's data (`<hex size>\r\n<data>\r\n` … `0\r\n\r\n`). */
function unchunked(text: string): string {
  let out = '';
  for (let at = 0; ; ) {
    const end = text.indexOf('\r\n', at);
    const size = Number.parseInt(text.slice(at, end), 16);
    if (!(size > 0)) return out;
    out += text.slice(end + 2, end + 2 + size);
    at = end + 2 + size + 2;
  }
}

describe('methods nobody registers and Host headers that are not hosts', () => {
  const routeOf = (fn: HttpFunction) => compileRoute(fn.route).documentedPath.replace(/\{\w+\}/g, 'some-fleet');

  for (const method of ['TRACE', 'PROPFIND', 'MKCOL', 'LOCK']) {
    it(`${method} to every HTTP function is a 405 JSON error naming the methods it takes, and writes nothing`, async () => {
      const before = await snapshot();
      for (const fn of HTTP) {
        const res = await rawExchange(`${method} ${routeOf(fn)} HTTP/1.1\r\nhost: localhost\r\nx-functions-key: ${fleet.key}`);
        assert.equal(res.status, 405, `${method} ${fn.name}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body?.error?.code, 'MethodNotAllowed', fn.name);
        assert.equal(res.headers.allow, fn.methods.join(', '), fn.name);
      }
      assert.equal(await snapshot(), before);
    });
  }

  it('CONNECT is a 405 JSON error (the host is no proxy)', async () => {
    const res = await rawExchange('CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443');
    assert.equal(res.status, 405);
    assert.equal(res.body?.error?.code, 'MethodNotAllowed');
  });

  it('TRACE and GET to the Event Grid webhook are 405, not a delivery', async () => {
    for (const method of ['TRACE', 'GET']) {
      const res = await rawExchange(
        `${method} /runtime/webhooks/eventgrid?functionName=ACIMonitor HTTP/1.1\r\nhost: localhost\r\nx-functions-key: ${fleet.key}\r\naeg-event-type: Notification`,
      );
      assert.equal(res.status, 405, method);
      assert.equal(res.body?.error?.code, 'MethodNotAllowed');
    }
  });

  // Userinfo, a path, a query or a fragment in Host used to reach the URL the function sees:
  // `a@b` was a 500, and `x?y` turned /api/openapi.json into the page at `/`.
  const notHosts = ['a@b', 'user:pw@localhost', '', 'x/y', 'x?y', 'x#y', 'a:b:c', '[::1', 'localhost:99999', 'local host'];
  for (const host of notHosts) {
    it(`Host: ${JSON.stringify(host)} is a 400 JSON error for every function and the webhooks, and writes nothing`, async () => {
      const before = await snapshot();
      const paths = [...HTTP.map(routeOf), '/runtime/webhooks/eventgrid?functionName=ACIMonitor', '/admin/functions/ACIGC'];
      for (const path of paths) {
        const res = await rawExchange(`POST ${path} HTTP/1.1\r\nhost: ${host}\r\nx-functions-key: ${fleet.key}\r\ncontent-length: 2`, '{}');
        assert.equal(res.status, 400, `${path}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body?.error?.code, 'ValidationFailed', path);
        assert.match(res.body.error.message, /Host/);
      }
      assert.equal(await snapshot(), before);
    });
  }

  it('serves hosts as they come: names, addresses, IPv6 literals, ports, the absolute form and HTTP/1.0 without Host', async () => {
    for (const host of ['localhost', 'fleet.example.com', 'fleet.example.com.', '127.0.0.1:7071', '[::1]', '[::1]:8080']) {
      const res = await rawExchange(`GET /api/openapi.json HTTP/1.1\r\nhost: ${host}`);
      assert.equal(res.status, 200, host);
    }
    const absolute = await rawExchange('GET http://fleet.example.com/api/openapi.json HTTP/1.1\r\nhost: other');
    assert.equal(absolute.status, 200);
    const old = await rawExchange('GET /api/openapi.json HTTP/1.0');
    assert.equal(old.status, 200);
  });

  it('a request that is not HTTP, or whose headers are too large, is a 4xx JSON error', async () => {
    const garbage = await rawExchange('NOT HTTP AT ALL');
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body?.error?.code, 'ValidationFailed');
    const framing = await rawExchange('POST /api/ACISetState HTTP/1.1\r\nhost: localhost\r\ncontent-length: 5\r\ncontent-length: 6');
    assert.equal(framing.status, 400);
    assert.equal(framing.body?.error?.code, 'ValidationFailed');
    const huge = await rawExchange(`GET /api/ACIList HTTP/1.1\r\nhost: localhost\r\nx-padding: ${'a'.repeat(20_000)}`);
    assert.equal(huge.status, 431);
    assert.equal(huge.body?.error?.code, 'HeadersTooLarge');
  });
});

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
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'Unauthorized');
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

describe('a UTF-8 byte order mark before the JSON', () => {
  it('is read past, as PowerShell and .NET clients send it', async () => {
    const body = JSON.stringify({ resourceGroup: 'games', containerGroupName: 'bom-nobody', state: 'MarkedForDeletion' });
    const res = await call(fleet, 'ACISetState', `\uFEFF${body}`);
    assert.equal(res.status, 404, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'NotFound');
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

describe('values that fit the body limit but not a table row', () => {
  const withImage = (name: string, image: string) =>
    createBody(name, {
      containerGroup: { ...createBody('x').containerGroup, containers: [{ ...createBody('x').containerGroup.containers[0]!, image }] },
    });

  it('a 40,000-character image is a 400 naming the field, not a 500 from Table Storage, and writes nothing', async () => {
    const before = await snapshot();
    const res = await call(fleet, 'ACICreate', withImage('long-image', `example.com/${'a'.repeat(40_000)}`));
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
    assert.equal(res.body.error.details[0].path, 'containerGroup.containers[0].image');
    assert.equal(await snapshot(), before);
  });

  it('a fleet with that image is refused too, so its controller never meets it', async () => {
    const { containerGroup, resourceGroup } = withImage('x', 'a'.repeat(40_000));
    const res = await call(fleet, 'fleets/long-image', { template: { resourceGroup, containerGroup }, replicas: 1 }, { method: 'PUT' });
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
    assert.equal((await call(fleet, 'fleets/long-image')).status, 404);
  });

  it('a 64-KiB fleet that grows past a row once parsed (1e20 is stored as 21 digits) is a 400, not a 503, and writes nothing', async () => {
    const { containerGroup, resourceGroup } = createBody('x');
    const numbers = Array(12_000).fill('1e20').join(',');
    const body = JSON.stringify({
      template: { resourceGroup, containerGroup: { ...containerGroup, dnsConfig: { x: '$N' } } },
      replicas: 1,
    }).replace('"$N"', `[${numbers}]`);
    assert.ok(body.length < limitOf('Fleet'), `${body.length} bytes`);
    const res = await call(fleet, 'fleets/grown', body, { method: 'PUT' });
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
    assert.match(res.body.error.message, /characters as stored JSON/);
    assert.equal((await call(fleet, 'fleets/grown')).status, 404);
  });
});
