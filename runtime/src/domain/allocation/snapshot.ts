// A per-process copy of the Running servers, shared by every ACIAllocate invocation, so choosing a
// server costs no table scan. A stale copy is safe to choose from: every booking is an
// ETag-conditional write, and the Allocator reads afresh before it answers "no room".
import { systemClock, type Clock, type Versioned } from '../core/ports';
import type { ServerStore } from '../servers/ports';
import { describeKey, type ServerKey, type ServerRecord } from '../servers/server';

export interface SnapshotView {
  /** A copy the caller may change, keyed by `describeKey`. */
  rows: Map<string, Versioned<ServerRecord>>;
  /** When the read it came from started (ms since the epoch): changes before then are in it. */
  takenAt: number;
}

interface Reading {
  startedAt: number;
  done: Promise<void>;
}

export class RunningServersSnapshot {
  private rows = new Map<string, Versioned<ServerRecord>>();
  private takenAt = Number.NEGATIVE_INFINITY;
  /** When the copy's read finished. */
  private landedAt = Number.NEGATIVE_INFINITY;
  private reading: Reading | undefined;
  /**
   * Rows this process wrote or re-read since the last read started (undefined row = no longer
   * Running): a read that started before them would bring back the older version.
   */
  private local = new Map<string, { at: number; row?: Versioned<ServerRecord> }>();
  /** Table reads made; tests count them. */
  reads = 0;

  constructor(
    private readonly store: ServerStore,
    /** ALLOCATION_SNAPSHOT_MAX_AGE_MS; 0 reads on every call. */
    private readonly maxAgeMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * The servers as of at most `maxAgeMs` ago, reading again (once, however many ask) when older.
   * Age counts from when the copy's read landed, so a read of a large fleet that takes longer than
   * the max age is not followed at once by the next: reads never run back to back, which on a
   * store serving requests in turn would starve the bookings. Past half that age the next read
   * starts in the background, and callers keep the copy they have while it is under way. A stale
   * copy is safe to choose from; "no room" is only ever answered from `fresh`.
   */
  async current(): Promise<SnapshotView> {
    const now = this.clock.now().getTime();
    const age = now - this.landedAt;
    const noCopy = this.landedAt === Number.NEGATIVE_INFINITY;
    if (this.maxAgeMs === 0 || noCopy || (age > this.maxAgeMs && !this.reading)) await this.refresh(now - this.maxAgeMs);
    else if (age > this.maxAgeMs / 2 && !this.reading) this.refresh(now).catch(() => undefined); // a caller that needs it sees the error
    return this.view();
  }

  /** The servers from a read that started at or after `since` (ms), e.g. when a request arrived. */
  async fresh(since: number): Promise<SnapshotView> {
    if (this.takenAt < since) await this.refresh(since);
    return this.view();
  }

  /** A row this process wrote or read just now replaces the copy's (or leaves it, if not Running). */
  remember(row: Versioned<ServerRecord>): void {
    if (row.value.state !== 'Running') {
      this.forget(row.value);
      return;
    }
    const key = describeKey(row.value);
    this.rows.set(key, row);
    this.local.set(key, { at: this.clock.now().getTime(), row });
  }

  /** A server found gone or no longer Running. */
  forget(key: ServerKey): void {
    const k = describeKey(key);
    this.rows.delete(k);
    this.local.set(k, { at: this.clock.now().getTime() });
  }

  private view(): SnapshotView {
    return { rows: new Map(this.rows), takenAt: this.takenAt };
  }

  private refresh(since: number): Promise<void> {
    // A read already under way serves everyone who can accept its start time: one read, not one each.
    if (this.reading && this.reading.startedAt >= since) return this.reading.done;
    const reading: Reading = { startedAt: this.clock.now().getTime(), done: Promise.resolve() };
    this.reads++;
    reading.done = this.store
      .list({ states: ['Running'] })
      .then((rows) => this.install(rows, reading.startedAt))
      .finally(() => {
        if (this.reading === reading) this.reading = undefined;
      });
    this.reading = reading;
    return reading.done;
  }

  private install(rows: Versioned<ServerRecord>[], startedAt: number): void {
    if (startedAt < this.takenAt) return; // a newer read already landed
    const next = new Map(rows.map((r) => [describeKey(r.value), r] as const));
    for (const [key, change] of this.local) {
      // Written before the read started: the read has it (or something newer).
      if (change.at < startedAt) {
        this.local.delete(key);
        continue;
      }
      if (change.row) next.set(key, change.row);
      else next.delete(key);
    }
    this.rows = next;
    this.takenAt = startedAt;
    this.landedAt = this.clock.now().getTime();
  }
}
