// Fault injection for tests: the knobs and their counters, applied where every ARM request comes
// in (an error answer) and where every Event Grid event goes out (lost, duplicated, late, reordered).
import { errorReply, type Reply } from './arm';
import type { EventGridEvent } from './events';
import type { Log } from './log';
import { armError } from './validate';

/**
 * Faults for tests, all deterministic (counters, not chance). Counts are "the next n": each
 * matching event or request uses one up. set() replaces the previous settings.
 */
export interface FaultSettings {
  /** The next n Event Grid events are never delivered (lost). */
  dropEvents?: number;
  /** The next n events are delivered twice. */
  duplicateEvents?: number;
  /** Every event waits this long before its first delivery attempt (late events). */
  delayEventsMs?: number;
  /** The next n events are held back and then delivered newest first (out of order). */
  reorderEvents?: number;
  /** The next `count` ARM requests (of `methods`, default all) are answered with `status`. */
  failRequests?: {
    status: 429 | 500 | 502 | 503;
    count: number;
    methods?: readonly string[];
    /** Sent as Retry-After (seconds); omitted by default. */
    retryAfterSeconds?: number;
    /** Carry the request out first, then answer the error (an outcome the client cannot know). */
    afterApply?: boolean;
  };
}

export interface FaultStats {
  droppedEvents: number;
  duplicatedEvents: number;
  reorderedEvents: number;
  failedRequests: number;
}

export interface EmulatorFaults {
  set(settings: FaultSettings): void;
  /** No more faults; events still held for reordering are released (newest first). */
  clear(): void;
  stats(): FaultStats;
}

export type RequestFault = NonNullable<FaultSettings['failRequests']>;

type ActiveFaults = Required<Omit<FaultSettings, 'failRequests'>> & { failRequests?: RequestFault };

export class FaultInjector {
  private settings: ActiveFaults = noFaults();
  private readonly heldEvents: EventGridEvent[] = [];
  private readonly counts: FaultStats = { droppedEvents: 0, duplicatedEvents: 0, reorderedEvents: 0, failedRequests: 0 };

  /** What tests are given (plain functions, so they can be passed around detached). */
  readonly controls: EmulatorFaults = {
    set: (settings) => {
      this.settings = { ...noFaults(), ...settings, failRequests: settings.failRequests && { ...settings.failRequests } };
    },
    clear: () => {
      this.settings = noFaults();
      this.releaseHeldEvents();
    },
    stats: () => ({ ...this.counts }),
  };

  constructor(
    /** Hands an event to delivery, after delayMs. */
    private readonly send: (event: EventGridEvent, delayMs: number) => void,
    private readonly log: Log,
  ) {}

  /** Uses up one injected request failure, if one applies to this method. */
  takeRequestFault(method: string): RequestFault | undefined {
    const f = this.settings.failRequests;
    if (!f || f.count <= 0) return undefined;
    if (f.methods && !f.methods.some((m) => m.toUpperCase() === method)) return undefined;
    f.count--;
    this.counts.failedRequests++;
    return f;
  }

  /** Every event leaves through here, so each event fault applies to all of them. */
  publish(event: EventGridEvent): void {
    const f = this.settings;
    const what = `${event.eventType} ${event.subject}`;
    if (f.dropEvents > 0) {
      f.dropEvents--;
      this.counts.droppedEvents++;
      this.log(`fault: dropped ${what}`);
      return;
    }
    if (f.reorderEvents > 0) {
      f.reorderEvents--;
      this.counts.reorderedEvents++;
      this.heldEvents.push(event);
      if (f.reorderEvents === 0) this.releaseHeldEvents();
      return;
    }
    const copies = f.duplicateEvents > 0 ? 2 : 1;
    if (copies === 2) {
      f.duplicateEvents--;
      this.counts.duplicatedEvents++;
    }
    for (let i = 0; i < copies; i++) this.send(event, f.delayEventsMs);
  }

  /** Held events go out newest first. */
  private releaseHeldEvents(): void {
    const held = this.heldEvents.splice(0).reverse();
    for (const event of held) this.send(event, this.settings.delayEventsMs);
  }
}

export function faultReply(f: RequestFault): Reply {
  const code = f.status === 429 ? 'TooManyRequests' : f.status === 500 ? 'InternalServerError' : 'ServiceUnavailable';
  return {
    ...errorReply(armError(f.status, code, `Injected fault: ${f.status} ${code}.`)),
    ...(f.retryAfterSeconds !== undefined ? { headers: { 'Retry-After': String(f.retryAfterSeconds) } } : {}),
  };
}

function noFaults(): ActiveFaults {
  return { dropEvents: 0, duplicateEvents: 0, delayEventsMs: 0, reorderEvents: 0, failRequests: undefined };
}
