// A local stand-in for the Azure Functions host: serves the same function table over HTTP with
// the same routes and key rules, runs timers on their schedules, and accepts Event Grid
// deliveries on the extension's webhook. Azure Functions Core Tools cannot be installed here.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
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
import { FleetError, type FleetErrorCode } from '../src/domain/core/errors';
import { ALL_METHODS, type FunctionDefinition, type HttpFunction, type TimerFunction } from '../src/functions/definition';
import { errorResponse, methodNotAllowed } from '../src/functions/http';
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
        if (!res.headersSent) send(res, refuse('Internal', 'The local host failed.'));
        else res.end();
      }),
    );
  });
  // Requests Node answers before any handler runs get the same JSON errors: a CONNECT (no proxy
  // here) and a request that is not HTTP at all (a broken request line, header or framing).
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.end(rawResponse(methodNotAllowedHere('CONNECT')));
  });
  server.on('clientError', (e: Error & { code?: string }, socket: Duplex) => {
    if (!socket.writable || e.code === 'ECONNRESET') return void socket.destroy();
    const tooLarge = e.code === 'HPE_HEADER_OVERFLOW';
    socket.end(
      rawResponse(
        tooLarge
          ? refuse('HeadersTooLarge', 'The request headers are larger than the host accepts (16 KiB in all); send fewer or shorter ones.')
          : refuse(
              'ValidationFailed',
              `The request is not valid HTTP/1.1 (${e.code ?? e.message}); check its request line, headers and framing.`,
            ),
      ),
    );
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Like Azure, the function sees the URL the caller used (host included; OpenAPI's servers come from the settings).
    const url = requestUrl(req);
    if ('refused' in url) return send(res, url.refused);
    const pathname = safeDecode(url.pathname).replace(/\/+$/, '');
    const path = pathname.toLowerCase();

    if (path.startsWith('/admin/functions/')) {
      if (!keyMatches(req, url)) return send(res, unauthorized());
      if (req.method !== 'POST') return send(res, refuse('MethodNotAllowed', 'Use POST to run a function.'));
      const name = path.slice('/admin/functions/'.length);
      if (!timers.some((t) => t.name.toLowerCase() === name)) return send(res, refuse('NotFound', `No timer function '${name}'.`));
      await drain(req);
      // Azure answers 202 before the run ends; locally the run finishes first so callers can rely on it.
      await runTimer(name);
      return send(res, { status: 202 });
    }

    if (path === '/runtime/webhooks/eventgrid') return deliverEvents(req, res, url);

    const environment = /^\/admin\/servers\/([^/]+)\/([^/]+)\/environment$/.exec(path);
    if (environment && options.containerEnvironment) {
      if (!keyMatches(req, url)) return send(res, unauthorized());
      if (req.method !== 'GET') return send(res, refuse('MethodNotAllowed', 'Use GET.'));
      const [, resourceGroup, name] = environment as unknown as [string, string, string];
      return send(res, environmentResponse(options.containerEnvironment(resourceGroup, name), resourceGroup, name, url));
    }

    // Parameters keep the caller's spelling (Azure's do): only the literal segments match case-insensitively.
    const found = routes.map((r) => ({ fn: r.fn, params: r.route.match(pathname) })).find((r) => r.params !== undefined);
    if (!found) return send(res, refuse('NotFound', `Nothing is served at ${url.pathname}.`));
    const { fn, params } = found;
    // Credentials before bodies: nothing of the body is read for a caller without the key.
    if (fn.authLevel(settings) === 'function' && !keyMatches(req, url)) return send(res, unauthorized());
    const method = (req.method ?? 'GET').toUpperCase();
    // Methods fetch's Request cannot carry (TRACE, TRACK) are never registered on Azure either.
    if (!(ALL_METHODS as readonly string[]).includes(method)) return send(res, methodNotAllowed(fn.name, fn.methods, method));
    const declared = Number(header(req, 'content-length') ?? 0);
    if (fn.methods.includes(method) && declared > fn.maxBodyBytes) {
      return send(
        res,
        refuse('PayloadTooLarge', `The request body is ${declared} bytes; the limit of ${fn.name} is ${fn.maxBodyBytes} bytes.`, {
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
    if (fn?.trigger !== 'eventGrid') return send(res, refuse('NotFound', `No Event Grid function '${name}'.`));
    if (req.method !== 'POST') return send(res, refuse('MethodNotAllowed', 'Event Grid delivers with POST.'));
    const body = await readBody(req, EVENT_GRID_BODY_LIMIT);
    // 400 and 413 are the answers Event Grid never retries: a delivery that cannot be read never will be.
    if (body === undefined)
      return send(res, refuse('PayloadTooLarge', `Event Grid deliveries are at most ${EVENT_GRID_BODY_LIMIT} bytes.`));
    let events: EventGridEvent[];
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      events = (Array.isArray(parsed) ? parsed : [parsed]) as EventGridEvent[];
    } catch {
      return send(res, refuse('InvalidJson', 'Event Grid deliveries are a JSON array of events.'));
    }
    const type = header(req, 'aeg-event-type');
    if (type === 'SubscriptionValidation') {
      const code = (events[0] as { data?: { validationCode?: unknown } } | null | undefined)?.data?.validationCode;
      if (typeof code !== 'string' || code === '')
        return send(
          res,
          refuse('ValidationFailed', 'A SubscriptionValidation delivery carries the code to echo as data.validationCode (a string).'),
        );
      return send(res, { status: 200, jsonBody: { validationResponse: code } });
    }
    if (type !== 'Notification') {
      return send(res, refuse('ValidationFailed', "Expected the header 'aeg-event-type: Notification'."));
    }
    try {
      for (const event of events) await fn.handler(event, context(fn.name), services);
    } catch (e) {
      // Like the extension: a failed function is a failed delivery, a 500 whatever the error (a 4xx
      // would be one Event Grid never retries), so Event Grid retries it.
      log(`[${fn.name}] failed: ${(e as Error).message}`, 'error');
      const answer = e instanceof FleetError ? errorResponse(e) : refuse('Internal', (e as Error).message);
      return send(res, { ...answer, status: 500 });
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
  if (!environment) return refuse('NotFound', `The emulator has no container group ${resourceGroup}/${name}.`);
  if (url.searchParams.get('format') !== 'sh') return { status: 200, jsonBody: environment };
  const container = url.searchParams.get('container') ?? Object.keys(environment)[0] ?? '';
  const variables = environment[container];
  if (!variables) return refuse('NotFound', `${resourceGroup}/${name} has no container '${container}'.`);
  const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  const lines = Object.entries(variables).map(([k, v]) => `export ${k}=${quote(v)}\n`);
  return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: lines.join('') };
}

/**
 * A Host header as RFC 9110 has it: a name or an IP literal and an optional port. No userinfo
 * (`a@b`), path, query or fragment, which would otherwise change the URL the function sees.
 */
const HOST_HEADER = /^(?:[a-z0-9_.~-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * The URL the caller used. The request target is always a path here (never resolved against the
 * host: `//x/api/…` is the path `//x/api/…`, not a URL with host `x`), but for the absolute form.
 * A Host that is not a host is a 400, as RFC 9112 requires; an HTTP/1.0 request without one gets
 * the host's own address.
 */
function requestUrl(req: IncomingMessage): URL | { refused: HttpResponseInit } {
  let target = req.url ?? '/';
  let host = req.headers.host ?? `${req.socket.localAddress}:${req.socket.localPort}`;
  // The absolute form (`GET http://host/path`, as sent to proxies) names the host itself (RFC 9112 §3.2.2).
  const absolute = /^https?:\/\/([^/?#]*)(.*)$/i.exec(target);
  if (absolute) [, host, target] = absolute as unknown as [string, string, string];
  const path = target.startsWith('/') ? target : `/${target}`;
  const refused = refuse(
    'ValidationFailed',
    `The Host header ${JSON.stringify(host)} is not a host name or address with an optional port.`,
  );
  if (!HOST_HEADER.test(host)) return { refused };
  try {
    return new URL(`http://${host}${path}`);
  } catch {
    return { refused }; // e.g. a port over 65535
  }
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

/** The host's own refusals, from the one table of error codes (and the one function that maps them). */
function refuse(code: FleetErrorCode, message: string, details?: unknown): HttpResponseInit {
  return errorResponse(new FleetError(code, message, details));
}

/** A 405 for a method the host itself answers before any function runs (CONNECT). */
const methodNotAllowedHere = (method: string) =>
  refuse('MethodNotAllowed', `${method} is not served here; use the methods each function lists (GET /api/openapi.json).`);

/** A whole HTTP/1.1 response as bytes, for a socket no ServerResponse exists for; the connection closes after it. */
function rawResponse(response: HttpResponseInit): string {
  const body = JSON.stringify(response.jsonBody ?? null);
  const status = response.status ?? 500;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
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
  refuse('Unauthorized', "This function needs the function key: send it as the 'x-functions-key' header or the 'code' query parameter.");
