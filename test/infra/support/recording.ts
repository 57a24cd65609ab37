// What a recorded program run looks like, and how tests get one: `recordInChild(config)` runs
// the Pulumi program (infra/index.ts) under mocks in a fresh process (./record.ts; modules and
// mocks are global, so one run per process) and parses the graph it prints. No Pulumi import
// here, so test files that only read recordings stay light.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';

export const SUBSCRIPTION_ID = '11111111-2222-3333-4444-555555555555';
export const TENANT_ID = '99999999-8888-7777-6666-555555555555';
/** The app's user-assigned identity. */
export const APP_PRINCIPAL_ID = 'aaaaaaaa-0000-0000-0000-000000000001';
export const APP_CLIENT_ID = 'cccccccc-0000-0000-0000-000000000001';
export const FUNCTION_KEY = 'function-key-for-tests';

/** The part of the fake's script preflight reads (kept structural: this file imports no Pulumi and no server). */
export interface FakeScriptForPreflight {
  flexRegions?: string[];
  aciUsages?: Record<string, { status: number; body?: unknown }>;
  flexRuntimes?: Record<string, Array<[string, string]>>;
  geoRegions?: { status: number; body?: unknown };
}

export interface RecordedResource {
  type: string;
  name: string;
  /** `type::name`, unique in this program. */
  key: string;
  /** Resolved inputs, secrets unwrapped. */
  inputs: Record<string, any>;
  /** Top-level inputs that were secrets. */
  secretInputs: string[];
  /** Keys of the resources in this resource's `dependsOn` option. */
  dependsOn: string[];
  /** Key of the parent resource (components included). */
  parent?: string;
  /** The names it had before (`noParent`: it was a top-level resource then). */
  aliases?: Array<{ name?: string; noParent: boolean }>;
}

export interface Recording {
  resources: RecordedResource[];
  /** Invoke tokens the program called. */
  calls: string[];
  outputs: Record<string, { value: unknown; secret: boolean }>;
  /** The program's failure, if it failed. */
  error?: string;
  /** What it warned of (pulumi.log.warn). */
  warnings: string[];
}

/** Stack config for a working dev stack that bundles the small fixture app instead of the runtime. */
export function baseConfig(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'azure-native:location': 'westeurope',
    'aci-fleet:location': 'westeurope',
    'aci-fleet:runtimeDir': 'test/infra/fixtures/runtime',
    ...extra,
  };
}

/**
 * A shipped stack file's configuration as Pulumi hands it to the program: structured values as
 * JSON text, scalars as text.
 */
export function stackFileConfig(stack: string): Record<string, string> {
  const file = path.resolve(__dirname, '../../..', `Pulumi.${stack}.yaml`);
  const doc = parseYaml(fs.readFileSync(file, 'utf8')) as { config?: Record<string, unknown> };
  return Object.fromEntries(Object.entries(doc.config ?? {}).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]));
}

/**
 * Runs the program with `config` in a child process and returns its recording. `arm` scripts what
 * ARM answers the program's own questions (preflight): by default every region of the fake's
 * catalog offers Flex Consumption with Node.js 20 and 22. `secretKeys` are the keys Pulumi says
 * hold a secret.
 */
export function recordInChild(
  config: Record<string, string>,
  stack = 'dev',
  arm: FakeScriptForPreflight = {},
  /** Config keys set with `--secret` (`aci-fleet:fleets`). */
  secretKeys: string[] = [],
): Promise<Recording> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'record.ts')], {
      cwd: path.resolve(__dirname, '../../..'),
      env: {
        ...process.env,
        ACI_FLEET_TEST_CONFIG: JSON.stringify(config),
        ACI_FLEET_TEST_STACK: stack,
        ACI_FLEET_TEST_ARM: JSON.stringify(arm),
        ACI_FLEET_TEST_SECRET_KEYS: JSON.stringify(secretKeys),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const marker = out.lastIndexOf('\n@@RECORDING@@');
      if (marker < 0) return reject(new Error(`recorder exited ${code} without a recording:\n${err}\n${out}`));
      resolve(JSON.parse(out.slice(marker + '\n@@RECORDING@@'.length)) as Recording);
    });
  });
}

// --- helpers for assertions --------------------------------------------------------------------

export function ofType(rec: Recording, type: string): RecordedResource[] {
  return rec.resources.filter((r) => r.type === type);
}

export function one(rec: Recording, type: string, name?: string): RecordedResource {
  const found = ofType(rec, type).filter((r) => name === undefined || r.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${type}${name ? ` named ${name}` : ''}, found ${found.map((r) => r.name).join(', ') || 'none'}`);
  }
  return found[0];
}
