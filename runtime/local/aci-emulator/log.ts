// The emulator's one log sink, shared by all its parts, and how an unexpected error is written
// to it (with its stack, since it means an emulator bug).

export type Log = (line: string) => void;

export function errorDetail(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}
