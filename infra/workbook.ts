// The fleet's Azure Monitor workbook, as code: servers by state, sessions against capacity over
// time, allocation misses and autoscaler actions, each a query of Application Insights.
import * as pulumi from '@pulumi/pulumi';
import * as applicationinsights from '@pulumi/azure-native/applicationinsights';
import { SCALED_EVENT } from '../runtime/src/domain/fleets/controller';
import { TELEMETRY, query } from './kql';
import { stableGuid } from './names';

export interface WorkbookPanel {
  title: string;
  query: string;
  visualization: 'timechart' | 'barchart' | 'table';
}

export const WORKBOOK_PANELS: readonly WorkbookPanel[] = [
  {
    title: 'Servers by state',
    visualization: 'timechart',
    query: query(
      [TELEMETRY],
      `telemetry
| where t.kind == "metric" and t.name == "Servers"
| summarize servers = max(todouble(t.value)) by state = tostring(t.state), bin(timestamp, 5m)`,
    ),
  },
  {
    title: 'Sessions against capacity (Running servers)',
    visualization: 'timechart',
    // Per location each minute, then summed over locations: active sessions against the slots there are.
    query: query(
      [TELEMETRY],
      `telemetry
| where t.kind == "metric" and t.name in ("ActiveSessions", "MaxSessions")
| summarize value = max(todouble(t.value)) by name = tostring(t.name), location = tostring(t.location), bin(timestamp, 1m)
| summarize value = sum(value) by name, bin(timestamp, 5m)`,
    ),
  },
  {
    title: 'Allocation misses (ACIAllocate answered NoCapacity)',
    visualization: 'timechart',
    query: query(
      [TELEMETRY],
      `let misses = telemetry
  | where t.name == "HttpError" and tostring(t["function"]) == "ACIAllocate" and tostring(t.code) == "NoCapacity"
  | summarize value = count() by series = "misses", bin(timestamp, 5m);
let allocations = requests
  | where name == "ACIAllocate"
  | summarize value = sum(itemCount) by series = "allocation calls", bin(timestamp, 5m);
union misses, allocations`,
    ),
  },
  {
    title: 'Autoscaler actions (servers scaled out and in)',
    visualization: 'barchart',
    query: query(
      [TELEMETRY],
      `telemetry
| where t.kind == "event" and t.name == "${SCALED_EVENT}"
| summarize servers = sum(toint(t.servers)) by direction = tostring(t.direction), bin(timestamp, 15m)`,
    ),
  },
  {
    title: 'Last autoscaler actions',
    visualization: 'table',
    query: query(
      [TELEMETRY],
      `telemetry
| where t.kind == "event" and t.name == "${SCALED_EVENT}"
| project timestamp, direction = tostring(t.direction), servers = toint(t.servers), created = toint(t.created), restored = toint(t.restored), reason = tostring(t.reason)
| top 50 by timestamp desc`,
    ),
  },
];

/** The workbook's `serializedData`: a Notebook/1.0 document of one text item and one query item per panel. */
export function workbookContent(fleetName: string, appInsightsId: string): string {
  return JSON.stringify({
    version: 'Notebook/1.0',
    items: [
      {
        type: 1,
        name: 'title',
        content: {
          json: `# ${fleetName}\nServers, sessions, allocation misses and the autoscaler. Alerts and what to do: docs/deploy.md.`,
        },
      },
      ...WORKBOOK_PANELS.map((panel, i) => ({
        type: 3,
        name: `panel-${i}`,
        content: {
          version: 'KqlItem/1.0',
          title: panel.title,
          query: panel.query,
          size: 0,
          timeContext: { durationMs: 86_400_000 },
          queryType: 0,
          resourceType: 'microsoft.insights/components',
          visualization: panel.visualization,
        },
      })),
    ],
    fallbackResourceIds: [appInsightsId],
    $schema: 'https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json',
  });
}

export interface FleetWorkbookArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  fleetName: string;
  appInsightsId: pulumi.Input<string>;
  tags?: Record<string, string>;
}

export class FleetWorkbook extends pulumi.ComponentResource {
  readonly workbookId: pulumi.Output<string>;

  constructor(name: string, args: FleetWorkbookArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:FleetWorkbook', name, {}, opts);
    const source = pulumi.output(args.appInsightsId).apply((id) => id.toLowerCase());
    const workbook = new applicationinsights.Workbook(
      `${name}-workbook`,
      {
        // A workbook's name is a GUID: one of its own per Application Insights, so lost state finds it again.
        resourceName: source.apply((id) => stableGuid('workbook', id)),
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        kind: 'shared',
        category: 'workbook',
        displayName: `aci-fleet ${args.fleetName}`,
        sourceId: source,
        serializedData: source.apply((id) => workbookContent(args.fleetName, id)),
        tags: args.tags,
      },
      { parent: this },
    );
    this.workbookId = workbook.id;
    this.registerOutputs({});
  }
}
