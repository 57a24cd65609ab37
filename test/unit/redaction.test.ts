// ACIDetails' redaction, checked against the REST spec: every property the Container Instance
// spec marks x-ms-secret (and the other secret material a container group holds) is set to a
// marker in a group shaped like the spec's published example, and none may survive `redact`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ContainerInstanceManagementClient, type ContainerGroup } from '@azure/arm-containerinstance';
import { redact } from '../../runtime/src/azure/containerGroups';
import { SECRET_PATHS } from '../../runtime/src/domain/core/secrets';
import { redactTemplate } from '../../runtime/src/domain/fleets/fleet';
import { fleetSpec } from '../../runtime/src/domain/fleets/requests';

interface SecretsFixture {
  apiVersion: string;
  'x-ms-secret': Array<{ property: string; inContainerGroup: string[] }>;
  alsoSecret: Array<{ what: string; inContainerGroup: string[] }>;
}
const fixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/containerInstanceSecrets.json'), 'utf8')) as SecretsFixture;
const secretPaths = [...fixture['x-ms-secret'], ...fixture.alsoSecret].flatMap((s) => s.inContainerGroup);

/**
 * The spec's ContainerGroupsCreateOrUpdate example (an Azure Files, an emptyDir and a secret
 * volume, Log Analytics diagnostics), in the SDK's flattened shape, with an init container, a
 * private registry and an extension added so every secret has a place.
 */
function exampleGroup(): ContainerGroup {
  return {
    location: 'westus',
    osType: 'Linux',
    containers: [
      {
        name: 'demo1',
        image: 'nginx',
        resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
        environmentVariables: [{ name: 'PLAIN', value: 'visible' }, { name: 'SECRET' }],
        volumeMounts: [{ name: 'volume1', mountPath: '/mnt/volume1' }],
      },
    ],
    initContainers: [{ name: 'init', image: 'busybox', environmentVariables: [{ name: 'INIT_SECRET' }] }],
    imageRegistryCredentials: [{ server: 'example.azurecr.io', username: 'puller' }],
    diagnostics: { logAnalytics: { workspaceId: 'workspaceid', workspaceKey: '', logType: 'ContainerInsights' } },
    volumes: [
      { name: 'volume1', azureFile: { shareName: 'shareName', storageAccountName: 'accountName' } },
      { name: 'volume2', emptyDir: {} },
      { name: 'volume3', secret: { secretKey1: '', secretKey2: '' } },
    ],
    extensions: [
      {
        name: 'kube-proxy',
        extensionType: 'kube-proxy',
        version: '1.0',
        settings: { clusterCidr: '10.240.0.0/16' },
        protectedSettings: { kubeConfig: '' },
      },
    ],
  };
}

/** Sets every place `path` names in `group` to a distinct marker; returns the markers set. */
function plant(group: unknown, path: string): string[] {
  const markers: string[] = [];
  const walk = (value: unknown, steps: string[]): void => {
    const [step, ...rest] = steps;
    if (step === undefined || value === null || typeof value !== 'object') return;
    const name = step.replace(/(\[\]|\{\})$/, '');
    const target = value as Record<string, unknown>;
    if (rest.length === 0 && !step.endsWith('[]') && !step.endsWith('{}')) {
      const marker = `SECRET-${path}-${markers.length}`;
      target[name] = marker;
      markers.push(marker);
      return;
    }
    const child = target[name];
    if (step.endsWith('[]')) for (const element of Array.isArray(child) ? child : []) walk(element, rest);
    else if (step.endsWith('{}') && child && typeof child === 'object') {
      for (const key of Object.keys(child)) {
        const marker = `SECRET-${path}-${markers.length}`;
        (child as Record<string, unknown>)[key] = marker;
        markers.push(marker);
      }
    } else walk(child, rest);
  };
  walk(group, path.split('.'));
  return markers;
}

describe('redact (ACIDetails)', () => {
  it('is checked against the api-version the SDK speaks', () => {
    const client = new ContainerInstanceManagementClient({ getToken: async () => null }, '00000000-0000-0000-0000-000000000000');
    assert.equal(client.apiVersion, fixture.apiVersion, 'a new api-version may mark new secrets: derive the fixture again from its spec');
  });

  it('redacts exactly the places the spec fixture lists', () => {
    assert.deepEqual([...SECRET_PATHS].sort(), [...secretPaths].sort());
  });

  for (const path of secretPaths) {
    it(`removes ${path}`, () => {
      const group = exampleGroup();
      const markers = plant(group, path);
      assert.ok(markers.length > 0, `the example has no place for ${path}`);
      const text = JSON.stringify(redact(group));
      for (const marker of markers) assert.ok(!text.includes(marker), `${marker} is in the details`);
    });
  }

  it('removes every one of them at once, and keeps what is not secret', () => {
    const group = exampleGroup();
    const markers = secretPaths.flatMap((p) => plant(group, p));
    group.volumes![3] = { name: 'repo', gitRepo: { repository: 'https://deploy:SECRET-token@example.com/game.git', revision: 'abc' } };
    const redacted = redact(group) as unknown as ContainerGroup;
    const text = JSON.stringify(redacted);
    for (const marker of [...markers, 'SECRET-token']) assert.ok(!text.includes(marker), marker);
    assert.equal(redacted.volumes?.[3]?.gitRepo?.repository, 'https://example.com/game.git', 'credentials in a git URL go, the URL stays');
    assert.equal(redacted.containers[0]?.environmentVariables?.[0]?.value, 'visible');
    assert.equal(redacted.volumes?.[0]?.azureFile?.storageAccountName, 'accountName');
    assert.deepEqual(Object.keys(redacted.volumes?.[2]?.secret ?? {}), ['secretKey1', 'secretKey2'], 'the file names stay');
    assert.equal(redacted.diagnostics?.logAnalytics?.workspaceId, 'workspaceid');
    assert.deepEqual(redacted.extensions?.[0]?.settings, { clusterCidr: '10.240.0.0/16' });
    assert.equal(JSON.stringify(group).includes(markers[0]!), true, 'the group given is left as it was');
  });
});

describe('redactTemplate (the fleets API: GET, LIST and PUT answers)', () => {
  const asTemplate = (group: ContainerGroup) => ({ resourceGroup: 'games', containerGroup: group }) as never;

  it('removes every secret ACIDetails removes, from the same list, and keeps what is not secret', () => {
    const group = exampleGroup();
    const markers = secretPaths.flatMap((p) => plant(group, p));
    group.volumes![3] = { name: 'repo', gitRepo: { repository: 'https://deploy:SECRET-token@example.com/game.git' } };
    const shown = redactTemplate(asTemplate(group));
    const text = JSON.stringify(shown);
    for (const marker of [...markers, 'SECRET-token']) assert.ok(!text.includes(marker), `${marker} is in the fleet's template`);
    assert.ok(text.includes('visible') && text.includes('accountName'));
    assert.ok(JSON.stringify(group).includes(markers[0]!), 'the stored template is left as it was');
  });

  it('refuses a template that sends any placeholder back, naming where', () => {
    const group = exampleGroup();
    group.imageRegistryCredentials![0]!.password = '<redacted>';
    group.volumes![2] = { name: 'volume3', secret: { key: '<redacted>' } };
    group.containers[0]!.environmentVariables = [{ name: 'K', secureValue: 'real' }];
    const parsed = fleetSpec.safeParse({ template: { resourceGroup: 'games', containerGroup: group } });
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error!.issues.map((i) => i.path.join('.')).sort(), [
      'template.containerGroup.imageRegistryCredentials.0.password',
      'template.containerGroup.volumes.2.secret.key',
    ]);
  });
});
