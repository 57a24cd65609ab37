// Test helper: does the table tell the truth about ARM? Lists every disagreement between the
// fleet's rows and the emulator's groups tagged with this fleet's name.
import type { LocalFleet } from './localFleet';

export async function disagreements(fleet: LocalFleet): Promise<string[]> {
  const rows = new Map((await fleet.services.store.list()).map((r) => [`${r.value.resourceGroup}/${r.value.containerGroupName}`, r.value]));
  const owned = fleet.emulator.groups().filter((g) => g.tags?.['aci-fleet'] === fleet.settings.FLEET_NAME);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const g of owned) {
    const id = `${resourceGroupOf(g.id)}/${g.name}`;
    seen.add(id);
    const row = rows.get(id);
    const provisioning = g.properties.provisioningState;
    if (!row) {
      problems.push(`${id}: tagged group (${provisioning}) has no row`);
      continue;
    }
    const expected =
      provisioning === 'Succeeded'
        ? ['Running', 'MarkedForDeletion', 'Deleting']
        : provisioning === 'Failed'
          ? ['Failed']
          : provisioning === 'Deleting'
            ? ['Deleting', 'MarkedForDeletion', 'Running', 'Failed']
            : ['Creating'];
    if (!expected.includes(row.state)) problems.push(`${id}: ARM says ${provisioning} but the row is ${row.state}`);
    if (row.state === 'Running' && row.publicIp !== (g.properties.ipAddress?.ip ?? undefined)) {
      problems.push(`${id}: ARM has IP ${g.properties.ipAddress?.ip} but the row has ${row.publicIp}`);
    }
  }
  for (const [id, row] of rows) {
    if (seen.has(id)) continue;
    if (row.state !== 'Failed' || !row.failureReason) problems.push(`${id}: row is ${row.state} but ARM has no such group`);
  }
  return problems;
}

/** Every group ARM holds, by id: a second group for one server name would show up here. */
export function groupIds(fleet: LocalFleet): string[] {
  return fleet.emulator.groups().map((g) => g.id.toLowerCase());
}

const resourceGroupOf = (id: string) => /\/resourceGroups\/([^/]+)\//i.exec(id)![1]!.toLowerCase();
