// The one rule for resource groups: Azure compares their names case-insensitively, and a fleet
// may be limited to some of them (FLEET_RESOURCE_GROUPS).
import { FleetError } from './errors';

/**
 * ARM's rule for resource group names: 1-90 letters or digits (any script: Char.IsLetterOrDigit)
 * and `_ - . ( )`, not ending in a period.
 */
export const RESOURCE_GROUP_NAME = /^[-\p{L}\p{Nd}_.()]{0,89}[-\p{L}\p{Nd}_()]$/u;

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
