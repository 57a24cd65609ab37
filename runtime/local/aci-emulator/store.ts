// The emulator's container groups, found the way ARM finds them. Records are plain JSON data
// (operations and timers live elsewhere), so the store can keep them in a file: written before
// each change is answered, read back at start, so a restarted emulator has the same groups.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { groupId, type GroupRecord } from './model';

/** The file's layout; another version is refused rather than misread. */
const FILE_VERSION = 1;

interface StoreFile {
  version: number;
  subscriptionId: string;
  groups: GroupRecord[];
}

export class GroupStore {
  /** Key: groupKey(resourceGroup, name). */
  private readonly records = new Map<string, GroupRecord>();

  /** With a `file`, the groups it holds are loaded now and every change is written to it. */
  constructor(
    private readonly subscriptionId: string,
    private readonly file?: string,
  ) {
    if (file && existsSync(file)) for (const rec of readStoreFile(file, subscriptionId)) this.records.set(keyOf(rec), rec);
  }

  get(key: string): GroupRecord | undefined {
    return this.records.get(key);
  }

  /** Adds the record or replaces the one of the same group; call it again after changing a record. */
  put(rec: GroupRecord): void {
    this.records.set(keyOf(rec), rec);
    this.save();
  }

  delete(key: string): void {
    if (this.records.delete(key)) this.save();
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

  /** Written whole to a temporary file and renamed over the old one, so a crash leaves one or the other. */
  private save(): void {
    if (!this.file) return;
    const content: StoreFile = { version: FILE_VERSION, subscriptionId: this.subscriptionId, groups: [...this.records.values()] };
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(content, null, 1)}\n`);
    renameSync(temporary, this.file);
  }
}

/** Resource group names are case-insensitive in ARM; ACI names are lower-case. */
export function groupKey(resourceGroup: string, name: string): string {
  return `${resourceGroup.toLowerCase()}/${name.toLowerCase()}`;
}

const keyOf = (rec: GroupRecord) => groupKey(rec.resourceGroup, rec.name);

function readStoreFile(file: string, subscriptionId: string): GroupRecord[] {
  const cannot = (why: string) =>
    new Error(`The ACI emulator cannot use its saved container groups in ${file}: ${why}. Delete the file to start with none.`);
  let content: Partial<StoreFile>;
  try {
    content = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoreFile>;
  } catch (e) {
    throw cannot(`it is not readable JSON (${(e as Error).message})`);
  }
  if (content.version !== FILE_VERSION || !Array.isArray(content.groups)) throw cannot(`it is not version ${FILE_VERSION} of the format`);
  if (content.subscriptionId !== subscriptionId) {
    throw cannot(`it holds subscription ${content.subscriptionId}, not ${subscriptionId}`);
  }
  return content.groups;
}
