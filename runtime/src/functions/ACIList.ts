// ACIList: the fleet's servers, Running ones by default (`?state=all` or any state for others).
import { listQuery, parseRequest } from '../fleet/requests';
import { httpFunction, json } from './http';

export const ACIList = httpFunction({
  name: 'ACIList',
  methods: ['GET'],
  // Public only when the stack says so (the original served its page from an anonymous list).
  authLevel: (settings) => (settings.FLEET_LIST_PUBLIC ? 'anonymous' : 'function'),
  async handle(request, services, context) {
    const { state } = parseRequest(listQuery, Object.fromEntries(request.query));
    return json(200, await services.fleet(context).list(state));
  },
});
