// What Azurite answers when a table is missing, operation by operation: the code the fleet reads
// (isTableMissing) is there for every one of them without looking at message text, and a missing
// row is never taken for a missing table.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type Azurite } from '../../runtime/local/azurite';
import { isTableMissing } from '../../runtime/src/azure/storage';

let azurite: Azurite;
before(async () => {
  azurite = await startAzurite({});
});
after(() => azurite?.stop());

const table = (name: string) => TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
const entity = { partitionKey: 'p', rowKey: 'r' };
const operations: Array<[string, (t: TableClient) => Promise<unknown>]> = [
  ['getEntity', (t) => t.getEntity('p', 'r')],
  ['createEntity', (t) => t.createEntity(entity)],
  ['updateEntity', (t) => t.updateEntity(entity, 'Replace', { etag: '*' })],
  ['upsertEntity', (t) => t.upsertEntity(entity)],
  ['deleteEntity', (t) => t.deleteEntity('p', 'r')],
  ['submitTransaction', (t) => t.submitTransaction([['create', entity]])],
  [
    'listEntities',
    async (t) => {
      for await (const _ of t.listEntities()) void _;
    },
  ],
];

describe("Azurite's answer to an operation on a missing table", () => {
  for (const [name, run] of operations) {
    it(`${name}: isTableMissing reads TableNotFound from the code`, async () => {
      await assert.rejects(run(table('NoSuchTable')), (e) => isTableMissing(e));
    });
  }

  it('a missing row in an existing table is not a missing table', async () => {
    const existing = table('Existing');
    await existing.createTable();
    for (const run of [(t: TableClient) => t.getEntity('p', 'none'), (t: TableClient) => t.deleteEntity('p', 'none')]) {
      await assert.rejects(run(existing), (e) => (e as { statusCode?: number }).statusCode === 404 && !isTableMissing(e));
    }
  });
});
