// The dynamic provider behind the SmokeTest resource (smokeTest.ts in infra/). It runs on every
// `pulumi up` (its diff always reports a change): the check is of the live fleet, not of inputs.
import type * as pulumi from '@pulumi/pulumi';
import { smokeTest } from './smokeTest';

export interface SmokeTestInputs {
  armUrl: string;
  appResourceId: string;
  apiBaseUrl: string;
  openApiUrl: string;
  listPublic: boolean;
  eventSubscriptionIds: string[];
  /** ARM token of the identity running Pulumi (a secret input, never an output). */
  token: string;
  /** Test hook: overrides the default timing. */
  timing?: Record<string, number>;
}

export interface SmokeTestOutputs {
  appResourceId: string;
  /** The app's default function key (a secret output). */
  functionKey: string;
  passed: string[];
}

async function run(inputs: SmokeTestInputs): Promise<SmokeTestOutputs> {
  const result = await smokeTest({
    armUrl: inputs.armUrl,
    appResourceId: inputs.appResourceId,
    apiBaseUrl: inputs.apiBaseUrl,
    openApiUrl: inputs.openApiUrl,
    listPublic: inputs.listPublic,
    eventSubscriptionIds: inputs.eventSubscriptionIds,
    getToken: () => inputs.token,
    timing: inputs.timing,
    log: (m) => console.log(`[smoke-test] ${m}`),
  });
  return { appResourceId: inputs.appResourceId, functionKey: result.functionKey, passed: result.passed };
}

export const smokeTestProvider: pulumi.dynamic.ResourceProvider = {
  async diff() {
    return { changes: true, replaces: [], deleteBeforeReplace: false };
  },
  async create(inputs: SmokeTestInputs) {
    return { id: `${inputs.appResourceId}/smoke-test`, outs: await run(inputs) };
  },
  async update(_id: string, _olds: SmokeTestOutputs, news: SmokeTestInputs) {
    return { outs: await run(news) };
  },
  async delete() {},
};
