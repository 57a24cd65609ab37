// What the app's identity may do, and nothing more: manage container groups in the fleet's
// resource groups (with the fleet's own least-privilege role), use the storage account's data,
// publish telemetry and read the report-token secrets. Granted to the user-assigned identity
// before the app exists, so the app never runs without them.
import * as pulumi from '@pulumi/pulumi';
import type * as authorization from '@pulumi/azure-native/authorization';
import { ROLES, BROAD_ROLES, roleDefinitionId } from './invariants';
import { assignRole } from './roleAssignment';

export interface RoleGrant<Id> {
  /** Stable part of the resource's logical name. */
  key: string;
  /** The role definition. */
  role: Id;
  /** Why the app needs it (becomes the assignment's description). */
  reason: string;
  scope: Id;
}

export interface AppScopes<Id> {
  storageAccount: Id;
  /** `<storage account id>/tableServices/default`. */
  tableService: Id;
  appInsights: Id;
  keyVault: Id;
  containerResourceGroups: ReadonlyArray<{ name: string; id: Id }>;
}

export interface AppRoles<Id> {
  /** A built-in role's definition, from its GUID. */
  builtIn: (guid: string) => Id;
  /** The fleet's own container role (containerRole.ts). */
  containerRole: Id;
}

/** The app's role assignments: least privilege, one per need. */
export function appRoleGrants<Id>(scopes: AppScopes<Id>, roles: AppRoles<Id>): RoleGrant<Id>[] {
  return [
    {
      // The account, not one container: the host creates containers of its own (azure-webjobs-*).
      // It covers the deployment package and the autoscaler's lease container too.
      key: 'blob-data-owner',
      role: roles.builtIn(ROLES.storageBlobDataOwner),
      reason: "Functions host storage (leases, timers), the Flex deployment package and the autoscaler's lease",
      scope: scopes.storageAccount,
    },
    {
      key: 'queue-data-contributor',
      role: roles.builtIn(ROLES.storageQueueDataContributor),
      reason: 'Functions host storage queues',
      scope: scopes.storageAccount,
    },
    {
      // The table service rather than one assignment per table: besides the fleet and demand tables,
      // the Functions host writes its diagnostic events to tables it names and creates itself, with
      // this same identity (AzureWebJobsStorage__tableServiceUri). Nothing narrower works; and as
      // the role holds table permissions only, this grants what the account scope did, said exactly.
      key: 'table-data-contributor',
      role: roles.builtIn(ROLES.storageTableDataContributor),
      reason: 'The fleet table (one row per server), the demand table (allocation misses) and host diagnostics',
      scope: scopes.tableService,
    },
    {
      key: 'metrics-publisher',
      role: roles.builtIn(ROLES.monitoringMetricsPublisher),
      reason: 'Entra-authenticated telemetry to Application Insights (local auth is off)',
      scope: scopes.appInsights,
    },
    {
      key: 'key-vault-secrets-user',
      role: roles.builtIn(ROLES.keyVaultSecretsUser),
      reason: 'The report-token secrets, read through Key Vault references',
      scope: scopes.keyVault,
    },
    ...scopes.containerResourceGroups.map((g) => ({
      key: `aci-${g.name.toLowerCase()}`,
      role: roles.containerRole,
      reason: `Create, read, list and delete container groups in ${g.name}, and read their logs`,
      scope: g.id,
    })),
  ];
}

export interface AppAccessArgs {
  /** The app's user-assigned identity. */
  principalId: pulumi.Input<string>;
  subscriptionId: pulumi.Input<string>;
  /** The full id of the fleet's container role. */
  containerRoleId: pulumi.Input<string>;
  scopes: AppScopes<pulumi.Input<string>>;
}

export class AppAccess extends pulumi.ComponentResource {
  readonly assignments: authorization.RoleAssignment[];

  constructor(name: string, args: AppAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:AppAccess', name, {}, opts);
    if (args.scopes.containerResourceGroups.length === 0) {
      throw new Error(`AppAccess ${name}: at least one container resource group is required`);
    }
    const builtIn = (guid: string): pulumi.Input<string> => {
      if (guid in BROAD_ROLES) throw new Error(`AppAccess ${name}: refusing broad role ${BROAD_ROLES[guid]}`);
      return pulumi.output(args.subscriptionId).apply((sub) => roleDefinitionId(sub, guid));
    };
    const grants = appRoleGrants(args.scopes, { builtIn, containerRole: args.containerRoleId });

    this.assignments = grants.map((g) =>
      assignRole(
        `${name}-${g.key}`,
        { principalId: args.principalId, roleDefinitionId: g.role, scope: g.scope, reason: g.reason },
        { parent: this },
      ),
    );
    this.registerOutputs({});
  }
}
