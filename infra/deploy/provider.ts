// The dynamic provider behind the CodeDeployment resource. Pulumi serializes this object (and,
// by value, the local oneDeploy module it calls) into the state and runs it in its own process:
// so no module-level state, Node built-ins are required inside the functions, and the zip is
// read from disk at deploy time (only its hash is an input).
import type * as pulumi from '@pulumi/pulumi';
import { oneDeploy } from './oneDeploy';

export interface CodeDeploymentInputs {
  /** `/subscriptions/.../providers/Microsoft.Web/sites/<app>`. */
  appResourceId: string;
  scmUrl: string;
  armUrl: string;
  /** The package on the deploying machine, written by the RuntimeBundle during this run. */
  zipPath: string;
  /** sha256 of the package: what decides whether to deploy again. */
  hash: string;
  functions: string[];
  /** ARM token of the identity running Pulumi (a secret input, never an output). */
  token: string;
  /** Test hook: overrides the default timing of the One Deploy module. */
  timing?: Record<string, number>;
}

export interface CodeDeploymentOutputs {
  appResourceId: string;
  scmUrl: string;
  hash: string;
  functions: string[];
  deploymentId: string;
  indexedFunctions: string[];
}

/** Deploy again only when the package or the target changes (a fresh token alone changes nothing). */
export function deploymentChanges(olds: Partial<CodeDeploymentOutputs>, news: CodeDeploymentInputs): string[] {
  const changed: string[] = [];
  if (olds.hash !== news.hash) changed.push('hash');
  if ((olds.appResourceId ?? '').toLowerCase() !== news.appResourceId.toLowerCase()) changed.push('appResourceId');
  if (olds.scmUrl !== news.scmUrl) changed.push('scmUrl');
  if ([...(olds.functions ?? [])].sort().join(',') !== [...news.functions].sort().join(',')) changed.push('functions');
  return changed;
}

async function deploy(inputs: CodeDeploymentInputs): Promise<CodeDeploymentOutputs> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  if (!fs.existsSync(inputs.zipPath)) {
    throw new Error(`The runtime package ${inputs.zipPath} is missing; run pulumi up again to rebuild it.`);
  }
  const result = await oneDeploy({
    scmUrl: inputs.scmUrl,
    armUrl: inputs.armUrl,
    appResourceId: inputs.appResourceId,
    zip: fs.readFileSync(inputs.zipPath),
    getToken: () => inputs.token,
    functions: inputs.functions,
    timing: inputs.timing,
    log: (m) => console.log(`[one-deploy] ${m}`),
  });
  return {
    appResourceId: inputs.appResourceId,
    scmUrl: inputs.scmUrl,
    hash: inputs.hash,
    functions: inputs.functions,
    deploymentId: result.deploymentId,
    indexedFunctions: result.functions,
  };
}

export const oneDeployProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: Partial<CodeDeploymentOutputs>, news: CodeDeploymentInputs) {
    const changed = deploymentChanges(olds, news);
    return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
  },
  async create(inputs: CodeDeploymentInputs) {
    const outs = await deploy(inputs);
    return { id: `${inputs.appResourceId}/deployments/aci-fleet`, outs };
  },
  async update(_id: string, _olds: CodeDeploymentOutputs, news: CodeDeploymentInputs) {
    return { outs: await deploy(news) };
  },
  // The code goes away with the app; removing this resource alone leaves the app running as it is.
  async delete() {},
};
