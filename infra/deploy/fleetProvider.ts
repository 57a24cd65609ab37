// The dynamic provider behind each stack-declared fleet (fleets.ts in infra/): create and update
// PUT the fleet through the deployed API, delete DELETEs it (its servers drain). Pulumi serializes
// this object, with the plain modules it calls, into the state: no module-level state, Node
// built-ins required inside the functions.
//
// What it keeps: the fleet as shown (secrets replaced by <redacted>), its revision, and a salted
// digest of the whole body (a secret output). The diff compares that digest with the new body's,
// so nothing is updated while the spec stays the same, and no secret is ever kept in clear text.
import type * as pulumi from '@pulumi/pulumi';
import { deleteFleet, getFleet, putFleet } from './fleetApi';

export interface FleetInputs {
  /** `https://<app>/api`. */
  apiBaseUrl: string;
  name: string;
  /** The body with its secrets replaced by `<redacted>`: what a preview and the outputs show. */
  spec: Record<string, unknown>;
  /** The body PUT sends (a secret input, never an output). */
  body: Record<string, unknown>;
  /** The body's secret values, kept out of every message (a secret input). */
  secrets: string[];
  /** The app's function key (a secret). */
  functionKey: string;
  /** Test hook: overrides the default timing. */
  timing?: Record<string, number>;
}

export interface FleetOutputs {
  apiBaseUrl: string;
  name: string;
  spec: Record<string, unknown>;
  /** The fleet's revision after the last PUT: a new one whenever the template changed. */
  revision: number;
  /** sha256 of `salt` and the body as canonical JSON (a secret output). */
  bodyDigest: string;
  salt: string;
  /** Kept for the DELETE when the fleet leaves the stack (a secret output). */
  functionKey: string;
  /** The fleet's ETag after the last PUT: `pulumi refresh` tells a change made by hand by it. */
  etag?: string;
}

/** What a preview passes for a value not known yet (the SDK's rpc.unknownValue). */
const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

/** The body's digest: keys sorted at every level, so the order a stack file lists them in changes nothing. */
export function bodyDigest(salt: string, body: unknown): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return crypto
    .createHash('sha256')
    .update(salt)
    .update(JSON.stringify(canonical(body)))
    .digest('hex');
}

/**
 * What changed since the last PUT: the body (by digest), the app, or the function key (only once it is
 * known: a preview does not know it, and that alone must not show a change). `name` replaces.
 */
export function fleetChanges(olds: Partial<FleetOutputs>, news: FleetInputs): { changes: string[]; replaces: string[] } {
  const changes: string[] = [];
  const replaces: string[] = [];
  if (olds.name !== news.name) replaces.push('name');
  if (olds.apiBaseUrl !== news.apiBaseUrl) changes.push('apiBaseUrl');
  const unknown = JSON.stringify(news.body).includes(UNKNOWN);
  if (unknown || !olds.salt || olds.bodyDigest !== bodyDigest(olds.salt, news.body)) changes.push('body');
  if (news.functionKey !== UNKNOWN && olds.functionKey !== news.functionKey) changes.push('functionKey');
  return { changes: [...changes, ...replaces], replaces };
}

async function put(inputs: FleetInputs, salt: string): Promise<FleetOutputs> {
  const { revision, etag } = await putFleet(
    {
      apiBaseUrl: inputs.apiBaseUrl,
      functionKey: inputs.functionKey,
      secrets: inputs.secrets,
      timing: inputs.timing,
      log: (m) => console.log(`[fleets] ${m}`),
    },
    inputs.name,
    inputs.body,
  );
  return {
    apiBaseUrl: inputs.apiBaseUrl,
    name: inputs.name,
    spec: inputs.spec,
    revision,
    bodyDigest: bodyDigest(salt, inputs.body),
    salt,
    functionKey: inputs.functionKey,
    etag,
  };
}

/**
 * `pulumi refresh`: a fleet the app no longer knows is gone (the next `pulumi up` creates it again);
 * one whose ETag moved was changed by hand, so the digest is dropped and the next `pulumi up` puts
 * the stack's spec back.
 */
export async function readFleet(id: string, olds: FleetOutputs): Promise<{ id: string; props: Partial<FleetOutputs> }> {
  const live = await getFleet(
    { apiBaseUrl: olds.apiBaseUrl, functionKey: olds.functionKey, log: (m) => console.log(`[fleets] ${m}`) },
    olds.name,
  );
  if (live.status === 404) return { id: '', props: {} };
  const changedByHand = live.etag !== undefined && olds.etag !== undefined && live.etag !== olds.etag;
  return { id, props: { ...olds, revision: live.revision ?? olds.revision, ...(changedByHand ? { bodyDigest: '' } : {}) } };
}

function newSalt(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require('node:crypto') as typeof import('node:crypto');
  return crypto.randomBytes(16).toString('hex');
}

export const fleetProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: Partial<FleetOutputs>, news: FleetInputs) {
    const { changes, replaces } = fleetChanges(olds, news);
    return { changes: changes.length > 0, replaces, deleteBeforeReplace: false };
  },
  async create(inputs: FleetInputs) {
    return { id: `${inputs.apiBaseUrl}/fleets/${inputs.name}`, outs: await put(inputs, newSalt()) };
  },
  async update(_id: string, olds: FleetOutputs, news: FleetInputs) {
    return { outs: await put(news, olds.salt || newSalt()) };
  },
  read: readFleet,
  // Drains the fleet: each server keeps its sessions until they end, then ACIGC deletes it.
  async delete(_id: string, olds: FleetOutputs) {
    await deleteFleet({ apiBaseUrl: olds.apiBaseUrl, functionKey: olds.functionKey, log: (m) => console.log(`[fleets] ${m}`) }, olds.name);
  },
};
