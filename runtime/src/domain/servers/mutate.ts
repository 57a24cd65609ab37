// Read-modify-write of one server row with its ETag: how every service changes a row, so a
// concurrent writer's update is never lost.
import { FleetError } from '../core/errors';
import { StaleWriteError, type Versioned } from '../core/ports';
import type { RowChange } from './lifecycle';
import type { ServerStore } from './ports';
import { describeKey, type ServerKey, type ServerRecord } from './server';

/** Told of a row write: the row before it (undefined: inserted) and after it (undefined: removed). */
export type RowWritten = (before: ServerRecord | undefined, after: ServerRecord | undefined) => void;

/**
 * Applies `change` to the row and writes it with the row's ETag, reading again and retrying when
 * another writer got there first (at most `attempts` writes). `change` sees the freshest row each
 * time; undefined leaves the row as it is, 'remove' deletes it. Resolves to the row as written.
 */
export async function mutateServer(
  store: ServerStore,
  attempts: number,
  key: ServerKey,
  change: (current: ServerRecord) => RowChange,
  known?: Versioned<ServerRecord>,
  written?: RowWritten,
): Promise<Versioned<ServerRecord> | undefined> {
  let row = known ?? (await store.get(key));
  for (let attempt = 1; row; attempt++) {
    const next = change(row.value);
    if (next === undefined) return row;
    try {
      if (next === 'remove') {
        await store.remove(key, row.etag);
        written?.(row.value, undefined);
        return undefined;
      }
      const replaced = await store.replace(next, row.etag);
      written?.(row.value, replaced.value);
      return replaced;
    } catch (e) {
      if (!(e instanceof StaleWriteError)) throw e;
      if (attempt >= attempts) throw writeContention(describeKey(key));
      row = await store.get(key);
    }
  }
  return undefined;
}

/** 503 with Retry-After 1: the row kept changing under concurrent writers. */
export const writeContention = (what: string) =>
  new FleetError('WriteContention', `${what} kept changing under concurrent writers; retry shortly.`, undefined, 1);
