// The runtime package: one esbuild bundle plus host.json and package.json, zipped so the same
// source always gives the same bytes (and hash), with Unix permissions Flex can read; and the real
// runtime's bundle, started with the settings the stack gives it, registers its whole function table.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unzipSync } from 'fflate';
import { buildBundle, packageJson, sha256Hex, zipDeterministic } from '../../infra/bundle';
import { appSettings } from '../../infra/app';
import { readSettings } from '../../runtime/src/options';
import { FUNCTIONS } from '../../runtime/src/functions';
import { registrations } from './support/functionsHost';
import { appInput, resolvedByPlatform } from './support/appInput';

const root = path.resolve(__dirname, '../..');
const fixture = {
  entry: 'test/infra/fixtures/runtime/src/index.ts',
  hostJson: path.join(root, 'test/infra/fixtures/runtime/host.json'),
  workingDir: root,
};

/** Central directory entries: name, "version made by" host, external attributes (zip spec 4.3.12). */
function centralEntries(zip: Uint8Array): Array<{ name: string; madeBy: number; attrs: number; dosDate: number }> {
  const buf = Buffer.from(zip);
  const entries = [];
  for (
    let at = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    at >= 0;
    at = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), at + 4)
  ) {
    const nameLength = buf.readUInt16LE(at + 28);
    entries.push({
      madeBy: buf.readUInt8(at + 5),
      dosDate: buf.readUInt32LE(at + 12),
      attrs: buf.readUInt32LE(at + 38),
      name: buf.subarray(at + 46, at + 46 + nameLength).toString(),
    });
  }
  return entries;
}

describe('zipDeterministic', () => {
  it('gives the same bytes whatever the order of the files', () => {
    const a = zipDeterministic({ 'b.txt': Buffer.from('b'), 'a.txt': Buffer.from('a') });
    const b = zipDeterministic({ 'a.txt': Buffer.from('a'), 'b.txt': Buffer.from('b') });
    assert.equal(sha256Hex(a), sha256Hex(b));
  });

  it('writes sorted entries made by Unix, readable regular files, with a fixed 1980-01-01 timestamp', () => {
    const zip = zipDeterministic({ 'z.js': Buffer.from('z'), 'host.json': Buffer.from('{}') });
    const entries = centralEntries(zip);
    assert.deepEqual(
      entries.map((e) => e.name),
      ['host.json', 'z.js'],
    );
    for (const e of entries) {
      assert.equal(e.madeBy, 3, 'Unix');
      assert.equal(e.attrs >>> 16, 0o100644, 'regular file, rw-r--r--');
      assert.equal(e.dosDate, (0 << 25) | (1 << 21) | (1 << 16), '1980-01-01 00:00:00');
    }
  });
});

describe('buildBundle', () => {
  it('builds the same zip twice from the same source (one hash)', async () => {
    const first = await buildBundle(fixture);
    const second = await buildBundle(fixture);
    assert.equal(first.hash, second.hash);
    assert.deepEqual(Buffer.from(first.zip), Buffer.from(second.zip));
    assert.equal(first.hash, sha256Hex(first.zip));
  });

  it('contains index.js, host.json and a package.json whose main is index.js', async () => {
    const { zip } = await buildBundle(fixture);
    const files = unzipSync(zip);
    assert.deepEqual(Object.keys(files).sort(), ['host.json', 'index.js', 'package.json']);
    assert.equal(JSON.parse(Buffer.from(files['package.json']).toString()).main, 'index.js');
    assert.equal(Buffer.from(files['package.json']).toString(), packageJson());
    assert.deepEqual(JSON.parse(Buffer.from(files['host.json']).toString()), JSON.parse(fs.readFileSync(fixture.hostJson, 'utf8')));
    const js = Buffer.from(files['index.js']).toString();
    // @azure/functions is bundled in; the worker-provided core API stays a require.
    assert.match(js, /require\("@azure\/functions-core"\)/);
    assert.match(js, /ACIMonitor/);
    assert.doesNotMatch(js, /require\("@azure\/functions"\)/);
  });

  it('changes the hash when the source changes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aci-fleet-bundle-'));
    try {
      const entry = path.join(dir, 'index.ts');
      fs.writeFileSync(entry, 'export const answer = 41;\n');
      const a = await buildBundle({ ...fixture, entry });
      fs.writeFileSync(entry, 'export const answer = 42;\n');
      const b = await buildBundle({ ...fixture, entry });
      assert.notEqual(a.hash, b.hash);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails with esbuild's message when the source does not build", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aci-fleet-bundle-'));
    try {
      const entry = path.join(dir, 'index.ts');
      fs.writeFileSync(entry, "import './missing-module';\n");
      await assert.rejects(buildBundle({ ...fixture, entry, workingDir: dir }), /missing-module/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a host.json that is not a Functions v2 host file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aci-fleet-bundle-'));
    try {
      const hostJson = path.join(dir, 'host.json');
      fs.writeFileSync(hostJson, '{"version":"1.0"}');
      await assert.rejects(buildBundle({ ...fixture, hostJson }), /"version" must be "2.0"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const realEntry = path.join(root, 'runtime/src/index.ts');
  const realHost = path.join(root, 'runtime/host.json');
  const haveRuntime = fs.existsSync(realEntry) && fs.existsSync(realHost);
  const skip = haveRuntime ? false : 'runtime/src/index.ts or runtime/host.json does not exist yet';
  // Built once, while the tests above run; a build failure is reported by each test that awaits it.
  const real = haveRuntime ? buildBundle({ entry: 'runtime/src/index.ts', hostJson: realHost, workingDir: root }) : undefined;
  real?.catch(() => undefined);

  it('bundles the real runtime deterministically', { skip }, async () => {
    const first = await real!;
    const second = await buildBundle({ entry: 'runtime/src/index.ts', hostJson: realHost, workingDir: root });
    assert.equal(first.hash, second.hash);
    assert.deepEqual(Object.keys(unzipSync(first.zip)).sort(), ['host.json', 'index.js', 'package.json']);
  });

  it("registers the runtime's whole function table when started with the stack's settings", { skip }, async () => {
    // What the stack writes with the autoscaler on, so that every timer is registered too, as the
    // platform hands it to the app (Key Vault references resolved).
    const settings = resolvedByPlatform(
      appSettings(
        appInput({
          containerResourceGroups: ['servers'],
          publicUrl: 'https://fleet.azurewebsites.net',
          options: {
            ...appInput().options,
            FLEET_LIST_PUBLIC: 'false',
            AUTOSCALER_ENABLED: 'true',
            CONTAINER_GROUP_TEMPLATE: JSON.stringify({
              resourceGroup: 'servers',
              containerGroup: {
                location: 'westeurope',
                osType: 'Linux',
                containers: [{ name: 'server', image: 'example/game:1', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
              },
            }),
          },
        }),
      ),
    );
    const registered = await registrations((await real!).files['index.js'], settings);
    const runtime = readSettings(settings);

    assert.deepEqual(registered.map((r) => r.name).sort(), FUNCTIONS.map((f) => f.name).sort());
    for (const fn of FUNCTIONS) {
      const { trigger } = registered.find((r) => r.name === fn.name)!;
      switch (fn.trigger) {
        case 'http':
          assert.equal(trigger.type, 'httpTrigger', fn.name);
          assert.equal(trigger.route, fn.route, fn.name);
          assert.equal(trigger.authLevel, fn.authLevel(runtime), fn.name);
          break;
        case 'timer':
          assert.equal(trigger.type, 'timerTrigger', fn.name);
          assert.equal(trigger.schedule, fn.schedule(runtime), fn.name);
          break;
        case 'eventGrid':
          assert.equal(trigger.type, 'eventGridTrigger', fn.name);
          break;
      }
    }
    // What the stack's outputs and settings assume about the routes (host.json routePrefix ""):
    // the page at the root (so no platform landing page), the API under /api, the OpenAPI document.
    const route = (name: string) => registered.find((r) => r.name === name)?.trigger.route;
    assert.equal(route('ServerPage'), '{ignored:maxlength(0)?}', 'serverListUrl');
    assert.equal(route('OpenApi'), 'api/openapi.json', 'openApiUrl');
    for (const r of registered.filter((x) => x.trigger.type === 'httpTrigger' && x.name !== 'ServerPage')) {
      assert.match(r.trigger.route!, /^api\//, `${r.name} is under apiBaseUrl`);
    }
    const host = JSON.parse(Buffer.from((await real!).files['host.json']).toString()) as {
      extensions?: { http?: { routePrefix?: string } };
    };
    assert.equal(host.extensions?.http?.routePrefix, '');
    for (const name of ['ACIAllocate', 'ACIReport', 'ACIReconcile', 'ACIAutoScaler', 'ACIMetrics', 'ServerPage', 'OpenApi', 'ACIMonitor']) {
      assert.ok(
        registered.some((r) => r.name === name),
        `${name} is registered`,
      );
    }
  });

  it('does not load with settings the runtime refuses (the deployment would index nothing)', { skip }, async () => {
    await assert.rejects(registrations((await real!).files['index.js'], { AUTOSCALER_ENABLED: 'true' }), /CONTAINER_GROUP_TEMPLATE/);
  });

  it('does not load when the platform could not resolve the report-token secret (tokens would be forgeable)', { skip }, async () => {
    // The platform leaves an unresolved reference as its text, e.g. when the identity lacks Key Vault Secrets User.
    const unresolved = { ...resolvedByPlatform(appSettings(appInput())), REPORT_TOKEN_SECRET: appInput().reportTokenSecret };
    await assert.rejects(
      registrations((await real!).files['index.js'], unresolved),
      /REPORT_TOKEN_SECRET: is a Key Vault reference the platform could not resolve/,
    );
  });
});
