// A server as the fleet sees it (one table row), and the seed-compatible view callers receive.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { STATES, type ServerState } from './states';

export interface ServerKey {
  resourceGroup: string;
  containerGroupName: string;
}

export interface ServerRecord extends ServerKey {
  state: ServerState;
  activeSessions: number;
  maxSessions: number;
  location: string;
  image: string;
  cpu: number;
  ramGb: number;
  publicIp?: string;
  fqdn?: string;
  createdAt: string;
  stateChangedAt: string;
  lastReportAt?: string;
  failureReason?: string;
  /** Hash of the create request, so a repeated ACICreate can be told apart from a different one. */
  specHash: string;
}

/**
 * The representation every endpoint returns: the seed's PascalCase names plus what the fleet adds.
 * Defined once as a schema so the OpenAPI document and the TypeScript type cannot drift apart.
 */
export const serverView = z
  .object({
    ResourceGroup: z.string(),
    ContainerGroupName: z.string(),
    State: z.enum(STATES),
    ActiveSessions: z.number().int().min(0),
    MaxSessions: z.number().int().min(1),
    PublicIP: z.string().nullable(),
    Fqdn: z.string().nullable(),
    Location: z.string(),
    Image: z.string(),
    CPU: z.number(),
    RAM: z.number().describe('GB'),
    CreatedAt: z.string().describe('ISO 8601'),
    StateChangedAt: z.string().describe('ISO 8601'),
    LastReportAt: z.string().nullable().describe('ISO 8601; the last session report'),
    FailureReason: z.string().nullable(),
  });
export type ServerView = z.infer<typeof serverView>;

export function toView(r: ServerRecord): ServerView {
  return {
    ResourceGroup: r.resourceGroup,
    ContainerGroupName: r.containerGroupName,
    State: r.state,
    ActiveSessions: r.activeSessions,
    MaxSessions: r.maxSessions,
    PublicIP: r.publicIp ?? null,
    Fqdn: r.fqdn ?? null,
    Location: r.location,
    Image: r.image,
    CPU: r.cpu,
    RAM: r.ramGb,
    CreatedAt: r.createdAt,
    StateChangedAt: r.stateChangedAt,
    LastReportAt: r.lastReportAt ?? null,
    FailureReason: r.failureReason ?? null,
  };
}

export const keyOf = (r: ServerKey): ServerKey => ({
  resourceGroup: r.resourceGroup,
  containerGroupName: r.containerGroupName,
});

export const describeKey = (k: ServerKey) => `${k.resourceGroup}/${k.containerGroupName}`;

/** Resource group names are case-insensitive in Azure; the table keys them lower-case so both spellings meet. */
export const normalizeResourceGroup = (rg: string) => rg.toLowerCase();

/** A stable hash of any JSON value: object keys sorted, so key order never changes the hash. */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
