// HTTP plumbing shared by every HTTP function: method check, body parsing, and the one place
// where errors become responses.
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { FleetError } from '../domain/core/errors';
import type { Services } from '../services';
import type { AuthLevel, HttpFunction } from './definition';
import type { FleetSettings } from '../options';
import type { ApiDoc } from './apiDoc';

/** Bodies larger than this are refused before they are parsed. */
export const MAX_BODY_BYTES = 64 * 1024;

interface HttpFunctionSpec {
  name: string;
  methods: readonly string[];
  authLevel?: AuthLevel | ((settings: FleetSettings) => AuthLevel);
  route?: string;
  /** What the OpenAPI document says about this function; required so no endpoint goes undocumented. */
  api: ApiDoc;
  handle: (request: HttpRequest, services: Services, context: InvocationContext) => Promise<HttpResponseInit>;
}

export function httpFunction(spec: HttpFunctionSpec): HttpFunction {
  const authLevel = spec.authLevel ?? 'function';
  return {
    trigger: 'http',
    name: spec.name,
    methods: spec.methods,
    route: spec.route ?? `api/${spec.name}`,
    authLevel: typeof authLevel === 'function' ? authLevel : () => authLevel,
    api: spec.api,
    async handler(request, context, services) {
      try {
        if (!spec.methods.includes(request.method.toUpperCase())) {
          const response = errorResponse(
            new FleetError('MethodNotAllowed', `${spec.name} accepts ${spec.methods.join(', ')}, not ${request.method}.`),
          );
          return { ...response, headers: { ...response.headers, Allow: spec.methods.join(', ') } };
        }
        return await spec.handle(request, services, context);
      } catch (e) {
        if (e instanceof FleetError) {
          if (e.status >= 500) context.warn(`${spec.name}: ${e.code}: ${e.message}`);
          // Every refusal is counted by code: e.g. ACIAllocate + NoCapacity is an allocation miss.
          services.telemetry(context).trackEvent('HttpError', { status: e.status, code: e.code });
          return errorResponse(e);
        }
        context.error(`${spec.name} failed unexpectedly`, e);
        services.telemetry(context).trackEvent('HttpError', { status: 500, code: 'Internal' });
        return errorResponse(new FleetError('Internal', `An unexpected error occurred (invocation ${context.invocationId}).`));
      }
    },
  };
}

export function errorResponse(e: FleetError): HttpResponseInit & { headers: Record<string, string> } {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (e.retryAfterSeconds !== undefined) headers['Retry-After'] = String(e.retryAfterSeconds);
  const error: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.details !== undefined) error.details = e.details;
  return { status: e.status, headers, jsonBody: { error } };
}

export const json = (status: number, body: unknown): HttpResponseInit => ({
  status,
  jsonBody: body,
  headers: { 'Content-Type': 'application/json' },
});

/** Reads a JSON body: too large → 413, not JSON → 400 that says where it broke. */
export async function readJson(request: HttpRequest): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge(declared);
  const bytes = Buffer.from(await request.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) throw tooLarge(bytes.length);
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw new FleetError('InvalidJson', 'The request body is empty; send a JSON document.');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FleetError(
      'InvalidJson',
      `The request body is not valid JSON (${(e as Error).message}). Property names must be in double quotes.`,
    );
  }
}

const tooLarge = (bytes: number) =>
  new FleetError('PayloadTooLarge', `The request body is ${bytes} bytes; the limit is ${MAX_BODY_BYTES}.`, { limit: MAX_BODY_BYTES });
