// A local stand-in for the Azure Functions host: serves the same function table over HTTP with
// the same routes and key rules, runs timers on their schedules, and accepts Event Grid
// deliveries on the extension's webhook. Azure Functions Core Tools cannot be installed here.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  HttpRequest,
  InvocationContext,
  type EventGridEvent,
  type HttpRequestInit,
  type HttpResponseInit,
  type Timer,
} from '@azure/functions';
import { Cron } from 'croner';
import type { FunctionDefinition, HttpFunction, TimerFunction } from '../src/functions/definition';
import { compileRoute } from '../src/functions/routes';
import type { Services } from '../src/services';
import type { Log, LogLevel } from './aci-emulator';

/** The Functions log levels, as the local fleet's log ranks them. */
const LEVELS: Partial<Record<string, LogLevel>> = { warning: 'warning', error: 'error', critical: 'error' };

export interface HostOptions {
  functions: readonly FunctionDefinition[];
  services: Services;
  /** The key accepted for function- and admin-level calls. */
  key: string;
  port?: number;
  /** Run timer functions on their schedules (tests turn this off and trigger them by hand). */
  timers?: boolean;
  /**
   * What a server's containers see in their environment (the ACI emulator knows); served, with the
   * key, at `GET /admin/servers/<resourceGroup>/<name>/environment` — a local-only way to get a
   * server's report token. Nothing like it exists on Azure.
   */
  containerEnvironment?: (resourceGroup: string, name: string) => Record<string, Record<string, string>> | undefined;
  log?: Log;
}

export interface FunctionsHost {
  readonly url: string;
  /** Runs a timer function now, as `POST /admin/functions/<name>` does. */
  runTimer(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Event Grid batches are at most 1 MB (its largest preferred batch size); one resource event is a few KB. */
const EVENT_GRID_BODY_LIMIT = 1024 * 1024;

export async function startFunctionsHost(options: HostOptions): Promise<FunctionsHost> {
  const { functions, services, key } = options;
  const log = options.log ?? (() => {});
  const settings = services.settings;
  const http = functions.filter((f): f is HttpFunction => f.trigger === 'http');
  const timers = functions.filter((f): f is TimerFunction => f.trigger === 'timer' && (f.enabled?.(settings) ?? true));
  const running = new Set<Promise<unknown>>();
  // Routes are matched like the Azure host does (templates, optional segments), e.g. the page at `/`.
  const routes = http.map((fn) => ({ fn, route: compileRoute(fn.route) }));

  const context = (functionName: string) =>
    new InvocationContext({
      functionName,
      invocationId: randomUUID(),
      logHandler: (level, ...args) => log(`[${functionName}] ${level}: ${args.map(String).join(' ')}`, LEVELS[level] ?? 'info'),
    });

  /** Tracks work so close() can wait for it. */
  const track = <T>(work: Promise<T>): Promise<T> => {
    running.add(work);
    return work.finally(() => running.delete(work));
  };

  const runTimer = async (name: string) => {
    const fn = timers.find((t) => t.name.toLowerCase() === name.toLowerCase());
    if (!fn) throw new Error(`No timer function '${name}'`);
    await track(fn.handler(timerInfo(), context(fn.name), services));
  };

  const keyMatches = (req: IncomingMessage, url: URL) => {
    const given = header(req, 'x-functions-key') ?? url.searchParams.get('code') ?? '';
    const a = Buffer.from(given);
    const b = Buffer.from(key);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  const server: Server = createServer((req, res) => {
    void track(
      handle(req, res).catch((e) => {
        log(`host error: ${(e as Error).stack ?? e}`, 'error');
        if (!res.headersSent) send(res, { status: 500, jsonBody: { error: { code: 'Internal', message: 'The local host failed.' } } });
        else res.end();
      }),
    );
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Like Azure, the function sees the URL the caller used (host included), e.g. for OpenAPI's servers.
    const url = requestUrl(req);
    if (!url) return send(res, errorBody(400, 'ValidationFailed', `The request target ${JSON.stringify(req.url)} is not a path.`));
    const pathname = safeDecode(url.pathname).replace(/\/+$/, '');
    const path = pathname.toLowerCase();

    if (path.startsWith('/admin/functions/')) {
      if (!keyMatches(req, url)) return send(res, unauthorized());
      if (req.method !== 'POST') return send(res, errorBody(405, 'MethodNotAllowed', 'Use POST to run a function.'));
      const name = path.slice('/admin/functions/'.length);
      if (!timers.some((t) => t.name.toLowerCase() === name)) return send(res, errorBody(404, 'NotFound', `No timer function '${name}'.`));
      await drain(req);
      // Azure answers 202 before the run ends; locally the run finishes first so callers can rely on it.
      await runTimer(name);
      return send(res, { status: 202 });
    }

    if (path === '/runtime/webhooks/eventgrid') return deliverEvents(req, res, url);

    const environment = /^\/admin\/servers\/([^/]+)\/([^/]+)\/environment$/.exec(path);
    if (environment && options.containerEnvironment) {
      if (!keyMatches(req, url)) return send(res, unauthorized());
      if (req.method !== 'GET') return send(res, errorBody(405, 'MethodNotAllowed', 'Use GET.'));
      const [, resourceGroup, name] = environment as unknown as [string, string, string];
      return send(res, environmentResponse(options.containerEnvironment(resourceGroup, name), resourceGroup, name, url));
    }

    // Parameters keep the caller's spelling (Azure's do): only the literal segments match case-insensitively.
    const found = routes.map((r) => ({ fn: r.fn, params: r.route.match(pathname) })).find((r) => r.params !== undefined);
    if (!found) return send(res, errorBody(404, 'NotFound', `Nothing is served at ${url.pathname}.`));
    const { fn, params } = found;
    // Credentials before bodies: nothing of the body is read for a caller without the key.
    if (fn.authLevel(settings) === 'function' && !keyMatches(req, url)) return send(res, unauthorized());
    const method = (req.method ?? 'GET').toUpperCase();
    const declared = Number(header(req, 'content-length') ?? 0);
    if (fn.methods.includes(method) && declared > fn.maxBodyBytes) {
      return send(
        res,
        errorBody(413, 'PayloadTooLarge', `The request body is ${declared} bytes; the limit of ${fn.name} is ${fn.maxBodyBytes} bytes.`, {
          limit: fn.maxBodyBytes,
        }),
      );
    }
    // The body goes to the function as a stream, as on Azure with HTTP streams: the function reads
    // it only after its own credential checks, and stops at its limit. HttpRequest's constructor
    // takes a native Request (that is how the library builds streamed requests), though its
    // public init type lists only buffered bodies.
    const request = new HttpRequest({
      nativeRequest: new Request(url, streamedBody(req, method)),
      query: Object.fromEntries(url.searchParams),
      params,
    } as HttpRequestInit);
    send(res, await fn.handler(request, context(fn.name), services));
  }

  async function deliverEvents(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!keyMatches(req, url)) return send(res, unauthorized());
    const name = url.searchParams.get('functionName') ?? '';
    const fn = functions.find((f) => f.trigger === 'eventGrid' && f.name.toLowerCase() === name.toLowerCase());
    if (fn?.trigger !== 'eventGrid') return send(res, errorBody(404, 'NotFound', `No Event Grid function '${name}'.`));
    const body = await readBody(req, EVENT_GRID_BODY_LIMIT);
    // 400 and 413 are the answers Event Grid never retries: a delivery that cannot be read never will be.
    if (body === undefined)
      return send(res, errorBody(413, 'PayloadTooLarge', `Event Grid deliveries are at most ${EVENT_GRID_BODY_LIMIT} bytes.`));
    let events: EventGridEvent[];
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      events = (Array.isArray(parsed) ? parsed : [parsed]) as EventGridEvent[];
    } catch {
      return send(res, errorBody(400, 'InvalidJson', 'Event Grid deliveries are a JSON array of events.'));
    }
    const type = header(req, 'aeg-event-type');
    if (type === 'SubscriptionValidation') {
      const code = (events[0]?.data as { validationCode?: string } | undefined)?.validationCode;
      return send(res, { status: 200, jsonBody: { validationResponse: code } });
    }
    if (type !== 'Notification') {
      return send(res, errorBody(400, 'BadRequest', "Expected the header 'aeg-event-type: Notification'."));
    }
    try {
      for (const event of events) await fn.handler(event, context(fn.name), services);
    } catch (e) {
      // Like the extension: a failed function is a failed delivery, which Event Grid retries.
      log(`[${fn.name}] failed: ${(e as Error).message}`, 'error');
      return send(res, errorBody(500, 'FunctionFailed', (e as Error).message));
    }
    send(res, { status: 202 });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const jobs =
    options.timers === false
      ? []
      : timers.map(
          (fn) =>
            new Cron(fn.schedule(settings), { protect: true, catch: (e) => log(`[${fn.name}] failed: ${String(e)}`, 'error') }, () =>
              runTimer(fn.name),
            ),
        );

  return {
    url: `http://127.0.0.1:${port}`,
    runTimer,
    async close() {
      for (const job of jobs) job.stop();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...running]);
    },
  };
}

/** A path with a malformed %-escape is still a path (Azure answers 404 for it, never 500). */
function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * JSON `{<container>: {<name>: <value>}}`, or with `?format=sh` the environment of one container
 * (`?container=`, else the first) as `export` lines for `eval`.
 */
function environmentResponse(
  environment: Record<string, Record<string, string>> | undefined,
  resourceGroup: string,
  name: string,
  url: URL,
): HttpResponseInit {
  if (!environment) return errorBody(404, 'NotFound', `The emulator has no container group ${resourceGroup}/${name}.`);
  if (url.searchParams.get('format') !== 'sh') return { status: 200, jsonBody: environment };
  const container = url.searchParams.get('container') ?? Object.keys(environment)[0] ?? '';
  const variables = environment[container];
  if (!variables) return errorBody(404, 'NotFound', `${resourceGroup}/${name} has no container '${container}'.`);
  const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  const lines = Object.entries(variables).map(([k, v]) => `export ${k}=${quote(v)}\n`);
  return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: lines.join('') };
}

/**
 * The URL the caller used. The request target is always a path here (never resolved against the
 * host: `//x/api/…` is the path `//x/api/…`, not a URL with host `x`); undefined if it cannot be one.
 */
function requestUrl(req: IncomingMessage): URL | undefined {
  const target = req.url ?? '/';
  const path = target.startsWith('/') ? target : `/${target}`;
  for (const host of [req.headers.host ?? 'localhost', 'localhost']) {
    try {
      return new URL(`http://${host}${path}`);
    } catch {
      // a malformed Host header: try without it
    }
  }
  return undefined;
}

function timerInfo(): Timer {
  const now = new Date().toISOString();
  return { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: now, next: now, lastUpdated: now } };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** The whole body, or undefined as soon as it passes `limit` (the rest is left unread). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) void _;
}

function send(res: ServerResponse, response: HttpResponseInit): void {
  const headers: Record<string, string> = {};
  // A body left unread (refused, or past its limit) is not drained: the connection closes instead.
  if (!res.req.complete) headers.connection = 'close';
  new Headers(response.headers as HeadersInit | undefined).forEach((v, k) => {
    headers[k] = v;
  });
  let body: string | Uint8Array | undefined;
  if (response.jsonBody !== undefined) {
    body = JSON.stringify(response.jsonBody);
    headers['content-type'] ??= 'application/json';
  } else if (typeof response.body === 'string' || response.body instanceof Uint8Array) {
    body = response.body;
  }
  res.writeHead(response.status ?? 200, headers);
  res.end(body);
}

function errorBody(status: number, code: string, message: string, details?: unknown): HttpResponseInit {
  return { status, jsonBody: { error: { code, message, ...(details === undefined ? {} : { details }) } } };
}

/** A Request's init with the body as the incoming stream (GET and HEAD have none), read only when pulled. */
function streamedBody(req: IncomingMessage, method: string): RequestInit {
  const init: RequestInit & { duplex?: 'half' } = { method, headers: flatHeaders(req) };
  if (method === 'GET' || method === 'HEAD') return init;
  // fetch's Request reads an async iterable lazily; `duplex: 'half'` is required for a streamed body.
  const streamed: RequestInit & { duplex: 'half' } = { ...init, body: req as unknown as BodyInit, duplex: 'half' };
  return streamed;
}

const unauthorized = () =>
  errorBody(
    401,
    'Unauthorized',
    "This function needs the function key: send it as the 'x-functions-key' header or the 'code' query parameter.",
  );
