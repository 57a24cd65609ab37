// AutoscalerStateStore on Blob Storage: one small JSON blob per fleet, written only with the
// ETag it was read with (or only if absent), so two autoscaler runs can never both take the lease.
import type { ContainerClient } from '@azure/storage-blob';
import { storageUnavailable, timedOut } from './storage';
import { FleetError } from '../domain/core/errors';
import { StaleWriteError, type Versioned } from '../domain/core/ports';
import type { AutoscalerState, AutoscalerStateStore } from '../domain/autoscaling/ports';

export class BlobAutoscalerStateStore implements AutoscalerStateStore {
  private ready: Promise<void> | undefined;

  constructor(
    private readonly container: ContainerClient,
    private readonly blobName: string,
    /** Each call ends within this, its retries included: a hung storage account answers 503, never hangs a run. */
    private readonly bounds: { deadlineMs: number } = { deadlineMs: 30_000 },
  ) {}

  /** Runs one storage call under the deadline; running out of it is StorageUnavailable with Retry-After. */
  private async bounded<T>(call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = AbortSignal.timeout(this.bounds.deadlineMs);
    try {
      return await call(deadline);
    } catch (e) {
      if (deadline.aborted) throw timedOut('Blob Storage', this.bounds.deadlineMs);
      throw e;
    }
  }

  /** Creates the container on first use (the stack creates it on Azure, where this may be forbidden: fine). */
  private ensureContainer(): Promise<void> {
    this.ready ??= this.bounded((abortSignal) => this.container.createIfNotExists({ abortSignal }))
      .then(() => undefined)
      .catch((e) => {
        if (statusOf(e) === 403) return;
        this.ready = undefined;
        throw storageUnavailable(e, 'Blob Storage');
      });
    return this.ready;
  }

  async read(): Promise<Versioned<AutoscalerState> | undefined> {
    await this.ensureContainer();
    try {
      const blob = this.container.getBlobClient(this.blobName);
      // The body is read under the same deadline: a download can stall after its headers.
      const { response, text } = await this.bounded(async (abortSignal) => {
        const response = await blob.download(0, undefined, { abortSignal });
        return { response, text: await streamToString(response.readableStreamBody) };
      });
      const parsed = JSON.parse(text) as Partial<AutoscalerState>;
      return { value: { ...parsed, creates: Array.isArray(parsed.creates) ? parsed.creates : [] }, etag: response.etag! };
    } catch (e) {
      if (isContainerMissing(e)) this.ready = undefined; // storage came back without it: the next write creates it again
      if (statusOf(e) === 404) return undefined;
      throw storageUnavailable(e, 'Blob Storage');
    }
  }

  async write(state: AutoscalerState, etag: string | undefined): Promise<Versioned<AutoscalerState>> {
    try {
      return await this.upload(state, etag);
    } catch (e) {
      if (!isContainerMissing(e)) throw e;
      this.ready = undefined; // storage came back without the container (in-memory Azurite, deleted by hand)
      return this.upload(state, etag).catch((again) => {
        if (!isContainerMissing(again)) throw again;
        throw new FleetError(
          'StorageUnavailable',
          `Blob Storage cannot provide the container yet: ${(again as Error).message}`,
          undefined,
          5,
        );
      });
    }
  }

  private async upload(state: AutoscalerState, etag: string | undefined): Promise<Versioned<AutoscalerState>> {
    await this.ensureContainer();
    const body = JSON.stringify(state);
    try {
      const response = await this.bounded((abortSignal) =>
        this.container.getBlockBlobClient(this.blobName).upload(body, Buffer.byteLength(body), {
          conditions: etag ? { ifMatch: etag } : { ifNoneMatch: '*' },
          blobHTTPHeaders: { blobContentType: 'application/json' },
          abortSignal,
        }),
      );
      return { value: state, etag: response.etag! };
    } catch (e) {
      const status = statusOf(e);
      if (status === 412 || status === 409) throw new StaleWriteError(`autoscaler state ${this.blobName}`);
      if (isContainerMissing(e)) throw e;
      throw storageUnavailable(e, 'Blob Storage');
    }
  }
}

const statusOf = (e: unknown) => (e as { statusCode?: number } | undefined)?.statusCode;
const isContainerMissing = (e: unknown) => statusOf(e) === 404 && (e as { code?: string }).code === 'ContainerNotFound';

async function streamToString(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
