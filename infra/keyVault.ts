// The report-token secrets in an RBAC Key Vault. The app reads them through Key Vault references
// (`@Microsoft.KeyVault(SecretUri=...)`) with its user-assigned identity, which holds Key Vault
// Secrets User on this vault only. Rotation is a stack operation: raising
// `aci-fleet:reportTokenGeneration` generates a new secret and keeps the one before it as
// REPORT_TOKEN_SECRET_PREVIOUS, so running servers' tokens stay valid (docs/deploy.md).
import * as pulumi from '@pulumi/pulumi';
import * as keyvault from '@pulumi/azure-native/keyvault';
import * as random from '@pulumi/random';

/** The two slots secrets live in: generation g is in slot g % 2, so a rotation never touches the previous one. */
export const SLOTS = ['a', 'b'] as const;
export type Slot = (typeof SLOTS)[number];

export interface SlotState {
  slot: Slot;
  /** The generation whose secret the slot holds; a change regenerates the secret. */
  generation: number;
}

export interface ReportTokenPlan {
  /** The slots that exist (slot b only from generation 1 on). */
  slots: SlotState[];
  current: Slot;
  /** The slot of generation - 1, while running servers may still hold its tokens. */
  previous?: Slot;
}

/**
 * Which secret is where for a generation. Generation N lives in slot N % 2 and the other slot keeps
 * N - 1, so raising N by one regenerates exactly one secret: the older of the two.
 */
export function reportTokenPlan(generation: number, keepPrevious: boolean): ReportTokenPlan {
  if (!Number.isInteger(generation) || generation < 0)
    throw new Error(`reportTokenPlan: generation must be a whole number ≥ 0, got ${generation}`);
  const current = SLOTS[generation % 2];
  const slots: SlotState[] = [{ slot: current, generation }];
  if (generation > 0) slots.push({ slot: SLOTS[(generation - 1) % 2], generation: generation - 1 });
  slots.sort((x, y) => x.slot.localeCompare(y.slot));
  return { slots, current, previous: generation > 0 && keepPrevious ? SLOTS[(generation - 1) % 2] : undefined };
}

/**
 * What regenerates a slot's secret (a random password's keepers). Generation 0 has none, as the
 * secret stacks deployed before rotation existed had none: upgrading keeps their secret.
 */
export function slotKeepers(state: SlotState): Record<string, string> | undefined {
  return state.generation === 0 ? undefined : { generation: String(state.generation) };
}

/** The app setting value that makes the platform fetch a secret version with the app's identity. */
export function keyVaultReference(secretUriWithVersion: string): string {
  return `@Microsoft.KeyVault(SecretUri=${secretUriWithVersion})`;
}

/**
 * A vault name from the fleet name and the stack's random suffix: 3-24 letters, digits and single
 * hyphens, starting with a letter, unique across Azure (and kept for 90 days after deletion).
 */
export function keyVaultName(fleetName: string, suffix: string): string {
  const room = 24 - 'kv--'.length - suffix.length;
  const stem = fleetName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '')
    .slice(0, room)
    .replace(/-+$/, '');
  const name = `kv-${stem}-${suffix}`;
  if (!/^[a-z][a-z0-9-]{1,22}[a-z0-9]$/.test(name) || name.includes('--')) {
    throw new Error(`cannot derive a Key Vault name from "${fleetName}"`);
  }
  return name;
}

export interface ReportTokenSecretsArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  vaultName: pulumi.Input<string>;
  tenantId: pulumi.Input<string>;
  generation: number;
  keepPrevious: boolean;
  tags?: Record<string, string>;
}

export class ReportTokenSecrets extends pulumi.ComponentResource {
  readonly vaultId: pulumi.Output<string>;
  readonly vaultName: pulumi.Output<string>;
  /** `@Microsoft.KeyVault(SecretUri=...)` of the current secret's version: REPORT_TOKEN_SECRET. */
  readonly current: pulumi.Output<string>;
  /** The same for generation - 1 during a rotation: REPORT_TOKEN_SECRET_PREVIOUS. */
  readonly previous: pulumi.Output<string | undefined>;

  constructor(name: string, args: ReportTokenSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:ReportTokenSecrets', name, {}, opts);
    const plan = reportTokenPlan(args.generation, args.keepPrevious);

    const vault = new keyvault.Vault(
      `${name}-vault`,
      {
        vaultName: args.vaultName,
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        properties: {
          tenantId: args.tenantId,
          sku: { family: 'A', name: 'standard' },
          // Azure RBAC, not access policies: the app gets Key Vault Secrets User on this vault only.
          enableRbacAuthorization: true,
          // The Flex app is not in a virtual network: it resolves references over the public endpoint.
          publicNetworkAccess: 'Enabled',
        },
        tags: args.tags,
      },
      { parent: this },
    );

    const uris = new Map<Slot, pulumi.Output<string>>();
    for (const state of plan.slots) {
      const password = new random.RandomPassword(
        `${name}-${state.slot}`,
        // 48 letters and digits, as before rotation existed: the same inputs keep an upgraded stack's secret.
        { length: 48, special: false, keepers: slotKeepers(state) },
        // Slot a is the secret of a stack deployed before rotation existed (a top-level `report-token-secret`).
        { parent: this, aliases: state.slot === 'a' ? [{ name: 'report-token-secret', parent: pulumi.rootStackResource }] : [] },
      );
      const secret = new keyvault.Secret(
        `${name}-secret-${state.slot}`,
        {
          vaultName: vault.name,
          resourceGroupName: args.resourceGroupName,
          secretName: `report-token-${state.slot}`,
          properties: { value: password.result, contentType: `aci-fleet report token secret, generation ${state.generation}` },
          tags: args.tags,
        },
        { parent: this },
      );
      // A versioned URI: each rotation changes the app setting, so the app restarts onto the new secret
      // instead of waiting up to a day for the platform to refresh a versionless reference.
      uris.set(state.slot, secret.properties.secretUriWithVersion);
    }

    this.vaultId = vault.id;
    this.vaultName = vault.name;
    this.current = uris.get(plan.current)!.apply(keyVaultReference);
    const previous = plan.previous;
    this.previous = previous ? uris.get(previous)!.apply(keyVaultReference) : pulumi.output(undefined);
    this.registerOutputs({ vaultName: this.vaultName });
  }
}
