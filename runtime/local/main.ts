// `npm start`: a working fleet on this machine, no Azure account needed.
//   npm start                 data kept under .local/ between runs
//   npm start -- --ephemeral  storage in memory, gone on exit
// PORT (default 7071) and LOCAL_FUNCTION_KEY choose the port and the key.
import { resolve } from 'node:path';
import { FUNCTIONS } from '../src/functions';
import { startLocalFleet } from './fleet';

/** Printed and used when LOCAL_FUNCTION_KEY is not set; fine for a fleet that only listens on 127.0.0.1. */
const DEFAULT_LOCAL_KEY = 'local-dev-key';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log(
      'Usage: npm start [-- --ephemeral] [--verbose]\nEnvironment: PORT, LOCAL_FUNCTION_KEY, EMULATOR_PROVISIONING_MS, GC_SCHEDULE, ...',
    );
    return;
  }
  const ephemeral = args.includes('--ephemeral');
  const verbose = args.includes('--verbose');
  const key = process.env.LOCAL_FUNCTION_KEY || DEFAULT_LOCAL_KEY;
  const dataDir = ephemeral ? undefined : resolve('.local', 'azurite');

  console.log(`Starting the local fleet (storage ${ephemeral ? 'in memory' : `in ${dataDir}`})…`);
  const fleet = await startLocalFleet({
    port: Number(process.env.PORT ?? 7071),
    key,
    dataDir,
    log: (line) => {
      if (verbose || /failed|error/i.test(line)) console.log(line);
    },
  });

  const api = `${fleet.url}/api`;
  // Listed from the function table, so this banner never misses a function.
  const keyed = FUNCTIONS.filter((f) => f.trigger === 'http' && f.authLevel(fleet.settings) === 'function').map((f) => f.name);
  const timers = FUNCTIONS.filter((f) => f.trigger === 'timer' && (f.enabled?.(fleet.settings) ?? true)).map((f) => f.name);
  console.log(`
aci-fleet is running.
  API            ${api}/<FunctionName>   (${keyed.join(', ')})
  Server page    ${fleet.url}/   (asks for the function key)
  OpenAPI        ${api}/openapi.json
  Server reports ${api}/ACIReport   (no key: each container's own token, ACI_REPORT_TOKEN)
  Function key   ${key}${process.env.LOCAL_FUNCTION_KEY ? '' : '   (default; set LOCAL_FUNCTION_KEY to choose one)'}
  Run a timer    curl -X POST -H "x-functions-key: ${key}" ${fleet.url}/admin/functions/ACIGC   (timers: ${timers.join(', ')})
  Event Grid     ${fleet.url}/runtime/webhooks/eventgrid?functionName=ACIMonitor
  ACI emulator   ${fleet.emulator.url}  (subscription ${fleet.emulator.subscriptionId})
  Table Storage  http://127.0.0.1:${fleet.azurite.ports.table}

Try:  curl -H "x-functions-key: ${key}" "${api}/ACIList?state=all"
Press Ctrl-C to stop.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local fleet…`);
    await fleet.stop();
    console.log('Stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  console.error(`The local fleet could not start: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
