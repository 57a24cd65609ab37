// What every Table and Blob Storage adapter shares: creating its table on first use, and turning
// storage trouble into an error the caller can act on.
import { RestError, type TableClient } from '@azure/data-tables';
import { FleetError } from '../domain/core/errors';

/**
 * Returns a function that resolves once `table` exists, creating it on first use (the stack
 * creates the tables on Azure; locally nobody else does). A failed creation is tried again next call.
 */
export function tableCreator(table: TableClient): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () =>
    (ready ??= table.createTable().catch((e) => {
      ready = undefined;
      throw storageUnavailable(e);
    }));
}

/**
 * Storage trouble is never the caller's fault: it becomes a 503 they may retry. A 4xx that is not
 * throttling or a timeout is a request of ours storage refused, so it surfaces as the bug it is.
 */
export function storageUnavailable(e: unknown, service = 'Table Storage'): unknown {
  if (e instanceof FleetError) return e;
  const status = e instanceof RestError ? e.statusCode : (e as { statusCode?: number } | undefined)?.statusCode;
  if (status !== undefined && status < 500 && status !== 408 && status !== 429) return e;
  return new FleetError('StorageUnavailable', `${service} is unavailable: ${(e as Error).message}`, undefined, 2);
}
