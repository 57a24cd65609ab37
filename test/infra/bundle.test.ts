// The runtime package: one esbuild bundle plus host.json and package.json, zipped so the same
// source always gives the same bytes (and hash), with Unix permissions Flex can read.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unzipSync } from 'fflate';
import { buildBundle, packageJson, sha256Hex, zipDeterministic } from '../../infra/bundle';

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
  for (let at = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])); at >= 0; at = buf.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), at + 4)) {
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
    assert.deepEqual(entries.map((e) => e.name), ['host.json', 'z.js']);
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

  it('fails with esbuild\'s message when the source does not build', async () => {
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
  it(
    'bundles the real runtime deterministically',
    { skip: haveRuntime ? false : 'runtime/src/index.ts or runtime/host.json does not exist yet' },
    async () => {
      const opts = { entry: 'runtime/src/index.ts', hostJson: realHost, workingDir: root };
      const first = await buildBundle(opts);
      const second = await buildBundle(opts);
      assert.equal(first.hash, second.hash);
      const files = unzipSync(first.zip);
      assert.deepEqual(Object.keys(files).sort(), ['host.json', 'index.js', 'package.json']);
      const js = Buffer.from(files['index.js']).toString();
      // Every function the contract names is registered by the bundle.
      for (const name of ['ACICreate', 'ACIDelete', 'ACIDetails', 'ACIList', 'ACISetSessions', 'ACISetState', 'ACIMonitor', 'ACIGC']) {
        assert.ok(js.includes(`"${name}"`), `${name} is in the bundle`);
      }
    },
  );
});
