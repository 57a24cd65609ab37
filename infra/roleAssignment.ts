// Every role assignment the stack makes goes through here: a deterministic name (so lost state
// or a re-run adopts the same assignment rather than failing with RoleAssignmentExists), the
// principal's type stated, and a replacement that deletes first (Azure refuses a second
// assignment of the same role to the same principal at the same scope).
import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization';
import { roleAssignmentName } from './names';

export interface RoleAssignmentInputs {
  /** A managed identity's principal (object) id. */
  principalId: pulumi.Input<string>;
  /** The full role definition id (`/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<guid>`). */
  roleDefinitionId: pulumi.Input<string>;
  scope: pulumi.Input<string>;
  /** Why the principal needs it; becomes the assignment's description after `aci-fleet: `. */
  reason: string;
}

export function assignRole(name: string, args: RoleAssignmentInputs, opts: pulumi.CustomResourceOptions): authorization.RoleAssignment {
  return new authorization.RoleAssignment(
    name,
    {
      roleAssignmentName: pulumi
        .all([args.scope, args.principalId, args.roleDefinitionId])
        .apply(([scope, principal, role]) => roleAssignmentName(scope, principal, role)),
      principalId: args.principalId,
      // Stated, not looked up: a just-created identity may not have replicated to ARM yet.
      principalType: 'ServicePrincipal',
      roleDefinitionId: args.roleDefinitionId,
      scope: args.scope,
      description: `aci-fleet: ${args.reason}`,
    },
    { deleteBeforeReplace: true, ...opts },
  );
}
