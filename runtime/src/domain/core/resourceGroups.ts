// The one rule for resource groups: Azure compares their names case-insensitively, and a fleet
// may be limited to some of them (FLEET_RESOURCE_GROUPS).
import { FleetError } from './errors';

const RESOURCE_GROUP_CHARS = /^[-\p{L}\p{Nd}_.()]*[-\p{L}\p{Nd}_()]$/u;
/** .NET's Char.IsLetterOrDigit looks at one UTF-16 unit: no letter outside the BMP passes it. */
const OUTSIDE_BMP = /[\u{10000}-\u{10FFFF}]/u;

/**
 * ARM's rule for resource group names: 1-90 letters or digits (of any script, as .NET's
 * Char.IsLetterOrDigit) and `_ - . ( )`, not ending in a period. Only names whose lower-case
 * spelling (the table's key, and what ARM is called with) is the same name to ARM, which
 * compares upper-cased: `İ` lower-cases to two characters, the Kelvin sign to a plain `k`.
 */
export function isResourceGroupName(name: string): boolean {
  if (name.length < 1 || name.length > 90 || OUTSIDE_BMP.test(name) || !RESOURCE_GROUP_CHARS.test(name)) return false;
  const key = normalizeResourceGroup(name);
  return key.length === name.length && key.toUpperCase() === name.toUpperCase() && RESOURCE_GROUP_CHARS.test(key);
}

/** Resource group names are case-insensitive in Azure; the table keys them lower-case so both spellings meet. */
export const normalizeResourceGroup = (rg: string) => rg.toLowerCase();

/** Whether `resourceGroup` is one the fleet may use; an empty list allows any. */
export function isAllowedResourceGroup(allowed: readonly string[], resourceGroup: string): boolean {
  const rg = normalizeResourceGroup(resourceGroup);
  return allowed.length === 0 || allowed.some((a) => normalizeResourceGroup(a) === rg);
}

/** 403 unless `resourceGroup` is one the fleet may use. */
export function assertAllowedResourceGroup(allowed: readonly string[], resourceGroup: string): void {
  if (isAllowedResourceGroup(allowed, resourceGroup)) return;
  throw new FleetError(
    'Forbidden',
    `Resource group '${resourceGroup}' is not one of this fleet's resource groups (${allowed.join(', ')}).`,
    {
      resourceGroup,
      allowed,
    },
  );
}
