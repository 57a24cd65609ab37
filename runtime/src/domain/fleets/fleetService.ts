// The fleets API's use cases (PUT, GET, DELETE /api/fleets/{name}; ACICreate with a fleet) over the
// fleets table, every write conditional on the row's ETag so concurrent writers never lose an update.
// The default fleet is not written by callers: it follows CONTAINER_GROUP_TEMPLATE and AUTOSCALER_*.
import { hasLiveReservations } from '../allocation/booking';
import type { ScalingConfig } from '../autoscaling/policy';
import { FleetError } from '../core/errors';
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
import { parseRequest } from '../core/validation';
import { trackLifecycle, transition } from '../servers/lifecycle';
import { DEFAULT_FLEET, isMemberOf, unknownFleet } from '../servers/membership';
import { mutateServer, writeContention } from '../servers/mutate';
import type { ServerStore } from '../servers/ports';
import type { ContainerGroupTemplate, CreateRequest } from '../servers/requests';
import { describeKey, type ServerKey, type ServerRecord } from '../servers/server';
import type { CreateResult, ServerService } from '../servers/serverService';
import { autoscalerFieldsOf, scalingConfigFor, scalingConfigProblem } from './autoscaling';
import {
  etagOf,
  isDefaultFleet,
  newFleet,
  redactTemplate,
  withLegacyHash,
  withSpec,
  type FleetRecord,
  type FleetView,
  type ObservedStatus,
} from './fleet';
import { fleetStatusOf } from './plan';
import type { FleetStore } from './ports';
import { fleetPath, fleetSpecFor, rolloutSpec, type FleetSpec } from './requests';

export interface FleetOptions {
  /** FLEET_RESOURCE_GROUPS: a template elsewhere is refused. */
  allowedResourceGroups: readonly string[];
  writeAttempts: number;
  /** MaxSessions of a server whose template gives none. */
  defaultMaxSessions: number;
  /** FLEET_MAX_SERVERS: a fleet asking for more servers than the deployment may hold is refused. */
  maxServers?: number;
  /** The AUTOSCALER_* settings: what a fleet's own autoscaler fields fill in. */
  autoscalerDefaults: ScalingConfig;
  /** The default fleet, when CONTAINER_GROUP_TEMPLATE is set; `autoscaled` with AUTOSCALER_ENABLED. */
  defaultFleet?: { template: ContainerGroupTemplate; autoscaled: boolean };
}

export interface FleetServiceDeps {
  store: FleetStore;
  serverStore: ServerStore;
  servers: ServerService;
  options: FleetOptions;
  clock?: Clock;
  log?: Logger;
  telemetry?: Telemetry;
  /** Called when this process made a new revision, so its copy of the fleets' revisions is read again. */
  onRevision?: () => void;
}

/** `If-Match` / `If-None-Match` of a request (RFC 9110): a list of ETags, or `*`. */
export interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

export interface PutResult {
  created: boolean;
  fleet: FleetView;
  etag: string;
}

export class FleetService {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly telemetry: Telemetry;

  constructor(private readonly deps: FleetServiceDeps) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.telemetry = deps.telemetry ?? silentTelemetry;
  }

  // ---- the API -------------------------------------------------------------------------------

  async list(): Promise<FleetView[]> {
    const [fleets, servers] = await Promise.all([this.fleets(), this.allServers()]);
    return fleets.map((f) => this.view(f.value, servers)).sort((a, b) => a.Name.localeCompare(b.Name));
  }

  async get(name: string): Promise<{ fleet: FleetView; etag: string }> {
    checkName(name);
    const row = await this.load(name);
    if (!row) throw unknownFleet(name);
    return { fleet: this.view(row.value, await this.allServers()), etag: etagOf(row.value) };
  }

  /** Creates the fleet (revision 1) or updates it: a changed template is a new revision; the same body again changes nothing. */
  async put(name: string, body: unknown, conditions: Preconditions = {}): Promise<PutResult> {
    checkName(name);
    if (isDefaultFleet(name)) throw settingsOwned(name);
    const spec = this.parseSpec(body);
    for (let attempt = 1; attempt <= this.deps.options.writeAttempts; attempt++) {
      const now = this.clock.now();
      const row = await this.deps.store.get(name);
      checkPreconditions(row?.value, conditions);
      if (!row) {
        try {
          const written = await this.deps.store.insert(newFleet(name, spec, now));
          this.telemetry.trackEvent('FleetCreated', { fleet: name, revision: 1 });
          this.log.info('fleet created', { fleet: name, revision: 1 });
          this.deps.onRevision?.();
          return { created: true, fleet: this.view(written.value, await this.allServers()), etag: etagOf(written.value) };
        } catch (e) {
          if (e instanceof AlreadyExistsError) continue; // a concurrent PUT created it: update that one
          throw e;
        }
      }
      if (row.value.deletingSince) {
        throw new FleetError('Conflict', `Fleet '${name}' is being deleted; PUT it again once it is gone.`, { fleet: name });
      }
      const next = withSpec(row.value, spec, now);
      if (!next) return { created: false, fleet: this.view(row.value, await this.allServers()), etag: etagOf(row.value) };
      try {
        const written = await this.deps.store.replace(next, row.etag);
        if (next.revision !== row.value.revision) {
          this.telemetry.trackEvent('FleetRevisionCreated', { fleet: name, revision: next.revision, previous: row.value.revision });
          this.log.info('fleet revision created', { fleet: name, revision: next.revision });
          this.deps.onRevision?.();
        } else this.log.info('fleet updated', { fleet: name, revision: next.revision });
        return { created: false, fleet: this.view(written.value, await this.allServers()), etag: etagOf(written.value) };
      } catch (e) {
        if (!(e instanceof StaleWriteError)) throw e; // someone else wrote it first: read again, apply again
      }
    }
    throw writeContention(`fleet '${name}'`);
  }

  /** Drains every server of the fleet (each keeps its sessions until they end); the fleet goes once they have. */
  async delete(name: string, conditions: Preconditions = {}): Promise<{ fleet: FleetView; gone: boolean }> {
    checkName(name);
    if (isDefaultFleet(name)) throw settingsOwned(name);
    const row = await this.markDeleting(name, conditions);
    const members = this.membersOf(row.value, await this.allServers());
    await Promise.all(
      members.map((s) =>
        this.drain(s).catch((e) =>
          this.log.warn('could not drain a server; the controller retries', { server: describeKey(s), error: String(e) }),
        ),
      ),
    );
    const after = this.membersOf(row.value, await this.allServers());
    const gone = after.length === 0 && (await this.removeIfEmpty(row, after));
    return { fleet: this.view(row.value, after), gone };
  }

  /** Marks the fleet deleted (once): from then on the controller drains its servers and creates none. */
  private async markDeleting(name: string, conditions: Preconditions): Promise<Versioned<FleetRecord>> {
    for (let attempt = 1; attempt <= this.deps.options.writeAttempts; attempt++) {
      const current = await this.deps.store.get(name);
      if (!current) throw unknownFleet(name);
      checkPreconditions(current.value, conditions);
      if (current.value.deletingSince) return current;
      try {
        const row = await this.deps.store.replace({ ...current.value, deletingSince: this.clock.now().toISOString() }, current.etag);
        this.telemetry.trackEvent('FleetDeleting', { fleet: name, revision: row.value.revision });
        this.log.info('fleet deleting: its servers are drained', { fleet: name });
        return row;
      } catch (e) {
        if (!(e instanceof StaleWriteError)) throw e;
      }
    }
    throw writeContention(`fleet '${name}'`);
  }

  /** ACICreate with a fleet: the server belongs to it, made from its current template unless the request gives a spec. */
  async createServer(req: CreateRequest & { fleet: string }): Promise<CreateResult> {
    const row = await this.load(req.fleet);
    if (!row) throw unknownFleet(req.fleet);
    return this.createFrom(row.value, req);
  }

  /**
   * A server of the fleet's current revision (ServerService.create, so every guard on creates
   * applies). A DELETE of the fleet that raced it wins: the create wrote its row, then reads the
   * fleet; the DELETE wrote the fleet, then reads the rows (see delete), so whichever comes second
   * sees the other, and a server made for a fleet that is gone (or deleted and made again) is drained.
   */
  async createFrom(fleet: FleetRecord, req: Omit<CreateRequest, 'fleet'>): Promise<CreateResult> {
    if (fleet.deletingSince) throw deletingFleet(fleet.name);
    const template = fleet.spec.template;
    const result = await this.deps.servers.create({
      resourceGroup: req.resourceGroup,
      containerGroupName: req.containerGroupName,
      containerGroup: req.containerGroup ?? template.containerGroup,
      maxSessions: req.maxSessions ?? (req.containerGroup ? undefined : template.maxSessions),
      fleet: fleet.name,
      fleetIncarnation: fleet.incarnation,
      revision: fleet.revision,
    });
    if (isDefaultFleet(fleet.name)) return result; // the settings' fleet is never deleted
    const now = (await this.deps.store.get(fleet.name))?.value;
    if (now && !now.deletingSince && now.incarnation === fleet.incarnation) return result;
    await this.drain(req);
    this.log.warn('fleet deleted while a server was being created for it; the server is drained', {
      fleet: fleet.name,
      server: describeKey(req),
    });
    throw deletingFleet(fleet.name);
  }

  // ---- for the controller ----------------------------------------------------------------------

  /** Every fleet there is: the stored ones, and the default one as the settings define it now. */
  async fleets(): Promise<Versioned<FleetRecord>[]> {
    const stored = (await this.deps.store.list()).filter((f) => !isDefaultFleet(f.value.name));
    const defaultFleet = this.deps.options.defaultFleet ? await this.syncDefault() : undefined;
    return defaultFleet ? [defaultFleet, ...stored] : stored;
  }

  /** One fleet, the default one synced from the settings first. */
  async load(name: string): Promise<Versioned<FleetRecord> | undefined> {
    if (isDefaultFleet(name)) return this.deps.options.defaultFleet ? this.syncDefault() : undefined;
    return this.deps.store.get(name);
  }

  membersOf(fleet: Pick<FleetRecord, 'name' | 'incarnation'>, servers: readonly ServerRecord[]): ServerRecord[] {
    return servers.filter((s) => isMemberOf(s, fleet));
  }

  /**
   * Servers made for a fleet that no longer exists, or for an earlier fleet of a name that was made
   * again (a create that lost a race with a DELETE and died before draining its server): no
   * fleet drives them, so the controller drains them.
   */
  orphansOf(fleets: readonly FleetRecord[], servers: readonly ServerRecord[]): ServerRecord[] {
    return servers.filter((s) => s.fleet !== undefined && !isDefaultFleet(s.fleet) && !fleets.some((f) => isMemberOf(s, f)));
  }

  /** The policy's settings for an autoscaled fleet. */
  scalingConfig(spec: FleetSpec): ScalingConfig {
    const { autoscalerDefaults, defaultMaxSessions } = this.deps.options;
    return scalingConfigFor(autoscalerDefaults, spec.autoscaler ?? {}, spec.template, defaultMaxSessions);
  }

  /**
   * Drains a server (it takes no new sessions; ACIGC deletes it once they end), whatever state it
   * serves or failed in; with `unlessBooked`, not one a player was booked onto since the decision.
   */
  async drain(server: ServerKey, options: { unlessBooked?: boolean } = {}): Promise<boolean> {
    let drained = false;
    await mutateServer(
      this.deps.serverStore,
      this.deps.options.writeAttempts,
      server,
      (r) => {
        drained = false;
        if (r.state !== 'Running' && r.state !== 'Creating' && r.state !== 'Failed') return undefined;
        if (options.unlessBooked && hasLiveReservations(r, this.clock.now())) return undefined;
        drained = true;
        const next = transition(r, 'MarkedForDeletion', 'operator', this.clock.now());
        // A Failed container holds no live session: what its row last said would keep it from ACIGC
        // forever (and a rollout from completing). A server that is alive after all reports again.
        return r.state === 'Failed' ? { ...next, activeSessions: 0, reservations: undefined } : next;
      },
      undefined,
      (before, after) => trackLifecycle(this.telemetry, before, after),
    );
    return drained;
  }

  /** Notes what the controller saw, with the row's ETag (a concurrent PUT wins, and this is applied on top). */
  async observe(name: string, observed: ObservedStatus): Promise<Versioned<FleetRecord> | undefined> {
    for (let attempt = 1; attempt <= this.deps.options.writeAttempts; attempt++) {
      const row = await this.deps.store.get(name);
      if (!row) return undefined;
      try {
        return await this.deps.store.replace({ ...row.value, observed }, row.etag);
      } catch (e) {
        if (!(e instanceof StaleWriteError)) throw e;
      }
    }
    throw writeContention(`fleet '${name}'`);
  }

  /** Removes a deleted fleet's row once it has no servers left; false if it changed meanwhile (the next run looks again). */
  async removeIfEmpty(row: Versioned<FleetRecord>, members: readonly ServerRecord[]): Promise<boolean> {
    if (!row.value.deletingSince || members.length > 0) return false;
    try {
      await this.deps.store.remove(row.value.name, row.etag);
    } catch (e) {
      if (e instanceof StaleWriteError) return false;
      throw e;
    }
    this.telemetry.trackEvent('FleetDeleted', { fleet: row.value.name, revision: row.value.revision });
    this.log.info('fleet deleted: its last server is gone', { fleet: row.value.name });
    return true;
  }

  view(fleet: FleetRecord, servers: readonly ServerRecord[]): FleetView {
    const members = this.membersOf(fleet, servers);
    const alive = members.filter((s) => s.state === 'Running' || s.state === 'Creating').length;
    const desired = fleet.spec.replicas ?? fleet.observed?.desired ?? alive;
    return {
      Name: fleet.name,
      Revision: fleet.revision,
      Template: redactTemplate(fleet.spec.template),
      Replicas: fleet.spec.replicas ?? null,
      Autoscaler: fleet.spec.autoscaler ? autoscalerFieldsOf(this.scalingConfig(fleet.spec)) : null,
      Rollout: fleet.spec.rollout,
      DefinedBy: fleet.definedBy,
      Deleting: fleet.deletingSince !== undefined,
      CreatedAt: fleet.createdAt,
      UpdatedAt: fleet.updatedAt,
      Status: fleetStatusOf(fleet, members, fleet.deletingSince ? 0 : desired, this.clock.now()),
    };
  }

  // ---- inside ----------------------------------------------------------------------------------

  private parseSpec(body: unknown): FleetSpec {
    const spec = parseRequest(fleetSpecFor(this.deps.options.allowedResourceGroups), body);
    const invalid = (path: string, message: string) =>
      new FleetError('ValidationFailed', `Invalid request: ${path}: ${message}`, [{ path, message }]);
    const limit = this.deps.options.maxServers;
    const beyondLimit = (n: number) => `must be at most ${limit}, the most servers this deployment holds (FLEET_MAX_SERVERS); ${n} is more`;
    if (limit !== undefined && spec.replicas !== undefined && spec.replicas > limit) throw invalid('replicas', beyondLimit(spec.replicas));
    if (spec.autoscaler) {
      const config = this.scalingConfig(spec);
      if (limit !== undefined && config.maxInstances > limit)
        throw invalid('autoscaler.maximumInstances', beyondLimit(config.maxInstances));
      // Rules across settings hold for the merged ones: a fleet's minimum may clash with the deployment's maximum.
      const problem = scalingConfigProblem(config);
      if (problem) throw invalid(`autoscaler.${problem[0]}`, problem[1]);
    }
    return spec;
  }

  private allServers(): Promise<ServerRecord[]> {
    return this.deps.serverStore.list().then((rows) => rows.map((r) => r.value));
  }

  /** The default fleet's row, brought in line with the settings: a changed CONTAINER_GROUP_TEMPLATE is a new revision. */
  private async syncDefault(): Promise<Versioned<FleetRecord>> {
    const { defaultFleet, defaultMaxSessions, writeAttempts } = this.deps.options;
    const spec: FleetSpec = {
      template: defaultFleet!.template,
      autoscaler: defaultFleet!.autoscaled ? {} : undefined,
      rollout: rolloutSpec.parse({}),
    };
    for (let attempt = 1; attempt <= writeAttempts; attempt++) {
      const now = this.clock.now();
      const row = await this.deps.store.get(DEFAULT_FLEET);
      try {
        if (!row) {
          const written = await this.deps.store.insert(withLegacyHash(newFleet(DEFAULT_FLEET, spec, now, 'settings'), defaultMaxSessions));
          this.telemetry.trackEvent('FleetCreated', { fleet: DEFAULT_FLEET, revision: 1 });
          return written;
        }
        const changed = withSpec(row.value, spec, now) ?? row.value;
        const next = withLegacyHash({ ...changed, definedBy: 'settings' }, defaultMaxSessions);
        if (next === row.value) return row;
        const written = await this.deps.store.replace(next, row.etag);
        if (next.revision !== row.value.revision) {
          this.telemetry.trackEvent('FleetRevisionCreated', {
            fleet: DEFAULT_FLEET,
            revision: next.revision,
            previous: row.value.revision,
          });
          this.log.info('the default fleet has a new revision: CONTAINER_GROUP_TEMPLATE changed', { revision: next.revision });
          this.deps.onRevision?.();
        }
        return written;
      } catch (e) {
        if (!(e instanceof AlreadyExistsError || e instanceof StaleWriteError)) throw e;
      }
    }
    throw writeContention('the default fleet');
  }
}

function checkName(name: string): void {
  parseRequest(fleetPath, { name });
}

const deletingFleet = (name: string) =>
  new FleetError('Conflict', `Fleet '${name}' is being deleted; it takes no new servers.`, { fleet: name });

const settingsOwned = (name: string) =>
  new FleetError(
    'Conflict',
    `Fleet '${name}' is defined by the app settings (CONTAINER_GROUP_TEMPLATE and AUTOSCALER_*); change them instead, or name another fleet.`,
    { fleet: name },
  );

function checkPreconditions(fleet: FleetRecord | undefined, { ifMatch, ifNoneMatch }: Preconditions): void {
  const tags = (header: string) => header.split(',').map((t) => t.trim().replace(/^W\//, ''));
  const etag = fleet && etagOf(fleet);
  if (ifMatch !== undefined && !(etag && (tags(ifMatch).includes('*') || tags(ifMatch).includes(etag)))) {
    throw new FleetError(
      'PreconditionFailed',
      fleet
        ? `The fleet changed since you read it (ETag ${etag}); GET it again and reapply your change.`
        : 'The fleet does not exist (If-Match).',
      { etag: etag ?? null },
    );
  }
  if (ifNoneMatch !== undefined && etag && (tags(ifNoneMatch).includes('*') || tags(ifNoneMatch).includes(etag))) {
    throw new FleetError('PreconditionFailed', `The fleet exists already (ETag ${etag}; If-None-Match).`, { etag });
  }
}
