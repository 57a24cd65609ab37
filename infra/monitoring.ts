// Logs and telemetry: a Log Analytics workspace and a workspace-based Application Insights that
// only accepts Entra-authenticated telemetry (the app publishes with its managed identity).
import * as pulumi from '@pulumi/pulumi';
import * as applicationinsights from '@pulumi/azure-native/applicationinsights';
import * as operationalinsights from '@pulumi/azure-native/operationalinsights';

export interface MonitoringArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  /** Days Log Analytics keeps data (30-730). */
  retentionInDays: number;
  tags?: Record<string, string>;
}

export class Monitoring extends pulumi.ComponentResource {
  readonly workspaceId: pulumi.Output<string>;
  readonly appInsightsId: pulumi.Output<string>;
  readonly appInsightsName: pulumi.Output<string>;
  /** Not a secret: with local auth off, the instrumentation key in it cannot be used to send telemetry. */
  readonly connectionString: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:Monitoring', name, {}, opts);
    if (!Number.isInteger(args.retentionInDays) || args.retentionInDays < 30 || args.retentionInDays > 730) {
      throw new Error(`Monitoring ${name}: retentionInDays must be 30-730, got ${args.retentionInDays}`);
    }

    const workspace = new operationalinsights.Workspace(
      `${name}-logs`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        sku: { name: 'PerGB2018' },
        retentionInDays: args.retentionInDays,
        tags: args.tags,
      },
      { parent: this },
    );

    const insights = new applicationinsights.Component(
      `${name}-insights`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        kind: 'web',
        applicationType: 'web',
        workspaceResourceId: workspace.id,
        ingestionMode: 'LogAnalytics',
        // Entra-only ingestion: the app needs Monitoring Metrics Publisher, and no key can push telemetry.
        disableLocalAuth: true,
        tags: args.tags,
      },
      { parent: this },
    );

    this.workspaceId = workspace.id;
    this.appInsightsId = insights.id;
    this.appInsightsName = insights.name;
    this.connectionString = insights.connectionString;
    this.registerOutputs({ appInsightsName: this.appInsightsName });
  }
}
