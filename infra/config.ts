// The stack's settings: every `aci-fleet:*` key, its type and its default (the stack's own, or for
// the runtime's options the runtime's), validated before any resource is declared so that a bad
// value fails `pulumi preview` with the key's name, and never reaches a runtime that would refuse it.
import * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
// The runtime's own schema of CONTAINER_GROUP_TEMPLATE: one definition, so a template the runtime
// would refuse (and with it refuse to start) fails `pulumi preview` instead.
import { containerGroupTemplate as runtimeTemplateSchema } from '../runtime/src/domain/servers/requests';

/** Namespace of this project's configuration keys (`aci-fleet:location`, ...). */
export const CONFIG_NAMESPACE = 'aci-fleet';

export type AutoscalerPolicy = 'threshold' | 'buffer';

export interface ContainerResourceGroupConfig {
  /** Resource group that holds the fleet's container groups. */
  name: string;
  /** true: the group exists already and is only referenced; false: the stack creates (and deletes) it. */
  existing: boolean;
}

/**
 * The runtime's defaults (runtime/src/config.ts) for what a stack may leave unset. The stack writes
 * an app setting only for a key its file sets, so these are what the app then does; infra uses them
 * to check combinations (minimum ≤ maximum, ...) the way the runtime will. A test keeps them equal.
 */
export const RUNTIME_DEFAULTS = {
  defaultMaxSessions: 10,
  gcSchedule: '0 */1 * * * *',
  reconcileSchedule: '0 */5 * * * *',
  metricsSchedule: '30 */1 * * * *',
  creatingTimeoutMinutes: 15,
  allocation: { reservationTtlSeconds: 60, reportGraceSeconds: 5, retryAfterSeconds: 5, snapshotMaxAgeMs: 1000 },
  autoscaler: {
    policy: 'buffer',
    schedule: '*/30 * * * * *',
    minimumInstances: 1,
    maximumInstances: 10,
    scaleOutThreshold: 0.8,
    scaleInThreshold: 0.6,
    cooldownInMinutes: 10,
    scaleOutCooldownSeconds: 0,
    bufferSlots: 24,
    bufferPercent: 10,
    createQuota: 100,
    createQuotaWindowSeconds: 300,
    demandWindowSeconds: 60,
  },
  retries: {
    armMaxRetries: 4,
    armRetryDelayMs: 500,
    armMaxRetryDelayMs: 8000,
    storageMaxRetries: 2,
    storageTimeoutMs: 10_000,
    writeAttempts: 8,
  },
} as const;

/** Unset fields are left to the runtime ({@link RUNTIME_DEFAULTS}); only `enabled` is always written. */
export interface AutoscalerConfig {
  enabled: boolean;
  policy?: AutoscalerPolicy;
  /** NCRONTAB (six fields). */
  schedule?: string;
  minimumInstances?: number;
  maximumInstances?: number;
  scaleOutThreshold?: number;
  scaleInThreshold?: number;
  /** The original's single cooldown; the default of scaleInCooldownSeconds. */
  cooldownInMinutes?: number;
  scaleOutCooldownSeconds?: number;
  scaleInCooldownSeconds?: number;
  bufferSlots?: number;
  bufferPercent?: number;
  createQuota?: number;
  createQuotaWindowSeconds?: number;
  demandWindowSeconds?: number;
  /** JSON of the ACICreate body (without containerGroupName) new servers are made from: CONTAINER_GROUP_TEMPLATE. */
  containerGroupTemplate?: string;
}

/** ACIAllocate's bookings; unset fields are left to the runtime. */
export interface AllocationConfig {
  reservationTtlSeconds?: number;
  reportGraceSeconds?: number;
  retryAfterSeconds?: number;
  /** ALLOCATION_SNAPSHOT_MAX_AGE_MS: how stale a copy of the Running servers ACIAllocate may choose from. */
  snapshotMaxAgeMs?: number;
}

/** Retries of ARM and Table Storage calls, and of conflicting (412) writes; unset fields are left to the runtime. */
export interface RetryConfig {
  armMaxRetries?: number;
  armRetryDelayMs?: number;
  armMaxRetryDelayMs?: number;
  storageMaxRetries?: number;
  storageTimeoutMs?: number;
  writeAttempts?: number;
}

export interface FleetConfig {
  /** Azure region of the app and its data, e.g. `westeurope`. One stack per region. */
  location: string;
  /** Ownership tag value put on every container group, and the stem of every resource name. */
  fleetName: string;
  appResourceGroupName: string;
  containerResourceGroups: ContainerResourceGroupConfig[];
  /** Table with one row per server. */
  tableName: string;
  /** Table of recent allocation misses (the autoscaler's demand signal). */
  demandTableName: string;
  /** Whether ACIList and the server page can be read without a key (always written: it is access control). */
  serverListPublic: boolean;
  /** Flex Consumption `maximumInstanceCount`. */
  maxFunctionInstances: number;
  /** Flex Consumption `instanceMemoryMB`. */
  instanceMemoryMB: 2048 | 4096;
  // The runtime's behaviour: unset means the runtime's default (RUNTIME_DEFAULTS).
  defaultMaxSessions?: number;
  gcSchedule?: string;
  reconcileSchedule?: string;
  /** NCRONTAB of ACIMetrics; "" turns it off. */
  metricsSchedule?: string;
  creatingTimeoutMinutes?: number;
  heartbeatTimeoutSeconds?: number;
  allocation: AllocationConfig;
  autoscaler: AutoscalerConfig;
  retries: RetryConfig;
  eventDelivery: { maxDeliveryAttempts: number; eventTimeToLiveInMinutes: number };
  logRetentionDays: number;
  /** Folder holding the Functions app (`src/index.ts` + `host.json`), relative to the project. */
  runtimeDir: string;
  tags: Record<string, string>;
}

/** Thrown with one line per invalid key; `pulumi preview` prints it and stops. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid ${CONFIG_NAMESPACE} configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// ---------------------------------------------------------------------------------------------
// Small validators, exported because they are decisions worth testing on their own.

/** `westeurope`, `eastus2`: the programmatic region name, not the display name ("West Europe"). */
export function isRegionName(value: string): boolean {
  return /^[a-z][a-z0-9]{2,39}$/.test(value);
}

/** Six NCRONTAB fields (`{second} {minute} {hour} {day} {month} {day-of-week}`), as Functions timers expect. */
export function isNcrontab(value: string): boolean {
  const fields = value.trim().split(/\s+/);
  return fields.length === 6 && fields.every((f) => /^[0-9*/,\-A-Za-z]+$/.test(f));
}

/** Azure resource group name rules: 1-90 of letters, digits, `-_.()`, not ending with a period. */
export function isResourceGroupName(value: string): boolean {
  return /^[-\w.()]{1,90}$/.test(value) && !value.endsWith('.');
}

/** Lowercase letters, digits and hyphens: it becomes part of DNS names (the Function App). */
export function isFleetName(value: string): boolean {
  return /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/.test(value) && !value.includes('--');
}

// ---------------------------------------------------------------------------------------------

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
  error: 'must be true or false',
});
const fromText = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v);
const int = (min: number, max: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.preprocess(fromText, z.number({ error }).int({ error }).min(min, { error }).max(max, { error }));
};
const number = (min: number, max: number) => {
  const error = `must be a number from ${min} to ${max}`;
  return z.preprocess(fromText, z.number({ error }).min(min, { error }).max(max, { error }));
};
/** The runtime's bounds: the scale-out threshold is in (0, 1], the scale-in threshold in [0, 1). */
const scaleOutFraction = z.preprocess(
  fromText,
  z.number({ error: 'must be a fraction above 0 and at most 1' }).gt(0).max(1, {
    error: 'must be a fraction above 0 and at most 1',
  }),
);
const scaleInFraction = z.preprocess(
  fromText,
  z.number({ error: 'must be a fraction from 0 and below 1' }).min(0).lt(1, {
    error: 'must be a fraction from 0 and below 1',
  }),
);
const schedule = z.string().refine(isNcrontab, {
  message: 'must be an NCRONTAB expression with six fields, e.g. "0 */5 * * * *"',
});
/** The table name rule the runtime applies (Azure's: 3-63 letters or digits, starting with a letter). */
const tableName = z.string().regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be 3-63 letters or digits, starting with a letter');

const resourceGroupEntry = z.union([
  z.string().transform((name) => ({ name, existing: false })),
  z.object({ name: z.string(), existing: bool.default(false) }).strict(),
]);

/**
 * The autoscaler's template, as YAML structure or JSON text, checked with the runtime's own schema
 * and handed on as JSON text (as written: the runtime parses it again at start-up).
 */
const containerGroupTemplate = z.union([z.record(z.string(), z.unknown()), z.string()]).transform((t, ctx) => {
  let value: unknown = t;
  if (typeof t === 'string') {
    try {
      value = JSON.parse(t);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a YAML map (an ACICreate body without containerGroupName) or its JSON' });
      return z.NEVER;
    }
  }
  const parsed = runtimeTemplateSchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    return z.NEVER;
  }
  return JSON.stringify(value);
});

/** `the default 0.6` or `0.6`: says where a value in a message came from. */
const shown = (value: number, given: number | undefined) => (given === undefined ? `the default ${value}` : String(value));

const autoscalerSchema = z
  .object({
    enabled: bool.default(false),
    policy: z.enum(['threshold', 'buffer']).optional(),
    schedule: schedule.optional(),
    minimumInstances: int(0, 1000).optional(),
    maximumInstances: int(1, 1000).optional(),
    scaleOutThreshold: scaleOutFraction.optional(),
    scaleInThreshold: scaleInFraction.optional(),
    cooldownInMinutes: int(0, 24 * 60).optional(),
    scaleOutCooldownSeconds: int(0, 24 * 3600).optional(),
    scaleInCooldownSeconds: int(0, 24 * 3600).optional(),
    bufferSlots: int(0, 100_000).optional(),
    bufferPercent: number(0, 95).optional(),
    createQuota: int(1, 100_000).optional(),
    createQuotaWindowSeconds: int(1, 24 * 3600).optional(),
    demandWindowSeconds: int(1, 24 * 3600).optional(),
    containerGroupTemplate: containerGroupTemplate.optional(),
  })
  .strict()
  // The runtime refuses to start on these combinations, so they must fail here, defaults included.
  .superRefine((a, ctx) => {
    const d = RUNTIME_DEFAULTS.autoscaler;
    const min = a.minimumInstances ?? d.minimumInstances;
    const max = a.maximumInstances ?? d.maximumInstances;
    // maximumInstances is at least 1, the default minimum: only a given minimum can exceed it.
    if (min > max) {
      ctx.addIssue({
        code: 'custom',
        path: ['minimumInstances'],
        message: `must not exceed maximumInstances (${min} > ${shown(max, a.maximumInstances)})`,
      });
    }
    const scaleIn = a.scaleInThreshold ?? d.scaleInThreshold;
    const scaleOut = a.scaleOutThreshold ?? d.scaleOutThreshold;
    if (scaleIn >= scaleOut) {
      ctx.addIssue({
        code: 'custom',
        path: [a.scaleInThreshold === undefined ? 'scaleOutThreshold' : 'scaleInThreshold'],
        message:
          a.scaleInThreshold === undefined
            ? `must be above scaleInThreshold (${scaleOut} <= ${shown(scaleIn, a.scaleInThreshold)}), or the fleet flaps`
            : `must be below scaleOutThreshold (${scaleIn} >= ${shown(scaleOut, a.scaleOutThreshold)}), or the fleet flaps`,
      });
    }
    if (a.enabled && a.containerGroupTemplate === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['containerGroupTemplate'],
        message: 'is required when the autoscaler is enabled: the ACICreate body (without containerGroupName) it creates servers from',
      });
    }
  });

const location = z
  .string({ error: 'is required: set aci-fleet:location (or azure-native:location), e.g. westeurope' })
  .refine(isRegionName, {
    message: 'must be a region name such as "westeurope" or "eastus2" (lowercase, no spaces)',
  });

/**
 * The keys a stack file may set under `aci-fleet:` (anything else is a typo and fails). The two
 * defaults that depend on the stack (location, fleetName) are applied by {@link parseConfig}.
 */
const configSchema = z
  .object({
    location,
    fleetName: z
      .string()
      .refine(isFleetName, { message: 'must be 3-32 lowercase letters, digits or single hyphens' })
      .optional(),
    appResourceGroupName: z.string().refine(isResourceGroupName, { message: 'is not a valid resource group name' }).optional(),
    containerResourceGroups: z.array(resourceGroupEntry).optional(),
    tableName: tableName.default('ACIDetails'),
    demandTableName: tableName.default('FleetDemand'),
    serverListPublic: bool.default(false),
    maxFunctionInstances: int(1, 1000).default(40),
    instanceMemoryMB: z
      .preprocess(fromText, z.union([z.literal(2048), z.literal(4096)], { error: 'must be 2048 or 4096' }))
      .default(2048),
    defaultMaxSessions: int(1, 100_000).optional(),
    gcSchedule: schedule.optional(),
    reconcileSchedule: schedule.optional(),
    metricsSchedule: z
      .string()
      .refine((v) => v === '' || isNcrontab(v), {
        message: 'must be an NCRONTAB expression with six fields, or "" to turn ACIMetrics off',
      })
      .optional(),
    creatingTimeoutMinutes: int(1, 24 * 60).optional(),
    heartbeatTimeoutSeconds: int(10, 24 * 3600).optional(),
    allocation: z
      .object({
        reservationTtlSeconds: int(1, 3600).optional(),
        reportGraceSeconds: number(0, 3600).optional(),
        retryAfterSeconds: int(1, 600).optional(),
        snapshotMaxAgeMs: int(0, 60_000).optional(),
      })
      .strict()
      .prefault({}),
    autoscaler: autoscalerSchema.prefault({}),
    retries: z
      .object({
        armMaxRetries: int(0, 10).optional(),
        armRetryDelayMs: int(0, 60_000).optional(),
        armMaxRetryDelayMs: int(0, 300_000).optional(),
        storageMaxRetries: int(0, 10).optional(),
        storageTimeoutMs: int(100, 120_000).optional(),
        writeAttempts: int(1, 50).optional(),
      })
      .strict()
      .prefault({}),
    eventDelivery: z
      .object({
        maxDeliveryAttempts: int(1, 30).default(30),
        eventTimeToLiveInMinutes: int(1, 1440).default(1440),
      })
      .strict()
      .prefault({}),
    logRetentionDays: int(30, 730).default(30),
    runtimeDir: z.string().min(1).default('runtime'),
    tags: z.record(z.string(), z.string()).default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Table names are case-insensitive: one table cannot be both.
    if (c.demandTableName.toLowerCase() === c.tableName.toLowerCase()) {
      ctx.addIssue({ code: 'custom', path: ['demandTableName'], message: `must differ from tableName ("${c.tableName}")` });
    }
  });

/** Keys whose stack-file value is YAML structure (Pulumi hands them over as JSON text). */
const STRUCTURED_KEYS = new Set(['containerResourceGroups', 'allocation', 'autoscaler', 'retries', 'eventDelivery', 'tags']);

export interface ConfigContext {
  project: string;
  stack: string;
  /** `azure-native:location`, used when `aci-fleet:location` is not set. */
  providerLocation?: string;
}

/**
 * Validates the raw `aci-fleet:*` values (without the namespace) and fills in defaults.
 * Throws a {@link ConfigError} naming every bad key as `aci-fleet:<key>[.<field>]`.
 */
export function parseConfig(raw: Record<string, string | undefined>, ctx: ConfigContext): FleetConfig {
  const problems: string[] = [];
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (STRUCTURED_KEYS.has(key)) {
      try {
        input[key] = JSON.parse(value);
      } catch {
        problems.push(`${CONFIG_NAMESPACE}:${key}: must be YAML structure (a list or a map), got "${value}"`);
      }
    } else {
      input[key] = value;
    }
  }

  // azure-native:location stands in for an unset aci-fleet:location, and is checked like it.
  if (input.location === undefined && ctx.providerLocation !== undefined) input.location = ctx.providerLocation;
  const result = configSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) {
          const at = [...issue.path, k].join('.');
          problems.push(`${CONFIG_NAMESPACE}:${at}: unknown key (check the spelling; see docs/deploy.md)`);
        }
        continue;
      }
      const at = issue.path.join('.');
      problems.push(`${CONFIG_NAMESPACE}:${at}: ${issue.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const parsed = result.data!;
  const c = { ...parsed, fleetName: parsed.fleetName ?? `${ctx.project}-${ctx.stack}`.toLowerCase().replace(/[^a-z0-9-]/g, '-') };

  const containerResourceGroups = c.containerResourceGroups ?? [{ name: `${c.fleetName}-servers`, existing: false }];
  const groupProblems = [
    ...checkContainerResourceGroups(containerResourceGroups),
    ...checkTemplateResourceGroup(c.autoscaler.containerGroupTemplate, containerResourceGroups),
  ];
  if (groupProblems.length > 0) throw new ConfigError(groupProblems);

  return {
    location: c.location,
    fleetName: c.fleetName,
    appResourceGroupName: c.appResourceGroupName ?? `${c.fleetName}-app`,
    containerResourceGroups,
    tableName: c.tableName,
    demandTableName: c.demandTableName,
    serverListPublic: c.serverListPublic,
    maxFunctionInstances: c.maxFunctionInstances,
    instanceMemoryMB: c.instanceMemoryMB,
    defaultMaxSessions: c.defaultMaxSessions,
    gcSchedule: c.gcSchedule,
    reconcileSchedule: c.reconcileSchedule,
    metricsSchedule: c.metricsSchedule,
    creatingTimeoutMinutes: c.creatingTimeoutMinutes,
    heartbeatTimeoutSeconds: c.heartbeatTimeoutSeconds,
    allocation: c.allocation,
    autoscaler: c.autoscaler,
    retries: c.retries,
    eventDelivery: c.eventDelivery,
    logRetentionDays: c.logRetentionDays,
    runtimeDir: c.runtimeDir,
    tags: c.tags,
  };
}

/** The container resource groups must be a non-empty list of distinct, valid names. */
export function checkContainerResourceGroups(groups: ContainerResourceGroupConfig[]): string[] {
  const key = `${CONFIG_NAMESPACE}:containerResourceGroups`;
  if (groups.length === 0) return [`${key}: must list at least one resource group`];
  const problems: string[] = [];
  const seen = new Set<string>();
  groups.forEach((g, i) => {
    if (!isResourceGroupName(g.name)) problems.push(`${key}.${i}.name: "${g.name}" is not a valid resource group name`);
    // Resource group names are case-insensitive in Azure.
    const lower = g.name.toLowerCase();
    if (seen.has(lower)) problems.push(`${key}.${i}.name: "${g.name}" is listed twice`);
    seen.add(lower);
  });
  return problems;
}

/**
 * The autoscaler creates its servers in the template's resource group, which must be one of the
 * fleet's: the runtime refuses any other (FLEET_RESOURCE_GROUPS) and the app has no role there.
 */
export function checkTemplateResourceGroup(templateJson: string | undefined, groups: ContainerResourceGroupConfig[]): string[] {
  if (templateJson === undefined) return [];
  const { resourceGroup } = JSON.parse(templateJson) as { resourceGroup: string };
  if (groups.some((g) => g.name.toLowerCase() === resourceGroup.toLowerCase())) return [];
  return [
    `${CONFIG_NAMESPACE}:autoscaler.containerGroupTemplate.resourceGroup: "${resourceGroup}" is not one of containerResourceGroups (${groups.map((g) => g.name).join(', ')})`,
  ];
}

/**
 * Reads the stack's configuration. `all` is Pulumi's flat config map (`{"aci-fleet:location": ...}`);
 * keys of other namespaces are ignored, except `azure-native:location` which serves as a default.
 */
export function readConfig(all: Record<string, string>, project: string, stack: string): FleetConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) {
    if (k.startsWith(prefix)) raw[k.slice(prefix.length)] = v;
  }
  return parseConfig(raw, { project, stack, providerLocation: all['azure-native:location'] });
}

/** The running stack's configuration; a bad value stops the program with a message naming the key. */
export function loadConfig(): FleetConfig {
  try {
    return readConfig(pulumi.runtime.allConfig(), pulumi.getProject(), pulumi.getStack());
  } catch (e) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}
