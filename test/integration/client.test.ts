// The typed client against the local host: every endpoint, typed results and errors, retries on
// 503 honouring Retry-After (through a proxy that answers 503 first), and safe allocation retries.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import {
  API_ERROR_CODES,
  ERROR_STATUS,
  FleetApiError,
  FleetClient,
  isFleetApiError,
  newRequestId,
  parseRetryAfter,
  reportSessions,
  retryDelayMs,
  type Server,
} from '../../runtime/client';
import { FUNCTIONS } from '../../runtime/src/functions';
import type { ServerView } from '../../runtime/src/domain/servers/server';
import { FleetError, statusOfCode, type FleetErrorCode as ServerErrorCode } from '../../runtime/src/domain/core/errors';
import type { HttpFunction } from '../../runtime/src/functions/definition';
import { errorCodes } from '../../runtime/src/functions/openApiDocument';
import type { FleetErrorCode as ClientErrorCode, ReportResult as ClientReportResult } from '../../runtime/client';
import type { ReportResult as ServerReportResult } from '../../runtime/src/domain/reports/serverReports';
import type { Fleet as ClientFleet, FleetSpec as ClientFleetSpec } from '../../runtime/client';
import type { FleetView } from '../../runtime/src/domain/fleets/fleet';
import type { FleetSpecInput } from '../../runtime/src/domain/fleets/requests';
import { createBody, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';

// Compile-time: the client's standalone Server type is exactly the server's view.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const serverTypesAgree: Same<Server, ServerView> = true;
void serverTypesAgree;
// Compile-time: the client names exactly the codes the server answers with, plus its own two.
const errorCodesAgree: Same<ServerErrorCode, Exclude<ClientErrorCode, 'HttpError' | 'NetworkError'>> = true;
void errorCodesAgree;
const reportResultsAgree: Same<ClientReportResult, ServerReportResult> = true;
void reportResultsAgree;
// Compile-time: the client's fleet is the server's view, and its spec is a body the server accepts.
const fleetTypesAgree: Same<ClientFleet, FleetView> = true;
void fleetTypesAgree;
const specAccepted = (spec: ClientFleetSpec): FleetSpecInput => spec;
void specAccepted;

const hasFunction = (name: string) => FUNCTIONS.some((f) => f.name === name);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A proxy in front of the host: answers the first `failures` matching calls itself, forwards the rest. */
interface Proxy {
  url: string;
  seen: Array<{ path: string; body: string; headers: Record<string, string | string[] | undefined> }>;
  failNext(pathPart: string, failures: number, status?: number, retryAfter?: string, code?: string): void;
  close(): Promise<void>;
}
async function startProxy(target: string): Promise<Proxy> {
  let rule: { pathPart: string; left: number; status: number; retryAfter?: string; code: string } | undefined;
  const seen: Proxy['seen'] = [];
  const server: HttpServer = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    seen.push({ path: req.url ?? '', body: body.toString(), headers: req.headers });
    if (rule && req.url?.includes(rule.pathPart) && rule.left > 0) {
      rule.left--;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (rule.retryAfter !== undefined) headers['retry-after'] = rule.retryAfter;
      res.writeHead(rule.status, headers).end(JSON.stringify({ error: { code: rule.code, message: 'try again' } }));
      return;
    }
    const upstream = httpRequest(
      `${target}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    failNext(pathPart, failures, status = 503, retryAfter = '1', code = 'StorageUnavailable') {
      rule = { pathPart, left: failures, status, retryAfter, code };
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let fleet: LocalFleet;
let proxy: Proxy;
let client: FleetClient;
const key = { resourceGroup: 'games', containerGroupName: 'client-1' };

before(async () => {
  fleet = await startTestFleet();
  proxy = await startProxy(fleet.url);
  // A short cap keeps retried tests quick; the policy itself is checked below by retryDelayMs.
  client = new FleetClient({ baseUrl: proxy.url, functionKey: fleet.key, retry: { maxDelayMs: 50 } });
});
after(async () => {
  await proxy?.close();
  await fleet?.stop();
});

describe('FleetClient against the local host', () => {
  it('creates a server (created, then the same spec again is not)', async () => {
    const first = await client.create(createBody(key.containerGroupName) as any);
    assert.equal(first.created, true);
    assert.equal(first.server.State, 'Creating');
    const again = await client.create(createBody(key.containerGroupName) as any);
    assert.equal(again.created, false);
    await eventually(async () => (await client.list()).find((s) => s.ContainerGroupName === key.containerGroupName), 'Running');
  });

  it('lists servers by state', async () => {
    const running = await client.list();
    assert.ok(running.every((s) => s.State === 'Running'));
    const all = await client.list('all');
    const mine = all.find((s) => s.ContainerGroupName === key.containerGroupName)!;
    assert.equal(mine.ResourceGroup, 'games');
    assert.ok(mine.PublicIP);
  });

  it('records sessions, one report or a batch', async () => {
    assert.equal((await client.setSessions({ ...key, activeSessions: 4 })).updated, 1);
    const result = await client.setSessions([{ ...key, activeSessions: 5 }]);
    assert.deepEqual(result, { updated: 1, transactions: 1, ignored: [] });
    assert.equal((await client.list()).find((s) => s.ContainerGroupName === key.containerGroupName)!.ActiveSessions, 5);
  });

  it('reads the group and its logs', async () => {
    const group = await client.details(key);
    assert.equal(group.name, key.containerGroupName);
    assert.equal(typeof (await client.logs({ ...key, tail: 5 })), 'string');
  });

  it('drains and un-drains a server', async () => {
    assert.equal((await client.setState(key, 'MarkedForDeletion')).State, 'MarkedForDeletion');
    assert.equal((await client.setState(key, 'Running')).State, 'Running');
  });

  it('fetches the OpenAPI document', async () => {
    const doc = await client.openapi();
    assert.equal(doc.openapi, '3.1.0');
  });

  it('throws typed errors: 400 with details, 404, 409, 401', async () => {
    const invalid = await client.setSessions([{ ...key, activeSessions: -1 }]).catch((e) => e);
    assert.ok(isFleetApiError(invalid, 'ValidationFailed'));
    assert.equal(invalid.status, 400);
    assert.deepEqual((invalid.details as any[])[0].path, '[0].activeSessions');
    const missing = await client.setState({ resourceGroup: 'games', containerGroupName: 'nope' }, 'Running').catch((e) => e);
    assert.ok(missing instanceof FleetApiError);
    assert.equal(missing.code, 'NotFound');
    assert.equal(missing.status, 404);
    assert.equal(missing.attempts, 1, '4xx is never retried');
    const conflict = await client.create(createBody(key.containerGroupName, { maxSessions: 99 }) as any).catch((e) => e);
    assert.ok(isFleetApiError(conflict, 'Conflict'));
    const anonymous = new FleetClient({ baseUrl: fleet.url });
    const unauthorized = await anonymous.list().catch((e) => e);
    assert.ok(isFleetApiError(unauthorized, 'Unauthorized'));
    assert.equal(unauthorized.status, 401);
  });

  it('puts, reads, lists and deletes a fleet; a stale etag is a typed 412', async () => {
    const { containerGroupName: _, ...template } = createBody('unused') as any;
    const first = await client.putFleet('client-fleet', { template, replicas: 0 });
    assert.deepEqual([first.created, first.fleet.Revision, first.fleet.Status.State], [true, 1, 'Complete']);
    assert.match(first.etag, /^"1-/);
    const same = await client.putFleet('client-fleet', { template, replicas: 0 }, { ifMatch: first.etag });
    assert.deepEqual([same.created, same.etag], [false, first.etag]);
    const image = {
      ...template,
      containerGroup: { ...template.containerGroup, containers: [{ ...template.containerGroup.containers[0], image: 'x:2' }] },
    };
    const second = await client.putFleet('client-fleet', { template: image, replicas: 0 });
    assert.equal(second.fleet.Revision, 2);
    const stale = await client.putFleet('client-fleet', { template, replicas: 0 }, { ifMatch: first.etag }).catch((e) => e);
    assert.ok(isFleetApiError(stale, 'PreconditionFailed'));
    assert.equal(stale.status, 412);
    assert.equal((await client.fleet('client-fleet')).Revision, 2);
    assert.ok((await client.fleets()).some((f) => f.Name === 'client-fleet'));
    assert.deepEqual(await client.deleteFleet('client-fleet').then((r) => r.gone), true, 'a fleet without servers goes at once');
    assert.ok(isFleetApiError(await client.fleet('client-fleet').catch((e) => e), 'NotFound'));
  });

  it('deletes a server', async () => {
    assert.equal((await client.delete(key)).State, 'Deleting');
    await eventually(async () => !(await client.list('all')).some((s) => s.ContainerGroupName === key.containerGroupName), 'row removed');
    const gone = await client.delete(key).catch((e) => e);
    assert.ok(isFleetApiError(gone, 'NotFound'));
  });
});

describe('FleetClient retries', () => {
  it('retries a 503 with Retry-After and then succeeds', async () => {
    proxy.failNext('ACIList', 2, 503, '1');
    const before = proxy.seen.length;
    const servers = await client.list('all');
    assert.ok(Array.isArray(servers));
    assert.equal(proxy.seen.length - before, 3, 'two 503s, then the answer');
  });

  it('retries a 429 too, and gives up after maxAttempts with the last error', async () => {
    proxy.failNext('ACIList', 10, 429, '0', 'TooManyRequests');
    const limited = new FleetClient({ baseUrl: proxy.url, functionKey: fleet.key, retry: { maxAttempts: 3, maxDelayMs: 20 } });
    const e = await limited.list().catch((err) => err);
    assert.ok(e instanceof FleetApiError);
    assert.equal(e.status, 429);
    assert.equal(e.attempts, 3);
    assert.equal(e.retryAfterSeconds, 0);
    proxy.failNext('ACIList', 0);
  });

  it('does not retry when asked not to', async () => {
    proxy.failNext('ACIList', 1, 503, '1');
    const e = await client.list('all', { retry: false }).catch((err) => err);
    assert.ok(isFleetApiError(e, 'StorageUnavailable'));
    assert.equal(e.attempts, 1);
    assert.equal(e.retryAfterSeconds, 1);
  });

  it('sends one requestId for every attempt of an allocation, so retries are safe', async () => {
    proxy.failNext('ACIAllocate', 3, 503, '1', 'NoCapacity');
    const before = proxy.seen.length;
    const e = await new FleetClient({ baseUrl: proxy.url, functionKey: fleet.key, retry: { maxAttempts: 3, maxDelayMs: 20 } })
      .allocate({ sessions: 2, location: 'westeurope' })
      .catch((err) => err);
    assert.ok(isFleetApiError(e, 'NoCapacity'));
    const bodies = proxy.seen.slice(before).map((s) => JSON.parse(s.body));
    assert.equal(bodies.length, 3);
    assert.match(bodies[0].requestId, UUID);
    assert.ok(bodies.every((b) => b.requestId === bodies[0].requestId && b.sessions === 2 && b.location === 'westeurope'));
  });

  it('turns an unreachable fleet into a NetworkError after retrying', async () => {
    const down = new FleetClient({ baseUrl: 'http://127.0.0.1:9', retry: { maxAttempts: 2, maxDelayMs: 10 } });
    const e = await down.list().catch((err) => err);
    assert.ok(isFleetApiError(e, 'NetworkError'));
    assert.equal(e.status, 0);
    assert.equal(e.attempts, 2);
  });
});

describe('reportSessions (the game server helper)', () => {
  it('posts the sessions with the bearer token read from the environment', async () => {
    proxy.failNext('ACIReport', 1, 503, '0', 'StorageUnavailable');
    const before = proxy.seen.length;
    process.env.ACI_REPORT_URL = `${proxy.url}/api/ACIReport`;
    process.env.ACI_REPORT_TOKEN = 'token-of-this-server';
    try {
      await reportSessions(3).catch(() => undefined); // without ACIReport on the host the last answer is 404
    } finally {
      delete process.env.ACI_REPORT_URL;
      delete process.env.ACI_REPORT_TOKEN;
    }
    const calls = proxy.seen.slice(before);
    assert.ok(calls.length >= 2, 'the 503 was retried');
    for (const c of calls) {
      assert.equal(c.path, '/api/ACIReport');
      assert.equal(c.headers.authorization, 'Bearer token-of-this-server');
      assert.deepEqual(JSON.parse(c.body), { activeSessions: 3 });
    }
  });

  it('says what is missing without a url or a token', async () => {
    await assert.rejects(reportSessions(1, { url: 'http://127.0.0.1:9' }), /needs a url and a token/);
  });
});

describe('ACIAllocate and ACIReport through the client', () => {
  it('allocates sessions on a Running server, and the same requestId never reserves twice', {
    skip: !hasFunction('ACIAllocate') && 'ACIAllocate is not on this branch',
  }, async () => {
    const name = 'client-alloc';
    await client.create(createBody(name, { maxSessions: 4 }) as any);
    await eventually(async () => (await client.list()).find((s) => s.ContainerGroupName === name), 'Running');
    const requestId = newRequestId();
    const first = await client.allocate({ sessions: 2, requestId });
    assert.equal(first.ContainerGroupName, name);
    const retried = await client.allocate({ sessions: 2, requestId });
    assert.equal(retried.ContainerGroupName, name);
    // Booked, not reported: the reservation counts in the load until the server's report includes it.
    const listed = (await client.list()).find((s) => s.ContainerGroupName === name)!;
    assert.equal(listed.ReservedSessions, 2);
    assert.equal(first.Reservation.id, requestId);
    assert.equal(retried.Reservation.repeated, true);
    const full = await client.allocate({ sessions: 3 }, { retry: false }).catch((e) => e);
    assert.ok(isFleetApiError(full, 'NoCapacity'));
    assert.equal(full.status, 503);
    assert.ok(full.retryAfterSeconds !== undefined);
  });

  it('refuses a report with a wrong token as a typed 401 (invalid_token)', {
    skip: !hasFunction('ACIReport') && 'ACIReport is not on this branch',
  }, async () => {
    const e = await reportSessions(1, { url: `${fleet.url}/api/ACIReport`, token: 'not-a-token', retry: { maxAttempts: 1 } }).catch(
      (err) => err,
    );
    assert.ok(e instanceof FleetApiError);
    assert.equal(e.status, 401);
    assert.equal(e.code, 'Unauthorized');
  });
});

describe('the client package', () => {
  it('bundles for browsers without any server code or Node built-in', async () => {
    const result = await build({
      entryPoints: ['runtime/client/index.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile!.inputs);
    assert.ok(inputs.length > 0);
    for (const input of inputs) assert.match(input, /^runtime\/client\//, `${input} is part of the client`);
  });

  it('exposes every error code the API answers with, with its status, for a matchmaker to switch on', () => {
    assert.ok(API_ERROR_CODES.length >= 15);
    for (const code of API_ERROR_CODES) {
      assert.equal(new FleetError(code, 'x').status, ERROR_STATUS[code], code);
      assert.equal(statusOfCode(code), ERROR_STATUS[code], code);
    }
    // Every code a function may answer (its OpenAPI errors) is in the client's list.
    for (const fn of FUNCTIONS.filter((f): f is HttpFunction => f.trigger === 'http'))
      for (const code of errorCodes(fn.api, true)) assert.ok(API_ERROR_CODES.includes(code), `${fn.name}: ${code}`);
  });

  it("reads the Azure Functions host's own answers (no JSON body) as the codes the fleet uses: 401, 413", async () => {
    for (const [status, code] of [
      [401, 'Unauthorized'],
      [413, 'PayloadTooLarge'],
      [502, 'HttpError'],
    ] as const) {
      const client = new FleetClient({
        baseUrl: 'https://fleet.example',
        functionKey: 'wrong',
        retry: { maxAttempts: 1 },
        fetch: async () => new Response(null, { status }),
      });
      const e = await client.list().catch((err) => err);
      assert.ok(isFleetApiError(e), String(e));
      assert.equal(e.status, status);
      assert.equal(e.code, code);
    }
  });

  it('waits as Retry-After says, capped, with jitter; else backs off exponentially', () => {
    const policy = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 };
    const cases: Array<[attempt: number, retryAfter: number | undefined, random: number, expected: number]> = [
      [1, 2, 0.5, 2_000],
      [1, 2, 0, 1_600],
      [1, 2, 1, 2_400],
      [1, 60, 0.5, 5_000],
      [1, undefined, 0.5, 200],
      [3, undefined, 0.5, 800],
      [10, undefined, 0.5, 5_000],
      [1, 0, 0.5, 0],
    ];
    for (const [attempt, retryAfter, random, expected] of cases) {
      assert.equal(Math.round(retryDelayMs(attempt, retryAfter, policy, () => random)), expected, `${attempt}/${retryAfter}/${random}`);
    }
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter(null, now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
  });
});
