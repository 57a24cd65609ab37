// Turning a schema's verdict on a request into the one 400 every function answers bad input with.
import type { z } from 'zod';
import { FleetError } from './errors';

/**
 * Nothing a caller sends is nested deeper than this (an ARM container group is about eight
 * levels). Checked before any schema runs, so recursive code after validation (the spec hash,
 * cloning) never meets a value deep enough to overflow the stack.
 */
export const MAX_REQUEST_DEPTH = 32;

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
    details,
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
