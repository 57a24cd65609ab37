// ACIFleetController: on a timer, drive every fleet towards its spec: create, drain, roll out
// (the default fleet is ACIAutoScaler's while AUTOSCALER_ENABLED).
import { DEFAULT_FLEET } from '../domain/servers/membership';
import type { TimerFunction } from './definition';

export const ACIFleetController: TimerFunction = {
  trigger: 'timer',
  name: 'ACIFleetController',
  schedule: (settings) => settings.FLEET_CONTROLLER_SCHEDULE,
  async handler(_timer, context, services) {
    const skip = services.settings.AUTOSCALER_ENABLED ? DEFAULT_FLEET : undefined;
    for (const run of await services.fleetController(context).run({ skip })) {
      if (!run.acted) context.log(`ACIFleetController: ${run.fleet}: another run is acting; skipped`);
      else if (run.created.length + run.drained.length + run.restored.length > 0 || run.removed)
        context.log(`ACIFleetController: ${run.fleet}: ${run.removed ? 'deleted' : run.plan?.reason}`);
    }
  },
};
