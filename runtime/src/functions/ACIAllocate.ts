// ACIAllocate: book sessions on a Running server atomically (fullest that fits first); 503 + Retry-After when none has room.
import { allocateRequest, parseRequest } from '../fleet/requests';
import { httpFunction, json, readJson } from './http';

export const ACIAllocate = httpFunction({
  name: 'ACIAllocate',
  methods: ['POST'],
  async handle(request, services, context) {
    // Every field is optional, so an empty body is a request for one session anywhere.
    const empty = !request.body || request.headers.get('content-length') === '0';
    const body = empty ? {} : await readJson(request);
    const input = parseRequest(allocateRequest, body);
    const { server, reservation, repeated } = await services.allocator(context).allocate(input);
    return json(200, { ...server, Reservation: { ...reservation, repeated } });
  },
});
