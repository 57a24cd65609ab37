// What every Table and Blob Storage adapter shares: creating its table on first use (and again
// when storage comes back without it), and turning storage trouble into an error the caller can act on.
import { RestError, type TableClient } from '@azure/data-tables';
import { FleetError } from '../domain/core/errors';

/**
 * Returns a function that resolves once `table` exists, creating it on first use (the stack
 * creates the tables on Azure; locally nobody else does). A failed creation is tried again next call.
 */
export function tableCreator(table: TableClient): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () =>
    (ready ??= createTable(table).catch((e) => {
      ready = undefined;
      throw e;
    }));
}

/** The TableClient methods the adapters call, each retried once after recreating a missing table. */
const ENTITY_OPERATIONS = ['getEntity', 'createEntity', 'updateEntity', 'upsertEntity', 'deleteEntity', 'submitTransaction'] as const;

/**
 * `table`, except that an operation that finds the table itself missing — storage restarted
 * empty (an in-memory Azurite), a table deleted by hand — creates it again and runs once more.
 * So the fleet recovers by itself, answering as an empty fleet would, instead of failing every
 * call until it is restarted. (A "created" memo alone never notices the table went away.)
 */
export function selfHealingTable(table: TableClient): TableClient {
  const healing = Object.create(table) as TableClient;
  const once = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (e) {
      if (!isTableMissing(e)) throw e;
      await createTable(table);
      return operation();
    }
  };
  for (const name of ENTITY_OPERATIONS) {
    const operation = (table[name] as (...args: unknown[]) => Promise<unknown>).bind(table);
    Object.assign(healing, { [name]: (...args: unknown[]) => once(() => operation(...args)) });
  }
  // The adapters only iterate listings (never byPage), so a plain async iterator stands in for the paged one.
  healing.listEntities = ((...args: Parameters<TableClient['listEntities']>) =>
    listRecreatingTable(table, () => table.listEntities(...args))) as unknown as TableClient['listEntities'];
  return healing;
}

/** A listing that, when the table is missing before anything was read, recreates it and lists again (empty). */
async function* listRecreatingTable<T>(table: TableClient, list: () => AsyncIterable<T>): AsyncGenerator<T> {
  let read = 0;
  try {
    for await (const item of list()) {
      read++;
      yield item;
    }
  } catch (e) {
    if (read > 0 || !isTableMissing(e)) throw e;
    await createTable(table);
    yield* list();
  }
}

/** Creates the table (an existing one is fine); a table that cannot be created now is an outage (503). */
async function createTable(table: TableClient): Promise<void> {
  try {
    await table.createTable();
  } catch (e) {
    const mapped = storageUnavailable(e);
    if (mapped instanceof FleetError) throw mapped;
    // 409 TableBeingDeleted: Azure keeps a deleted table's name for a while before it can be created again.
    if (e instanceof RestError && e.statusCode === 409) {
      throw new FleetError(
        'StorageUnavailable',
        `Table Storage cannot create the table ${table.tableName} yet: ${e.message}`,
        undefined,
        5,
      );
    }
    throw e;
  }
}

/**
 * Whether a storage error says the table itself does not exist (rather than a row): 404
 * `TableNotFound`, read from the error code, never from the message text. Table Storage sends the
 * code in `x-ms-error-code` (every version since 2017-07-29; Azurite too), which the SDK leaves
 * in the response; for a batch it sets the error's `code` from the failed operation instead.
 */
export function isTableMissing(e: unknown): boolean {
  if (!(e instanceof RestError) || e.statusCode !== 404) return false;
  return (e.code ?? e.response?.headers.get('x-ms-error-code')) === 'TableNotFound';
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

/** A storage call that got no (complete) answer in time: an outage to the caller, who may retry. */
export const timedOut = (service: string, ms: number) =>
  new FleetError('StorageUnavailable', `${service} did not answer within ${ms} ms.`, undefined, 2);
