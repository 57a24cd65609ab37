// The emulator's timers and background work, tracked so idle() can wait for all of it and
// close() can cancel the timers rather than leave them to keep the process alive.
import { errorDetail, type Log } from './log';

export interface Timer {
  /** true when the callback ran, false when cancelled. */
  done: Promise<boolean>;
  cancel(): void;
}

export class BackgroundWork {
  private readonly timers = new Set<Timer>();
  private readonly tasks = new Set<Promise<unknown>>();

  constructor(private readonly log: Log) {}

  after(ms: number, fn: () => void): Timer {
    let settle!: (ran: boolean) => void;
    const done = new Promise<boolean>((resolve) => (settle = resolve));
    const handle = setTimeout(() => {
      this.timers.delete(timer);
      try {
        fn();
      } catch (e) {
        this.log(`timer callback failed: ${errorDetail(e)}`, 'error');
      }
      settle(true);
    }, ms);
    const timer: Timer = {
      done,
      cancel: () => {
        if (!this.timers.delete(timer)) return;
        clearTimeout(handle);
        settle(false);
      },
    };
    this.timers.add(timer);
    this.track(done);
    return timer;
  }

  track(p: Promise<unknown>): void {
    this.tasks.add(p);
    const forget = () => this.tasks.delete(p);
    p.then(forget, forget);
  }

  /** Work started while waiting is waited for too. */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  cancelTimers(): void {
    for (const timer of [...this.timers]) timer.cancel();
  }
}
