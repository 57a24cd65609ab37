// Turning a schema's verdict on a request into the one 400 every function answers bad input with.
import type { z } from 'zod';
import { FleetError } from './errors';

/** Validates `input`, turning schema failures into one 400 that lists every field to fix. */
export function parseRequest<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
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

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}
