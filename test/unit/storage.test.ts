// The storage adapters' shared rules: a table found missing is created again and the operation
// runs once more; a table that cannot be created yet is a 503; other 4xx surface as they are.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { RestError, type TableClient } from '@azure/data-tables';
import { isTableMissing, selfHealingTable } from '../../runtime/src/azure/storage';
import { FleetError } from '../../runtime/src/domain/core/errors';

/** A 404 as Table Storage sends it: the code in x-ms-error-code (every version since 2017-07-29) and in the body. */
const notFound = (code: string, message = `{"odata.error":{"code":"${code}"}}`) =>
  new RestError(message, {
    statusCode: 404,
    response: {
      status: 404,
      headers: createHttpHeaders({ 'x-ms-error-code': code }),
      request: createPipelineRequest({ url: 'https://account.table.core.windows.net/Fake' }),
    },
  });
const tableNotFound = () =>
  notFound('TableNotFound', '{"odata.error":{"code":"TableNotFound","message":{"value":"The table specified does not exist."}}}');
const rowNotFound = () => notFound('ResourceNotFound');

/** A TableClient stand-in whose table is missing until createTable runs (which fails with `createError`, if given). */
function fakeTable(options: { createError?: RestError } = {}) {
  const calls = { create: 0, get: 0, list: 0 };
  let exists = false;
  const table = {
    tableName: 'Fake',
    async createTable() {
      calls.create++;
      if (options.createError) throw options.createError;
      exists = true;
    },
    async getEntity() {
      calls.get++;
      if (!exists) throw tableNotFound();
      throw rowNotFound();
    },
    // Not used here; present because every entity operation of a TableClient is wrapped.
    createEntity: async () => ({}),
    updateEntity: async () => ({}),
    upsertEntity: async () => ({}),
    deleteEntity: async () => ({}),
    submitTransaction: async () => ({}),
    listEntities() {
      calls.list++;
      return (async function* () {
        if (!exists) throw tableNotFound();
        yield { partitionKey: 'p', rowKey: 'r' };
      })();
    },
  };
  return { table: table as unknown as TableClient, calls, drop: () => (exists = false) };
}

describe('selfHealingTable', () => {
  it('creates a missing table again and repeats the operation once', async () => {
    const { table, calls } = fakeTable();
    const healing = selfHealingTable(table);
    await assert.rejects(healing.getEntity('p', 'r'), (e) => e instanceof RestError && !isTableMissing(e), 'the row is still missing');
    assert.deepEqual(calls, { create: 1, get: 2, list: 0 });
  });

  it('lists again after recreating a table that was missing before anything was read', async () => {
    const { table, calls, drop } = fakeTable();
    const healing = selfHealingTable(table);
    const rows = [];
    for await (const row of healing.listEntities()) rows.push(row);
    assert.equal(rows.length, 1);
    assert.equal(calls.create, 1);
    drop();
    for await (const _ of healing.listEntities()) void _;
    assert.equal(calls.create, 2, 'a table dropped later is noticed too');
  });

  it('answers 503 StorageUnavailable with Retry-After while the table is being deleted (409 TableBeingDeleted)', async () => {
    const { table } = fakeTable({ createError: new RestError('TableBeingDeleted', { statusCode: 409, code: 'TableBeingDeleted' }) });
    await assert.rejects(
      selfHealingTable(table).getEntity('p', 'r'),
      (e) => e instanceof FleetError && e.code === 'StorageUnavailable' && (e.retryAfterSeconds ?? 0) > 0,
    );
  });

  it('tells a missing table from a missing row', () => {
    assert.equal(isTableMissing(tableNotFound()), true);
    assert.equal(isTableMissing(new RestError('x', { statusCode: 404, code: 'TableNotFound' })), true);
    assert.equal(isTableMissing(rowNotFound()), false);
    assert.equal(isTableMissing(new RestError('x', { statusCode: 500, code: 'TableNotFound' })), false);
  });

  it('reads the error code, never the message text', () => {
    // A missing row whose message happens to mention the words is still a missing row.
    assert.equal(isTableMissing(notFound('ResourceNotFound', 'Row TableNotFound of partition p does not exist.')), false);
    assert.equal(isTableMissing(new RestError('{"odata.error":{"code":"TableNotFound"}}', { statusCode: 404 })), false);
  });
});
