// One Deploy to a Flex Consumption app, as plain HTTP: publish the zip to the SCM endpoint, poll
// the deployment until it ends, then wait until ARM lists the functions we need (Event Grid can
// only subscribe a function that is indexed). No Pulumi here, so tests drive it against a fake.
//
// This module is serialized into the dynamic provider (see provider.ts): it imports only the
// plain ./http module, no package, and uses only globals Node has (fetch, URL, setTimeout).
import { type HttpClient, type StepOptions, type Waiting, backoffMs, describeAnswer, realWaiting, retryAfterMs, sendText } from './http';

export interface OneDeployTiming {
  /** Between two polls of the deployment status and of the function list. */
  pollIntervalMs: number;
  /** Publishing plus the deployment running to its end. */
  deployTimeoutMs: number;
  /** Waiting for the functions to be indexed after a successful deployment. */
  indexTimeoutMs: number;
  /** How many times the publish is retried (403 while role assignments propagate, 409, 429, 5xx, network). */
  maxPublishAttempts: number;
  /**
   * How long a publish answered 400 BlobUploadFailedException (storage said 403: the app identity's
   * blob role is still propagating) is retried, from the first such answer.
   */
  storagePropagationTimeoutMs: number;
  /** Backoff: first delay, doubled each attempt up to the maximum. */
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  /** Per HTTP request. */
  requestTimeoutMs: number;
}

export const DEFAULT_TIMING: OneDeployTiming = {
  pollIntervalMs: 5_000,
  deployTimeoutMs: 20 * 60_000,
  indexTimeoutMs: 10 * 60_000,
  // With the default backoff (5 s doubling to 60 s) this waits about ten minutes for RBAC to propagate.
  maxPublishAttempts: 14,
  storagePropagationTimeoutMs: 10 * 60_000,
  retryInitialDelayMs: 5_000,
  retryMaxDelayMs: 60_000,
  requestTimeoutMs: 5 * 60_000,
};

export interface OneDeployOptions extends StepOptions<OneDeployTiming> {
  /** `https://<app>.scm.azurewebsites.net` (the app's Repository host name). */
  scmUrl: string;
  /** `https://management.azure.com`. */
  armUrl: string;
  /** `/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Web/sites/<app>`. */
  appResourceId: string;
  /** The deployment package. */
  zip: Uint8Array;
  /** An ARM (Entra) access token; called before every request, so it may refresh. */
  getToken: () => string | Promise<string>;
  /** Function names that must be indexed before the deployment counts as done, e.g. ["ACIMonitor"]. */
  functions: string[];
  /** ARM api-version for listing functions. */
  apiVersion?: string;
}

export interface OneDeployResult {
  deploymentId: string;
  /** Every function ARM lists for the app after the deployment. */
  functions: string[];
  publishAttempts: number;
}

/** Kudu's deployment status codes. */
export const DeployStatus = { Failed: 3, Success: 4, Conflict: 5, PartialSuccess: 6 } as const;

/** A deployment status record from `/api/deployments/<id>`. */
export interface DeploymentRecord {
  id?: string;
  status?: number;
  status_text?: string;
  message?: string;
  progress?: string;
  complete?: boolean;
}

export interface OneDeployError extends Error {
  /** `rejected` (publish refused), `failed` (the platform reported a failed deployment), `timeout`, `not-indexed`. */
  code: 'rejected' | 'failed' | 'timeout' | 'not-indexed';
}

export function deployError(code: OneDeployError['code'], message: string): OneDeployError {
  return Object.assign(new Error(message), { name: 'OneDeployError', code });
}

/** Publishes, waits for the deployment to succeed, then for the functions to be indexed. */
export async function oneDeploy(opts: OneDeployOptions): Promise<OneDeployResult> {
  const t: OneDeployTiming = { ...DEFAULT_TIMING, ...opts.timing };
  const log = opts.log ?? (() => undefined);
  const waiting = opts.waiting ?? realWaiting();
  const client: HttpClient = { getToken: opts.getToken, fetch: opts.fetch, requestTimeoutMs: t.requestTimeoutMs };
  const scm = opts.scmUrl.replace(/\/+$/, '');
  const deadline = waiting.now() + t.deployTimeoutMs;

  let deploymentId = '';
  let attempt = 0;
  let refusals = 0;
  /** When storage first refused the app identity (its role propagating), if it has. */
  let propagatingSince: number | undefined;
  for (;;) {
    attempt++;
    const published = await publishOnce(client, scm, opts.zip, waiting);
    if (published.kind === 'retry') {
      const now = waiting.now();
      if (published.propagation) {
        propagatingSince ??= now;
        if (now - propagatingSince >= t.storagePropagationTimeoutMs || now >= deadline) {
          throw deployError(
            'rejected',
            `One Deploy to ${scm}: the platform still could not write the package to the deployment container after ` +
              `${Math.round((now - propagatingSince) / 60_000)} min of retries (${published.reason}). The app identity's ` +
              'Storage Blob Data Owner role on the account has not taken effect, or the account refuses the deployment ' +
              'service (its publicNetworkAccess must be Enabled).',
          );
        }
      } else if (++refusals >= t.maxPublishAttempts || now >= deadline) {
        throw deployError(
          'rejected',
          `One Deploy to ${scm} was refused ${refusals} times; last answer: ${published.reason}` +
            (published.status === 403 ? ' (check the deploying identity has rights on the app)' : ''),
        );
      }
      const delay = Math.max(published.retryAfterMs ?? 0, backoffMs(attempt, t));
      log(`publish attempt ${attempt}: ${published.reason}; retrying in ${Math.round(delay / 1000)} s`);
      await waiting.sleep(delay);
      continue;
    }

    deploymentId = published.deploymentId;
    log(`deployment ${deploymentId || '(latest)'} accepted; waiting for it to finish`);
    const record = await pollDeployment(client, published.statusUrl, deadline, t, waiting);
    if (record.status === DeployStatus.Success) break;

    const reason = await failureDetails(client, scm, published.statusUrl, record);
    // While the app's role assignments propagate, the platform cannot write the package to the
    // deployment container with the app's identity: that failure goes away by itself.
    const transient = record.status === DeployStatus.Conflict || isAuthorizationFailure(reason);
    if (transient && ++refusals < t.maxPublishAttempts && waiting.now() < deadline) {
      const delay = backoffMs(attempt, t);
      log(`deployment ${deploymentId} failed transiently (${firstLine(reason)}); retrying in ${Math.round(delay / 1000)} s`);
      await waiting.sleep(delay);
      continue;
    }
    throw deployError('failed', `One Deploy to ${scm} failed (status ${statusName(record.status)}): ${reason}`);
  }

  log(`deployment ${deploymentId} succeeded; waiting for ${opts.functions.join(', ')} to be indexed`);
  const functions = await waitForFunctions(opts, client, t, waiting);
  return { deploymentId, functions, publishAttempts: attempt };
}

type PublishOutcome =
  | { kind: 'accepted'; deploymentId: string; statusUrl: string }
  | { kind: 'retry'; reason: string; status?: number; retryAfterMs?: number; propagation?: boolean };

/**
 * The one 400 worth publishing again for: on a new Flex app the platform cannot yet write the
 * package with the app's identity, and storage answers 403 while the role assignment propagates
 * (`InaccessibleStorageException: ... BlobUploadFailedException: ... 403 (This request is not
 * authorized ...)`). A 404 (no such container) or a name that does not resolve stays final.
 */
export function isStoragePropagationFailure(status: number, body: string): boolean {
  return status === 400 && /BlobUploadFailedException/i.test(body) && /\b403\b|Forbidden|not authorized/i.test(body);
}

/** Status codes worth publishing again for: propagation (401/403), busy (409/429), platform trouble. */
export function isRetryableStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 404 || status === 408 || status === 409 || status === 429 || status >= 500;
}

async function publishOnce(client: HttpClient, scm: string, zip: Uint8Array, waiting: Waiting): Promise<PublishOutcome> {
  const url = `${scm}/api/publish?RemoteBuild=false&Deployer=aci-fleet`;
  let answer: Awaited<ReturnType<typeof sendText>>;
  try {
    answer = await sendText(client, url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/zip' },
      // (A Buffer or Uint8Array; the cast only narrows its ArrayBuffer type for the DOM typings.)
      body: zip as Uint8Array<ArrayBuffer>,
    });
  } catch (e) {
    return { kind: 'retry', reason: `network error: ${(e as Error).message}` };
  }
  const { status, text, headers } = answer;
  if (status === 200 || status === 202) {
    const deploymentId = parseDeploymentId(text);
    const location = headers.get('location');
    const statusUrl = location
      ? new URL(location, `${scm}/`).toString()
      : `${scm}/api/deployments/${deploymentId ? encodeURIComponent(deploymentId) : 'latest'}`;
    return { kind: 'accepted', deploymentId, statusUrl };
  }
  const reason = describeAnswer(status, text);
  if (isStoragePropagationFailure(status, text)) return { kind: 'retry', reason, status, propagation: true };
  if (isRetryableStatus(status)) {
    return { kind: 'retry', reason, status, retryAfterMs: retryAfterMs(headers.get('retry-after'), waiting.now()) };
  }
  throw deployError('rejected', `One Deploy to ${scm} was rejected: ${reason}`);
}

/** The publish answer's body: the deployment id as a JSON string, bare text, or `{ "id": ... }`. */
export function parseDeploymentId(body: string): string {
  const text = body.trim();
  if (!text) return '';
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'string') return parsed;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { id?: unknown }).id === 'string') {
      return (parsed as { id: string }).id;
    }
    return '';
  } catch {
    return /^[\w.-]+$/.test(text) ? text : '';
  }
}

async function pollDeployment(
  client: HttpClient,
  statusUrl: string,
  deadline: number,
  t: OneDeployTiming,
  waiting: Waiting,
): Promise<DeploymentRecord> {
  let last = 'no answer yet';
  for (;;) {
    try {
      const res = await sendText(client, statusUrl);
      const text = res.text;
      if (res.status === 200) {
        const record = JSON.parse(text) as DeploymentRecord;
        last = `status ${statusName(record.status)}${record.progress ? ` (${record.progress})` : ''}`;
        if (isFinished(record)) return record;
      } else {
        // 404 until the deployment is registered, 5xx while the site restarts: keep polling.
        last = `HTTP ${res.status}`;
      }
    } catch (e) {
      last = `network error: ${(e as Error).message}`;
    }
    if (waiting.now() >= deadline) {
      throw deployError('timeout', `One Deploy did not finish in time (${statusUrl}); last: ${last}`);
    }
    await waiting.sleep(t.pollIntervalMs);
  }
}

/** A record is final when Kudu says so or its status is one of the terminal codes. */
export function isFinished(record: DeploymentRecord): boolean {
  return (
    record.complete === true ||
    record.status === DeployStatus.Success ||
    record.status === DeployStatus.Failed ||
    record.status === DeployStatus.Conflict ||
    record.status === DeployStatus.PartialSuccess ||
    record.status === -1
  );
}

export function statusName(status: number | undefined): string {
  const names: Record<string, string> = {
    '-1': 'Unknown',
    '0': 'Pending',
    '1': 'Building',
    '2': 'Deploying',
    '3': 'Failed',
    '4': 'Success',
    '5': 'Conflict',
    '6': 'PartialSuccess',
  };
  return status === undefined ? 'unknown' : `${status} ${names[String(status)] ?? ''}`.trim();
}

/** The platform's own words: the record's text, then its log (and the details of its last entries). */
async function failureDetails(client: HttpClient, scm: string, statusUrl: string, record: DeploymentRecord): Promise<string> {
  const lines: string[] = [];
  for (const s of [record.status_text, record.message, record.progress]) {
    if (s && !lines.includes(s)) lines.push(s);
  }
  const logUrl = record.id ? `${scm}/api/deployments/${encodeURIComponent(record.id)}/log` : `${statusUrl.replace(/\/+$/, '')}/log`;
  try {
    const entries = await getJson<LogEntry[]>(client, logUrl);
    for (const entry of (entries ?? []).slice(-10)) {
      if (entry.message && !lines.includes(entry.message)) lines.push(entry.message);
      if (entry.details_url) {
        const details = await getJson<LogEntry[]>(client, new URL(entry.details_url, `${scm}/`).toString()).catch(() => undefined);
        for (const d of (details ?? []).slice(-5)) {
          if (d.message && !lines.includes(d.message)) lines.push(d.message);
        }
      }
    }
  } catch {
    // The log is a courtesy: the status text already says what failed.
  }
  return lines.length > 0 ? lines.join('\n  ') : 'the platform gave no message';
}

interface LogEntry {
  message?: string;
  details_url?: string | null;
}

/** Failures that mean "the app's identity is not authorized yet" (RBAC still propagating). */
export function isAuthorizationFailure(message: string): boolean {
  return /AuthorizationPermissionMismatch|AuthorizationFailure|\b403\b|Forbidden|not authorized|does not have authorization/i.test(message);
}

async function waitForFunctions(opts: OneDeployOptions, client: HttpClient, t: OneDeployTiming, waiting: Waiting): Promise<string[]> {
  const deadline = waiting.now() + t.indexTimeoutMs;
  const apiVersion = opts.apiVersion ?? '2024-04-01';
  let url = `${opts.armUrl.replace(/\/+$/, '')}${opts.appResourceId}/functions?api-version=${apiVersion}`;
  const first = url;
  let found = new Set<string>();
  let last = 'no answer yet';
  for (;;) {
    try {
      const names = new Set<string>();
      // ARM pages long lists with nextLink.
      for (url = first; url; ) {
        const { status, text } = await sendText(client, url);
        if (status !== 200) throw new Error(describeAnswer(status, text));
        const page = JSON.parse(text) as { value?: FunctionEnvelope[]; nextLink?: string };
        for (const f of page.value ?? []) names.add(functionName(f));
        url = page.nextLink ?? '';
      }
      found = names;
      const missing = opts.functions.filter((f) => !names.has(f));
      if (missing.length === 0) return [...names].sort();
      last = `indexed: ${[...names].sort().join(', ') || 'none'}; missing: ${missing.join(', ')}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (waiting.now() >= deadline) {
      throw deployError(
        'not-indexed',
        `The deployment succeeded but ${opts.functions.join(', ')} ${opts.functions.length > 1 ? 'were' : 'was'} not indexed in time ` +
          `(${last}). Check the package registers it, and the app's logs in Application Insights.` +
          (found.size === 0 ? ' No function at all usually means the host could not start or read the package.' : ''),
      );
    }
    await waiting.sleep(t.pollIntervalMs);
  }
}

interface FunctionEnvelope {
  name?: string;
  properties?: { name?: string };
}

/** ARM names functions `<app>/<function>`; `properties.name` has the bare name. */
export function functionName(f: FunctionEnvelope): string {
  return f.properties?.name ?? (f.name ?? '').split('/').pop() ?? '';
}

async function getJson<T>(client: HttpClient, url: string): Promise<T | undefined> {
  const { status, text } = await sendText(client, url);
  if (status !== 200 || !text) return undefined;
  return JSON.parse(text) as T;
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}
