// Staging a lost race deterministically: a store that lets another writer in right before the
// first conditional write that matches, then goes on with the (now stale) write.
import type { ServerStore } from '../../runtime/src/domain/servers/ports';
import type { ServerRecord } from '../../runtime/src/domain/servers/server';

export interface RacingStore {
  store: ServerStore;
  /** Whether the rival ran (a test that staged nothing proves nothing). */
  raced(): boolean;
}

export function racingStore(real: ServerStore, when: (record: ServerRecord) => boolean, rival: () => Promise<void>): RacingStore {
  const store: ServerStore = Object.create(real);
  let raced = false;
  store.replace = async (record, etag) => {
    if (!raced && when(record)) {
      raced = true;
      await rival();
    }
    return real.replace(record, etag);
  };
  return { store, raced: () => raced };
}
