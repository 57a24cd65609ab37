// ACIReconcile: on a timer, compare ARM's tagged container groups with the table and repair drift
// (lost events, groups deleted outside, rows stuck in Creating, tagged groups without a row).
import type { TimerFunction } from './definition';

export const ACIReconcile: TimerFunction = {
  trigger: 'timer',
  name: 'ACIReconcile',
  schedule: (settings) => settings.RECONCILE_SCHEDULE,
  async handler(_timer, context, services) {
    const { repaired, adopted, failed } = await services.reconciler(context).reconcile();
    if (repaired.length + adopted.length + failed.length > 0) {
      context.log(`ACIReconcile: repaired ${repaired.length}, adopted ${adopted.length}, failed ${failed.length}`);
    }
  },
};
