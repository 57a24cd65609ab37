// The runtime's settings, read once from the environment (app settings on Azure, the local
// host's env locally). Every setting the runtime understands is listed here and in the README.
import { z } from 'zod';

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
});

export type FleetSettings = z.infer<typeof settingsSchema>;

/** Parses the environment; a bad value fails start-up with the setting's name. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): FleetSettings {
  const result = settingsSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid aci-fleet settings: ${problems.join('; ')}`);
  }
  return result.data;
}
