// The retry rule for ARM calls, explicit rather than the SDK default: throttling (429) and
// transient failures (408, 5xx, dropped connections) are retried with exponential backoff and
// full jitter; a Retry-After longer than we may wait is handed back to the caller as a 503.
// And the deadline of each attempt, which the ARM and Table Storage clients share.
import { retryPolicy, type PipelinePolicy, type PipelineResponse, type RestError, type RetryStrategy } from '@azure/core-rest-pipeline';

export interface RetrySettings {
  maxRetries: number;
  /** First backoff; doubles each retry. */
  retryDelayInMs: number;
  /** Longest single wait, and the longest Retry-After that is honoured. */
  maxRetryDelayInMs: number;
}

const TRANSIENT_NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

export const isTransientStatus = (status: number) =>
  status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);

/** Backoff for the `retryCount`-th retry (0-based): half the exponential delay fixed, half random. */
export function backoffMs(
  retryCount: number,
  s: Pick<RetrySettings, 'retryDelayInMs' | 'maxRetryDelayInMs'>,
  random = Math.random,
): number {
  const exponential = Math.min(s.maxRetryDelayInMs, s.retryDelayInMs * 2 ** retryCount);
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/** Retry-After (seconds or HTTP date) or retry-after-ms / x-ms-retry-after-ms, in ms. */
export function retryAfterMs(response: PipelineResponse | undefined): number | undefined {
  if (!response) return undefined;
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = Number(response.headers.get(name));
    if (response.headers.get(name) !== undefined && Number.isFinite(v) && v >= 0) return v;
  }
  const header = response.headers.get('retry-after');
  if (header === undefined) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

export function transientRetryStrategy(s: RetrySettings): RetryStrategy {
  return {
    name: 'fleetTransientRetry',
    retry({ retryCount, response, responseError }) {
      const status = response?.status;
      if (status !== undefined && status < 400) return { skipStrategy: true };
      const networkFailure = status === undefined && TRANSIENT_NETWORK.has(String((responseError as RestError | undefined)?.code));
      if (!networkFailure && !(status !== undefined && isTransientStatus(status))) return { skipStrategy: true };
      const asked = retryAfterMs(response);
      // Waiting longer than this would hold the caller's HTTP request: give the 429/503 back instead.
      if (asked !== undefined && asked > s.maxRetryDelayInMs) return { skipStrategy: true };
      return { retryAfterInMs: asked ?? backoffMs(retryCount, s) };
    },
  };
}

export const fleetRetryPolicy = (s: RetrySettings): PipelinePolicy =>
  retryPolicy([transientRetryStrategy(s)], { maxRetries: s.maxRetries });

/**
 * Ends each attempt of a request after `timeoutMs`, its answer's body included (the SDKs' own
 * `timeout` stops waiting once the headers arrive, so a body that stalls would hang the call), by
 * throwing `timedOut()`. That is no RestError, so the retry policy outside hands it straight back:
 * a service that has stopped answering costs the caller one timeout, not one per retry.
 */
export function attemptDeadlinePolicy(timeoutMs: number, timedOut: () => Error): PipelinePolicy {
  return {
    name: 'fleetAttemptDeadline',
    async sendRequest(request, next) {
      const outer = request.abortSignal;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      const relay = () => controller.abort();
      outer?.addEventListener('abort', relay);
      request.abortSignal = controller.signal;
      try {
        return await next(request);
      } catch (e) {
        if (controller.signal.aborted && !outer?.aborted) throw timedOut();
        throw e;
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener('abort', relay);
        request.abortSignal = outer;
      }
    },
  };
}
