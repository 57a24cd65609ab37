// ACIGC: on a timer, delete servers that are drained (MarkedForDeletion) and have no sessions left.
import { describeKey } from '../fleet/server';
import type { TimerFunction } from './definition';

export const ACIGC: TimerFunction = {
  trigger: 'timer',
  name: 'ACIGC',
  schedule: (settings) => settings.GC_SCHEDULE,
  async handler(_timer, context, services) {
    const { deleted, retried } = await services.fleet(context).collectGarbage();
    const telemetry = services.telemetry(context);
    for (const key of deleted) telemetry.trackEvent('ServerCollected', { server: describeKey(key) });
    telemetry.trackMetric('GcDeleted', deleted.length, { retried: retried.length });
    if (deleted.length + retried.length > 0) context.log(`ACIGC: deleted ${deleted.length}, re-sent ${retried.length} deletes`);
  },
};
