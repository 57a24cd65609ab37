// Property-based fuzzing of every HTTP function in the function table (so functions added later
// are covered too): at least 1,000 generated malformed bodies, query strings and header sets
// each. Never a 5xx, always a JSON answer, and nothing is ever written (table and ARM compared
// before and after). Inputs come from fast-check with a fixed seed, so a failure reproduces.
// The suite is run in shards (test/integration/fuzz*.test.ts), each its own process and fleet,
// so no one file comes near the runner's per-file time limit on a loaded machine.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { FUNCTIONS } from '../../runtime/src/functions';
import type { HttpFunction } from '../../runtime/src/functions/definition';
import { compileRoute } from '../../runtime/src/functions/routes';
import { buildOpenApiDocument } from '../../runtime/src/functions/openApiDocument';
import { readSettings } from '../../runtime/src/options';
import { ERROR_STATUS, type ApiErrorCode } from '../../runtime/client';
import { signReportToken } from '../../runtime/src/domain/reports/tokens';
import { allocateRequest } from '../../runtime/src/domain/allocation/request';
import { createBody, eventually, call, startTestFleet, type LocalFleet } from './localFleet';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const CONCURRENCY = 16;

const HTTP = FUNCTIONS.filter((f): f is HttpFunction => f.trigger === 'http');

/**
 * A well-formed body per function aimed at a resource group the fleet may not touch, so even a
 * mutation that happens to stay valid is refused (403) rather than written. Functions missing
 * here get a body that is not JSON, which keeps the query and header runs write-free.
 */
const harmless: Record<string, unknown> = {
  ACICreate: createBody('fz-new', { maxSessions: 5 }, 'elsewhere'),
  ACIDelete: { resourceGroup: 'elsewhere', containerGroupName: 'fz-a' },
  ACIDetails: { resourceGroup: 'elsewhere', containerGroupName: 'fz-a', type: 'logs', tail: 5 },
  ACISetSessions: [{ resourceGroup: 'elsewhere', containerGroupName: 'fz-a', activeSessions: 1 }],
  ACISetState: { resourceGroup: 'elsewhere', containerGroupName: 'fz-a', state: 'MarkedForDeletion' },
  ACIReport: [{ activeSessions: 1 }],
  ACIAllocate: { sessions: 1, resourceGroup: 'elsewhere' },
  Fleet: { template: { ...createBody('unused', { maxSessions: 5 }, 'elsewhere'), containerGroupName: undefined }, replicas: 1 },
};
/** The method whose body is fuzzed, when it is not a function's first one. */
const bodyMethod: Record<string, string> = { Fleet: 'PUT' };
/** The path a caller uses, parameters filled in (`{name}` → a valid name), so the fuzzing reaches the function. */
const routeOf = (fn: HttpFunction) =>
  compileRoute(fn.route)
    .documentedPath.slice(1)
    .replace(/\{\w+\}/g, 'fz-fleet');
const baseBody = (name: string) => harmless[name] ?? '{"not json';

/**
 * Every field of ACIAllocate is optional, so many random bodies (`{}`, `{"sessions":2}`, and an
 * empty body) are well-formed requests for a session, which rightly book one. They are not
 * malformed input, so the body run leaves them out.
 */
const wellFormed: Record<string, (text: string) => boolean> = {
  ACIAllocate: (text) => {
    if (text.trim() === '') return true;
    try {
      return allocateRequest.safeParse(JSON.parse(text)).success;
    } catch {
      return false;
    }
  },
};

let fleet: LocalFleet;
/** A token that verifies, for a server in a forbidden resource group: ACIReport gets past the token to its body. */
let ghostToken: string;

async function snapshot(): Promise<string> {
  const rows = (await fleet.services.store.list()).map((r) => `${r.value.resourceGroup}/${r.value.containerGroupName}@${r.etag}`).sort();
  const fleets = (await fleet.services.fleetStore.list()).map((r) => `${r.value.name}@${r.etag}`).sort();
  return JSON.stringify({ rows, fleets, groups: fleet.emulator.groups() });
}

// ---- generators --------------------------------------------------------------------------------

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function paths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...children.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

/** The valid body with one value (or the whole body) replaced by one of a different JSON type. */
function mutated(valid: unknown): fc.Arbitrary<unknown> {
  const all = paths(valid);
  return fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 3 })).map(([i, replacement]) => {
    const path = all[i % all.length]!;
    const copy = structuredClone(valid) as any;
    const set = (v: unknown) => {
      if (path.length === 0) return v;
      let target = copy;
      for (const p of path.slice(0, -1)) target = target[p];
      target[path[path.length - 1]!] = v;
      return copy;
    };
    const original = path.reduce((o: any, p) => o[p], valid as any);
    const different =
      kind(replacement) !== kind(original) ? replacement : kind(original) === 'array' ? { bad: replacement } : [replacement];
    return set(different);
  });
}

/** `[[[…]]]`, deeper than anything the API takes (validation stops at 32 levels; a stack would overflow at thousands). */
const deepText = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** The valid body with one value (or the whole body) replaced by arrays nested thousands deep. */
function deepened(valid: unknown): fc.Arbitrary<string> {
  const all = paths(valid);
  return fc.tuple(fc.nat(), fc.integer({ min: 33, max: 6000 })).map(([i, depth]) => {
    const path = all[i % all.length]!;
    if (path.length === 0) return deepText(depth);
    const copy = structuredClone(valid) as any;
    let target = copy;
    for (const p of path.slice(0, -1)) target = target[p];
    target[path[path.length - 1]!] = '\u0000DEEP';
    return JSON.stringify(copy).replace('"\\u0000DEEP"', deepText(depth));
  });
}

const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 60 });
const huge = fc.nat({ max: 3 }).map((n) => JSON.stringify({ padding: 'x'.repeat(64 * 1024 + n) }));

/** A request body as text: any JSON, broken JSON, a mutated valid body, an oversized or a deeply nested one. */
function bodies(valid: unknown): fc.Arbitrary<string> {
  const validText = typeof valid === 'string' ? valid : JSON.stringify(valid);
  return fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 4, arbitrary: typeof valid === 'string' ? fc.constant(valid) : mutated(valid).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.nat().map((n) => validText.slice(0, n % Math.max(1, validText.length))) },
    { weight: 2, arbitrary: printable },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', ' ', '{', '[', 'null', '{}', '[]', '"', '{"a":1}}', '\u0000', '[{}]', '[[]]', 'NaN', '1e999'),
    },
    { weight: 1, arbitrary: huge },
    { weight: 1, arbitrary: typeof valid === 'string' ? fc.integer({ min: 33, max: 6000 }).map(deepText) : deepened(valid) },
  );
}

const queryKey = fc.oneof(
  fc.constantFrom('state', 'token', 'code', 'type', 'resourceGroup', '$filter', 'html'),
  fc.string({ maxLength: 12 }),
);
const queryValue = fc.oneof(
  fc.constantFrom('all', 'Running', 'running', "Running' or 'a' eq 'a", "State eq 'Running'", '', '%', '%00', '../', 'null'),
  fc.string({ maxLength: 40 }),
);
const queries = fc.dictionary(queryKey, queryValue, { maxKeys: 5 });

const FORBIDDEN_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'x-functions-key',
]);
const headerName = fc
  .oneof(
    fc.constantFrom(
      'content-type',
      'authorization',
      'accept',
      'content-encoding',
      'x-ms-client-request-id',
      'if-match',
      'cookie',
      'origin',
    ),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  )
  .filter((n) => !FORBIDDEN_HEADERS.has(n));
const headerValue = fc.oneof(
  fc.constantFrom('Bearer ', 'Bearer x.y.z', 'Bearer v1..', 'application/json', 'text/plain', 'gzip', '*', 'Basic Zm9vOmJhcg=='),
  printable.map((s) => s.trim()),
);
const headerSets = fc.dictionary(headerName, headerValue, { maxKeys: 6 });

// ---- running requests ---------------------------------------------------------------------------

interface Probe {
  method: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
}

async function send(fn: HttpFunction, probe: Probe): Promise<{ status: number; text: string; html: boolean }> {
  const url = new URL(`${fleet.url}/${routeOf(fn)}`);
  for (const [k, v] of Object.entries(probe.query ?? {})) url.searchParams.set(k, v);
  const res = await fetch(url, {
    method: probe.method,
    headers: { 'x-functions-key': fleet.key, ...probe.headers },
    body: probe.method === 'GET' || probe.method === 'HEAD' ? undefined : probe.body,
  });
  return { status: res.status, text: await res.text(), html: (res.headers.get('content-type') ?? '').startsWith('text/html') };
}

const DOCUMENT = buildOpenApiDocument(FUNCTIONS, readSettings({ FLEET_RESOURCE_GROUPS: 'games' })) as {
  paths: Record<string, Record<string, { responses: Record<string, any> }>>;
};

/**
 * Every error answered is one of the API's codes (the list the client is typed from), with the
 * status that list gives it, and one the OpenAPI document lists for this function at that status.
 */
function answered(fn: HttpFunction, method: string, status: number, code: string, where: string): void {
  assert.ok(code in ERROR_STATUS, `${code} is not in the API's error codes (runtime/client/errorCodes.ts): ${where}`);
  assert.equal(ERROR_STATUS[code as ApiErrorCode], status, `${code} answered with ${status}: ${where}`);
  const operations = DOCUMENT.paths[compileRoute(fn.route).documentedPath] ?? {};
  const documented = operations[method.toLowerCase()] ? [operations[method.toLowerCase()]!] : Object.values(operations);
  const codes = documented.flatMap(
    (op) => op.responses[String(status)]?.content?.['application/json']?.schema?.properties?.error?.properties?.code?.enum ?? [],
  );
  assert.ok(
    codes.includes(code),
    `${fn.name} ${method} answered ${status} ${code}, which its OpenAPI operation does not list (${codes.join(', ')}): ${where}`,
  );
}

async function fuzz(fn: HttpFunction, probes: Probe[]): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  for (let i = 0; i < probes.length; i += CONCURRENCY) {
    await Promise.all(
      probes.slice(i, i + CONCURRENCY).map(async (probe) => {
        const { status, text, html } = await send(fn, probe);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const where = `${fn.name} ${JSON.stringify(probe).slice(0, 400)}`;
        // Always JSON, but for the page itself (an error is JSON even there).
        const parsed = html && status < 400 ? undefined : JSON.parse(text || 'null');
        // "No capacity" is ACIAllocate's answer to a valid request, not a failure.
        const expected503 = status === 503 && parsed?.error?.code === 'NoCapacity';
        assert.ok(status < 500 || expected503, `${status} for ${where}: ${text.slice(0, 300)}`);
        if (status >= 400) {
          assert.equal(typeof parsed?.error?.code, 'string', where);
          answered(fn, probe.method, status, parsed.error.code, where);
        }
      }),
    );
  }
  return statuses;
}

const methodOf = (fn: HttpFunction) => bodyMethod[fn.name] ?? fn.methods[0] ?? 'POST';
const isGet = (fn: HttpFunction) => methodOf(fn) === 'GET';
/** What ACIReport needs to get past its token to the body; other functions use the key. */
const authFor = (fn: HttpFunction): Record<string, string> => (fn.name === 'ACIReport' ? { authorization: `Bearer ${ghostToken}` } : {});

/** One shard of the suite: function `index` runs in shard `index % shards`; `paths` adds the path fuzzing. */
export function fuzzSuite(part: { shard: number; shards: number; paths: boolean }): void {
  before(async () => {
    fleet = await startTestFleet({ settings: { FLEET_RESOURCE_GROUPS: 'games' } });
    ghostToken = signReportToken({ resourceGroup: 'elsewhere', containerGroupName: 'fz-ghost' }, fleet.settings.REPORT_TOKEN_SECRET!);
    // Real servers, so a write would have something to hit.
    await call(fleet, 'ACICreate', createBody('fz-a'));
    await call(fleet, 'ACICreate', createBody('fz-b'));
    await eventually(async () => (await fleet.services.store.list({ states: ['Running'] })).length === 2, 'servers Running');
    await fleet.emulator.idle();
  });
  after(() => fleet?.stop());

  if (part.paths)
    describe(`fuzzing the host's paths (${RUNS} runs, seed ${SEED})`, () => {
      it('broken %-escapes and odd characters in any path, with or without the key, never give a 5xx or a write', async () => {
        const before = await snapshot();
        const prefixes = ['/api/', '/admin/functions/', '/runtime/webhooks/', '/', ...HTTP.map((f) => `/${f.route}`)];
        const paths = fc.sample(fc.tuple(fc.constantFrom(...prefixes), fc.stringMatching(/^[%A-Za-z0-9./_~-]{0,16}$/), fc.boolean()), {
          numRuns: RUNS,
          seed: SEED - 1,
        });
        for (let i = 0; i < paths.length; i += CONCURRENCY) {
          await Promise.all(
            paths.slice(i, i + CONCURRENCY).map(async ([prefix, tail, withKey]) => {
              const res = await fetch(`${fleet.url}${prefix}${tail}`, {
                method: 'POST',
                headers: withKey ? { 'x-functions-key': fleet.key } : {},
                // Not JSON: a path that does reach a function (ACIAllocate books on any `{}`) is refused, never served.
                body: '{"not json',
              });
              const text = await res.text();
              assert.ok(res.status < 500, `${res.status} for ${prefix}${tail}: ${text.slice(0, 200)}`);
            }),
          );
        }
        assert.equal(await snapshot(), before);
      });
    });

  describe(`fuzzing every HTTP function (${RUNS} runs per kind, seed ${SEED})`, () => {
    HTTP.forEach((fn, index) => {
      if (index % part.shards !== part.shard) return;
      const seed = SEED + 10 * index;
      it(`${fn.name}: malformed bodies, query strings and headers never give a 5xx or a write`, async (t) => {
        const before = await snapshot();
        const valid = baseBody(fn.name);
        const validText = typeof valid === 'string' ? valid : JSON.stringify(valid);

        const bodyProbes: Probe[] = isGet(fn)
          ? fc.sample(queryValue, { numRuns: RUNS, seed }).map((state) => ({ method: 'GET', query: { state } }))
          : fc
              .sample(
                bodies(valid).filter((text) => !wellFormed[fn.name]?.(text)),
                { numRuns: RUNS, seed },
              )
              .map((body) => ({ method: methodOf(fn), body, headers: authFor(fn) }));
        const queryProbes: Probe[] = fc
          .sample(queries, { numRuns: RUNS, seed: seed + 1 })
          .map((query) => ({ method: methodOf(fn), query, body: validText }));
        const headerProbes: Probe[] = fc
          .sample(fc.tuple(headerSets, fc.constantFrom(...fn.methods, 'PUT', 'DELETE', 'PATCH')), { numRuns: RUNS, seed: seed + 2 })
          .map(([headers, method]) => ({ method, headers, body: validText }));

        const seen = new Map<number, number>();
        for (const probes of [bodyProbes, queryProbes, headerProbes]) {
          assert.ok(probes.length >= RUNS);
          for (const [status, n] of await fuzz(fn, probes)) seen.set(status, (seen.get(status) ?? 0) + n);
        }
        assert.equal(await snapshot(), before, `${fn.name} wrote something`);
        t.diagnostic(`${fn.name} statuses: ${JSON.stringify(Object.fromEntries(seen))}`);
        // The fuzzing reached past the front door: some answers are validation failures.
        if (!isGet(fn)) assert.ok((seen.get(400) ?? 0) > 0, `${fn.name}: no 400 among ${JSON.stringify([...seen])}`);
      });
    });
  });
}
