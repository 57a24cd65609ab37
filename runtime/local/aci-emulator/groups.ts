// What ACI does with container group requests: PUT/GET/DELETE/list/logs as ARM answers them,
// provisioning that ends Running or Failed after a delay, and the Event Grid event each end sends.
import { randomUUID } from 'node:crypto';
import { errorReply, type ArmRequest, type Reply } from './arm';
import { resourceEvent, type EventGridEvent, type GroupAction, type ResourceEventType } from './events';
import type { Log } from './log';
import {
  failingContainers,
  groupId,
  missingImage,
  renderGroup,
  sameSpec,
  type ContainerGroupJson,
  type GroupRecord,
  type GroupSpec,
} from './model';
import type { Operation, OperationError, OperationOrigin, Operations, OperationTarget } from './operations';
import { groupKey, type GroupStore } from './store';
import { armError, isArmError, normalizeLocation, validateGroupPut } from './validate';

const TENANT_ID = '00000000-0000-0000-0000-000000000000';
const MAX_DELETE_MS = 200;
const LOG_LINES = 20;

/**
 * The subscription's ACI quotas per region; a PUT beyond one is answered 400
 * ContainerGroupQuotaReached, as ACI answers it. Absent = unlimited. Changed at any time by tests.
 */
export interface RegionQuota {
  /** Container groups in a region ('ContainerGroups'; Azure's default is 100). */
  containerGroups?: number;
  /** vCPUs requested by all groups in a region ('StandardCores'). */
  cores?: number;
}

export interface ContainerGroupsOptions {
  subscriptionId: string;
  /** The emulator's own URL, known once it listens (for nextLink). */
  baseUrl: () => string;
  store: GroupStore;
  operations: Operations;
  /** Time from PUT to Succeeded/Failed; deletes take at most MAX_DELETE_MS. */
  provisioningMs: number;
  pageSize: number;
  publish: (event: EventGridEvent) => void;
  quota: RegionQuota;
  log: Log;
}

export class ContainerGroups {
  private readonly deleteMs: number;

  constructor(private readonly o: ContainerGroupsOptions) {
    this.deleteMs = Math.min(o.provisioningMs, MAX_DELETE_MS);
  }

  get(r: ArmRequest): Reply {
    const rec = this.find(r);
    return rec ? { status: 200, body: renderGroup(this.o.subscriptionId, rec) } : notFound(r);
  }

  put(r: ArmRequest): Reply {
    const { rg, name } = r.params as { rg: string; name: string };
    let body: unknown;
    try {
      body = JSON.parse(r.body);
    } catch (e) {
      return errorReply(
        armError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: ${(e as Error).message}`),
      );
    }
    const spec = validateGroupPut(name, body);
    if (isArmError(spec)) return errorReply(spec);
    const missing = missingImage(spec);
    if (missing) {
      return errorReply(
        armError(
          400,
          'InaccessibleImage',
          `The image '${missing}' in container group '${name}' is not accessible. Please check the image and registry credential.`,
        ),
      );
    }

    const key = groupKey(rg, name);
    const existing = this.o.store.get(key);
    if (existing?.provisioningState === 'Deleting') {
      return errorReply(armError(409, 'Conflict', `The container group '${name}' is being deleted; retry when it is gone.`));
    }
    if (existing && existing.spec.location !== spec.location) {
      return errorReply(
        armError(
          400,
          'InvalidResourceLocation',
          `The resource '${name}' already exists in location '${existing.spec.location}' in resource group '${existing.resourceGroup}'. ` +
            `A resource with the same name cannot be created in location '${spec.location}'. Please select a new resource name.`,
        ),
      );
    }
    const overQuota = this.overQuota(spec, existing);
    if (overQuota) return errorReply(overQuota);
    // An identical PUT while provisioning is a client retry: it joins the running operation.
    const running = existing ? this.o.operations.inProgress(key) : undefined;
    if (existing && running && sameSpec(existing.spec, spec)) {
      return this.writeAccepted(200, existing, running, r);
    }

    if (existing) this.o.operations.end(key, 'Canceled');
    const isPublic = spec.properties.ipAddress?.type === 'Public';
    const rec: GroupRecord = {
      resourceGroup: existing?.resourceGroup ?? rg,
      name,
      spec,
      provisioningState: 'Pending',
      ...(isPublic && existing?.ip ? { ip: existing.ip } : {}),
    };
    this.o.store.put(rec);
    const op = this.startWrite(key, rec, r);
    return this.writeAccepted(existing ? 200 : 201, rec, op, r);
  }

  /**
   * The quota this PUT would take the region past, as ACI words it: a new group counts one group and
   * its cores, an update only the cores it adds; a group being deleted counts until it is gone.
   */
  private overQuota(spec: GroupSpec, existing: GroupRecord | undefined) {
    const region = normalizeLocation(spec.location);
    const inRegion = this.o.store.list().filter((g) => normalizeLocation(g.spec.location) === region);
    // In hundredths, so that 0.1 + 0.2 cores is 0.3.
    const cores = (g: GroupSpec) => g.properties.containers.reduce((n, c) => n + Math.round(c.properties.resources.requests.cpu * 100), 0);
    const usedCores = inRegion.reduce((n, g) => n + cores(g.spec), 0);
    const addedCores = cores(spec) - (existing ? cores(existing.spec) : 0);
    const checks = [
      { quota: 'ContainerGroups', limit: this.o.quota.containerGroups, usage: inRegion.length, requested: existing ? 0 : 1, unit: 1 },
      { quota: 'StandardCores', limit: this.o.quota.cores, usage: usedCores, requested: Math.max(0, addedCores), unit: 100 },
    ].map((c) => ({ ...c, limit: c.limit === undefined ? undefined : Math.round(c.limit * c.unit) }));
    const over = checks.find((c) => c.limit !== undefined && c.requested > 0 && c.usage + c.requested > c.limit);
    return (
      over &&
      armError(
        400,
        'ContainerGroupQuotaReached',
        `Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota '${over.quota}' exceeded in region '${spec.location}'. ` +
          `Limit: '${over.limit! / over.unit}', Usage: '${over.usage / over.unit}' Requested: '${over.requested / over.unit}'.`,
      )
    );
  }

  /**
   * After a restart from saved groups: their operations (and the clients polling them) are gone,
   * so what was provisioning provisions again and what was being deleted goes, each ending in
   * its Event Grid event as it would have.
   */
  resumeSaved(): void {
    for (const rec of this.o.store.list()) {
      const key = groupKey(rec.resourceGroup, rec.name);
      const origin = (method: string): OperationOrigin => ({
        correlationId: randomUUID(),
        httpRequest: {
          clientRequestId: randomUUID(),
          clientIpAddress: '127.0.0.1',
          method,
          url: `${this.o.baseUrl()}${groupId(this.o.subscriptionId, rec.resourceGroup, rec.name)}`,
        },
      });
      if (rec.provisioningState === 'Pending') this.startWrite(key, rec, origin('PUT'));
      if (rec.provisioningState === 'Deleting') this.startDelete(key, rec, origin('DELETE'));
    }
  }

  private startWrite(key: string, rec: GroupRecord, origin: OperationOrigin, action?: GroupAction): Operation {
    return this.o.operations.start('write', operationTarget(key, rec), origin, this.o.provisioningMs, (o) =>
      this.finishWrite(key, o, action),
    );
  }

  /**
   * POST .../stop (204, at once, as the spec has it): every container is killed and the group's
   * compute and public IP released; the group stays, Succeeded, its instance view Stopped.
   */
  stop(r: ArmRequest): Reply {
    const target = this.actionTarget(r);
    if ('reply' in target) return target.reply;
    const { rec, key } = target;
    this.o.operations.end(key, 'Canceled');
    rec.provisioningState = 'Succeeded';
    rec.settled = { outcome: 'Stopped', at: new Date().toISOString() };
    delete rec.ip;
    this.o.store.put(rec);
    this.o.publish(this.actionEvent('stop', rec, r));
    return { status: 204 };
  }

  /** POST .../start (202, long-running): the group provisions again as after a PUT, with a new IP. */
  start(r: ArmRequest): Reply {
    const target = this.actionTarget(r);
    if ('reply' in target) return target.reply;
    const { rec, key } = target;
    this.o.operations.end(key, 'Canceled');
    rec.provisioningState = 'Pending';
    delete rec.settled;
    this.o.store.put(rec);
    const op = this.startWrite(key, rec, r, 'start');
    return { status: 202, headers: { 'Azure-AsyncOperation': this.o.operations.url(op, 'operations', r.apiVersion) } };
  }

  /** POST .../restart (204): the containers start again in place, keeping the group's IP. */
  restart(r: ArmRequest): Reply {
    const target = this.actionTarget(r);
    if ('reply' in target) return target.reply;
    const { rec } = target;
    if (rec.settled?.outcome !== 'Running') {
      return errorReply(armError(409, 'ContainerGroupNotRunning', `The container group '${rec.name}' is not running; start it instead.`));
    }
    rec.settled = { outcome: 'Running', at: new Date().toISOString() };
    this.o.store.put(rec);
    this.o.publish(this.actionEvent('restart', rec, r));
    return { status: 204 };
  }

  /** The group a POST action is for, or the answer when there is none to act on (unknown, or being deleted). */
  private actionTarget(r: ArmRequest): { rec: GroupRecord; key: string } | { reply: Reply } {
    const rec = this.find(r);
    if (!rec) return { reply: notFound(r) };
    if (rec.provisioningState === 'Deleting') return { reply: beingDeleted(rec) };
    return { rec, key: groupKey(rec.resourceGroup, rec.name) };
  }

  private actionEvent(action: GroupAction, rec: GroupRecord, origin: OperationOrigin): EventGridEvent {
    return resourceEvent({
      eventType: 'Microsoft.Resources.ResourceActionSuccess',
      action,
      subscriptionId: this.o.subscriptionId,
      tenantId: TENANT_ID,
      resourceGroup: rec.resourceGroup,
      resourceId: groupId(this.o.subscriptionId, rec.resourceGroup, rec.name),
      correlationId: origin.correlationId,
      httpRequest: origin.httpRequest,
    });
  }

  private startDelete(key: string, rec: GroupRecord, origin: OperationOrigin): Operation {
    return this.o.operations.start('delete', operationTarget(key, rec), origin, this.deleteMs, (o) => this.finishDelete(key, o));
  }

  delete(r: ArmRequest): Reply {
    const key = groupKey(r.params.rg!, r.params.name!);
    const rec = this.o.store.get(key);
    if (!rec) return { status: 204 };
    let op = this.o.operations.inProgress(key);
    if (rec.provisioningState !== 'Deleting' || !op) {
      this.o.operations.end(key, 'Canceled');
      rec.provisioningState = 'Deleting';
      this.o.store.put(rec);
      op = this.startDelete(key, rec, r);
    }
    return { status: 202, headers: { Location: this.o.operations.url(op, 'operationResults', r.apiVersion) } };
  }

  /** Keyset paging on the lower-cased id: groups created or deleted between pages never shift the others. */
  list(r: ArmRequest, resourceGroup: string | undefined): Reply {
    const token = r.url.searchParams.get('$skipToken');
    const afterSortKey = token ? Buffer.from(token, 'base64url').toString() : undefined;
    const rest = this.o.store.list({ resourceGroup, afterSortKey });
    const page = rest.slice(0, this.o.pageSize);
    const body: { value: ContainerGroupJson[]; nextLink?: string } = {
      value: page.map((g) => renderGroup(this.o.subscriptionId, g)),
    };
    if (rest.length > page.length) {
      const next = new URL(r.url.pathname, this.o.baseUrl());
      next.searchParams.set('api-version', r.apiVersion);
      next.searchParams.set('$skipToken', Buffer.from(this.o.store.sortKey(page[page.length - 1]!)).toString('base64url'));
      body.nextLink = next.href;
    }
    return { status: 200, body };
  }

  logs(r: ArmRequest): Reply {
    const rec = this.find(r);
    if (!rec) return notFound(r);
    const containerName = r.params.container!;
    const container = rec.spec.properties.containers.find((c) => c.name === containerName);
    if (!container) {
      return errorReply(
        armError(404, 'ContainerNotFound', `The container '${containerName}' could not be found in container group '${rec.name}'.`),
      );
    }
    const tailParam = r.url.searchParams.get('tail');
    const tail = tailParam === null ? undefined : Number(tailParam);
    if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) {
      return errorReply(armError(400, 'InvalidRequestContent', `'tail' must be a non-negative integer, got '${tailParam}'.`));
    }
    // Only a started container has written anything.
    if (rec.settled?.outcome !== 'Running') return { status: 200, body: { content: '' } };
    const lines = fakeLogLines(rec.name, container.name, container.properties.image);
    const shown = tail === undefined ? lines : tail === 0 ? [] : lines.slice(-tail);
    return { status: 200, body: { content: shown.map((l) => `${l}\n`).join('') } };
  }

  /** Every stored group as GET returns it, in list order. */
  rendered(): ContainerGroupJson[] {
    return this.o.store.list().map((rec) => renderGroup(this.o.subscriptionId, rec));
  }

  /** The group vanishes without an event, as when someone deletes it outside the fleet. */
  removeOutOfBand(resourceGroup: string, name: string): boolean {
    const key = groupKey(resourceGroup, name);
    const rec = this.o.store.get(key);
    if (!rec) return false;
    // A delete in flight has what it wanted; a write in flight lost its group.
    this.o.operations.end(key, rec.provisioningState === 'Deleting' ? 'Succeeded' : 'Canceled');
    this.o.store.delete(key);
    this.o.log(`removed ${resourceGroup}/${name} out of band`);
    return true;
  }

  /** Secure values included: this is what the containers themselves would see. */
  containerEnvironment(resourceGroup: string, name: string): Record<string, Record<string, string>> | undefined {
    const rec = this.o.store.get(groupKey(resourceGroup, name));
    if (!rec) return undefined;
    return Object.fromEntries(
      rec.spec.properties.containers.map((c) => [
        c.name,
        Object.fromEntries((c.properties.environmentVariables ?? []).map((v) => [v.name, v.secureValue ?? v.value ?? ''])),
      ]),
    );
  }

  private writeAccepted(status: number, rec: GroupRecord, op: Operation, r: ArmRequest): Reply {
    // No Retry-After: the client's own polling interval decides how fast tests go.
    return {
      status,
      body: renderGroup(this.o.subscriptionId, rec),
      headers: { 'Azure-AsyncOperation': this.o.operations.url(op, 'operations', r.apiVersion) },
    };
  }

  private finishWrite(key: string, op: Operation, action?: GroupAction): void {
    const rec = this.o.store.get(key);
    if (!rec || this.o.operations.inProgress(key) !== op) return;
    const at = new Date().toISOString();
    const failing = failingContainers(rec.spec)[0];
    let error: OperationError | undefined;
    if (failing) {
      error = {
        code: 'InaccessibleImage',
        message: `The image '${failing.properties.image}' in container group '${rec.name}' is not accessible. Please check the image and registry credential.`,
      };
    } else if (rec.spec.properties.ipAddress?.type === 'Public' && !rec.ip) {
      rec.ip = this.o.store.allocateIp();
      if (!rec.ip) error = { code: 'PublicIpAddressesExhausted', message: 'The emulator has no public IP address left (203.0.113.1-254).' };
    }
    if (error) {
      rec.provisioningState = 'Failed';
      rec.settled = { outcome: 'Failed', at, reason: error.message };
      delete rec.ip;
    } else {
      rec.provisioningState = 'Succeeded';
      rec.settled = { outcome: 'Running', at };
    }
    this.o.store.put(rec);
    this.o.operations.end(key, error ? 'Failed' : 'Succeeded', error);
    if (action && !error) this.o.publish(this.actionEvent(action, rec, op));
    else
      this.o.publish(this.event(error ? 'Microsoft.Resources.ResourceWriteFailure' : 'Microsoft.Resources.ResourceWriteSuccess', rec, op));
  }

  private finishDelete(key: string, op: Operation): void {
    const rec = this.o.store.get(key);
    if (!rec || this.o.operations.inProgress(key) !== op) return;
    this.o.store.delete(key);
    this.o.operations.end(key, 'Succeeded');
    this.o.publish(this.event('Microsoft.Resources.ResourceDeleteSuccess', rec, op));
  }

  private event(eventType: ResourceEventType, rec: GroupRecord, op: Operation): EventGridEvent {
    return resourceEvent({
      eventType,
      subscriptionId: this.o.subscriptionId,
      tenantId: TENANT_ID,
      resourceGroup: rec.resourceGroup,
      resourceId: groupId(this.o.subscriptionId, rec.resourceGroup, rec.name),
      correlationId: op.correlationId,
      httpRequest: op.httpRequest,
    });
  }

  private find(r: ArmRequest): GroupRecord | undefined {
    return this.o.store.get(groupKey(r.params.rg!, r.params.name!));
  }
}

function operationTarget(key: string, rec: GroupRecord): OperationTarget {
  return { key, name: rec.name, location: rec.spec.location };
}

function beingDeleted(rec: GroupRecord): Reply {
  return errorReply(armError(409, 'Conflict', `The container group '${rec.name}' is being deleted.`));
}

function notFound(r: ArmRequest): Reply {
  return errorReply(
    armError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.ContainerInstance/containerGroups/${r.params.name}' under resource group '${r.params.rg}' was not found. ` +
        'For more details please go to https://aka.ms/ARMResourceNotFoundFix',
    ),
  );
}

/** Deterministic output for a started container, so tests can assert on it. */
function fakeLogLines(group: string, container: string, image: string): string[] {
  const lines = [`[${container}] pulled ${image}`, `[${container}] starting in container group ${group}`];
  for (let i = lines.length + 1; i <= LOG_LINES; i++) lines.push(`[${container}] log line ${i} of ${LOG_LINES}`);
  return lines;
}
