// The API's error codes and the HTTP status each is answered with: the one list. The server maps
// its errors to HTTP from it (runtime/src/domain/core/errors.ts) and the client's typed codes are
// derived from it, so a matchmaker can switch on every code the fleet answers, and no other.
// It lives with the client because the client is shipped on its own, without any server code.

export const ERROR_STATUS = {
  /** The body is not JSON (or is empty where a body is required). */
  InvalidJson: 400,
  /** A field, query parameter, route parameter or header is wrong: `details` lists each, by path. */
  ValidationFailed: 400,
  /** No credential, a wrong function key, or a report token that is not valid (forged, rotated out, an earlier server's). */
  Unauthorized: 401,
  /** The credential is valid but not for this: another resource group, another server named with a valid token. */
  Forbidden: 403,
  NotFound: 404,
  /** The function does not take this method; the `Allow` header lists those it does. */
  MethodNotAllowed: 405,
  Conflict: 409,
  /** If-Match / If-None-Match did not hold: read again and retry with the new ETag. */
  PreconditionFailed: 412,
  InvalidStateTransition: 409,
  /** The group exists in Azure without this fleet's ownership tag: the fleet never touches it. */
  NotOwnedByFleet: 409,
  /** FLEET_MAX_SERVERS servers exist already: delete some, or raise the setting. */
  ServerLimitReached: 409,
  /** The body is over the function's limit (`details.limit`, bytes). */
  PayloadTooLarge: 413,
  /** The request's headers are over what the host accepts. */
  HeadersTooLarge: 431,
  /** No server can take the sessions now (Retry-After says when to ask again). */
  NoCapacity: 503,
  /** Azure refused the container group as specified: the message says why. */
  AzureRequestRejected: 400,
  /**
   * The subscription's ACI quota in the region is used up (ARM's ContainerGroupQuotaReached; the
   * message names the quota, its limit and usage): delete servers, or ask Azure for more quota.
   */
  AzureQuotaReached: 409,
  AzureUnavailable: 503,
  StorageUnavailable: 503,
  /** Too many concurrent writers on one row: retry (Retry-After). */
  WriteContention: 503,
  /** A bug: the message carries the invocation id to look for in the logs. */
  Internal: 500,
  /** ACIReport is not set up on this deployment (REPORT_TOKEN_SECRET is missing). */
  ReportingNotConfigured: 503,
} as const;

/** Every error code the fleet answers with. */
export type ApiErrorCode = keyof typeof ERROR_STATUS;

export const API_ERROR_CODES = Object.keys(ERROR_STATUS) as ApiErrorCode[];
