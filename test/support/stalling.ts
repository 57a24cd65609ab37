// Test doubles for a service that accepts connections and then never finishes answering, and the
// assertion that a call against one ends (with an error) instead of hanging.
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Stall = 'silent' | 'headers';

/** An endpoint that stalls every request: no answer at all, or the status and headers only. */
export async function stallingServer(stall: Stall): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    requests++;
    req.resume();
    held.push(res);
    if (stall === 'headers') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000', etag: '"0x1"' });
      res.write('{"PartitionKey":');
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Settles to the error `work` fails with, or fails the test if it is still pending after `safetyMs` (a hang). */
export async function failure(work: Promise<unknown>, safetyMs = 60_000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${safetyMs} ms: it hangs`)), safetyMs);
  });
  try {
    await Promise.race([work, hang]);
  } catch (e) {
    if ((e as Error).message.includes('it hangs')) throw e;
    return e;
  } finally {
    clearTimeout(timer);
  }
  assert.fail('the call succeeded against a service that never answers');
}
