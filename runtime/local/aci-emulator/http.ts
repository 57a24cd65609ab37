// The emulator's HTTP front on 127.0.0.1: reads each request, applies injected request faults,
// hands it to the ARM dispatcher and writes the reply with the headers ARM sends.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorReply, type ArmRequest, type Reply } from './arm';
import { faultReply, type FaultInjector } from './faults';
import { errorDetail, type Log } from './log';
import { armError } from './validate';

/** An ARM API version's spelling (which versions ACI serves is not checked: see the README). */
const API_VERSION = /^\d{4}-\d{2}-\d{2}(-(preview|privatepreview|alpha|beta))?$/;
const MAX_BODY_BYTES = 4 * 1024 * 1024; // ARM rejects larger requests

export class ArmHttpServer {
  /** http://127.0.0.1:<port>, once listening. */
  url = '';
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private closing = false;

  constructor(
    private readonly dispatch: (req: ArmRequest) => Reply,
    private readonly faults: FaultInjector,
    private readonly log: Log,
  ) {}

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
        resolve();
      });
    });
  }

  /** Refuses requests still being read and drops open connections; resolves once the server has closed. */
  close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    return closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = (req.method ?? 'GET').toUpperCase();
    const correlationId = header(req, 'x-ms-correlation-request-id') ?? randomUUID();
    const clientRequestId = header(req, 'x-ms-client-request-id');
    let reply: Reply;
    try {
      const body = await readBody(req);
      const fault = this.faults.takeRequestFault(method);
      const versionError = apiVersionProblem(url.searchParams.get('api-version'));
      reply =
        fault && !fault.afterApply
          ? faultReply(fault)
          : body === undefined
            ? errorReply(armError(413, 'RequestEntityTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes.`))
            : this.closing
              ? errorReply(armError(503, 'ServiceUnavailable', 'The emulator is shutting down.'))
              : versionError
                ? errorReply(versionError)
                : this.dispatch({
                    method,
                    url,
                    params: {},
                    body,
                    apiVersion: url.searchParams.get('api-version') ?? '',
                    correlationId,
                    httpRequest: {
                      clientRequestId: clientRequestId ?? randomUUID(),
                      clientIpAddress: req.socket.remoteAddress ?? '127.0.0.1',
                      method,
                      url: url.href,
                    },
                  });
      if (fault?.afterApply) reply = faultReply(fault);
    } catch (e) {
      this.log(`${method} ${url.pathname} failed: ${errorDetail(e)}`, 'error');
      reply = errorReply(armError(500, 'InternalServerError', 'The emulator hit an unexpected error.'));
    }
    this.log(`${method} ${url.pathname} -> ${reply.status}`);
    const body = reply.body === undefined ? undefined : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...(body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      'x-ms-request-id': randomUUID(),
      'x-ms-correlation-request-id': correlationId,
      ...(clientRequestId ? { 'x-ms-client-request-id': clientRequestId } : {}),
      ...reply.headers,
    });
    res.end(body);
  }
}

/** ARM refuses a request without an api-version, or with one that is not a date. */
function apiVersionProblem(apiVersion: string | null) {
  if (apiVersion === null || apiVersion === '')
    return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
  if (!API_VERSION.test(apiVersion))
    return armError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${apiVersion}' is invalid. It must be a date such as '2023-05-01'.`,
    );
  return undefined;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The body as text, or undefined when it is larger than ARM accepts. */
async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8');
}
