// Starts Azurite (the storage emulator from npm) as a child process on free ports, with an
// account key made up for this run, so no storage key ever lives in the repo. It runs in a process
// group of its own (azuriteProcess.cjs), so that stopping it is the fleet's orderly job: on disk,
// every write it acknowledged is saved when it stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';

export interface AzuriteOptions {
  /** Folder for Azurite's data; omitted = in memory, gone when it stops. */
  location?: string;
  log?: (line: string) => void;
}

export interface Azurite {
  readonly connectionString: string;
  readonly ports: { blob: number; queue: number; table: number };
  /**
   * Stops the process; resolves once it has exited. Its ports stay held (every connection is reset,
   * as a storage outage looks), so that nothing else on the machine takes them before start().
   */
  stop(): Promise<void>;
  /**
   * Starts it again after stop(), on the same ports with the same account key (tests of a storage
   * outage). Data survives only with a `location`; in memory it starts empty.
   */
  start(): Promise<void>;
}

const ACCOUNT = 'fleetlocal';

export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const key = randomBytes(64).toString('base64');
  if (options.location) mkdirSync(options.location, { recursive: true });
  const spawnAzurite = async (wanted: { blob: number; queue: number; table: number }) => {
    const args = [
      join(__dirname, 'azuriteProcess.cjs'),
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--loose',
      '--blobPort',
      String(wanted.blob),
      '--queuePort',
      String(wanted.queue),
      '--tablePort',
      String(wanted.table),
      ...(options.location ? ['--location', options.location] : ['--inMemoryPersistence']),
    ];
    const process_ = spawn(process.execPath, args, {
      env: { ...process.env, AZURITE_ACCOUNTS: `${ACCOUNT}:${key}` },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Not in the terminal's process group: a Ctrl-C must not stop it before the fleet has.
      detached: true,
    });
    return { child: process_, ports: await readPorts(process_, options.log) };
  };

  let { child, ports } = await spawnAzurite({ blob: 0, queue: 0, table: 0 });
  /** Listeners on Azurite's ports while it is stopped. */
  let held: Server[] | undefined;
  const endpoint = (port: number) => `http://127.0.0.1:${port}/${ACCOUNT}`;
  return {
    ports,
    connectionString: `${[
      'DefaultEndpointsProtocol=http',
      `AccountName=${ACCOUNT}`,
      `AccountKey=${key}`,
      `BlobEndpoint=${endpoint(ports.blob)}`,
      `QueueEndpoint=${endpoint(ports.queue)}`,
      `TableEndpoint=${endpoint(ports.table)}`,
    ].join(';')};`,
    async stop() {
      await stopChild(child);
      held ??= await holdPorts(Object.values(ports));
    },
    async start() {
      if (child.exitCode === null && child.signalCode === null) return;
      await Promise.all((held ?? []).map((server) => new Promise((resolve) => server.close(resolve))));
      held = undefined;
      // Between the release and Azurite's bind a client socket may briefly own a port: try again.
      for (let attempt = 1; ; attempt++) {
        try {
          ({ child } = await spawnAzurite(ports));
          return;
        } catch (e) {
          if (attempt >= RESTART_ATTEMPTS || !/EADDRINUSE/.test(String(e))) throw e;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    },
  };
}

/** Azurite prints "Azurite <Service> service is successfully listening at http://127.0.0.1:<port>". */
function readPorts(child: ChildProcess, log?: (line: string) => void): Promise<{ blob: number; queue: number; table: number }> {
  return new Promise((resolve, reject) => {
    const found: Record<string, number> = {};
    const output: string[] = [];
    const timer = setTimeout(() => fail(new Error('Azurite did not start within 30 s')), 30_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${e.message}\n${output.join('\n')}`));
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`Azurite exited with code ${code} before it was ready`)));
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        log?.(line);
        const match = /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/.exec(line);
        if (!match) return;
        found[match[1]!.toLowerCase()] = Number(match[2]);
        if (found.blob && found.queue && found.table) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          child.removeAllListeners('error');
          resolve({ blob: found.blob, queue: found.queue, table: found.table });
        }
      });
    }
  });
}

const RESTART_ATTEMPTS = 8;

/**
 * Listens on `ports` and resets every connection: storage that is down, on ports no other process
 * (another test's Azurite, a client's ephemeral port) can take meanwhile. Unreferenced, so a fleet
 * stopped for good does not keep its process alive.
 */
async function holdPorts(ports: number[]): Promise<Server[]> {
  const servers: Server[] = [];
  for (const port of ports) {
    const server = createServer((socket) => socket.destroy());
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) {
      server.unref();
      servers.push(server);
    }
  }
  return servers;
}

/** Azurite saves its data while it stops; only one that hangs far longer than that is killed. */
const STOP_TIMEOUT_MS = 60_000;

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
