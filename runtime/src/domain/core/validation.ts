// Turning a schema's verdict on a request into the one 400 every function answers bad input with.
import { z } from 'zod';
import { FleetError } from './errors';

/**
 * Nothing a caller sends is nested deeper than this (an ARM container group is about eight
 * levels). Checked before any schema runs, so recursive code after validation (the spec hash,
 * cloning) never meets a value deep enough to overflow the stack.
 */
export const MAX_REQUEST_DEPTH = 32;

/**
 * A 400 lists at most this many problems: a batch of 5,000 duplicates would otherwise answer
 * with hundreds of kilobytes saying the same thing.
 */
export const MAX_ERROR_DETAILS = 50;

/** A whole number from `min` to `max`, each failure told in its own words (`z.number({error})` would say "must be a number" for all of them). */
export const wholeNumber = (what: string, min: number, max: number) =>
  z
    .number({ error: `${what} must be a number` })
    .int({ error: `${what} must be a whole number` })
    .min(min, { error: min === 0 ? `${what} cannot be negative` : `${what} must be at least ${min}` })
    .max(max, { error: `${what} must be at most ${max}` });

/** The first MAX_ERROR_DETAILS problems, and a last line counting the rest. */
export function cappedDetails<T extends { path: string; message: string }>(
  details: readonly T[],
): Array<T | { path: string; message: string }> {
  if (details.length <= MAX_ERROR_DETAILS) return [...details];
  const rest = details.length - MAX_ERROR_DETAILS;
  return [...details.slice(0, MAX_ERROR_DETAILS), { path: '', message: `and ${rest} more problem(s) not listed; fix these first` }];
}

/** Validates `input`, turning schema failures into one 400 that lists every field to fix. */
export function parseRequest<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const tooDeep = pathDeeperThan(input, MAX_REQUEST_DEPTH);
  if (tooDeep) {
    const path = formatPath(tooDeep);
    const message = `values are nested more than ${MAX_REQUEST_DEPTH} levels deep (at ${path}); nothing this API takes is that deep`;
    throw new FleetError('ValidationFailed', `Invalid request: ${message}.`, [{ path, message }]);
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
  }));
  const first = details[0];
  throw new FleetError(
    'ValidationFailed',
    first ? `Invalid request: ${first.path ? `${first.path}: ` : ''}${first.message}` : 'Invalid request',
    cappedDetails(details),
  );
}

/** The path of the first value nested deeper than `limit` objects or arrays, found without recursion. */
function pathDeeperThan(input: unknown, limit: number): PropertyKey[] | undefined {
  const stack: Array<{ value: unknown; path: PropertyKey[] }> = [{ value: input, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (path.length >= limit) return path;
    const children: Array<[PropertyKey, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    for (const [key, child] of children) stack.push({ value: child, path: [...path, key] });
  }
  return undefined;
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}
