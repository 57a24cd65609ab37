// The deployment bundle must load in a plain Node process: the app's entry, and the Azure SDKs it
// loads on first use. (An ESM dependency reading import.meta.url once broke exactly this.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { build } from 'esbuild';
import { runtimeBuildOptions } from '../../runtime/esbuild';

const dir = mkdtempSync(join(tmpdir(), 'aci-fleet-bundle-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Requires `file` in a fresh process with no TypeScript loader and an almost empty environment. */
function load(file: string, script = ''): { status: number | null; stderr: string; stdout: string } {
  const run = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(file)}); ${script}`], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  });
  return { status: run.status, stderr: run.stderr, stdout: run.stdout };
}

describe('the runtime bundle', () => {
  it('loads its entry point in plain Node', async () => {
    const out = join(dir, 'index.js');
    await build({ ...runtimeBuildOptions('runtime/src/index.ts'), outfile: out });
    const run = load(out);
    assert.equal(run.status, 0, run.stderr);
  });

  it('loads the Azure SDK adapters and builds the services from settings', async () => {
    const out = join(dir, 'services.js');
    const { entryPoints: _entry, ...options } = runtimeBuildOptions('');
    await build({
      ...options,
      stdin: {
        contents: "export { createServices } from './runtime/src/services'; export { readSettings } from './runtime/src/options';",
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      outfile: out,
    });
    // Building the services constructs every SDK client (nothing is called, so no network).
    const settings = { FLEET_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', ARM_ENDPOINT: 'http://127.0.0.1:9' };
    const run = load(
      out,
      `const s = m.createServices(m.readSettings(${JSON.stringify(settings)})); process.stdout.write(typeof s.servers);`,
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'function');
  });

  it("needs no module outside the bundle but the Functions worker's own", async () => {
    const result = await build({
      ...runtimeBuildOptions('runtime/src/index.ts'),
      write: false,
      outfile: join(dir, 'x.js'),
      metafile: true,
    });
    const imports = Object.values(result.metafile!.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    const builtins = new Set(builtinModules);
    for (const path of imports)
      assert.ok(path.startsWith('node:') || builtins.has(path) || path === '@azure/functions-core', `external import ${path}`);
  });
});
