// Builds the Azure Container Instances management client: real ARM over https, or the local
// ARM emulator (runtime/local/aci-emulator) when the endpoint is plain http.
import { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { bearerTokenAuthenticationPolicyName } from '@azure/core-rest-pipeline';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { attemptDeadlinePolicy, fleetRetryPolicy, type RetrySettings } from './retry';

export const DEFAULT_ARM_ENDPOINT = 'https://management.azure.com';

/** Retries of 429/408/5xx/network failures unless the caller says otherwise (config: ARM_*). */
export const DEFAULT_ARM_RETRY: RetrySettings = { maxRetries: 4, retryDelayInMs: 500, maxRetryDelayInMs: 8000 };

export interface ArmClientOptions {
  subscriptionId: string;
  /** ARM base URL; default https://management.azure.com. Plain http means the local emulator. */
  endpoint?: string;
  /** Default DefaultAzureCredential (managed identity on Azure, az login locally). */
  credential?: TokenCredential;
  /** Interval between polls of long-running operations when ARM sends no Retry-After. */
  pollIntervalMs?: number;
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  /** Per-attempt timeout, the answer's body included (config: ARM_TIMEOUT_MS); none when omitted. */
  timeoutMs?: number;
}

// Never asked for a token: the bearer policy is removed for the emulator, but the SDK's
// constructor insists on a credential.
const emulatorCredential: TokenCredential = {
  getToken: async () => ({ token: 'emulator', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

export function createContainerInstanceClient(opts: ArmClientOptions): ContainerInstanceManagementClient {
  const endpoint = (opts.endpoint ?? DEFAULT_ARM_ENDPOINT).replace(/\/+$/, '');
  const isEmulator = new URL(endpoint).protocol === 'http:';
  const credential = isEmulator ? emulatorCredential : (opts.credential ?? new DefaultAzureCredential());

  const client = new ContainerInstanceManagementClient(credential, opts.subscriptionId, {
    endpoint,
    $host: endpoint,
    credentialScopes: `${endpoint}/.default`,
    // The HTTP client refuses plain http unless told this is intended.
    allowInsecureConnection: isEmulator,
  });

  // The bearer policy refuses to send a token over non-TLS URLs (it throws), and the emulator
  // needs no token: drop it rather than serving https with a self-signed certificate.
  if (isEmulator) client.pipeline.removePolicy({ name: bearerTokenAuthenticationPolicyName });

  // Our own retry rule instead of the SDK's: it also backs off on a 429 without Retry-After and
  // refuses to sit out a long Retry-After while a caller waits. PUT and DELETE by name are
  // idempotent, so retrying them never makes a second group.
  client.pipeline.removePolicy({ name: 'defaultRetryPolicy' }); // core-rest-pipeline's name, not exported
  client.pipeline.addPolicy(fleetRetryPolicy({ ...DEFAULT_ARM_RETRY, ...opts.retry }), { phase: 'Retry' });
  // Inside the retry loop, so each attempt has its own deadline. Without one, a connection that
  // stops answering holds the function until the host gives up on it.
  const { timeoutMs } = opts;
  if (timeoutMs !== undefined) {
    const timedOut = () => new Error(`no answer within ${timeoutMs} ms (ARM_TIMEOUT_MS)`);
    client.pipeline.addPolicy(attemptDeadlinePolicy(timeoutMs, timedOut), { afterPhase: 'Retry' });
  }

  if (opts.pollIntervalMs !== undefined) applyPollInterval(client, opts.pollIntervalMs);
  return client;
}

// The SDK only takes the LRO polling interval per call (updateIntervalInMs, default 2 s).
// Shadow the begin* methods on the instance with a default; the *AndWait variants call
// `this.begin*`, so they pick it up too. An explicit per-call value still wins.
function applyPollInterval(client: ContainerInstanceManagementClient, ms: number): void {
  const groups = client.containerGroups;
  const create = groups.beginCreateOrUpdate.bind(groups);
  const del = groups.beginDelete.bind(groups);
  const restart = groups.beginRestart.bind(groups);
  const start = groups.beginStart.bind(groups);
  groups.beginCreateOrUpdate = (rg, name, group, options) => create(rg, name, group, withInterval(options, ms));
  groups.beginDelete = (rg, name, options) => del(rg, name, withInterval(options, ms));
  groups.beginRestart = (rg, name, options) => restart(rg, name, withInterval(options, ms));
  groups.beginStart = (rg, name, options) => start(rg, name, withInterval(options, ms));
}

function withInterval<T extends { updateIntervalInMs?: number }>(options: T | undefined, ms: number): T {
  return { ...options, updateIntervalInMs: options?.updateIntervalInMs ?? ms } as T;
}
