// Reading Azure Resource Manager events (Event Grid, resource-group topic) about container groups.
import type { ServerKey } from './server';

export interface ResourceEvent {
  id?: string;
  eventType?: string;
  subject?: string;
  data?: unknown;
}

const CONTAINER_GROUP_ID =
  /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)\/providers\/microsoft\.containerinstance\/containergroups\/([^/]+)$/i;

/**
 * The server an event is about, or undefined when it is not about a container group (the
 * subscription filter should prevent that, but a resource-group topic carries everything).
 * The casing of `resourceGroups` varies between events, so the match ignores case.
 */
export function containerGroupOf(event: ResourceEvent): ServerKey | undefined {
  const data = (event.data ?? {}) as { resourceUri?: unknown };
  const uri = typeof data.resourceUri === 'string' ? data.resourceUri : event.subject;
  const match = typeof uri === 'string' ? CONTAINER_GROUP_ID.exec(uri.replace(/\/+$/, '')) : null;
  if (!match) return undefined;
  return { resourceGroup: decodeURIComponent(match[1]!).toLowerCase(), containerGroupName: decodeURIComponent(match[2]!).toLowerCase() };
}
