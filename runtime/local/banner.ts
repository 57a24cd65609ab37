// What `npm start` prints once the fleet is up: every endpoint as the host serves it, read from
// the function table (route, methods, credential), so the banner cannot list a path that 404s.
import type { FunctionDefinition, HttpFunction } from '../src/functions/definition';
import { compileRoute } from '../src/functions/routes';
import type { FleetSettings } from '../src/options';

export interface BannerFacts {
  functions: readonly FunctionDefinition[];
  settings: FleetSettings;
  /** The host's URL, e.g. http://127.0.0.1:7071. */
  url: string;
  key: string;
  /** Whether the key is the built-in default (LOCAL_FUNCTION_KEY unset). */
  defaultKey: boolean;
  emulator: { url: string; subscriptionId: string };
  tableUrl: string;
  /** Whether lifecycle lines follow (the console's normal mode). */
  showsLifecycle: boolean;
}

/** What a caller of `fn` must send: the function key, the server's own token, or nothing. */
export function credentialOf(fn: HttpFunction, settings: FleetSettings): 'key' | 'server token' | 'none' {
  if (fn.api.auth === 'serverToken') return 'server token';
  return fn.authLevel(settings) === 'function' ? 'key' : 'none';
}

/** One row per HTTP function: its methods, the path a caller uses, and the credential it needs. */
export function endpointRows(functions: readonly FunctionDefinition[], settings: FleetSettings): string[][] {
  return functions
    .filter((f): f is HttpFunction => f.trigger === 'http')
    .map((fn) => [fn.methods.join(' '), compileRoute(fn.route).documentedPath, credentialOf(fn, settings), fn.name]);
}

export function bannerText(facts: BannerFacts): string {
  const { url, key, settings } = facts;
  const rows = endpointRows(facts.functions, settings);
  const width = (i: number) => Math.max(...rows.map((r) => r[i]!.length));
  const endpoints = rows.map(([methods, path, credential, name]) => {
    const note =
      name === 'ServerPage' && !settings.FLEET_LIST_PUBLIC
        ? '   (the page asks for the key to list servers)'
        : credential === 'server token'
          ? "   (each container's ACI_REPORT_TOKEN, as 'Authorization: Bearer')"
          : '';
    return `    ${methods!.padEnd(width(0))}  ${url}${path!.padEnd(width(1))}  ${credential!.padEnd(width(2))}  ${name}${note}`;
  });
  const timers = facts.functions.filter((f) => f.trigger === 'timer' && (f.enabled?.(settings) ?? true)).map((f) => f.name);
  const eventGrid = facts.functions.filter((f) => f.trigger === 'eventGrid').map((f) => f.name);
  const header = `-H "x-functions-key: ${key}"`;
  return `
aci-fleet is running at ${url}
  Function key   ${key}   (as the x-functions-key header or ?code=${facts.defaultKey ? '; the default: set LOCAL_FUNCTION_KEY to choose one' : ''})
  HTTP functions (methods, URL, credential, function):
${endpoints.join('\n')}
  Run a timer    curl -X POST ${header} ${url}/admin/functions/<name>   (${timers.join(', ')})
${eventGrid.map((name) => `  Event Grid     POST ${url}/runtime/webhooks/eventgrid?functionName=${name}   (key; aeg-event-type: Notification)`).join('\n')}
  A server's env curl ${header} ${url}/admin/servers/<resourceGroup>/<name>/environment   (local only: its ACI_REPORT_TOKEN…)
  ACI emulator   ${facts.emulator.url}  (subscription ${facts.emulator.subscriptionId})
  Table Storage  ${facts.tableUrl}

Try:  curl ${settings.FLEET_LIST_PUBLIC ? '' : `${header} `}"${url}/api/ACIList?state=all"
Press Ctrl-C to stop${facts.showsLifecycle ? '; servers being created, running, drained, failed and deleted are shown below' : ''}.
`;
}
