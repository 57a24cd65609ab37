// ACICreate: accept a container group spec, record the server as Creating, start the ARM create.
import { createRequest, parseRequest } from '../fleet/requests';
import { httpFunction, json, readJson } from './http';

export const ACICreate = httpFunction({
  name: 'ACICreate',
  methods: ['POST'],
  async handle(request, services, context) {
    const input = parseRequest(createRequest, await readJson(request));
    const { created, server } = await services.fleet(context).create(input);
    // 202: ARM is still provisioning; ACIMonitor moves the server to Running when it is ready.
    return json(created ? 202 : 200, server);
  },
});
