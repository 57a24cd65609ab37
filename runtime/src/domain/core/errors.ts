// Errors are values with a code. The domain throws them; one function (functions/http.ts)
// turns them into HTTP responses, so no handler builds its own error JSON.
import { type ApiErrorCode, ERROR_STATUS } from '../../../client/errorCodes';

/** The codes and their statuses are the API's one list, shipped with the client. */
export type FleetErrorCode = ApiErrorCode;

const STATUS: Readonly<Record<FleetErrorCode, number>> = ERROR_STATUS;

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
