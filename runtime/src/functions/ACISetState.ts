// ACISetState: drain a server (MarkedForDeletion), un-drain it (Running) or mark it Failed.
import { parseRequest } from '../domain/core/validation';
import { setStateRequest } from '../domain/servers/requests';
import { serverView } from '../domain/servers/server';
import { httpFunction, json } from './http';

export const ACISetState = httpFunction({
  name: 'ACISetState',
  methods: ['POST'],
  maxBodyBytes: 4 * 1024,
  api: {
    summary: 'Drain a server (MarkedForDeletion), un-drain it (Running) or mark it Failed',
    tag: 'Servers',
    body: setStateRequest,
    responses: { 200: { description: 'The server in its new state.', schema: serverView } },
    errors: ['Forbidden', 'NotFound', 'InvalidStateTransition', 'WriteContention', 'StorageUnavailable'],
  },
  async handle(_request, services, context, body) {
    const input = parseRequest(setStateRequest, await body.json());
    return json(200, await services.servers(context).setState(input));
  },
});
