// What an HTTP function tells the OpenAPI document about itself. The schemas are the very ones
// that validate requests (../domain/*/request*.ts), so the document cannot drift from the code.
import type { ZodObject, ZodType } from 'zod';
import type { FleetErrorCode } from '../domain/core/errors';

export interface ApiResponseDoc {
  description: string;
  /** JSON body schema; omitted for bodies that are not JSON (then give contentType) or empty ones. */
  schema?: ZodType;
  /** Defaults to application/json when a schema is given. */
  contentType?: string;
  /** Response headers worth documenting (name → description). */
  headers?: Record<string, string>;
}

export interface ApiDoc {
  summary: string;
  description?: string;
  /** The JSON request body's schema (the one parseRequest uses). */
  body?: ZodType;
  /** The query string's schema (the one parseRequest uses). */
  query?: ZodObject;
  /** The route's parameters (e.g. `{name}`), each one a path segment. */
  path?: ZodObject;
  /** What differs per method when one route serves several (GET, PUT, DELETE of one resource). */
  methods?: { [method: string]: Partial<Omit<ApiDoc, 'methods' | 'path' | 'tag'>> };
  /** Request headers worth documenting (name → description), e.g. If-Match. */
  headers?: Record<string, string>;
  /**
   * How callers authenticate when it is not the host's function key: `serverToken` is a
   * per-server bearer token checked by the function itself.
   */
  auth?: 'serverToken';
  /** Successful responses by status. */
  responses: { [status: number]: ApiResponseDoc };
  /**
   * Errors this function answers with, beyond those implied by its shape (bad JSON and 413 when
   * it has a body, 400 when it validates input, 401 when it needs a key, 405, 500).
   */
  errors: readonly FleetErrorCode[];
  /** Groups operations in the document (e.g. "Servers", "Operators"). */
  tag?: string;
}
