// ACIReport's service: a server reports its own sessions with its per-server token, and learns
// its state (so it knows when it is being drained). The token is the only credential.
import { FleetError, notFound } from '../core/errors';
import { systemClock, type Clock } from '../core/ports';
import type { ServerStore } from '../servers/ports';
import { verifyReportToken, type ReportIdentity } from './tokens';
import type { ReportRequest } from './request';
import { describeKey, sessionsBeyondCapacity, type ServerRecord } from '../servers/server';
import { assertAllowedResourceGroup } from '../core/resourceGroups';
import { mutateServer } from '../servers/mutate';
import type { ServerOptions } from '../servers/serverService';
import type { ServerState } from '../servers/states';
import { fleetOf, isOutdated, type FleetRevisionSource } from '../servers/membership';

export interface ServerReportsDeps {
  store: ServerStore;
  options: ServerOptions;
  /** Secrets a token may be signed with: the current one, then the previous during a rotation. Empty = not configured. */
  secrets: readonly string[];
  clock?: Clock;
  /** Every fleet's current revision (a recent copy), so an outdated server learns it is. */
  revisions?: FleetRevisionSource;
}

export interface ReportResult {
  state: ServerState;
  activeSessions: number;
  maxSessions: number;
  /** false once the server is drained, failed or being deleted: take no new sessions. */
  acceptingSessions: boolean;
  /** false when the report was not written (the server is being deleted). */
  recorded: boolean;
  /** The fleet it belongs to (null: created without one) and the revision it was made from. */
  fleet: string | null;
  revision: number | null;
  /** A newer revision of its fleet exists: a rollout will drain it; wind the players down. */
  outdated: boolean;
  /** Drained, or outdated: take players no longer than needed, and let the sessions end. */
  draining: boolean;
}

const forbidden = (message: string) => new FleetError('Forbidden', message);
/**
 * RFC 6750's invalid_token: a token that is forged, signed with a secret the fleet no longer has,
 * or an earlier server's is a 401 (a valid token used beyond its server is a 403).
 */
const invalidToken = (message: string) => new FleetError('Unauthorized', message, { tokenError: 'invalid_token' });

export class ServerReports {
  private readonly clock: Clock;

  constructor(private readonly deps: ServerReportsDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  /** The server (and incarnation) a token speaks for; 401 for a missing, forged or rotated-out token, 503 if reporting is not set up. */
  authenticate(token: string | undefined): ReportIdentity {
    if (this.deps.secrets.length === 0) {
      throw new FleetError(
        'ReportingNotConfigured',
        'Server reports are not configured: the app setting REPORT_TOKEN_SECRET is missing.',
        undefined,
        60,
      );
    }
    // No credential at all is a 401, as a missing function key is elsewhere; so is one that is not valid (RFC 6750).
    if (!token)
      throw new FleetError(
        'Unauthorized',
        "ACIReport needs the server's report token: send it as 'Authorization: Bearer <token>' or '?token='. It is in the container's ACI_REPORT_TOKEN.",
      );
    const key = verifyReportToken(token, this.deps.secrets);
    if (!key) throw invalidToken('The report token is not valid for this fleet.');
    return key;
  }

  /** Records the report for the token's server (only, and only its incarnation); nothing is written on any refusal. */
  async record(key: ReportIdentity, report: ReportRequest): Promise<ReportResult> {
    const namesOther =
      (report.resourceGroup !== undefined && report.resourceGroup !== key.resourceGroup) ||
      (report.containerGroupName !== undefined && report.containerGroupName !== key.containerGroupName);
    if (namesOther) throw forbidden(`This token is for ${describeKey(key)}; a server can only report for itself.`);
    assertAllowedResourceGroup(this.deps.options.allowedResourceGroups, key.resourceGroup);

    let recorded = false;
    const { store, options } = this.deps;
    const revisions = this.deps.revisions?.current().catch(() => undefined); // read meanwhile; never fails the report
    const row = await mutateServer(store, options.writeAttempts, key, (r) => {
      assertSameIncarnation(r, key);
      recorded = false;
      // A server being deleted is past caring; its report must not resurrect anything.
      if (r.state === 'Deleting') return undefined;
      const beyond = sessionsBeyondCapacity(r, report.activeSessions);
      if (beyond)
        throw new FleetError('ValidationFailed', `Invalid request: activeSessions: ${beyond}.`, [
          { path: 'activeSessions', message: beyond },
        ]);
      recorded = true;
      return { ...r, activeSessions: report.activeSessions, lastReportAt: this.clock.now().toISOString() };
    });
    if (!row) throw notFound(key.resourceGroup, key.containerGroupName);
    const r = row.value;
    const outdated = isOutdated(r, (await revisions)?.get(fleetOf(r)));
    return {
      state: r.state,
      activeSessions: r.activeSessions,
      maxSessions: r.maxSessions,
      acceptingSessions: r.state === 'Running',
      recorded,
      fleet: r.fleet ?? null,
      revision: r.revision ?? null,
      outdated,
      draining: r.state === 'MarkedForDeletion' || (outdated && r.state === 'Running'),
    };
  }
}

/**
 * A token speaks only for the incarnation it was issued to: the token of a server that was
 * deleted, or of a container left over from it, is refused for the server now bearing its name.
 * Rows made before incarnations (and their v1 tokens) keep working together.
 */
function assertSameIncarnation(r: ServerRecord, token: ReportIdentity): void {
  if (r.incarnation === token.incarnation) return;
  throw invalidToken(
    token.incarnation === undefined || r.incarnation === undefined
      ? `This token does not belong to the current server ${describeKey(r)}.`
      : `This token was issued to an earlier server named ${describeKey(r)}; the server now bearing that name has its own.`,
  );
}
