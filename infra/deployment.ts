// Deploys the runtime package to the Function App with One Deploy (the only way on Flex
// Consumption; no typed Pulumi resource does it) and waits until ACIMonitor is indexed, so that
// the Event Grid subscriptions created after it find their destination.
import * as pulumi from '@pulumi/pulumi';
import { ARM_URL, deployerToken } from './deploy/armToken';
import { oneDeployProvider, type CodeDeploymentInputs } from './deploy/provider';

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** The dynamic resource; see deploy/provider.ts for its life cycle. */
class OneDeployResource extends pulumi.dynamic.Resource {
  declare readonly deploymentId: pulumi.Output<string>;
  declare readonly indexedFunctions: pulumi.Output<string[]>;
  declare readonly hash: pulumi.Output<string>;
  declare readonly appResourceId: pulumi.Output<string>;

  constructor(name: string, args: Inputs<CodeDeploymentInputs>, opts?: pulumi.CustomResourceOptions) {
    super(oneDeployProvider, name, { ...args, deploymentId: undefined, indexedFunctions: undefined }, opts, 'aci-fleet', 'OneDeploy');
  }
}

export interface CodeDeploymentArgs {
  appResourceId: pulumi.Input<string>;
  /** The app's SCM host (`<app>.scm.azurewebsites.net`). */
  scmHostName: pulumi.Input<string>;
  zipPath: pulumi.Input<string>;
  hash: pulumi.Input<string>;
  /** Functions that must be indexed before the deployment counts as done. */
  waitForFunctions: string[];
  /** Defaults to the public cloud's ARM endpoint. */
  armUrl?: string;
  /**
   * What the app must have before its code runs: its settings (the first start reads them).
   * (One Deploy writes the package with the app's identity, whose roles the app already waited for.)
   */
  after: pulumi.Input<pulumi.Resource>[];
}

export class CodeDeployment extends pulumi.ComponentResource {
  readonly deploymentId: pulumi.Output<string>;
  readonly indexedFunctions: pulumi.Output<string[]>;
  /** The resource to depend on for "the code is live". */
  readonly resource: pulumi.Resource;
  /** The app the code went to (an output of the deployment, so consumers wait for it). */
  readonly appResourceId: pulumi.Output<string>;

  constructor(name: string, args: CodeDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:CodeDeployment', name, {}, opts);
    if (args.waitForFunctions.length === 0) throw new Error(`CodeDeployment ${name}: waitForFunctions is empty`);
    if (args.after.length === 0) {
      throw new Error(`CodeDeployment ${name}: pass the app's settings in "after"`);
    }

    // SCM endpoints accept the ARM token of whoever runs Pulumi: it already has rights on the app.
    const token = deployerToken(this);

    const deployment = new OneDeployResource(
      `${name}-onedeploy`,
      {
        appResourceId: args.appResourceId,
        scmUrl: pulumi.interpolate`https://${args.scmHostName}`,
        armUrl: args.armUrl ?? ARM_URL,
        zipPath: args.zipPath,
        hash: args.hash,
        functions: args.waitForFunctions,
        token,
      },
      { parent: this, dependsOn: args.after },
    );

    this.resource = deployment;
    this.deploymentId = deployment.deploymentId;
    this.indexedFunctions = deployment.indexedFunctions;
    this.appResourceId = deployment.appResourceId;
    this.registerOutputs({ deploymentId: this.deploymentId, indexedFunctions: this.indexedFunctions });
  }
}
