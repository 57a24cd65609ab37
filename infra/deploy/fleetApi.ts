// The deployed app's fleets API as `pulumi up` calls it: PUT /api/fleets/{name} (create or update:
// a changed template is a new revision, rolled out without cutting a session), DELETE (drain), and
// GET for `pulumi refresh`. All are idempotent, so throttling, the platform's 5xx and lost connections are asked again with
// bounded backoff; any other 4xx fails at once with the runtime's own message. A secret of the body
// never reaches a message. Plain REST, serialized into a dynamic provider (fleetProvider.ts): only
// the plain ./http module is imported.
import {
  type HttpClient,
  type StepOptions,
  backoffMs,
  isTransientStatus,
  platformMessage,
  realWaiting,
  retryAfterMs,
  sendText,
} from './http';

export interface FleetApiTiming {
  requestTimeoutMs: number;
  /** Tries in all (the first one included) before a transient failure counts as final. */
  maxAttempts: number;
  /** Backoff: first delay, doubled each attempt up to the maximum (a longer Retry-After is capped to it). */
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
}

/** About four minutes of retries: a cold Flex app, a storage hiccup, a rolling platform update. */
export const DEFAULT_FLEET_API_TIMING: FleetApiTiming = {
  requestTimeoutMs: 60_000,
  maxAttempts: 8,
  retryInitialDelayMs: 2_000,
  retryMaxDelayMs: 60_000,
};

export interface FleetApiOptions extends StepOptions<FleetApiTiming> {
  /** `https://<app>/api`. */
  apiBaseUrl: string;
  /** The app's function key (the smoke test reads it), sent as `x-functions-key`. */
  functionKey: string;
  /** Values to keep out of every message (the body's secrets). */
  secrets?: readonly string[];
}

export interface PutResult {
  /** 201: the fleet was created (revision 1); 200: updated, or already so. */
  status: number;
  revision: number;
  /** The fleet's spec version: it changes with every PUT the app accepts, and only then. */
  etag?: string;
}

export interface GetResult {
  /** 200, or 404 when the app does not know the fleet. */
  status: number;
  revision?: number;
  etag?: string;
}

export interface DeleteResult {
  /** 200: gone; 202: its servers are draining; 404: it was not there. */
  status: number;
}

export interface FleetApiError extends Error {
  status?: number;
  /** The runtime's error code (`ValidationFailed`, `Conflict`, …). */
  code?: string;
}

/** Creates or updates fleet `name` with `body`; resolves with the fleet's revision. */
export async function putFleet(opts: FleetApiOptions, name: string, body: unknown): Promise<PutResult> {
  const { status, text, headers } = await call(opts, 'PUT', name, JSON.stringify(body));
  if (status !== 200 && status !== 201) throw fleetError(opts, 'PUT', name, status, `an unexpected HTTP ${status}`);
  const revision = (parse(text) as { Revision?: unknown } | undefined)?.Revision;
  if (typeof revision !== 'number') throw fleetError(opts, 'PUT', name, status, "an answer without the fleet's Revision");
  opts.log?.(`fleet ${name}: ${status === 201 ? 'created' : 'updated'}, revision ${revision}`);
  return { status, revision, etag: headers.get('etag') ?? undefined };
}

/** Reads fleet `name`: its revision and ETag, or 404. */
export async function getFleet(opts: FleetApiOptions, name: string): Promise<GetResult> {
  const { status, text, headers } = await call(opts, 'GET', name, undefined, [404]);
  if (status === 404) return { status };
  const revision = (parse(text) as { Revision?: unknown } | undefined)?.Revision;
  if (status !== 200 || typeof revision !== 'number') throw fleetError(opts, 'GET', name, status, `an unexpected HTTP ${status}`);
  return { status, revision, etag: headers.get('etag') ?? undefined };
}

/** Deletes fleet `name`: its servers drain (each keeps its sessions until they end); one that is not there is no error. */
export async function deleteFleet(opts: FleetApiOptions, name: string): Promise<DeleteResult> {
  const { status } = await call(opts, 'DELETE', name, undefined, [404]);
  if (status !== 200 && status !== 202 && status !== 404) throw fleetError(opts, 'DELETE', name, status, `an unexpected HTTP ${status}`);
  const what = status === 404 ? 'was not there' : status === 202 ? 'deleting: its servers drain' : 'deleted';
  opts.log?.(`fleet ${name}: ${what}`);
  return { status };
}

/** One request, asked again while the answer is transient; a 4xx other than `accepted` throws at once. */
async function call(
  opts: FleetApiOptions,
  method: 'PUT' | 'DELETE' | 'GET',
  name: string,
  body: string | undefined,
  accepted: number[] = [],
): Promise<{ status: number; text: string; headers: Headers }> {
  const t: FleetApiTiming = { ...DEFAULT_FLEET_API_TIMING, ...opts.timing };
  const waiting = opts.waiting ?? realWaiting();
  const client: HttpClient = { fetch: opts.fetch, requestTimeoutMs: t.requestTimeoutMs };
  const url = `${opts.apiBaseUrl.replace(/\/+$/, '')}/fleets/${encodeURIComponent(name)}`;
  const headers: Record<string, string> = { 'x-functions-key': opts.functionKey };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let last = '';
  for (let attempt = 1; ; attempt++) {
    let wait = backoffMs(attempt, t);
    try {
      const answer = await sendText(client, url, { method, headers, body });
      if (answer.status < 400 || accepted.includes(answer.status)) return answer;
      if (!isTransientStatus(answer.status)) {
        throw fleetError(opts, method, name, answer.status, describe(answer.status, answer.text), codeOf(answer.text));
      }
      last = describe(answer.status, answer.text);
      wait = Math.min(t.retryMaxDelayMs, retryAfterMs(answer.headers.get('retry-after'), waiting.now()) ?? wait);
    } catch (e) {
      if ((e as FleetApiError).name === 'FleetApiError') throw e;
      last = `no answer (${(e as Error).message})`;
    }
    if (attempt >= t.maxAttempts) {
      throw fleetError(opts, method, name, undefined, `${last}, still after ${attempt} attempts`);
    }
    opts.log?.(`fleet ${name}: ${method} got ${scrub(last, opts.secrets)}; asking again in ${Math.round(wait / 1000)} s`);
    await waiting.sleep(wait);
  }
}

/** `HTTP 400 ValidationFailed: Invalid request: template.containerGroup.containers: …`, with every field the runtime named. */
function describe(status: number, text: string): string {
  const parsed = parse(text) as { error?: { code?: unknown; details?: unknown } } | undefined;
  const code = typeof parsed?.error?.code === 'string' ? ` ${parsed.error.code}` : '';
  const details = Array.isArray(parsed?.error?.details)
    ? (parsed.error.details as Array<{ path?: unknown; message?: unknown }>)
        .filter((d) => typeof d?.message === 'string')
        .slice(1)
        .map((d) => `; ${typeof d.path === 'string' && d.path ? `${d.path}: ` : ''}${d.message}`)
        .join('')
    : '';
  return `HTTP ${status}${code}${text ? `: ${platformMessage(text)}${details}` : ''}`;
}

const codeOf = (text: string) => {
  const code = (parse(text) as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
};

function fleetError(opts: FleetApiOptions, method: string, name: string, status: number | undefined, what: string, code?: string) {
  const hint = status === 401 || status === 403 ? ' (the app refused the function key; `pulumi up` reads it again on its next run)' : '';
  const message = `${method} ${opts.apiBaseUrl.replace(/\/+$/, '')}/fleets/${name} failed: ${what}${hint}`;
  return Object.assign(new Error(scrub(message, opts.secrets)), { name: 'FleetApiError', status, code }) as FleetApiError;
}

/** The message with every secret value replaced: a runtime error may quote what it was sent. */
export function scrub(message: string, secrets: readonly string[] = []): string {
  let out = message;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) if (s) out = out.split(s).join('<redacted>');
  return out;
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
