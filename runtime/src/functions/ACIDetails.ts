// ACIDetails: a server's container group as ARM describes it (secrets redacted), or a container's logs.
import { detailsRequest, parseRequest } from '../fleet/requests';
import { httpFunction, json, readJson } from './http';

export const ACIDetails = httpFunction({
  name: 'ACIDetails',
  methods: ['POST'],
  async handle(request, services, context) {
    const input = parseRequest(detailsRequest, await readJson(request));
    return json(200, await services.fleet(context).details(input));
  },
});
