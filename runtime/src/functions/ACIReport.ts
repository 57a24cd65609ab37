// ACIReport: a server reports its own active sessions with its per-server token (no function
// key) and learns its state, e.g. that it is being drained. Contract: ARCHITECTURE.md §2.
import { tokenFromRequest } from '../fleet/reportTokens';
import { parseReportRequest } from '../fleet/requests';
import { httpFunction, json, readJson } from './http';

export const ACIReport = httpFunction({
  name: 'ACIReport',
  methods: ['POST'],
  // The token is the credential: containers never get a function key.
  authLevel: 'anonymous',
  async handle(request, services, context) {
    const reports = services.reports(context);
    // The token first: an unauthenticated caller learns nothing from body validation.
    const key = reports.authenticate(tokenFromRequest(request.headers.get('authorization'), request.query.get('token')));
    const input = parseReportRequest(await readJson(request));
    return json(200, await reports.record(key, input));
  },
});
