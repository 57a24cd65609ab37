// The contract between the HTTP front and the handlers behind it: an ARM request already
// read and routed goes in, a reply to write comes out.
import type { ResourceEventData } from './events';
import type { ArmError } from './validate';

export interface ArmRequest {
  method: string;
  url: URL;
  /** What the route captured: sub, rg, name, container, location, operation. */
  params: Record<string, string>;
  body: string;
  apiVersion: string;
  correlationId: string;
  /** The caller as Event Grid events describe it. */
  httpRequest: ResourceEventData['httpRequest'];
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function errorReply(e: ArmError): Reply {
  return { status: e.status, body: { error: { code: e.code, message: e.message } } };
}
