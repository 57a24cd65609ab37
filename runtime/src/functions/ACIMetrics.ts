// ACIMetrics: on a timer, the fleet at a glance for Application Insights — servers per state,
// Running sessions and capacity per location (one table scan; 10 pages at 10,000 servers).
import { fleetSnapshot } from '../telemetry';
import type { TimerFunction } from './definition';

export const ACIMetrics: TimerFunction = {
  trigger: 'timer',
  name: 'ACIMetrics',
  schedule: (settings) => settings.FLEET_METRICS_SCHEDULE,
  enabled: (settings) => settings.FLEET_METRICS_SCHEDULE.trim() !== '',
  async handler(_timer, context, services) {
    const rows = await services.store.list();
    const telemetry = services.telemetry(context);
    for (const metric of fleetSnapshot(rows.map((r) => r.value))) telemetry.trackMetric(metric.name, metric.value, metric.properties);
  },
};
