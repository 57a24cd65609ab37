// ACIGC: on a timer, delete servers that are drained (MarkedForDeletion) and have no sessions left.
import type { TimerFunction } from './definition';

export const ACIGC: TimerFunction = {
  trigger: 'timer',
  name: 'ACIGC',
  schedule: (settings) => settings.GC_SCHEDULE,
  async handler(_timer, context, services) {
    const { deleted, retried } = await services.fleet(context).collectGarbage();
    if (deleted.length + retried.length > 0) context.log(`ACIGC: deleted ${deleted.length}, re-sent ${retried.length} deletes`);
  },
};
