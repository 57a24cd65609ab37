// ACIDetails through the whole stack: a server created from the Container Instance spec's
// published example (Azure Files, secret volume, Log Analytics), with a private registry, an
// init container and an extension, never has a secret of it come back, whatever ARM returns.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createBody, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet();
});
after(() => fleet?.stop());

/** Every secret value planted in the request; none may appear in ACIDetails' answer. */
const SECRETS = {
  secureValue: 'secret-env-1f3a',
  initSecureValue: 'secret-init-env-77b2',
  registryPassword: 'secret-registry-9c0d',
  workspaceKey: 'secret-workspace-key-51e8',
  workspaceResourceId:
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/microsoft.operationalinsights/workspaces/secret-ws-3d2c',
  storageAccountKey: 'secret-account-key-a4f6',
  secretFile1: 'c2VjcmV0LWZpbGUtb25lLTYyYjA=',
  secretFile2: 'c2VjcmV0LWZpbGUtdHdvLTBlOWE=',
  protectedSetting: 'secret-kubeconfig-8d1e',
  gitToken: 'secret-git-token-4b7f',
};

function exampleBody(name: string) {
  const body = createBody(name);
  const container = body.containerGroup.containers[0]!;
  return {
    ...body,
    containerGroup: {
      ...body.containerGroup,
      containers: [
        {
          ...container,
          environmentVariables: [
            { name: 'PLAIN', value: 'visible' },
            { name: 'API_SECRET', secureValue: SECRETS.secureValue },
          ],
          volumeMounts: [
            { name: 'volume1', mountPath: '/mnt/volume1', readOnly: false },
            { name: 'volume2', mountPath: '/mnt/volume2', readOnly: false },
            { name: 'volume3', mountPath: '/mnt/volume3', readOnly: true },
          ],
        },
      ],
      initContainers: [
        { name: 'init', image: 'busybox', environmentVariables: [{ name: 'INIT_SECRET', secureValue: SECRETS.initSecureValue }] },
      ],
      imageRegistryCredentials: [{ server: 'example.azurecr.io', username: 'puller', password: SECRETS.registryPassword }],
      diagnostics: {
        logAnalytics: {
          logType: 'ContainerInsights',
          metadata: { 'test-key': 'test-metadata-value' },
          workspaceId: 'workspaceid',
          workspaceKey: SECRETS.workspaceKey,
          workspaceResourceId: SECRETS.workspaceResourceId,
        },
      },
      volumes: [
        {
          name: 'volume1',
          azureFile: { shareName: 'shareName', storageAccountKey: SECRETS.storageAccountKey, storageAccountName: 'accountName' },
        },
        { name: 'volume2', emptyDir: {} },
        { name: 'volume3', secret: { secretKey1: SECRETS.secretFile1, secretKey2: SECRETS.secretFile2 } },
        { name: 'volume4', gitRepo: { repository: `https://deploy:${SECRETS.gitToken}@example.com/game.git` } },
      ],
      extensions: [
        {
          name: 'kube-proxy',
          extensionType: 'kube-proxy',
          version: '1.0',
          settings: { clusterCidr: '10.240.0.0/16' },
          protectedSettings: { kubeConfig: SECRETS.protectedSetting },
        },
      ],
    },
  };
}

describe('ACIDetails redaction', () => {
  it('returns none of the secrets of a group made from the spec example, and the rest of it', async () => {
    const key = { resourceGroup: 'games', containerGroupName: 'gs-secrets' };
    assert.equal((await call(fleet, 'ACICreate', exampleBody(key.containerGroupName))).status, 202);
    await eventually(async () => (await fleet.services.store.get(key))?.value.state === 'Running', 'Running');
    const details = await call(fleet, 'ACIDetails', key);
    assert.equal(details.status, 200);
    const text = JSON.stringify(details.body);
    for (const [what, secret] of Object.entries(SECRETS)) assert.ok(!text.includes(secret), `${what} is in the details`);
    // What is not secret is still there to inspect.
    assert.equal(details.body.volumes[0].azureFile.storageAccountName, 'accountName');
    assert.equal(typeof details.body.volumes[2].secret, 'object', 'the secret volume is there (its contents are not)');
    assert.equal(details.body.diagnostics.logAnalytics.workspaceId, 'workspaceid');
    assert.equal(details.body.volumes[3].gitRepo.repository, 'https://example.com/game.git');
  });
});
