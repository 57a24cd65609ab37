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
