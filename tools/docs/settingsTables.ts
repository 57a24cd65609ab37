// The settings tables of the README and docs/deploy.md, rendered from the options table
// (runtime/src/options.ts) and the stack's own keys (infra/config.ts), so the docs cannot drift.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPTION_KEYS, STACK_KEYS } from '../../infra/config';
import { OPTIONS, SETTING_NAMES, settingText, type OptionRow, type SettingName } from '../../runtime/src/options';

const SECTION_ORDER: OptionRow['section'][] = ['fleet', 'servers', 'allocation', 'autoscaler', 'reports', 'retries', 'azure'];

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function shownDefault(row: OptionRow): string {
  if (row.shownDefault) return row.shownDefault;
  if (row.default === undefined) return '—';
  const text = Array.isArray(row.default) ? row.default.join(',') : settingText(row.default);
  return `\`${text}\``;
}

function where(row: OptionRow): string {
  const { source } = row;
  if (source === 'local') return 'local, or by hand';
  if (source === 'platform') return 'the platform';
  if ('stackKey' in source) return `\`${source.stackKey}\`${source.always ? ' (always written)' : ''}`;
  return `the stack: ${source.stack}`;
}

const bySection = (names: readonly SettingName[]) =>
  [...names].sort((a, b) => SECTION_ORDER.indexOf(OPTIONS[a].section) - SECTION_ORDER.indexOf(OPTIONS[b].section));

/** The README's table: every app setting the runtime reads. */
export function appSettingsTable(): string {
  const lines = ['| setting | default | values | set on Azure by | meaning |', '|---|---|---|---|---|'];
  for (const name of bySection(SETTING_NAMES)) {
    const row: OptionRow = OPTIONS[name];
    lines.push(
      `| \`${name}\` | ${cell(shownDefault(row))} | ${cell(row.kind.bounds ?? '')} | ${cell(where(row))} | ${cell(row.description)} |`,
    );
  }
  return lines.join('\n');
}

/** docs/deploy.md's table: every `aci-fleet:*` key, the stack's own first, then the runtime's options. */
export function stackKeysTable(): string {
  const lines = ['| Key | Default | App setting | Values | Meaning |', '|---|---|---|---|---|'];
  for (const [key, spec] of Object.entries(STACK_KEYS))
    lines.push(`| \`${key}\` | ${cell(spec.shownDefault)} | | | ${cell(spec.description)} |`);
  const keys = [...OPTION_KEYS].sort(
    ([, a], [, b]) => SECTION_ORDER.indexOf(OPTIONS[a].section) - SECTION_ORDER.indexOf(OPTIONS[b].section),
  );
  for (const [key, name] of keys) {
    const row: OptionRow = OPTIONS[name];
    const always = typeof row.source === 'object' && 'always' in row.source && row.source.always ? ' (always written)' : '';
    lines.push(
      `| \`${key}\` | ${cell(shownDefault(row))} | \`${name}\`${always} | ${cell(row.kind.bounds ?? '')} | ${cell(row.description)} |`,
    );
  }
  return lines.join('\n');
}

/** The generated part of each document sits between these two lines. */
const BEGIN = (what: string) => `<!-- generated: ${what} (npm run docs; edit runtime/src/options.ts or infra/config.ts instead) -->`;
const END = (what: string) => `<!-- end of generated: ${what} -->`;

const GENERATED: Array<{ file: string; what: string; render: () => string }> = [
  { file: 'README.md', what: 'app settings', render: appSettingsTable },
  { file: 'docs/deploy.md', what: 'stack keys', render: stackKeysTable },
];

/** Each document as it should read, with its generated parts rendered afresh. */
export function renderedDocs(root: string): Array<{ file: string; current: string; rendered: string }> {
  return GENERATED.map(({ file, what, render }) => {
    const current = readFileSync(join(root, file), 'utf8');
    const begin = current.indexOf(BEGIN(what));
    const end = current.indexOf(END(what));
    if (begin < 0 || end < begin)
      throw new Error(`${file}: the markers of the generated ${what} are missing:\n${BEGIN(what)}\n${END(what)}`);
    const rendered = `${current.slice(0, begin)}${BEGIN(what)}\n${render()}\n${current.slice(end)}`;
    return { file, current, rendered };
  });
}
