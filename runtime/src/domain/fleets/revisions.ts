// A per-process copy of every fleet's current revision, so ACIAllocate (which prefers the current
// revision) and ACIReport (which tells an outdated server so) pay no table read per call.
import { silentLogger, systemClock, type Clock, type Logger } from '../core/ports';
import type { FleetRevision, FleetRevisionSource } from '../servers/membership';
import { revisionInfo } from './fleet';
import type { FleetStore } from './ports';

export class CachedFleetRevisions implements FleetRevisionSource {
  private copy: ReadonlyMap<string, FleetRevision> | undefined;
  private takenAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<ReadonlyMap<string, FleetRevision>> | undefined;

  constructor(
    private readonly store: FleetStore,
    /** How old the copy may be (ALLOCATION_SNAPSHOT_MAX_AGE_MS); a new revision is seen this much later at most. */
    private readonly maxAgeMs: number,
    private readonly clock: Clock = systemClock,
    private readonly log: Logger = silentLogger,
  ) {}

  async current(since?: number): Promise<ReadonlyMap<string, FleetRevision>> {
    const now = this.clock.now().getTime();
    const fresh = now - this.takenAt <= this.maxAgeMs && this.maxAgeMs > 0 && (since === undefined || this.takenAt >= since);
    if (this.copy && fresh) return this.copy;
    this.reading ??= this.read(now).finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** A revision made in this process: the next call reads afresh. */
  invalidate(): void {
    this.takenAt = Number.NEGATIVE_INFINITY;
  }

  private async read(startedAt: number): Promise<ReadonlyMap<string, FleetRevision>> {
    try {
      const rows = await this.store.list();
      this.copy = new Map(rows.map((r) => [r.value.name, revisionInfo(r.value)]));
      this.takenAt = startedAt;
    } catch (e) {
      // Preferring the current revision is worth a read, not a failed booking or report: use what we have.
      this.log.warn('could not read the fleets; using the last copy of their revisions', { error: String(e) });
    }
    return this.copy ?? new Map();
  }
}
