// The fleets the stack file declares (`aci-fleet:fleets`), one resource each, written through the
// deployed API once the smoke test has seen it answer (deploy/fleetProvider.ts). A changed template
// is a new revision, rolled out by the app without cutting a session; a fleet taken out of the file
// is deleted (drained). The bodies were checked with the runtime's rules at preview (fleetSpecs.ts).
import * as pulumi from '@pulumi/pulumi';
import { fleetProvider, type FleetInputs } from './deploy/fleetProvider';
import type { StackFleet } from './fleetSpecs';

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

class FleetResource extends pulumi.dynamic.Resource {
  declare readonly revision: pulumi.Output<number>;

  constructor(name: string, args: Inputs<FleetInputs>, opts?: pulumi.CustomResourceOptions) {
    super(fleetProvider, name, { ...args, revision: undefined, bodyDigest: undefined, salt: undefined }, opts, 'aci-fleet', 'Fleet');
  }
}

export interface StackFleetsArgs {
  fleets: Record<string, StackFleet>;
  /** The stack file's fleets key holds a `--secret` value: what is shown of each fleet is kept secret too. */
  secretConfig: boolean;
  apiBaseUrl: pulumi.Input<string>;
  functionKey: pulumi.Input<string>;
  /** What must answer first: the smoke test (after the code deployment). */
  after: pulumi.Resource[];
}

export class StackFleets extends pulumi.ComponentResource {
  /** `{ <fleet>: <revision> }`: the stack's `fleetRevisions` output. */
  readonly revisions: pulumi.Output<Record<string, number>>;

  constructor(name: string, args: StackFleetsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:StackFleets', name, {}, opts);
    if (args.after.length === 0) throw new Error(`StackFleets ${name}: pass the smoke test in "after"`);

    const revisions: Record<string, pulumi.Output<number>> = {};
    for (const [fleet, { body, shown, secrets }] of Object.entries(args.fleets)) {
      const resource = new FleetResource(
        `${name}-${fleet}`,
        {
          apiBaseUrl: args.apiBaseUrl,
          name: fleet,
          spec: args.secretConfig ? pulumi.secret(shown) : shown,
          body: pulumi.secret(body),
          secrets: pulumi.secret(secrets),
          functionKey: pulumi.secret(args.functionKey),
        },
        {
          parent: this,
          dependsOn: args.after,
          additionalSecretOutputs: ['bodyDigest', 'functionKey', ...(args.secretConfig ? ['spec'] : [])],
        },
      );
      revisions[fleet] = resource.revision;
    }
    this.revisions = pulumi.output(revisions);
    this.registerOutputs({ revisions: this.revisions });
  }
}
