// ACIDelete: delete one of the fleet's servers now, whatever its sessions (ACISetState drains gently).
import { parseRequest, serverKeyRequest } from '../fleet/requests';
import { httpFunction, json, readJson } from './http';

export const ACIDelete = httpFunction({
  name: 'ACIDelete',
  methods: ['POST'],
  async handle(request, services, context) {
    const key = parseRequest(serverKeyRequest, await readJson(request));
    return json(200, await services.fleet(context).delete(key));
  },
});
