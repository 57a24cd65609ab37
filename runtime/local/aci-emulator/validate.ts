// Checks a container group PUT as ARM/ACI would: a valid body becomes a GroupSpec, an invalid
// one an ARM error. Codes approximate ACI's; each message names the offending field.
import type { ContainerJson, EnvironmentVariableJson, GroupSpec, IpAddressJson, JsonObject, PortJson } from './model';

export interface ArmError {
  status: number;
  code: string;
  message: string;
}

export function armError(status: number, code: string, message: string): ArmError {
  return { status, code, message };
}

export function isArmError(v: object): v is ArmError {
  return 'code' in v && 'status' in v;
}

// ACI's rule for group and container names: 1–63 of [a-z0-9-], no leading/trailing '-', no '--'.
const RESOURCE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_NAME_LABEL = /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/;

/** ARM's enums of a container group (2023-05-01): matched in any casing, stored in ARM's spelling. */
const ENUMS = {
  osType: ['Linux', 'Windows'],
  restartPolicy: ['Always', 'OnFailure', 'Never'],
  ipAddressType: ['Public', 'Private'],
  protocol: ['TCP', 'UDP'],
  sku: ['Standard', 'Dedicated', 'Confidential'],
  priority: ['Regular', 'Spot'],
  dnsNameLabelReusePolicy: ['Unsecure', 'TenantReuse', 'SubscriptionReuse', 'ResourceGroupReuse', 'Noreuse'],
  gpuSku: ['K80', 'P100', 'V100'],
  scheme: ['http', 'https'],
  logType: ['ContainerInsights', 'ContainerInstanceLogs'],
  identityType: ['SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned', 'None'],
} as const;

export function isValidResourceName(name: string): boolean {
  return RESOURCE_NAME.test(name) && !name.includes('--');
}

/** ARM lower-cases and drops the spaces of display names ("West Europe" → "westeurope"). */
export function normalizeLocation(location: string): string {
  return location.toLowerCase().replace(/\s+/g, '');
}

class Invalid extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function validateGroupPut(name: string, body: unknown): GroupSpec | ArmError {
  try {
    return parseGroup(name, body);
  } catch (e) {
    if (e instanceof Invalid) return armError(400, e.code, e.message);
    throw e;
  }
}

function parseGroup(name: string, body: unknown): GroupSpec {
  if (!isValidResourceName(name)) {
    throw new Invalid(
      'InvalidContainerGroupName',
      `The container group name '${name}' is invalid. A container group name must be 1 to 63 characters long, ` +
        `contain only lowercase letters, numbers and '-', not start or end with '-', and not contain '--'.`,
    );
  }
  if (!isObject(body)) throw new Invalid('InvalidRequestContent', 'The request content must be a JSON object.');
  const { id: _id, name: _name, type: _type, location, tags, properties, ...extra } = body;
  if (typeof location !== 'string' || location.trim() === '') {
    throw new Invalid('LocationRequired', 'The location property is required for this definition.');
  }
  if (tags !== undefined && !(isObject(tags) && Object.values(tags).every((v) => typeof v === 'string'))) {
    throw new Invalid('InvalidRequestContent', "'tags' must be an object of string values.");
  }
  if (!isObject(properties)) throw missing('properties');

  const {
    provisioningState: _ps,
    instanceView: _iv,
    containers,
    osType,
    restartPolicy,
    ipAddress,
    sku,
    priority,
    diagnostics,
    ...rest
  } = properties;
  if (!Array.isArray(containers) || containers.length === 0) {
    throw new Invalid('MissingRequiredProperty', "A container group must have at least one container in 'properties.containers'.");
  }
  const parsedContainers = containers.map((c, i) => parseContainer(c, `properties.containers[${i}]`));
  const seen = new Set<string>();
  for (const c of parsedContainers) {
    if (seen.has(c.name)) {
      throw new Invalid('DuplicateContainerName', `The container name '${c.name}' is used more than once.`);
    }
    seen.add(c.name);
  }

  const identity = structuredClone(extra.identity);
  if (isObject(identity)) {
    // ARM reads "SystemAssigned,UserAssigned" as "SystemAssigned, UserAssigned".
    const type = typeof identity.type === 'string' ? identity.type.replace(/\s*,\s*/g, ', ') : identity.type;
    identity.type = oneOf(type, ENUMS.identityType, 'identity.type', 'InvalidIdentityType', true);
  }
  return {
    location: normalizeLocation(location),
    ...(tags !== undefined ? { tags: { ...(tags as Record<string, string>) } } : {}),
    properties: {
      ...structuredClone(rest),
      containers: parsedContainers,
      osType: oneOf(osType, ENUMS.osType, 'properties.osType', 'InvalidOsType', true),
      restartPolicy: oneOf(restartPolicy ?? 'Always', ENUMS.restartPolicy, 'properties.restartPolicy', 'InvalidRestartPolicy'),
      sku: oneOf(sku ?? 'Standard', ENUMS.sku, 'properties.sku', 'InvalidContainerGroupSku'),
      ...(priority !== undefined ? { priority: oneOf(priority, ENUMS.priority, 'properties.priority', 'InvalidRequestContent') } : {}),
      ...(diagnostics !== undefined ? { diagnostics: parseDiagnostics(diagnostics) } : {}),
      ...(ipAddress !== undefined ? { ipAddress: parseIpAddress(ipAddress) } : {}),
    },
    extra: { ...structuredClone(extra), ...(identity !== undefined ? { identity } : {}) },
  };
}

function parseDiagnostics(raw: unknown): JsonObject {
  if (!isObject(raw)) throw new Invalid('InvalidRequestContent', "'properties.diagnostics' must be an object.");
  const out = structuredClone(raw);
  const logAnalytics = out.logAnalytics;
  if (isObject(logAnalytics) && logAnalytics.logType !== undefined) {
    logAnalytics.logType = oneOf(
      logAnalytics.logType,
      ENUMS.logType,
      'properties.diagnostics.logAnalytics.logType',
      'InvalidRequestContent',
    );
  }
  return out;
}

function parseContainer(raw: unknown, path: string): ContainerJson {
  if (!isObject(raw)) throw new Invalid('InvalidRequestContent', `'${path}' must be an object.`);
  const { name, properties } = raw;
  if (typeof name !== 'string' || name === '') throw missing(`${path}.name`);
  if (!isValidResourceName(name)) {
    throw new Invalid(
      'InvalidContainerName',
      `The container name '${name}' is invalid. A container name must be 1 to 63 characters long, ` +
        `contain only lowercase letters, numbers and '-', not start or end with '-', and not contain '--'.`,
    );
  }
  if (!isObject(properties)) throw missing(`${path}.properties`);
  const { instanceView: _iv, image, resources, ports, environmentVariables, ...rest } = properties;
  if (typeof image !== 'string' || image.trim() === '') throw missing(`${path}.properties.image`);
  const requests = isObject(resources) ? resources.requests : undefined;
  if (!isObject(requests)) throw missing(`${path}.properties.resources.requests`);
  for (const key of ['cpu', 'memoryInGB'] as const) {
    const v = requests[key];
    if (v === undefined) throw missing(`${path}.properties.resources.requests.${key}`);
    if (typeof v !== 'number' || !(v > 0)) {
      throw new Invalid(
        'InvalidContainerResourceRequests',
        `'${path}.properties.resources.requests.${key}' must be a number greater than 0 (got ${JSON.stringify(v)}).`,
      );
    }
  }
  const parsedResources = structuredClone(resources as ContainerJson['properties']['resources']);
  for (const kind of ['requests', 'limits'] as const) {
    const gpu = (parsedResources[kind] as JsonObject | undefined)?.gpu;
    if (isObject(gpu)) gpu.sku = oneOf(gpu.sku, ENUMS.gpuSku, `${path}.properties.resources.${kind}.gpu.sku`, 'InvalidGpuSku', true);
  }
  const probes: JsonObject = {};
  for (const probe of ['livenessProbe', 'readinessProbe'] as const) {
    const given = rest[probe];
    if (given === undefined) continue;
    const copy = structuredClone(given);
    const httpGet = isObject(copy) ? copy.httpGet : undefined;
    if (isObject(httpGet) && httpGet.scheme !== undefined) {
      httpGet.scheme = oneOf(httpGet.scheme, ENUMS.scheme, `${path}.properties.${probe}.httpGet.scheme`, 'InvalidRequestContent');
    }
    probes[probe] = copy;
  }
  return {
    name,
    properties: {
      ...structuredClone(rest),
      ...probes,
      image,
      resources: parsedResources,
      ports: parsePorts(ports ?? [], `${path}.properties.ports`),
      environmentVariables: parseEnv(environmentVariables ?? [], `${path}.properties.environmentVariables`),
    },
  };
}

function parseIpAddress(raw: unknown): IpAddressJson {
  if (!isObject(raw)) throw new Invalid('InvalidRequestContent', "'properties.ipAddress' must be an object.");
  const { ip, fqdn: _fqdn, type, ports, dnsNameLabel, autoGeneratedDomainNameLabelScope: scope, ...rest } = raw;
  const kind = oneOf(type, ENUMS.ipAddressType, 'properties.ipAddress.type', 'InvalidIpAddressType', true);
  if (!Array.isArray(ports) || ports.length === 0) {
    throw new Invalid('MissingIpAddressPorts', "'properties.ipAddress.ports' must list at least one port.");
  }
  if (dnsNameLabel !== undefined) {
    if (kind !== 'Public') {
      throw new Invalid('InvalidDnsNameLabel', 'A DNS name label is only supported when the IP address type is Public.');
    }
    if (typeof dnsNameLabel !== 'string' || !DNS_NAME_LABEL.test(dnsNameLabel) || dnsNameLabel.includes('--')) {
      throw new Invalid(
        'InvalidDnsNameLabel',
        `The DNS name label '${String(dnsNameLabel)}' is invalid. It must be 3 to 63 characters long, start with a ` +
          `lowercase letter, contain only lowercase letters, numbers and '-', and not end with '-'.`,
      );
    }
  }
  return {
    ...structuredClone(rest),
    type: kind,
    ports: parsePorts(ports, 'properties.ipAddress.ports'),
    // A private address may be asked for; a public one is always assigned by the platform.
    ...(kind === 'Private' && typeof ip === 'string' ? { ip } : {}),
    ...(dnsNameLabel !== undefined ? { dnsNameLabel: dnsNameLabel as string } : {}),
    ...(scope !== undefined
      ? {
          autoGeneratedDomainNameLabelScope: oneOf(
            scope,
            ENUMS.dnsNameLabelReusePolicy,
            'properties.ipAddress.autoGeneratedDomainNameLabelScope',
            'InvalidRequestContent',
          ),
        }
      : {}),
  };
}

function parsePorts(raw: unknown, path: string): PortJson[] {
  if (!Array.isArray(raw)) throw new Invalid('InvalidRequestContent', `'${path}' must be an array.`);
  return raw.map((p, i): PortJson => {
    const port = isObject(p) ? p.port : undefined;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Invalid('InvalidPort', `'${path}[${i}].port' must be an integer from 1 to 65535.`);
    }
    const protocol = (p as JsonObject).protocol;
    return protocol === undefined ? { port } : { port, protocol: oneOf(protocol, ENUMS.protocol, `${path}[${i}].protocol`, 'InvalidPort') };
  });
}

function parseEnv(raw: unknown, path: string): EnvironmentVariableJson[] {
  if (!Array.isArray(raw)) throw new Invalid('InvalidRequestContent', `'${path}' must be an array.`);
  return raw.map((v, i) => {
    if (!isObject(v) || typeof v.name !== 'string' || v.name === '') throw missing(`${path}[${i}].name`);
    const out: EnvironmentVariableJson = { name: v.name };
    for (const key of ['value', 'secureValue'] as const) {
      const val = v[key];
      if (val === undefined || val === null) continue;
      if (typeof val !== 'string') throw new Invalid('InvalidRequestContent', `'${path}[${i}].${key}' must be a string.`);
      out[key] = val;
    }
    return out;
  });
}

/** ARM matches enum values case-insensitively and answers with the canonical spelling. */
function oneOf<T extends string>(raw: unknown, allowed: readonly T[], path: string, code: string, required = false): T {
  if (raw === undefined && required) throw missing(path);
  const hit = typeof raw === 'string' ? allowed.find((a) => a.toLowerCase() === raw.toLowerCase()) : undefined;
  if (!hit) {
    throw new Invalid(code, `The value ${JSON.stringify(raw)} of '${path}' is invalid; allowed: ${allowed.join(', ')}.`);
  }
  return hit;
}

function missing(path: string): Invalid {
  return new Invalid('MissingRequiredProperty', `The required property '${path}' is missing from the request.`);
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
