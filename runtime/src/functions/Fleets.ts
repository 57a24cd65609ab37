// Fleets as data: PUT /api/fleets/{name} creates or updates one (a changed template is a new
// revision, rolled out by ACIFleetController), GET reads one or all, DELETE drains one away.
import { z } from 'zod';
import { fleetView } from '../domain/fleets/fleet';
import { fleetPath, fleetSpec } from '../domain/fleets/requests';
import { parseRequest } from '../domain/core/validation';
import { httpFunction, json } from './http';

const CONDITIONS = {
  'If-Match': 'Only if the fleet still has this ETag (from an earlier GET or PUT): 412 PreconditionFailed otherwise.',
  'If-None-Match': '`*`: only create the fleet, never update one (412 if it exists).',
};
const ETAG = { ETag: "The fleet's spec version, for If-Match." };

export const Fleets = httpFunction({
  name: 'Fleets',
  methods: ['GET'],
  maxBodyBytes: 0,
  route: 'api/fleets',
  api: {
    summary: 'Every fleet, with its status',
    tag: 'Fleets',
    responses: {
      200: {
        description: 'Fleets sorted by name (the default one too, when CONTAINER_GROUP_TEMPLATE is set).',
        schema: z.array(fleetView),
      },
    },
    errors: ['StorageUnavailable'],
  },
  async handle(_request, services, context) {
    return json(200, await services.fleets(context).list());
  },
});

export const Fleet = httpFunction({
  name: 'Fleet',
  methods: ['GET', 'PUT', 'DELETE'],
  // A PUT's template is an ACICreate body: the same limit.
  maxBodyBytes: 64 * 1024,
  route: 'api/fleets/{name}',
  api: {
    summary: 'A fleet',
    tag: 'Fleets',
    path: fleetPath,
    responses: {},
    errors: [],
    methods: {
      GET: {
        summary: 'A fleet, with its status: servers per revision and state, and the rollout',
        responses: { 200: { description: 'The fleet.', schema: fleetView, headers: ETAG } },
        errors: ['NotFound', 'StorageUnavailable'],
      },
      PUT: {
        summary: 'Create a fleet, or update it (a changed template is a new revision, rolled out)',
        description:
          'The body is `{template, replicas?, autoscaler?, rollout?}`; `template` is the ACICreate body without containerGroupName. ' +
          'The same body again changes nothing (200, same revision). ACIFleetController creates, drains and rolls out; no session is ever cut.',
        body: fleetSpec,
        headers: CONDITIONS,
        responses: {
          201: { description: 'Created: revision 1.', schema: fleetView, headers: ETAG },
          200: { description: 'Updated (or already so): the fleet.', schema: fleetView, headers: ETAG },
        },
        errors: ['Conflict', 'PreconditionFailed', 'WriteContention', 'StorageUnavailable'],
      },
      DELETE: {
        summary: 'Drain every server of the fleet; it disappears once they are gone',
        description: 'A server holding sessions keeps them until they end (ACIGC deletes it then).',
        headers: { 'If-Match': CONDITIONS['If-Match'] },
        responses: {
          202: { description: 'Accepted: the servers are draining (Status.State Deleting).', schema: fleetView },
          200: { description: 'The fleet had no servers left and is gone.', schema: fleetView },
        },
        errors: ['NotFound', 'Conflict', 'PreconditionFailed', 'WriteContention', 'StorageUnavailable'],
      },
    },
  },
  async handle(request, services, context, body) {
    const { name } = parseRequest(fleetPath, { name: request.params.name ?? '' });
    const fleets = services.fleets(context);
    const conditions = {
      ifMatch: request.headers.get('if-match') ?? undefined,
      ifNoneMatch: request.headers.get('if-none-match') ?? undefined,
    };
    switch (request.method.toUpperCase()) {
      case 'PUT': {
        const { created, fleet, etag } = await fleets.put(name, await body.json(), conditions);
        return withETag(json(created ? 201 : 200, fleet), etag);
      }
      case 'DELETE': {
        const { fleet, gone } = await fleets.delete(name, { ifMatch: conditions.ifMatch });
        return json(gone ? 200 : 202, fleet);
      }
      default: {
        const { fleet, etag } = await fleets.get(name);
        return withETag(json(200, fleet), etag);
      }
    }
  },
});

const withETag = (response: ReturnType<typeof json>, etag: string) => ({
  ...response,
  headers: { ...(response.headers as Record<string, string>), ETag: etag },
});
