// ACIDelete: delete one of the fleet's servers now, whatever its sessions (ACISetState drains gently).
import { parseRequest } from '../domain/core/validation';
import { serverKeyRequest } from '../domain/servers/requests';
import { serverView } from '../domain/servers/server';
import { httpFunction, json } from './http';

export const ACIDelete = httpFunction({
  name: 'ACIDelete',
  methods: ['POST'],
  maxBodyBytes: 4 * 1024,
  api: {
    summary: 'Delete a server now, whatever its sessions',
    tag: 'Servers',
    body: serverKeyRequest,
    responses: { 200: { description: 'The server, now Deleting.', schema: serverView } },
    errors: ['Forbidden', 'NotFound', 'NotOwnedByFleet', 'WriteContention', 'AzureUnavailable', 'StorageUnavailable'],
  },
  async handle(_request, services, context, body) {
    const key = parseRequest(serverKeyRequest, await body.json());
    return json(200, await services.servers(context).delete(key));
  },
});
