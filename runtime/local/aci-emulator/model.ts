// ARM JSON shapes of Microsoft.ContainerInstance/containerGroups as the emulator stores and
// returns them, and the rendering of a stored group into what ARM answers (secrets removed).

export type JsonObject = Record<string, unknown>;

export const RESOURCE_TYPE = 'Microsoft.ContainerInstance/containerGroups';

export interface EnvironmentVariableJson {
  name: string;
  value?: string;
  secureValue?: string;
}

export interface PortJson {
  port: number;
  protocol?: 'TCP' | 'UDP';
}

export interface InstanceEventJson {
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  name: string;
  message: string;
  type: 'Normal' | 'Warning';
}

export interface ContainerStateJson {
  state: 'Running' | 'Waiting' | 'Terminated';
  startTime?: string;
  finishTime?: string;
  exitCode?: number;
  detailStatus: string;
}

export interface ContainerJson {
  name: string;
  properties: {
    image: string;
    resources: { requests: { cpu: number; memoryInGB: number; [key: string]: unknown }; [key: string]: unknown };
    ports?: PortJson[];
    environmentVariables?: EnvironmentVariableJson[];
    instanceView?: { restartCount: number; currentState: ContainerStateJson; events: InstanceEventJson[] };
    [key: string]: unknown;
  };
}

export interface IpAddressJson {
  type: 'Public' | 'Private';
  ports: PortJson[];
  ip?: string;
  dnsNameLabel?: string;
  fqdn?: string;
  [key: string]: unknown;
}

/** A group's properties as requested (validated, secrets included, read-only fields dropped). */
export interface GroupPropertiesSpec {
  containers: ContainerJson[];
  osType: 'Linux' | 'Windows';
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  sku: string;
  ipAddress?: IpAddressJson;
  [key: string]: unknown;
}

export interface ContainerGroupJson {
  id: string;
  name: string;
  type: typeof RESOURCE_TYPE;
  location: string;
  tags?: Record<string, string>;
  properties: GroupPropertiesSpec & {
    provisioningState: ProvisioningState;
    instanceView?: { state: string; events: InstanceEventJson[] };
  };
  [key: string]: unknown;
}

/** What a valid PUT body becomes. */
export interface GroupSpec {
  location: string;
  tags?: Record<string, string>;
  properties: GroupPropertiesSpec;
  /** Other top-level fields (identity, zones…), echoed back as given. */
  extra: JsonObject;
}

export type ProvisioningState = 'Pending' | 'Succeeded' | 'Failed' | 'Deleting';

/** A stored group: its spec plus what the emulated platform did with it. */
export interface GroupRecord {
  /** Casing as first created; lookups use the lower-cased key. */
  resourceGroup: string;
  name: string;
  spec: GroupSpec;
  provisioningState: ProvisioningState;
  /** What provisioning ended in, once it has (kept while Deleting; cleared by a re-PUT). */
  settled?: { outcome: 'Running' | 'Failed' | 'Stopped'; at: string; reason?: string };
  ip?: string;
}

export function groupId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${RESOURCE_TYPE}/${name}`;
}

/** The emulator's pull failure: any image whose reference contains "fail" is accepted, then fails to pull. */
export function failingContainers(spec: GroupSpec): ContainerJson[] {
  return spec.properties.containers.filter((c) => c.properties.image.includes('fail'));
}

/**
 * An image its registry does not have: any reference containing "missing". ARM refuses the PUT
 * itself (400 InaccessibleImage), as ACI does for an image it cannot resolve.
 */
export function missingImage(spec: GroupSpec): string | undefined {
  return spec.properties.containers.find((c) => c.properties.image.includes('missing'))?.properties.image;
}

/** Whether two specs are the same regardless of property order. */
export function sameSpec(a: GroupSpec, b: GroupSpec): boolean {
  return stableJson(a) === stableJson(b);
}

/** The group as GET/list answer it: secrets never leave the emulator, as on ARM. */
export function renderGroup(subscriptionId: string, rec: GroupRecord): ContainerGroupJson {
  const props = structuredClone(rec.spec.properties);
  const settled = rec.settled;
  const failed = new Set(failingContainers(rec.spec).map((c) => c.name));

  for (const c of props.containers) {
    redactEnv(c.properties.environmentVariables);
    if (settled) c.properties.instanceView = containerView(c, settled, failed.has(c.name));
  }
  for (const c of asArray(props.initContainers)) redactEnv((c as Partial<ContainerJson>).properties?.environmentVariables);
  for (const cred of asArray(props.imageRegistryCredentials)) delete (cred as JsonObject).password;
  redactSecrets(props);

  if (props.ipAddress) {
    if (rec.ip) props.ipAddress.ip = rec.ip;
    if (props.ipAddress.dnsNameLabel) {
      props.ipAddress.fqdn = `${props.ipAddress.dnsNameLabel}.${rec.spec.location}.azurecontainer.io`;
    }
  }

  const json: ContainerGroupJson = {
    ...structuredClone(rec.spec.extra),
    id: groupId(subscriptionId, rec.resourceGroup, rec.name),
    name: rec.name,
    type: RESOURCE_TYPE,
    location: rec.spec.location,
    ...(rec.spec.tags ? { tags: { ...rec.spec.tags } } : {}),
    properties: { ...props, provisioningState: rec.provisioningState },
  };
  if (settled) {
    json.properties.instanceView =
      settled.outcome === 'Running'
        ? { state: 'Running', events: [] }
        : settled.outcome === 'Stopped'
          ? { state: 'Stopped', events: [event('Stopped', 'Container group was stopped', 'Normal', settled.at)] }
          : // A failed provisioning leaves the group Pending, as the spec's ContainerGroupsGet_Failed shows.
            { state: 'Pending', events: [event('Failed', settled.reason ?? 'Provisioning failed', 'Warning', settled.at)] };
  }
  return json;
}

function containerView(
  c: ContainerJson,
  settled: NonNullable<GroupRecord['settled']>,
  pullFailed: boolean,
): NonNullable<ContainerJson['properties']['instanceView']> {
  const { at } = settled;
  const image = c.properties.image;
  if (settled.outcome === 'Running') {
    return {
      restartCount: 0,
      currentState: { state: 'Running', startTime: at, detailStatus: '' },
      events: [
        event('Pulling', `pulling image "${image}"`, 'Normal', at),
        event('Pulled', `Successfully pulled image "${image}"`, 'Normal', at),
        event('Started', 'Started container', 'Normal', at),
      ],
    };
  }
  if (settled.outcome === 'Stopped') {
    // Stopped by a POST .../stop: every container was killed, and the group's compute released.
    return {
      restartCount: 0,
      currentState: { state: 'Terminated', exitCode: 137, finishTime: at, detailStatus: 'Killed' },
      events: [event('Killing', 'Killing container', 'Normal', at)],
    };
  }
  // The group failed: the containers whose pull failed say why, the others never started.
  return {
    restartCount: 0,
    currentState: { state: 'Waiting', detailStatus: pullFailed ? 'ErrImagePull' : '' },
    events: pullFailed
      ? [
          event('Pulling', `pulling image "${image}"`, 'Normal', at),
          event('Failed', `Failed to pull image "${image}": manifest unknown (emulated pull failure)`, 'Warning', at),
        ]
      : [],
  };
}

/** What ARM's answers leave out besides secure values (as the spec's example responses show). */
function redactSecrets(props: JsonObject): void {
  for (const volume of asArray(props.volumes) as JsonObject[]) {
    const azureFile = volume?.azureFile as JsonObject | undefined;
    if (azureFile) delete azureFile.storageAccountKey;
    if (volume?.secret !== undefined) volume.secret = {};
  }
  const logAnalytics = (props.diagnostics as JsonObject | undefined)?.logAnalytics as JsonObject | undefined;
  if (logAnalytics) delete logAnalytics.workspaceKey;
  for (const extension of asArray(props.extensions) as Partial<{ properties: JsonObject }>[]) {
    if (extension?.properties) delete extension.properties.protectedSettings;
  }
}

function redactEnv(vars: unknown): void {
  for (const v of asArray(vars) as Partial<EnvironmentVariableJson>[]) {
    if (v?.secureValue === undefined) continue;
    delete v.secureValue;
    delete v.value;
  }
}

function event(name: string, message: string, type: InstanceEventJson['type'], at: string): InstanceEventJson {
  return { count: 1, firstTimestamp: at, lastTimestamp: at, name, message, type };
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** JSON with sorted keys. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}
