// ACIAutoScaler: on a timer (only when AUTOSCALER_ENABLED), read the fleet, decide per policy, act.
import type { TimerFunction } from './definition';

export const ACIAutoScaler: TimerFunction = {
  trigger: 'timer',
  name: 'ACIAutoScaler',
  schedule: (settings) => settings.AUTOSCALER_SCHEDULE,
  enabled: (settings) => settings.AUTOSCALER_ENABLED,
  async handler(_timer, context, services) {
    const run = await services.autoscaler(context).run();
    if (!run.acted) context.log('ACIAutoScaler: another run is acting; skipped');
    else context.log(`ACIAutoScaler: ${run.decision?.reason}`);
  },
};
