// What the app's managed identity may do, and nothing more: manage container groups in the
// fleet's resource groups, use the storage account's data, and publish telemetry.
import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization';
import { ROLES, BROAD_ROLES, roleDefinitionId } from './invariants';

export interface RoleGrant<Scope> {
  /** Stable part of the resource's logical name. */
  key: string;
  /** Role definition GUID. */
  role: string;
  /** Why the app needs it (becomes the assignment's description). */
  reason: string;
  scope: Scope;
}

export interface AppScopes<Scope> {
  storageAccount: Scope;
  /** `<storage account id>/tableServices/default`. */
  tableService: Scope;
  appInsights: Scope;
  containerResourceGroups: ReadonlyArray<{ name: string; id: Scope }>;
}

/** The app's role assignments: least privilege, one per need. */
export function appRoleGrants<Scope>(scopes: AppScopes<Scope>): RoleGrant<Scope>[] {
  return [
    {
      // The account, not one container: the host creates containers of its own (azure-webjobs-*).
      // It covers the autoscaler's lease container too, which the runtime may also try to create.
      key: 'blob-data-owner',
      role: ROLES.storageBlobDataOwner,
      reason: "Functions host storage (leases, timers), the Flex deployment package and the autoscaler's lease",
      scope: scopes.storageAccount,
    },
    {
      key: 'queue-data-contributor',
      role: ROLES.storageQueueDataContributor,
      reason: 'Functions host storage queues',
      scope: scopes.storageAccount,
    },
    {
      // The table service rather than one assignment per table: besides the fleet and demand tables,
      // the Functions host writes its diagnostic events to tables it names and creates itself, with
      // this same identity (AzureWebJobsStorage__tableServiceUri). Nothing narrower works; and as
      // the role holds table permissions only, this grants what the account scope did, said exactly.
      key: 'table-data-contributor',
      role: ROLES.storageTableDataContributor,
      reason: 'The fleet table (one row per server), the demand table (allocation misses) and host diagnostics',
      scope: scopes.tableService,
    },
    {
      key: 'metrics-publisher',
      role: ROLES.monitoringMetricsPublisher,
      reason: 'Entra-authenticated telemetry to Application Insights (local auth is off)',
      scope: scopes.appInsights,
    },
    ...scopes.containerResourceGroups.map((g) => ({
      key: `aci-${g.name.toLowerCase()}`,
      role: ROLES.containerInstancesContributor,
      reason: `Create, read and delete container groups in ${g.name}`,
      scope: g.id,
    })),
  ];
}

export interface AppAccessArgs {
  /** The app's system-assigned identity. */
  principalId: pulumi.Input<string>;
  subscriptionId: pulumi.Input<string>;
  scopes: AppScopes<pulumi.Input<string>>;
}

export class AppAccess extends pulumi.ComponentResource {
  readonly assignments: authorization.RoleAssignment[];

  constructor(name: string, args: AppAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:AppAccess', name, {}, opts);
    if (args.scopes.containerResourceGroups.length === 0) {
      throw new Error(`AppAccess ${name}: at least one container resource group is required`);
    }
    const grants = appRoleGrants(args.scopes);
    for (const g of grants) {
      if (g.role in BROAD_ROLES) throw new Error(`AppAccess ${name}: refusing broad role ${BROAD_ROLES[g.role]}`);
    }

    this.assignments = grants.map(
      (g) =>
        new authorization.RoleAssignment(
          `${name}-${g.key}`,
          {
            principalId: args.principalId,
            // Set explicitly: a just-created identity may not have replicated yet, and ARM would
            // otherwise fail to look up its type.
            principalType: 'ServicePrincipal',
            roleDefinitionId: pulumi.output(args.subscriptionId).apply((sub) => roleDefinitionId(sub, g.role)),
            scope: g.scope,
            description: `aci-fleet: ${g.reason}`,
          },
          { parent: this },
        ),
    );
    this.registerOutputs({});
  }
}
