// The runtime's deployment package: the Functions app bundled by esbuild into one `index.js`,
// with `host.json` and a `package.json`, zipped so that the same source gives the same bytes
// (and the same hash), so an unchanged runtime is never redeployed.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { runtimeBuildOptions } from '../runtime/esbuild';
import { zipSync } from 'fflate';
import * as pulumi from '@pulumi/pulumi';

export interface BundleOptions {
  /** The app's entry (registers every function), e.g. `runtime/src/index.ts`. */
  entry: string;
  /** The app's `host.json`. */
  hostJson: string;
  /** Paths inside the bundle are relative to it; keep it the repository root so builds match across machines. */
  workingDir: string;
}

export interface Bundle {
  /** Path in the zip → content. */
  files: Record<string, Uint8Array>;
  zip: Uint8Array;
  /** sha256 of the zip, hex. */
  hash: string;
}

/** DOS timestamps are local time: built from local fields, this date encodes the same everywhere. */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);
/** A regular file, rw-r--r--, in the high half of the external attributes (made by Unix). */
const UNIX_FILE_ATTRS = ((0o100644 << 16) >>> 0) as number;

/**
 * Zips files deterministically: sorted entries, fixed timestamps, fixed compression level, and
 * Unix permissions (Flex Consumption mounts the package on Linux; entries without read
 * permission leave the host with no functions and no error).
 */
export function zipDeterministic(files: Record<string, Uint8Array>): Uint8Array {
  const sorted: Record<string, Uint8Array> = {};
  for (const name of Object.keys(files).sort()) sorted[name] = files[name];
  return zipSync(sorted, { level: 9, mtime: FIXED_MTIME, os: 3, attrs: UNIX_FILE_ATTRS });
}

export function sha256Hex(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** The `package.json` the Functions Node.js worker reads to find the entry point. */
export function packageJson(): string {
  return `${JSON.stringify({ name: 'aci-fleet-runtime', private: true, main: 'index.js' }, null, 2)}\n`;
}

/** Bundles the app and zips it. Rejects with esbuild's messages when the source does not build. */
export async function buildBundle(opts: BundleOptions): Promise<Bundle> {
  const hostJson = fs.readFileSync(opts.hostJson, 'utf8');
  let host: { version?: unknown };
  try {
    host = JSON.parse(hostJson) as { version?: unknown };
  } catch (e) {
    throw new Error(`${opts.hostJson} is not valid JSON: ${(e as Error).message}`);
  }
  if (host.version !== '2.0') throw new Error(`${opts.hostJson}: "version" must be "2.0"`);

  const result = await esbuild.build({
    ...runtimeBuildOptions(path.resolve(opts.workingDir, opts.entry)),
    absWorkingDir: path.resolve(opts.workingDir),
    write: false,
    outfile: 'index.js',
  });
  const [out] = result.outputFiles;
  const files: Record<string, Uint8Array> = {
    'host.json': Buffer.from(hostJson, 'utf8'),
    'index.js': out.contents,
    'package.json': Buffer.from(packageJson(), 'utf8'),
  };
  const zip = zipDeterministic(files);
  return { files, zip, hash: sha256Hex(zip) };
}

export interface RuntimeBundleArgs extends BundleOptions {
  /** Where the zip is written (as `<hash>.zip`) for the deployment step to read. */
  outDir: string;
}

export class RuntimeBundle extends pulumi.ComponentResource {
  /** sha256 of the zip: the deployment runs again only when it changes. */
  readonly hash: pulumi.Output<string>;
  readonly zipPath: pulumi.Output<string>;
  readonly sizeBytes: pulumi.Output<number>;

  constructor(name: string, args: RuntimeBundleArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:RuntimeBundle', name, {}, opts);
    for (const [what, file] of [
      ['entry', args.entry],
      ['hostJson', args.hostJson],
    ] as const) {
      const full = path.resolve(args.workingDir, file);
      if (!fs.existsSync(full)) throw new Error(`RuntimeBundle ${name}: ${what} ${full} does not exist`);
    }

    const built = buildBundle({ ...args, hostJson: path.resolve(args.workingDir, args.hostJson) }).then((b) => {
      fs.mkdirSync(args.outDir, { recursive: true });
      const zipPath = path.join(args.outDir, `${b.hash}.zip`);
      fs.writeFileSync(zipPath, b.zip);
      return { hash: b.hash, zipPath, size: b.zip.length };
    });
    this.hash = pulumi.output(built.then((b) => b.hash));
    this.zipPath = pulumi.output(built.then((b) => b.zipPath));
    this.sizeBytes = pulumi.output(built.then((b) => b.size));
    this.registerOutputs({ hash: this.hash, sizeBytes: this.sizeBytes });
  }
}
