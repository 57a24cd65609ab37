// Reading Azure Resource Manager events (Event Grid, resource-group topic) about container groups.
import { z } from 'zod';
import { containerGroupName, resourceGroupName } from './requests';
import type { ServerKey } from './server';

/**
 * The ARM events ACIMonitor reacts to (the Event Grid subscription's filter, infra/events.ts):
 * writes and deletes, and actions (stop, start, restart), whose subject is the group's id too.
 */
export const CONTAINER_GROUP_EVENT_TYPES = [
  'Microsoft.Resources.ResourceWriteSuccess',
  'Microsoft.Resources.ResourceWriteFailure',
  'Microsoft.Resources.ResourceDeleteSuccess',
  'Microsoft.Resources.ResourceDeleteFailure',
  'Microsoft.Resources.ResourceActionSuccess',
] as const;

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
    if (uri === undefined) continue;
    if (decoded(uri) === undefined) return { malformed: `'${shortened(uri)}' has a broken %-escape` };
    const names = namesIn(uri);
    // ARM never allows these names, so no such group exists; as table keys they may be refused
    // ('/', '#', '?', over 1 KiB), which would make Event Grid retry the event for 24 hours.
    if (names && !resourceGroupName.safeParse(names.resourceGroup).success)
      return { malformed: `'${shortened(names.resourceGroup)}' is not a resource group name ARM allows` };
    if (names && !containerGroupName.safeParse(names.containerGroupName).success)
      return { malformed: `'${shortened(names.containerGroupName)}' is not a container group name ARM allows` };
  }
  return { event };
}

/** The decoded names in a container group's resource id (the group's name in lower case, as ARM compares it). */
function namesIn(uri: string): { resourceGroup: string; containerGroupName: string } | undefined {
  const match = CONTAINER_GROUP_ID.exec(uri.replace(/\/+$/, ''));
  const resourceGroup = match && decoded(match[1]!);
  const name = match && decoded(match[2]!);
  return typeof resourceGroup === 'string' && typeof name === 'string'
    ? { resourceGroup, containerGroupName: name.toLowerCase() }
    : undefined;
}

/** At most 200 characters of `text` for a log line (a subject can be as long as a delivery). */
export const shortened = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}… (${text.length} characters)` : text);

/**
 * The server an event is about, or undefined when it is not about a container group (the
 * subscription filter should prevent that, but a resource-group topic carries everything).
 * The casing of `resourceGroups` varies between events, so the match ignores case.
 */
export function containerGroupOf(event: ResourceEvent): ServerKey | undefined {
  const data = (event.data ?? {}) as { resourceUri?: unknown };
  const uri = typeof data.resourceUri === 'string' ? data.resourceUri : event.subject;
  const names = typeof uri === 'string' ? namesIn(uri) : undefined;
  if (!names) return undefined;
  return { resourceGroup: names.resourceGroup.toLowerCase(), containerGroupName: names.containerGroupName };
}

function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
