// Azure Functions entry point: registers every function of the table with the v4 programming model.
import { app } from '@azure/functions';
import { readSettings } from './options';
import { ALL_METHODS } from './functions/definition';
import { FUNCTIONS } from './functions';
import type { Services } from './services';

const settings = readSettings();
let services: Services | undefined;
// Loaded and built on first use: the Azure SDKs (identity, tables, ARM) are most of the load time,
// and indexing the functions, the page and the OpenAPI document need none of them.
const getServices = () => (services ??= (require('./services') as typeof import('./services')).createServices(settings));

app.setup({ enableHttpStream: false });

for (const fn of FUNCTIONS) {
  switch (fn.trigger) {
    case 'http':
      app.http(fn.name, {
        route: fn.route,
        methods: [...ALL_METHODS],
        authLevel: fn.authLevel(settings),
        handler: (request, context) => fn.handler(request, context, getServices()),
      });
      break;
    case 'timer':
      if (fn.enabled && !fn.enabled(settings)) break;
      app.timer(fn.name, {
        schedule: fn.schedule(settings),
        handler: (timer, context) => fn.handler(timer, context, getServices()),
      });
      break;
    case 'eventGrid':
      app.eventGrid(fn.name, { handler: (event, context) => fn.handler(event, context, getServices()) });
      break;
  }
}
