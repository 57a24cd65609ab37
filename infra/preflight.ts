// Run before the program declares anything: the region must offer Flex Consumption and the app's
// Node.js version on it (deploy/preflight.ts asks ARM). Otherwise `pulumi preview` stops with a
// message naming aci-fleet:location, and nothing is created. Fleets that would not fit in ACI's
// quota of their region at their largest are warned about.
import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization';
import { FLEX_RUNTIME } from './app';
import { ConfigError } from './config';
import { ARM_URL } from './deploy/armToken';
import { preflight, quotaWarnings, readAciUsages } from './deploy/preflight';
import type { FleetDemand } from './fleetSpecs';

export async function checkRegion(location: string, subscriptionId: string, demand: readonly FleetDemand[] = []): Promise<void> {
  const { token } = await authorization.getClientToken();
  let problems: string[];
  try {
    problems = await preflight({ armUrl: ARM_URL, subscriptionId, location, runtime: FLEX_RUNTIME, getToken: () => token });
  } catch (e) {
    throw new pulumi.RunError((e as Error).message);
  }
  if (problems.length > 0) throw new pulumi.RunError(new ConfigError(problems).message);
  // A quota can be raised later, and the fleets may never all be at their largest: a warning, never a stop.
  try {
    const { usages, unread } = await readAciUsages(
      { armUrl: ARM_URL, subscriptionId, getToken: () => token },
      demand.map((d) => d.location),
    );
    for (const warning of [...quotaWarnings(demand, usages), ...unread]) pulumi.log.warn(warning);
  } catch (e) {
    pulumi.log.warn(`ACI quota: not checked (${(e as Error).message})`);
  }
}
