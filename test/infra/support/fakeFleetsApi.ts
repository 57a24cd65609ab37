// A local stand-in for the deployed app's fleets API (PUT / GET / DELETE /api/fleets/{name}), on
// 127.0.0.1: the runtime's answers in shape (201 with revision 1, 200 with the same revision for the
// same body, a new revision for a changed template, an ETag that moves with every accepted change,
// 202 while a deleted fleet drains, 404 for an unknown one, `{error:{code,message,details}}` for the rest), with scripted answers taking
// precedence, consumed in order, to inject faults. The real runtime is exercised by
// test/integration/stackFleets.test.ts.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Answer } from './fakeAzure';

export const FLEETS_KEY = 'fleets-function-key';

export interface SeenFleetRequest {
  method: string;
  path: string;
  functionKey?: string;
  body: string;
}

export interface FakeFleetsApi {
  /** `http://127.0.0.1:<port>/api`. */
  apiBaseUrl: string;
  requests: SeenFleetRequest[];
  /** Fleets as stored: their body and revision. */
  fleets: Map<string, { body: string; template: string; revision: number; version?: number }>;
  /** Answers given before the fleet logic, one per request, by method. */
  script: { PUT: Answer[]; DELETE: Answer[] };
  close(): Promise<void>;
}

export async function startFakeFleetsApi(): Promise<FakeFleetsApi> {
  const requests: SeenFleetRequest[] = [];
  const fleets: FakeFleetsApi['fleets'] = new Map();
  const script: FakeFleetsApi['script'] = { PUT: [], DELETE: [] };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const path = req.url ?? '/';
      const method = req.method ?? 'GET';
      const functionKey = req.headers['x-functions-key'] as string | undefined;
      requests.push({ method, path, functionKey, body });
      const send = (a: Answer) => {
        res.writeHead(a.status, { 'Content-Type': 'application/json', ...a.headers });
        res.end(a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
      };
      const scripted = method === 'PUT' || method === 'DELETE' ? script[method].shift() : undefined;
      if (scripted) return send(scripted);
      if (functionKey !== FLEETS_KEY) return send({ status: 401 });
      const name = /^\/api\/fleets\/([^/?]+)$/.exec(path)?.[1];
      if (!name) return send({ status: 404, body: { error: { code: 'NotFound', message: 'no such route' } } });
      const fleet = fleets.get(name);
      const view = (revision: number) => ({ Name: name, Revision: revision, Status: { State: 'Progressing' } });
      const etag = (f: { revision: number; version?: number }) => ({ ETag: `"${f.revision}-${f.version ?? 0}"` });
      if (method === 'GET') return fleet ? send({ status: 200, body: view(fleet.revision), headers: etag(fleet) }) : send({ status: 404 });
      if (method === 'PUT') {
        const parsed = JSON.parse(body) as { template?: unknown };
        const template = JSON.stringify(parsed.template);
        if (!fleet) {
          const created = { body, template, revision: 1, version: 0 };
          fleets.set(name, created);
          return send({ status: 201, body: view(1), headers: etag(created) });
        }
        if (fleet.body === body) return send({ status: 200, body: view(fleet.revision), headers: etag(fleet) });
        const revision = fleet.template === template ? fleet.revision : fleet.revision + 1;
        const updated = { body, template, revision, version: (fleet.version ?? 0) + 1 };
        fleets.set(name, updated);
        return send({ status: 200, body: view(revision), headers: etag(updated) });
      }
      if (method === 'DELETE') {
        if (!fleet) return send({ status: 404, body: { error: { code: 'NotFound', message: `No fleet '${name}' is known.` } } });
        fleets.delete(name);
        return send({ status: 202, body: view(fleet.revision) });
      }
      return send({ status: 405 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiBaseUrl: `http://127.0.0.1:${port}/api`,
    requests,
    fleets,
    script,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
