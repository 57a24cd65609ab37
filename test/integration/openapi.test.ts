// The OpenAPI document: valid 3.1, one operation per HTTP function of the table, generated from
// the schemas that validate requests, with each function's errors and auth.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { readSettings } from '../../runtime/src/options';
import { FUNCTIONS } from '../../runtime/src/functions';
import type { HttpFunction } from '../../runtime/src/functions/definition';
import { buildOpenApiDocument } from '../../runtime/src/functions/openApiDocument';
import { compileRoute } from '../../runtime/src/functions/routes';
import { createRequest, listQuery, setSessionsRequest } from '../../runtime/src/domain/servers/requests';
import { fleetSpec } from '../../runtime/src/domain/fleets/requests';
import { openApiProblems } from '../support/openApiRules';
import { call, startTestFleet, type LocalFleet } from '../support/localFleet';

const httpFunctions = FUNCTIONS.filter((f): f is HttpFunction => f.trigger === 'http');
let fleet: LocalFleet;
let doc: any;

before(async () => {
  fleet = await startTestFleet();
  const res = await call(fleet, 'openapi.json', undefined, { key: null });
  assert.equal(res.status, 200, 'the document is served without a key');
  doc = res.body;
});
after(() => fleet?.stop());

const operationOf = (fn: HttpFunction, method: string) => doc.paths[compileRoute(fn.route).documentedPath]?.[method.toLowerCase()];
const inputSchema = (schema: z.ZodType) => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    assert.deepEqual(openApiProblems(doc), []);
    assert.equal(doc.servers[0].url, fleet.url);
  });

  it('lists every HTTP function of the table with each of its methods', () => {
    assert.ok(httpFunctions.length >= 8);
    for (const fn of httpFunctions) {
      for (const method of fn.methods) {
        const op = operationOf(fn, method);
        assert.ok(op, `${method} ${fn.name} is documented`);
        assert.equal(op.summary, fn.api.methods?.[method]?.summary ?? fn.api.summary);
        assert.ok(op.responses['405'] && op.responses['500'], `${fn.name} documents 405 and 500`);
      }
    }
    const operations = Object.values<any>(doc.paths).flatMap((item) => Object.keys(item));
    assert.equal(
      operations.length,
      httpFunctions.reduce((n, f) => n + f.methods.length, 0),
      'nothing undocumented, nothing extra',
    );
    assert.ok(doc.paths['/'].get, 'the page is at the site root');
  });

  it('uses the very schemas that validate requests', () => {
    const byName = (name: string) => httpFunctions.find((f) => f.name === name)!;
    assert.deepEqual(operationOf(byName('ACICreate'), 'POST').requestBody.content['application/json'].schema, inputSchema(createRequest));
    assert.deepEqual(
      operationOf(byName('ACISetSessions'), 'POST').requestBody.content['application/json'].schema,
      inputSchema(setSessionsRequest),
    );
    // Each body's own limit, as the function enforces it.
    for (const fn of httpFunctions.filter((f) => f.api.body)) {
      assert.match(operationOf(fn, fn.methods[0]!).requestBody.description, new RegExp(`At most ${fn.maxBodyBytes} bytes`), fn.name);
    }
    const state = operationOf(byName('ACIList'), 'GET').parameters.find((p: any) => p.name === 'state');
    assert.deepEqual(state.schema, (inputSchema(listQuery) as any).properties.state);
    assert.equal(state.in, 'query');
  });

  it("documents each function's errors under their status, and the server representation", () => {
    const create = doc.paths['/api/ACICreate'].post;
    const codes = (status: string) => create.responses[status].content['application/json'].schema.properties.error.properties.code.enum;
    assert.deepEqual(new Set(codes('400')), new Set(['InvalidJson', 'ValidationFailed', 'AzureRequestRejected']));
    assert.ok(codes('409').includes('Conflict') && codes('409').includes('NotOwnedByFleet'));
    assert.ok(create.responses['503'].headers['Retry-After']);
    // The server-token 401 names its scheme; a function key's 401 has no challenge to document.
    assert.ok(doc.paths['/api/ACIReport'].post.responses['401'].headers['WWW-Authenticate']);
    assert.equal(create.responses['401'].headers, undefined);
    assert.equal(create.responses['202'].content['application/json'].schema.$ref, '#/components/schemas/Server');
    assert.ok(doc.components.schemas.Server.required.includes('ActiveSessions'));
    const setState = doc.paths['/api/ACISetState'].post;
    assert.deepEqual(setState.responses['409'].content['application/json'].schema.properties.error.properties.code.enum, [
      'InvalidStateTransition',
    ]);
  });

  it('documents the fleets API: the name as a path parameter, the fleet body, per-method answers, ETags', () => {
    const item = doc.paths['/api/fleets/{name}'];
    assert.deepEqual(Object.keys(item).sort(), ['delete', 'get', 'put']);
    for (const op of Object.values<any>(item)) {
      const name = op.parameters.find((p: any) => p.in === 'path');
      assert.deepEqual([name.name, name.required, name.schema.pattern !== undefined], ['name', true, true]);
    }
    assert.deepEqual(item.put.requestBody.content['application/json'].schema, inputSchema(fleetSpec));
    assert.equal(item.get.requestBody, undefined, 'only PUT has a body');
    assert.equal(item.put.responses['201'].content['application/json'].schema.$ref, '#/components/schemas/Fleet');
    assert.ok(item.put.responses['200'].headers.ETag);
    assert.ok(item.put.parameters.some((p: any) => p.in === 'header' && p.name === 'If-Match'));
    assert.ok(item.put.responses['412'] && item.delete.responses['412'] && !item.get.responses['412']);
    assert.ok(item.delete.responses['202'] && item.get.responses['404']);
    assert.equal(doc.paths['/api/fleets'].get.responses['200'].content['application/json'].schema.items.$ref, '#/components/schemas/Fleet');
    assert.ok(doc.components.schemas.Fleet.properties.Status);
    assert.ok(doc.components.schemas.Server.required.includes('Fleet') && doc.components.schemas.Server.required.includes('Revision'));
  });

  it('states the auth of every function: a key, a server token, or none', () => {
    for (const fn of httpFunctions) {
      for (const method of fn.methods) {
        const op = operationOf(fn, method);
        if (fn.api.auth === 'serverToken') assert.deepEqual(op.security, [{ serverToken: [] }], fn.name);
        else if (fn.authLevel(fleet.settings) === 'function') {
          assert.deepEqual(op.security, [{ functionKey: [] }, { functionKeyQuery: [] }], fn.name);
          assert.ok(op.responses['401'], `${fn.name} documents 401`);
        } else assert.deepEqual(op.security, [], fn.name);
      }
    }
    assert.deepEqual(doc.paths['/'].get.security, []);
    assert.notDeepEqual(doc.paths['/api/ACIList'].get.security, []);
  });

  it("names the app's own URL as its server, whatever Host the caller sends", async () => {
    // `fetch` keeps its own Host, so the header goes over a raw request.
    const { request } = await import('node:http');
    const { port } = new URL(fleet.url);
    for (const host of ['evil.example', 'evil.example:443', `127.0.0.1:${port}`]) {
      const served = await new Promise<any>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/openapi.json', headers: { host } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        });
        req.on('error', reject);
        req.end();
      });
      assert.deepEqual(served.servers, [{ url: fleet.url }], host);
    }
  });

  it('takes its server from FLEET_PUBLIC_URL, else https://WEBSITE_HOSTNAME, else the origin it is served from', async () => {
    const served = async (settings: Record<string, string>) => {
      const fn = FUNCTIONS.find((f): f is HttpFunction => f.trigger === 'http' && f.name === 'OpenApi')!;
      const services = { settings: readSettings(settings) } as never;
      const request = new HttpRequest({ method: 'GET', url: 'http://evil.example/api/openapi.json' });
      const res = await fn.handler(request, new InvocationContext({ functionName: 'OpenApi' }), services);
      return (res.jsonBody as any).servers;
    };
    assert.deepEqual(await served({ FLEET_PUBLIC_URL: 'https://fleet.example.com/' }), [{ url: 'https://fleet.example.com' }]);
    assert.deepEqual(await served({ WEBSITE_HOSTNAME: 'app.azurewebsites.net' }), [{ url: 'https://app.azurewebsites.net' }]);
    assert.deepEqual(await served({}), [{ url: '/' }]);
  });

  it('shows ACIList as anonymous when the stack makes the list public', () => {
    const open = buildOpenApiDocument(FUNCTIONS, readSettings({ FLEET_LIST_PUBLIC: 'true' })) as any;
    assert.deepEqual(open.paths['/api/ACIList'].get.security, []);
    assert.equal(open.paths['/api/ACIList'].get.responses['401'], undefined);
    assert.deepEqual(openApiProblems(open), []);
  });
});

describe('the structural OpenAPI checks', () => {
  it('catch the mistakes they exist for', () => {
    const broken = {
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: {
        '/a/{id}': { get: { operationId: 'x', responses: { 200: {} }, security: [{ nope: [] }] } },
        '/b': {
          post: {
            operationId: 'x',
            responses: {
              200: {
                description: 'ok',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/Missing', type: 'strin' } } },
              },
            },
          },
        },
      },
    };
    const problems = openApiProblems(broken).join('\n');
    for (const expected of [
      '3.1.x',
      'duplicate operationId',
      'needs a description',
      'nope is not defined',
      'path parameter id',
      'unresolvable $ref',
      'unknown JSON Schema type strin',
    ]) {
      assert.ok(problems.includes(expected), `reports ${expected}:\n${problems}`);
    }
  });
});
