// Lists the stacks of the project (one Pulumi.<stack>.yaml per stack, one stack per region) as
// a JSON array, for the CI matrix: `npx tsx infra/ci/stacks.ts` prints ["dev","eastus2"].
import * as fs from 'node:fs';
import * as path from 'node:path';

export function listStacks(projectDir: string): string[] {
  return fs
    .readdirSync(projectDir)
    .map((f) => /^Pulumi\.([A-Za-z0-9._-]+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

if (require.main === module) {
  const stacks = listStacks(path.resolve(__dirname, '../..'));
  if (stacks.length === 0) {
    console.error('no Pulumi.<stack>.yaml found');
    process.exit(1);
  }
  console.log(JSON.stringify(stacks));
}
