// FleetStore on Azure Table Storage: one row per fleet in the deployment's partition (so
// deployments sharing an account keep theirs apart), every write conditional on its ETag.
import { odata, RestError, type TableClient, type TableEntity, type TableEntityResult } from '@azure/data-tables';
import { storageUnavailable, tableCreator } from './storage';
import { AlreadyExistsError, StaleWriteError, type Versioned } from '../domain/core/ports';
import type { FleetRecord } from '../domain/fleets/fleet';
import type { FleetStore } from '../domain/fleets/ports';
import { MAX_FLEET_SPEC_CHARS } from '../domain/fleets/requests';

/** A string property holds 64 KiB of UTF-16: a longer spec goes in several, enough for the longest the schema lets through. */
const CHARS_PER_PROPERTY = 30_000;
const SPEC_PROPERTIES = 4;
if (SPEC_PROPERTIES * CHARS_PER_PROPERTY < MAX_FLEET_SPEC_CHARS) throw new Error('fleetStore: a row holds less than MAX_FLEET_SPEC_CHARS');

type FleetEntity = TableEntity<{
  /** JSON of the spec, `{template, replicas?, autoscaler?, rollout}`, continued in Spec1, Spec2… when long. */
  Spec: string;
  Spec1?: string;
  Spec2?: string;
  Spec3?: string;
  Revision: number;
  TemplateHash: string;
  RevisionAt: string;
  CreatedAt: string;
  UpdatedAt: string;
  DefinedBy: string;
  Incarnation?: string;
  DeletingSince?: string;
  /** JSON: spec hash → revision, for the default fleet's servers made before fleets. */
  LegacySpecHashes?: string;
  /** JSON of what the last controller run saw. */
  Observed?: string;
}>;

export class TableFleetStore implements FleetStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(
    private readonly table: TableClient,
    /** FLEET_NAME: the deployment's partition. */
    private readonly partition: string,
  ) {
    this.ensureTable = tableCreator(table);
  }

  async get(name: string): Promise<Versioned<FleetRecord> | undefined> {
    await this.ensureTable();
    try {
      return fromEntity(await this.table.getEntity<FleetEntity>(this.partition, name));
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return undefined;
      throw storageUnavailable(e);
    }
  }

  async insert(record: FleetRecord): Promise<Versioned<FleetRecord>> {
    await this.ensureTable();
    try {
      const { etag } = await this.table.createEntity(this.toEntity(record));
      return { value: record, etag: etag! };
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 409) throw new AlreadyExistsError(`fleet ${record.name}`);
      throw storageUnavailable(e);
    }
  }

  async replace(record: FleetRecord, etag: string): Promise<Versioned<FleetRecord>> {
    await this.ensureTable();
    try {
      const result = await this.table.updateEntity(this.toEntity(record), 'Replace', { etag });
      return { value: record, etag: result.etag! };
    } catch (e) {
      if (e instanceof RestError && (e.statusCode === 412 || e.statusCode === 404)) throw new StaleWriteError(`fleet ${record.name}`);
      throw storageUnavailable(e);
    }
  }

  async remove(name: string, etag: string): Promise<void> {
    await this.ensureTable();
    try {
      await this.table.deleteEntity(this.partition, name, { etag });
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return;
      if (e instanceof RestError && e.statusCode === 412) throw new StaleWriteError(`fleet ${name}`);
      throw storageUnavailable(e);
    }
  }

  async list(): Promise<Versioned<FleetRecord>[]> {
    await this.ensureTable();
    const rows: Versioned<FleetRecord>[] = [];
    try {
      for await (const e of this.table.listEntities<FleetEntity>({ queryOptions: { filter: odata`PartitionKey eq ${this.partition}` } })) {
        rows.push(fromEntity(e));
      }
    } catch (e) {
      throw storageUnavailable(e);
    }
    return rows;
  }

  private toEntity(r: FleetRecord): FleetEntity {
    return {
      partitionKey: this.partition,
      rowKey: r.name,
      ...specProperties(JSON.stringify(r.spec)),
      Revision: r.revision,
      TemplateHash: r.templateHash,
      RevisionAt: r.revisionAt,
      CreatedAt: r.createdAt,
      UpdatedAt: r.updatedAt,
      DefinedBy: r.definedBy,
      Incarnation: r.incarnation,
      DeletingSince: r.deletingSince,
      LegacySpecHashes: r.legacySpecHashes ? JSON.stringify(r.legacySpecHashes) : undefined,
      Observed: r.observed ? JSON.stringify(r.observed) : undefined,
    };
  }
}

function specProperties(json: string): Pick<FleetEntity, 'Spec' | 'Spec1' | 'Spec2' | 'Spec3'> {
  const parts = Array.from({ length: SPEC_PROPERTIES }, (_, i) => json.slice(i * CHARS_PER_PROPERTY, (i + 1) * CHARS_PER_PROPERTY));
  if (json.length > SPEC_PROPERTIES * CHARS_PER_PROPERTY) throw new Error(`a fleet spec of ${json.length} characters does not fit a row`);
  return { Spec: parts[0]!, Spec1: parts[1] || undefined, Spec2: parts[2] || undefined, Spec3: parts[3] || undefined };
}

function fromEntity(e: TableEntityResult<FleetEntity>): Versioned<FleetRecord> {
  return {
    etag: e.etag!,
    value: {
      name: e.rowKey!,
      spec: JSON.parse([e.Spec, e.Spec1, e.Spec2, e.Spec3].filter(Boolean).join('')) as FleetRecord['spec'],
      revision: Number(e.Revision),
      templateHash: e.TemplateHash,
      revisionAt: e.RevisionAt,
      createdAt: e.CreatedAt,
      updatedAt: e.UpdatedAt,
      definedBy: e.DefinedBy === 'settings' ? 'settings' : 'api',
      incarnation: e.Incarnation || undefined,
      deletingSince: e.DeletingSince || undefined,
      legacySpecHashes: e.LegacySpecHashes ? (JSON.parse(e.LegacySpecHashes) as Record<string, number>) : undefined,
      observed: e.Observed ? (JSON.parse(e.Observed) as FleetRecord['observed']) : undefined,
    },
  };
}
