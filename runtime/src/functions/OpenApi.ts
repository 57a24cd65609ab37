// OpenApi: the OpenAPI 3.1 document of this app, built from the function table at first request.
import { httpFunction, json } from './http';
import { buildOpenApiDocument } from './openApiDocument';
// The table imports this file too; FUNCTIONS is only read when a request arrives, by then it is complete.
import { FUNCTIONS } from './index';

let document: Record<string, unknown> | undefined;

export const OpenApi = httpFunction({
  name: 'OpenApi',
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'api/openapi.json',
  api: {
    summary: 'This OpenAPI 3.1 document',
    tag: 'Operators',
    responses: { 200: { description: 'The document.', contentType: 'application/json' } },
    errors: [],
  },
  async handle(request, services) {
    document ??= buildOpenApiDocument(FUNCTIONS, services.settings);
    return json(200, { ...document, servers: [{ url: new URL(request.url).origin }] });
  },
});
