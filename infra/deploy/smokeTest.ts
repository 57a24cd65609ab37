// The smoke test at the end of `pulumi up`: the app serves its OpenAPI document, ACIList answers
// with the function key (and, unless the list is public, refuses a caller without it), and every
// Event Grid subscription is Succeeded. A fresh app may still be starting, so each check is asked
// again until a deadline; then the update fails with what is wrong. Plain REST, serialized into a
// dynamic provider (smokeTestProvider.ts): only the plain ./http module is imported.
import { type HttpClient, type StepOptions, describeAnswer, isTransientStatus, realWaiting, sendText } from './http';

export const WEB_API_VERSION = '2024-04-01';
export const EVENTGRID_API_VERSION = '2025-02-15';

export interface SmokeTiming {
  pollIntervalMs: number;
  /** From the first check: long enough for a Flex app to start and its keys to be created. */
  timeoutMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_SMOKE_TIMING: SmokeTiming = { pollIntervalMs: 10_000, timeoutMs: 10 * 60_000, requestTimeoutMs: 60_000 };

export interface SmokeTestOptions extends StepOptions<SmokeTiming> {
  armUrl: string;
  /** `/subscriptions/.../providers/Microsoft.Web/sites/<app>`. */
  appResourceId: string;
  /** `https://<app>/api`. */
  apiBaseUrl: string;
  openApiUrl: string;
  /** `serverListPublic`: ACIList needs no key. */
  listPublic: boolean;
  /** Resource ids of the Event Grid subscriptions that deliver to ACIMonitor. */
  eventSubscriptionIds: string[];
  getToken: () => string | Promise<string>;
}

export interface SmokeTestResult {
  /** The app's default function key, read on the way (it is an output of the stack). */
  functionKey: string;
  /** What passed, one line each. */
  passed: string[];
}

/** A check's verdict on one answer: passed, not yet (ask again), or failed for good. */
export type Verdict<T = undefined> = { ok: true; value: T } | { ok: false; final: boolean; problem: string };

const pass = <T>(value: T): Verdict<T> => ({ ok: true, value });
const notYet = (problem: string): Verdict<never> => ({ ok: false, final: false, problem });
const fail = (problem: string): Verdict<never> => ({ ok: false, final: true, problem });

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** The host's keys: the default function key, once the host has created it. */
export function hostKeysVerdict(status: number, text: string): Verdict<string> {
  if (status === 200) {
    const key = (parse(text) as { functionKeys?: { default?: unknown } } | undefined)?.functionKeys?.default;
    return typeof key === 'string' && key ? pass(key) : notYet('the app has no default function key yet');
  }
  // 400/404 while the host starts and syncs its triggers; 5xx while the platform does.
  if (isTransientStatus(status) || status === 400 || status === 404)
    return notYet(`listing the host keys answered ${describeAnswer(status, text)}`);
  return fail(
    `listing the host keys answered ${describeAnswer(status, text)} (does the identity running Pulumi have write access to the app?)`,
  );
}

/** The OpenAPI document: served, OpenAPI 3, and listing ACIList. */
export function openApiVerdict(status: number, text: string): Verdict {
  if (status !== 200) {
    return notYet(`the OpenAPI document answered ${describeAnswer(status, text)}`);
  }
  const doc = parse(text) as { openapi?: unknown; paths?: Record<string, unknown> } | undefined;
  if (typeof doc?.openapi !== 'string' || !doc.openapi.startsWith('3.')) return fail('the OpenAPI document is not an OpenAPI 3 document');
  if (!Object.keys(doc.paths ?? {}).some((p) => p.endsWith('/ACIList'))) return fail('the OpenAPI document does not list ACIList');
  return pass(undefined);
}

/** ACIList with the function key: 200 and a JSON array of servers. */
export function aciListVerdict(status: number, text: string): Verdict {
  if (status === 200) return Array.isArray(parse(text)) ? pass(undefined) : fail('ACIList answered 200 but not with a list of servers');
  if (status === 401 || status === 403) return notYet(`ACIList refused the function key (${describeAnswer(status, text)})`);
  return notYet(`ACIList answered ${describeAnswer(status, text)} with the function key`);
}

/** ACIList without a key, when the list is not public: refused. */
export function anonymousListVerdict(status: number, text: string): Verdict {
  if (status === 401 || status === 403) return pass(undefined);
  if (status === 200) return fail('ACIList answers without a function key although serverListPublic is false');
  return notYet(`ACIList without a key answered ${describeAnswer(status, text)}`);
}

/** An Event Grid subscription: provisioned. */
export function subscriptionVerdict(status: number, text: string): Verdict {
  if (status === 200) {
    const state = (parse(text) as { properties?: { provisioningState?: unknown } } | undefined)?.properties?.provisioningState;
    if (state === 'Succeeded') return pass(undefined);
    if (state === 'Failed' || state === 'Canceled') return fail(`is ${state}`);
    return notYet(`is ${String(state)}`);
  }
  if (status === 404) return fail('does not exist');
  return notYet(`answered ${describeAnswer(status, text)}`);
}

interface Check<T> {
  name: string;
  run: () => Promise<Verdict<T>>;
}

export interface SmokeTestError extends Error {
  problems: string[];
}

/** Runs every check until all pass, one fails for good, or the deadline passes. */
export async function smokeTest(opts: SmokeTestOptions): Promise<SmokeTestResult> {
  const t: SmokeTiming = { ...DEFAULT_SMOKE_TIMING, ...opts.timing };
  const waiting = opts.waiting ?? realWaiting();
  const log = opts.log ?? (() => undefined);
  const client: HttpClient = { getToken: opts.getToken, fetch: opts.fetch, requestTimeoutMs: t.requestTimeoutMs };
  const arm = opts.armUrl.replace(/\/+$/, '');
  const api = opts.apiBaseUrl.replace(/\/+$/, '');
  // The app's own endpoints take the function key, never the ARM token.
  const app: HttpClient = { fetch: opts.fetch, requestTimeoutMs: t.requestTimeoutMs };
  const plain = (url: string, headers: Record<string, string> = {}) => sendText(app, url, { method: 'GET', headers });

  const asked = async <T>(
    verdict: (status: number, text: string) => Verdict<T>,
    request: () => Promise<{ status: number; text: string }>,
  ) => {
    try {
      const { status, text } = await request();
      return verdict(status, text);
    } catch (e) {
      return notYet(`no answer (${(e as Error).message})`) as Verdict<T>;
    }
  };

  let functionKey = '';
  const keyCheck: Check<string> = {
    name: 'the function key',
    run: () =>
      asked(hostKeysVerdict, () =>
        sendText(client, `${arm}${opts.appResourceId}/host/default/listkeys?api-version=${WEB_API_VERSION}`, { method: 'POST' }),
      ),
  };
  const checks: Array<Check<unknown>> = [
    { name: `the OpenAPI document (${opts.openApiUrl})`, run: () => asked(openApiVerdict, () => plain(opts.openApiUrl)) },
    ...opts.eventSubscriptionIds.map((id) => ({
      name: `Event Grid subscription ${id}`,
      run: () => asked(subscriptionVerdict, () => sendText(client, `${arm}${id}?api-version=${EVENTGRID_API_VERSION}`)),
    })),
  ];
  // ACIList needs the key first.
  const listChecks = (): Array<Check<unknown>> => [
    {
      name: `ACIList with the function key (${api}/ACIList)`,
      run: () => asked(aciListVerdict, () => plain(`${api}/ACIList`, { 'x-functions-key': functionKey })),
    },
    ...(opts.listPublic ? [] : [{ name: 'ACIList without a key', run: () => asked(anonymousListVerdict, () => plain(`${api}/ACIList`)) }]),
  ];

  const deadline = waiting.now() + t.timeoutMs;
  const passed: string[] = [];
  let pending: Array<Check<unknown>> = [keyCheck as Check<unknown>, ...checks];
  const last = new Map<string, string>();
  for (;;) {
    const results = await Promise.all(pending.map(async (c) => ({ check: c, verdict: await c.run() })));
    const still: Array<Check<unknown>> = [];
    const final: string[] = [];
    for (const { check, verdict } of results) {
      if (verdict.ok) {
        passed.push(check.name);
        log(`passed: ${check.name}`);
        if (check === (keyCheck as Check<unknown>)) {
          functionKey = verdict.value as string;
          still.push(...listChecks());
        }
      } else {
        last.set(check.name, verdict.problem);
        if (verdict.final) final.push(`${check.name}: ${verdict.problem}`);
        else still.push(check);
      }
    }
    pending = still;
    if (final.length > 0) throw smokeError(final);
    if (pending.length === 0) return { functionKey, passed };
    if (waiting.now() >= deadline) {
      throw smokeError(
        pending.map((c) => `${c.name}: ${last.get(c.name) ?? 'not checked yet'}`),
        Math.round(t.timeoutMs / 60_000),
      );
    }
    await waiting.sleep(t.pollIntervalMs);
  }
}

function smokeError(problems: string[], afterMinutes?: number): SmokeTestError {
  const when = afterMinutes === undefined ? '' : ` (still, after ${afterMinutes} min)`;
  const message = `The smoke test failed${when}; the fleet is deployed but not working:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
  return Object.assign(new Error(message), { name: 'SmokeTestError', problems });
}
