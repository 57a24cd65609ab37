// A fleet's body (`PUT /api/fleets/{name}`) and its name: the one schema that validates a fleet,
// for the runtime and for the Pulumi program that checks stack-declared fleets at preview.
import { z } from 'zod';
import { isAllowedResourceGroup } from '../core/resourceGroups';
import { REDACTED, redactedPlaceholders } from '../core/secrets';
import { wholeNumber } from '../core/validation';
import { containerGroupTemplate, fleetName } from '../servers/requests';

export { fleetName };

/** A count of servers, or a percentage of the fleet's size (`"25%"`), as Agones and Kubernetes take them. */
const countOrPercent = (what: string) =>
  z.union(
    [wholeNumber(what, 0, 1000), z.string().regex(/^(100|[1-9]?\d)%$/, { error: `${what} must be a count or a percentage such as "25%"` })],
    {
      error: `${what} must be a count of servers or a percentage such as "25%"`,
    },
  );

export const DEFAULT_ROLLOUT = { maxSurge: '25%', maxUnavailable: 0 } as const;

/** How a new revision replaces the old one. */
export const rolloutSpec = z
  .object({
    /** Servers of the new revision created beyond the fleet's size at a time (rounded up). */
    maxSurge: countOrPercent('maxSurge').default(DEFAULT_ROLLOUT.maxSurge),
    /** Servers the fleet may be short of its size while rolling (rounded down): 0 drains an old one only once a new one runs. */
    maxUnavailable: countOrPercent('maxUnavailable').default(DEFAULT_ROLLOUT.maxUnavailable),
  })
  .strict();
export type RolloutSpec = z.output<typeof rolloutSpec>;

const fraction = (what: string, open: 'low' | 'high') => {
  const error = open === 'low' ? `${what} must be above 0 and at most 1` : `${what} must be from 0 and below 1`;
  const n = z.number({ error });
  return open === 'low' ? n.gt(0, { error }).max(1, { error }) : n.min(0, { error }).lt(1, { error });
};

const SERVICE_LEVEL_RULE =
  'serviceLevel must be above 0 and below 1 (0 would never scale out for demand, 1 would need unbounded free slots)';

/**
 * A fleet's own autoscaler settings; each one left out is the deployment's AUTOSCALER_* setting.
 * The bounds are the options table's (runtime/src/options.ts; a unit test keeps them equal).
 */
export const fleetAutoscaler = z
  .object({
    policy: z.enum(['rate', 'buffer', 'threshold'], { error: 'policy must be rate, buffer or threshold' }).optional(),
    serviceLevel: z
      .number({ error: 'serviceLevel must be a number' })
      .gt(0, { error: SERVICE_LEVEL_RULE })
      .lt(1, { error: SERVICE_LEVEL_RULE })
      .optional(),
    provisioningSeconds: wholeNumber('provisioningSeconds', 1, 3600).optional(),
    minimumInstances: wholeNumber('minimumInstances', 0, 1000).optional(),
    maximumInstances: wholeNumber('maximumInstances', 1, 1000).optional(),
    scaleOutThreshold: fraction('scaleOutThreshold', 'low').optional(),
    scaleInThreshold: fraction('scaleInThreshold', 'high').optional(),
    scaleOutCooldownSeconds: wholeNumber('scaleOutCooldownSeconds', 0, 24 * 3600).optional(),
    scaleInCooldownSeconds: wholeNumber('scaleInCooldownSeconds', 0, 24 * 3600).optional(),
    bufferSlots: wholeNumber('bufferSlots', 0, 100_000).optional(),
    bufferPercent: z
      .number({ error: 'bufferPercent must be a number' })
      .min(0, { error: 'bufferPercent must be from 0 to 95' })
      .max(95, { error: 'bufferPercent must be from 0 to 95' })
      .optional(),
    createQuota: wholeNumber('createQuota', 1, 100_000).optional(),
    createQuotaWindowSeconds: wholeNumber('createQuotaWindowSeconds', 1, 24 * 3600).optional(),
    demandWindowSeconds: wholeNumber('demandWindowSeconds', 1, 24 * 3600).optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.minimumInstances !== undefined && a.maximumInstances !== undefined && a.minimumInstances > a.maximumInstances) {
      ctx.addIssue({ code: 'custom', path: ['minimumInstances'], message: 'minimumInstances must not exceed maximumInstances' });
    }
    if (a.scaleInThreshold !== undefined && a.scaleOutThreshold !== undefined && a.scaleInThreshold >= a.scaleOutThreshold) {
      ctx.addIssue({
        code: 'custom',
        path: ['scaleInThreshold'],
        message: 'scaleInThreshold must be below scaleOutThreshold, or the fleet flaps',
      });
    }
  });
export type FleetAutoscalerSpec = z.output<typeof fleetAutoscaler>;

/**
 * A template as a fleet takes it: nothing but its fields (a misspelt one would silently change
 * nothing), and no secure value may be GET's placeholder (that would make it the secret).
 */
const fleetTemplate = containerGroupTemplate.strict().superRefine((t, ctx) => {
  for (const path of redactedPlaceholders(t.containerGroup)) {
    ctx.addIssue({
      code: 'custom',
      path: ['containerGroup', ...path],
      message: `send the secret itself: GET shows every secret as ${REDACTED}`,
    });
  }
});

const fields = {
  template: fleetTemplate,
  /** Keep exactly this many servers. */
  replicas: wholeNumber('replicas', 0, 1000).optional(),
  /** Size the fleet with the autoscaler instead (settings left out are the AUTOSCALER_* ones). */
  autoscaler: fleetAutoscaler.optional(),
  rollout: rolloutSpec.default({ maxSurge: DEFAULT_ROLLOUT.maxSurge, maxUnavailable: DEFAULT_ROLLOUT.maxUnavailable }),
};

type FleetSpecShape = z.ZodObject<typeof fields, z.core.$strict>;

/**
 * The longest fleet, as the JSON it is stored as. A 64-KiB body can grow past it once parsed
 * (`1e20` is written out as 21 digits, defaults are filled in), so it is checked after parsing.
 */
export const MAX_FLEET_SPEC_CHARS = 100_000;

function checkFleet(spec: z.output<FleetSpecShape>, ctx: z.RefinementCtx, allowedResourceGroups: readonly string[]): void {
  if (spec.replicas !== undefined && spec.autoscaler !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['autoscaler'], message: 'give replicas or autoscaler, not both' });
  }
  const stored = JSON.stringify(spec).length;
  if (stored > MAX_FLEET_SPEC_CHARS) {
    ctx.addIssue({
      code: 'custom',
      path: ['template'],
      message: `the fleet is ${stored} characters as stored JSON (numbers written out in full, defaults filled in); at most ${MAX_FLEET_SPEC_CHARS} fit: shorten the template`,
    });
  }
  const { maxSurge, maxUnavailable } = spec.rollout;
  if (isZero(maxSurge) && isZero(maxUnavailable)) {
    ctx.addIssue({
      code: 'custom',
      path: ['rollout', 'maxSurge'],
      message: 'maxSurge and maxUnavailable cannot both be 0: a rollout could then never replace a server',
    });
  }
  if (!isAllowedResourceGroup(allowedResourceGroups, spec.template.resourceGroup)) {
    ctx.addIssue({
      code: 'custom',
      path: ['template', 'resourceGroup'],
      message: `'${spec.template.resourceGroup}' is not one of this fleet's resource groups (FLEET_RESOURCE_GROUPS: ${allowedResourceGroups.join(', ')})`,
    });
  }
}

const isZero = (v: number | string) => v === 0 || v === '0%';

/**
 * A fleet's body for a deployment whose servers may live only in `allowedResourceGroups` (empty =
 * any): `{ template, replicas?, autoscaler?, rollout? }`. Every problem names its field.
 */
export function fleetSpecFor(allowedResourceGroups: readonly string[]) {
  return z
    .object(fields)
    .strict()
    .superRefine((spec, ctx) => checkFleet(spec, ctx, allowedResourceGroups));
}

/** The fleet body without the deployment's resource-group rule (use fleetSpecFor with FLEET_RESOURCE_GROUPS to apply it). */
export const fleetSpec = fleetSpecFor([]);
export type FleetSpec = z.output<typeof fleetSpec>;
/** What a caller sends (defaults not yet applied). */
export type FleetSpecInput = z.input<typeof fleetSpec>;

/** The route's `{name}`, validated like a body field. */
export const fleetPath = z.object({ name: fleetName });
