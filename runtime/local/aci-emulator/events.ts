// Event Grid resource-group events as Azure sends them for container group writes and deletes,
// and one HTTP POST of them to a webhook (delivery.ts adds the retries).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { RESOURCE_TYPE } from './model';

export type ResourceEventType =
  | 'Microsoft.Resources.ResourceWriteSuccess'
  | 'Microsoft.Resources.ResourceWriteFailure'
  | 'Microsoft.Resources.ResourceDeleteSuccess'
  | 'Microsoft.Resources.ResourceActionSuccess';

/** The POST actions on a container group the emulator serves (each ends in a ResourceActionSuccess event). */
export type GroupAction = 'stop' | 'start' | 'restart';

export interface ResourceEventData {
  resourceProvider: string;
  resourceUri: string;
  operationName: string;
  status: 'Succeeded' | 'Failed';
  subscriptionId: string;
  tenantId: string;
  correlationId: string;
  httpRequest: { clientRequestId: string; clientIpAddress: string; method: string; url: string };
}

export interface EventGridEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: ResourceEventType;
  eventTime: string;
  dataVersion: string;
  metadataVersion: string;
  data: ResourceEventData;
}

export function resourceEvent(input: {
  eventType: ResourceEventType;
  subscriptionId: string;
  tenantId: string;
  resourceGroup: string;
  resourceId: string;
  correlationId: string;
  httpRequest: ResourceEventData['httpRequest'];
  /** For an action event: which one (its subject and resourceUri are still the group's id, as ARM sends them). */
  action?: GroupAction;
}): EventGridEvent {
  const isDelete = input.eventType === 'Microsoft.Resources.ResourceDeleteSuccess';
  const operation = input.action ? `${input.action}/action` : isDelete ? 'delete' : 'write';
  return {
    id: randomUUID(),
    topic: `/subscriptions/${input.subscriptionId}/resourceGroups/${input.resourceGroup}`,
    subject: input.resourceId,
    eventType: input.eventType,
    eventTime: new Date().toISOString(),
    dataVersion: '2',
    metadataVersion: '1',
    data: {
      resourceProvider: 'Microsoft.ContainerInstance',
      resourceUri: input.resourceId,
      operationName: `${RESOURCE_TYPE}/${operation}`,
      status: input.eventType === 'Microsoft.Resources.ResourceWriteFailure' ? 'Failed' : 'Succeeded',
      subscriptionId: input.subscriptionId,
      tenantId: input.tenantId,
      correlationId: input.correlationId,
      httpRequest: input.httpRequest,
    },
  };
}

/**
 * POSTs one batch the way Event Grid calls a webhook. Resolves with the HTTP status; rejects
 * on connection errors and timeouts. A fresh connection each time (no agent), so nothing
 * lingers to keep the process alive.
 */
export function postEvents(url: string, events: EventGridEvent[], opts: { timeoutMs: number; deliveryCount: number }): Promise<number> {
  const { timeoutMs } = opts;
  const body = Buffer.from(JSON.stringify(events));
  const target = new URL(url);
  const send = target.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        agent: false,
        timeout: timeoutMs,
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          'aeg-event-type': 'Notification',
          'aeg-delivery-count': String(opts.deliveryCount),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
