// ARM long-running operations: each group write or delete runs as one, which clients poll by
// Azure-AsyncOperation (status) or Location (result) until it ends.
import { randomUUID } from 'node:crypto';
import { errorReply, type ArmRequest, type Reply } from './arm';
import type { BackgroundWork, Timer } from './timers';
import { armError } from './validate';

// Pollers only ask about recent operations; older finished ones are forgotten.
const KEPT_OPERATIONS = 1000;

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';
export type OperationError = { code: string; message: string };

export interface Operation {
  id: string;
  kind: 'write' | 'delete';
  /** The group it acts on, for messages. */
  groupName: string;
  location: string;
  status: OperationStatus;
  startTime: string;
  endTime?: string;
  error?: OperationError;
  /** From the request that started it, for the Event Grid event it ends in. */
  correlationId: string;
  httpRequest: ArmRequest['httpRequest'];
  timer?: Timer;
}

/** The request an operation serves (a PUT or DELETE), as its Event Grid event names it. */
export type OperationOrigin = Pick<ArmRequest, 'correlationId' | 'httpRequest'>;

export interface OperationTarget {
  key: string;
  name: string;
  location: string;
}

export class Operations {
  private readonly byId = new Map<string, Operation>();
  /** A group has at most one operation in progress; kept here, not in the group's record. */
  private readonly inProgressByGroup = new Map<string, Operation>();

  constructor(
    private readonly subscriptionId: string,
    private readonly baseUrl: () => string,
    private readonly background: BackgroundWork,
  ) {}

  /** Runs `finish` after delayMs unless the operation has ended by then. */
  start(
    kind: Operation['kind'],
    target: OperationTarget,
    origin: OperationOrigin,
    delayMs: number,
    finish: (op: Operation) => void,
  ): Operation {
    const op: Operation = {
      id: randomUUID(),
      kind,
      groupName: target.name,
      location: target.location,
      status: 'InProgress',
      startTime: new Date().toISOString(),
      correlationId: origin.correlationId,
      httpRequest: origin.httpRequest,
    };
    op.timer = this.background.after(delayMs, () => finish(op));
    this.inProgressByGroup.set(target.key, op);
    this.byId.set(op.id, op);
    for (const [id, old] of this.byId) {
      if (this.byId.size <= KEPT_OPERATIONS) break;
      if (old.status !== 'InProgress') this.byId.delete(id);
    }
    return op;
  }

  inProgress(groupKey: string): Operation | undefined {
    return this.inProgressByGroup.get(groupKey);
  }

  /** Ends the group's operation in progress, if any. */
  end(groupKey: string, status: Exclude<OperationStatus, 'InProgress'>, error?: OperationError): void {
    const op = this.inProgressByGroup.get(groupKey);
    this.inProgressByGroup.delete(groupKey);
    if (op?.status !== 'InProgress') return;
    op.timer?.cancel();
    op.status = status;
    op.endTime = new Date().toISOString();
    if (error) op.error = error;
    else if (status === 'Canceled') {
      op.error = { code: 'Canceled', message: `The operation on '${op.groupName}' was superseded by a newer request.` };
    }
  }

  url(op: Operation, kind: 'operations' | 'operationResults', apiVersion: string): string {
    const path = `/subscriptions/${this.subscriptionId}/providers/Microsoft.ContainerInstance/locations/${op.location}/${kind}/${op.id}`;
    return `${this.baseUrl()}${path}?api-version=${encodeURIComponent(apiVersion)}`;
  }

  /** Azure-AsyncOperation polling: always 200 with a status. */
  statusReply(r: ArmRequest): Reply {
    const op = this.byId.get(r.params.operation!);
    if (!op) return operationNotFound(r);
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
  resultReply(r: ArmRequest): Reply {
    const op = this.byId.get(r.params.operation!);
    if (!op) return operationNotFound(r);
    if (op.status === 'InProgress') return { status: 202, headers: { Location: r.url.href } };
    if (op.status === 'Succeeded') return { status: 204 };
    return errorReply(armError(409, op.error?.code ?? op.status, op.error?.message ?? `The operation ${op.status}.`));
  }
}

function operationNotFound(r: ArmRequest): Reply {
  return errorReply(armError(404, 'OperationNotFound', `The operation '${r.params.operation}' was not found.`));
}
