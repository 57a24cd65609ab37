// The emulator's container groups, found the way ARM finds them. Records are plain JSON data
// (operations and timers live elsewhere), so the store's contents can be saved and reloaded.
import { groupId, type GroupRecord } from './model';

export class GroupStore {
  /** Key: groupKey(resourceGroup, name). */
  private readonly records = new Map<string, GroupRecord>();

  constructor(private readonly subscriptionId: string) {}

  get(key: string): GroupRecord | undefined {
    return this.records.get(key);
  }

  /** Adds the record or replaces the one of the same group. */
  put(rec: GroupRecord): void {
    this.records.set(groupKey(rec.resourceGroup, rec.name), rec);
  }

  delete(key: string): void {
    this.records.delete(key);
  }

  /** In list order (by lower-cased resource id), optionally only those after `afterSortKey`. */
  list(filter: { resourceGroup?: string; afterSortKey?: string } = {}): GroupRecord[] {
    const rg = filter.resourceGroup?.toLowerCase();
    const { afterSortKey } = filter;
    return [...this.records.values()]
      .filter((g) => rg === undefined || g.resourceGroup.toLowerCase() === rg)
      .map((g) => ({ g, sortKey: this.sortKey(g) }))
      .filter(({ sortKey }) => afterSortKey === undefined || sortKey > afterSortKey)
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0))
      .map(({ g }) => g);
  }

  sortKey(g: GroupRecord): string {
    return groupId(this.subscriptionId, g.resourceGroup, g.name).toLowerCase();
  }

  /** Lowest free address of 203.0.113.1–254 (TEST-NET-3) not held by a stored group. */
  allocateIp(): string | undefined {
    const used = new Set([...this.records.values()].map((g) => g.ip));
    for (let i = 1; i <= 254; i++) {
      const ip = `203.0.113.${i}`;
      if (!used.has(ip)) return ip;
    }
    return undefined;
  }
}

/** Resource group names are case-insensitive in ARM; ACI names are lower-case. */
export function groupKey(resourceGroup: string, name: string): string {
  return `${resourceGroup.toLowerCase()}/${name.toLowerCase()}`;
}
