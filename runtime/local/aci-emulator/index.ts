// Local stand-in for ARM's Microsoft.ContainerInstance/containerGroups API: the real
// @azure/arm-containerinstance client talks to it over http (see runtime/src/azure/armClient.ts),
// and it sends the Event Grid resource events Azure would. Its container groups are in memory, or
// kept in a file (stateFile) so that a restarted emulator has the groups it had.
import { EventDelivery } from './delivery';
import { FaultInjector, type EmulatorFaults } from './faults';
import { ContainerGroups, type RegionQuota } from './groups';
import { ArmHttpServer } from './http';
import type { ContainerGroupJson } from './model';
import { Operations } from './operations';
import { armDispatcher } from './routes';
import type { Log } from './log';
import { GroupStore } from './store';
import { BackgroundWork } from './timers';

export type { ContainerGroupJson } from './model';
export type { EventGridEvent } from './events';
export type { EmulatorFaults, FaultSettings, FaultStats } from './faults';
export type { Log, LogLevel } from './log';
export type { RegionQuota } from './groups';

export interface AciEmulatorOptions {
  /** Default 0 (a free port); always on 127.0.0.1. */
  port?: number;
  /** Time from PUT to Succeeded/Failed; default EMULATOR_PROVISIONING_MS or 2000. */
  provisioningMs?: number;
  /** Default '00000000-0000-0000-0000-000000000000'. */
  subscriptionId?: string;
  /** Webhook that receives the Event Grid events (may be set later). */
  eventEndpoint?: string;
  /** List page size (nextLink paging); default 100. */
  pageSize?: number;
  /**
   * Keep the container groups in this JSON file: read at start (provisioning and deletes that were
   * under way start again), written before each change is answered. Omitted = in memory only.
   */
  stateFile?: string;
  /** The subscription's quotas per region (unlimited when omitted); also `AciEmulator.quota`. */
  quota?: RegionQuota;
  log?: Log;
}

export interface AciEmulator {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly subscriptionId: string;
  /**
   * Where events go, and which types (an Event Grid subscription's includedEventTypes; all of
   * them when not given). Events of other types are not delivered, as Event Grid filters them.
   */
  setEventEndpoint(url: string | undefined, eventTypes?: readonly string[]): void;
  /** Snapshot of stored groups, ARM JSON shape (as GET returns them), for tests. */
  groups(): ContainerGroupJson[];
  /** Delete a group behind the fleet's back (no event), for tests of drift. */
  removeOutOfBand(resourceGroup: string, name: string): boolean;
  /** Resolves when every queued event delivery and provisioning timer has finished. */
  idle(): Promise<void>;
  /** Fault injection for tests: lost, duplicated, late and reordered events; failing ARM answers. */
  readonly faults: EmulatorFaults;
  /** The quotas per region that PUTs are held to now; set its fields to change them. */
  readonly quota: RegionQuota;
  /** What a group's containers see in their environment (secure values included), as name → value per container. */
  containerEnvironment(resourceGroup: string, name: string): Record<string, Record<string, string>> | undefined;
  close(): Promise<void>;
}

export async function startAciEmulator(opts: AciEmulatorOptions = {}): Promise<AciEmulator> {
  const emulator = new Emulator(opts);
  await emulator.listen(opts.port ?? 0);
  return emulator;
}

const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';

class Emulator implements AciEmulator {
  readonly subscriptionId: string;
  readonly faults: EmulatorFaults;
  readonly quota: RegionQuota;
  private readonly background: BackgroundWork;
  private readonly delivery: EventDelivery;
  private readonly containerGroups: ContainerGroups;
  private readonly server: ArmHttpServer;
  private closing: Promise<void> | undefined;

  constructor(opts: AciEmulatorOptions) {
    this.subscriptionId = opts.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
    const provisioningMs = opts.provisioningMs ?? Number(process.env.EMULATOR_PROVISIONING_MS ?? 2000);
    if (!Number.isFinite(provisioningMs) || provisioningMs < 0) {
      throw new Error(`provisioningMs must be a non-negative number, got ${provisioningMs}`);
    }
    const pageSize = opts.pageSize ?? 100;
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error('pageSize must be a positive integer');
    const log = opts.log ?? ((line) => console.error(`[aci-emulator] ${line}`));
    const baseUrl = () => this.server.url;

    this.background = new BackgroundWork(log);
    this.delivery = new EventDelivery(this.background, log, opts.eventEndpoint);
    const injector = new FaultInjector((event, delayMs) => this.delivery.send(event, delayMs), log);
    this.faults = injector.controls;
    this.quota = { ...opts.quota };
    const operations = new Operations(this.subscriptionId, baseUrl, this.background);
    this.containerGroups = new ContainerGroups({
      subscriptionId: this.subscriptionId,
      baseUrl,
      store: new GroupStore(this.subscriptionId, opts.stateFile),
      operations,
      provisioningMs,
      pageSize,
      publish: (event) => injector.publish(event),
      quota: this.quota,
      log,
    });
    this.server = new ArmHttpServer(armDispatcher(this.subscriptionId, this.containerGroups, operations), injector, log);
  }

  get url(): string {
    return this.server.url;
  }

  async listen(port: number): Promise<void> {
    await this.server.listen(port);
    this.containerGroups.resumeSaved();
  }

  setEventEndpoint(url: string | undefined, eventTypes?: readonly string[]): void {
    this.delivery.endpoint = url;
    this.delivery.eventTypes = eventTypes;
  }

  groups(): ContainerGroupJson[] {
    return this.containerGroups.rendered();
  }

  removeOutOfBand(resourceGroup: string, name: string): boolean {
    return this.containerGroups.removeOutOfBand(resourceGroup, name);
  }

  containerEnvironment(resourceGroup: string, name: string): Record<string, Record<string, string>> | undefined {
    return this.containerGroups.containerEnvironment(resourceGroup, name);
  }

  idle(): Promise<void> {
    return this.background.idle();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = this.server.close();
      this.background.cancelTimers();
      await this.background.idle();
      await closed;
    })();
    return this.closing;
  }
}
