// The last step of every `pulumi up`: the smoke test (deploy/smokeTest.ts) against the deployed
// fleet. If the OpenAPI document is not served, ACIList does not answer with the function key, or
// an Event Grid subscription is not Succeeded, the update fails and says which.
import * as pulumi from '@pulumi/pulumi';
import { ARM_URL, deployerToken } from './deploy/armToken';
import { smokeTestProvider, type SmokeTestInputs } from './deploy/smokeTestProvider';

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

class SmokeTestResource extends pulumi.dynamic.Resource {
  declare readonly functionKey: pulumi.Output<string>;
  declare readonly passed: pulumi.Output<string[]>;

  constructor(name: string, args: Inputs<SmokeTestInputs>, opts?: pulumi.CustomResourceOptions) {
    super(smokeTestProvider, name, { ...args, functionKey: undefined, passed: undefined }, opts, 'aci-fleet', 'SmokeTest');
  }
}

export interface SmokeTestArgs {
  appResourceId: pulumi.Input<string>;
  apiBaseUrl: pulumi.Input<string>;
  openApiUrl: pulumi.Input<string>;
  listPublic: boolean;
  eventSubscriptionIds: pulumi.Input<string>[];
  /** What must be in place first: the code deployment and the event subscriptions. */
  after: pulumi.Resource[];
}

export class SmokeTest extends pulumi.ComponentResource {
  /** Read by the smoke test (it needs it for ACIList): the stack's `functionKey` output. */
  readonly functionKey: pulumi.Output<string>;
  readonly passed: pulumi.Output<string[]>;
  /** The resource to depend on for "the fleet answers". */
  readonly resource: pulumi.Resource;

  constructor(name: string, args: SmokeTestArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:SmokeTest', name, {}, opts);
    if (args.eventSubscriptionIds.length === 0) throw new Error(`SmokeTest ${name}: no Event Grid subscription to check`);
    const test = new SmokeTestResource(
      `${name}-run`,
      {
        armUrl: ARM_URL,
        appResourceId: args.appResourceId,
        apiBaseUrl: args.apiBaseUrl,
        openApiUrl: args.openApiUrl,
        listPublic: args.listPublic,
        eventSubscriptionIds: pulumi.all(args.eventSubscriptionIds),
        token: deployerToken(this),
      },
      { parent: this, dependsOn: args.after, additionalSecretOutputs: ['functionKey'] },
    );
    this.resource = test;
    this.functionKey = pulumi.secret(test.functionKey);
    this.passed = test.passed;
    this.registerOutputs({ passed: this.passed });
  }
}
