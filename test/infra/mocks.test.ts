// The mocks' flush() waits for registrations still on their way, however long they take: it
// replaced a fixed sleep, and the tests that expect "nothing registered" are only as good as it is.
// It leans on Pulumi internals (runtime/settings waitForRPCs, runtime/state's RPC queue), so an
// upgrade that changes them fails here rather than turning those tests vacuous.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as pulumi from '@pulumi/pulumi';
import { flush, useMocks } from './support/mocks';

/** An input that is not known yet: a timer, so that no promise chain can settle it early. */
const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
const azure = (seen: { types: string[] }) => seen.types.filter((t) => t.startsWith('azure-native:'));

/** Any custom resource will do: the mocks answer every type. */
class Probe extends pulumi.CustomResource {
  constructor(type: string, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    super(type, name, props, opts);
  }
}

describe('flush', () => {
  it('waits for a registration whose inputs resolve later', async () => {
    const seen = await useMocks();
    new Probe('azure-native:resources:ResourceGroup', 'late', { location: later(200, 'westeurope') });
    assert.deepEqual(azure(seen), [], 'not registered yet');
    await flush();
    assert.deepEqual(azure(seen), ['azure-native:resources:ResourceGroup']);
  });

  it('waits for children registered from applies, generation after generation', async () => {
    const seen = await useMocks();
    const a = new Probe('azure-native:test:A', 'a', { x: later(50, 1) });
    a.id.apply((id: string) => {
      const b = new Probe('azure-native:test:B', 'b', { id, x: later(50, 2) }, { parent: a });
      b.id.apply((bid: string) => new Probe('azure-native:test:C', 'c', { bid, x: later(50, 3) }, { parent: b }));
    });
    await flush();
    assert.deepEqual(azure(seen), ['azure-native:test:A', 'azure-native:test:B', 'azure-native:test:C']);
  });
});
