// The resource providers the stack uses, registered on the subscription by the program itself
// (a new subscription has most of them unregistered), each one a resource that is done only once
// ARM says Registered. Everything the stack creates waits for them.
import * as pulumi from '@pulumi/pulumi';
import { ARM_URL, deployerToken } from './deploy/armToken';
import { registrationProvider, type RegistrationInputs } from './deploy/registrationProvider';

/** Each namespace and what needs it. */
export const RESOURCE_PROVIDERS: Readonly<Record<string, string>> = {
  'Microsoft.ContainerInstance': 'the servers (container groups), and their Event Grid events',
  'Microsoft.EventGrid': 'the system topics and subscriptions that deliver container-group events to ACIMonitor',
  'Microsoft.Web': 'the Flex Consumption plan and the Function App',
  'Microsoft.Storage': 'the storage account (tables, host storage, deployment package, dead letters)',
  'Microsoft.KeyVault': 'the vault holding the report-token secrets',
  'Microsoft.Insights': 'Application Insights, the alert rules, the action group and the workbook',
  'Microsoft.OperationalInsights': 'the Log Analytics workspace',
  'Microsoft.ManagedIdentity': "the app's user-assigned identity",
};

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

class ResourceProviderRegistration extends pulumi.dynamic.Resource {
  declare readonly registrationState: pulumi.Output<string>;
  declare readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: Inputs<RegistrationInputs>, opts?: pulumi.CustomResourceOptions) {
    super(registrationProvider, name, { ...args, registrationState: undefined }, opts, 'aci-fleet', 'ResourceProviderRegistration');
  }
}

export interface ResourceProvidersArgs {
  subscriptionId: pulumi.Input<string>;
  namespaces?: readonly string[];
}

export class ResourceProviders extends pulumi.ComponentResource {
  /** One per namespace: depend on them to wait until every provider is Registered. */
  readonly registrations: pulumi.Resource[];

  constructor(name: string, args: ResourceProvidersArgs, opts?: pulumi.ComponentResourceOptions) {
    super('aci-fleet:infra:ResourceProviders', name, {}, opts);
    const namespaces = args.namespaces ?? Object.keys(RESOURCE_PROVIDERS);
    const token = deployerToken(this);
    this.registrations = namespaces.map(
      (namespace) =>
        new ResourceProviderRegistration(
          `${name}-${namespace.toLowerCase().replace(/^microsoft\./, '')}`,
          { armUrl: ARM_URL, subscriptionId: args.subscriptionId, namespace, token },
          { parent: this },
        ),
    );
    this.registerOutputs({});
  }
}
