// The fleet's own role on its container resource groups: exactly what the runtime does to
// container groups, instead of the built-in Azure Container Instances Contributor (which also
// allows exec into and attach to every container, restart, and more). Assigned to the app's
// identity on each container resource group (access.ts).
import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization';
import { stableGuid } from './names';

/**
 * Each action and who needs it. ACICreate refuses `identity` and `subnetIds` (a 4xx, before any
 * Azure call), so the role needs neither `Microsoft.ManagedIdentity/userAssignedIdentities/assign/action`
 * nor `Microsoft.Network/virtualNetworks/subnets/join/action`.
 */
export const CONTAINER_ROLE_ACTIONS: Readonly<Record<string, string>> = {
  'Microsoft.ContainerInstance/containerGroups/read':
    'ACIDetails, ACIMonitor (re-reads a group on every event), ACIReconcile and ACIGC (list the groups of each resource group)',
  'Microsoft.ContainerInstance/containerGroups/write': 'ACICreate and the autoscaler create servers',
  'Microsoft.ContainerInstance/containerGroups/delete': 'ACIDelete, ACIGC and the autoscaler delete servers',
  'Microsoft.ContainerInstance/containerGroups/containers/logs/read': "ACIDetails shows a container's log",
  'Microsoft.ContainerInstance/containerGroups/operationResults/read': 'the create and delete long-running operations',
};

/** What the role must never allow, whatever is added above: a shell in, or the output of, any server. */
export const FORBIDDEN_CONTAINER_ACTIONS = [
  'Microsoft.ContainerInstance/containerGroups/containers/exec/action',
  'Microsoft.ContainerInstance/containerGroups/containers/attach/action',
] as const;

/** Problems with a list of role actions: wildcards, and exec or attach. Empty when least-privilege. */
export function containerRoleProblems(actions: readonly string[]): string[] {
  const problems: string[] = [];
  for (const action of actions) {
    if (action.includes('*')) problems.push(`${action}: no wildcard`);
    if (FORBIDDEN_CONTAINER_ACTIONS.some((f) => f.toLowerCase() === action.toLowerCase())) problems.push(`${action}: never granted`);
  }
  return problems;
}

/** Role names are unique in the tenant: the fleet and the subscription make it so. */
export function containerRoleName(fleetName: string, subscriptionId: string): string {
  return `aci-fleet container operator (${fleetName}, ${subscriptionId})`;
}

export interface ContainerRoleArgs {
  fleetName: string;
  subscriptionId: pulumi.Input<string>;
  /** The container resource groups: where the role can be assigned. */
  containerResourceGroupIds: pulumi.Input<string>[];
}

export class ContainerRole extends pulumi.ComponentResource {
  /** The full role definition id, for role assignments. */
  readonly roleDefinitionId: pulumi.Output<string>;

  constructor(name: string, args: ContainerRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:ContainerRole', name, {}, opts);
    const actions = Object.keys(CONTAINER_ROLE_ACTIONS);
    const problems = containerRoleProblems(actions);
    if (problems.length > 0) throw new Error(`ContainerRole ${name}: ${problems.join('; ')}`);
    if (args.containerResourceGroupIds.length === 0) throw new Error(`ContainerRole ${name}: no container resource group`);

    const subscription = pulumi.output(args.subscriptionId);
    const role = new authorization.RoleDefinition(
      `${name}-definition`,
      {
        // A GUID of its own, fixed by the fleet and the subscription: lost state finds the same role.
        roleDefinitionId: subscription.apply((sub) => stableGuid('container-role', sub, args.fleetName)),
        scope: pulumi.interpolate`/subscriptions/${subscription}`,
        roleName: subscription.apply((sub) => containerRoleName(args.fleetName, sub)),
        description: `aci-fleet ${args.fleetName}: create, read, delete and list container groups, and read their logs. No exec, no attach.`,
        roleType: 'CustomRole',
        permissions: [{ actions, notActions: [], dataActions: [], notDataActions: [] }],
        assignableScopes: args.containerResourceGroupIds,
      },
      { parent: this },
    );
    this.roleDefinitionId = role.id;
    this.registerOutputs({ roleDefinitionId: this.roleDefinitionId });
  }
}
