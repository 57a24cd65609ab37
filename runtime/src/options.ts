// The one table of the runtime's options. Each row is one app setting: its name, the stack key that
// sets it (if a stack file may), its schema, default and bounds, and one line saying what it does.
// The runtime parses its settings from this table, the Pulumi program reads stack config and writes
// app settings from it (infra/config.ts), and the settings tables in the README and docs/deploy.md
// are generated from it (npm run docs). At the bottom: what each option means to the domain.
import { Cron } from 'croner';
import { z } from 'zod';
import type { AllocatorOptions } from './domain/allocation/allocator';
import type { ScalingConfig } from './domain/autoscaling/policy';
import { isAllowedResourceGroup } from './domain/core/resourceGroups';
import type { ReconcilePolicy } from './domain/reconcile/plan';
import type { ReportEndpoint } from './domain/reports/tokens';
import { containerGroupTemplate } from './domain/servers/requests';
import type { ServerOptions } from './domain/servers/serverService';
import type { FleetOptions } from './domain/fleets/fleetService';

// ---- kinds of value ---------------------------------------------------------------------------
// Each kind parses both forms a value arrives in: app-setting text ("12", "true") and a stack
// file's YAML value (12, true, a map), so one schema serves the runtime and the stack.

interface Kind<T> {
  schema: z.ZodType<T>;
  /** The allowed values, for the docs ("1–3600", "`buffer` or `threshold`"). */
  bounds?: string;
}

const fromText = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v);

function int(min: number, max: number): Kind<number> {
  const error = `must be a whole number from ${min} to ${max}`;
  return {
    schema: z.preprocess(fromText, z.number({ error }).int({ error }).min(min, { error }).max(max, { error })),
    bounds: `${min}–${max}`,
  };
}

function decimal(min: number, max: number): Kind<number> {
  const error = `must be a number from ${min} to ${max}`;
  return { schema: z.preprocess(fromText, z.number({ error }).min(min, { error }).max(max, { error })), bounds: `${min}–${max}` };
}

/** A fraction with one open end: (0, 1] or [0, 1). */
function fraction(open: 'low' | 'high'): Kind<number> {
  const error = open === 'low' ? 'must be a fraction above 0 and at most 1' : 'must be a fraction from 0 and below 1';
  const n = z.number({ error });
  return {
    schema: z.preprocess(fromText, open === 'low' ? n.gt(0, { error }).max(1, { error }) : n.min(0, { error }).lt(1, { error })),
    bounds: open === 'low' ? '0 < x ≤ 1' : '0 ≤ x < 1',
  };
}

/** A fraction with both ends open: (0, 1). */
const openFraction: Kind<number> = (() => {
  const error = 'must be a fraction above 0 and below 1 (0 would never scale out for demand, 1 would need unbounded free slots)';
  return { schema: z.preprocess(fromText, z.number({ error }).gt(0, { error }).lt(1, { error })), bounds: '0 < x < 1' };
})();

const bool: Kind<boolean> = {
  schema: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'must be true or false' }),
  bounds: '`true` or `false`',
};

function oneOf<const T extends readonly [string, ...string[]]>(values: T): Kind<T[number]> {
  return { schema: z.enum(values, { error: `must be one of ${values.join(', ')}` }), bounds: values.map((v) => `\`${v}\``).join(' or ') };
}

/** Six NCRONTAB fields (`{second} {minute} {hour} {day} {month} {day-of-week}`), as Functions timers expect. */
export function isNcrontab(value: string): boolean {
  const fields = value.trim().split(/\s+/);
  return fields.length === 6 && fields.every((f) => /^[0-9*/,\-A-Za-z]+$/.test(f));
}

function schedule(options: { turnsOff?: string } = {}): Kind<string> {
  const message = options.turnsOff
    ? `must be an NCRONTAB expression with six fields, or "" to turn ${options.turnsOff} off`
    : 'must be an NCRONTAB expression with six fields, e.g. "0 */5 * * * *"';
  return {
    schema: z.string({ error: message }).refine((v) => (options.turnsOff !== undefined && v === '') || isNcrontab(v), { message }),
    bounds: `NCRONTAB, six fields${options.turnsOff ? '; `""` = off' : ''}`,
  };
}

function text(pattern: RegExp, rule: string): Kind<string> {
  return { schema: z.string({ error: `must be ${rule}` }).regex(pattern, { error: `must be ${rule}` }), bounds: rule };
}

const TABLE_NAME = text(/^[A-Za-z][A-Za-z0-9]{2,62}$/, '3–63 letters or digits, starting with a letter');
const anyText: Kind<string> = { schema: z.string() };
const url: Kind<string> = { schema: z.url({ error: 'must be an absolute URL' }), bounds: 'an absolute URL' };
const secret: Kind<string> = {
  schema: z
    .string()
    .min(32, { error: 'must be at least 32 characters' })
    // The platform leaves a reference it could not resolve as it is: signing with that text would
    // make every token forgeable by anyone who can read the app's settings.
    .refine((v) => !/^@Microsoft\.KeyVault\(/i.test(v.trim()), {
      error:
        "is a Key Vault reference the platform could not resolve (check the app identity's Key Vault Secrets User role and the secret)",
    }),
  bounds: '≥ 32 characters',
};
const commaList: Kind<string[]> = {
  schema: z.string().transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ),
  bounds: 'comma-separated',
};

/** An ACICreate body without containerGroupName, as a YAML map (stack file) or its JSON (app setting). */
const template: Kind<z.output<typeof containerGroupTemplate>> = {
  schema: z.union([z.record(z.string(), z.unknown()), z.string()]).transform((given, ctx) => {
    let value: unknown = given;
    if (typeof given === 'string') {
      try {
        value = JSON.parse(given);
      } catch (e) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a YAML map or the JSON of an ACICreate body without containerGroupName (not valid JSON: ${(e as Error).message})`,
        });
        return z.NEVER;
      }
    }
    const parsed = containerGroupTemplate.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
      return z.NEVER;
    }
    return parsed.data;
  }),
  bounds: 'an ACICreate body without `containerGroupName`',
};

// ---- rows -------------------------------------------------------------------------------------

/** Where a setting's value comes from on Azure. */
export type Source =
  /** A stack file key (`aci-fleet:<key>`); written only when the stack file sets it, unless `always`. */
  | { stackKey: string; always?: boolean }
  /** The stack decides it (a name or URL of what it created); `from` is the stack key it follows, if any. */
  | { stack: string; from?: string }
  /** Set by the Functions platform, or only meaningful on the local fleet. */
  | 'platform'
  | 'local';

export type Section = 'fleet' | 'servers' | 'allocation' | 'autoscaler' | 'reports' | 'retries' | 'azure';

export interface OptionRow<F extends z.ZodType = z.ZodType> {
  kind: Kind<unknown>;
  /** The schema with the default applied (or optional): what the runtime parses the setting with. */
  field: F;
  default?: unknown;
  /** The default as the docs show it, when it is not a plain value. */
  shownDefault?: string;
  /** `""` is a value of its own (an off switch) rather than "unset". */
  emptyIsValue?: boolean;
  source: Source;
  section: Section;
  description: string;
}

function option<T>(
  kind: Kind<T>,
  row: Omit<OptionRow, 'kind' | 'field' | 'default'> & { default: NoInfer<T> },
): OptionRow<z.ZodDefault<z.ZodType<T>>>;
function option<T>(kind: Kind<T>, row: Omit<OptionRow, 'kind' | 'field' | 'default'>): OptionRow<z.ZodOptional<z.ZodType<T>>>;
function option<T>(kind: Kind<T>, row: Omit<OptionRow, 'kind' | 'field'> & { default?: T }): OptionRow {
  const field = row.default === undefined ? kind.schema.optional() : kind.schema.default(row.default as never);
  return { ...row, kind: kind as Kind<unknown>, field };
}

export const OPTIONS = {
  // The fleet: who it is, where its data lives, who may read it.
  FLEET_NAME: option(text(/^[^/\\#?\p{Cc}]{1,63}$/u, '1–63 characters, none of / \\ # ? or control characters'), {
    default: 'aci-fleet',
    source: { stackKey: 'fleetName', always: true },
    shownDefault: '`aci-fleet` (a stack: `<project>-<stack>`)',
    section: 'fleet',
    description:
      "Value of the ownership tag on every container group (only tagged groups are ever deleted); it also keys the demand table. A stack's fleet name also names its resources: 3–32 lowercase letters, digits or single hyphens there.",
  }),
  FLEET_TABLE_NAME: option(TABLE_NAME, {
    default: 'ACIDetails',
    source: { stackKey: 'tableName', always: true },
    section: 'fleet',
    description: 'The table of servers (one row per server).',
  }),
  FLEET_DEMAND_TABLE_NAME: option(TABLE_NAME, {
    default: 'FleetDemand',
    source: { stackKey: 'demandTableName', always: true },
    section: 'fleet',
    description:
      'The table of recent allocation misses and allocation requestIds (created on first use); must differ from the table of servers.',
  }),
  FLEET_FLEETS_TABLE_NAME: option(TABLE_NAME, {
    default: 'FleetSpecs',
    source: { stackKey: 'fleetsTableName', always: true },
    section: 'fleet',
    description:
      'The table of fleets (`PUT /api/fleets/{name}`: one row per fleet, with its revision and rollout; created on first use); must differ from the other tables.',
  }),
  FLEET_CONTROLLER_SCHEDULE: option(schedule(), {
    default: '15,45 * * * * *',
    source: { stackKey: 'fleetControllerSchedule' },
    section: 'fleet',
    description:
      'When ACIFleetController drives every fleet towards its spec: creates, drains and rolls out (the default fleet: ACIAutoScaler when AUTOSCALER_ENABLED).',
  }),
  FLEET_RESOURCE_GROUPS: option(commaList, {
    default: [],
    shownDefault: '(any)',
    source: { stack: 'the container resource groups', from: 'containerResourceGroups' },
    section: 'fleet',
    description: 'Resource groups servers may live in; a request naming another is refused (403).',
  }),
  FLEET_LIST_PUBLIC: option(bool, {
    default: false,
    source: { stackKey: 'serverListPublic', always: true },
    section: 'fleet',
    description: '`true` lets ACIList (and so the server page) be read without a key, as in the original system.',
  }),
  FLEET_METRICS_SCHEDULE: option(schedule({ turnsOff: 'ACIMetrics' }), {
    default: '30 */1 * * * *',
    emptyIsValue: true,
    source: { stackKey: 'metricsSchedule' },
    section: 'fleet',
    description: 'When ACIMetrics sends servers by state and sessions per location to Application Insights.',
  }),

  // Servers: their life from create to delete.
  FLEET_DEFAULT_MAX_SESSIONS: option(int(1, 100_000), {
    default: 10,
    source: { stackKey: 'defaultMaxSessions' },
    section: 'servers',
    description: '`MaxSessions` of a server when ACICreate gives none.',
  }),
  SESSIONS_BATCH_MAX: option(int(1, 5_000), {
    default: 1_000,
    source: { stackKey: 'sessionsBatchMax' },
    section: 'servers',
    description: 'Servers one ACISetSessions call may name; a larger batch is a 400 (each server is a row read and written).',
  }),
  FLEET_MAX_SERVERS: option(int(1, 100_000), {
    default: 100,
    source: { stackKey: 'maxServers' },
    section: 'servers',
    description:
      'Most servers this deployment holds at once, in any state and of every fleet: a create beyond it (ACICreate, the autoscaler, the fleet controller) is refused with 409 `ServerLimitReached`. A ceiling against runaway creates; raise it for a bigger deployment.',
  }),
  FAILED_RETENTION_MINUTES: option(int(1, 30 * 24 * 60), {
    default: 60,
    source: { stackKey: 'failedRetentionMinutes' },
    section: 'servers',
    description:
      'ACIGC deletes a server this long after it became `Failed` (time to read its logs with ACIDetails), so failed servers do not pile up.',
  }),
  GC_SCHEDULE: option(schedule(), {
    default: '0 */1 * * * *',
    source: { stackKey: 'gcSchedule' },
    section: 'servers',
    description: 'When ACIGC deletes drained servers whose last session ended.',
  }),
  RECONCILE_SCHEDULE: option(schedule(), {
    default: '0 */5 * * * *',
    source: { stackKey: 'reconcileSchedule' },
    section: 'servers',
    description: 'When ACIReconcile repairs drift between ARM and the table.',
  }),
  CREATING_TIMEOUT_MINUTES: option(int(1, 24 * 60), {
    default: 15,
    source: { stackKey: 'creatingTimeoutMinutes' },
    section: 'servers',
    description: 'A server still `Creating` after this long becomes `Failed`.',
  }),
  HEARTBEAT_TIMEOUT_SECONDS: option(int(10, 24 * 3600), {
    shownDefault: 'unset: no check',
    source: { stackKey: 'heartbeatTimeoutSeconds' },
    section: 'servers',
    description: 'A `Running` server that has not reported for this long becomes `Failed` ("missed heartbeats").',
  }),

  // Allocation: ACIAllocate's bookings.
  ALLOCATION_RESERVATION_TTL_SECONDS: option(int(1, 3600), {
    default: 60,
    source: { stackKey: 'allocation.reservationTtlSeconds' },
    section: 'allocation',
    description: "How long an ACIAllocate booking counts in a server's load at most.",
  }),
  ALLOCATION_REPORT_GRACE_SECONDS: option(decimal(0, 3600), {
    default: 5,
    source: { stackKey: 'allocation.reportGraceSeconds' },
    section: 'allocation',
    description: 'A server report made this long after a booking is taken to include it.',
  }),
  ALLOCATION_RETRY_AFTER_SECONDS: option(int(1, 600), {
    default: 5,
    source: { stackKey: 'allocation.retryAfterSeconds' },
    section: 'allocation',
    description: "`Retry-After` of ACIAllocate's 503 when no server has room.",
  }),
  ALLOCATION_SNAPSHOT_MAX_AGE_MS: option(int(0, 60_000), {
    default: 1000,
    source: { stackKey: 'allocation.snapshotMaxAgeMs' },
    section: 'allocation',
    description:
      'Oldest copy of the Running servers ACIAllocate chooses from (0 = read the table on every call); bookings stay exact and a 503 is always checked against a fresh read.',
  }),

  // The autoscaler.
  AUTOSCALER_ENABLED: option(bool, {
    default: false,
    source: { stackKey: 'autoscaler.enabled', always: true },
    section: 'autoscaler',
    description:
      'Runs ACIAutoScaler, which sizes the default fleet by the policy below (and rolls it out when its template changes); needs CONTAINER_GROUP_TEMPLATE.',
  }),
  AUTOSCALER_POLICY: option(oneOf(['rate', 'buffer', 'threshold']), {
    default: 'rate',
    source: { stackKey: 'autoscaler.policy' },
    section: 'autoscaler',
    description:
      '`rate` keeps the free slots the arrivals of one lead time need (docs/autoscaling.md); `buffer` keeps a fixed number of free slots ready; `threshold` keeps utilisation in a band.',
  }),
  AUTOSCALER_SERVICE_LEVEL: option(openFraction, {
    default: 0.9995,
    source: { stackKey: 'autoscaler.serviceLevel' },
    section: 'autoscaler',
    description:
      '`rate`: the share of lead times (provisioning plus one autoscaler period) whose arrivals the free slots cover: 0.9995 turns away none of a steady load and under one session in a thousand of a 4× surge on a fleet of dozens of servers (docs/autoscaling.md).',
  }),
  AUTOSCALER_PROVISIONING_SECONDS: option(int(1, 3600), {
    default: 30,
    source: { stackKey: 'autoscaler.provisioningSeconds' },
    section: 'autoscaler',
    description:
      '`rate`: how long a new server takes from create to Running (ACI: 10–35 s for a small Linux image, 60–120 s for a large one).',
  }),
  AUTOSCALER_SCHEDULE: option(schedule(), {
    default: '*/30 * * * * *',
    source: { stackKey: 'autoscaler.schedule' },
    section: 'autoscaler',
    description: 'When ACIAutoScaler runs.',
  }),
  AUTOSCALER_MINIMUM_INSTANCES: option(int(0, 1000), {
    default: 1,
    source: { stackKey: 'autoscaler.minimumInstances' },
    section: 'autoscaler',
    description: 'Servers kept at least.',
  }),
  AUTOSCALER_MAXIMUM_INSTANCES: option(int(1, 1000), {
    default: 10,
    source: { stackKey: 'autoscaler.maximumInstances' },
    section: 'autoscaler',
    description: 'Servers kept at most (draining ones count).',
  }),
  AUTOSCALER_SCALE_OUT_THRESHOLD: option(fraction('low'), {
    default: 0.8,
    source: { stackKey: 'autoscaler.scaleOutThreshold' },
    section: 'autoscaler',
    description: '`threshold`: scale out above this utilisation.',
  }),
  AUTOSCALER_SCALE_IN_THRESHOLD: option(fraction('high'), {
    default: 0.6,
    source: { stackKey: 'autoscaler.scaleInThreshold' },
    section: 'autoscaler',
    description: '`threshold`: scale in below this utilisation (below the scale-out threshold, or the fleet flaps).',
  }),
  AUTOSCALER_COOLDOWN_IN_MINUTES: option(int(0, 24 * 60), {
    default: 10,
    source: { stackKey: 'autoscaler.cooldownInMinutes' },
    section: 'autoscaler',
    description: "The original's cooldown; the default of the scale-in cooldown.",
  }),
  AUTOSCALER_SCALE_OUT_COOLDOWN_SECONDS: option(int(0, 24 * 3600), {
    default: 0,
    source: { stackKey: 'autoscaler.scaleOutCooldownSeconds' },
    section: 'autoscaler',
    description: 'Wait between scale outs (servers being created already count as capacity).',
  }),
  AUTOSCALER_SCALE_IN_COOLDOWN_SECONDS: option(int(0, 24 * 3600), {
    shownDefault: 'AUTOSCALER_COOLDOWN_IN_MINUTES × 60',
    source: { stackKey: 'autoscaler.scaleInCooldownSeconds' },
    section: 'autoscaler',
    description: 'Wait after any scale out or in before a scale in.',
  }),
  AUTOSCALER_BUFFER_SLOTS: option(int(0, 100_000), {
    default: 24,
    source: { stackKey: 'autoscaler.bufferSlots' },
    section: 'autoscaler',
    description: '`buffer`: free session slots to keep ready…',
  }),
  AUTOSCALER_BUFFER_PERCENT: option(decimal(0, 95), {
    default: 10,
    source: { stackKey: 'autoscaler.bufferPercent' },
    section: 'autoscaler',
    description: '…or this percentage of the slots in use, whichever is more.',
  }),
  AUTOSCALER_CREATE_QUOTA: option(int(1, 100_000), {
    default: 100,
    source: { stackKey: 'autoscaler.createQuota' },
    section: 'autoscaler',
    description: "At most this many creates per window (ACI's default quota per region)…",
  }),
  AUTOSCALER_CREATE_QUOTA_WINDOW_SECONDS: option(int(1, 24 * 3600), {
    default: 300,
    source: { stackKey: 'autoscaler.createQuotaWindowSeconds' },
    section: 'autoscaler',
    description: '…per this window.',
  }),
  AUTOSCALER_DEMAND_WINDOW_SECONDS: option(int(1, 24 * 3600), {
    default: 60,
    source: { stackKey: 'autoscaler.demandWindowSeconds' },
    section: 'autoscaler',
    description: 'Allocation misses younger than this count as demand.',
  }),
  AUTOSCALER_STATE_CONTAINER: option(
    text(/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'a blob container name: 3–63 lowercase letters, digits and single dashes'),
    {
      default: 'autoscaler',
      source: { stack: 'the blob container it creates for the autoscaler' },
      section: 'autoscaler',
      description: "Blob container of the autoscaler's lease and last actions.",
    },
  ),
  CONTAINER_GROUP_TEMPLATE: option(template, {
    source: { stackKey: 'autoscaler.containerGroupTemplate' },
    section: 'autoscaler',
    description:
      "The template of the fleet named `default`, which the autoscaler sizes: an ACICreate body without `containerGroupName` (one given is ignored, so the original system's template works as it is), with an optional `namePrefix` (JSON; a YAML map in a stack file). A change is a new revision, rolled out.",
  }),

  // Server reports (ACIReport).
  REPORT_TOKEN_SECRET: option(secret, {
    shownDefault: '— (the stack generates it; `npm start` makes one per run)',
    source: { stack: 'a Key Vault reference to the secret it generates' },
    section: 'reports',
    description: "Signs each server's report token; without it ACIReport answers 503 and nothing is injected.",
  }),
  REPORT_TOKEN_SECRET_PREVIOUS: option(secret, {
    shownDefault: '—',
    source: { stack: 'a Key Vault reference to the previous secret, during a rotation', from: 'reportTokenGeneration' },
    section: 'reports',
    description: 'The previous secret, still accepted while a rotation is under way (SECURITY.md).',
  }),
  FLEET_PUBLIC_URL: option(url, {
    shownDefault: '`https://<WEBSITE_HOSTNAME>`',
    source: { stack: "the app's URL" },
    section: 'reports',
    description: 'Base URL containers reach ACIReport at (`ACI_REPORT_URL`).',
  }),

  // Retries.
  ARM_MAX_RETRIES: option(int(0, 10), {
    default: 4,
    source: { stackKey: 'retries.armMaxRetries' },
    section: 'retries',
    description: 'Retries of ARM throttling (429) and transient failures, exponential backoff with jitter.',
  }),
  ARM_RETRY_DELAY_MS: option(int(0, 60_000), {
    default: 500,
    source: { stackKey: 'retries.armRetryDelayMs' },
    section: 'retries',
    description: 'First wait between ARM retries.',
  }),
  ARM_MAX_RETRY_DELAY_MS: option(int(0, 300_000), {
    default: 8000,
    source: { stackKey: 'retries.armMaxRetryDelayMs' },
    section: 'retries',
    description: 'Longest wait between ARM retries; a longer `Retry-After` is answered 503 rather than holding the caller.',
  }),
  ARM_TIMEOUT_MS: option(int(1000, 230_000), {
    default: 65_000,
    source: { stackKey: 'retries.armTimeoutMs' },
    section: 'retries',
    description:
      "Per-attempt timeout of an ARM call (the answer's body included), not retried: a connection ARM stopped answering ends as a 503. ARM answers within 60 s (a 504 at worst), so the default never cuts a live answer.",
  }),
  STORAGE_MAX_RETRIES: option(int(0, 10), {
    default: 2,
    source: { stackKey: 'retries.storageMaxRetries' },
    section: 'retries',
    description: 'Table and Blob Storage retries…',
  }),
  STORAGE_TIMEOUT_MS: option(int(100, 120_000), {
    default: 10_000,
    source: { stackKey: 'retries.storageTimeoutMs' },
    section: 'retries',
    description: "…and per-attempt timeout (the answer's body included), so an outage or a hung account answers 503 instead of hanging.",
  }),
  FLEET_WRITE_ATTEMPTS: option(int(1, 50), {
    default: 8,
    source: { stackKey: 'retries.writeAttempts' },
    section: 'retries',
    description: 'Attempts of a conflicting (412) read-modify-write before answering 503.',
  }),

  // Where Azure is.
  AZURE_SUBSCRIPTION_ID: option(anyText, {
    default: '00000000-0000-0000-0000-000000000000',
    shownDefault: '—',
    source: { stack: 'its subscription' },
    section: 'azure',
    description: 'Subscription of the container resource groups.',
  }),
  AZURE_CLIENT_ID: option(anyText, {
    shownDefault: '— (the default credential: `az login` locally)',
    source: { stack: 'the client id of the identity it creates for the app' },
    section: 'azure',
    description: "Client id of the app's user-assigned managed identity: ARM, tables and blobs are called as it.",
  }),
  AzureWebJobsStorage__accountName: option(anyText, {
    shownDefault: '—',
    source: { stack: 'the storage account it creates' },
    section: 'azure',
    description: 'Storage account (identity-based, no keys).',
  }),
  AzureWebJobsStorage__tableServiceUri: option(url, {
    shownDefault: '`https://<account>.table.core.windows.net`',
    source: { stack: "the account's table endpoint" },
    section: 'azure',
    description: 'Table Storage endpoint.',
  }),
  AzureWebJobsStorage__blobServiceUri: option(url, {
    shownDefault: '`https://<account>.blob.core.windows.net`',
    source: { stack: "the account's blob endpoint" },
    section: 'azure',
    description: 'Blob Storage endpoint.',
  }),
  WEBSITE_HOSTNAME: option(anyText, {
    shownDefault: '—',
    source: 'platform',
    section: 'azure',
    description: "The app's host name, set by the Functions platform.",
  }),
  FLEET_STORAGE_CONNECTION_STRING: option(anyText, {
    shownDefault: '—',
    source: 'local',
    section: 'azure',
    description: "Local only: Azurite's connection string (set by `npm start`).",
  }),
  ARM_ENDPOINT: option(url, {
    default: 'https://management.azure.com',
    source: 'local',
    section: 'azure',
    description: 'Local only: the ACI emulator (set by `npm start`).',
  }),
};

export type SettingName = keyof typeof OPTIONS;
const settingsSchema = z.object(
  Object.fromEntries(Object.entries(OPTIONS).map(([name, row]) => [name, row.field])) as {
    [K in SettingName]: (typeof OPTIONS)[K]['field'];
  },
);
/** The runtime's settings, by app-setting name, defaults applied. */
export type FleetSettings = z.output<typeof settingsSchema>;

/** Every setting's name, so tools can refuse a misspelt one instead of ignoring it. */
export const SETTING_NAMES = Object.keys(OPTIONS) as SettingName[];

export const isSettingName = (name: string): name is SettingName => Object.hasOwn(OPTIONS, name);

// ---- rules across settings --------------------------------------------------------------------

/** How a rule speaks of a setting: by its app-setting name (runtime) or its stack key (infra). */
export interface Naming {
  /** `other` as seen from `about` (infra drops a shared prefix: `maximumInstances`, not `autoscaler.maximumInstances`). */
  name(other: SettingName, about: SettingName): string;
  isSet(setting: SettingName): boolean;
}

export interface OptionProblem {
  setting: SettingName;
  /** Inside the value, e.g. `['containerGroup', 'containers', 0, 'image']` of a template. */
  path: PropertyKey[];
  message: string;
}

/** Combinations the runtime cannot work with, stated once: the runtime refuses to start on them, the stack to preview. */
const RULES: Array<(s: FleetSettings, n: Naming) => OptionProblem | undefined> = [
  (s, n) => {
    if (s.AUTOSCALER_MINIMUM_INSTANCES <= s.AUTOSCALER_MAXIMUM_INSTANCES) return undefined;
    const shown = shownValue(s, n, 'AUTOSCALER_MAXIMUM_INSTANCES');
    const message = `must not exceed ${n.name('AUTOSCALER_MAXIMUM_INSTANCES', 'AUTOSCALER_MINIMUM_INSTANCES')} (${s.AUTOSCALER_MINIMUM_INSTANCES} > ${shown})`;
    return { setting: 'AUTOSCALER_MINIMUM_INSTANCES', path: [], message };
  },
  (s, n) => {
    const { AUTOSCALER_SCALE_IN_THRESHOLD: scaleIn, AUTOSCALER_SCALE_OUT_THRESHOLD: scaleOut } = s;
    if (scaleIn < scaleOut) return undefined;
    // Blame the one the stack file or environment set: the other is a default nobody chose.
    if (n.isSet('AUTOSCALER_SCALE_IN_THRESHOLD')) {
      const other = n.name('AUTOSCALER_SCALE_OUT_THRESHOLD', 'AUTOSCALER_SCALE_IN_THRESHOLD');
      return {
        setting: 'AUTOSCALER_SCALE_IN_THRESHOLD',
        path: [],
        message: `must be below ${other} (${scaleIn} >= ${shownValue(s, n, 'AUTOSCALER_SCALE_OUT_THRESHOLD')}), or the fleet flaps`,
      };
    }
    const other = n.name('AUTOSCALER_SCALE_IN_THRESHOLD', 'AUTOSCALER_SCALE_OUT_THRESHOLD');
    return {
      setting: 'AUTOSCALER_SCALE_OUT_THRESHOLD',
      path: [],
      message: `must be above ${other} (${scaleOut} <= ${shownValue(s, n, 'AUTOSCALER_SCALE_IN_THRESHOLD')}), or the fleet flaps`,
    };
  },
  (s, n) => {
    // Servers the autoscaler keeps are servers of the fleet: a maximum above the fleet's own could never be reached.
    if (s.AUTOSCALER_MAXIMUM_INSTANCES <= s.FLEET_MAX_SERVERS) return undefined;
    const message = `must not exceed ${n.name('FLEET_MAX_SERVERS', 'AUTOSCALER_MAXIMUM_INSTANCES')} (${s.AUTOSCALER_MAXIMUM_INSTANCES} > ${shownValue(s, n, 'FLEET_MAX_SERVERS')})`;
    return { setting: 'AUTOSCALER_MAXIMUM_INSTANCES', path: [], message };
  },
  (s, n) => {
    // The rate policy counts the bookings and misses made since its last run: a run that comes later
    // than they are kept would never see some of them, and the fleet would not grow for them.
    if (s.AUTOSCALER_POLICY !== 'rate') return undefined;
    const period = Math.max(schedulePeriodMs(s.AUTOSCALER_SCHEDULE), schedulePeriodMs(s.FLEET_CONTROLLER_SCHEDULE)) / 1000;
    const kept = (['ALLOCATION_RESERVATION_TTL_SECONDS', 'AUTOSCALER_DEMAND_WINDOW_SECONDS'] as const).find((k) => s[k] < period);
    if (!kept) return undefined;
    const blamed =
      n.isSet('AUTOSCALER_SCHEDULE') || !n.isSet('FLEET_CONTROLLER_SCHEDULE') ? 'AUTOSCALER_SCHEDULE' : 'FLEET_CONTROLLER_SCHEDULE';
    return {
      setting: blamed,
      path: [],
      message: `runs up to ${period} s apart, longer than ${n.name(kept, blamed)} (${shownValue(s, n, kept)} s) keeps what the rate policy counts: it would miss arrivals and never scale for them (run it more often, or keep them longer)`,
    };
  },
  (s, n) =>
    s.AUTOSCALER_ENABLED && !s.CONTAINER_GROUP_TEMPLATE
      ? {
          setting: 'CONTAINER_GROUP_TEMPLATE',
          path: [],
          message: `is required when the autoscaler is enabled (${n.name('AUTOSCALER_ENABLED', 'CONTAINER_GROUP_TEMPLATE')}: true): the ACICreate body (without containerGroupName) it creates servers from`,
        }
      : undefined,
  (s, n) => {
    const rg = s.CONTAINER_GROUP_TEMPLATE?.resourceGroup;
    if (rg === undefined || isAllowedResourceGroup(s.FLEET_RESOURCE_GROUPS, rg)) return undefined;
    const message = `"${rg}" is not one of ${n.name('FLEET_RESOURCE_GROUPS', 'CONTAINER_GROUP_TEMPLATE')} (${s.FLEET_RESOURCE_GROUPS.join(', ')})`;
    return { setting: 'CONTAINER_GROUP_TEMPLATE', path: ['resourceGroup'], message };
  },
  (s, n) =>
    // Table names are case-insensitive: one table cannot be both.
    s.FLEET_DEMAND_TABLE_NAME.toLowerCase() === s.FLEET_TABLE_NAME.toLowerCase()
      ? {
          setting: 'FLEET_DEMAND_TABLE_NAME',
          path: [],
          message: `must differ from ${n.name('FLEET_TABLE_NAME', 'FLEET_DEMAND_TABLE_NAME')} ("${s.FLEET_TABLE_NAME}")`,
        }
      : undefined,
  (s, n) => {
    const other = (['FLEET_TABLE_NAME', 'FLEET_DEMAND_TABLE_NAME'] as const).find(
      (t) => s[t].toLowerCase() === s.FLEET_FLEETS_TABLE_NAME.toLowerCase(),
    );
    return other
      ? {
          setting: 'FLEET_FLEETS_TABLE_NAME',
          path: [],
          message: `must differ from ${n.name(other, 'FLEET_FLEETS_TABLE_NAME')} ("${s[other]}")`,
        }
      : undefined;
  },
];

/** `10`, or `the default 10` when nobody set it: says where a value in a message came from. */
function shownValue(s: FleetSettings, n: Naming, setting: SettingName): string {
  return n.isSet(setting) ? String(s[setting]) : `the default ${String(s[setting])}`;
}

/**
 * Parses raw values by setting name (text or YAML values; undefined and "" mean unset) into the
 * settings, defaults applied, and checks the rules across them. Problems name the setting and,
 * for structured values, where inside it.
 */
export function parseOptions(
  raw: Partial<Record<SettingName, unknown>>,
  naming: Pick<Naming, 'name'>,
): { settings?: FleetSettings; problems: OptionProblem[] } {
  const given: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const value = raw[name];
    if (value === undefined || (value === '' && !OPTIONS[name].emptyIsValue)) continue;
    given[name] = value;
  }
  const result = settingsSchema.safeParse(given);
  if (!result.success) {
    return {
      problems: result.error.issues.map((issue) => {
        const [setting, ...path] = issue.path;
        return { setting: setting as SettingName, path, message: issue.message };
      }),
    };
  }
  const full: Naming = { ...naming, isSet: (setting) => setting in given };
  const problems = RULES.map((rule) => rule(result.data, full)).filter((p): p is OptionProblem => p !== undefined);
  return problems.length > 0 ? { problems } : { settings: result.data, problems };
}

/** Parses the environment; a bad value fails start-up with the setting's name. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): FleetSettings {
  const { settings, problems } = parseOptions(env as Partial<Record<SettingName, unknown>>, { name: (other) => other });
  if (settings) return settings;
  const lines = problems.map((p) => `${p.setting}: ${p.path.length > 0 ? `${p.path.join('.')}: ` : ''}${p.message}`);
  throw new Error(`Invalid aci-fleet settings: ${lines.join('; ')}`);
}

/** An option's value as app-setting text: what the stack file said (validated), a map as JSON. */
export function settingText(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

// ---- what the options mean to the domain ------------------------------------------------------

export function serverOptionsFrom(s: FleetSettings): ServerOptions {
  return {
    fleetName: s.FLEET_NAME,
    defaultMaxSessions: s.FLEET_DEFAULT_MAX_SESSIONS,
    allowedResourceGroups: s.FLEET_RESOURCE_GROUPS,
    writeAttempts: s.FLEET_WRITE_ATTEMPTS,
    maxSessionReports: s.SESSIONS_BATCH_MAX,
    maxServers: s.FLEET_MAX_SERVERS,
    failedRetentionMs: s.FAILED_RETENTION_MINUTES * 60_000,
    reportEndpoint: () => reportEndpointFrom(s),
  };
}

export function allocatorOptionsFrom(s: FleetSettings): AllocatorOptions {
  return {
    ttlMs: s.ALLOCATION_RESERVATION_TTL_SECONDS * 1000,
    reportGraceMs: s.ALLOCATION_REPORT_GRACE_SECONDS * 1000,
    // Every lost race means someone else booked: allow plenty before calling it contention.
    attempts: s.FLEET_WRITE_ATTEMPTS * 4,
    retryAfterSeconds: s.ALLOCATION_RETRY_AFTER_SECONDS,
    allowedResourceGroups: s.FLEET_RESOURCE_GROUPS,
    defaultFleet: defaultFleetServersFrom(s),
    defaultMaxSessions: s.FLEET_DEFAULT_MAX_SESSIONS,
  };
}

/** The default fleet's servers, from the settings (CONTAINER_GROUP_TEMPLATE; on demand with AUTOSCALER_ENABLED). */
function defaultFleetServersFrom(s: FleetSettings): AllocatorOptions['defaultFleet'] {
  const template = s.CONTAINER_GROUP_TEMPLATE;
  if (!template) return undefined;
  return {
    location: template.containerGroup.location.toLowerCase(),
    resourceGroup: template.resourceGroup,
    maxSessions: template.maxSessions,
    onDemand: s.AUTOSCALER_ENABLED,
  };
}

/** The policy's settings; newServerMaxSessions comes from the template (the fleet default without one). */
export function scalingConfigFrom(s: FleetSettings): ScalingConfig {
  return {
    policy: s.AUTOSCALER_POLICY,
    minInstances: s.AUTOSCALER_MINIMUM_INSTANCES,
    maxInstances: s.AUTOSCALER_MAXIMUM_INSTANCES,
    scaleOutThreshold: s.AUTOSCALER_SCALE_OUT_THRESHOLD,
    scaleInThreshold: s.AUTOSCALER_SCALE_IN_THRESHOLD,
    cooldownMs: s.AUTOSCALER_COOLDOWN_IN_MINUTES * 60_000,
    scaleOutCooldownMs: s.AUTOSCALER_SCALE_OUT_COOLDOWN_SECONDS * 1000,
    scaleInCooldownMs: (s.AUTOSCALER_SCALE_IN_COOLDOWN_SECONDS ?? s.AUTOSCALER_COOLDOWN_IN_MINUTES * 60) * 1000,
    bufferSlots: s.AUTOSCALER_BUFFER_SLOTS,
    bufferPercent: s.AUTOSCALER_BUFFER_PERCENT,
    createQuota: s.AUTOSCALER_CREATE_QUOTA,
    createQuotaWindowMs: s.AUTOSCALER_CREATE_QUOTA_WINDOW_SECONDS * 1000,
    demandWindowMs: s.AUTOSCALER_DEMAND_WINDOW_SECONDS * 1000,
    newServerMaxSessions: s.CONTAINER_GROUP_TEMPLATE?.maxSessions ?? s.FLEET_DEFAULT_MAX_SESSIONS,
    serviceLevel: s.AUTOSCALER_SERVICE_LEVEL,
    provisioningMs: s.AUTOSCALER_PROVISIONING_SECONDS * 1000,
    // ACIAutoScaler sizes the default fleet, ACIFleetController the others: the slower of the two covers both.
    periodMs: Math.max(schedulePeriodMs(s.AUTOSCALER_SCHEDULE), schedulePeriodMs(s.FLEET_CONTROLLER_SCHEDULE)),
    bookingLifetimeMs: s.ALLOCATION_RESERVATION_TTL_SECONDS * 1000,
  };
}

/** The longest gap between two runs of an NCRONTAB schedule, over its next hundred runs. */
export function schedulePeriodMs(schedule: string): number {
  const runs = new Cron(schedule, { paused: true }).nextRuns(101, new Date(Date.UTC(2026, 0, 5)));
  let longest = 0;
  for (let i = 1; i < runs.length; i++) longest = Math.max(longest, runs[i]!.getTime() - runs[i - 1]!.getTime());
  return longest || 24 * 3600_000;
}

/** The fleets: where servers may live, the default fleet the settings define, and what a fleet's autoscaler fields fill in. */
export function fleetOptionsFrom(s: FleetSettings): FleetOptions {
  return {
    allowedResourceGroups: s.FLEET_RESOURCE_GROUPS,
    writeAttempts: s.FLEET_WRITE_ATTEMPTS,
    defaultMaxSessions: s.FLEET_DEFAULT_MAX_SESSIONS,
    maxServers: s.FLEET_MAX_SERVERS,
    autoscalerDefaults: scalingConfigFrom(s),
    defaultFleet: s.CONTAINER_GROUP_TEMPLATE && { template: s.CONTAINER_GROUP_TEMPLATE, autoscaled: s.AUTOSCALER_ENABLED },
  };
}

export function reconcilePolicyFrom(s: FleetSettings): ReconcilePolicy {
  return {
    creatingTimeoutMs: s.CREATING_TIMEOUT_MINUTES * 60_000,
    heartbeatTimeoutMs: s.HEARTBEAT_TIMEOUT_SECONDS === undefined ? undefined : s.HEARTBEAT_TIMEOUT_SECONDS * 1000,
    allowedResourceGroups: s.FLEET_RESOURCE_GROUPS,
  };
}

/**
 * ACIReport's public URL and the token secret. Read on every create (not once), because the
 * local host learns its own URL only after it listens.
 */
export function reportEndpointFrom(s: FleetSettings): ReportEndpoint | undefined {
  const base = publicUrlFrom(s);
  if (!base || !s.REPORT_TOKEN_SECRET) return undefined;
  return { url: `${base}/api/ACIReport`, secret: s.REPORT_TOKEN_SECRET };
}

/**
 * The app's own URL (no trailing slash) as the settings know it, never as a caller's Host header
 * claims it: FLEET_PUBLIC_URL, else the platform's WEBSITE_HOSTNAME over https.
 */
export function publicUrlFrom(s: FleetSettings): string | undefined {
  const base = s.FLEET_PUBLIC_URL ?? (s.WEBSITE_HOSTNAME && `https://${s.WEBSITE_HOSTNAME}`);
  return base ? base.replace(/\/+$/, '') : undefined;
}

/** Secrets a report token may be signed with: the current one, then the previous during a rotation. */
export const reportSecretsFrom = (s: FleetSettings): string[] =>
  [s.REPORT_TOKEN_SECRET, s.REPORT_TOKEN_SECRET_PREVIOUS].filter((v): v is string => !!v);
