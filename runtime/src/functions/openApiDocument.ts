// Builds the OpenAPI 3.1 document from the function table: every HTTP function's route, methods,
// auth, request schemas (the very zod schemas that validate input) and its errors by status.
import { z, type ZodType } from 'zod';
import type { FleetSettings } from '../options';
import { statusOfCode, type FleetErrorCode } from '../domain/core/errors';
import { serverView } from '../domain/servers/server';
import { MAX_REQUEST_DEPTH } from '../domain/core/validation';
import { fleetView } from '../domain/fleets/fleet';
import type { ApiDoc } from './apiDoc';
import type { FunctionDefinition, HttpFunction } from './definition';
import { compileRoute } from './routes';
import { SERVER_TOKEN_CHALLENGE } from './http';

type JsonObject = Record<string, unknown>;

/** Schemas that get a name under components.schemas and are referenced wherever they appear. */
const NAMED_SCHEMAS = new Map<ZodType, string>([
  [serverView, 'Server'],
  [fleetView, 'Fleet'],
]);

const FUNCTION_KEY_SECURITY = [{ functionKey: [] }, { functionKeyQuery: [] }];

export function buildOpenApiDocument(functions: readonly FunctionDefinition[], settings: FleetSettings): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const fn of functions) {
    if (fn.trigger !== 'http') continue;
    const path = compileRoute(fn.route).documentedPath;
    paths[path] ??= {};
    const item = paths[path];
    for (const method of fn.methods) {
      item[method.toLowerCase()] = operation(fn, method, settings);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'aci-fleet',
      version: '1',
      description:
        'Fleet manager for stateful containers (game servers) on Azure Container Instances. ' +
        'Errors are always `{"error":{"code","message","details"}}`; 503 answers carry Retry-After.',
    },
    paths,
    components: {
      schemas: {
        ...Object.fromEntries([...NAMED_SCHEMAS].map(([schema, name]) => [name, jsonSchema(schema, 'output', false)])),
        Error: errorSchema(),
      },
      securitySchemes: {
        functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key', description: 'The function (or host) key.' },
        functionKeyQuery: { type: 'apiKey', in: 'query', name: 'code', description: 'The function key as a query parameter.' },
        serverToken: { type: 'http', scheme: 'bearer', description: "A game server's own report token (ACI_REPORT_TOKEN)." },
      },
    },
  };
}

function operation(fn: HttpFunction, method: string, settings: FleetSettings): JsonObject {
  const { methods, ...shared } = fn.api;
  const api: ApiDoc = { ...shared, ...methods?.[method] };
  const op: JsonObject = {
    operationId: fn.methods.length > 1 ? `${fn.name}_${method.toLowerCase()}` : fn.name,
    summary: api.summary,
    ...(api.description ? { description: api.description } : {}),
    ...(api.tag ? { tags: [api.tag] } : {}),
  };
  const needsKey = fn.authLevel(settings) === 'function';
  if (api.auth === 'serverToken') op.security = [{ serverToken: [] }];
  else op.security = needsKey ? FUNCTION_KEY_SECURITY : [];

  const parameters = [
    ...(api.path ? parametersOf(api.path, 'path') : []),
    ...(api.query ? parametersOf(api.query, 'query') : []),
    ...Object.entries(api.headers ?? {}).map(([name, description]) => ({
      name,
      in: 'header',
      required: false,
      description,
      schema: { type: 'string' },
    })),
  ];
  if (parameters.length > 0) op.parameters = parameters;
  if (api.body) {
    op.requestBody = {
      required: true,
      description: `At most ${fn.maxBodyBytes} bytes (413 PayloadTooLarge beyond), nested at most ${MAX_REQUEST_DEPTH} levels deep.`,
      content: { 'application/json': { schema: jsonSchema(api.body, 'input') } },
    };
  }

  const responses: Record<string, JsonObject> = {};
  for (const [status, doc] of Object.entries(api.responses)) {
    const contentType = doc.contentType ?? (doc.schema ? 'application/json' : undefined);
    responses[status] = {
      description: doc.description,
      ...(doc.headers ? { headers: headerDocs(doc.headers) } : {}),
      ...(contentType ? { content: { [contentType]: doc.schema ? { schema: jsonSchema(doc.schema, 'output') } : {} } } : {}),
    };
  }
  for (const [status, codes] of errorsByStatus(errorCodes(api, needsKey || api.auth === 'serverToken'))) {
    responses[String(status)] = {
      description: `Error ${codes.join(', ')}`,
      ...(status === 503 ? { headers: headerDocs({ 'Retry-After': 'Seconds to wait before retrying.' }) } : {}),
      ...(status === 401 && api.auth === 'serverToken'
        ? {
            headers: headerDocs({
              'WWW-Authenticate': `\`${SERVER_TOKEN_CHALLENGE}\`: send the token as a Bearer credential; with \`, error="invalid_token"\` when the token sent is not valid (forged, signed with a rotated-out secret, or an earlier server's).`,
            }),
          }
        : {}),
      content: {
        'application/json': {
          schema: {
            allOf: [{ $ref: '#/components/schemas/Error' }],
            properties: { error: { properties: { code: { enum: codes } } } },
          },
        },
      },
    };
  }
  op.responses = responses;
  return op;
}

/** The errors a function can answer with: its own plus those its shape implies. */
export function errorCodes(api: ApiDoc, authenticated: boolean): FleetErrorCode[] {
  const codes = new Set<FleetErrorCode>(api.errors);
  if (api.body) for (const c of ['InvalidJson', 'ValidationFailed', 'PayloadTooLarge'] as const) codes.add(c);
  if (api.query || api.path) codes.add('ValidationFailed');
  if (authenticated) codes.add('Unauthorized');
  codes.add('MethodNotAllowed');
  codes.add('Internal');
  return [...codes];
}

function errorsByStatus(codes: FleetErrorCode[]): Map<number, FleetErrorCode[]> {
  const byStatus = new Map<number, FleetErrorCode[]>();
  for (const code of codes) {
    const status = statusOfCode(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

function parametersOf(object: z.ZodObject, where: 'query' | 'path'): JsonObject[] {
  const schema = jsonSchema(object, 'input') as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    // A path parameter is always there (OpenAPI requires saying so).
    required: where === 'path' || (schema.required ?? []).includes(name),
    schema: property,
  }));
}

function headerDocs(headers: Record<string, string>): JsonObject {
  return Object.fromEntries(Object.entries(headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));
}

function errorSchema(): JsonObject {
  return {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', description: 'Stable, machine-readable error code.' },
          message: { type: 'string', description: 'What went wrong and what to fix.' },
          details: { description: 'Per-field problems for ValidationFailed; context for others.' },
        },
      },
    },
  };
}

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of a zod schema; named schemas become $refs. */
function jsonSchema(schema: ZodType, io: 'input' | 'output', useRefs = true): JsonObject {
  const named = useRefs ? NAMED_SCHEMAS.get(schema) : undefined;
  if (named) return { $ref: `#/components/schemas/${named}` };
  if (useRefs && schema instanceof z.ZodArray) {
    const element = NAMED_SCHEMAS.get(schema.element as ZodType);
    if (element) return { type: 'array', items: { $ref: `#/components/schemas/${element}` } };
  }
  // Transforms and refinements cannot be expressed; their input side documents what to send.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonObject;
  return rest;
}
