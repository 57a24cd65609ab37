// ACICreate: accept a container group spec, record the server as Creating, start the ARM create.
import { createRequest } from '../domain/servers/requests';
import { parseRequest } from '../domain/core/validation';
import { serverView } from '../domain/servers/server';
import { httpFunction, json } from './http';

export const ACICreate = httpFunction({
  name: 'ACICreate',
  methods: ['POST'],
  // A container group spec with its environment and volumes; ARM itself takes at most 4 MiB.
  maxBodyBytes: 64 * 1024,
  api: {
    summary: 'Create a server from a container group spec',
    description:
      'Records the server as Creating, then starts the ARM create; ACIMonitor moves it to Running. ' +
      "With `fleet`, the server belongs to that fleet's current revision, made from its template unless containerGroup is given.",
    tag: 'Servers',
    body: createRequest,
    responses: {
      202: { description: 'Accepted: the server is Creating.', schema: serverView },
      200: { description: 'The same spec had already been accepted; nothing new was started.', schema: serverView },
    },
    errors: [
      'Forbidden',
      'NotFound',
      'Conflict',
      'NotOwnedByFleet',
      'ServerLimitReached',
      'AzureRequestRejected',
      'AzureQuotaReached',
      'AzureUnavailable',
      'StorageUnavailable',
    ],
  },
  async handle(_request, services, context, body) {
    const input = parseRequest(createRequest, await body.json());
    const { fleet } = input;
    const { created, server } = fleet
      ? await services.fleets(context).createServer({ ...input, fleet })
      : // Without a fleet the schema requires a containerGroup.
        await services.servers(context).create({ ...input, containerGroup: input.containerGroup! });
    // 202: ARM is still provisioning; ACIMonitor moves the server to Running when it is ready.
    return json(created ? 202 : 200, server);
  },
});
