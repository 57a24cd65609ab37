// What the deploy-time REST steps share (One Deploy, provider registration, preflight, the smoke
// test): authenticated requests with a timeout, Azure's error messages, backoff, and an injected
// clock so tests decide how time passes. Plain code: the dynamic providers serialize it by value,
// so no package imports and no module-level state.

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** How the steps wait: the wall clock by default, a test's manual clock otherwise. */
export interface Waiting {
  /** Milliseconds since the epoch. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export const realWaiting = (): Waiting => ({
  now: () => Date.now(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
});

/** How every deploy step can be run: its transport, timing and clock, and where its progress goes (tests set them all). */
export interface StepOptions<Timing> {
  fetch?: FetchLike;
  timing?: Partial<Timing>;
  waiting?: Waiting;
  log?: (message: string) => void;
}

export interface HttpClient {
  /** An Entra access token (ARM's audience); called before every request, so it may refresh. None: no Authorization header. */
  getToken?: () => string | Promise<string>;
  fetch?: FetchLike;
  /** Per request. */
  requestTimeoutMs: number;
}

/** One request with the bearer token (if the client has one), this tool's user agent and a timeout. */
export async function send(client: HttpClient, url: string, init: RequestInit = { method: 'GET' }): Promise<Response> {
  const doFetch: FetchLike = client.fetch ?? ((u, i) => fetch(u, i));
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>), 'User-Agent': 'aci-fleet-deploy' };
  if (client.getToken) headers.Authorization = `Bearer ${await client.getToken()}`;
  return doFetch(url, { ...init, headers, signal: AbortSignal.timeout(client.requestTimeoutMs) });
}

/** A response's status and body text, read whole. */
export async function sendText(
  client: HttpClient,
  url: string,
  init?: RequestInit,
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await send(client, url, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The message inside an ARM/Kudu error body (`{error:{message}}`, `{Message}`, `{message}`), or the text. */
export function platformMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const error = parsed.error as Record<string, unknown> | undefined;
    const message = error?.message ?? parsed.Message ?? parsed.message ?? parsed.ExceptionMessage;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON
  }
  return body.length > 500 ? `${body.slice(0, 500)}…` : body;
}

/** The code inside an ARM error body (`{error:{code}}`), if any. */
export function platformCode(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Answers worth asking again for: timeouts, throttling and the platform's own trouble. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function backoffMs(attempt: number, t: { retryInitialDelayMs: number; retryMaxDelayMs: number }): number {
  return Math.min(t.retryMaxDelayMs, t.retryInitialDelayMs * 2 ** Math.max(0, attempt - 1));
}

/** `Retry-After` in seconds (or an HTTP date, measured against `now`), as milliseconds. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** `HTTP 403: <the platform's message>`. */
export function describeAnswer(status: number, text: string): string {
  return `HTTP ${status}${text ? `: ${platformMessage(text)}` : ''}`;
}
