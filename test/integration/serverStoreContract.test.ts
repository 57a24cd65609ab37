// The simulator's in-memory ServerStore and the Table Storage one (on Azurite) answer replaceMany
// alike: batches of one resource group and at most 100 rows, each all or nothing, so a stale row
// fails its own batch only; the same number of transactions; nothing sent for an empty batch.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type Azurite } from '../../runtime/local/azurite';
import { TableServerStore } from '../../runtime/src/azure/tableStore';
import type { Versioned } from '../../runtime/src/domain/core/ports';
import type { ServerStore } from '../../runtime/src/domain/servers/ports';
import { describeKey, type ServerRecord } from '../../runtime/src/domain/servers/server';
import { MemoryServerStore } from '../../tools/sim/memory';
import { serverRecord } from '../support/records';

let azurite: Azurite;
before(async () => {
  azurite = await startAzurite({});
});
after(() => azurite?.stop());

let tables = 0;
const stores: Array<[string, () => ServerStore]> = [
  ['in memory (the simulator)', () => new MemoryServerStore()],
  [
    'Table Storage (Azurite)',
    () =>
      new TableServerStore(
        TableClient.fromConnectionString(azurite.connectionString, `contract${++tables}`, { allowInsecureConnection: true }),
      ),
  ],
];

/** 150 servers in 'games' (two batches) and 3 in 'arena' (one), inserted; their rows as stored. */
async function seeded(store: ServerStore): Promise<Versioned<ServerRecord>[]> {
  const records = [
    ...Array.from({ length: 150 }, (_, i) => serverRecord(`gs-${String(i).padStart(3, '0')}`)),
    ...Array.from({ length: 3 }, (_, i) => serverRecord(`ar-${i}`, { resourceGroup: 'arena' })),
  ];
  const rows: Versioned<ServerRecord>[] = [];
  for (const r of records) rows.push(await store.insert(r));
  return rows;
}

for (const [name, make] of stores) {
  describe(`ServerStore.replaceMany, ${name}`, () => {
    it('fails only the batch holding a stale row, in as many transactions as batches', async () => {
      const store = make();
      const rows = await seeded(store);
      // Row 120 of 'games' (in its second batch) changes after it was read.
      await store.replace({ ...rows[120]!.value, activeSessions: 9 }, rows[120]!.etag);
      const result = await store.replaceMany(
        rows.map((r) => ({ ...r, value: { ...r.value, activeSessions: 3 } })),
        ['activeSessions'],
      );
      assert.equal(result.transactions, 3);
      const secondBatch = rows.slice(100, 150).map((r) => describeKey(r.value));
      assert.deepEqual(result.stale.map(describeKey).sort(), secondBatch.sort());
      assert.equal(result.written.length, 103);
      for (const w of result.written) assert.equal((await store.get(w.value))?.etag, w.etag, 'written carries the new ETag');
      const now = await Promise.all(rows.map((r) => store.get(r.value)));
      assert.deepEqual(
        now.map((r) => r!.value.activeSessions),
        rows.map((_, i) => (i === 120 ? 9 : i >= 100 && i < 150 ? 0 : 3)),
        'the stale batch wrote nothing, the others everything',
      );
    });

    it('sends nothing for no rows', async () => {
      const store = make();
      assert.deepEqual(await store.replaceMany([]), { transactions: 0, stale: [], written: [] });
    });
  });
}
