// A fleet as the fleets table keeps it (one row per fleet), its revisions, and the view callers
// receive. Pure: the service (./fleetService.ts) reads and writes it with ETags.
import { z } from 'zod';
import { stableHash } from '../core/hash';
import { DEFAULT_FLEET, type FleetRevision } from '../servers/membership';
import { containerGroupTemplate } from '../servers/requests';
import { newIncarnation, serverSpecHash } from '../servers/server';
import { STATES } from '../servers/states';
import { redactSecrets } from '../core/secrets';
import type { FleetSpec, RolloutSpec } from './requests';

/** Where the rollout of a fleet stands. */
export const ROLLOUT_STATES = ['Complete', 'Progressing', 'Paused', 'Deleting'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** Known revisions kept for the default fleet's servers made before fleets (their spec hash tells their revision). */
const LEGACY_REVISIONS_KEPT = 20;

export interface FleetRecord {
  name: string;
  spec: FleetSpec;
  /** 1, 2, …: a new one whenever the template's normalised hash changes. */
  revision: number;
  templateHash: string;
  /** When the current revision was made (its rollout started). */
  revisionAt: string;
  createdAt: string;
  updatedAt: string;
  /** `settings`: the default fleet, made from CONTAINER_GROUP_TEMPLATE and the AUTOSCALER_* settings. */
  definedBy: 'api' | 'settings';
  /** Random at create: servers of a deleted fleet never join a new one of the same name. Absent on rows made before incarnations. */
  incarnation?: string;
  /** Set by DELETE: every server is drained, and the row goes once they all have. */
  deletingSince?: string;
  /** For the default fleet: the spec hash a server made from each recent revision's template has. */
  legacySpecHashes?: Record<string, number>;
  /** What the last controller run saw and decided (its size, the rollout's state and why). */
  observed?: ObservedStatus;
}

export interface ObservedStatus {
  state: RolloutState;
  reason: string;
  /** Servers the fleet should have (replicas, the autoscaler's decision, or its size when it is sized by hand). */
  desired: number;
  at: string;
  /** The revision that state was about. */
  revision: number;
  /** When the rollout to `revision` was seen complete. */
  completedAt?: string;
  /**
   * Azure refused to create a server of `revision` (ARM answered 4xx: an image its registry does
   * not have, a spec it rejects): the rollout is paused until a new revision or REFUSED_RETRY_MS.
   */
  refused?: { message: string; at: string };
  /**
   * The last run's creates found ACI's quota in the region used up (ContainerGroupQuotaReached):
   * ARM's words, how many of the fleet's servers in that region were on their way out to make room,
   * and the region. Not the revision's fault: nothing pauses, old servers give way within
   * maxUnavailable (each one deleted frees its share) and each run asks again.
   */
  quotaReached?: { message: string; leaving: number; location: string };
}

/** The normalised hash of a template: key order and defaults never make a new revision. */
export const templateHashOf = (template: FleetSpec['template']) => stableHash(template);

/** The spec hash a server made from this template gets (ServerRecord.specHash), without a fleet. */
export const legacyServerHashOf = (template: FleetSpec['template'], defaultMaxSessions: number) =>
  serverSpecHash(template.containerGroup, template.maxSessions ?? defaultMaxSessions);

/** The first revision of a fleet. */
export function newFleet(name: string, spec: FleetSpec, now: Date, definedBy: FleetRecord['definedBy'] = 'api'): FleetRecord {
  const at = now.toISOString();
  return {
    name,
    spec,
    revision: 1,
    templateHash: templateHashOf(spec.template),
    revisionAt: at,
    createdAt: at,
    updatedAt: at,
    definedBy,
    // The default fleet is never deleted, so it has no incarnation to tell apart (and its row may be written again at any time).
    ...(definedBy === 'api' ? { incarnation: newIncarnation() } : {}),
  };
}

/**
 * The fleet after a PUT of `spec`: a new revision when the template changed, the same one when only
 * the size or rollout did, and undefined when nothing changed at all (the PUT is a no-op).
 */
export function withSpec(fleet: FleetRecord, spec: FleetSpec, now: Date): FleetRecord | undefined {
  const templateHash = templateHashOf(spec.template);
  if (templateHash === fleet.templateHash && stableHash(spec) === stableHash(fleet.spec)) return undefined;
  const at = now.toISOString();
  // A row written by an older version holds the template as that version read it: read as it would be now, it may be this one.
  const revised = templateHash !== fleet.templateHash && templateHash !== canonicalHashOf(fleet.spec.template);
  return {
    ...fleet,
    spec,
    templateHash,
    updatedAt: at,
    ...(revised ? { revision: fleet.revision + 1, revisionAt: at } : {}),
  };
}

/** The hash of a stored template as the schema reads templates today (enum casing, region names, defaults). */
function canonicalHashOf(template: FleetSpec['template']): string {
  const parsed = containerGroupTemplate.safeParse(template);
  return templateHashOf(parsed.success ? parsed.data : template);
}

/** Remembers which spec hash the current revision's servers have (default fleet only; bounded). */
export function withLegacyHash(fleet: FleetRecord, defaultMaxSessions: number): FleetRecord {
  const hash = legacyServerHashOf(fleet.spec.template, defaultMaxSessions);
  if (fleet.legacySpecHashes?.[hash] === fleet.revision) return fleet;
  const kept = Object.entries(fleet.legacySpecHashes ?? {})
    .filter(([h]) => h !== hash)
    .sort(([, a], [, b]) => b - a)
    .slice(0, LEGACY_REVISIONS_KEPT - 1);
  return { ...fleet, legacySpecHashes: Object.fromEntries([[hash, fleet.revision], ...kept]) };
}

export const revisionInfo = (fleet: FleetRecord): FleetRevision => ({
  revision: fleet.revision,
  incarnation: fleet.incarnation,
  legacySpecHashes: fleet.legacySpecHashes,
  servers: fleet.deletingSince
    ? undefined
    : {
        location: fleet.spec.template.containerGroup.location.toLowerCase(),
        resourceGroup: fleet.spec.template.resourceGroup,
        maxSessions: fleet.spec.template.maxSessions,
        onDemand: fleet.spec.autoscaler !== undefined,
      },
});

/** The HTTP ETag of a fleet's spec: changes with every accepted PUT, never with the controller's bookkeeping. */
export const etagOf = (fleet: FleetRecord) => `"${fleet.revision}-${stableHash(fleet.spec).slice(0, 16)}"`;

/** Servers by count or percentage of `size`: a surge rounds up, an allowance of unavailable servers down (as Kubernetes does). */
export function resolveRollout(rollout: RolloutSpec, size: number): { maxSurge: number; maxUnavailable: number } {
  const resolve = (v: number | string, round: (x: number) => number) =>
    typeof v === 'number' ? v : round((Number(v.slice(0, -1)) * size) / 100);
  let maxSurge = resolve(rollout.maxSurge, Math.ceil);
  const maxUnavailable = resolve(rollout.maxUnavailable, Math.floor);
  // Both can round to 0 for a tiny fleet ("10%" of 3 unavailable, "0%" surge): one at a time then.
  if (maxSurge === 0 && maxUnavailable === 0) maxSurge = 1;
  return { maxSurge, maxUnavailable };
}

/** The template as the fleets API shows it: every secret redacted (the list ACIDetails uses), so the API never hands one out. */
export function redactTemplate(template: FleetSpec['template']): FleetSpec['template'] {
  return { ...template, containerGroup: redactSecrets(template.containerGroup) };
}

export const isDefaultFleet = (name: string) => name === DEFAULT_FLEET;

// ---- the view ----------------------------------------------------------------------------------

const stateCounts = Object.fromEntries(STATES.map((s) => [s, z.number().int().min(0)])) as Record<(typeof STATES)[number], z.ZodNumber>;

export const fleetRevisionStatus = z.object({
  Revision: z.number().int().nullable().describe('null: servers created without a fleet whose template is not known'),
  Current: z.boolean(),
  ...stateCounts,
  ActiveSessions: z.number().int().min(0),
});

export const fleetStatus = z.object({
  State: z.enum(ROLLOUT_STATES).describe('Complete once no server of an older revision is left'),
  Reason: z.string(),
  Desired: z.number().int().min(0).describe('servers the fleet should have'),
  Ready: z.number().int().min(0).describe('Running servers of the current revision'),
  Outdated: z.number().int().min(0).describe('servers of older revisions still there (draining ones included)'),
  OutdatedSessions: z.number().int().min(0).describe('sessions those servers still hold: they stay until these end'),
  Servers: z.array(fleetRevisionStatus).describe('servers per revision and state'),
  RevisionAt: z.string().describe('when the current revision was made (its rollout started)'),
  CompletedAt: z.string().nullable().describe('when the rollout to the current revision was seen complete'),
  ObservedAt: z.string().nullable().describe("the fleet controller's last run"),
  QuotaReached: z
    .string()
    .nullable()
    .describe("ARM's words while ACI's quota in the fleet's region holds its creates back (ContainerGroupQuotaReached); null otherwise"),
});
export type FleetStatus = z.infer<typeof fleetStatus>;

const loose = z.record(z.string(), z.unknown());

/** A fleet as every fleets endpoint returns it. */
export const fleetView = z.object({
  Name: z.string(),
  Revision: z.number().int().min(1),
  Template: loose.describe('the ACICreate body without containerGroupName (every secret shown as <redacted>)'),
  Replicas: z.number().int().min(0).nullable(),
  Autoscaler: loose.nullable().describe("this fleet's autoscaler settings, AUTOSCALER_* defaults filled in"),
  Rollout: z.object({ maxSurge: z.union([z.number(), z.string()]), maxUnavailable: z.union([z.number(), z.string()]) }),
  DefinedBy: z.enum(['api', 'settings']).describe('settings: the default fleet, from CONTAINER_GROUP_TEMPLATE and AUTOSCALER_*'),
  Deleting: z.boolean(),
  CreatedAt: z.string(),
  UpdatedAt: z.string(),
  Status: fleetStatus,
});
export type FleetView = z.infer<typeof fleetView>;
