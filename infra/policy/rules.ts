// The security invariants of an aci-fleet stack as Pulumi policies: keyless storage stated
// reachable, HTTPS and TLS 1.2, basic-auth publishing off, Entra-only telemetry, no broad roles,
// role assignments with their principal type and inside the fleet's own resource groups, dead-
// lettering and a subject filter on every event subscription, and the required tags.
// Kept apart from index.ts (which starts the policy server) so tests can run the rules directly.
import type {
  Policies,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from '@pulumi/policy';
import { BROAD_ROLES, REQUIRED_TAGS, appSettingsProblems, isBroadScope, missingTags, resourceGroupOfScope, roleGuid } from '../invariants';

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

export const storagePublicNetwork: ResourceValidationPolicy = {
  name: 'aci-fleet-storage-public-network',
  description:
    'Storage accounts state publicNetworkAccess (not left to a default a policy may flip), and one reachable from the internet accepts no keys.',
  enforcementLevel: 'mandatory',
  validateResource: forTypes([['storage', 'StorageAccount']], (p, report) => {
    if (!['Enabled', 'Disabled', 'SecuredByPerimeter'].includes(p.publicNetworkAccess)) {
      report(
        `publicNetworkAccess must be stated (Enabled, Disabled or SecuredByPerimeter), got ${String(p.publicNetworkAccess)}: ` +
          'the Flex deployment service and an app without a virtual network need Enabled.',
      );
    }
    if (p.publicNetworkAccess === 'Enabled' && p.allowSharedKeyAccess !== false) {
      report('An account reachable from the internet must refuse keys (allowSharedKeyAccess false).');
    }
  }),
};

const BASIC_AUTH_TYPES: Array<[string, string]> = [
  ['web', 'WebAppScmAllowed'],
  ['web', 'WebAppFtpAllowed'],
  ['web', 'WebAppScmAllowedSlot'],
  ['web', 'WebAppFtpAllowedSlot'],
];

export const basicAuthOff: ResourceValidationPolicy = {
  name: 'aci-fleet-basic-auth-off',
  description: 'SCM and FTP basic-auth publishing is off (deployment uses Entra tokens only).',
  enforcementLevel: 'mandatory',
  validateResource: forTypes(BASIC_AUTH_TYPES, (p, report, args) => {
    if (p.allow !== false) report(`${args.type.split(':').pop()}: allow must be false (no publishing credentials).`);
  }),
};

const isType = (r: PolicyResource, module: string, name: string) => isAzureType(r.type, module, name);

export const basicAuthOffForEveryApp: StackValidationPolicy = {
  name: 'aci-fleet-basic-auth-off-every-app',
  description: 'Every Function App has its SCM and its FTP basic-auth publishing turned off by the stack.',
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    const off = (name: string) =>
      new Set(
        args.resources
          .filter((r) => isType(r, 'web', name) && r.props.allow === false)
          .map((r) => String(r.props.name ?? '').toLowerCase()),
      );
    const scmOff = off('WebAppScmAllowed');
    const ftpOff = off('WebAppFtpAllowed');
    for (const app of args.resources.filter((r) => isType(r, 'web', 'WebApp'))) {
      const name = String(app.props.name ?? '').toLowerCase();
      if (!scmOff.has(name)) report(`Function App ${app.props.name}: no WebAppScmAllowed with allow false.`, app.urn);
      if (!ftpOff.has(name)) report(`Function App ${app.props.name}: no WebAppFtpAllowed with allow false.`, app.urn);
    }
  },
};

export const rolePrincipalType: ResourceValidationPolicy = {
  name: 'aci-fleet-role-principal-type',
  description: 'Every role assignment states its principalType (ARM cannot look up a just-created identity yet).',
  enforcementLevel: 'mandatory',
  validateResource: forTypes([['authorization', 'RoleAssignment']], (p, report) => {
    if (!['ServicePrincipal', 'User', 'Group', 'ForeignGroup', 'Device'].includes(p.principalType)) {
      report(`principalType must be set (ServicePrincipal for a managed identity), got ${String(p.principalType)}.`);
    }
  }),
};

/** The resource groups a stack creates or deploys into: its own. */
export function fleetResourceGroups(resources: ReadonlyArray<Pick<PolicyResource, 'type' | 'props'>>): Set<string> {
  const groups = new Set<string>();
  for (const r of resources) {
    const name = r.props.resourceGroupName;
    if (typeof name === 'string' && name) groups.add(name.toLowerCase());
  }
  return groups;
}

export const roleScopesInFleet: StackValidationPolicy = {
  name: 'aci-fleet-role-scopes-in-fleet',
  description:
    "Role assignments and the fleet's custom roles are scoped to the fleet's own resource groups (those it creates or deploys into), nowhere else.",
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    const own = fleetResourceGroups(args.resources);
    const check = (scope: unknown, what: string, urn: string) => {
      if (typeof scope !== 'string') return; // not known yet in a preview
      const group = resourceGroupOfScope(scope);
      if (!group || !own.has(group)) {
        report(`${what} ${scope} is outside the fleet's resource groups (${[...own].sort().join(', ')}).`, urn);
      }
    };
    for (const r of args.resources) {
      if (isType(r, 'authorization', 'RoleAssignment')) check(r.props.scope, 'Role assignment scope', r.urn);
      if (isType(r, 'authorization', 'RoleDefinition')) {
        for (const scope of (r.props.assignableScopes ?? []) as unknown[]) check(scope, 'Custom role assignable scope', r.urn);
      }
    }
  },
};

export const eventGridSubjectFilter: ResourceValidationPolicy = {
  name: 'aci-fleet-eventgrid-subject-filter',
  description: "Every Event Grid subscription filters on the subject, so only the fleet's container groups reach ACIMonitor.",
  enforcementLevel: 'mandatory',
  validateResource: forTypes(
    [
      ['eventgrid', 'SystemTopicEventSubscription'],
      ['eventgrid', 'EventSubscription'],
    ],
    (p, report) => {
      const begins = p.filter?.subjectBeginsWith;
      if (typeof begins !== 'string' || begins.trim() === '')
        report("filter.subjectBeginsWith is required (the container groups' id prefix).");
    },
  ),
};

/** Types that carry tags in this stack. */
export const TAGGED_TYPES: Array<[string, string]> = [
  ['resources', 'ResourceGroup'],
  ['storage', 'StorageAccount'],
  ['operationalinsights', 'Workspace'],
  ['applicationinsights', 'Component'],
  ['applicationinsights', 'Workbook'],
  ['web', 'AppServicePlan'],
  ['web', 'WebApp'],
  ['managedidentity', 'UserAssignedIdentity'],
  ['keyvault', 'Vault'],
  ['keyvault', 'Secret'],
  ['eventgrid', 'SystemTopic'],
  ['monitor', 'ScheduledQueryRule'],
  ['monitor', 'MetricAlert'],
  ['monitor', 'ActionGroup'],
];

export const requiredTags: ResourceValidationPolicy = {
  name: 'aci-fleet-required-tags',
  description: `Every taggable resource carries the required tags (${REQUIRED_TAGS.join(', ')}).`,
  enforcementLevel: 'mandatory',
  validateResource: forTypes(TAGGED_TYPES, (p, report) => {
    for (const tag of missingTags(p.tags)) report(`Tag ${tag} is required (the fleet's name).`);
  }),
};

export const policies: Policies = [
  storageKeyless,
  storageTls,
  storagePublicNetwork,
  functionAppHttps,
  basicAuthOff,
  basicAuthOffForEveryApp,
  appSettingsKeyless,
  appInsightsEntraOnly,
  noBroadRoles,
  rolePrincipalType,
  roleScopesInFleet,
  eventGridDeadLetter,
  eventGridSubjectFilter,
  requiredTags,
];
