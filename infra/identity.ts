// The app's user-assigned managed identity. It exists before the app does, so its roles are
// granted (and propagating) before the app starts: the app reads its package, host storage,
// tables, telemetry and Key Vault secrets with it from its first second, never without them.
import * as pulumi from '@pulumi/pulumi';
import * as managedidentity from '@pulumi/azure-native/managedidentity';

export interface AppIdentityArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  fleetName: string;
  tags?: Record<string, string>;
}

export class AppIdentity extends pulumi.ComponentResource {
  /** ARM id: what the app, its deployment storage and its Key Vault references name. */
  readonly id: pulumi.Output<string>;
  /** What role assignments name. */
  readonly principalId: pulumi.Output<string>;
  /** What the app's SDKs ask a token for (`AzureWebJobsStorage__clientId`, `AZURE_CLIENT_ID`). */
  readonly clientId: pulumi.Output<string>;

  constructor(name: string, args: AppIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:AppIdentity', name, {}, opts);
    const identity = new managedidentity.UserAssignedIdentity(
      `${name}-app`,
      { resourceName: `id-${args.fleetName}`, resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags },
      { parent: this },
    );
    this.id = identity.id;
    this.principalId = identity.principalId;
    this.clientId = identity.clientId;
    this.registerOutputs({ clientId: this.clientId });
  }
}
