// The ARM access token of whoever runs Pulumi (az login locally, OIDC in CI), for the steps the
// typed resources cannot do (One Deploy, provider registration, preflight, the smoke test). It
// already has the rights those steps need; it lasts about an hour, longer than any of them.
import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization';

/** The public cloud's Resource Manager. */
export const ARM_URL = 'https://management.azure.com';

export function deployerToken(parent: pulumi.Resource): pulumi.Output<string> {
  return pulumi.secret(authorization.getClientTokenOutput({}, { parent }).token);
}
