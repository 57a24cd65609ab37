// Loads a bundled app's index.js as the Functions Node.js worker would, in a child process with
// only the given app settings as its environment, and a stand-in for the worker-provided
// `@azure/functions-core` that records what the app registers. No host, no Azure.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** One registered function: its name and its trigger binding (type, route, authLevel, schedule...). */
export interface Registration {
  name: string;
  trigger: { type: string; route?: string; authLevel?: string; schedule?: string; methods?: string[] };
}

const MARKER = '\n@@REGISTRATIONS@@';

const FAKE_CORE = `
const registered = [];
module.exports = {
  setProgrammingModel() {},
  registerHook() { return { dispose() {} }; },
  log() {},
  registerFunction(metadata) {
    const trigger = Object.values(metadata.bindings).find((b) => b.direction === 'in');
    registered.push({ name: metadata.name, trigger });
    return { dispose() {} };
  },
};
process.on('exit', (code) => { if (code === 0) process.stdout.write(${JSON.stringify(MARKER)} + JSON.stringify(registered)); });
`;

/** Rejects with the app's own error output when it fails to load (e.g. settings it refuses). */
export async function registrations(indexJs: Uint8Array, settings: Record<string, string>): Promise<Registration[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aci-fleet-host-'));
  try {
    fs.writeFileSync(path.join(dir, 'index.js'), indexJs);
    const core = path.join(dir, 'node_modules', '@azure', 'functions-core');
    fs.mkdirSync(core, { recursive: true });
    fs.writeFileSync(path.join(core, 'index.js'), FAKE_CORE);
    const { code, out, err } = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['index.js'], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', ...settings },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out, err }));
    });
    const at = out.lastIndexOf(MARKER);
    if (code !== 0 || at < 0) throw new Error(`the app did not load (exit ${code}):\n${err}${out}`);
    return JSON.parse(out.slice(at + MARKER.length)) as Registration[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
