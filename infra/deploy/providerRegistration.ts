// Registers a resource provider on the subscription and waits until ARM says Registered, as plain
// REST (`POST .../providers/<ns>/register`, then `GET .../providers/<ns>`), so a new subscription
// needs no `az provider register` by hand. Serialized into a dynamic provider (resourceProviders.ts):
// only the plain ./http module is imported.
import { type HttpClient, type StepOptions, backoffMs, describeAnswer, isTransientStatus, realWaiting, sendText } from './http';

/** ARM's api-version for resource providers. */
export const PROVIDERS_API_VERSION = '2021-04-01';

export interface RegistrationTiming {
  pollIntervalMs: number;
  /** From the first request: registering takes seconds to minutes, rarely more. */
  timeoutMs: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_REGISTRATION_TIMING: RegistrationTiming = {
  pollIntervalMs: 5_000,
  timeoutMs: 15 * 60_000,
  retryInitialDelayMs: 2_000,
  retryMaxDelayMs: 30_000,
  requestTimeoutMs: 60_000,
};

export interface RegistrationOptions extends StepOptions<RegistrationTiming> {
  armUrl: string;
  subscriptionId: string;
  /** e.g. `Microsoft.ContainerInstance`. */
  namespace: string;
  getToken: () => string | Promise<string>;
}

export interface RegistrationResult {
  namespace: string;
  registrationState: 'Registered';
  /** Whether this call asked ARM to register it (false: it was registered already). */
  registeredNow: boolean;
}

export interface RegistrationError extends Error {
  code: 'forbidden' | 'timeout' | 'failed';
}

const registrationError = (code: RegistrationError['code'], message: string): RegistrationError =>
  Object.assign(new Error(message), { name: 'RegistrationError', code });

/** Ensures `namespace` is Registered on the subscription; registers it first when it is not. */
export async function registerProvider(opts: RegistrationOptions): Promise<RegistrationResult> {
  const t: RegistrationTiming = { ...DEFAULT_REGISTRATION_TIMING, ...opts.timing };
  const waiting = opts.waiting ?? realWaiting();
  const log = opts.log ?? (() => undefined);
  const client: HttpClient = { getToken: opts.getToken, fetch: opts.fetch, requestTimeoutMs: t.requestTimeoutMs };
  const base = `${opts.armUrl.replace(/\/+$/, '')}/subscriptions/${opts.subscriptionId}/providers/${opts.namespace}`;
  const deadline = waiting.now() + t.timeoutMs;

  let registeredNow = false;
  let attempt = 0;
  let last = 'no answer yet';
  for (;;) {
    attempt++;
    const state = await stateOf(client, `${base}?api-version=${PROVIDERS_API_VERSION}`);
    if (state.kind === 'state') {
      last = state.registrationState;
      if (state.registrationState === 'Registered') return { namespace: opts.namespace, registrationState: 'Registered', registeredNow };
      // NotRegistered, Unregistered (or a registration that was undone): ask for it.
      if (state.registrationState !== 'Registering') {
        const asked = await sendRegister(client, `${base}/register?api-version=${PROVIDERS_API_VERSION}`, opts.namespace);
        if (asked.kind === 'final') throw asked.error;
        if (asked.kind === 'done') {
          registeredNow = true;
          log(`${opts.namespace}: registration requested`);
        } else last = asked.reason;
      }
    } else last = state.reason;
    if (waiting.now() >= deadline) {
      throw registrationError(
        'timeout',
        `${opts.namespace} is not Registered on subscription ${opts.subscriptionId} after ${Math.round(t.timeoutMs / 60_000)} min ` +
          `(last: ${last}). Run \`pulumi up\` again; see \`az provider show -n ${opts.namespace}\`.`,
      );
    }
    await waiting.sleep(state.kind === 'state' ? t.pollIntervalMs : backoffMs(attempt, t));
  }
}

type StateAnswer = { kind: 'state'; registrationState: string } | { kind: 'retry'; reason: string };

async function stateOf(client: HttpClient, url: string): Promise<StateAnswer> {
  try {
    const { status, text } = await sendText(client, url);
    if (status === 200) {
      const state = (JSON.parse(text) as { registrationState?: unknown }).registrationState;
      return { kind: 'state', registrationState: typeof state === 'string' ? state : 'Unknown' };
    }
    if (isTransientStatus(status)) return { kind: 'retry', reason: describeAnswer(status, text) };
    throw registrationError('failed', `Reading ${url.split('?')[0]} failed: ${describeAnswer(status, text)}`);
  } catch (e) {
    if ((e as RegistrationError).name === 'RegistrationError') throw e;
    return { kind: 'retry', reason: `network error: ${(e as Error).message}` };
  }
}

type RegisterAnswer = { kind: 'done' } | { kind: 'retry'; reason: string } | { kind: 'final'; error: RegistrationError };

async function sendRegister(client: HttpClient, url: string, namespace: string): Promise<RegisterAnswer> {
  try {
    const { status, text } = await sendText(client, url, { method: 'POST' });
    if (status === 200 || status === 202) return { kind: 'done' };
    if (status === 401 || status === 403) {
      return {
        kind: 'final',
        error: registrationError(
          'forbidden',
          `The identity running Pulumi may not register ${namespace} (${describeAnswer(status, text)}): it needs ` +
            `"Microsoft.*/register/action" on the subscription (Contributor has it), or register it once by hand.`,
        ),
      };
    }
    if (isTransientStatus(status) || status === 409) return { kind: 'retry', reason: describeAnswer(status, text) };
    return { kind: 'final', error: registrationError('failed', `Registering ${namespace} failed: ${describeAnswer(status, text)}`) };
  } catch (e) {
    return { kind: 'retry', reason: `network error: ${(e as Error).message}` };
  }
}
