// ContainerGroups on Azure Resource Manager through @azure/arm-containerinstance.
import type { ContainerGroup, ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { RestError } from '@azure/core-rest-pipeline';
import { truncate } from '../domain/core/text';
import { FleetError } from '../domain/core/errors';
import { redactSecrets } from '../domain/core/secrets';
import { containerGroupOf } from '../domain/servers/armEvents';
import { isOwnedBy } from '../domain/servers/lifecycle';
import type { ContainerGroupObservation, ContainerGroups } from '../domain/servers/ports';
import type { ContainerGroupSpec } from '../domain/servers/requests';
import { describeKey, type ServerKey } from '../domain/servers/server';

export class ArmContainerGroups implements ContainerGroups {
  constructor(private readonly client: ContainerInstanceManagementClient) {}

  async get(key: ServerKey): Promise<ContainerGroupObservation | undefined> {
    const group = await this.read(key);
    return group && observe(key, group);
  }

  async describe(key: ServerKey): Promise<Record<string, unknown> | undefined> {
    const group = await this.read(key);
    return group && redact(group);
  }

  async beginCreate(key: ServerKey, spec: ContainerGroupSpec): Promise<void> {
    try {
      // Only the initial PUT is awaited; the group provisions on its own and Event Grid tells us when.
      await this.client.containerGroups.beginCreateOrUpdate(key.resourceGroup, key.containerGroupName, spec as ContainerGroup);
    } catch (e) {
      throw armError(e, `creating ${describeKey(key)}`);
    }
  }

  async beginDelete(key: ServerKey): Promise<void> {
    try {
      await this.client.containerGroups.beginDelete(key.resourceGroup, key.containerGroupName);
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return;
      throw armError(e, `deleting ${describeKey(key)}`);
    }
  }

  async logs(key: ServerKey, containerName: string, tail?: number): Promise<string> {
    try {
      const logs = await this.client.containers.listLogs(key.resourceGroup, key.containerGroupName, containerName, { tail });
      return logs.content ?? '';
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) {
        throw new FleetError('NotFound', `${describeKey(key)} has no container '${containerName}'.`, { containerName });
      }
      throw armError(e, `reading logs of ${describeKey(key)}`);
    }
  }

  async listOwned(fleetName: string, resourceGroups: readonly string[]): Promise<ContainerGroupObservation[]> {
    const owned: ContainerGroupObservation[] = [];
    const collect = async (pages: AsyncIterable<ContainerGroup>) => {
      // The iterator follows nextLink, so every page is read.
      for await (const group of pages) {
        if (!isOwnedBy(group.tags, fleetName)) continue; // never even look at a group that is not ours
        const key = containerGroupOf({ subject: group.id });
        if (key) owned.push(observe(key, group));
      }
    };
    try {
      // Per resource group when the fleet has a list: its identity may read only those.
      if (resourceGroups.length === 0) await collect(this.client.containerGroups.list());
      for (const rg of resourceGroups) {
        try {
          await collect(this.client.containerGroups.listByResourceGroup(rg));
        } catch (e) {
          if (!(e instanceof RestError && e.statusCode === 404)) throw e; // a resource group that does not exist holds nothing
        }
      }
    } catch (e) {
      throw armError(e, 'listing the container groups');
    }
    return owned;
  }

  private async read(key: ServerKey): Promise<ContainerGroup | undefined> {
    try {
      return await this.client.containerGroups.get(key.resourceGroup, key.containerGroupName);
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return undefined;
      throw armError(e, `reading ${describeKey(key)}`);
    }
  }
}

function observe(key: ServerKey, g: ContainerGroup): ContainerGroupObservation {
  return {
    ...key,
    id: g.id ?? '',
    location: g.location ?? '',
    provisioningState: g.provisioningState ?? 'Unknown',
    instanceState: g.instanceView?.state,
    publicIp: g.ipAddress?.ip,
    fqdn: g.ipAddress?.fqdn,
    tags: g.tags ?? {},
    failureMessage: truncate(failureMessage(g), MAX_FAILURE_MESSAGE_CHARS),
    image: g.containers?.[0]?.image,
    cpu: total((g.containers ?? []).map((c) => c.resources?.requests?.cpu ?? 0)),
    ramGb: total((g.containers ?? []).map((c) => c.resources?.requests?.memoryInGB ?? 0)),
  };
}

const total = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) * 100) / 100;

/** ARM's messages go into the server's row (FailureReason): cut so that a long one cannot overflow a table property. */
const MAX_FAILURE_MESSAGE_CHARS = 2000;

/**
 * The most telling message ARM gives: a warning (image pull failed…), else the group's last event
 * (a failed mount is a Normal one), else how a container ended, else the last container event.
 */
function failureMessage(g: ContainerGroup): string | undefined {
  const containerEvents = (g.containers ?? []).flatMap((c) => c.instanceView?.events ?? []);
  const groupEvents = g.instanceView?.events ?? [];
  const warning = [...containerEvents, ...groupEvents].find((e) => e.type === 'Warning' || e.type === 'Error');
  if (warning?.message) return warning.message;
  if (groupEvents.at(-1)?.message) return groupEvents.at(-1)!.message;
  const ended = (g.containers ?? []).find((c) => c.instanceView?.currentState?.state === 'Terminated');
  const end = ended?.instanceView?.currentState;
  if (ended && end)
    return `container '${ended.name}' terminated with exit code ${end.exitCode}${end.detailStatus ? ` (${end.detailStatus})` : ''}`;
  return containerEvents.at(-1)?.message ?? undefined;
}

/** ACIDetails' copy of a group: every secret redacted (../domain/core/secrets.ts, the list the fleets API uses too). */
export const redact = (group: ContainerGroup): Record<string, unknown> => redactSecrets(group) as unknown as Record<string, unknown>;

/**
 * ACI's answer (400) to a create beyond the subscription's quota in the region ("container group
 * quota 'StandardCores' exceeded in region …"): the quota frees as servers are deleted.
 */
const ARM_QUOTA_CODE = 'ContainerGroupQuotaReached';
/** ACI's answer (409) when the region is short of the requested CPU and memory "at this moment": it asks for a retry. */
const ARM_CAPACITY_CODE = 'ServiceUnavailable';
const CAPACITY_RETRY_SECONDS = 60;

/** ARM failures: the caller's mistake becomes a 4xx with ARM's own words, anything else a 503. */
function armError(e: unknown, doing: string): unknown {
  if (!(e instanceof RestError)) {
    return e instanceof FleetError
      ? e
      : new FleetError('AzureUnavailable', `Azure did not answer while ${doing}: ${(e as Error).message}`, undefined, 5);
  }
  const status = e.statusCode ?? 0;
  const details = { armCode: e.code, armStatus: status };
  // Neither is the request's fault: the region has no room for it now (see ARM_QUOTA_CODE, ARM_CAPACITY_CODE).
  if (e.code === ARM_QUOTA_CODE)
    return new FleetError(
      'AzureQuotaReached',
      `Azure's quota for container groups is used up, so ${doing} was refused: ${e.message}`,
      details,
    );
  if (status === 409 && e.code === ARM_CAPACITY_CODE) {
    return new FleetError('AzureUnavailable', `Azure has no capacity for ${doing} now: ${e.message}`, details, CAPACITY_RETRY_SECONDS);
  }
  if (status === 409) return new FleetError('Conflict', `Azure refused ${doing}: ${e.message}`, details);
  if (status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 408 && status !== 429) {
    return new FleetError('AzureRequestRejected', `Azure rejected ${doing}: ${e.message}`, details);
  }
  return new FleetError('AzureUnavailable', `Azure could not complete ${doing} (${status || 'no answer'}): ${e.message}`, details, 5);
}
