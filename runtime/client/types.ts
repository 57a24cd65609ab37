// The shapes the fleet API speaks, for callers. Standalone on purpose (no import from the
// server code); test/integration/client.test.ts fails to compile if they drift from the server's.
import type { ApiErrorCode } from './errorCodes';

export type ServerState = 'Creating' | 'Running' | 'MarkedForDeletion' | 'Deleting' | 'Failed';

/** A server as every endpoint returns it (the original system's PascalCase names). */
export interface Server {
  ResourceGroup: string;
  ContainerGroupName: string;
  State: ServerState;
  ActiveSessions: number;
  MaxSessions: number;
  PublicIP: string | null;
  Fqdn: string | null;
  Location: string;
  Image: string;
  CPU: number;
  /** GB */
  RAM: number;
  CreatedAt: string;
  StateChangedAt: string;
  LastReportAt: string | null;
  FailureReason: string | null;
  /** Sessions booked by ACIAllocate that the server has not reported yet (counted in its load). */
  ReservedSessions: number;
  /** The fleet it belongs to; null when created without one (the default fleet counts those). */
  Fleet: string | null;
  /** The fleet revision it was made from; null when created without a fleet. */
  Revision: number | null;
}

export interface ServerKey {
  resourceGroup: string;
  containerGroupName: string;
}

export interface Port {
  port: number;
  protocol?: 'TCP' | 'UDP';
}

export interface ContainerSpec {
  name: string;
  image: string;
  resources: { requests: { cpu: number; memoryInGB: number } };
  ports?: Port[];
  environmentVariables?: Array<{ name: string; value?: string; secureValue?: string }>;
  command?: string[];
  [armProperty: string]: unknown;
}

/** ARM's container group model as ACICreate accepts it; other ARM properties pass through. */
export interface ContainerGroupSpec {
  location: string;
  osType: 'Linux' | 'Windows';
  containers: ContainerSpec[];
  ipAddress?: { type?: 'Public' | 'Private'; ports: Port[]; dnsNameLabel?: string; [armProperty: string]: unknown };
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  volumes?: Array<Record<string, unknown>>;
  tags?: Record<string, string>;
  [armProperty: string]: unknown;
}

export interface CreateRequest extends ServerKey {
  /** Required unless `fleet` is given: then the server is made from the fleet's current template. */
  containerGroup?: ContainerGroupSpec;
  maxSessions?: number;
  /** The fleet the server belongs to (its current revision). */
  fleet?: string;
}

export interface CreateResult {
  /** false when the same spec had already been accepted (HTTP 200 rather than 202). */
  created: boolean;
  server: Server;
}

export interface SessionReport extends ServerKey {
  activeSessions: number;
}

export interface SetSessionsResult {
  updated: number;
  transactions: number;
  ignored: Array<ServerKey & { reason: string }>;
}

export type OperatorState = 'MarkedForDeletion' | 'Failed' | 'Running';

export interface AllocateRequest {
  /** Sessions to reserve on one server (default 1). */
  sessions?: number;
  location?: string;
  resourceGroup?: string;
  /** Only this fleet's servers, its current revision first. */
  fleet?: string;
  /** Makes retries safe: the same id returns the same allocation. Generated when omitted. */
  requestId?: string;
}

/** What ACIAllocate answers: the server, and the booking made on it. */
export interface Allocation extends Server {
  Reservation: {
    /** The requestId (a retry with it returns this same booking while it lives). */
    id: string;
    sessions: number;
    at: string;
    /** A server report made at or after this time is taken to include these sessions. */
    reportAfter: string;
    expiresAt: string;
    /** true when this answer repeats an earlier booking with the same requestId. */
    repeated: boolean;
  };
}

export interface ReportResult {
  /** The server's state: MarkedForDeletion tells a game server it is being drained. */
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

/** A fleet's template: an ACICreate body without containerGroupName, with an optional prefix for its servers' names. */
export interface FleetTemplate {
  resourceGroup: string;
  containerGroup: ContainerGroupSpec;
  maxSessions?: number;
  namePrefix?: string;
}

/** A fleet's own autoscaler settings; each one left out is the deployment's AUTOSCALER_* setting. */
export interface FleetAutoscaler {
  policy?: 'buffer' | 'threshold';
  minimumInstances?: number;
  maximumInstances?: number;
  scaleOutThreshold?: number;
  scaleInThreshold?: number;
  scaleOutCooldownSeconds?: number;
  scaleInCooldownSeconds?: number;
  bufferSlots?: number;
  bufferPercent?: number;
  createQuota?: number;
  createQuotaWindowSeconds?: number;
  demandWindowSeconds?: number;
}

/** A count of servers, or a percentage of the fleet's size such as "25%". */
export type CountOrPercent = number | `${number}%`;

/** The body of PUT /api/fleets/{name}: give replicas or autoscaler (or neither: sized by hand with ACICreate). */
export interface FleetSpec {
  template: FleetTemplate;
  replicas?: number;
  autoscaler?: FleetAutoscaler;
  /** Defaults: maxSurge "25%", maxUnavailable 0 (an old server goes only once a new one runs). */
  rollout?: { maxSurge?: CountOrPercent; maxUnavailable?: CountOrPercent };
}

export type RolloutState = 'Complete' | 'Progressing' | 'Paused' | 'Deleting';

export interface FleetRevisionStatus {
  /** null: servers created without a fleet whose template is not known. */
  Revision: number | null;
  Current: boolean;
  Creating: number;
  Running: number;
  MarkedForDeletion: number;
  Deleting: number;
  Failed: number;
  ActiveSessions: number;
}

export interface FleetStatus {
  /** Complete once no server of an older revision is left; Paused when the new revision fails (the reason says why). */
  State: RolloutState;
  Reason: string;
  Desired: number;
  /** Running servers of the current revision. */
  Ready: number;
  /** Servers of older revisions still there (draining ones included). */
  Outdated: number;
  /** Sessions those servers hold: they stay until these end. */
  OutdatedSessions: number;
  Servers: FleetRevisionStatus[];
  RevisionAt: string;
  CompletedAt: string | null;
  ObservedAt: string | null;
  /**
   * ARM's words while ACI's quota in the fleet's region holds its creates back (the reason says
   * what would help); null otherwise. Apps older than the field leave it out: test it for truth.
   */
  QuotaReached: string | null;
}

/** A fleet as the fleets endpoints return it. */
export interface Fleet {
  Name: string;
  Revision: number;
  /** Secure values are shown as "<redacted>": send the real ones when you PUT. */
  Template: Record<string, unknown>;
  Replicas: number | null;
  /** The settings it runs with, AUTOSCALER_* defaults filled in. */
  Autoscaler: Record<string, unknown> | null;
  Rollout: { maxSurge: number | string; maxUnavailable: number | string };
  /** settings: the default fleet, from CONTAINER_GROUP_TEMPLATE and AUTOSCALER_*. */
  DefinedBy: 'api' | 'settings';
  Deleting: boolean;
  CreatedAt: string;
  UpdatedAt: string;
  Status: FleetStatus;
}

export interface PutFleetResult {
  /** true: a new fleet (HTTP 201). */
  created: boolean;
  fleet: Fleet;
  /** For `ifMatch` on a later put. */
  etag: string;
}

/**
 * Every error code a call can fail with: the fleet's own (ERROR_STATUS, with their statuses),
 * and two for answers that are not the fleet's JSON error.
 */
export type FleetErrorCode =
  | ApiErrorCode
  /** The answer was not the fleet's JSON error (a proxy, a gateway): see `status`. */
  | 'HttpError'
  /** No answer arrived (network failure, timeout): `status` is 0. */
  | 'NetworkError';
