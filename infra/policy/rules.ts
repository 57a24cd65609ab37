// The security invariants of an aci-fleet stack as Pulumi policies: keyless storage, HTTPS and
// TLS 1.2, Entra-only telemetry, no broad roles, and dead-lettering on every event subscription.
// Kept apart from index.ts (which starts the policy server) so tests can run the rules directly.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import { BROAD_ROLES, appSettingsProblems, isBroadScope, roleGuid } from '../invariants';

/** `azure-native:<module>:<Name>`, also in its explicitly versioned form (`azure-native:storage/v20240101:...`). */
export function isAzureType(type: string, module: string, name: string): boolean {
  return new RegExp(`^azure-native:${module}(/v[0-9a-z]+)?:${name}$`).test(type);
}

// biome-ignore lint/suspicious/noExplicitAny: a resource's inputs reach a policy as untyped JSON (Pulumi types them `any`), read field by field.
type Check = (props: Record<string, any>, report: ReportViolation, args: ResourceValidationArgs) => void;

/** A policy that looks at one resource type (given as `module:Name` pairs). */
function forTypes(types: Array<[string, string]>, check: Check) {
  return (args: ResourceValidationArgs, report: ReportViolation) => {
    if (types.some(([m, n]) => isAzureType(args.type, m, n))) check(args.props, report, args);
  };
}

const TLS_OK = new Set(['TLS1_2', 'TLS1_3']);

export const storageKeyless: ResourceValidationPolicy = {
  name: 'aci-fleet-storage-keyless',
  description: 'Storage accounts accept Entra ID only: shared key access and public blob access are off.',
  enforcementLevel: 'mandatory',
  validateResource: forTypes([['storage', 'StorageAccount']], (p, report) => {
    if (p.allowSharedKeyAccess !== false) report('allowSharedKeyAccess must be false (no account keys, no SAS).');
    if (p.allowBlobPublicAccess !== false) report('allowBlobPublicAccess must be false.');
  }),
};

export const storageTls: ResourceValidationPolicy = {
  name: 'aci-fleet-storage-tls',
  description: 'Storage accounts require HTTPS and TLS 1.2 or later.',
  enforcementLevel: 'mandatory',
  validateResource: forTypes([['storage', 'StorageAccount']], (p, report) => {
    if (!TLS_OK.has(p.minimumTlsVersion)) report(`minimumTlsVersion must be TLS1_2 or later, got ${String(p.minimumTlsVersion)}.`);
    if (p.enableHttpsTrafficOnly === false) report('enableHttpsTrafficOnly must not be false.');
  }),
};

export const functionAppHttps: ResourceValidationPolicy = {
  name: 'aci-fleet-functionapp-https',
  description: 'Function Apps serve HTTPS only, with TLS 1.2 or later, and never plain FTP.',
  enforcementLevel: 'mandatory',
  validateResource: forTypes([['web', 'WebApp']], (p, report) => {
    if (p.httpsOnly !== true) report('httpsOnly must be true.');
    const site = p.siteConfig as Record<string, unknown> | undefined;
    if (site?.minTlsVersion !== undefined && !['1.2', '1.3'].includes(String(site.minTlsVersion))) {
      report(`siteConfig.minTlsVersion must be 1.2 or later, got ${String(site.minTlsVersion)}.`);
    }
    if (site?.ftpsState === 'AllAllowed') report('siteConfig.ftpsState must not be AllAllowed.');
  }),
};

export const appSettingsKeyless: ResourceValidationPolicy = {
  name: 'aci-fleet-app-settings-keyless',
  description: 'App settings carry no connection string with a key, no SAS, no Flex-rejected setting; telemetry uses Entra ID.',
  enforcementLevel: 'mandatory',
  validateResource: [
    forTypes([['web', 'WebAppApplicationSettings']], (p, report) => {
      for (const problem of appSettingsProblems((p.properties ?? {}) as Record<string, unknown>)) report(problem);
    }),
    forTypes([['web', 'WebApp']], (p, report) => {
      const list = (p.siteConfig as { appSettings?: Array<{ name?: string; value?: string }> } | undefined)?.appSettings ?? [];
      const settings = Object.fromEntries(list.map((s) => [s.name ?? '', s.value]));
      for (const problem of appSettingsProblems(settings)) report(problem);
      if (((p.siteConfig as { connectionStrings?: unknown[] } | undefined)?.connectionStrings ?? []).length > 0) {
        report('siteConfig.connectionStrings must be empty: use identity-based connections.');
      }
    }),
    forTypes([['web', 'WebAppConnectionStrings']], (_p, report) => {
      report('Connection strings are not allowed: use identity-based connections.');
    }),
  ],
};

export const appInsightsEntraOnly: ResourceValidationPolicy = {
  name: 'aci-fleet-appinsights-entra-only',
  description: 'Application Insights accepts Entra-authenticated telemetry only (local auth off).',
  enforcementLevel: 'mandatory',
  validateResource: forTypes([['applicationinsights', 'Component']], (p, report) => {
    if (p.disableLocalAuth !== true) report('disableLocalAuth must be true.');
  }),
};

export const noBroadRoles: ResourceValidationPolicy = {
  name: 'aci-fleet-no-broad-roles',
  description: 'Role assignments never grant Owner, Contributor or access administration, nor anything at subscription scope or above.',
  enforcementLevel: 'mandatory',
  validateResource: forTypes([['authorization', 'RoleAssignment']], (p, report) => {
    const role = BROAD_ROLES[roleGuid(String(p.roleDefinitionId ?? ''))];
    if (role) report(`Role ${role} is too broad; grant the specific data or service role instead.`);
    if (typeof p.scope === 'string' && isBroadScope(p.scope)) {
      report(`Scope ${p.scope} is too broad; scope the assignment to a resource group or a resource.`);
    }
  }),
};

export const eventGridDeadLetter: ResourceValidationPolicy = {
  name: 'aci-fleet-eventgrid-dead-letter',
  description: 'Every Event Grid subscription has a retry policy and dead-letters what it cannot deliver.',
  enforcementLevel: 'mandatory',
  validateResource: forTypes(
    [
      ['eventgrid', 'SystemTopicEventSubscription'],
      ['eventgrid', 'EventSubscription'],
    ],
    (p, report) => {
      const deadLetter = p.deadLetterWithResourceIdentity?.deadLetterDestination ?? p.deadLetterDestination;
      if (!deadLetter) report('Dead-lettering is required (deadLetterWithResourceIdentity or deadLetterDestination).');
      if (!p.retryPolicy) report('A retry policy is required (retryPolicy).');
    },
  ),
};

export const policies: ResourceValidationPolicy[] = [
  storageKeyless,
  storageTls,
  functionAppHttps,
  appSettingsKeyless,
  appInsightsEntraOnly,
  noBroadRoles,
  eventGridDeadLetter,
];
