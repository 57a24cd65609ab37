// ACIReport: a server reports its own active sessions with its per-server token (no function
// key) and learns its state, e.g. that it is being drained.
import { tokenFromRequest } from '../domain/reports/tokens';
import { z } from 'zod';
import { parseReportRequest, reportBody } from '../domain/reports/request';
import { STATES } from '../domain/servers/states';
import { httpFunction, json } from './http';

const reportResponse = z.object({
  state: z.enum(STATES),
  activeSessions: z.number().int(),
  maxSessions: z.number().int(),
  acceptingSessions: z.boolean().describe('false once the server is drained, failed or being deleted: take no new sessions'),
  recorded: z.boolean().describe('false when the report was not written (the server is being deleted)'),
  fleet: z.string().nullable(),
  revision: z.number().int().nullable(),
  outdated: z.boolean().describe('a newer revision of its fleet exists: a rollout will drain it'),
  draining: z.boolean().describe('drained or outdated: wind the players down and let the sessions end'),
});

export const ACIReport = httpFunction({
  name: 'ACIReport',
  methods: ['POST'],
  maxBodyBytes: 4 * 1024,
  // The token is the credential: containers never get a function key.
  authLevel: 'anonymous',
  api: {
    summary: 'A game server reports its own active sessions and learns its state',
    description:
      "Authenticated by the server's own token (ACI_REPORT_TOKEN) as `Authorization: Bearer <token>` or `?token=`; " +
      'images built for the original system post the one-element ACISetSessions array to ACI_SET_SESSIONS_URL.',
    tag: 'Game servers',
    auth: 'serverToken',
    body: reportBody,
    responses: { 200: { description: "The server's state after the report.", schema: reportResponse } },
    errors: ['Forbidden', 'NotFound', 'ReportingNotConfigured', 'WriteContention', 'StorageUnavailable'],
  },
  async handle(request, services, context, body) {
    const reports = services.reports(context);
    // The token first: an unauthenticated caller learns nothing from body validation.
    const key = reports.authenticate(tokenFromRequest(request.headers.get('authorization'), request.query.get('token')));
    const input = parseReportRequest(await body.json());
    return json(200, await reports.record(key, input));
  },
});
