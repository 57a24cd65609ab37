// ACIReport's request: what a game server sends about itself.
import { z } from 'zod';
import { parseRequest } from '../core/validation';
import { activeSessions, containerGroupName, resourceGroupName } from '../servers/requests';

/**
 * ACIReport's body: `{activeSessions}`, or the original system's one-element ACISetSessions
 * array (images built for it post that to ACI_SET_SESSIONS_URL). If it names a server, the
 * report token must be that server's.
 */
export const reportRequest = z.object({
  resourceGroup: resourceGroupName.optional(),
  containerGroupName: containerGroupName.optional(),
  activeSessions,
});
export type ReportRequest = z.infer<typeof reportRequest>;
const legacyReportRequest = z.array(reportRequest).length(1, { error: 'a server reports for itself only: send exactly one report' });

/** Both accepted shapes, for the API document. */
export const reportBody = z.union([reportRequest, legacyReportRequest]);

export function parseReportRequest(input: unknown): ReportRequest {
  return Array.isArray(input) ? parseRequest(legacyReportRequest, input)[0]! : parseRequest(reportRequest, input);
}
