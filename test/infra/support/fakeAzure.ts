// A local stand-in for a Flex Consumption app's SCM (Kudu) endpoint and for ARM's function list,
// on 127.0.0.1, scripted per test: answers are consumed in order, the last one repeats.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface FakeScript {
  /** Answers to POST /api/publish. */
  publish: Answer[];
  /** Answers to GET /api/deployments/<id> (and /latest), by id. */
  deployments?: Record<string, Answer[]>;
  /** Answers to GET /api/deployments/<id>/log. */
  logs?: Record<string, Answer>;
  /** Answers to GET /details/<n> (log entry details). */
  details?: Record<string, Answer>;
  /** Function names ARM lists, one list per GET of `.../functions`. */
  functions?: string[][];
}

export interface SeenRequest {
  method: string;
  path: string;
  authorization?: string;
  contentType?: string;
  body: Buffer;
}

export interface FakeAzure {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export const APP_RESOURCE_ID = '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Web/sites/app';

function take<T>(list: T[] | undefined, fallback: T): T {
  if (!list || list.length === 0) return fallback;
  return list.length > 1 ? list.shift()! : list[0];
}

export async function startFakeAzure(script: FakeScript): Promise<FakeAzure> {
  const requests: SeenRequest[] = [];
  const publish = [...script.publish];
  const deployments = Object.fromEntries(Object.entries(script.deployments ?? {}).map(([k, v]) => [k, [...v]]));
  const functions = [...(script.functions ?? [])];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      requests.push({
        method: req.method ?? '',
        path: `${url.pathname}${url.search}`,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks),
      });
      const send = (a: Answer) => {
        const body = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
        res.writeHead(a.status, { 'Content-Type': 'application/json', ...a.headers });
        res.end(body);
      };
      const p = url.pathname;
      const get = (pattern: RegExp) => (req.method === 'GET' ? p.match(pattern) : null);
      if (req.method === 'POST' && p === '/api/publish') return send(take(publish, { status: 500 }));
      let m = get(/^\/api\/deployments\/([^/]+)\/log$/);
      if (m) {
        return send(script.logs?.[m[1]] ?? { status: 200, body: [] });
      }
      m = get(/^\/api\/deployments\/([^/]+)$/);
      if (m) {
        return send(take(deployments[m[1]], { status: 404 }));
      }
      m = get(/^\/details\/([^/]+)$/);
      if (m) {
        return send(script.details?.[m[1]] ?? { status: 404 });
      }
      if (req.method === 'GET' && p === `${APP_RESOURCE_ID}/functions`) {
        const names = take(functions, []);
        return send({
          status: 200,
          body: { value: names.map((n) => ({ id: `${APP_RESOURCE_ID}/functions/${n}`, name: `app/${n}`, properties: { name: n } })) },
        });
      }
      send({ status: 404, body: { error: { code: 'NotFound', message: `no route ${req.method} ${p}` } } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Timing small enough for tests; the logic is the same as with the defaults. The waits between
 * polls and retries are short; the deadlines are only safety nets, so long that no run expecting
 * success hits one on a loaded machine (oneDeploy measures them by the wall clock). A test about a
 * deadline sets its own short one, against a fake that never finishes.
 */
export const FAST = {
  pollIntervalMs: 5,
  deployTimeoutMs: 60_000,
  indexTimeoutMs: 60_000,
  maxPublishAttempts: 5,
  retryInitialDelayMs: 5,
  retryMaxDelayMs: 20,
  requestTimeoutMs: 60_000,
};
