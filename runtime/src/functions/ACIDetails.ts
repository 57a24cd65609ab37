// ACIDetails: a server's container group as ARM describes it (secrets redacted), or a container's logs.
import { z } from 'zod';
import { detailsRequest } from '../domain/servers/requests';
import { parseRequest } from '../domain/core/validation';

const detailsResponse = z.union([z.object({ content: z.string() }), z.record(z.string(), z.unknown())]);
import { httpFunction, json } from './http';

export const ACIDetails = httpFunction({
  name: 'ACIDetails',
  methods: ['POST'],
  maxBodyBytes: 4 * 1024,
  api: {
    summary: "A server's container group as ARM describes it, or a container's logs",
    tag: 'Servers',
    body: detailsRequest,
    responses: {
      200: { description: 'The ARM container group (secure values redacted), or `{content}` for type "logs".', schema: detailsResponse },
    },
    errors: ['Forbidden', 'NotFound', 'AzureUnavailable', 'StorageUnavailable'],
  },
  async handle(_request, services, context, body) {
    const input = parseRequest(detailsRequest, await body.json());
    return json(200, await services.servers(context).details(input));
  },
});
