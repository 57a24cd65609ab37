// ACISetSessions: record active sessions for one or many servers, validated as a whole first.
import { parseRequest, setSessionsRequest } from '../fleet/requests';
import { httpFunction, json, readJson } from './http';

export const ACISetSessions = httpFunction({
  name: 'ACISetSessions',
  methods: ['POST'],
  async handle(request, services, context) {
    const reports = parseRequest(setSessionsRequest, await readJson(request));
    return json(200, await services.fleet(context).setSessions(reports));
  },
});
