// OpenApi: the OpenAPI 3.1 document of this app, built from the function table at first request.
import type { FunctionDefinition, HttpFunction } from './definition';
import { httpFunction, json } from './http';
import { buildOpenApiDocument } from './openApiDocument';
import { publicUrlFrom } from '../options';

/**
 * The function that serves the document of `table`. The table is passed in (read at the first
 * request, when it is complete) rather than imported, since the table itself lists this function.
 */
export function openApiFunction(table: () => readonly FunctionDefinition[]): HttpFunction {
  let document: Record<string, unknown> | undefined;
  return httpFunction({
    name: 'OpenApi',
    methods: ['GET'],
    maxBodyBytes: 0,
    authLevel: 'anonymous',
    route: 'api/openapi.json',
    api: {
      summary: 'This OpenAPI 3.1 document',
      tag: 'Operators',
      responses: { 200: { description: 'The document.', contentType: 'application/json' } },
      errors: [],
    },
    async handle(_request, services) {
      document ??= buildOpenApiDocument(table(), services.settings);
      // From the settings, never the Host header (which would let a caller point the document
      // elsewhere); without one, `/` is the origin the document was fetched from (OpenAPI 3.1).
      return json(200, { ...document, servers: [{ url: publicUrlFrom(services.settings) ?? '/' }] });
    },
  });
}
