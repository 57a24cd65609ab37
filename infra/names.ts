// Deterministic names for what Azure names with a GUID (role assignments, the custom role, the
// workbook): name-based UUIDs (RFC 9562 version 5), so a re-run or a stack with lost state
// addresses the same object instead of failing with RoleAssignmentExists. No Pulumi import.
import * as crypto from 'node:crypto';

/** The RFC 9562 namespace for URLs. */
export const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The version 5 UUID of `name` in `namespace` (SHA-1 of the namespace's bytes, then the name's UTF-8). */
export function uuidV5(name: string, namespace: string): string {
  if (!UUID.test(namespace)) throw new Error(`uuidV5: "${namespace}" is not a UUID`);
  const hash = crypto
    .createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** This project's namespace: every name below is a UUID in it. */
export const ACI_FLEET_NAMESPACE = uuidV5('https://github.com/aci-fleet', URL_NAMESPACE);

/** ARM ids are case-insensitive: one casing, so `resourceGroups` and `resourcegroups` name the same thing. */
const canonical = (id: string) => id.trim().replace(/\/+$/, '').toLowerCase();

/**
 * A role assignment's name from what makes it unique (scope, principal, role), as Azure itself
 * forbids two assignments of one role to one principal at one scope. The role may be a bare GUID
 * or a full role definition id.
 */
export function roleAssignmentName(scope: string, principalId: string, roleDefinitionId: string): string {
  const role = canonical(roleDefinitionId).split('/').pop() ?? '';
  return uuidV5(`role-assignment|${canonical(scope)}|${canonical(principalId)}|${role}`, ACI_FLEET_NAMESPACE);
}

/** Any other object the stack names with a GUID: its kind and what identifies it. */
export function stableGuid(kind: string, ...parts: string[]): string {
  return uuidV5([kind, ...parts.map(canonical)].join('|'), ACI_FLEET_NAMESPACE);
}
