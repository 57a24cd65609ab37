// `npm start`: a working fleet on this machine, no Azure account needed.
//   npm start                 data kept under .local/ between runs (the table and the container groups)
//   npm start -- --ephemeral  all in memory, gone on exit
//   npm start -- --quiet      print errors only; --verbose prints every log line
// PORT (default 7071) and LOCAL_FUNCTION_KEY choose the port and the key.
import { resolve } from 'node:path';
import { FUNCTIONS } from '../src/functions';
import { bannerText } from './banner';
import { consoleLine, type ConsoleMode } from './console';
import { startLocalFleet } from './fleet';

/** Printed and used when LOCAL_FUNCTION_KEY is not set; fine for a fleet that only listens on 127.0.0.1. */
const DEFAULT_LOCAL_KEY = 'local-dev-key';

const USAGE = `Usage: npm start [-- [--ephemeral] [--quiet | --verbose]]
  --ephemeral  keep nothing: storage and container groups in memory (default: kept under .local/)
  --quiet      print only errors (default: one line per server lifecycle event, warnings and errors)
  --verbose    print every log line of the functions, the host and the ACI emulator
Environment: PORT, LOCAL_FUNCTION_KEY, EMULATOR_PROVISIONING_MS, and any app setting (README).`;

const FLAGS = new Set(['--ephemeral', '--quiet', '--verbose', '--help']);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !FLAGS.has(a));
  if (args.includes('--help') || unknown.length > 0 || (args.includes('--quiet') && args.includes('--verbose'))) {
    if (unknown.length > 0) console.error(`Unknown option ${unknown.join(', ')}.`);
    console.log(USAGE);
    process.exit(args.includes('--help') && unknown.length === 0 ? 0 : 2);
  }
  const ephemeral = args.includes('--ephemeral');
  const mode: ConsoleMode = args.includes('--quiet') ? 'quiet' : args.includes('--verbose') ? 'verbose' : 'normal';
  const key = process.env.LOCAL_FUNCTION_KEY || DEFAULT_LOCAL_KEY;
  const dataDir = ephemeral ? undefined : resolve('.local');

  console.log(`Starting the local fleet (${ephemeral ? 'nothing kept: all in memory' : `data kept in ${dataDir}`})…`);
  const fleet = await startLocalFleet({
    port: Number(process.env.PORT ?? 7071),
    key,
    dataDir,
    log: (line, level) => {
      const shown = consoleLine(line, level, mode);
      if (shown !== undefined) (level === 'error' ? console.error : console.log)(shown);
    },
  });

  console.log(
    bannerText({
      functions: FUNCTIONS,
      settings: fleet.settings,
      url: fleet.url,
      key,
      defaultKey: !process.env.LOCAL_FUNCTION_KEY,
      emulator: fleet.emulator,
      tableUrl: `http://127.0.0.1:${fleet.azurite.ports.table}`,
      showsLifecycle: mode === 'normal',
    }),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return; // a terminal's Ctrl-C may arrive twice (from the terminal, and relayed by tsx)
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
