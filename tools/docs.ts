// npm run docs: rewrites the settings tables in README.md and docs/deploy.md from the options table.
// npm run docs -- --check: exits 1 (and says which file) when a table is out of date.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderedDocs } from './docs/settingsTables';

const root = resolve(__dirname, '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const { file, current, rendered } of renderedDocs(root)) {
  if (current === rendered) continue;
  stale++;
  if (check) console.error(`${file}: the settings table is out of date; run npm run docs`);
  else {
    writeFileSync(join(root, file), rendered);
    console.log(`${file}: settings table rewritten`);
  }
}
if (check && stale > 0) process.exit(1);
if (!check && stale === 0) console.log('The settings tables are up to date.');
