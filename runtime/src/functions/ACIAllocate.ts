// ACIAllocate: book sessions on a Running server atomically (fullest that fits first); 503 + Retry-After when none has room.
import { z } from 'zod';
import { allocateRequest } from '../domain/allocation/request';
import { parseRequest } from '../domain/core/validation';
import { serverView } from '../domain/servers/server';
import { httpFunction, json, readJson } from './http';

const allocation = serverView.extend({
  Reservation: z.object({
    id: z.string().describe('the requestId; a retry with it returns this booking while it lives'),
    sessions: z.number().int(),
    at: z.string(),
    reportAfter: z.string().describe('a server report made at or after this time is taken to include these sessions'),
    expiresAt: z.string(),
    repeated: z.boolean().describe('true when this answers a retry of an earlier booking'),
  }),
});

export const ACIAllocate = httpFunction({
  name: 'ACIAllocate',
  methods: ['POST'],
  api: {
    summary: 'Reserve sessions on a Running server, atomically',
    description:
      'Packs servers (the fullest that fits first) so idle ones can drain. No server is ever booked beyond MaxSessions, ' +
      "With `fleet`, only that fleet's servers, and never one of an older revision while one of the current revision has room. " +
      'however many matchmakers call at once. Send a requestId so a retry returns the same server.',
    tag: 'Matchmaking',
    body: allocateRequest,
    responses: {
      200: { description: 'The server, with the booking made on it.', schema: allocation },
    },
    errors: ['Forbidden', 'NotFound', 'NoCapacity', 'WriteContention', 'StorageUnavailable'],
  },
  async handle(request, services, context) {
    // Every field is optional, so an empty body is a request for one session anywhere.
    const empty = !request.body || request.headers.get('content-length') === '0';
    const body = empty ? {} : await readJson(request);
    const input = parseRequest(allocateRequest, body);
    const { server, reservation, repeated } = await services.allocator(context).allocate(input);
    return json(200, { ...server, Reservation: { ...reservation, repeated } });
  },
});
