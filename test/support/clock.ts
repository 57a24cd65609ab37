// A clock that moves only when the test says so. The domain reads time through its injected
// Clock (ServiceOverrides.clock for a local fleet), so every time-dependent rule a test relies on
// (a booking's report grace, the allocation snapshot's max age, leases, windows, heartbeats)
// sees exactly the time the test decided, however slow or loaded the machine is.
import type { Clock } from '../../runtime/src/domain/core/ports';

export class ManualClock implements Clock {
  private ms: number;

  /**
   * Starts at `start` (default: the wall clock's time now), so the rows it stamps look ordinary
   * next to what still reads the wall clock (Azurite, the ACI emulator).
   */
  constructor(start: number | Date = Date.now()) {
    this.ms = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.ms);
  }

  /** Lets `ms` milliseconds pass (never backwards) and returns the new time. */
  advance(ms: number): Date {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`a clock only moves forward, not by ${ms} ms`);
    this.ms += ms;
    return this.now();
  }
}
