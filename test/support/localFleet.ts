// Test helpers: a local fleet (Azurite + ACI emulator + Functions host) and small HTTP calls to it.
import { InvocationContext } from '@azure/functions';
import { startLocalFleet, type LocalFleet, type LocalFleetOptions } from '../../runtime/local/fleet';
import { parseRequest } from '../../runtime/src/domain/core/validation';
import { createRequest, type NewServer } from '../../runtime/src/domain/servers/requests';
import type { ManualClock } from './clock';

export type { LocalFleet };

/** A fleet tuned for tests: fast provisioning and polling, no timers (tests run them by hand). */
export function startTestFleet(options: LocalFleetOptions = {}): Promise<LocalFleet> {
  return startLocalFleet({
    provisioningMs: 30,
    timers: false,
    env: {},
    ...options,
    overrides: { arm: { pollIntervalMs: 10, retry: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 } }, ...options.overrides },
  });
}

export interface CallResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls `/api/<name>` with the fleet's key (unless `key: null`). A string body is sent as is. */
export async function call<T = any>(
  fleet: LocalFleet,
  name: string,
  body?: unknown,
  options: { method?: string; key?: string | null; query?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<CallResult<T>> {
  const url = new URL(`${fleet.url}/api/${name}`);
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? fleet.key : options.key;
  if (key !== null) headers['x-functions-key'] = key;
  const method = options.method ?? (body === undefined ? 'GET' : 'POST');
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

/**
 * Polls `check` until it returns a truthy value or the time runs out. The deadline is only a
 * safety net against a hang: far longer than anything waited for here takes on a loaded CI
 * machine, so it fires on a real failure, never because the thing waited for is merely late.
 */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Lets the fleet's `clock` pass ALLOCATION_SNAPSHOT_MAX_AGE_MS, so the next ACIAllocate reads the
 * table again: servers written since the last read (seeded, started, freed up) are in its copy.
 * A clock that never moved would keep serving the old copy.
 */
export function expireAllocationSnapshot(fleet: LocalFleet, clock: ManualClock): void {
  clock.advance(fleet.settings.ALLOCATION_SNAPSHOT_MAX_AGE_MS + 1);
}

/** A minimal valid ACICreate body. */
export function createBody(name: string, overrides: Record<string, unknown> = {}, resourceGroup = 'games') {
  return {
    resourceGroup,
    containerGroupName: name,
    containerGroup: {
      location: 'westeurope',
      osType: 'Linux',
      containers: [
        {
          name: 'server',
          image: 'ghcr.io/example/game-server:1.0',
          resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
          ports: [{ port: 27015, protocol: 'UDP' }],
        },
      ],
      ipAddress: { type: 'Public', ports: [{ port: 27015, protocol: 'UDP' }] },
    },
    ...overrides,
  };
}

/** createBody as ServerService.create takes it (validated, its spec given). */
export const newServer = (name: string, overrides: Record<string, unknown> = {}, resourceGroup = 'games'): NewServer =>
  parseRequest(createRequest, createBody(name, overrides, resourceGroup)) as NewServer;

/** An invocation context for calling the service directly; its logs go nowhere. */
export const testContext = (functionName = 'test') => new InvocationContext({ functionName, logHandler: () => {} });
