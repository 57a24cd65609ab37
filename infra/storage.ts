// The fleet's storage account: Functions host storage, the deployment package, the servers, demand
// and fleets tables, the autoscaler's state and Event Grid's dead letters. No key can be used against it.
import * as pulumi from '@pulumi/pulumi';
import * as storage from '@pulumi/azure-native/storage';

/** Blob containers the stack creates, by purpose. */
export const BLOB_CONTAINERS = {
  /** Flex Consumption reads the app's package from here (One Deploy writes it). */
  deployment: 'app-package',
  /** The autoscaler's lease, last actions and recent creates (the runtime's AUTOSCALER_STATE_CONTAINER). */
  autoscalerState: 'autoscaler-state',
  /** Events Event Grid could not deliver to ACIMonitor. */
  deadLetters: 'eventgrid-deadletters',
} as const;

export interface FleetStorageArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  /** 3-24 lowercase letters and digits, globally unique; see {@link storageAccountName}. */
  accountName: pulumi.Input<string>;
  /** One row per server (FLEET_TABLE_NAME). */
  tableName: string;
  /** Recent allocation misses, the autoscaler's demand signal (FLEET_DEMAND_TABLE_NAME). */
  demandTableName: string;
  /** One row per fleet, with its revisions and rollout (FLEET_FLEETS_TABLE_NAME). */
  fleetsTableName: string;
  tags?: Record<string, string>;
}

const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;

/**
 * A storage account name from the fleet name and a random suffix: only lowercase letters and digits
 * are allowed, at most 24, and it must be unique across Azure (hence the suffix).
 */
export function storageAccountName(fleetName: string, suffix: string): string {
  const stem = `st${fleetName.toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 24 - suffix.length);
  const name = `${stem}${suffix}`;
  if (!/^[a-z0-9]{3,24}$/.test(name)) throw new Error(`cannot derive a storage account name from "${fleetName}"`);
  return name;
}

export class FleetStorage extends pulumi.ComponentResource {
  readonly accountName: pulumi.Output<string>;
  readonly accountId: pulumi.Output<string>;
  readonly blobEndpoint: pulumi.Output<string>;
  readonly queueEndpoint: pulumi.Output<string>;
  readonly tableEndpoint: pulumi.Output<string>;
  readonly tableName: pulumi.Output<string>;
  readonly demandTableName: pulumi.Output<string>;
  readonly fleetsTableName: pulumi.Output<string>;
  /** The table service (`<account id>/tableServices/default`): the scope of the app's table role. */
  readonly tableServiceId: pulumi.Output<string>;
  /** Container name by purpose. */
  readonly containers: { deployment: pulumi.Output<string>; autoscalerState: pulumi.Output<string>; deadLetters: pulumi.Output<string> };
  /** `https://<account>.blob.core.windows.net/app-package`, where Flex Consumption reads the package. */
  readonly deploymentContainerUrl: pulumi.Output<string>;

  constructor(name: string, args: FleetStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:FleetStorage', name, {}, opts);
    const tables = [args.tableName, args.demandTableName, args.fleetsTableName];
    for (const table of tables) {
      if (!TABLE_NAME.test(table)) throw new Error(`FleetStorage ${name}: invalid table name "${table}"`);
    }
    // Table names are case-insensitive.
    const twice = tables.find((t, i) => tables.findIndex((u) => u.toLowerCase() === t.toLowerCase()) !== i);
    if (twice) throw new Error(`FleetStorage ${name}: the servers, demand and fleets tables must differ, got "${twice}" twice`);

    const account = new storage.StorageAccount(
      `${name}-account`,
      {
        accountName: args.accountName,
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        kind: 'StorageV2',
        sku: { name: 'Standard_LRS' },
        // Keyless: the app, Event Grid and the deployer all authenticate with Entra ID.
        allowSharedKeyAccess: false,
        defaultToOAuthAuthentication: true,
        allowBlobPublicAccess: false,
        allowCrossTenantReplication: false,
        minimumTlsVersion: 'TLS1_2',
        enableHttpsTrafficOnly: true,
        // Stated, not left to a default an organisation's policy may flip: the Flex deployment service
        // and the app (no virtual network) reach the account over its public endpoint, with Entra
        // tokens only. Disabled, every deployment fails with BlobUploadFailedException 403.
        publicNetworkAccess: 'Enabled',
        tags: args.tags,
      },
      { parent: this },
    );

    const container = (purpose: keyof typeof BLOB_CONTAINERS) =>
      new storage.BlobContainer(
        `${name}-${BLOB_CONTAINERS[purpose]}`,
        {
          accountName: account.name,
          resourceGroupName: args.resourceGroupName,
          containerName: BLOB_CONTAINERS[purpose],
          publicAccess: 'None',
        },
        { parent: this },
      );
    const deployment = container('deployment');
    const autoscalerState = container('autoscalerState');
    const deadLetters = container('deadLetters');

    // Created by the stack, so the runtime finds them on its first start and never has to create them.
    const table = new storage.Table(
      `${name}-table`,
      { accountName: account.name, resourceGroupName: args.resourceGroupName, tableName: args.tableName },
      { parent: this },
    );
    const demandTable = new storage.Table(
      `${name}-demand-table`,
      { accountName: account.name, resourceGroupName: args.resourceGroupName, tableName: args.demandTableName },
      { parent: this },
    );
    const fleetsTable = new storage.Table(
      `${name}-fleets-table`,
      { accountName: account.name, resourceGroupName: args.resourceGroupName, tableName: args.fleetsTableName },
      { parent: this },
    );

    this.accountName = account.name;
    this.accountId = account.id;
    this.blobEndpoint = account.primaryEndpoints.blob;
    this.queueEndpoint = account.primaryEndpoints.queue;
    this.tableEndpoint = account.primaryEndpoints.table;
    this.tableName = table.name;
    this.demandTableName = demandTable.name;
    this.fleetsTableName = fleetsTable.name;
    this.tableServiceId = pulumi.interpolate`${account.id}/tableServices/default`;
    this.containers = { deployment: deployment.name, autoscalerState: autoscalerState.name, deadLetters: deadLetters.name };
    this.deploymentContainerUrl = pulumi.interpolate`${withoutTrailingSlash(account.primaryEndpoints.blob)}/${deployment.name}`;

    this.registerOutputs({
      accountName: this.accountName,
      tableName: this.tableName,
      demandTableName: this.demandTableName,
      fleetsTableName: this.fleetsTableName,
    });
  }
}

/** ARM returns endpoints with a trailing slash (`https://x.blob.core.windows.net/`). */
export function withoutTrailingSlash(url: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.output(url).apply((u) => u.replace(/\/+$/, ''));
}
