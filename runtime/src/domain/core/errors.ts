// Errors are values with a code. The domain throws them; one function (functions/http.ts)
// turns them into HTTP responses, so no handler builds its own error JSON.

export type FleetErrorCode =
  | 'InvalidJson'
  | 'ValidationFailed'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'Conflict'
  | 'PreconditionFailed'
  | 'InvalidStateTransition'
  | 'NotOwnedByFleet'
  | 'ServerLimitReached'
  | 'PayloadTooLarge'
  | 'HeadersTooLarge'
  | 'NoCapacity'
  | 'AzureRequestRejected'
  | 'AzureUnavailable'
  | 'StorageUnavailable'
  | 'WriteContention'
  | 'Internal'
  | 'ReportingNotConfigured';

const STATUS: Record<FleetErrorCode, number> = {
  InvalidJson: 400,
  ValidationFailed: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  PreconditionFailed: 412,
  InvalidStateTransition: 409,
  NotOwnedByFleet: 409,
  ServerLimitReached: 409,
  PayloadTooLarge: 413,
  HeadersTooLarge: 431,
  NoCapacity: 503,
  AzureRequestRejected: 400,
  AzureUnavailable: 503,
  StorageUnavailable: 503,
  WriteContention: 503,
  Internal: 500,
  ReportingNotConfigured: 503,
};

export class FleetError extends Error {
  constructor(
    readonly code: FleetErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds the caller should wait before retrying (sent as Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'FleetError';
  }

  get status(): number {
    return STATUS[this.code];
  }
}

export const notFound = (resourceGroup: string, containerGroupName: string) =>
  new FleetError('NotFound', `No server '${containerGroupName}' in resource group '${resourceGroup}' is known to this fleet.`, {
    resourceGroup,
    containerGroupName,
  });

/** Every error code with its HTTP status (the OpenAPI document lists them per function). */
export const statusOfCode = (code: FleetErrorCode): number => STATUS[code];
