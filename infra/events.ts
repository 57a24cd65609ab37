// Container group events: per container resource group, an Event Grid system topic and a
// subscription that delivers container-group writes and deletes to ACIMonitor, retrying, and
// dead-lettering to blob storage with the topic's own identity (the account takes no keys).
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import * as eventgrid from '@pulumi/azure-native/eventgrid';
import { ROLES, roleDefinitionId } from './invariants';
import { assignRole } from './roleAssignment';
import { CONTAINER_GROUP_EVENT_TYPES } from '../runtime/src/domain/servers/armEvents';

export { CONTAINER_GROUP_EVENT_TYPES };

/** Only container groups: the subject of a resource event is the resource id. */
export function containerGroupSubjectPrefix(resourceGroupId: string): string {
  return `${resourceGroupId.replace(/\/+$/, '')}/providers/Microsoft.ContainerInstance/containerGroups`;
}

/**
 * The system topic's Azure name for `key` (`<component>-<group>`): none (Pulumi's autoname, as
 * topics have always been named) when the key is already letters, digits and hyphens, the only
 * characters a system topic's name takes; otherwise those of it, with a hash of the whole, so
 * `rg_1`, `rg.1` and `spiele-münchen` each get a valid name of their own.
 */
export function systemTopicNameFor(key: string): string | undefined {
  if (/^[A-Za-z0-9-]{3,100}$/.test(key)) return undefined;
  const slug = key
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 100);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `${slug}-${hash}-topic`;
}

/** Names are per topic, and each topic has this one subscription. */
export const SUBSCRIPTION_NAME = 'aci-monitor';

export interface ContainerEventsArgs {
  containerResourceGroups: ReadonlyArray<{ name: string; id: pulumi.Input<string> }>;
  subscriptionId: pulumi.Input<string>;
  /** `<app id>/functions/<name>`: must exist, so it comes from the deployment. */
  functionResourceId: pulumi.Input<string>;
  deadLetter: { storageAccountId: pulumi.Input<string>; containerName: pulumi.Input<string> };
  retry: { maxDeliveryAttempts: number; eventTimeToLiveInMinutes: number };
  /** The code deployment: Event Grid refuses a function that is not indexed ("Destination endpoint not found"). */
  deployment: pulumi.Resource;
  /** The resource provider registrations: a topic in an existing group has nothing else to wait for. */
  after?: pulumi.Resource[];
  tags?: Record<string, string>;
}

export class ContainerEvents extends pulumi.ComponentResource {
  readonly subscriptions: eventgrid.SystemTopicEventSubscription[] = [];
  /** Each container resource group's topic, by the group's name. */
  readonly topics: Array<{ name: string; id: pulumi.Output<string> }> = [];

  constructor(name: string, args: ContainerEventsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:ContainerEvents', name, {}, opts);
    if (args.containerResourceGroups.length === 0) throw new Error(`ContainerEvents ${name}: no container resource group`);
    const { maxDeliveryAttempts, eventTimeToLiveInMinutes } = args.retry;
    if (!(maxDeliveryAttempts >= 1 && maxDeliveryAttempts <= 30)) {
      throw new Error(`ContainerEvents ${name}: maxDeliveryAttempts must be 1-30`);
    }
    if (!(eventTimeToLiveInMinutes >= 1 && eventTimeToLiveInMinutes <= 1440)) {
      throw new Error(`ContainerEvents ${name}: eventTimeToLiveInMinutes must be 1-1440`);
    }

    const deadLetterScope = pulumi.interpolate`${args.deadLetter.storageAccountId}/blobServices/default/containers/${args.deadLetter.containerName}`;

    for (const group of args.containerResourceGroups) {
      const key = `${name}-${group.name.toLowerCase()}`;
      // Azure allows one system topic per source; it lives in the group it watches.
      const topic = new eventgrid.SystemTopic(
        `${key}-topic`,
        {
          resourceGroupName: group.name,
          systemTopicName: systemTopicNameFor(key),
          location: 'global',
          source: group.id,
          topicType: 'Microsoft.Resources.ResourceGroups',
          identity: { type: 'SystemAssigned' },
          tags: args.tags,
        },
        { parent: this, dependsOn: args.after },
      );

      // The topic's identity writes dead letters; scoped to the one container it needs.
      const deadLetterWriter = assignRole(
        `${key}-deadletter-writer`,
        {
          principalId: topic.identity.apply((i) => {
            if (!i?.principalId) throw new Error(`ContainerEvents ${name}: system topic for ${group.name} has no identity`);
            return i.principalId;
          }),
          roleDefinitionId: pulumi.output(args.subscriptionId).apply((sub) => roleDefinitionId(sub, ROLES.storageBlobDataContributor)),
          scope: deadLetterScope,
          reason: `Event Grid dead letters for ${group.name}`,
        },
        { parent: this },
      );

      const subscription = new eventgrid.SystemTopicEventSubscription(
        `${key}-to-monitor`,
        {
          resourceGroupName: group.name,
          systemTopicName: topic.name,
          eventSubscriptionName: SUBSCRIPTION_NAME,
          eventDeliverySchema: 'EventGridSchema',
          destination: {
            endpointType: 'AzureFunction',
            resourceId: args.functionResourceId,
            // ACIMonitor handles one event per invocation.
            maxEventsPerBatch: 1,
          },
          filter: {
            includedEventTypes: [...CONTAINER_GROUP_EVENT_TYPES],
            subjectBeginsWith: pulumi.output(group.id).apply(containerGroupSubjectPrefix),
            // ARM does not keep one casing for `resourceGroups` in subjects.
            isSubjectCaseSensitive: false,
          },
          retryPolicy: { maxDeliveryAttempts, eventTimeToLiveInMinutes },
          deadLetterWithResourceIdentity: {
            identity: { type: 'SystemAssigned' },
            deadLetterDestination: {
              endpointType: 'StorageBlob',
              resourceId: args.deadLetter.storageAccountId,
              blobContainerName: args.deadLetter.containerName,
            },
          },
        },
        { parent: this, dependsOn: [args.deployment, deadLetterWriter] },
      );
      this.topics.push({ name: group.name, id: topic.id });
      this.subscriptions.push(subscription);
    }
    this.registerOutputs({});
  }
}
