// The resource groups: one for the app and its data, and the groups the fleet's container
// groups live in (created by the stack, or existing ones the stack only references).
import * as pulumi from '@pulumi/pulumi';
import * as resources from '@pulumi/azure-native/resources';
import { checkContainerResourceGroups, type ContainerResourceGroupConfig } from './config';

export interface ResourceGroupsArgs {
  location: string;
  appResourceGroupName: string;
  containerResourceGroups: ContainerResourceGroupConfig[];
  tags?: Record<string, string>;
  /**
   * What must be done first (the resource provider registrations): the groups the stack creates wait
   * for it, and so everything in them. (Whatever the stack creates in an existing group waits itself.)
   */
  after?: pulumi.Resource[];
}

export interface GroupRef {
  name: pulumi.Output<string>;
  id: pulumi.Output<string>;
}

export interface ContainerGroupRef {
  /** As configured (resource group names are known before deployment). */
  name: string;
  /** Depending on it waits for the group to exist. */
  id: pulumi.Output<string>;
}

export class ResourceGroups extends pulumi.ComponentResource {
  readonly app: GroupRef;
  /** In the order of the configuration. */
  readonly containers: ContainerGroupRef[];

  constructor(name: string, args: ResourceGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:ResourceGroups', name, {}, opts);
    const problems = checkContainerResourceGroups(args.containerResourceGroups);
    if (problems.length > 0) throw new Error(`ResourceGroups ${name}: ${problems.join('; ')}`);
    if (args.containerResourceGroups.some((g) => g.name.toLowerCase() === args.appResourceGroupName.toLowerCase())) {
      // Tearing down the app would otherwise delete the servers, and the fleet's GC could see the app's resources.
      throw new Error(`ResourceGroups ${name}: the app resource group cannot also hold containers`);
    }

    const app = new resources.ResourceGroup(
      `${name}-app`,
      { resourceGroupName: args.appResourceGroupName, location: args.location, tags: args.tags },
      { parent: this, dependsOn: args.after },
    );
    this.app = { name: app.name, id: app.id };

    this.containers = args.containerResourceGroups.map((g) => {
      if (g.existing) {
        // Looked up rather than adopted: `pulumi destroy` must never delete a group the stack did not create.
        // The lookup also fails the preview early when the group does not exist.
        const found = resources.getResourceGroupOutput({ resourceGroupName: g.name }, { parent: this });
        return { name: g.name, id: found.id };
      }
      const rg = new resources.ResourceGroup(
        `${name}-${g.name}`,
        { resourceGroupName: g.name, location: args.location, tags: args.tags },
        { parent: this, dependsOn: args.after },
      );
      return { name: g.name, id: rg.id };
    });

    this.registerOutputs({
      appResourceGroupName: this.app.name,
      containerResourceGroupNames: this.containers.map((c) => c.name),
    });
  }
}
