// The security invariants of a fleet, as plain data and pure checks: the components obey them
// and the policy pack (infra/policy) enforces them. No Pulumi import, so both can share it.

/** Built-in role definition ids (the GUID at the end of `.../roleDefinitions/<id>`). */
export const ROLES = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  /** Replaced by the fleet's own container role (containerRole.ts): it also allows exec and attach. */
  containerInstancesContributor: '5d977122-f97e-4b4d-a52f-6b43003ddb4d',
} as const;

/** Roles that can change anything (or grant anything) in their scope: never for a workload identity. */
export const BROAD_ROLES: Record<string, string> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  'f58310d9-a9f6-439a-9e8d-f62e7b41a168': 'Role Based Access Control Administrator',
};

/** The GUID of a role definition id, whatever its form (bare GUID or full resource id). */
export function roleGuid(roleDefinitionId: string): string {
  return roleDefinitionId.split('/').pop()!.toLowerCase();
}

/** The full role definition id ARM expects in a role assignment. */
export function roleDefinitionId(subscriptionId: string, guid: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

/** A scope at subscription level or above (`/`, management group, subscription): too broad for a workload. */
export function isBroadScope(scope: string): boolean {
  const s = scope.replace(/\/+$/, '').toLowerCase();
  return s === '' || /^\/providers\/microsoft\.management\/managementgroups\/[^/]+$/.test(s) || /^\/subscriptions\/[^/]+$/.test(s);
}

/**
 * App settings that Flex Consumption rejects or that would bring a key into the app.
 * `AzureWebJobsStorage` alone is a connection string; its identity-based form uses `AzureWebJobsStorage__*`.
 */
export const FORBIDDEN_APP_SETTINGS = [
  'AzureWebJobsStorage',
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'WEBSITE_CONTENTSHARE',
  'APPINSIGHTS_INSTRUMENTATIONKEY',
] as const;

/** Fragments that only appear in secrets-bearing connection strings and SAS URLs. */
const KEY_MATERIAL = [/AccountKey=/i, /SharedAccessSignature=/i, /SharedAccessKey=/i, /[?&]sig=/i, /DefaultEndpointsProtocol=/i];

/** Telemetry sent with a managed identity: the system-assigned one, or a user-assigned one by client id. */
export function isEntraTelemetry(value: unknown): boolean {
  return typeof value === 'string' && /^(ClientId=[0-9a-f-]{36};)?Authorization=AAD$/i.test(value);
}

/**
 * Problems with a set of app settings: forbidden names, key material in any value, and an
 * Application Insights connection string without Entra authentication. Empty when keyless.
 */
export function appSettingsProblems(settings: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const name of FORBIDDEN_APP_SETTINGS) {
    if (name in settings) problems.push(`app setting ${name} must not be set (keyless, Flex Consumption)`);
  }
  for (const [name, value] of Object.entries(settings)) {
    if (typeof value === 'string' && KEY_MATERIAL.some((re) => re.test(value))) {
      problems.push(`app setting ${name} carries a key or SAS`);
    }
  }
  if ('APPLICATIONINSIGHTS_CONNECTION_STRING' in settings && !isEntraTelemetry(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING)) {
    problems.push(
      'APPLICATIONINSIGHTS_AUTHENTICATION_STRING must be "Authorization=AAD" (or "ClientId=<id>;Authorization=AAD") so telemetry uses the managed identity',
    );
  }
  return problems;
}

/** Tags every taggable resource of a fleet carries (the ownership tag the fleet's GC also relies on). */
export const REQUIRED_TAGS = ['aci-fleet'] as const;

/** The missing or empty required tags of a resource's `tags`. */
export function missingTags(tags: unknown): string[] {
  const t = (tags ?? {}) as Record<string, unknown>;
  return REQUIRED_TAGS.filter((name) => typeof t[name] !== 'string' || (t[name] as string).trim() === '');
}

/**
 * The resource group a scope lies in (`/subscriptions/<s>/resourceGroups/<rg>[/...]`), lowercased;
 * undefined for a scope above resource groups (a subscription, a management group, `/`).
 */
export function resourceGroupOfScope(scope: string): string | undefined {
  return /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)(\/|$)/i.exec(scope.trim())?.[1]?.toLowerCase();
}
