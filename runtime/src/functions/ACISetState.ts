// ACISetState: drain a server (MarkedForDeletion), un-drain it (Running) or mark it Failed.
import { parseRequest, setStateRequest } from '../fleet/requests';
import { httpFunction, json, readJson } from './http';

export const ACISetState = httpFunction({
  name: 'ACISetState',
  methods: ['POST'],
  async handle(request, services, context) {
    const input = parseRequest(setStateRequest, await readJson(request));
    return json(200, await services.fleet(context).setState(input));
  },
});
