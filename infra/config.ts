// The stack's settings: every `aci-fleet:*` key, its type and its default, validated before any
// resource is declared so that a bad value fails `pulumi preview` with the key's name.
import * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';

/** Namespace of this project's configuration keys (`aci-fleet:location`, ...). */
export const CONFIG_NAMESPACE = 'aci-fleet';

export type AutoscalerPolicy = 'threshold' | 'buffer';

export interface ContainerResourceGroupConfig {
  /** Resource group that holds the fleet's container groups. */
  name: string;
  /** true: the group exists already and is only referenced; false: the stack creates (and deletes) it. */
  existing: boolean;
}

export interface AutoscalerConfig {
  enabled: boolean;
  policy: AutoscalerPolicy;
  /** NCRONTAB (six fields). */
  schedule: string;
  minimumInstances: number;
  maximumInstances: number;
  scaleOutThreshold: number;
  scaleInThreshold: number;
  cooldownInMinutes: number;
  bufferSlots: number;
  /** JSON of the container group the autoscaler creates (the runtime's CONTAINER_GROUP_TEMPLATE). */
  containerGroupTemplate?: string;
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
  /** Whether ACIList and the server page can be read without a key. */
  serverListPublic: boolean;
  /** Flex Consumption `maximumInstanceCount`. */
  maxFunctionInstances: number;
  /** Flex Consumption `instanceMemoryMB`. */
  instanceMemoryMB: 2048 | 4096;
  defaultMaxSessions: number;
  gcSchedule: string;
  reconcileSchedule: string;
  heartbeatTimeoutSeconds?: number;
  autoscaler: AutoscalerConfig;
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
const fraction = z.preprocess(
  fromText,
  z.number({ error: 'must be a fraction above 0 and at most 1' }).gt(0).max(1, {
    error: 'must be a fraction above 0 and at most 1',
  }),
);
const schedule = z.string().refine(isNcrontab, {
  message: 'must be an NCRONTAB expression with six fields, e.g. "0 */5 * * * *"',
});

const resourceGroupEntry = z.union([
  z.string().transform((name) => ({ name, existing: false })),
  z.object({ name: z.string(), existing: bool.default(false) }).strict(),
]);

const autoscalerSchema = z
  .object({
    enabled: bool.default(false),
    policy: z.enum(['threshold', 'buffer']).default('threshold'),
    schedule: schedule.default('0 */1 * * * *'),
    minimumInstances: int(0, 1000).default(1),
    maximumInstances: int(1, 1000).default(10),
    scaleOutThreshold: fraction.default(0.8),
    scaleInThreshold: fraction.default(0.6),
    cooldownInMinutes: int(0, 24 * 60).default(10),
    bufferSlots: int(0, 100_000).default(10),
    containerGroupTemplate: z
      .union([z.record(z.string(), z.unknown()), z.string()])
      .optional()
      .transform((t, ctx) => {
        if (t === undefined) return undefined;
        if (typeof t !== 'string') return JSON.stringify(t);
        try {
          const parsed: unknown = JSON.parse(t);
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return JSON.stringify(parsed);
        } catch {
          // reported below
        }
        ctx.addIssue({ code: 'custom', message: 'must be a container group object (YAML) or its JSON' });
        return z.NEVER;
      }),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.minimumInstances > a.maximumInstances) {
      ctx.addIssue({
        code: 'custom',
        path: ['minimumInstances'],
        message: `must not exceed maximumInstances (${a.minimumInstances} > ${a.maximumInstances})`,
      });
    }
    if (a.scaleInThreshold >= a.scaleOutThreshold) {
      ctx.addIssue({
        code: 'custom',
        path: ['scaleInThreshold'],
        message: `must be below scaleOutThreshold (${a.scaleInThreshold} >= ${a.scaleOutThreshold}), or the fleet flaps`,
      });
    }
  });

const location = z
  .string({ error: 'is required: set aci-fleet:location (or azure-native:location), e.g. westeurope' })
  .refine(isRegionName, {
    message: 'must be a region name such as "westeurope" or "eastus2" (lowercase, no spaces)',
  });

/** The keys a stack file may set under `aci-fleet:` (anything else is a typo and fails). */
function schemaFor(defaults: { fleetName: string; location?: string }) {
  return z
    .object({
      location: defaults.location === undefined ? location : location.default(defaults.location),
      fleetName: z
        .string()
        .refine(isFleetName, { message: 'must be 3-32 lowercase letters, digits or single hyphens' })
        .default(defaults.fleetName),
      appResourceGroupName: z.string().refine(isResourceGroupName, { message: 'is not a valid resource group name' }).optional(),
      containerResourceGroups: z.array(resourceGroupEntry).optional(),
      tableName: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be 3-63 letters or digits, starting with a letter')
        .default('ACIDetails'),
      serverListPublic: bool.default(false),
      maxFunctionInstances: int(1, 1000).default(40),
      instanceMemoryMB: z
        .preprocess(fromText, z.union([z.literal(2048), z.literal(4096)], { error: 'must be 2048 or 4096' }))
        .default(2048),
      defaultMaxSessions: int(1, 100_000).default(10),
      gcSchedule: schedule.default('0 */1 * * * *'),
      reconcileSchedule: schedule.default('0 */5 * * * *'),
      heartbeatTimeoutSeconds: int(10, 24 * 3600).optional(),
      autoscaler: autoscalerSchema.prefault({}),
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
    .strict();
}

/** Keys whose stack-file value is YAML structure (Pulumi hands them over as JSON text). */
const STRUCTURED_KEYS = new Set(['containerResourceGroups', 'autoscaler', 'eventDelivery', 'tags']);

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

  const defaultFleetName = `${ctx.project}-${ctx.stack}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const result = schemaFor({ fleetName: defaultFleetName, location: ctx.providerLocation }).safeParse(input);
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
  const c = result.data!;

  const containerResourceGroups = c.containerResourceGroups ?? [{ name: `${c.fleetName}-servers`, existing: false }];
  const groupProblems = checkContainerResourceGroups(containerResourceGroups);
  if (groupProblems.length > 0) throw new ConfigError(groupProblems);

  return {
    location: c.location,
    fleetName: c.fleetName,
    appResourceGroupName: c.appResourceGroupName ?? `${c.fleetName}-app`,
    containerResourceGroups,
    tableName: c.tableName,
    serverListPublic: c.serverListPublic,
    maxFunctionInstances: c.maxFunctionInstances,
    instanceMemoryMB: c.instanceMemoryMB,
    defaultMaxSessions: c.defaultMaxSessions,
    gcSchedule: c.gcSchedule,
    reconcileSchedule: c.reconcileSchedule,
    heartbeatTimeoutSeconds: c.heartbeatTimeoutSeconds,
    autoscaler: c.autoscaler,
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
