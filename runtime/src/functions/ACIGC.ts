// ACIGC: on a timer, delete servers that are drained (MarkedForDeletion) and have no sessions left,
// and (with HEARTBEAT_TIMEOUT_SECONDS) mark Running servers that stopped reporting Failed; forget
// expired allocation requestIds.
import { describeKey } from '../domain/servers/server';
import type { TimerFunction } from './definition';

export const ACIGC: TimerFunction = {
  trigger: 'timer',
  name: 'ACIGC',
  schedule: (settings) => settings.GC_SCHEDULE,
  async handler(_timer, context, services) {
    const { deleted, retried } = await services.servers(context).collectGarbage();
    const telemetry = services.telemetry(context);
    for (const key of deleted) telemetry.trackEvent('ServerCollected', { server: describeKey(key) });
    telemetry.trackMetric('GcDeleted', deleted.length, { retried: retried.length });
    if (deleted.length + retried.length > 0) context.log(`ACIGC: deleted ${deleted.length}, re-sent ${retried.length} deletes`);
    // Here rather than only in ACIReconcile: it reads only the table, and GC runs every minute.
    const silent = await services.reconciler(context).expireSilentServers();
    if (silent.length > 0) context.log(`ACIGC: ${silent.length} server(s) missed their heartbeats and are now Failed`);
    // Bookings' requestIds past their TTL: a retry that late books afresh anyway.
    const forgotten = await services.allocationLedger.prune(services.clock.now());
    if (forgotten > 0) context.log(`ACIGC: forgot ${forgotten} expired allocation requestId(s)`);
  },
};
