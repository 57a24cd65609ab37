// The shapes the fleet API speaks, for callers. Standalone on purpose (no import from the
// server code); test/integration/client.test.ts fails to compile if they drift from the server's.

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
  containerGroup: ContainerGroupSpec;
  maxSessions?: number;
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
}

/** Every error code the fleet answers with (others may be added; treat unknown ones by status). */
export type FleetErrorCode =
  | 'InvalidJson'
  | 'ValidationFailed'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'Conflict'
  | 'InvalidStateTransition'
  | 'NotOwnedByFleet'
  /** FLEET_MAX_SERVERS servers exist already: delete some, or raise the setting. */
  | 'ServerLimitReached'
  | 'PayloadTooLarge'
  | 'NoCapacity'
  | 'AzureRequestRejected'
  | 'AzureUnavailable'
  | 'StorageUnavailable'
  | 'WriteContention'
  | 'Internal'
  | 'ReportingNotConfigured'
  /** The answer was not the fleet's JSON error (a proxy, a network failure): see `status`. */
  | 'HttpError'
  | 'NetworkError';
