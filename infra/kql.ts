// The Kusto the alert rules and the workbook share: how to read the runtime's telemetry lines
// (runtime/src/telemetry.ts writes each metric and event as a trace starting with its prefix)
// and the autoscaler's "autoscaler acted" log line. Queries run against Application Insights, so
// they use its table names (traces, requests, exceptions), as the README's queries do.
import { TELEMETRY_PREFIX } from '../runtime/src/telemetry';

/** `telemetry`: every metric and event the runtime sent, its JSON parsed into `t`. */
export const TELEMETRY = `let telemetry = traces
  | where message startswith "${TELEMETRY_PREFIX}"
  | extend t = parse_json(substring(message, strlen("${TELEMETRY_PREFIX}"))) ;`;

/** The prefix of the autoscaler's log line after a run that acted (runtime/src/domain/autoscaling/autoscaler.ts). */
export const AUTOSCALER_ACTED = 'autoscaler acted ';

/** `actions`: each autoscaler run that acted, with how many servers it created, drained and restored. */
export const AUTOSCALER_ACTIONS = `let actions = traces
  | where message startswith "${AUTOSCALER_ACTED}"
  | extend a = parse_json(substring(message, strlen("${AUTOSCALER_ACTED}")))
  | project timestamp, policy = tostring(a.policy), reason = tostring(a.reason),
      created = array_length(a.created), drained = array_length(a.drained), restored = array_length(a.restored);`;

/** A query that starts with the given `let`s. */
export const query = (lets: string[], body: string) => [...lets, body.trim()].join('\n');
