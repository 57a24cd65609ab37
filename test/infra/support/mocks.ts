// In-process Pulumi mocks for component tests: records the types of registered resources and
// fails any invoke, so a component that reaches Azure during construction is caught.
import * as pulumi from '@pulumi/pulumi';
import * as pulumiSettings from '@pulumi/pulumi/runtime/settings';
import * as pulumiState from '@pulumi/pulumi/runtime/state';

export async function useMocks(): Promise<{ types: string[] }> {
  const seen = { types: [] as string[] };
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        seen.types.push(args.type);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => {
        throw new Error(`unmocked invoke ${args.token}`);
      },
    },
    'aci-fleet',
    'test',
    false,
  );
  return seen;
}

// Pulumi's own "wait until every pending RPC is done" (what `pulumi.runtime.disconnect()` awaits
// before a program exits), and the queue it watches. Both are exported by the runtime but marked
// @internal, so their types are stripped from the .d.ts files.
const { waitForRPCs } = pulumiSettings as typeof pulumiSettings & { waitForRPCs(): Promise<void> };
const rpcQueue = () => (pulumiState as unknown as { getStore(): { settings: { rpcDone: Promise<void> } } }).getStore().settings.rpcDone;

/**
 * Lets pending registrations reach the mocks, deterministically (no sleep that has to be "long
 * enough": on a loaded machine a registration could still be on its way after one, and a test
 * expecting none would pass anyway).
 *
 * Every registration joins Pulumi's RPC queue synchronously when its resource is constructed
 * (rpcKeepAlive) and leaves it once the mock's newResource has answered and its outputs are
 * resolved, however long its inputs take; waitForRPCs waits until the queue has drained. What
 * runs on those outputs (an apply that registers a child) runs as promise continuations, possibly
 * after the queue looked empty; all of them have run by the next turn of the event loop. So once
 * a turn passes with the queue still the one seen before waiting, nothing is left on its way.
 */
export async function flush(): Promise<void> {
  for (;;) {
    const queue = rpcQueue(); // taken before waiting: anything that joins later replaces it
    await waitForRPCs();
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (rpcQueue() === queue) return;
  }
}
