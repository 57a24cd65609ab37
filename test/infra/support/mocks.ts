// In-process Pulumi mocks for component tests: records the types of registered resources and
// fails any invoke, so a component that reaches Azure during construction is caught.
import * as pulumi from '@pulumi/pulumi';

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

/** Lets pending registrations reach the mocks. */
export const flush = () => new Promise((resolve) => setTimeout(resolve, 50));
