// ACIAllocate: book sessions on a Running server atomically (fullest that fits first); 503 + Retry-After when none has room.
import { z } from 'zod';
import { allocateRequest } from '../domain/allocation/request';
import { parseRequest } from '../domain/core/validation';
import { serverView } from '../domain/servers/server';
import { httpFunction, json } from './http';

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
  maxBodyBytes: 4 * 1024,
  api: {
    summary: 'Reserve sessions on a Running server, atomically',
    description:
      'Packs servers (the fullest that fits first) so idle ones can drain. No server is ever booked beyond MaxSessions, ' +
      'however many matchmakers call at once. ' +
      "With `fleet`, only that fleet's servers, and never one of an older revision while one of the current revision has room. " +
      'Send a requestId so a retry returns the same server: one requestId books once, even when its retries arrive together ' +
      '(409 if it is sent again asking for something else). More sessions than any server can hold is a 400; ' +
      '503 NoCapacity says whether the autoscaler is adding servers.',
    tag: 'Matchmaking',
    body: allocateRequest,
    responses: {
      200: { description: 'The server, with the booking made on it.', schema: allocation },
    },
    errors: ['Forbidden', 'NotFound', 'Conflict', 'NoCapacity', 'WriteContention', 'StorageUnavailable'],
  },
  async handle(_request, services, context, body) {
    // Every field is optional, so an empty body is a request for one session anywhere.
    const input = parseRequest(allocateRequest, await body.json({ whenEmpty: {} }));
    const { server, reservation, repeated } = await services.allocator(context).allocate(input);
    return json(200, { ...server, Reservation: { ...reservation, repeated } });
  },
});
