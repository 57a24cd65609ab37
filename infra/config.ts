// The stack's settings, validated before any resource is declared so that a bad value fails
// `pulumi preview` with the key's name. Two kinds of key: the stack's own (where and what to
// create, in STACK_KEYS below), and the runtime's options, which are rows of the runtime's one
// options table (runtime/src/options.ts): read with its schemas, checked with its rules, and written
// to the app as the row's app setting.
import * as pulumi from '@pulumi/pulumi';
import * as pulumiConfig from '@pulumi/pulumi/runtime/config';
import { z } from 'zod';
import {
  OPTIONS,
  SETTING_NAMES,
  isNcrontab,
  parseOptions,
  settingText,
  type FleetSettings,
  type OptionProblem,
  type SettingName,
} from '../runtime/src/options';
import { isResourceGroupName } from '../runtime/src/domain/core/resourceGroups';
import { checkStackFleets, type FleetDemand, type StackFleet } from './fleetSpecs';

export { isNcrontab };

/** Namespace of this project's configuration keys (`aci-fleet:location`, ...). */
export const CONFIG_NAMESPACE = 'aci-fleet';

export interface ContainerResourceGroupConfig {
  /** Resource group that holds the fleet's container groups. */
  name: string;
  /** true: the group exists already and is only referenced; false: the stack creates (and deletes) it. */
  existing: boolean;
}

export interface FleetConfig {
  /** Azure region of the app and its data, e.g. `westeurope`. One stack per region. */
  location: string;
  /** Ownership tag value put on every container group, and the stem of every resource name. */
  fleetName: string;
  appResourceGroupName: string;
  containerResourceGroups: ContainerResourceGroupConfig[];
  /** Flex Consumption `maximumInstanceCount`. */
  maxFunctionInstances: number;
  /** Flex Consumption `instanceMemoryMB`. */
  instanceMemoryMB: 2048 | 4096;
  eventDelivery: { maxDeliveryAttempts: number; eventTimeToLiveInMinutes: number };
  logRetentionDays: number;
  /** The report-token secret's generation and whether the one before it is still accepted (keyVault.ts). */
  reportTokens: { generation: number; keepPrevious: boolean };
  /** Where alerts are e-mailed, if anywhere. */
  alertEmail?: string;
  /** Folder holding the Functions app (`src/index.ts` + `host.json`), relative to the project. */
  runtimeDir: string;
  tags: Record<string, string>;
  /** The fleets the stack writes through the API (`aci-fleet:fleets`), checked with the runtime's rules. */
  fleets: Record<string, StackFleet>;
  /** What every fleet (the default one too) may run at its largest, per region: checked against ACI's quotas. */
  fleetDemand: FleetDemand[];
  /** `aci-fleet:fleets` holds a value set with `--secret`: all that is shown of a fleet stays secret too. */
  fleetsSecret: boolean;
  /** The runtime's settings as the app will parse them (the runtime's defaults fill what the stack file leaves unset). */
  runtime: FleetSettings;
  /**
   * The app settings of the runtime options this stack decides: each one its file sets, plus the
   * ones always written. An unset option is left out, so the app follows the runtime's own default.
   */
  optionSettings: Record<string, string>;
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

/** Azure resource group name rules: the runtime's, so a name the stack takes is one the fleet takes. */
export { isResourceGroupName };

/** Lowercase letters, digits and hyphens: it becomes part of DNS names (the Function App). */
export function isFleetName(value: string): boolean {
  return /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/.test(value) && !value.includes('--');
}

// ---------------------------------------------------------------------------------------------
// The stack's own keys.

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'must be true or false' });
const fromText = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v);
const int = (min: number, max: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.preprocess(fromText, z.number({ error }).int({ error }).min(min, { error }).max(max, { error }));
};

const resourceGroupEntry = z.union([
  z.string().transform((name) => ({ name, existing: false })),
  z.object({ name: z.string(), existing: bool.default(false) }).strict(),
]);

/** A key of the stack's own: its schema, the default the docs show, and what it is for. */
interface StackKey {
  schema: z.ZodType;
  shownDefault: string;
  description: string;
  /** Its value is YAML structure (Pulumi hands it over as JSON text). */
  structured?: boolean;
}

export const STACK_KEYS = {
  location: {
    schema: z.string({ error: 'is required: set aci-fleet:location (or azure-native:location), e.g. westeurope' }).refine(isRegionName, {
      message: 'must be a region name such as "westeurope" or "eastus2" (lowercase, no spaces)',
    }),
    shownDefault: '`azure-native:location`',
    description: 'Region of the app and its data, e.g. `westeurope` (region name, not "West Europe").',
  },
  appResourceGroupName: {
    schema: z.string().refine(isResourceGroupName, { message: 'is not a valid resource group name' }).optional(),
    shownDefault: '`<fleetName>-app`',
    description: 'Resource group of the app, storage and monitoring.',
  },
  containerResourceGroups: {
    schema: z.array(resourceGroupEntry).optional(),
    shownDefault: '`[<fleetName>-servers]`',
    structured: true,
    description:
      'Where servers run (`FLEET_RESOURCE_GROUPS`). A name is created (and deleted with the stack); `{name: x, existing: true}` references an existing group. At least one.',
  },
  maxFunctionInstances: {
    schema: int(1, 1000).default(40),
    shownDefault: '`40`',
    description: 'Flex Consumption maximum instance count (1–1000).',
  },
  instanceMemoryMB: {
    schema: z.preprocess(fromText, z.union([z.literal(2048), z.literal(4096)], { error: 'must be 2048 or 4096' })).default(2048),
    shownDefault: '`2048`',
    description: 'Flex Consumption instance memory: `2048` or `4096`.',
  },
  eventDelivery: {
    schema: z
      .object({ maxDeliveryAttempts: int(1, 30).default(30), eventTimeToLiveInMinutes: int(1, 1440).default(1440) })
      .strict()
      .prefault({}),
    shownDefault: '`{maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440}`',
    structured: true,
    description: 'Event Grid retries (1–30) and retry window in minutes (1–1440) before dead-lettering.',
  },
  logRetentionDays: { schema: int(30, 730).default(30), shownDefault: '`30`', description: 'Log Analytics retention (30–730).' },
  reportTokenGeneration: {
    schema: int(0, 1_000_000).default(0),
    shownDefault: '`0`',
    description:
      'Generation of the report-token secret. Raising it by one rotates: a new secret, and the one before it kept as `REPORT_TOKEN_SECRET_PREVIOUS` (never lower it).',
  },
  reportTokenKeepPrevious: {
    schema: bool.default(true),
    shownDefault: '`true`',
    description:
      "`false` ends a rotation: the previous generation's tokens are refused (once the servers created before it are gone, or at once after a leak).",
  },
  alertEmail: {
    schema: z.email({ error: 'must be an e-mail address, e.g. ops@example.com' }).optional(),
    shownDefault: 'none: alerts fire without notifying',
    description: 'Where the alert rules send their e-mails (an action group is made for it).',
  },
  tags: {
    schema: z.record(z.string(), z.string()).default({}),
    shownDefault: '`{}`',
    structured: true,
    description: 'Extra tags on every resource.',
  },
  fleets: {
    // Checked once the runtime's settings are known (checkStackFleets): the rules depend on them.
    schema: z.record(z.string(), z.unknown(), { error: 'must be a YAML map from fleet name to its body' }).default({}),
    shownDefault: '`{}`',
    structured: true,
    description:
      'Fleets `pulumi up` writes through the API (`PUT /api/fleets/{name}` after the deployment): a map from fleet name to `{template, replicas?, autoscaler?, rollout?}`; a fleet removed here is deleted (drained). See [Fleets in the stack](#fleets-in-the-stack).',
  },
  runtimeDir: {
    schema: z.string().min(1).default('runtime'),
    shownDefault: '`runtime`',
    description: 'Folder with `src/index.ts` and `host.json` (the tests point it at a fixture).',
  },
} satisfies Record<string, StackKey>;

const stackSchema = z.object(
  Object.fromEntries(Object.entries(STACK_KEYS).map(([k, v]) => [k, v.schema])) as {
    [K in keyof typeof STACK_KEYS]: (typeof STACK_KEYS)[K]['schema'];
  },
);

// ---------------------------------------------------------------------------------------------
// The runtime's options, by stack key.

/** The stack key of each option a stack file may set (`autoscaler.scaleOutThreshold` → AUTOSCALER_SCALE_OUT_THRESHOLD). */
export const OPTION_KEYS: ReadonlyMap<string, SettingName> = new Map(
  SETTING_NAMES.flatMap((name) => {
    const source = OPTIONS[name].source;
    return typeof source === 'object' && 'stackKey' in source ? [[source.stackKey, name] as const] : [];
  }),
);

/** Top-level keys that group options (`autoscaler`, `allocation`, `retries`): YAML maps of option keys. */
const OPTION_GROUPS = new Set([...OPTION_KEYS.keys()].filter((k) => k.includes('.')).map((k) => k.split('.')[0]!));

/** How a stack file names a setting: its stack key, or for what the stack derives, the key it follows. */
function stackKeyOf(setting: SettingName): string {
  const source = OPTIONS[setting].source;
  if (typeof source === 'object' && 'stackKey' in source) return source.stackKey;
  if (typeof source === 'object' && source.from) return source.from;
  return setting;
}

/** `other` as a sibling of `about` sees it: `maximumInstances` next to `minimumInstances`. */
function relativeKey(other: SettingName, about: SettingName): string {
  const [otherKey, aboutKey] = [stackKeyOf(other), stackKeyOf(about)];
  const parent = aboutKey.includes('.') ? aboutKey.slice(0, aboutKey.lastIndexOf('.') + 1) : '';
  return parent && otherKey.startsWith(parent) ? otherKey.slice(parent.length) : otherKey;
}

const describeProblem = (p: OptionProblem) =>
  `${CONFIG_NAMESPACE}:${[stackKeyOf(p.setting), ...p.path.map(String)].join('.')}: ${p.message}`;

export interface ConfigContext {
  project: string;
  stack: string;
  /** `azure-native:location`, used when `aci-fleet:location` is not set. */
  providerLocation?: string;
  /** Keys (without the namespace) whose value holds a secret (`pulumi config set --secret`). */
  secretKeys?: readonly string[];
}

/**
 * Validates the raw `aci-fleet:*` values (without the namespace) and fills in defaults.
 * Throws a {@link ConfigError} naming every bad key as `aci-fleet:<key>[.<field>]`.
 */
export function parseConfig(raw: Record<string, string | undefined>, ctx: ConfigContext): FleetConfig {
  const problems: string[] = [];
  const own: Record<string, unknown> = {};
  const options: Partial<Record<SettingName, unknown>> = {};

  for (const [key, text] of Object.entries(raw)) {
    if (text === undefined) continue;
    const structured = OPTION_GROUPS.has(key) || (STACK_KEYS as Record<string, StackKey>)[key]?.structured;
    let value: unknown = text;
    if (structured) {
      try {
        value = JSON.parse(text);
      } catch {
        problems.push(`${CONFIG_NAMESPACE}:${key}: must be YAML structure (a list or a map), got "${text}"`);
        continue;
      }
    }
    if (Object.hasOwn(STACK_KEYS, key)) own[key] = value;
    else if (OPTION_GROUPS.has(key)) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        problems.push(`${CONFIG_NAMESPACE}:${key}: must be a YAML map`);
        continue;
      }
      for (const [field, v] of Object.entries(value)) {
        const setting = OPTION_KEYS.get(`${key}.${field}`);
        if (setting) options[setting] = v;
        else problems.push(`${CONFIG_NAMESPACE}:${key}.${field}: unknown key (check the spelling; see docs/deploy.md)`);
      }
    } else if (OPTION_KEYS.has(key)) options[OPTION_KEYS.get(key)!] = value;
    else problems.push(`${CONFIG_NAMESPACE}:${key}: unknown key (check the spelling; see docs/deploy.md)`);
  }

  // azure-native:location stands in for an unset aci-fleet:location, and is checked like it.
  if (own.location === undefined && ctx.providerLocation !== undefined) own.location = ctx.providerLocation;
  const parsed = stackSchema.safeParse(own);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys)
          problems.push(`${CONFIG_NAMESPACE}:${[...issue.path, k].join('.')}: unknown key (check the spelling; see docs/deploy.md)`);
      } else problems.push(`${CONFIG_NAMESPACE}:${issue.path.join('.')}: ${issue.message}`);
    }
  }

  // The stack's name stands in for an unset fleet name; it names DNS resources, so it follows their rule too.
  const fleetName = (options.FLEET_NAME as string | undefined) ?? `${ctx.project}-${ctx.stack}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (!isFleetName(String(fleetName)))
    problems.push(`${CONFIG_NAMESPACE}:fleetName: must be 3-32 lowercase letters, digits or single hyphens`);
  options.FLEET_NAME = fleetName;

  const containerResourceGroups = parsed.data?.containerResourceGroups ?? [{ name: `${fleetName}-servers`, existing: false }];
  problems.push(...checkContainerResourceGroups(containerResourceGroups));

  // What the stack derives takes part in the runtime's rules too (the template's resource group).
  const runtime = parseOptions(
    { ...options, FLEET_RESOURCE_GROUPS: containerResourceGroups.map((g) => g.name).join(',') },
    { name: relativeKey },
  );
  problems.push(...runtime.problems.map(describeProblem));
  // The fleets as the app's PUT would take them (its resource groups and settings), and what it would refuse later.
  const fleets =
    parsed.data && runtime.settings
      ? checkStackFleets(parsed.data.fleets, runtime.settings, {
          fleets: `${CONFIG_NAMESPACE}:fleets`,
          maxServers: `${CONFIG_NAMESPACE}:${stackKeyOf('FLEET_MAX_SERVERS')}`,
        })
      : undefined;
  problems.push(...(fleets?.problems ?? []));
  if (problems.length > 0 || !parsed.data || !runtime.settings || !fleets) throw new ConfigError(problems);

  const data = parsed.data;
  return {
    location: data.location,
    fleetName,
    appResourceGroupName: data.appResourceGroupName ?? `${fleetName}-app`,
    containerResourceGroups,
    maxFunctionInstances: data.maxFunctionInstances,
    instanceMemoryMB: data.instanceMemoryMB as 2048 | 4096,
    eventDelivery: data.eventDelivery,
    logRetentionDays: data.logRetentionDays,
    reportTokens: { generation: data.reportTokenGeneration, keepPrevious: data.reportTokenKeepPrevious },
    alertEmail: data.alertEmail,
    runtimeDir: data.runtimeDir,
    tags: data.tags,
    fleets: fleets.fleets,
    fleetDemand: fleets.demand,
    fleetsSecret: ctx.secretKeys?.includes('fleets') ?? false,
    runtime: runtime.settings,
    optionSettings: optionSettings(options, runtime.settings),
  };
}

/** The app settings for the options: as the stack file gave them (validated), plus the ones always written. */
function optionSettings(given: Partial<Record<SettingName, unknown>>, settings: FleetSettings): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const source = OPTIONS[name].source;
    if (typeof source !== 'object' || !('stackKey' in source)) continue;
    const value = given[name];
    if (value !== undefined && (value !== '' || OPTIONS[name].emptyIsValue)) out[name] = settingText(value);
    else if (source.always) out[name] = settingText(settings[name]);
  }
  return out;
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
export function readConfig(
  all: Record<string, string>,
  project: string,
  stack: string,
  isSecret: (key: string) => boolean = () => false,
): FleetConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) {
    if (k.startsWith(prefix)) raw[k.slice(prefix.length)] = v;
  }
  const secretKeys = Object.keys(raw).filter((k) => isSecret(`${prefix}${k}`));
  return parseConfig(raw, { project, stack, providerLocation: all['azure-native:location'], secretKeys });
}

/**
 * Whether a key holds a value set with `--secret`. The SDK knows (PULUMI_CONFIG_SECRET_KEYS) but
 * leaves the function out of its types; should it ever go, every key counts as secret (the safe side).
 */
function isConfigSecret(key: string): boolean {
  const known = (pulumiConfig as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  return known ? known(key) : true;
}

/** The running stack's configuration; a bad value stops the program with a message naming the key. */
export function loadConfig(): FleetConfig {
  try {
    return readConfig(pulumi.runtime.allConfig(), pulumi.getProject(), pulumi.getStack(), isConfigSecret);
  } catch (e) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}
