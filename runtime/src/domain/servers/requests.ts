// Request schemas: the one definition that validates input (and, later, documents the API).
// Field names keep the seed's camelCase so matchmakers written for the original keep working.
import { z } from 'zod';
import { isResourceGroupName, normalizeResourceGroup } from '../core/resourceGroups';
import { wholeNumber } from '../core/validation';
import { OPERATOR_TARGET_STATES, STATES } from './states';

/** A resource group's name (isResourceGroupName), kept lower-case. */
export const resourceGroupName = z
  .string({ error: 'resourceGroup must be a string' })
  .refine(isResourceGroupName, {
    error: "resourceGroup must be 1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'",
  })
  .transform(normalizeResourceGroup);

/** ACI's rule for container group (and container) names. */
export const CONTAINER_GROUP_NAME = /^(?!-)(?!.*--)[a-z0-9-]{1,63}(?<!-)$/;
export const containerGroupName = z.string({ error: 'containerGroupName must be a string' }).regex(CONTAINER_GROUP_NAME, {
  error: "containerGroupName must be 1-63 lowercase letters, digits or '-', not starting or ending with '-' and without '--'",
});

const serverKey = {
  resourceGroup: resourceGroupName,
  containerGroupName,
};

/**
 * An ARM enum as ARM reads it: any casing is accepted and ARM's own spelling is kept, so the
 * original system's lower-case bodies (`"protocol": "udp"`) work and `udp` and `UDP` are one spec.
 */
export function armEnum<const T extends readonly [string, ...string[]]>(values: T) {
  const canonical = new Map(values.map((v) => [v.toLowerCase(), v]));
  return z.preprocess(
    (v) => (typeof v === 'string' ? (canonical.get(v.toLowerCase()) ?? v) : v),
    z.enum(values, { error: `must be one of ${values.join(', ')} (in any casing)` }).describe('In any casing; kept in this spelling.'),
  );
}

/** An Azure region: its name (`westeurope`) or display name (`West Europe`), kept as the name, as ARM does. */
export const azureLocation = z
  .string({ error: 'location must be a string' })
  .regex(/^[A-Za-z][A-Za-z0-9 ]{1,59}$/, {
    error: "location must be an Azure region name such as 'westeurope' (or its display name, 'West Europe')",
  })
  .transform((v) => v.toLowerCase().replace(/ /g, ''))
  .describe("An Azure region's name (westeurope) or display name (West Europe); kept as the name.");

// The ARM enums of a container group (Microsoft.ContainerInstance 2023-05-01, the SDK's API version).
const protocol = armEnum(['TCP', 'UDP']);
const gpuSku = armEnum(['K80', 'P100', 'V100']);

const port = z.object({
  port: z.number().int().min(1).max(65535),
  protocol: protocol.optional(),
});

const resourceRequest = (cpu: z.ZodNumber, memoryInGB: z.ZodNumber) =>
  z
    .object({
      cpu,
      memoryInGB,
      gpu: z
        .object({ count: z.number().int().min(1), sku: gpuSku })
        .loose()
        .optional(),
    })
    .loose();

const probe = z
  .object({
    httpGet: z
      .object({ scheme: armEnum(['http', 'https']).optional() })
      .loose()
      .optional(),
  })
  .loose()
  .optional();

const environmentVariable = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'environment variable names are letters, digits and _' }),
    value: z.string().optional(),
    secureValue: z.string().optional(),
  })
  .strict();

/** An image reference's longest: Docker's own limits (255 for the name, 128 for a tag) with room to spare, and far inside a table row's property. */
export const MAX_IMAGE_CHARS = 1024;

const container = z
  .object({
    name: z.string().regex(CONTAINER_GROUP_NAME, { error: 'container names follow the container group name rules' }),
    image: z
      .string({ error: 'image must be a string' })
      .min(1, { error: 'image is required' })
      .max(MAX_IMAGE_CHARS, {
        error: `image must be at most ${MAX_IMAGE_CHARS} characters (a registry, a repository name of at most 255, a tag of at most 128 and a digest fit well within it)`,
      }),
    resources: z
      .object({
        requests: resourceRequest(z.number().positive().max(64), z.number().positive().max(512)),
        limits: resourceRequest(z.number().positive().max(64), z.number().positive().max(512)).partial().optional(),
      })
      .loose(),
    ports: z.array(port).optional(),
    livenessProbe: probe,
    readinessProbe: probe,
    environmentVariables: z.array(environmentVariable).optional(),
    command: z.array(z.string()).optional(),
  })
  .loose();

/**
 * What ACICreate refuses, and why: each needs Azure rights beyond the fleet's least-privilege role
 * on the container resource groups (read, write, delete and list container groups, read logs).
 */
export const REFUSED_PROPERTIES = {
  identity:
    'identity is refused: a container group with a managed identity needs Azure rights the fleet does not hold ' +
    '(Microsoft.ManagedIdentity/userAssignedIdentities/assign/action, and role assignments for the identity). ' +
    'Remove identity, and pass the containers their credentials as secure environment variables instead.',
  subnetIds:
    'subnetIds is refused: a container group in a virtual network needs Azure rights the fleet does not hold ' +
    '(Microsoft.Network/virtualNetworks/subnets/join/action on the subnet). ' +
    "Remove subnetIds; servers get a public IP address (ipAddress.type 'Public').",
} as const;

/**
 * The SDK's (flattened) ContainerGroup model, as the original system accepted it: ARM's enums in
 * any casing, kept in ARM's spelling; unknown ARM properties pass through.
 */
export const containerGroupSpec = z
  .object({
    location: azureLocation,
    containers: z.array(container).min(1, { error: 'containers needs at least one container' }),
    osType: armEnum(['Linux', 'Windows']),
    ipAddress: z
      .object({
        type: armEnum(['Public', 'Private']).default('Public'),
        ports: z.array(port).min(1),
        dnsNameLabel: z
          .string()
          .regex(/^[a-z][a-z0-9-]{1,61}[a-z0-9]$/, {
            error: "dnsNameLabel must be 3-63 lowercase letters, digits or '-', starting with a letter (ARM refuses capitals)",
          })
          .optional(),
        autoGeneratedDomainNameLabelScope: armEnum([
          'Unsecure',
          'TenantReuse',
          'SubscriptionReuse',
          'ResourceGroupReuse',
          'Noreuse',
        ]).optional(),
      })
      .loose()
      .optional(),
    restartPolicy: armEnum(['Always', 'OnFailure', 'Never']).optional(),
    sku: armEnum(['Standard', 'Dedicated', 'Confidential']).optional(),
    priority: armEnum(['Regular', 'Spot']).optional(),
    diagnostics: z
      .object({
        logAnalytics: z
          .object({ logType: armEnum(['ContainerInsights', 'ContainerInstanceLogs']).optional() })
          .loose()
          .optional(),
      })
      .loose()
      .optional(),
    volumes: z.array(z.record(z.string(), z.unknown())).optional(),
    tags: z.record(z.string(), z.string()).optional(),
    identity: z.undefined({ error: REFUSED_PROPERTIES.identity }).optional().describe(REFUSED_PROPERTIES.identity),
    subnetIds: z.array(z.unknown()).max(0, { error: REFUSED_PROPERTIES.subnetIds }).optional().describe(REFUSED_PROPERTIES.subnetIds),
  })
  .loose()
  .superRefine((group, ctx) => {
    const names = group.containers.map((c) => c.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: 'custom', path: ['containers'], message: `container name '${dup}' is used twice` });
    for (const key of Object.keys(group.tags ?? {})) {
      if (isReservedTag(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['tags', key],
          message: `tag '${key}' is the fleet's own (every tag starting '${RESERVED_TAG_PREFIX}' is: ownership, fleet, revision, incarnation); remove it`,
        });
      }
    }
  });

/** Tags the fleet sets on its groups (lifecycle.ts): a caller's tag of that name could move a server to another fleet or revision. */
export const RESERVED_TAG_PREFIX = 'aci-fleet';
/** ARM compares tag names without regard to case. */
export const isReservedTag = (key: string) => {
  const k = key.toLowerCase();
  return k === RESERVED_TAG_PREFIX || k.startsWith(`${RESERVED_TAG_PREFIX}.`);
};

export type ContainerGroupSpec = z.infer<typeof containerGroupSpec>;

/** A fleet's name (../fleets): it keys the fleets table and starts its servers' names, so it follows their rule. */
export const fleetName = z.string({ error: 'fleet must be a string' }).regex(/^(?!.*--)[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, {
  error: "a fleet name is 1-40 lowercase letters, digits or '-', not starting or ending with '-' and without '--'",
});

/** The most sessions one server may hold. */
export const MAX_SESSIONS = 100_000;
const maxSessions = wholeNumber('maxSessions', 1, MAX_SESSIONS);

const createFields = z.object({
  ...serverKey,
  containerGroup: containerGroupSpec.optional(),
  maxSessions: maxSessions.optional(),
  /** The fleet the server belongs to; without a containerGroup it is made from the fleet's current template. */
  fleet: fleetName.optional(),
});

export const createRequest = createFields.superRefine((r, ctx) => {
  if (!r.containerGroup && !r.fleet) {
    ctx.addIssue({
      code: 'custom',
      path: ['containerGroup'],
      message: 'containerGroup is required (or name a fleet, whose current template the server is made from)',
    });
  }
});
export type CreateRequest = z.infer<typeof createRequest>;

/** What ServerService.create makes: a create request with its spec resolved (from a fleet's template, when it names one). */
export type NewServer = Omit<CreateRequest, 'containerGroup'> & {
  containerGroup: ContainerGroupSpec;
  /** The fleet revision whose template the server is made from. */
  revision?: number;
  /** The incarnation of that fleet (FleetRecord.incarnation). */
  fleetIncarnation?: string;
};

export const serverKeyRequest = z.object(serverKey);

export const detailsRequest = z.object({
  ...serverKey,
  type: z.enum(['details', 'logs']).optional(),
  containerName: z.string().regex(CONTAINER_GROUP_NAME).optional(),
  tail: z.number().int().min(1).max(10_000).optional(),
});
export type DetailsRequest = z.infer<typeof detailsRequest>;

export const activeSessions = wholeNumber('activeSessions', 0, 1_000_000);

export const sessionReport = z.object({ ...serverKey, activeSessions });
export const setSessionsRequest = z
  .array(sessionReport)
  .min(1, { error: 'send at least one session report' })
  .max(5_000)
  .superRefine((reports, ctx) => {
    const seen = new Set<string>();
    reports.forEach((r, i) => {
      const key = `${r.resourceGroup}/${r.containerGroupName}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: `${key} is reported twice in one batch` });
      seen.add(key);
    });
  });
export type SessionReport = z.infer<typeof sessionReport>;

export const setStateRequest = z.object({
  ...serverKey,
  state: z.enum(OPERATOR_TARGET_STATES, { error: `state must be one of ${OPERATOR_TARGET_STATES.join(', ')}` }),
});
export type SetStateRequest = z.infer<typeof setStateRequest>;

export const listQuery = z.object({
  state: z.enum([...STATES, 'all'], { error: `state must be 'all' or one of ${STATES.join(', ')}` }).default('Running'),
});

/** CONTAINER_GROUP_TEMPLATE, and a fleet's template: an ACICreate body without the name (the fleet makes names up). */
export const containerGroupTemplate = createFields.omit({ containerGroupName: true, fleet: true }).extend({
  containerGroup: containerGroupSpec,
  /** Start of the names the autoscaler gives new servers; the fleet's name when absent. */
  namePrefix: z
    .string()
    .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{0,38}[a-z0-9]$/, { error: "namePrefix must be 2-40 lowercase letters, digits or '-'" })
    .optional(),
});
export type ContainerGroupTemplate = z.infer<typeof containerGroupTemplate>;
