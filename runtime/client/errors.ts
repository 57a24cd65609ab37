// The one error type the client throws: the fleet's `{"error":{code,message,details}}` as a value.
import type { FleetErrorCode } from './types';

export class FleetApiError extends Error {
  override readonly name = 'FleetApiError';

  constructor(
    /** HTTP status; 0 when no answer arrived (network failure, timeout). */
    readonly status: number,
    readonly code: FleetErrorCode | (string & {}),
    message: string,
    readonly details?: unknown,
    /** Seconds the fleet asked to wait (Retry-After), when it did. */
    readonly retryAfterSeconds?: number,
    /** How many attempts were made before giving up. */
    readonly attempts = 1,
  ) {
    super(message);
  }

  /** Whether the same request may succeed later (the client already retried it). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status === 503;
  }
}

export function isFleetApiError(e: unknown, code?: FleetErrorCode): e is FleetApiError {
  return e instanceof FleetApiError && (code === undefined || e.code === code);
}
