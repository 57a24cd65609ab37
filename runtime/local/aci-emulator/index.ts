// Local stand-in for ARM's Microsoft.ContainerInstance/containerGroups API: the real
// @azure/arm-containerinstance client talks to it over http (see runtime/src/azure/armClient.ts),
// and it sends the Event Grid resource events Azure would. All state is in memory.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postEvents, resourceEvent, type EventGridEvent, type ResourceEventType } from './events';
import { failingContainers, groupId, renderGroup, type ContainerGroupJson, type GroupRecord } from './model';
import { armError, validateGroupPut, type ArmError } from './validate';

export type { ContainerGroupJson } from './model';
export type { EventGridEvent } from './events';

/**
 * Faults for tests, all deterministic (counters, not chance). Counts are "the next n": each
 * matching event or request uses one up. set() replaces the previous settings.
 */
export interface FaultSettings {
  /** The next n Event Grid events are never delivered (lost). */
  dropEvents?: number;
  /** The next n events are delivered twice. */
  duplicateEvents?: number;
  /** Every event waits this long before its first delivery attempt (late events). */
  delayEventsMs?: number;
  /** The next n events are held back and then delivered newest first (out of order). */
  reorderEvents?: number;
  /** The next `count` ARM requests (of `methods`, default all) are answered with `status`. */
  failRequests?: {
    status: 429 | 500 | 502 | 503;
    count: number;
    methods?: readonly string[];
    /** Sent as Retry-After (seconds); omitted by default. */
    retryAfterSeconds?: number;
    /** Carry the request out first, then answer the error (an outcome the client cannot know). */
    afterApply?: boolean;
  };
}

export interface FaultStats {
  droppedEvents: number;
  duplicatedEvents: number;
  reorderedEvents: number;
  failedRequests: number;
}

export interface EmulatorFaults {
  set(settings: FaultSettings): void;
  /** No more faults; events still held for reordering are released (newest first). */
  clear(): void;
  stats(): FaultStats;
}

export interface AciEmulatorOptions {
  /** Default 0 (a free port); always on 127.0.0.1. */
  port?: number;
  /** Time from PUT to Succeeded/Failed; default EMULATOR_PROVISIONING_MS or 2000. */
  provisioningMs?: number;
  /** Default '00000000-0000-0000-0000-000000000000'. */
  subscriptionId?: string;
  /** Webhook that receives the Event Grid events (may be set later). */
  eventEndpoint?: string;
  /** List page size (nextLink paging); default 100. */
  pageSize?: number;
  log?: (line: string) => void;
}

export interface AciEmulator {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly subscriptionId: string;
  setEventEndpoint(url: string | undefined): void;
  /** Snapshot of stored groups, ARM JSON shape (as GET returns them), for tests. */
  groups(): ContainerGroupJson[];
  /** Delete a group behind the fleet's back (no event), for tests of drift. */
  removeOutOfBand(resourceGroup: string, name: string): boolean;
  /** Resolves when every queued event delivery and provisioning timer has finished. */
  idle(): Promise<void>;
  /** Fault injection for tests: lost, duplicated, late and reordered events; failing ARM answers. */
  readonly faults: EmulatorFaults;
  /** What a group's containers see in their environment (secure values included), as name → value per container. */
  containerEnvironment(resourceGroup: string, name: string): Record<string, Record<string, string>> | undefined;
  close(): Promise<void>;
}

export async function startAciEmulator(opts: AciEmulatorOptions = {}): Promise<AciEmulator> {
  const emulator = new Emulator(opts);
  await emulator.listen(opts.port ?? 0);
  return emulator;
}

const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
const TENANT_ID = '00000000-0000-0000-0000-000000000000';
const DEFAULT_API_VERSION = '2023-05-01';
const MAX_BODY_BYTES = 4 * 1024 * 1024; // ARM rejects larger requests
const MAX_DELETE_MS = 200;
const KEPT_OPERATIONS = 1000;
const DELIVERY = { attempts: 5, firstBackoffMs: 100, maxBackoffMs: 2000, timeoutMs: 5000 };
const LOG_LINES = 20;

interface Operation {
  id: string;
  kind: 'write' | 'delete';
  location: string;
  status: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
  correlationId: string;
  httpRequest: EventGridEvent['data']['httpRequest'];
  timer?: Timer;
}

interface Timer {
  /** true when the callback ran, false when cancelled. */
  done: Promise<boolean>;
  cancel(): void;
}

interface ArmRequest {
  method: string;
  url: URL;
  params: Record<string, string>;
  body: string;
  apiVersion: string;
  correlationId: string;
  httpRequest: EventGridEvent['data']['httpRequest'];
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

// Literal segments are matched case-insensitively (as ARM does); {x} captures a parameter.
const GROUPS = 'subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.containerinstance/containergroups';
const LOCATION = 'subscriptions/{sub}/providers/microsoft.containerinstance/locations/{location}';
const ROUTES = {
  listBySubscription: 'subscriptions/{sub}/providers/microsoft.containerinstance/containergroups',
  listByResourceGroup: GROUPS,
  group: `${GROUPS}/{name}`,
  logs: `${GROUPS}/{name}/containers/{container}/logs`,
  operationStatus: `${LOCATION}/operations/{operation}`,
  operationResult: `${LOCATION}/operationresults/{operation}`,
} as const;
type RouteName = keyof typeof ROUTES;

class Emulator implements AciEmulator {
  readonly subscriptionId: string;
  url = '';
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private readonly provisioningMs: number;
  private readonly deleteMs: number;
  private readonly pageSize: number;
  private readonly log: (line: string) => void;
  private eventEndpoint: string | undefined;
  /** Key: `<resource group lower-cased>/<name>`. */
  private readonly store = new Map<string, GroupRecord>();
  private readonly operations = new Map<string, Operation>();
  private readonly timers = new Set<Timer>();
  private readonly tasks = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  private faultSettings: Required<Omit<FaultSettings, 'failRequests'>> & { failRequests?: FaultSettings['failRequests'] } = noFaults();
  private readonly heldEvents: EventGridEvent[] = [];
  private readonly faultStats: FaultStats = { droppedEvents: 0, duplicatedEvents: 0, reorderedEvents: 0, failedRequests: 0 };

  readonly faults: EmulatorFaults = {
    set: (settings) => {
      this.faultSettings = { ...noFaults(), ...settings, failRequests: settings.failRequests && { ...settings.failRequests } };
    },
    clear: () => {
      this.faultSettings = noFaults();
      this.releaseHeldEvents();
    },
    stats: () => ({ ...this.faultStats }),
  };

  constructor(opts: AciEmulatorOptions) {
    this.subscriptionId = opts.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
    this.provisioningMs = opts.provisioningMs ?? Number(process.env['EMULATOR_PROVISIONING_MS'] ?? 2000);
    if (!Number.isFinite(this.provisioningMs) || this.provisioningMs < 0) {
      throw new Error(`provisioningMs must be a non-negative number, got ${this.provisioningMs}`);
    }
    this.deleteMs = Math.min(this.provisioningMs, MAX_DELETE_MS);
    this.pageSize = opts.pageSize ?? 100;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) throw new Error('pageSize must be a positive integer');
    this.eventEndpoint = opts.eventEndpoint;
    this.log = opts.log ?? ((line) => console.error(`[aci-emulator] ${line}`));
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
        resolve();
      });
    });
  }

  setEventEndpoint(url: string | undefined): void {
    this.eventEndpoint = url;
  }

  groups(): ContainerGroupJson[] {
    return this.sorted([...this.store.values()]).map((rec) => renderGroup(this.subscriptionId, rec));
  }

  removeOutOfBand(resourceGroup: string, name: string): boolean {
    const key = storeKey(resourceGroup, name);
    const rec = this.store.get(key);
    if (!rec) return false;
    // A delete in flight has what it wanted; a write in flight lost its group.
    this.endOperation(rec, rec.provisioningState === 'Deleting' ? 'Succeeded' : 'Canceled');
    this.store.delete(key);
    this.log(`removed ${resourceGroup}/${name} out of band`);
    return true;
  }

  containerEnvironment(resourceGroup: string, name: string): Record<string, Record<string, string>> | undefined {
    const rec = this.store.get(storeKey(resourceGroup, name));
    if (!rec) return undefined;
    return Object.fromEntries(
      rec.spec.properties.containers.map((c) => [
        c.name,
        Object.fromEntries((c.properties.environmentVariables ?? []).map((v) => [v.name, v.secureValue ?? v.value ?? ''])),
      ]),
    );
  }

  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
      for (const timer of [...this.timers]) timer.cancel();
      await this.idle();
      await closed;
    })();
    return this.closing;
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = (req.method ?? 'GET').toUpperCase();
    const correlationId = header(req, 'x-ms-correlation-request-id') ?? randomUUID();
    const clientRequestId = header(req, 'x-ms-client-request-id');
    let reply: Reply;
    try {
      const body = await readBody(req);
      const fault = this.takeRequestFault(method);
      reply =
        fault && !fault.afterApply
          ? faultReply(fault)
          : body === undefined
          ? errorReply(armError(413, 'RequestEntityTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes.`))
          : this.closing
            ? errorReply(armError(503, 'ServiceUnavailable', 'The emulator is shutting down.'))
            : this.dispatch({
                method,
                url,
                params: {},
                body,
                apiVersion: url.searchParams.get('api-version') ?? DEFAULT_API_VERSION,
                correlationId,
                httpRequest: {
                  clientRequestId: clientRequestId ?? randomUUID(),
                  clientIpAddress: req.socket.remoteAddress ?? '127.0.0.1',
                  method,
                  url: url.href,
                },
              });
      if (fault?.afterApply) reply = faultReply(fault);
    } catch (e) {
      this.log(`${method} ${url.pathname} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      reply = errorReply(armError(500, 'InternalServerError', 'The emulator hit an unexpected error.'));
    }
    this.log(`${method} ${url.pathname} -> ${reply.status}`);
    const body = reply.body === undefined ? undefined : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...(body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      'x-ms-request-id': randomUUID(),
      'x-ms-correlation-request-id': correlationId,
      ...(clientRequestId ? { 'x-ms-client-request-id': clientRequestId } : {}),
      ...reply.headers,
    });
    res.end(body);
  }

  /** Uses up one injected request failure, if one applies to this method. */
  private takeRequestFault(method: string): FaultSettings['failRequests'] {
    const f = this.faultSettings.failRequests;
    if (!f || f.count <= 0) return undefined;
    if (f.methods && !f.methods.some((m) => m.toUpperCase() === method)) return undefined;
    f.count--;
    this.faultStats.failedRequests++;
    return f;
  }

  /** Every ARM request is answered here (fault-injection knobs for responses belong here). */
  private dispatch(req: ArmRequest): Reply {
    const route = matchRoute(req.url.pathname);
    if (!route) return errorReply(armError(404, 'NotFound', `No ARM route for ${req.method} ${req.url.pathname}.`));
    const r: ArmRequest = { ...req, params: route.params };
    const sub = r.params['sub'];
    if (sub !== undefined && sub.toLowerCase() !== this.subscriptionId.toLowerCase()) {
      return errorReply(armError(404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`));
    }
    switch (`${r.method} ${route.name}`) {
      case 'GET listBySubscription':
        return this.list(r, undefined);
      case 'GET listByResourceGroup':
        return this.list(r, r.params['rg']);
      case 'GET group':
        return this.getGroup(r);
      case 'PUT group':
        return this.putGroup(r);
      case 'DELETE group':
        return this.deleteGroup(r);
      case 'GET logs':
        return this.logs(r);
      case 'GET operationStatus':
        return this.operationStatus(r);
      case 'GET operationResult':
        return this.operationResult(r);
      default:
        return errorReply(
          armError(405, 'MethodNotAllowed', `The method '${r.method}' is not supported on ${r.url.pathname}.`),
        );
    }
  }

  // ---- container groups ----------------------------------------------------------------------

  private getGroup(r: ArmRequest): Reply {
    const rec = this.find(r);
    return rec ? { status: 200, body: renderGroup(this.subscriptionId, rec) } : notFound(r);
  }

  private putGroup(r: ArmRequest): Reply {
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

    const key = storeKey(rg, name);
    const existing = this.store.get(key);
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
    // An identical PUT while provisioning is a client retry: it joins the running operation.
    const running = existing?.operationId ? this.operations.get(existing.operationId) : undefined;
    if (existing && running && stableJson(existing.spec) === stableJson(spec)) {
      return this.writeAccepted(200, existing, running, r);
    }

    if (existing) this.endOperation(existing, 'Canceled');
    const isPublic = spec.properties.ipAddress?.type === 'Public';
    const rec: GroupRecord = {
      resourceGroup: existing?.resourceGroup ?? rg,
      name,
      spec,
      provisioningState: 'Pending',
      ...(isPublic && existing?.ip ? { ip: existing.ip } : {}),
    };
    this.store.set(key, rec);
    const op = this.startOperation('write', rec, r, this.provisioningMs, (o) => this.finishWrite(key, o));
    return this.writeAccepted(existing ? 200 : 201, rec, op, r);
  }

  private writeAccepted(status: number, rec: GroupRecord, op: Operation, r: ArmRequest): Reply {
    // No Retry-After: the client's own polling interval decides how fast tests go.
    return {
      status,
      body: renderGroup(this.subscriptionId, rec),
      headers: { 'Azure-AsyncOperation': this.operationUrl(op, 'operations', r.apiVersion) },
    };
  }

  private finishWrite(key: string, op: Operation): void {
    const rec = this.store.get(key);
    if (!rec || rec.operationId !== op.id) return;
    const at = new Date().toISOString();
    const failing = failingContainers(rec.spec)[0];
    let error: Operation['error'];
    if (failing) {
      error = {
        code: 'InaccessibleImage',
        message: `The image '${failing.properties.image}' in container group '${rec.name}' is not accessible. Please check the image and registry credential.`,
      };
    } else if (rec.spec.properties.ipAddress?.type === 'Public' && !rec.ip) {
      rec.ip = this.allocateIp();
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
    this.endOperation(rec, error ? 'Failed' : 'Succeeded', error);
    this.deliver(this.event(error ? 'Microsoft.Resources.ResourceWriteFailure' : 'Microsoft.Resources.ResourceWriteSuccess', rec, op));
  }

  private deleteGroup(r: ArmRequest): Reply {
    const key = storeKey(r.params['rg']!, r.params['name']!);
    const rec = this.store.get(key);
    if (!rec) return { status: 204 };
    let op = rec.operationId ? this.operations.get(rec.operationId) : undefined;
    if (rec.provisioningState !== 'Deleting' || !op) {
      this.endOperation(rec, 'Canceled');
      rec.provisioningState = 'Deleting';
      op = this.startOperation('delete', rec, r, this.deleteMs, (o) => this.finishDelete(key, o));
    }
    return { status: 202, headers: { Location: this.operationUrl(op, 'operationResults', r.apiVersion) } };
  }

  private finishDelete(key: string, op: Operation): void {
    const rec = this.store.get(key);
    if (!rec || rec.operationId !== op.id) return;
    this.store.delete(key);
    this.endOperation(rec, 'Succeeded');
    this.deliver(this.event('Microsoft.Resources.ResourceDeleteSuccess', rec, op));
  }

  private list(r: ArmRequest, resourceGroup: string | undefined): Reply {
    const rg = resourceGroup?.toLowerCase();
    const all = this.sorted([...this.store.values()].filter((g) => rg === undefined || g.resourceGroup.toLowerCase() === rg));
    // Keyset paging on the lower-cased id: groups created or deleted between pages never
    // shift the others.
    const token = r.url.searchParams.get('$skipToken');
    const after = token ? Buffer.from(token, 'base64url').toString() : undefined;
    const rest = after === undefined ? all : all.filter((g) => this.sortKey(g) > after);
    const page = rest.slice(0, this.pageSize);
    const body: { value: ContainerGroupJson[]; nextLink?: string } = {
      value: page.map((g) => renderGroup(this.subscriptionId, g)),
    };
    if (rest.length > page.length) {
      const next = new URL(r.url.pathname, this.url);
      next.searchParams.set('api-version', r.apiVersion);
      next.searchParams.set('$skipToken', Buffer.from(this.sortKey(page[page.length - 1]!)).toString('base64url'));
      body.nextLink = next.href;
    }
    return { status: 200, body };
  }

  private logs(r: ArmRequest): Reply {
    const rec = this.find(r);
    if (!rec) return notFound(r);
    const containerName = r.params['container']!;
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

  // ---- long-running operations ---------------------------------------------------------------

  private startOperation(
    kind: Operation['kind'],
    rec: GroupRecord,
    r: ArmRequest,
    delayMs: number,
    finish: (op: Operation) => void,
  ): Operation {
    const op: Operation = {
      id: randomUUID(),
      kind,
      location: rec.spec.location,
      status: 'InProgress',
      startTime: new Date().toISOString(),
      correlationId: r.correlationId,
      httpRequest: r.httpRequest,
    };
    op.timer = this.after(delayMs, () => finish(op));
    rec.operationId = op.id;
    this.operations.set(op.id, op);
    // Forget the oldest finished operations; pollers only ask about recent ones.
    for (const [id, old] of this.operations) {
      if (this.operations.size <= KEPT_OPERATIONS) break;
      if (old.status !== 'InProgress') this.operations.delete(id);
    }
    return op;
  }

  /** Ends the group's operation in progress, if any. */
  private endOperation(rec: GroupRecord, status: Exclude<Operation['status'], 'InProgress'>, error?: Operation['error']): void {
    const op = rec.operationId ? this.operations.get(rec.operationId) : undefined;
    delete rec.operationId;
    if (!op || op.status !== 'InProgress') return;
    op.timer?.cancel();
    op.status = status;
    op.endTime = new Date().toISOString();
    if (error) op.error = error;
    else if (status === 'Canceled') {
      op.error = { code: 'Canceled', message: `The operation on '${rec.name}' was superseded by a newer request.` };
    }
  }

  private operationUrl(op: Operation, kind: 'operations' | 'operationResults', apiVersion: string): string {
    const path = `/subscriptions/${this.subscriptionId}/providers/Microsoft.ContainerInstance/locations/${op.location}/${kind}/${op.id}`;
    return `${this.url}${path}?api-version=${encodeURIComponent(apiVersion)}`;
  }

  /** Azure-AsyncOperation polling: always 200 with a status. */
  private operationStatus(r: ArmRequest): Reply {
    const op = this.operations.get(r.params['operation']!);
    if (!op) return errorReply(armError(404, 'OperationNotFound', `The operation '${r.params['operation']}' was not found.`));
    return {
      status: 200,
      body: {
        id: r.url.pathname,
        name: op.id,
        status: op.status,
        startTime: op.startTime,
        ...(op.endTime ? { endTime: op.endTime } : {}),
        ...(op.error ? { error: op.error } : {}),
      },
    };
  }

  /** Location polling: 202 while running, 204 once done. */
  private operationResult(r: ArmRequest): Reply {
    const op = this.operations.get(r.params['operation']!);
    if (!op) return errorReply(armError(404, 'OperationNotFound', `The operation '${r.params['operation']}' was not found.`));
    if (op.status === 'InProgress') return { status: 202, headers: { Location: r.url.href } };
    if (op.status === 'Succeeded') return { status: 204 };
    return errorReply(armError(409, op.error?.code ?? op.status, op.error?.message ?? `The operation ${op.status}.`));
  }

  // ---- Event Grid ----------------------------------------------------------------------------

  private event(eventType: ResourceEventType, rec: GroupRecord, op: Operation): EventGridEvent {
    return resourceEvent({
      eventType,
      subscriptionId: this.subscriptionId,
      tenantId: TENANT_ID,
      resourceGroup: rec.resourceGroup,
      resourceId: groupId(this.subscriptionId, rec.resourceGroup, rec.name),
      correlationId: op.correlationId,
      httpRequest: op.httpRequest,
    });
  }

  /** Every event leaves through here (fault-injection knobs for deliveries belong here). */
  private deliver(event: EventGridEvent): void {
    const f = this.faultSettings;
    const what = `${event.eventType} ${event.subject}`;
    if (f.dropEvents > 0) {
      f.dropEvents--;
      this.faultStats.droppedEvents++;
      this.log(`fault: dropped ${what}`);
      return;
    }
    if (f.reorderEvents > 0) {
      f.reorderEvents--;
      this.faultStats.reorderedEvents++;
      this.heldEvents.push(event);
      if (f.reorderEvents === 0) this.releaseHeldEvents();
      return;
    }
    const copies = f.duplicateEvents > 0 ? 2 : 1;
    if (copies === 2) {
      f.duplicateEvents--;
      this.faultStats.duplicatedEvents++;
    }
    for (let i = 0; i < copies; i++) this.send(event, f.delayEventsMs);
  }

  /** Held events go out newest first. */
  private releaseHeldEvents(): void {
    const held = this.heldEvents.splice(0).reverse();
    for (const event of held) this.send(event, this.faultSettings.delayEventsMs);
  }

  private send(event: EventGridEvent, delayMs: number): void {
    if (delayMs <= 0) return this.track(this.deliverWithRetries(event));
    const wait = this.after(delayMs, () => {});
    this.track(wait.done.then((ran) => (ran ? this.deliverWithRetries(event) : undefined)));
  }

  private async deliverWithRetries(event: EventGridEvent): Promise<void> {
    const what = `${event.eventType} ${event.subject}`;
    for (let attempt = 0; attempt < DELIVERY.attempts; attempt++) {
      if (attempt > 0) {
        const backoff = Math.min(DELIVERY.firstBackoffMs * 2 ** (attempt - 1), DELIVERY.maxBackoffMs);
        if (!(await this.after(backoff, () => {}).done)) return; // closing
      }
      const endpoint = this.eventEndpoint;
      if (!endpoint) {
        this.log(`no event endpoint set; dropped ${what}`);
        return;
      }
      let problem: string;
      try {
        const status = await postEvents(endpoint, [event], { timeoutMs: DELIVERY.timeoutMs, deliveryCount: attempt });
        if (status >= 200 && status < 300) {
          this.log(`delivered ${what}`);
          return;
        }
        problem = `HTTP ${status}`;
      } catch (e) {
        problem = e instanceof Error ? e.message : String(e);
      }
      this.log(`delivery ${attempt + 1}/${DELIVERY.attempts} of ${what} to ${endpoint} failed: ${problem}`);
    }
    this.log(`gave up delivering ${what}`);
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** A tracked timer, so idle() waits for it and close() cancels it. */
  private after(ms: number, fn: () => void): Timer {
    let settle!: (ran: boolean) => void;
    const done = new Promise<boolean>((resolve) => (settle = resolve));
    const handle = setTimeout(() => {
      this.timers.delete(timer);
      try {
        fn();
      } catch (e) {
        this.log(`timer callback failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
      settle(true);
    }, ms);
    const timer: Timer = {
      done,
      cancel: () => {
        if (!this.timers.delete(timer)) return;
        clearTimeout(handle);
        settle(false);
      },
    };
    this.timers.add(timer);
    this.track(done);
    return timer;
  }

  private track(p: Promise<unknown>): void {
    this.tasks.add(p);
    const forget = () => this.tasks.delete(p);
    p.then(forget, forget);
  }

  private find(r: ArmRequest): GroupRecord | undefined {
    return this.store.get(storeKey(r.params['rg']!, r.params['name']!));
  }

  /** Lowest free address of 203.0.113.1–254 (TEST-NET-3) not held by a live group. */
  private allocateIp(): string | undefined {
    const used = new Set([...this.store.values()].map((g) => g.ip));
    for (let i = 1; i <= 254; i++) {
      const ip = `203.0.113.${i}`;
      if (!used.has(ip)) return ip;
    }
    return undefined;
  }

  private sortKey(g: GroupRecord): string {
    return groupId(this.subscriptionId, g.resourceGroup, g.name).toLowerCase();
  }

  private sorted(groups: GroupRecord[]): GroupRecord[] {
    return groups.sort((a, b) => (this.sortKey(a) < this.sortKey(b) ? -1 : this.sortKey(a) > this.sortKey(b) ? 1 : 0));
  }
}

function matchRoute(pathname: string): { name: RouteName; params: Record<string, string> } | undefined {
  const segments = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  for (const [name, pattern] of Object.entries(ROUTES) as [RouteName, string][]) {
    const parts = pattern.split('/');
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = parts.every((part, i) => {
      const seg = segments[i]!;
      if (!part.startsWith('{')) return part === seg.toLowerCase();
      params[part.slice(1, -1)] = seg;
      return true;
    });
    if (ok) return { name, params };
  }
  return undefined;
}

/** Resource group names are case-insensitive in ARM; ACI names are lower-case. */
function storeKey(resourceGroup: string, name: string): string {
  return `${resourceGroup.toLowerCase()}/${name.toLowerCase()}`;
}

function notFound(r: ArmRequest): Reply {
  return errorReply(
    armError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.ContainerInstance/containerGroups/${r.params['name']}' under resource group '${r.params['rg']}' was not found. ` +
        'For more details please go to https://aka.ms/ARMResourceNotFoundFix',
    ),
  );
}

function noFaults() {
  return { dropEvents: 0, duplicateEvents: 0, delayEventsMs: 0, reorderEvents: 0, failRequests: undefined };
}

function faultReply(f: NonNullable<FaultSettings['failRequests']>): Reply {
  const code = f.status === 429 ? 'TooManyRequests' : f.status === 500 ? 'InternalServerError' : 'ServiceUnavailable';
  return {
    ...errorReply(armError(f.status, code, `Injected fault: ${f.status} ${code}.`)),
    ...(f.retryAfterSeconds !== undefined ? { headers: { 'Retry-After': String(f.retryAfterSeconds) } } : {}),
  };
}

function errorReply(e: ArmError): Reply {
  return { status: e.status, body: { error: { code: e.code, message: e.message } } };
}

function isArmError(v: object): v is ArmError {
  return 'code' in v && 'status' in v;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The body as text, or undefined when it is larger than ARM accepts. */
async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8');
}

/** JSON with sorted keys, to compare specs regardless of property order. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}

/** Deterministic output for a started container, so tests can assert on it. */
function fakeLogLines(group: string, container: string, image: string): string[] {
  const lines = [`[${container}] pulled ${image}`, `[${container}] starting in container group ${group}`];
  for (let i = lines.length + 1; i <= LOG_LINES; i++) lines.push(`[${container}] log line ${i} of ${LOG_LINES}`);
  return lines;
}
