// ServerPage: the list-servers HTML page at `/` (the page itself is public; the list it shows
// needs the function key unless FLEET_LIST_PUBLIC is true, and the page asks for it).
import { renderServerPage } from '../page/serverPage';
import { httpFunction } from './http';

/** How often the page refreshes by itself; `/?refresh=<seconds>` overrides it. */
const REFRESH_SECONDS = 10;

export const ServerPage = httpFunction({
  name: 'ServerPage',
  methods: ['GET'],
  maxBodyBytes: 0,
  authLevel: 'anonymous',
  // With routePrefix "" this optional, always-empty parameter is how Azure serves the site root.
  route: '{ignored:maxlength(0)?}',
  api: {
    summary: 'The list-servers page (HTML)',
    description: 'Self-contained, strict CSP. It calls ACIList with the function key it asks for, kept in sessionStorage.',
    tag: 'Operators',
    responses: { 200: { description: 'The page.', contentType: 'text/html' } },
    errors: [],
  },
  async handle(_request, services) {
    const page = renderServerPage({ fleetName: services.settings.FLEET_NAME, refreshSeconds: REFRESH_SECONDS });
    return { status: 200, headers: page.headers, body: page.html };
  },
});
