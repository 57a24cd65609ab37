// A fleet's template for the stack-fleet tests (program, provider, local fleet): one container of
// `image` in `resourceGroup`, with a secure environment variable holding FLEET_SECRET.

export const FLEET_SECRET = 'env-s3cret-value';

export function fleetTemplate(image: string, resourceGroup: string, group: Record<string, unknown> = {}) {
  return {
    resourceGroup,
    maxSessions: 8,
    containerGroup: {
      location: 'westeurope',
      osType: 'Linux',
      containers: [
        {
          name: 'server',
          image,
          resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
          environmentVariables: [
            { name: 'MODE', value: 'ranked' },
            { name: 'API_TOKEN', secureValue: FLEET_SECRET },
          ],
        },
      ],
      ...group,
    },
  };
}
