// ACISetSessions: record active sessions for one or many servers, validated as a whole first.
import { z } from 'zod';
import { containerGroupName, setSessionsRequest } from '../domain/servers/requests';
import { parseRequest } from '../domain/core/validation';
import { httpFunction, json } from './http';

const setSessionsResponse = z.object({
  updated: z.number().int(),
  transactions: z.number().int(),
  ignored: z.array(z.object({ resourceGroup: z.string(), containerGroupName, reason: z.string() })),
});

export const ACISetSessions = httpFunction({
  name: 'ACISetSessions',
  methods: ['POST'],
  // The largest batch the schema allows: 5,000 reports of at most ≈ 200 bytes.
  maxBodyBytes: 1024 * 1024,
  api: {
    summary: "Record many servers' active sessions at once",
    description:
      'The whole batch is validated (and every server must exist) before anything is written; each resource group is written in transactions of up to 100 rows.',
    tag: 'Servers',
    body: setSessionsRequest,
    responses: {
      200: {
        description:
          'How many rows were written, in how many table transactions (one that found a row changed meanwhile, and so wrote nothing, counts too), and the servers left alone.',
        schema: setSessionsResponse,
      },
    },
    errors: ['Forbidden', 'NotFound', 'WriteContention', 'StorageUnavailable'],
  },
  async handle(_request, services, context, body) {
    const reports = parseRequest(setSessionsRequest, await body.json());
    return json(200, await services.servers(context).setSessions(reports));
  },
});
