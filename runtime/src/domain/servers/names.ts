// Names the fleet gives the servers it creates: `<prefix>-<slot>`, the lowest slots no server holds,
// so two runs deciding on the same view pick the same names (see fleets/controller.ts).

/** A name prefix made from a deployment's FLEET_NAME: lowercase letters, digits and single dashes. */
export function namePrefixFrom(fleetName: string): string {
  const cleaned = fleetName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40)
    .replace(/-$/, '');
  return cleaned.length >= 2 ? cleaned : 'gs';
}

/** The name of a fleet's `slot`-th server (1, 2, …), within ACI's container group name rule (prefixes are at most 40 characters). */
export const slotName = (prefix: string, slot: number): string => `${prefix}-${slot}`;
