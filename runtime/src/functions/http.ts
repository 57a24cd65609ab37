// HTTP plumbing shared by every HTTP function: method check, body parsing, and the one place
// where errors become responses.
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { FleetError } from '../domain/core/errors';
import type { Services } from '../services';
import type { AuthLevel, HttpFunction } from './definition';
import type { FleetSettings } from '../options';
import type { ApiDoc } from './apiDoc';

/**
 * No function takes a larger body. On Azure the Functions host reads a whole body before the
 * function runs, so the stack sets the host's own limit (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT) to
 * this instead of its 100 MB default; each function then stops at its own, smaller limit.
 */
export const LARGEST_BODY_BYTES = 1024 * 1024;

/** The request body of one invocation, read only when the function asks, and only as far as its limit. */
export interface RequestBody {
  /**
   * The body parsed as JSON: over the function's limit → 413 (reading stops there), not JSON → 400.
   * An empty (or all-whitespace) body is `whenEmpty` when given, else a 400.
   */
  json(options?: { whenEmpty?: unknown }): Promise<unknown>;
}

interface HttpFunctionSpec {
  name: string;
  methods: readonly string[];
  authLevel?: AuthLevel | ((settings: FleetSettings) => AuthLevel);
  route?: string;
  /** What the OpenAPI document says about this function; required so no endpoint goes undocumented. */
  api: ApiDoc;
  /** The largest body the function needs (bytes): required, so every function says what it accepts. */
  maxBodyBytes: number;
  handle: (request: HttpRequest, services: Services, context: InvocationContext, body: RequestBody) => Promise<HttpResponseInit>;
}

export function httpFunction(spec: HttpFunctionSpec): HttpFunction {
  if (spec.maxBodyBytes > LARGEST_BODY_BYTES)
    throw new Error(`${spec.name}: maxBodyBytes is over LARGEST_BODY_BYTES (the host's limit on Azure)`);
  const authLevel = spec.authLevel ?? 'function';
  return {
    trigger: 'http',
    name: spec.name,
    methods: spec.methods,
    route: spec.route ?? `api/${spec.name}`,
    authLevel: typeof authLevel === 'function' ? authLevel : () => authLevel,
    api: spec.api,
    maxBodyBytes: spec.maxBodyBytes,
    async handler(request, context, services) {
      try {
        if (!spec.methods.includes(request.method.toUpperCase())) return methodNotAllowed(spec.name, spec.methods, request.method);
        const body: RequestBody = { json: (options) => readJson(request, spec.maxBodyBytes, options) };
        return await spec.handle(request, services, context, body);
      } catch (e) {
        if (e instanceof FleetError) {
          if (e.status >= 500) context.warn(`${spec.name}: ${e.code}: ${e.message}`);
          // Every refusal is counted by code: e.g. ACIAllocate + NoCapacity is an allocation miss.
          services.telemetry(context).trackEvent('HttpError', { status: e.status, code: e.code });
          const response = errorResponse(e);
          // A 401 names the scheme to authenticate with (RFC 9110 §11.6.1); a function key has none.
          if (e.status === 401 && spec.api.auth === 'serverToken') response.headers['WWW-Authenticate'] = challengeFor(e);
          return response;
        }
        context.error(`${spec.name} failed unexpectedly`, e);
        services.telemetry(context).trackEvent('HttpError', { status: 500, code: 'Internal' });
        return errorResponse(new FleetError('Internal', `An unexpected error occurred (invocation ${context.invocationId}).`));
      }
    },
  };
}

/** The challenge a 401 from a server-token function carries: the token goes in `Authorization: Bearer`. */
export const SERVER_TOKEN_CHALLENGE = 'Bearer realm="aci-fleet server report"';

/** RFC 6750 §3: a token that was sent but is not valid says so in the challenge (error="invalid_token"). */
function challengeFor(e: FleetError): string {
  const tokenError = (e.details as { tokenError?: unknown } | undefined)?.tokenError;
  return typeof tokenError === 'string' ? `${SERVER_TOKEN_CHALLENGE}, error="${tokenError}"` : SERVER_TOKEN_CHALLENGE;
}

export function errorResponse(e: FleetError): HttpResponseInit & { headers: Record<string, string> } {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (e.retryAfterSeconds !== undefined) headers['Retry-After'] = String(e.retryAfterSeconds);
  const error: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.details !== undefined) error.details = e.details;
  return { status: e.status, headers, jsonBody: { error } };
}

/** 405 with the methods the function does accept (the local host answers it too, for methods fetch cannot carry). */
export function methodNotAllowed(name: string, methods: readonly string[], method: string): HttpResponseInit {
  const response = errorResponse(new FleetError('MethodNotAllowed', `${name} accepts ${methods.join(', ')}, not ${method}.`));
  return { ...response, headers: { ...response.headers, Allow: methods.join(', ') } };
}

export const json = (status: number, body: unknown): HttpResponseInit => ({
  status,
  jsonBody: body,
  headers: { 'Content-Type': 'application/json' },
});

/** Reads the body as JSON, at most `limit` bytes of it: too large → 413, not JSON → 400 that says where it broke. */
async function readJson(request: HttpRequest, limit: number, options: { whenEmpty?: unknown } = {}): Promise<unknown> {
  // A UTF-8 byte order mark (PowerShell and .NET clients send one) is not part of the JSON text.
  const text = (await readBytes(request, limit)).toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') {
    if ('whenEmpty' in options) return options.whenEmpty;
    throw new FleetError('InvalidJson', 'The request body is empty; send a JSON document.');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FleetError(
      'InvalidJson',
      `The request body is not valid JSON (${(e as Error).message}). Property names must be in double quotes.`,
    );
  }
}

/**
 * The body's bytes, read chunk by chunk so that reading stops as soon as it passes `limit` (a
 * declared Content-Length above it is refused before anything is read).
 */
async function readBytes(request: HttpRequest, limit: number): Promise<Buffer> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > limit) throw tooLarge(limit, `is ${declared} bytes`);
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) throw tooLarge(limit, `has more than ${limit} bytes`);
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof FleetError) throw e;
    throw new FleetError('InvalidJson', `The request body could not be read: ${(e as Error).message}.`);
  } finally {
    // Not cancelled: the rest stays unread, and the host closes the connection instead of draining it.
    reader.releaseLock();
  }
  return Buffer.concat(chunks);
}

const tooLarge = (limit: number, what: string) =>
  new FleetError('PayloadTooLarge', `The request body ${what}; the limit of this function is ${limit} bytes.`, { limit });
