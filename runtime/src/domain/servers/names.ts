// Names the fleet gives the servers it creates: `<prefix>-<time in base 36><random>`, sortable by
// age and unique without asking anyone, within ACI's container group name rule.
import { randomBytes } from 'node:crypto';

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

/** A new server's name; `random` (0 ≤ x < 1) lets the simulator repeat its runs exactly. */
export function newServerName(prefix: string, now: Date, random?: () => number): string {
  const suffix = random ? Math.floor(random() * 0x1000000) : randomBytes(3).readUIntBE(0, 3);
  return `${prefix}-${now.getTime().toString(36)}${suffix.toString(36).padStart(5, '0')}`;
}
