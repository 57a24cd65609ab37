// The runtime's settings, read once from the environment (app settings on Azure, the local
// host's env locally). Every setting the runtime understands is listed here and in the README.
import { z } from 'zod';
import { containerGroupTemplate } from './domain/servers/requests';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/** An optional whole number: unset or empty means "not configured". */
const optionalInt = (min: number) =>
  z.preprocess((v) => (v === '' || v === undefined ? undefined : v), z.coerce.number().int().min(min).optional());

const settingsSchema = z.object({
  /** Value of the ownership tag put on every container group; only tagged groups are ever deleted. */
  FLEET_NAME: z.string().min(1).default('aci-fleet'),
  /** Table holding one row per server (the seed's name). */
  FLEET_TABLE_NAME: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/)
    .default('ACIDetails'),
  /** Local development: an explicit storage connection string (Azurite). */
  FLEET_STORAGE_CONNECTION_STRING: z.string().optional(),
  /** Azure: identity-based host storage settings (no keys). */
  AzureWebJobsStorage__accountName: z.string().optional(),
  AzureWebJobsStorage__tableServiceUri: z.string().url().optional(),
  AzureWebJobsStorage__blobServiceUri: z.string().url().optional(),
  /** Subscription that holds the container resource groups. */
  AZURE_SUBSCRIPTION_ID: z.string().default('00000000-0000-0000-0000-000000000000'),
  /** ARM endpoint; only the local ACI emulator overrides it. */
  ARM_ENDPOINT: z.string().url().default('https://management.azure.com'),
  /** Resource groups the fleet may create servers in (comma-separated); empty = any. */
  FLEET_RESOURCE_GROUPS: list.default([]),
  /** NCRONTAB (six fields) for the garbage collector. */
  GC_SCHEDULE: z.string().default('0 */1 * * * *'),
  /** Sessions a server holds when ACICreate does not say. */
  FLEET_DEFAULT_MAX_SESSIONS: z.coerce.number().int().positive().default(10),
  /** Whether ACIList (and so the server page) can be read without a key. */
  FLEET_LIST_PUBLIC: bool.default(false),
  /** How many times a conflicting (412) read-modify-write is retried before giving up. */
  FLEET_WRITE_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  /** NCRONTAB for ACIMetrics (servers by state, sessions per location); empty turns it off. */
  FLEET_METRICS_SCHEDULE: z.string().default('30 */1 * * * *'),
  /** Secret that signs each server's report token (HMAC-SHA256); the stack generates it. */
  REPORT_TOKEN_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  /** The previous secret, still accepted for verification while a rotation is under way. */
  REPORT_TOKEN_SECRET_PREVIOUS: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  /** Base URL servers reach this app at (ACI_REPORT_URL); default https://<WEBSITE_HOSTNAME>. */
  FLEET_PUBLIC_URL: z.string().url().optional(),
  /** Set by the Azure Functions platform: the app's host name. */
  WEBSITE_HOSTNAME: z.string().optional(),
  /** NCRONTAB (six fields) for ACIReconcile, which repairs drift between ARM and the table. */
  RECONCILE_SCHEDULE: z.string().default('0 */5 * * * *'),
  /** A server still Creating after this many minutes is marked Failed by ACIReconcile. */
  CREATING_TIMEOUT_MINUTES: z.coerce.number().positive().default(15),
  /** A Running server that has not reported for this long is marked Failed; unset = no heartbeat check. */
  HEARTBEAT_TIMEOUT_SECONDS: optionalInt(1),
  /** ARM calls: retries of throttling (429) and transient failures (408, 5xx, network), with backoff and jitter. */
  ARM_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(4),
  ARM_RETRY_DELAY_MS: z.coerce.number().int().min(0).default(500),
  /** Longest wait between ARM retries; a Retry-After longer than this is handed back to the caller as a 503. */
  ARM_MAX_RETRY_DELAY_MS: z.coerce.number().int().min(0).default(8000),
  /** Table Storage calls: retries and a per-request timeout, so an outage answers 503 instead of hanging. */
  STORAGE_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  STORAGE_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** ACIAllocate: how long a booking counts in a server's load at most. */
  ALLOCATION_RESERVATION_TTL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** ACIAllocate: a server report made this long after a booking is taken to include it. */
  ALLOCATION_REPORT_GRACE_SECONDS: z.coerce.number().min(0).max(3600).default(5),
  /** ACIAllocate: Retry-After (seconds) when no server has room. */
  ALLOCATION_RETRY_AFTER_SECONDS: z.coerce.number().int().min(1).max(600).default(5),
  /** Table of recent unmet demand (allocations that found no room), read by the autoscaler. */
  FLEET_DEMAND_TABLE_NAME: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/)
    .default('FleetDemand'),
  /** ACIAutoScaler runs only when this is true. */
  AUTOSCALER_ENABLED: bool.default(false),
  /** `buffer` (keep free slots ready) or `threshold` (the original's utilisation band, improved). */
  AUTOSCALER_POLICY: z.enum(['buffer', 'threshold']).default('buffer'),
  /** NCRONTAB (six fields) for ACIAutoScaler. */
  AUTOSCALER_SCHEDULE: z.string().default('*/30 * * * * *'),
  AUTOSCALER_MINIMUM_INSTANCES: z.coerce.number().int().min(0).default(1),
  AUTOSCALER_MAXIMUM_INSTANCES: z.coerce.number().int().min(1).default(10),
  AUTOSCALER_SCALE_OUT_THRESHOLD: z.coerce.number().gt(0).max(1).default(0.8),
  AUTOSCALER_SCALE_IN_THRESHOLD: z.coerce.number().min(0).lt(1).default(0.6),
  /** The original's cooldown; the default of the scale-in cooldown below. */
  AUTOSCALER_COOLDOWN_IN_MINUTES: z.coerce.number().min(0).default(10),
  /** Wait after a scale out before the next one (servers on their way already count as capacity). */
  AUTOSCALER_SCALE_OUT_COOLDOWN_SECONDS: z.coerce.number().min(0).default(0),
  /** Wait after any scale out or in before a scale in; AUTOSCALER_COOLDOWN_IN_MINUTES when unset. */
  AUTOSCALER_SCALE_IN_COOLDOWN_SECONDS: z.coerce.number().min(0).optional(),
  /** `buffer`: free session slots to keep ready… */
  AUTOSCALER_BUFFER_SLOTS: z.coerce.number().int().min(0).default(24),
  /** …or this percentage of all slots in use, whichever is more. */
  AUTOSCALER_BUFFER_PERCENT: z.coerce.number().min(0).max(95).default(10),
  /** ACI's default: 100 creates per 5 minutes per region. */
  AUTOSCALER_CREATE_QUOTA: z.coerce.number().int().min(1).default(100),
  AUTOSCALER_CREATE_QUOTA_WINDOW_SECONDS: z.coerce.number().int().min(1).default(300),
  /** Allocation misses younger than this count as demand. */
  AUTOSCALER_DEMAND_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60),
  /** Blob container holding the autoscaler's lease and last actions. */
  AUTOSCALER_STATE_CONTAINER: z
    .string()
    .regex(/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, { error: 'a blob container name: 3-63 lowercase letters, digits and single dashes' })
    .default('autoscaler'),
  /** The ACICreate body (without containerGroupName) new servers are made from, as JSON. */
  CONTAINER_GROUP_TEMPLATE: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text?.trim()) return undefined;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `not valid JSON (${(e as Error).message})` });
        return z.NEVER;
      }
      const parsed = containerGroupTemplate.safeParse(json);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: `${issue.path.join('.') || '(root)'}: ${issue.message}` });
        return z.NEVER;
      }
      return parsed.data;
    }),
  /**
   * ACIAllocate: oldest copy of the Running servers an instance chooses from (ms); 0 reads the table on
   * every call. Bookings stay exact whatever the age; a miss is always checked against a fresh read.
   */
  ALLOCATION_SNAPSHOT_MAX_AGE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
});

export type FleetSettings = z.infer<typeof settingsSchema>;

/** Every setting's name, so tools can refuse a misspelt one instead of ignoring it. */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);

/** Parses the environment; a bad value fails start-up with the setting's name. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): FleetSettings {
  const result = settingsSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid aci-fleet settings: ${problems.join('; ')}`);
  }
  if (result.data.AUTOSCALER_SCALE_IN_THRESHOLD >= result.data.AUTOSCALER_SCALE_OUT_THRESHOLD) {
    throw new Error('Invalid aci-fleet settings: AUTOSCALER_SCALE_IN_THRESHOLD must be below AUTOSCALER_SCALE_OUT_THRESHOLD, or the fleet would flap.');
  }
  if (result.data.AUTOSCALER_MINIMUM_INSTANCES > result.data.AUTOSCALER_MAXIMUM_INSTANCES) {
    throw new Error('Invalid aci-fleet settings: AUTOSCALER_MINIMUM_INSTANCES must not exceed AUTOSCALER_MAXIMUM_INSTANCES.');
  }
  if (result.data.AUTOSCALER_ENABLED && !result.data.CONTAINER_GROUP_TEMPLATE) {
    throw new Error('Invalid aci-fleet settings: AUTOSCALER_ENABLED needs CONTAINER_GROUP_TEMPLATE (an ACICreate body without containerGroupName).');
  }
  return result.data;
}
