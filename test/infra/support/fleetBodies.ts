// Fleet templates for the stack tests: the least one holds (config, program), and a fleet's with
// a secure environment variable holding FLEET_SECRET (program, provider, local fleet).

export const FLEET_SECRET = 'env-s3cret-value';

/** The one container of a template: `image`, 1 CPU and 1.5 GB; `extra` adds fields. */
export const gameContainer = (image: string, extra: Record<string, unknown> = {}) => ({
  name: 'server',
  image,
  resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
  ...extra,
});

/**
 * An ACICreate body without containerGroupName: one container of example/game:1 in servers-a.
 * `over` replaces its fields, `group` its container group's.
 */
export function minimalTemplate(over: Record<string, unknown> = {}, group: Record<string, unknown> = {}) {
  return {
    resourceGroup: 'servers-a',
    maxSessions: 8,
    containerGroup: { location: 'westeurope', osType: 'Linux', containers: [gameContainer('example/game:1')], ...group },
    ...over,
  };
}

export function fleetTemplate(image: string, resourceGroup: string, group: Record<string, unknown> = {}) {
  const environmentVariables = [
    { name: 'MODE', value: 'ranked' },
    { name: 'API_TOKEN', secureValue: FLEET_SECRET },
  ];
  return minimalTemplate({ resourceGroup }, { containers: [gameContainer(image, { environmentVariables })], ...group });
}
