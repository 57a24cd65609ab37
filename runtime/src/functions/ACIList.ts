// ACIList: the fleet's servers, Running ones by default (`?state=all` or any state for others).
import { z } from 'zod';
import { listQuery } from '../domain/servers/requests';
import { parseRequest } from '../domain/core/validation';
import { serverView } from '../domain/servers/server';
import { httpFunction, json } from './http';

export const ACIList = httpFunction({
  name: 'ACIList',
  methods: ['GET'],
  maxBodyBytes: 0,
  api: {
    summary: "The fleet's servers",
    description:
      'Running servers by default; `state=all` or any state for others. Every page of the table is read. Anonymous when FLEET_LIST_PUBLIC is true.',
    tag: 'Servers',
    query: listQuery,
    responses: { 200: { description: 'Servers sorted by resource group and name.', schema: z.array(serverView) } },
    errors: ['StorageUnavailable'],
  },
  // Public only when the stack says so (the original served its page from an anonymous list).
  authLevel: (settings) => (settings.FLEET_LIST_PUBLIC ? 'anonymous' : 'function'),
  async handle(request, services, context) {
    const { state } = parseRequest(listQuery, Object.fromEntries(request.query));
    return json(200, await services.servers(context).list(state));
  },
});
