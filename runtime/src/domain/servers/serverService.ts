// The fleet's use cases: every function is a thin adapter over one method here. The service
// reads and writes through the ports (Table Storage, ARM) and asks the pure modules what to do.
import { FleetError, notFound } from '../core/errors';
import { assertAllowedResourceGroup } from '../core/resourceGroups';
import { cappedDetails } from '../core/validation';
import { mutateServer, writeContention } from './mutate';
import { containerGroupOf, type ResourceEvent } from './armEvents';
import {
  applyObservation,
  INCARNATION_TAG,
  isCollectable,
  isOwnedBy,
  MAX_SESSIONS_TAG,
  membershipTags,
  OWNER_TAG,
  trackLifecycle,
  transition,
  type RowChange,
} from './lifecycle';
import {
  AlreadyExistsError,
  StaleWriteError,
  silentLogger,
  silentTelemetry,
  systemClock,
  type Clock,
  type Logger,
  type Telemetry,
  type Versioned,
} from '../core/ports';
import type { ContainerGroups, ServerStore } from './ports';
import type { KnownRows } from './knownRows';
import { reportVariables, type ReportEndpoint } from '../reports/tokens';
import type { ContainerGroupSpec, DetailsRequest, NewServer, SessionReport, SetStateRequest } from './requests';
import {
  describeKey,
  keyOf,
  newIncarnation,
  serverSpecHash,
  sessionsBeyondCapacity,
  toView,
  type ServerKey,
  type ServerRecord,
  type ServerView,
} from './server';
import type { ServerState } from './states';

export interface ServerOptions {
  fleetName: string;
  defaultMaxSessions: number;
  /** Resource groups servers may live in; empty means any. */
  allowedResourceGroups: readonly string[];
  /** Attempts of one read-modify-write before answering 503 (only under heavy contention). */
  writeAttempts: number;
  /** SESSIONS_BATCH_MAX: servers one ACISetSessions call may name; undefined = the schema's 5,000. */
  maxSessionReports?: number;
  /** FLEET_MAX_SERVERS: rows in any state beyond which a create is refused; undefined = no ceiling. */
  maxServers?: number;
  /** FAILED_RETENTION_MINUTES: a Failed server is deleted by GC this long after it failed; undefined = kept. */
  failedRetentionMs?: number;
  /** Where servers report and the token secret, read when a server is created; undefined = inject nothing. */
  reportEndpoint?: () => ReportEndpoint | undefined;
}

export interface ServerServiceDeps {
  store: ServerStore;
  groups: ContainerGroups;
  options: ServerOptions;
  clock?: Clock;
  log?: Logger;
  /** Where each step of a server's life is sent (LIFECYCLE_EVENT). */
  telemetry?: Telemetry;
  /** Rows kept across invocations so ACISetSessions can skip its read; undefined = always read. */
  knownRows?: KnownRows;
}

export interface CreateResult {
  /** false when an identical create had already been accepted (HTTP 200 instead of 202). */
  created: boolean;
  server: ServerView;
}

/** What ACISetSessions answers: rows written, transactions spent on them, servers left alone and why. */
export interface SessionsResult {
  updated: number;
  transactions: number;
  ignored: Array<ServerKey & { reason: string }>;
}

/** The only fields a session report changes: all a store needs to send. */
const SESSION_FIELDS = ['activeSessions', 'lastReportAt'] as const satisfies readonly (keyof ServerRecord)[];

/** The row with a session report applied, under the ETag it was read (or kept) with. */
const reported = (row: Versioned<ServerRecord>, report: SessionReport, now: string): Versioned<ServerRecord> => ({
  etag: row.etag,
  value: { ...row.value, activeSessions: report.activeSessions, lastReportAt: now },
});

/** A Deleting row whose ARM delete has not finished after this long gets its delete sent again. */
const DELETE_RETRY_AFTER_MS = 10 * 60_000;

export class ServerService {
  private readonly store: ServerStore;
  private readonly groups: ContainerGroups;
  private readonly options: ServerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly telemetry: Telemetry;
  private readonly knownRows: KnownRows | undefined;

  constructor(deps: ServerServiceDeps) {
    this.store = deps.store;
    this.groups = deps.groups;
    this.options = deps.options;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.telemetry = deps.telemetry ?? silentTelemetry;
    this.knownRows = deps.knownRows;
  }

  async create(req: NewServer): Promise<CreateResult> {
    const key = keyOf(req);
    this.assertAllowed(key);
    const maxSessions = req.maxSessions ?? this.options.defaultMaxSessions;
    const specHash = serverSpecHash(req.containerGroup, maxSessions, req.fleet);

    const existing = await this.store.get(key);
    if (existing) return this.repeatedCreate(existing.value, specHash);

    const inArm = await this.groups.get(key);
    if (inArm) {
      // A concurrent create of the same name may have written its row and reached ARM since our
      // read: that group is a server of this fleet, and this call is a repeat of that create.
      const raced = isOwnedBy(inArm.tags, this.options.fleetName) ? await this.store.get(key) : undefined;
      if (raced) return this.repeatedCreate(raced.value, specHash);
      throw new FleetError(
        isOwnedBy(inArm.tags, this.options.fleetName) ? 'Conflict' : 'NotOwnedByFleet',
        `A container group '${describeKey(key)}' already exists in Azure and is not a server of this fleet; choose another name.`,
        key,
      );
    }

    await this.assertRoomFor(key, 0);
    // The row exists before ARM hears of the group, so an early Event Grid event always finds it.
    const now = this.clock.now().toISOString();
    const first = req.containerGroup.containers[0]!;
    const record: ServerRecord = {
      ...key,
      state: 'Creating',
      activeSessions: 0,
      maxSessions,
      location: req.containerGroup.location.toLowerCase(),
      image: first.image,
      cpu: sum(req.containerGroup.containers.map((c) => c.resources.requests.cpu)),
      ramGb: sum(req.containerGroup.containers.map((c) => c.resources.requests.memoryInGB)),
      createdAt: now,
      stateChangedAt: now,
      specHash,
      incarnation: newIncarnation(),
      fleet: req.fleet,
      fleetIncarnation: req.fleetIncarnation,
      revision: req.revision,
    };
    let row: Versioned<ServerRecord>;
    try {
      row = await this.store.insert(record);
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
      const raced = await this.store.get(key); // a concurrent create of the same name won
      if (!raced) throw e;
      return this.repeatedCreate(raced.value, specHash);
    }
    // Counted again with our row in: of creates racing for the last place, each one that goes on
    // counted every row written before its count, so together they never pass the limit.
    try {
      await this.assertRoomFor(key, 1);
    } catch (e) {
      await this.takeBack(record);
      throw e;
    }

    try {
      await this.groups.beginCreate(key, this.specForArm(record, req.containerGroup));
    } catch (e) {
      // Retries exhausted on a transient failure: the PUT may still have landed (the answer was
      // lost). If the group exists, the create worked; keep the row, so no orphan group is left.
      if (!(e instanceof FleetError && e.code === 'AzureUnavailable' && (await this.groups.get(key).catch(() => undefined)))) {
        await this.takeBack(record); // ARM refused or is down: the caller can simply retry
        throw e;
      }
      this.log.warn('server creating (ARM answered with an error, but the group exists)', { server: describeKey(key) });
    }
    await this.unlessDeletedMeanwhile(record);
    this.log.info('server creating', { server: describeKey(key), image: record.image });
    trackLifecycle(this.telemetry, undefined, row.value);
    return { created: true, server: toView(row.value, this.clock.now()) };
  }

  /**
   * Removes the row of a create that did not happen, whatever a delete made of it meanwhile (only
   * this incarnation's). Not a lifecycle event: the server was never announced as created.
   */
  private async takeBack(record: ServerRecord): Promise<void> {
    const mine = (r: ServerRecord) => (r.incarnation === record.incarnation ? 'remove' : undefined);
    await mutateServer(this.store, this.options.writeAttempts, keyOf(record), mine).catch((e) =>
      this.log.warn('could not remove the row of a failed create', { server: describeKey(record), error: String(e) }),
    );
  }

  /**
   * An ACIDelete that arrived while the PUT was in flight wins: the group it could not see yet is
   * deleted here. The create wrote ARM, then reads the row; the delete writes the row, then reads
   * ARM (see delete): whichever comes second sees the other, so the group never outlives its delete.
   */
  private async unlessDeletedMeanwhile(record: ServerRecord): Promise<void> {
    const key = keyOf(record);
    const now = await this.store.get(key);
    if (now && now.value.incarnation === record.incarnation && now.value.state !== 'Deleting') return;
    // Gone or Deleting: the delete won. A row of another incarnation: a later create owns the name (and the group) now.
    if (!now || now.value.incarnation === record.incarnation) await this.groups.beginDelete(key);
    this.log.warn('server deleted while it was being created; its group is deleted too', { server: describeKey(key) });
    throw new FleetError(
      'Conflict',
      `${describeKey(key)} was deleted while it was being created; its container group is being deleted too.`,
      key,
    );
  }

  /**
   * 409 ServerLimitReached when the fleet holds more than FLEET_MAX_SERVERS rows besides `own`
   * (0: the row is not written yet, 1: it is). Table Storage has no count, so the check reads
   * keys, stopping at the limit.
   */
  private async assertRoomFor(key: ServerKey, own: 0 | 1): Promise<void> {
    const limit = this.options.maxServers;
    if (limit === undefined) return;
    const servers = await this.store.countUpTo(limit + 1);
    if (servers - own < limit) return;
    throw new FleetError(
      'ServerLimitReached',
      `${describeKey(key)} was not created: this deployment holds its maximum of ${limit} servers (FLEET_MAX_SERVERS). Delete servers (Failed ones are deleted after FAILED_RETENTION_MINUTES) or raise the setting.`,
      { limit, setting: 'FLEET_MAX_SERVERS' },
    );
  }

  private repeatedCreate(existing: ServerRecord, specHash: string): CreateResult {
    if (existing.specHash === specHash && existing.state !== 'Deleting')
      return { created: false, server: toView(existing, this.clock.now()) };
    throw new FleetError(
      'Conflict',
      existing.state === 'Deleting'
        ? `${describeKey(existing)} is being deleted; wait for it to go or choose another name.`
        : `${describeKey(existing)} already exists with a different specification; choose another name or delete it first.`,
      { existing: toView(existing, this.clock.now()) },
    );
  }

  /**
   * The group as ARM gets it: owned by this fleet (tag), with its incarnation (tag), told who it
   * is, and given its own report URL and token as secure values (never a function key).
   */
  private specForArm(server: ServerRecord, spec: ContainerGroupSpec): ContainerGroupSpec {
    const endpoint = this.options.reportEndpoint?.();
    const injected: Array<{ name: string; value?: string; secureValue?: string }> = [
      { name: 'RESOURCE_GROUP', value: server.resourceGroup },
      { name: 'CONTAINER_GROUP_NAME', value: server.containerGroupName },
      ...(endpoint ? reportVariables(server, endpoint) : []),
    ];
    const injectedNames = new Set(injected.map((v) => v.name));
    return {
      ...spec,
      tags: {
        ...spec.tags,
        [OWNER_TAG]: this.options.fleetName,
        ...membershipTags(server),
        ...(server.incarnation ? { [INCARNATION_TAG]: server.incarnation } : {}),
        [MAX_SESSIONS_TAG]: String(server.maxSessions),
      },
      containers: spec.containers.map((c) => ({
        ...c,
        environmentVariables: [...(c.environmentVariables ?? []).filter((v) => !injectedNames.has(v.name)), ...injected],
      })),
    };
  }

  async delete(key: ServerKey): Promise<ServerView> {
    this.assertAllowed(key);
    const row = await this.requireRow(key);
    const inArm = await this.groups.get(key);
    if (inArm && !isOwnedBy(inArm.tags, this.options.fleetName)) {
      throw new FleetError('NotOwnedByFleet', `${describeKey(key)} is not tagged as a server of this fleet; refusing to delete it.`, key);
    }
    let wasCreating = false;
    const deleting = await this.mutate(
      key,
      (r) => {
        wasCreating = r.state === 'Creating';
        return transition(r, 'Deleting', 'delete', this.clock.now());
      },
      row,
    );
    if (!deleting) throw notFound(key.resourceGroup, key.containerGroupName);
    // No group at the first look: look at ARM again now that the row says Deleting. A create's PUT
    // may have landed meanwhile (the create reads the row after its PUT; see unlessDeletedMeanwhile),
    // and its group may even be Running already, the row with it: `wasCreating` alone misses that.
    const existsInArm = inArm !== undefined || (await this.groups.get(key)) !== undefined;
    await this.finishDelete(deleting, existsInArm, wasCreating);
    return toView(deleting.value, this.clock.now());
  }

  /**
   * Sends the ARM delete, or drops the row straight away when there is no group to delete. A row
   * that was Creating stays Deleting instead: its create, if still under way, deletes the group it
   * makes (or takes the row back if ARM refused it); ACIGC finishes the job if that create died.
   */
  private async finishDelete(row: Versioned<ServerRecord>, existsInArm: boolean, createMayBeInFlight = false): Promise<void> {
    if (existsInArm) {
      await this.groups.beginDelete(keyOf(row.value));
    } else if (!createMayBeInFlight) {
      const removed = await this.store.remove(keyOf(row.value), row.etag).then(
        () => true,
        (e) => {
          if (!(e instanceof StaleWriteError)) throw e;
          return false;
        },
      );
      if (removed) trackLifecycle(this.telemetry, row.value, undefined);
    }
    this.log.info('server deleting', { server: describeKey(row.value) });
  }

  async details(req: DetailsRequest): Promise<Record<string, unknown>> {
    const key = keyOf(req);
    this.assertAllowed(key);
    await this.requireRow(key);
    const group = await this.groups.describe(key);
    if (!group) {
      throw new FleetError('NotFound', `${describeKey(key)} is known to the fleet but has no container group in Azure (yet).`, key);
    }
    if (req.type !== 'logs') return group;
    const containerName = req.containerName ?? firstContainerName(group);
    if (!containerName) throw new FleetError('NotFound', `${describeKey(key)} has no containers.`, key);
    return { content: await this.groups.logs(key, containerName, req.tail) };
  }

  async list(state: ServerState | 'all'): Promise<ServerView[]> {
    const rows = await this.store.list(state === 'all' ? undefined : { states: [state] });
    const now = this.clock.now();
    return rows.map((r) => toView(r.value, now)).sort(byKey);
  }

  /**
   * Records many servers' session counts. The whole batch is checked before anything is written
   * (every server must exist), then each resource group's rows go out in 100-row transactions.
   * A batch this process wrote last time is written at once, under the ETags that write answered.
   */
  async setSessions(reports: readonly SessionReport[]): Promise<SessionsResult> {
    const limit = this.options.maxSessionReports;
    if (limit !== undefined && reports.length > limit) {
      const message = `a batch may name at most ${limit} servers (SESSIONS_BATCH_MAX); this one names ${reports.length}: split it into several calls`;
      throw new FleetError('ValidationFailed', `Invalid request: ${message}; nothing was written.`, [{ path: '', message }]);
    }
    for (const r of reports) this.assertAllowed(r);
    const spent = await this.setKnownSessions(reports);
    return typeof spent === 'object' ? spent : this.setSessionsAsRead(reports, spent);
  }

  /**
   * A batch of rows this process wrote last (a caller reporting the same servers again) is written
   * without reading them first: their kept ETags guard the write. Only a batch of one atomic
   * transaction, so a stale row means nothing was written and the batch goes the reading way,
   * answered exactly as if it had gone that way first. The result, or the transactions spent.
   */
  private async setKnownSessions(reports: readonly SessionReport[]): Promise<SessionsResult | number> {
    const oneTransaction =
      reports.length <= this.store.rowsPerTransaction && reports.every((r) => r.resourceGroup === reports[0]!.resourceGroup);
    const known = oneTransaction ? this.knownRows?.lookup(reports) : undefined;
    // MaxSessions is fixed at create, but the server may have been made again since: only rows just read may refuse.
    if (!known || reports.some((r) => sessionsBeyondCapacity(known.get(describeKey(r))!.value, r.activeSessions))) return 0;
    const now = this.clock.now().toISOString();
    const writes = reports.map((r) => reported(known.get(describeKey(r))!, r, now));
    const result = await this.store.replaceMany(writes, SESSION_FIELDS);
    this.knownRows!.outcome(result.stale.length > 0);
    this.keep(writes, result.written);
    return result.stale.length > 0 ? result.transactions : { updated: writes.length, transactions: result.transactions, ignored: [] };
  }

  /** setSessions with every row read first; `spent` transactions already went to a try with kept rows. */
  private async setSessionsAsRead(reports: readonly SessionReport[], spent: number): Promise<SessionsResult> {
    const rows = await this.store.getMany(reports);
    const missing = reports.filter((r) => !rows.has(describeKey(r)));
    if (missing.length > 0) {
      throw new FleetError(
        'NotFound',
        `${missing.length} server(s) in the batch are not known to this fleet; nothing was written.`,
        missing.map(keyOf),
      );
    }
    // MaxSessions is fixed at create, so the check on these rows holds for every retry below.
    const beyond = reports.flatMap((r, i) => {
      const message = sessionsBeyondCapacity(rows.get(describeKey(r))!.value, r.activeSessions);
      return message ? [{ path: `[${i}].activeSessions`, message: `${describeKey(r)}: ${message}` }] : [];
    });
    if (beyond.length > 0) {
      throw new FleetError(
        'ValidationFailed',
        `Invalid request: ${beyond[0]!.path}: ${beyond[0]!.message}; nothing was written.`,
        cappedDetails(beyond),
      );
    }

    let pending = reports.map((report) => ({ report, row: rows.get(describeKey(report))! }));
    let updated = 0;
    let transactions = spent;
    const ignored: Array<ServerKey & { reason: string }> = [];
    for (let attempt = 1; pending.length > 0; attempt++) {
      const now = this.clock.now().toISOString();
      const writes: Versioned<ServerRecord>[] = [];
      for (const { report, row } of pending) {
        if (row.value.state === 'Deleting') ignored.push({ ...keyOf(report), reason: 'server is being deleted' });
        else writes.push(reported(row, report, now));
      }
      const result = await this.store.replaceMany(writes, SESSION_FIELDS);
      this.keep(
        pending.map((p) => p.row),
        result.written,
      );
      transactions += result.transactions;
      updated += writes.length - result.stale.length;
      if (result.stale.length === 0) break;
      if (attempt >= this.options.writeAttempts) throw writeContention(`${result.stale.length} session report(s)`);
      // Someone else wrote those rows meanwhile: read them again and reapply the reports.
      const staleKeys = new Set(result.stale.map(describeKey));
      const retry = pending.filter(({ report }) => staleKeys.has(describeKey(report)));
      const reread = await this.store.getMany(retry.map(({ report }) => report));
      pending = [];
      retry.forEach(({ report }) => {
        const row = reread.get(describeKey(report));
        if (row) pending.push({ report, row });
        else ignored.push({ ...keyOf(report), reason: 'server was deleted' });
      });
    }
    return { updated, transactions, ignored };
  }

  /** Keeps the rows just written, with their new ETags; the others of the batch (stale, being deleted) are forgotten. */
  private keep(tried: readonly Versioned<ServerRecord>[], written: readonly Versioned<ServerRecord>[]): void {
    if (!this.knownRows) return;
    this.knownRows.forget(tried.map((w) => w.value));
    this.knownRows.remember(written);
  }

  async setState(req: SetStateRequest): Promise<ServerView> {
    const key = keyOf(req);
    this.assertAllowed(key);
    const row = await this.requireRow(key);
    const next = await this.mutate(key, (r) => transition(r, req.state, 'operator', this.clock.now(), 'marked Failed by an operator'), row);
    if (!next) throw notFound(key.resourceGroup, key.containerGroupName);
    this.log.info('server state set', { server: describeKey(key), state: req.state });
    return toView(next.value, this.clock.now());
  }

  /** ACIMonitor: an ARM event says something happened to a group; look at it and catch the row up. */
  async onResourceEvent(event: ResourceEvent): Promise<'ignored' | 'unchanged' | 'updated' | 'removed'> {
    const key = containerGroupOf(event);
    if (!key) return 'ignored';
    return this.refresh(key);
  }

  /** Reads the group from ARM and applies it to the row; idempotent and order-proof. */
  async refresh(key: ServerKey): Promise<'ignored' | 'unchanged' | 'updated' | 'removed'> {
    const row = await this.store.get(key);
    if (!row) return 'ignored'; // not ours, or already deleted: never resurrect a row
    const group = await this.groups.get(key);
    let outcome: 'unchanged' | 'updated' | 'removed' = 'unchanged';
    await this.mutate(
      key,
      (r) => {
        const change = applyObservation(r, group, this.clock.now());
        outcome = change === undefined ? 'unchanged' : change === 'remove' ? 'removed' : 'updated';
        return change;
      },
      row,
    );
    if (outcome !== 'unchanged')
      this.log.info('server refreshed from Azure', { server: describeKey(key), outcome, provisioningState: group?.provisioningState });
    return outcome;
  }

  /**
   * ACIGC: deletes drained servers with no sessions. The move to Deleting is ETag-conditional,
   * so a session report that lands first wins and the server stays.
   */
  async collectGarbage(): Promise<{ deleted: ServerKey[]; retried: ServerKey[] }> {
    const rows = await this.store.list({ states: ['MarkedForDeletion', 'Deleting', 'Failed'] });
    const deleted: ServerKey[] = [];
    const retried: ServerKey[] = [];
    const now = this.clock.now();
    for (const row of rows) {
      const key = keyOf(row.value);
      try {
        if (row.value.state === 'Deleting') {
          if (now.getTime() - Date.parse(row.value.stateChangedAt) < DELETE_RETRY_AFTER_MS) continue;
          // A lost delete event or a failed ARM call left this row behind: finish the job.
          await this.finishDelete(row, (await this.groups.get(key)) !== undefined);
          retried.push(key);
          continue;
        }
        const collectable = (r: ServerRecord) => isCollectable(r, now) || failedLongAgo(r, now, this.options.failedRetentionMs);
        const next = await this.mutate(key, (r) => (collectable(r) ? transition(r, 'Deleting', 'gc', now) : undefined), row);
        if (next?.value.state !== 'Deleting') continue;
        await this.finishDelete(next, (await this.groups.get(key)) !== undefined);
        deleted.push(key);
      } catch (e) {
        this.log.error('garbage collection of a server failed; next run retries', { server: describeKey(key), error: String(e) });
      }
    }
    return { deleted, retried };
  }

  private mutate(key: ServerKey, change: (current: ServerRecord) => RowChange, known?: Versioned<ServerRecord>) {
    return mutateServer(this.store, this.options.writeAttempts, key, change, known, (before, after) =>
      trackLifecycle(this.telemetry, before, after),
    );
  }

  private async requireRow(key: ServerKey): Promise<Versioned<ServerRecord>> {
    const row = await this.store.get(key);
    if (!row) throw notFound(key.resourceGroup, key.containerGroupName);
    return row;
  }

  private assertAllowed(key: ServerKey): void {
    assertAllowedResourceGroup(this.options.allowedResourceGroups, key.resourceGroup);
  }
}

/** A server Failed for longer than the retention (FAILED_RETENTION_MINUTES): its logs had their time. */
const failedLongAgo = (r: ServerRecord, now: Date, retentionMs: number | undefined) =>
  r.state === 'Failed' && retentionMs !== undefined && now.getTime() - Date.parse(r.stateChangedAt) >= retentionMs;

const sum = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) * 100) / 100;
const byKey = (a: ServerView, b: ServerView) =>
  a.ResourceGroup.localeCompare(b.ResourceGroup) || a.ContainerGroupName.localeCompare(b.ContainerGroupName);

function firstContainerName(group: Record<string, unknown>): string | undefined {
  const containers = group.containers;
  if (!Array.isArray(containers)) return undefined;
  const name = (containers[0] as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}
