// The dynamic provider behind each ResourceProviderRegistration (resourceProviders.ts). Pulumi
// serializes it, with the plain modules it calls, into the state: no module-level state here.
import type * as pulumi from '@pulumi/pulumi';
import { registerProvider } from './providerRegistration';

export interface RegistrationInputs {
  armUrl: string;
  subscriptionId: string;
  namespace: string;
  /** ARM token of the identity running Pulumi (a secret input, never an output). */
  token: string;
  /** Test hook: overrides the default timing. */
  timing?: Record<string, number>;
}

export interface RegistrationOutputs {
  subscriptionId: string;
  namespace: string;
  registrationState: string;
}

/** Another namespace or subscription is another registration; a fresh token alone changes nothing. */
export function registrationReplaces(olds: Partial<RegistrationOutputs>, news: RegistrationInputs): string[] {
  const replaces: string[] = [];
  if ((olds.namespace ?? '').toLowerCase() !== news.namespace.toLowerCase()) replaces.push('namespace');
  if ((olds.subscriptionId ?? '').toLowerCase() !== news.subscriptionId.toLowerCase()) replaces.push('subscriptionId');
  return replaces;
}

export const registrationProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: Partial<RegistrationOutputs>, news: RegistrationInputs) {
    const replaces = registrationReplaces(olds, news);
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
  async create(inputs: RegistrationInputs) {
    const result = await registerProvider({
      armUrl: inputs.armUrl,
      subscriptionId: inputs.subscriptionId,
      namespace: inputs.namespace,
      getToken: () => inputs.token,
      timing: inputs.timing,
      log: (m) => console.log(`[providers] ${m}`),
    });
    const outs: RegistrationOutputs = {
      subscriptionId: inputs.subscriptionId,
      namespace: inputs.namespace,
      registrationState: result.registrationState,
    };
    return { id: `/subscriptions/${inputs.subscriptionId}/providers/${inputs.namespace}`, outs };
  },
  // Never unregistered: other resources in the subscription may use the provider too.
  async delete() {},
};
