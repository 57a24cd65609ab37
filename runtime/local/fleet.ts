// A whole fleet on this machine: Azurite for storage, the ACI emulator for ARM, and the local
// Functions host serving the real function table. `npm start` and the integration tests use it.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readSettings, type FleetSettings } from '../src/options';
import { FUNCTIONS } from '../src/functions';
import { CONTAINER_GROUP_EVENT_TYPES } from '../src/domain/servers/armEvents';
import { createServices, type ServiceOverrides, type Services } from '../src/services';
import { startAciEmulator, type AciEmulator, type Log } from './aci-emulator';
import { startAzurite, type Azurite } from './azurite';
import { startFunctionsHost, type FunctionsHost } from './host';

export interface LocalFleetOptions {
  /** Port for the Functions host; 0 = any free port. */
  port?: number;
  /** Function key; a random one when omitted. */
  key?: string;
  /**
   * Where the fleet keeps its data between runs: Azurite's under `azurite/`, the ACI emulator's
   * container groups in `aci-emulator.json`. Omitted = all in memory.
   */
  dataDir?: string;
  /** How long the emulator takes to provision a group. */
  provisioningMs?: number;
  /** Settings on top of the environment's (e.g. GC_SCHEDULE, FLEET_RESOURCE_GROUPS). */
  settings?: Record<string, string>;
  timers?: boolean;
  overrides?: ServiceOverrides;
  /** Every log line of the fleet (host, functions, emulator), with its level. */
  log?: Log;
  /** Read settings from this environment instead of process.env (tests pass {}). */
  env?: NodeJS.ProcessEnv;
}

export interface LocalFleet {
  readonly url: string;
  readonly key: string;
  readonly settings: FleetSettings;
  readonly services: Services;
  readonly azurite: Azurite;
  readonly emulator: AciEmulator;
  readonly host: FunctionsHost;
  stop(): Promise<void>;
}

export async function startLocalFleet(options: LocalFleetOptions = {}): Promise<LocalFleet> {
  const log = options.log ?? (() => {});
  const key = options.key ?? randomBytes(24).toString('base64url');
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const { dataDir } = options;
    const azurite = await startAzurite({ location: dataDir && join(dataDir, 'azurite') });
    started.push(azurite);
    const emulator = await startAciEmulator({
      provisioningMs: options.provisioningMs,
      stateFile: dataDir && join(dataDir, 'aci-emulator.json'),
      log: (line, level) => log(`[aci-emulator] ${line}`, level),
    });
    started.push({ stop: () => emulator.close() });

    const env = { ...(options.env ?? process.env), ...options.settings };
    const settings = readSettings({
      // On Azure the stack generates the report token secret; locally each run makes its own.
      REPORT_TOKEN_SECRET: randomBytes(32).toString('base64url'),
      ...env,
      FLEET_STORAGE_CONNECTION_STRING: azurite.connectionString,
      ARM_ENDPOINT: emulator.url,
      AZURE_SUBSCRIPTION_ID: emulator.subscriptionId,
    });
    const services = createServices(settings, options.overrides);
    const host = await startFunctionsHost({
      functions: FUNCTIONS,
      services,
      key,
      port: options.port,
      timers: options.timers,
      log,
      containerEnvironment: (resourceGroup, name) => emulator.containerEnvironment(resourceGroup, name),
    });
    started.push({ stop: () => host.close() });
    // Only now is the host's URL known; services read it on each create (ACI_REPORT_URL).
    settings.FLEET_PUBLIC_URL ??= host.url;
    // Events go where Azure's Event Grid subscription would send them: the extension's webhook.
    emulator.setEventEndpoint(
      `${host.url}/runtime/webhooks/eventgrid?functionName=ACIMonitor&code=${encodeURIComponent(key)}`,
      CONTAINER_GROUP_EVENT_TYPES, // the deployment's subscription filter (infra/events.ts)
    );
    // Kept data: events the emulator had not delivered when it last stopped are lost (Event Grid
    // would have retried them), and data from before the emulator kept its groups may name groups
    // it never had; one reconcile now makes the table and the groups agree.
    if (dataDir) await host.runTimer('ACIReconcile').catch((e) => log(`[ACIReconcile] failed at start-up: ${String(e)}`, 'warning'));

    return {
      url: host.url,
      key,
      settings,
      services,
      azurite,
      emulator,
      host,
      async stop() {
        // Stop in reverse: no new requests, then no new events, then storage.
        emulator.setEventEndpoint(undefined);
        for (const s of started.reverse()) await s.stop().catch((e) => log(`stop failed: ${String(e)}`, 'warning'));
      },
    };
  } catch (e) {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    throw e;
  }
}
