// Event Grid's webhook delivery: each event is POSTed to the endpoint set at the time, retried
// with exponential backoff, and given up on after a few attempts (Azure's schedule, shortened).
import { postEvents, type EventGridEvent } from './events';
import type { Log } from './log';
import type { BackgroundWork } from './timers';

const DELIVERY = { attempts: 5, firstBackoffMs: 100, maxBackoffMs: 2000, timeoutMs: 5000 };
/** The answers Event Grid never retries a webhook delivery after (its delivery-and-retry documentation). */
const NEVER_RETRIED: readonly number[] = [400, 401, 403, 413];

export class EventDelivery {
  /** Webhook that receives the events; read at each attempt, so it may be set late. */
  endpoint: string | undefined;
  /** The event types the subscription takes (undefined: every type); read at each attempt too. */
  eventTypes: readonly string[] | undefined;

  constructor(
    private readonly background: BackgroundWork,
    private readonly log: Log,
    endpoint: string | undefined,
  ) {
    this.endpoint = endpoint;
  }

  send(event: EventGridEvent, delayMs: number): void {
    if (delayMs <= 0) {
      this.background.track(this.deliverWithRetries(event));
      return;
    }
    const wait = this.background.after(delayMs, () => {});
    this.background.track(wait.done.then((ran) => (ran ? this.deliverWithRetries(event) : undefined)));
  }

  private async deliverWithRetries(event: EventGridEvent): Promise<void> {
    const what = `${event.eventType} ${event.subject}`;
    for (let attempt = 0; attempt < DELIVERY.attempts; attempt++) {
      if (attempt > 0) {
        const backoff = Math.min(DELIVERY.firstBackoffMs * 2 ** (attempt - 1), DELIVERY.maxBackoffMs);
        if (!(await this.background.after(backoff, () => {}).done)) return; // closing
      }
      const endpoint = this.endpoint;
      if (this.eventTypes && !this.eventTypes.includes(event.eventType)) {
        this.log(`filtered out by the subscription's event types: ${what}`);
        return;
      }
      if (!endpoint) {
        this.log(`no event endpoint set; dropped ${what}`);
        return;
      }
      let problem: string;
      try {
        const status = await postEvents(endpoint, [event], { timeoutMs: DELIVERY.timeoutMs, deliveryCount: attempt });
        if (status >= 200 && status < 300) {
          this.log(`delivered ${what}`);
          return;
        }
        if (NEVER_RETRIED.includes(status)) {
          // Event Grid dead-letters these at once: the same delivery would be refused again.
          this.log(`delivery of ${what} to ${endpoint} refused with HTTP ${status}: not retried`, 'warning');
          return;
        }
        problem = `HTTP ${status}`;
      } catch (e) {
        problem = e instanceof Error ? e.message : String(e);
      }
      this.log(`delivery ${attempt + 1}/${DELIVERY.attempts} of ${what} to ${endpoint} failed: ${problem}`);
    }
    this.log(`gave up delivering ${what}`, 'warning');
  }
}
