// Concurrent ACIAllocate calls on one instance, booked together: each round plans every waiting
// request against the process's copy of the servers (packing, as one caller would), and one
// ETag-conditional write per server books all the requests planned on it. A request whose best
// server has a write in flight waits for that write rather than race it, so matchmakers on one
// instance never collide on one row; a lost race (another instance) re-reads that row and plans
// its requests again. A request that fits nowhere is handed back to its caller, whose own checks
// answer it (fresh read, 503, 400, 404): one caller's request can never fail another's.
import { FleetError } from '../core/errors';
import { StaleWriteError, silentLogger, systemClock, type Clock, type Logger, type Versioned } from '../core/ports';
import type { ServerStore } from '../servers/ports';
import { describeKey, keyOf, type Reservation, type ServerRecord } from '../servers/server';
import { bestCandidates, pickCandidate, reserve, type AllocationRequest, type ReservationTimings, type Revisions } from './booking';
import type { RunningServersSnapshot } from './snapshot';

export interface CoalescerDeps {
  store: ServerStore;
  snapshot: RunningServersSnapshot;
  timings: ReservationTimings;
  /** Lost races one request tolerates before 503 WriteContention. */
  attempts: number;
  clock?: Clock;
  log?: Logger;
  random?: () => number;
}

/** What a round did for one request: booked (with the row as written), or nothing fits in the copy. */
export type CoalescedOutcome = { row: Versioned<ServerRecord>; reservation: Reservation; attempt: number } | undefined;

interface Pending {
  req: AllocationRequest & { id: string };
  revisions: Revisions | undefined;
  attempt: number;
  resolve: (outcome: CoalescedOutcome) => void;
  reject: (e: unknown) => void;
}

interface Write {
  row: Versioned<ServerRecord>;
  record: ServerRecord;
  members: Array<{ pending: Pending; reservation: Reservation }>;
}

export class BookingCoalescer {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private pending: Pending[] = [];
  /** Servers with a write in flight, and the row that write will leave. */
  private readonly inFlight = new Map<string, ServerRecord>();
  private planning = false;
  private again = false;
  /** Conditional writes made and requests they booked; the benchmark and tests read them. */
  readonly stats = { writes: 0, booked: 0 };

  constructor(private readonly deps: CoalescerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.random = deps.random ?? Math.random;
  }

  /** Books `req` with the next round, or resolves undefined when no server in the copy fits it. */
  book(req: AllocationRequest & { id: string }, revisions: Revisions | undefined): Promise<CoalescedOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ req, revisions, attempt: 1, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.planning) {
      this.again = true;
      return;
    }
    this.planning = true;
    // After the current turn of the event loop, so requests arriving together are planned together.
    setImmediate(() => {
      this.plan()
        .catch((e) => {
          for (const p of this.pending.splice(0)) p.reject(e);
        })
        .finally(() => {
          this.planning = false;
          if (this.again) {
            this.again = false;
            if (this.pending.length > 0) this.schedule();
          }
        });
    });
  }

  private async plan(): Promise<void> {
    if (this.pending.length === 0) return;
    const { rows: committed } = await this.deps.snapshot.current();
    const now = this.clock.now();
    // Rows being written count as they will be once written.
    const rows = new Map(committed);
    for (const [key, record] of this.inFlight) rows.set(key, { value: record, etag: '' });
    const writes = new Map<string, Write>();
    const waiting: Pending[] = [];
    for (const pending of this.pending.splice(0)) {
      const pick = pickCandidate(bestCandidates(rows.values(), pending.req, now, 3, pending.revisions), pending.attempt, this.random);
      if (!pick) {
        // Room taken only by writes not yet made (they may lose their race): wait for them. Otherwise none fits.
        if (bestCandidates(committed.values(), pending.req, now, 1, pending.revisions).length > 0) waiting.push(pending);
        else pending.resolve(undefined);
        continue;
      }
      const key = describeKey(pick.value);
      const booked = !this.inFlight.has(key) && reserve(pick.value, pending.req, now, this.deps.timings);
      if (!booked) {
        waiting.push(pending); // its best server is being written: plan it again once that write lands
        continue;
      }
      const write = writes.get(key) ?? { row: pick, record: pick.value, members: [] };
      write.record = booked.record;
      write.members.push({ pending, reservation: booked.reservation });
      writes.set(key, write);
      rows.set(key, { value: booked.record, etag: pick.etag });
    }
    this.pending.unshift(...waiting);
    for (const [key, write] of writes) {
      this.inFlight.set(key, write.record);
      this.write(key, write);
    }
  }

  private write(key: string, write: Write): void {
    const { store, snapshot } = this.deps;
    this.stats.writes++;
    store
      .replace(write.record, write.row.etag)
      .then(
        (written) => {
          snapshot.remember(written);
          this.stats.booked += write.members.length;
          for (const { pending, reservation } of write.members) {
            pending.resolve({ row: written, reservation, attempt: pending.attempt });
          }
        },
        async (e) => {
          if (!(e instanceof StaleWriteError)) {
            for (const { pending } of write.members) pending.reject(e);
            return;
          }
          // Someone else booked or reported on it first: look at that one server again and plan its requests afresh.
          const again = await store.get(keyOf(write.row.value)).catch(() => undefined);
          if (again) snapshot.remember(again);
          else snapshot.forget(write.row.value);
          for (const { pending } of write.members) {
            if (++pending.attempt > this.deps.attempts) pending.reject(contention());
            else this.pending.unshift(pending);
          }
        },
      )
      .catch((e) => this.log.warn('a coalesced booking failed unexpectedly', { server: key, error: String(e) }))
      .finally(() => {
        this.inFlight.delete(key);
        if (this.pending.length > 0) this.schedule();
      });
  }
}

const contention = () =>
  new FleetError('WriteContention', 'Too many matchmakers booked the same servers at once; retry shortly.', undefined, 1);
