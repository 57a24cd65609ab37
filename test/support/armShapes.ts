// ARM's container group JSON and the SDK's flattened model of it, for tests that start from the
// spec's published examples; and a stand-in ARM that answers with given bodies.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, any>;

/**
 * The SDK's model of an ARM container group body, i.e. what ACICreate takes: the spec marks
 * `properties` of the group, of each (init) container and of each extension x-ms-client-flatten.
 */
export function flattenContainerGroup(arm: Json): Json {
  const { properties, ...top } = structuredClone(arm);
  const lift = (items: Json[] | undefined) => items?.map(({ properties: inner, ...item }) => ({ ...item, ...inner }));
  const flat: Json = { ...top, ...properties };
  for (const list of ['containers', 'initContainers', 'extensions']) if (flat[list]) flat[list] = lift(flat[list]);
  return flat;
}

export interface FakeArm {
  readonly url: string;
  /** Bodies of the PUTs received, by path. */
  readonly puts: Map<string, Json>;
  close(): Promise<void>;
}

/**
 * Answers GET of a path (query ignored, case-insensitive) with the body given for it, PUTs with
 * 201 and the body received (and no long-running operation) or with `putAnswer`, anything else
 * with ARM's 404.
 */
export async function startFakeArm(
  bodies: Record<string, Json> = {},
  /** Every PUT is answered with this instead (an ARM error body, say). */
  putAnswer?: { status: number; body: Json },
): Promise<FakeArm> {
  const byPath = new Map(Object.entries(bodies).map(([path, body]) => [path.toLowerCase(), body]));
  const puts = new Map<string, Json>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', 'http://arm').pathname;
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'PUT') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      puts.set(path, body);
      if (putAnswer) return reply(putAnswer.status, putAnswer.body);
      return reply(201, { ...body, properties: { ...body.properties, provisioningState: 'Succeeded' } });
    }
    const body = req.method === 'GET' ? byPath.get(path.toLowerCase()) : undefined;
    if (body) return reply(200, body);
    reply(404, { error: { code: 'ResourceNotFound', message: `Nothing at ${path}.` } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    puts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
