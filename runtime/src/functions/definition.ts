// The shape of a function definition. One table of these (./index.ts) is registered with the
// Azure Functions host (../index.ts) and served by the local host (../../local/host.ts), so local
// and cloud can never disagree about what exists.
import type { EventGridEvent, HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import type { FleetSettings } from '../options';
import type { Services } from '../services';
import type { ApiDoc } from './apiDoc';

export type AuthLevel = 'function' | 'anonymous';

export interface HttpFunction {
  trigger: 'http';
  name: string;
  /** Methods the function answers; any other gets 405 from the function itself, not a bare 404. */
  methods: readonly string[];
  /** Path without leading slash (host.json sets routePrefix ""), e.g. `api/ACICreate`. */
  route: string;
  authLevel: (settings: FleetSettings) => AuthLevel;
  /**
   * The largest request body this function accepts, in bytes: a declared Content-Length above it
   * is refused before the body is read (local host), and the function stops reading at it.
   */
  maxBodyBytes: number;
  handler: (request: HttpRequest, context: InvocationContext, services: Services) => Promise<HttpResponseInit>;
  /** Required: the OpenAPI document (GET /api/openapi.json) is built from these, one per HTTP function. */
  api: ApiDoc;
}

export interface TimerFunction {
  trigger: 'timer';
  name: string;
  /** NCRONTAB with seconds (six fields), read from the settings at start-up. */
  schedule: (settings: FleetSettings) => string;
  enabled?: (settings: FleetSettings) => boolean;
  handler: (timer: Timer, context: InvocationContext, services: Services) => Promise<void>;
}

export interface EventGridFunction {
  trigger: 'eventGrid';
  name: string;
  handler: (event: EventGridEvent, context: InvocationContext, services: Services) => Promise<void>;
}

export type FunctionDefinition = HttpFunction | TimerFunction | EventGridFunction;

/** Every HTTP function is registered for all of these so it can answer a wrong method with 405. */
export const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
