// The Kusto the alert rules and the workbook share: how to read the runtime's telemetry lines
// (runtime/src/telemetry.ts writes each metric and event as a trace starting with its prefix).
// Queries run against Application Insights, so they use its table names (traces, requests,
// exceptions), as the README's queries do.
import { TELEMETRY_PREFIX } from '../runtime/src/telemetry';

/** `telemetry`: every metric and event the runtime sent, its JSON parsed into `t`. */
export const TELEMETRY = `let telemetry = traces
  | where message startswith "${TELEMETRY_PREFIX}"
  | extend t = parse_json(substring(message, strlen("${TELEMETRY_PREFIX}"))) ;`;

/** A query that starts with the given `let`s. */
export const query = (lets: string[], body: string) => [...lets, body.trim()].join('\n');
