// What `npm start` prints while the fleet runs. By default: one line per step of a server's life
// (created, running, drained, failed with its reason, deleting, deleted…) and per scale action,
// plus warnings and errors. --quiet: errors only. --verbose: every log line as it is.
import { SCALED_EVENT } from '../src/domain/fleets/controller';
import { LIFECYCLE_EVENT, type LifecycleEvent } from '../src/domain/servers/lifecycle';
import { parseTelemetryLine, type TelemetryRecord } from '../src/telemetry';
import type { LogLevel } from './aci-emulator';

export type ConsoleMode = 'quiet' | 'normal' | 'verbose';

/** The line to print for a log line of the fleet, or undefined to print nothing. */
export function consoleLine(line: string, level: LogLevel = 'info', mode: ConsoleMode = 'normal', now = new Date()): string | undefined {
  if (mode === 'verbose') return line;
  if (level === 'error') return line;
  if (mode === 'quiet') return undefined;
  if (level === 'warning') return line;
  const record = parseTelemetryLine(line);
  const story = record && describeEvent(record);
  return story && `${now.toTimeString().slice(0, 8)}  ${story}`;
}

function describeEvent(record: TelemetryRecord): string | undefined {
  const by = `  (${record.function})`;
  if (record.name === SCALED_EVENT) {
    const n = Number(record.servers);
    const servers = `${n} server${n === 1 ? '' : 's'}`;
    return `${record.direction === 'in' ? `scaled in: ${servers} drained` : `scaled out: +${servers}`} — ${String(record.reason)}${by}`;
  }
  if (record.name !== LIFECYCLE_EVENT) return undefined;
  const e = record as unknown as LifecycleEvent;
  switch (e.event) {
    case 'running':
      return `${e.server} running${e.publicIp ? ` at ${e.publicIp}` : ''}${by}`;
    case 'failed':
      return `${e.server} failed: ${e.reason ?? 'no reason given'}${by}`;
    case 'undrained':
      return `${e.server} running again (no longer drained)${by}`;
    case 'adopted':
      return `${e.server} adopted as ${e.to}${by}`;
    default:
      return `${e.server} ${e.event}${by}`;
  }
}
