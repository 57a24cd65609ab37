// ACIAutoScaler: on a timer (only when AUTOSCALER_ENABLED), drive the default fleet: size it per
// AUTOSCALER_POLICY, and roll it out when CONTAINER_GROUP_TEMPLATE changed.
import { DEFAULT_FLEET } from '../domain/servers/membership';
import type { TimerFunction } from './definition';

export const ACIAutoScaler: TimerFunction = {
  trigger: 'timer',
  name: 'ACIAutoScaler',
  schedule: (settings) => settings.AUTOSCALER_SCHEDULE,
  enabled: (settings) => settings.AUTOSCALER_ENABLED,
  async handler(_timer, context, services) {
    const [run] = await services.fleetController(context).run({ only: DEFAULT_FLEET });
    if (!run?.acted) context.log('ACIAutoScaler: another run is acting; skipped');
    else context.log(`ACIAutoScaler: ${run.plan?.reason}`);
  },
};
