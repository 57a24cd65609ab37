// The emulator's one log sink, shared by all its parts, and how an unexpected error is written
// to it (with its stack, since it means an emulator bug).

/** `warning`: something a user of the local fleet should see; `error`: an emulator bug. Default info. */
export type LogLevel = 'info' | 'warning' | 'error';

export type Log = (line: string, level?: LogLevel) => void;

export function errorDetail(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}
