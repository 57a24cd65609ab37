// Reading Azure Resource Manager events (Event Grid, resource-group topic) about container groups.
import { z } from 'zod';
import type { ServerKey } from './server';

export interface ResourceEvent {
  id?: string;
  eventType?: string;
  subject?: string;
  data?: unknown;
}

const CONTAINER_GROUP_ID =
  /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)\/providers\/microsoft\.containerinstance\/containergroups\/([^/]+)$/i;

/** What the fleet reads of an Event Grid event (Event Grid schema); the rest is ignored. */
const eventShape = z
  .object({
    id: z.string(),
    eventType: z.string(),
    subject: z.string(),
    data: z.object({ resourceUri: z.string().optional() }).loose().optional(),
  })
  .loose();

/**
 * An event as delivered, or why it can never be processed (not an event at all, a field of the
 * wrong type, a broken %-escape). A malformed event is acknowledged and logged, not retried:
 * redelivering it would fail the same way for 24 hours.
 */
export function readResourceEvent(raw: unknown): { event: ResourceEvent } | { malformed: string } {
  const parsed = eventShape.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { malformed: `${issue?.path.join('.') || 'the event'}: ${issue?.message ?? 'not an Event Grid event'}` };
  }
  const event = parsed.data;
  for (const uri of [event.subject, event.data?.resourceUri]) {
    if (uri !== undefined && decoded(uri) === undefined) return { malformed: `'${uri}' has a broken %-escape` };
  }
  return { event };
}

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
  const resourceGroup = decoded(match[1]!);
  const containerGroupName = decoded(match[2]!);
  if (resourceGroup === undefined || containerGroupName === undefined) return undefined;
  return { resourceGroup: resourceGroup.toLowerCase(), containerGroupName: containerGroupName.toLowerCase() };
}

function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
