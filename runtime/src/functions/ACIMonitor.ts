// ACIMonitor: Event Grid tells us a container group was written or deleted; catch its row up.
import { readResourceEvent, shortened } from '../domain/servers/armEvents';
import type { EventGridFunction } from './definition';

export const ACIMonitor: EventGridFunction = {
  trigger: 'eventGrid',
  name: 'ACIMonitor',
  async handler(raw, context, services) {
    const read = readResourceEvent(raw);
    if ('malformed' in read) {
      // Returning (not throwing) acknowledges it: a redelivery would fail the same way for 24 hours.
      const id = (raw as { id?: unknown } | null)?.id;
      context.warn(
        `ACIMonitor: ignored a malformed event${typeof id === 'string' ? ` ${shortened(id)}` : ''} (not retried): ${read.malformed}`,
      );
      return;
    }
    // A throw here makes Event Grid redeliver, which is what a storage or ARM outage needs.
    const { event } = read;
    const outcome = await services.servers(context).onResourceEvent(event);
    context.log(`ACIMonitor: ${shortened(event.eventType ?? '')} ${shortened(event.subject ?? '')} -> ${outcome}`);
  },
};
