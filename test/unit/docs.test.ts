// The settings tables in the README and docs/deploy.md are generated from the options table:
// this fails when someone edits either side without running `npm run docs`.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { OPTION_KEYS, STACK_KEYS } from '../../infra/config';
import { SETTING_NAMES } from '../../runtime/src/options';
import { appSettingsTable, renderedDocs, stackKeysTable } from '../../tools/docs/settingsTables';

describe('the generated settings tables', () => {
  for (const { file, current, rendered } of renderedDocs(resolve(__dirname, '../..'))) {
    it(`${file} matches the options table (run npm run docs)`, () => assert.equal(current, rendered));
  }

  it('list every app setting, and every stack key, once', () => {
    const settings = appSettingsTable();
    for (const name of SETTING_NAMES) assert.equal(settings.split(`| \`${name}\` |`).length, 2, name);
    const keys = stackKeysTable();
    for (const key of [...Object.keys(STACK_KEYS), ...OPTION_KEYS.keys()]) assert.equal(keys.split(`| \`${key}\` |`).length, 2, key);
  });
});
