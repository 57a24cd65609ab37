// What every feature of the domain needs from the outside world: versioned rows and the errors of
// conditional writes, a clock, logs and telemetry. Each feature's own ports are in its folder.

export interface Versioned<T> {
  value: T;
  etag: string;
}

/** Thrown by a store when a conditional write loses to a concurrent writer (HTTP 412). */
export class StaleWriteError extends Error {
  constructor(what: string) {
    super(`${what} was changed by someone else`);
    this.name = 'StaleWriteError';
  }
}

/** Thrown by a store when an insert finds the row already there (HTTP 409). */
export class AlreadyExistsError extends Error {
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = 'AlreadyExistsError';
  }
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface Logger {
  info(message: string, properties?: Record<string, unknown>): void;
  warn(message: string, properties?: Record<string, unknown>): void;
  error(message: string, properties?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * Metrics and events for operators (Application Insights on Azure). Names are stable: the
 * README's KQL queries depend on them.
 */
export interface Telemetry {
  trackEvent(name: string, properties?: Record<string, string | number | boolean | undefined>): void;
  trackMetric(name: string, value: number, properties?: Record<string, string | number | boolean | undefined>): void;
}

export const silentTelemetry: Telemetry = { trackEvent() {}, trackMetric() {} };
