// Alert rules, as code: log search alerts on Application Insights for servers turning Failed, the
// ACIAllocate NoCapacity rate, creates ACI's quota refuses and function errors, a metric alert per Event Grid system topic for
// dead-lettered deliveries, and, when the stack names an e-mail address, an action group that
// mails it. What each alert means and what to do about it: docs/deploy.md ("Alerts").
import * as pulumi from '@pulumi/pulumi';
import * as monitor from '@pulumi/azure-native/monitor';
import { LIFECYCLE_EVENT } from '../runtime/src/domain/servers/lifecycle';
import { TELEMETRY, query } from './kql';

export interface LogAlert {
  /** Part of the rule's name: `<fleetName>-<key>`. */
  key: string;
  title: string;
  /** 0 (critical) to 4 (verbose). */
  severity: 0 | 1 | 2 | 3 | 4;
  query: string;
  /** The query's result column compared with the threshold. */
  measure: string;
  operator: 'GreaterThan' | 'GreaterThanOrEqual';
  threshold: number;
  /** ISO 8601 durations. */
  windowSize: string;
  evaluationFrequency: string;
}

/** Allocation requests in a window below which the miss rate says nothing. */
export const MIN_ALLOCATIONS = 20;
/** Percent of ACIAllocate calls answered NoCapacity that raises the alert. */
export const NO_CAPACITY_PERCENT = 10;
/** Function errors in a window that raise the alert. */
export const FUNCTION_ERRORS = 5;

export const LOG_ALERTS: readonly LogAlert[] = [
  {
    key: 'servers-failed',
    title: 'Servers turned Failed',
    severity: 2,
    // Every step of a server's life is a ServerLifecycle event, sent by whichever function made it.
    query: query(
      [TELEMETRY],
      `telemetry
| where t.kind == "event" and t.name == "${LIFECYCLE_EVENT}" and tostring(t.event) == "failed"
| summarize newlyFailed = count()`,
    ),
    measure: 'newlyFailed',
    operator: 'GreaterThan',
    threshold: 0,
    windowSize: 'PT15M',
    evaluationFrequency: 'PT5M',
  },
  {
    key: 'no-capacity',
    title: `ACIAllocate answers NoCapacity to more than ${NO_CAPACITY_PERCENT}% of calls`,
    severity: 2,
    query: query(
      [TELEMETRY],
      `let allocations = toscalar(requests | where name == "ACIAllocate" | summarize sum(itemCount));
let misses = toscalar(telemetry
  | where t.name == "HttpError" and tostring(t["function"]) == "ACIAllocate" and tostring(t.code) == "NoCapacity"
  | summarize count());
print allocations = coalesce(allocations, 0), misses = coalesce(misses, 0)
| extend missPercent = iff(allocations < ${MIN_ALLOCATIONS}, 0.0, 100.0 * misses / allocations)`,
    ),
    measure: 'missPercent',
    operator: 'GreaterThan',
    threshold: NO_CAPACITY_PERCENT,
    windowSize: 'PT15M',
    evaluationFrequency: 'PT5M',
  },
  {
    key: 'aci-quota',
    title: "ACI's quota in a fleet's region refuses creates",
    severity: 2,
    // The fleet controller's runs that ACI's quota held back, and ACICreate calls it refused.
    query: query(
      [TELEMETRY],
      `telemetry
| where t.name == "FleetQuotaReached" or (t.name == "HttpError" and tostring(t.code) == "AzureQuotaReached")
| summarize refused = count()`,
    ),
    measure: 'refused',
    operator: 'GreaterThan',
    threshold: 0,
    windowSize: 'PT15M',
    evaluationFrequency: 'PT5M',
  },
  {
    key: 'function-errors',
    title: 'Functions fail',
    severity: 1,
    // Unhandled exceptions (timers, Event Grid) and 5xx answers other than NoCapacity (HTTP functions map errors themselves).
    query: query(
      [TELEMETRY],
      `union
  (exceptions | summarize n = sum(itemCount)),
  (telemetry | where t.name == "HttpError" and toint(t.status) >= 500 and tostring(t.code) != "NoCapacity" | summarize n = count())
| summarize errors = sum(n)`,
    ),
    measure: 'errors',
    operator: 'GreaterThanOrEqual',
    threshold: FUNCTION_ERRORS,
    windowSize: 'PT15M',
    evaluationFrequency: 'PT5M',
  },
];

/** The Event Grid system topic metric of events given up on and written to the dead-letter container. */
export const DEAD_LETTER_METRIC = { namespace: 'Microsoft.EventGrid/systemTopics', name: 'DeadLetteredCount' } as const;

/** Action group short names are at most 12 characters. */
export function actionGroupShortName(fleetName: string): string {
  return fleetName.replace(/[^A-Za-z0-9-]/g, '').slice(0, 12);
}

export interface FleetAlertsArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  fleetName: string;
  appInsightsId: pulumi.Input<string>;
  /** The container resource groups' system topics: each gets a dead-letter alert. */
  topics: ReadonlyArray<{ name: string; id: pulumi.Input<string> }>;
  /** Mailed when an alert fires, if set. */
  email?: string;
  tags?: Record<string, string>;
}

export class FleetAlerts extends pulumi.ComponentResource {
  readonly actionGroupId: pulumi.Output<string | undefined>;
  readonly ruleNames: string[] = [];

  constructor(name: string, args: FleetAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:FleetAlerts', name, {}, opts);
    const group = args.email
      ? new monitor.ActionGroup(
          `${name}-email`,
          {
            actionGroupName: `ag-${args.fleetName}`,
            resourceGroupName: args.resourceGroupName,
            location: 'global',
            groupShortName: actionGroupShortName(args.fleetName),
            enabled: true,
            emailReceivers: [{ name: 'operators', emailAddress: args.email, useCommonAlertSchema: true }],
            tags: args.tags,
          },
          { parent: this },
        )
      : undefined;
    const actionGroups = group ? [group.id] : [];

    for (const alert of LOG_ALERTS) {
      const ruleName = `${args.fleetName}-${alert.key}`;
      this.ruleNames.push(ruleName);
      new monitor.ScheduledQueryRule(
        `${name}-${alert.key}`,
        {
          ruleName,
          resourceGroupName: args.resourceGroupName,
          location: args.location,
          displayName: `${args.fleetName}: ${alert.title}`,
          description: `aci-fleet: ${alert.title}. What to do: docs/deploy.md, "Alerts".`,
          kind: 'LogAlert',
          enabled: true,
          severity: alert.severity,
          scopes: [args.appInsightsId],
          evaluationFrequency: alert.evaluationFrequency,
          windowSize: alert.windowSize,
          criteria: {
            allOf: [
              {
                query: alert.query,
                timeAggregation: 'Maximum',
                metricMeasureColumn: alert.measure,
                operator: alert.operator,
                threshold: alert.threshold,
                failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 },
              },
            ],
          },
          autoMitigate: true,
          actions: { actionGroups },
          tags: args.tags,
        },
        { parent: this },
      );
    }

    for (const topic of args.topics) {
      const ruleName = `${args.fleetName}-dead-letters-${topic.name.toLowerCase()}`;
      this.ruleNames.push(ruleName);
      new monitor.MetricAlert(
        `${name}-dead-letters-${topic.name.toLowerCase()}`,
        {
          ruleName,
          resourceGroupName: args.resourceGroupName,
          location: 'global',
          description: `aci-fleet: container-group events for ${topic.name} were dead-lettered (ACIMonitor did not take them). What to do: docs/deploy.md, "Alerts".`,
          enabled: true,
          severity: 2,
          scopes: [topic.id],
          evaluationFrequency: 'PT5M',
          windowSize: 'PT15M',
          criteria: {
            odataType: 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria',
            allOf: [
              {
                criterionType: 'StaticThresholdCriterion',
                name: 'dead-lettered',
                metricNamespace: DEAD_LETTER_METRIC.namespace,
                metricName: DEAD_LETTER_METRIC.name,
                operator: 'GreaterThan',
                threshold: 0,
                timeAggregation: 'Total',
              },
            ],
          },
          autoMitigate: true,
          actions: actionGroups.map((actionGroupId) => ({ actionGroupId })),
          tags: args.tags,
        },
        { parent: this },
      );
    }

    this.actionGroupId = group ? group.id : pulumi.output(undefined);
    this.registerOutputs({});
  }
}
