// ACIMonitor: Event Grid tells us a container group was written or deleted; catch its row up.
import type { EventGridFunction } from './definition';

export const ACIMonitor: EventGridFunction = {
  trigger: 'eventGrid',
  name: 'ACIMonitor',
  async handler(event, context, services) {
    // A throw here makes Event Grid redeliver, which is what a storage or ARM outage needs.
    const outcome = await services.servers(context).onResourceEvent(event);
    context.log(`ACIMonitor: ${event.eventType} ${event.subject} -> ${outcome}`);
  },
};
