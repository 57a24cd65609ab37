// Typed client for the aci-fleet HTTP API, for matchmakers (FleetClient) and game servers
// (reportSessions). Plain fetch, no dependencies: Node >= 18 and browsers.
import { callFleet, DEFAULT_RETRY, type RetryOptions } from './http';
import type {
  AllocateRequest,
  Allocation,
  CreateRequest,
  CreateResult,
  Fleet,
  FleetSpec,
  OperatorState,
  PutFleetResult,
  ReportResult,
  Server,
  ServerKey,
  ServerState,
  SessionReport,
  SetSessionsResult,
} from './types';

export { FleetApiError, isFleetApiError } from './errors';
export { API_ERROR_CODES, ERROR_STATUS, type ApiErrorCode } from './errorCodes';
export { DEFAULT_RETRY, parseRetryAfter, retryDelayMs, type RetryOptions } from './http';
export type * from './types';

export interface FleetClientOptions {
  /** The function app's URL, e.g. https://my-fleet.azurewebsites.net (or the local host's). */
  baseUrl: string;
  /** The function key; sent as `x-functions-key`. Leave out for anonymous endpoints only. */
  functionKey?: string;
  retry?: Partial<RetryOptions>;
  /** Per attempt (default 30 s). */
  timeoutMs?: number;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Override the client's retry policy for one call; `false` never retries. */
  retry?: Partial<RetryOptions> | false;
}

export class FleetClient {
  private readonly baseUrl: string;
  private readonly retry: RetryOptions;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: FleetClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** ACICreate: 202 → created; 200 → the same spec already existed (safe to retry). */
  async create(request: CreateRequest, options?: RequestOptions): Promise<CreateResult> {
    const { status, body } = await this.post<Server>('ACICreate', request, options);
    return { created: status === 202, server: body };
  }

  /** ACIDelete: deletes now, whatever the sessions (use setState MarkedForDeletion to drain). */
  async delete(key: ServerKey, options?: RequestOptions): Promise<Server> {
    return (await this.post<Server>('ACIDelete', pickKey(key), options)).body;
  }

  /** ACIDetails: the container group as ARM describes it (secure values redacted). */
  async details(key: ServerKey, options?: RequestOptions): Promise<Record<string, unknown>> {
    return (await this.post<Record<string, unknown>>('ACIDetails', pickKey(key), options)).body;
  }

  /** ACIDetails with type "logs": a container's logs (the first container by default). */
  async logs(key: ServerKey & { containerName?: string; tail?: number }, options?: RequestOptions): Promise<string> {
    const body = { ...pickKey(key), type: 'logs', containerName: key.containerName, tail: key.tail };
    return (await this.post<{ content: string }>('ACIDetails', body, options)).body.content;
  }

  /** ACIList: Running servers by default, or `all`, or any one state. */
  async list(state: ServerState | 'all' = 'Running', options?: RequestOptions): Promise<Server[]> {
    return (await this.call<Server[]>('GET', `api/ACIList?state=${encodeURIComponent(state)}`, undefined, options)).body;
  }

  /** ACISetSessions: one or many servers' active sessions; the batch is all checked first. */
  async setSessions(reports: SessionReport | readonly SessionReport[], options?: RequestOptions): Promise<SetSessionsResult> {
    const batch = (Array.isArray(reports) ? reports : [reports]) as readonly SessionReport[];
    const body = batch.map((r) => ({ ...pickKey(r), activeSessions: r.activeSessions }));
    return (await this.post<SetSessionsResult>('ACISetSessions', body, options)).body;
  }

  /** ACISetState: drain (MarkedForDeletion), un-drain (Running) or mark Failed. */
  async setState(key: ServerKey, state: OperatorState, options?: RequestOptions): Promise<Server> {
    return (await this.post<Server>('ACISetState', { ...pickKey(key), state }, options)).body;
  }

  /**
   * ACIAllocate: reserves sessions on a server. A requestId is generated when not given, so the
   * retries (on 503 NoCapacity with Retry-After, or a lost answer) can never reserve twice.
   */
  async allocate(request: AllocateRequest = {}, options?: RequestOptions): Promise<Allocation> {
    const body = { ...request, requestId: request.requestId ?? newRequestId() };
    return (await this.post<Allocation>('ACIAllocate', body, options)).body;
  }

  /** ACIReport from a matchmaker's process (a game server would rather call reportSessions). */
  async report(token: string, activeSessions: number, options?: RequestOptions): Promise<ReportResult> {
    return (
      await this.call<ReportResult>('POST', 'api/ACIReport', { activeSessions }, options, { authorization: `Bearer ${token}` }, false)
    ).body;
  }

  /**
   * PUT /api/fleets/{name}: creates the fleet or updates it (a changed template is a new revision,
   * rolled out without cutting a session). The same spec again changes nothing. With `ifMatch`
   * (an earlier result's etag), only if nobody changed it since: 412 PreconditionFailed otherwise.
   */
  async putFleet(name: string, spec: FleetSpec, options: RequestOptions & { ifMatch?: string } = {}): Promise<PutFleetResult> {
    const headers: Record<string, string> = options.ifMatch ? { 'if-match': options.ifMatch } : {};
    const { status, body, headers: answer } = await this.call<Fleet>('PUT', fleetPath(name), spec, options, headers);
    return { created: status === 201, fleet: body, etag: answer.get('etag') ?? '' };
  }

  /** GET /api/fleets/{name}: the fleet, with its servers per revision and its rollout's state. */
  async fleet(name: string, options?: RequestOptions): Promise<Fleet> {
    return (await this.call<Fleet>('GET', fleetPath(name), undefined, options)).body;
  }

  /** GET /api/fleets: every fleet. */
  async fleets(options?: RequestOptions): Promise<Fleet[]> {
    return (await this.call<Fleet[]>('GET', 'api/fleets', undefined, options)).body;
  }

  /** DELETE /api/fleets/{name}: drains every server (sessions end first); `gone` once none was left. */
  async deleteFleet(name: string, options?: RequestOptions): Promise<{ gone: boolean; fleet: Fleet }> {
    const { status, body } = await this.call<Fleet>('DELETE', fleetPath(name), undefined, options);
    return { gone: status === 200, fleet: body };
  }

  /** The OpenAPI 3.1 document of this deployment. */
  async openapi(options?: RequestOptions): Promise<Record<string, unknown>> {
    return (await this.call<Record<string, unknown>>('GET', 'api/openapi.json', undefined, options)).body;
  }

  private post<T>(name: string, body: unknown, options?: RequestOptions) {
    return this.call<T>('POST', `api/${name}`, body, options);
  }

  private call<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body: unknown,
    options: RequestOptions = {},
    headers: Record<string, string> = {},
    withKey = true,
  ) {
    return callFleet<T>(`${this.baseUrl}/${path}`, {
      method,
      body,
      headers: { ...(withKey && this.options.functionKey ? { 'x-functions-key': this.options.functionKey } : {}), ...headers },
      retry: options.retry === false ? { ...this.retry, maxAttempts: 1 } : { ...this.retry, ...options.retry },
      timeoutMs: this.timeoutMs,
      signal: options.signal,
      fetch: this.fetch,
    });
  }
}

export interface ReportTarget {
  /** The ACIReport URL; defaults to the ACI_REPORT_URL environment variable. */
  url?: string;
  /** This server's report token; defaults to the ACI_REPORT_TOKEN environment variable. */
  token?: string;
  retry?: Partial<RetryOptions>;
  timeoutMs?: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/**
 * For a game server: tell the fleet how many sessions it holds now, with its own token. The
 * answer's state says whether it is being drained (MarkedForDeletion: finish, take no new players).
 */
export async function reportSessions(activeSessions: number, target: ReportTarget = {}): Promise<ReportResult> {
  const env = typeof process !== 'undefined' && process.env ? process.env : {};
  const url = target.url ?? env.ACI_REPORT_URL;
  const token = target.token ?? env.ACI_REPORT_TOKEN;
  if (!url || !token)
    throw new TypeError('reportSessions needs a url and a token (or ACI_REPORT_URL and ACI_REPORT_TOKEN in the environment).');
  const { body } = await callFleet<ReportResult>(url, {
    method: 'POST',
    body: { activeSessions },
    headers: { authorization: `Bearer ${token}` },
    retry: { ...DEFAULT_RETRY, ...target.retry },
    timeoutMs: target.timeoutMs ?? 10_000,
    signal: target.signal,
    fetch: target.fetch ?? globalThis.fetch.bind(globalThis),
  });
  return body;
}

const fleetPath = (name: string) => `api/fleets/${encodeURIComponent(name)}`;

const pickKey = (k: ServerKey): ServerKey => ({ resourceGroup: k.resourceGroup, containerGroupName: k.containerGroupName });

/** A v4 UUID: crypto.randomUUID where the platform has it (browsers, Node >= 19), else from getRandomValues or Math.random. */
export function newRequestId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
