// One HTTP call with the fleet's conventions: JSON in and out, typed errors, and retries on
// 429/503 (and network failures) that honour Retry-After, with a cap and jitter.
import { FleetApiError } from './errors';
import type { FleetErrorCode } from './types';

export interface RetryOptions {
  /** Attempts in all, the first included (default 4; 1 = never retry). */
  maxAttempts: number;
  /** First back-off when the answer gives no Retry-After (default 250 ms), doubled each time. */
  baseDelayMs: number;
  /** No wait is longer than this, whatever Retry-After says (default 10 s). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 10_000 };

export interface CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: unknown;
  retry: RetryOptions;
  timeoutMs: number;
  signal?: AbortSignal;
  fetch: typeof fetch;
  /** Waits between attempts; tests replace it. */
  sleep?: (ms: number) => Promise<void>;
}

export interface CallResult<T> {
  status: number;
  body: T;
  headers: Headers;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function callFleet<T>(url: string, options: CallOptions): Promise<CallResult<T>> {
  const sleep = options.sleep ?? defaultSleep;
  const attempts = Math.max(1, options.retry.maxAttempts);
  for (let attempt = 1; ; attempt++) {
    let error: FleetApiError;
    try {
      const response = await options.fetch(url, {
        method: options.method,
        headers: {
          accept: 'application/json',
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        signal: options.signal ?? timeoutSignal(options.timeoutMs),
      });
      const body = await readBody(response);
      if (response.ok) return { status: response.status, body: body as T, headers: response.headers };
      error = toError(response, body, attempt);
    } catch (e) {
      if (options.signal?.aborted) throw e; // the caller cancelled: do not retry
      error = new FleetApiError(
        0,
        'NetworkError',
        `The fleet could not be reached: ${(e as Error).message}`,
        undefined,
        undefined,
        attempt,
      );
    }
    if (!error.retryable || attempt >= attempts) throw error;
    await sleep(retryDelayMs(attempt, error.retryAfterSeconds, options.retry));
  }
}

/** The wait before attempt `attempt + 1`: Retry-After when given, else exponential; capped, with jitter. */
export function retryDelayMs(attempt: number, retryAfterSeconds: number | undefined, retry: RetryOptions, random = Math.random): number {
  const jitter = (ms: number) => ms * (0.8 + 0.4 * random()); // ±20% so clients spread out
  if (retryAfterSeconds !== undefined) return Math.min(retry.maxDelayMs, jitter(retryAfterSeconds * 1000));
  return Math.min(retry.maxDelayMs, jitter(retry.baseDelayMs * 2 ** (attempt - 1)));
}

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/**
 * Answers the Functions host on Azure gives itself, before any function runs, without the fleet's
 * JSON: a missing or wrong key (401) and a body over the host's limit (413). Same code as locally.
 */
const BODILESS: Partial<Record<number, FleetErrorCode>> = { 401: 'Unauthorized', 413: 'PayloadTooLarge' };

function toError(response: Response, body: unknown, attempt: number): FleetApiError {
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (e && typeof e.code === 'string') {
    return new FleetApiError(response.status, e.code, String(e.message ?? e.code), e.details, retryAfter, attempt);
  }
  const text = typeof body === 'string' && body ? `: ${body.slice(0, 200)}` : '';
  return new FleetApiError(
    response.status,
    BODILESS[response.status] ?? 'HttpError',
    `HTTP ${response.status}${text}`,
    undefined,
    retryAfter,
    attempt,
  );
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function timeoutSignal(ms: number): AbortSignal | undefined {
  return typeof AbortSignal !== 'undefined' && 'timeout' in AbortSignal ? AbortSignal.timeout(ms) : undefined;
}
