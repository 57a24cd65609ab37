// The stack file's fleets at preview: each body checked with the runtime's own rules for this
// stack (its container resource groups, its settings), every problem naming its key path and field,
// and what the app would refuse only later (more servers than FLEET_MAX_SERVERS, the settings'
// `default` fleet) refused too; the secrets split from what may be shown.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseConfig, readConfig } from '../../infra/config';
import { redactedBody } from '../../infra/fleetSpecs';
import { configRefusal } from './support/configRefusal';
import { gameContainer, minimalTemplate } from './support/fleetBodies';
import { stackFileConfig } from './support/recording';

const ctx = { project: 'aci-fleet', stack: 'dev' };

const template = minimalTemplate;
/** A template whose container has the one environment variable `name`, as a secure value. */
const withSecureValue = (name: string, secureValue: string) =>
  template({}, { containers: [gameContainer('example/game:2', { environmentVariables: [{ name, secureValue }] })] });

const raw = (fleets: unknown, extra: Record<string, string> = {}) => ({
  location: 'westeurope',
  containerResourceGroups: JSON.stringify(['servers-a', 'servers-b']),
  fleets: JSON.stringify(fleets),
  ...extra,
});

const problemsOf = (fleets: unknown, extra: Record<string, string> = {}) => configRefusal(raw(fleets, extra), ctx).problems;

describe('aci-fleet:fleets at preview', () => {
  it('takes a valid fleet as the stack file gives it, with its secrets split off', () => {
    const body = { template: withSecureValue('TOKEN', 'tok-123'), replicas: 3 };
    const config = parseConfig(raw({ game: body }), ctx);
    assert.deepEqual(Object.keys(config.fleets), ['game']);
    assert.deepEqual(config.fleets.game.body, body);
    assert.deepEqual(config.fleets.game.secrets, ['tok-123']);
    assert.ok(!JSON.stringify(config.fleets.game.shown).includes('tok-123'));
    assert.equal(config.fleetsSecret, false);
    assert.equal(parseConfig(raw({ game: body }), { ...ctx, secretKeys: ['fleets'] }).fleetsSecret, true);
    assert.deepEqual(parseConfig({ location: 'westeurope' }, ctx).fleets, {}, 'no fleets by default');
  });

  // [what, fleets, extra stack keys, the problem expected]
  const cases: Array<[string, unknown, Record<string, string>, RegExp]> = [
    ['a missing template', { game: { replicas: 1 } }, {}, /^aci-fleet:fleets\.game\.template: /],
    [
      'no containers',
      { game: { template: template({}, { containers: [] }) } },
      {},
      /^aci-fleet:fleets\.game\.template\.containerGroup\.containers: containers needs at least one container$/,
    ],
    [
      'a container without an image',
      {
        game: {
          template: template({}, { containers: [{ name: 'server', image: '', resources: { requests: { cpu: 1, memoryInGB: 1 } } }] }),
        },
      },
      {},
      /^aci-fleet:fleets\.game\.template\.containerGroup\.containers\[0\]\.image: image is required$/,
    ],
    [
      'negative replicas',
      { game: { template: template(), replicas: -1 } },
      {},
      /^aci-fleet:fleets\.game\.replicas: replicas cannot be negative$/,
    ],
    [
      'both replicas and an autoscaler',
      { game: { template: template(), replicas: 2, autoscaler: {} } },
      {},
      /^aci-fleet:fleets\.game\.autoscaler: give replicas or autoscaler, not both$/,
    ],
    [
      'a rollout that could never replace a server',
      { game: { template: template(), rollout: { maxSurge: 0, maxUnavailable: 0 } } },
      {},
      /^aci-fleet:fleets\.game\.rollout\.maxSurge: maxSurge and maxUnavailable cannot both be 0/,
    ],
    [
      'a resource group that is not the stack’s',
      { game: { template: template({ resourceGroup: 'elsewhere' }) } },
      {},
      /^aci-fleet:fleets\.game\.template\.resourceGroup: 'elsewhere' is not one of this fleet's resource groups \(FLEET_RESOURCE_GROUPS: servers-a, servers-b\)$/,
    ],
    [
      'a name that is not a valid key',
      { Game_1: { template: template() } },
      {},
      /^aci-fleet:fleets\.Game_1: a fleet name is 1-40 lowercase letters, digits or '-'/,
    ],
    ['a misspelt field', { game: { template: template(), replica: 2 } }, {}, /^aci-fleet:fleets\.game: Unrecognized key: "replica"$/],
    [
      "GET's placeholder as a secure value",
      { game: { template: withSecureValue('T', '<redacted>') } },
      {},
      /^aci-fleet:fleets\.game\.template\.containerGroup\.containers\[0\]\.environmentVariables\[0\]\.secureValue: send the secret itself/,
    ],
    [
      'more replicas than FLEET_MAX_SERVERS',
      { game: { template: template(), replicas: 11 } },
      { maxServers: '10' },
      /^aci-fleet:fleets\.game\.replicas: 11 is more servers than aci-fleet:maxServers \(FLEET_MAX_SERVERS: 10\) lets the app create$/,
    ],
    [
      'fleets that together need more than FLEET_MAX_SERVERS',
      { game: { template: template(), replicas: 6 }, lobby: { template: template(), replicas: 6 } },
      { maxServers: '10' },
      /^aci-fleet:fleets: the fleets keep at least 12 servers together \(game 6, lobby 6\), more than aci-fleet:maxServers \(FLEET_MAX_SERVERS: 10\)/,
    ],
    [
      "fleets that together with the default fleet's minimum need more than FLEET_MAX_SERVERS",
      {
        game: { template: template(), replicas: 6 },
        lobby: { template: template(), autoscaler: { minimumInstances: 3, maximumInstances: 10 } },
      },
      { maxServers: '10', autoscaler: JSON.stringify({ enabled: true, minimumInstances: 2, containerGroupTemplate: template() }) },
      /^aci-fleet:fleets: the fleets keep at least 11 servers together \(game 6, lobby 3, default \(autoscaler\.minimumInstances\) 2\)/,
    ],
    [
      'a rollout with no room to surge that may not drain first',
      { game: { template: template(), replicas: 10, rollout: { maxSurge: 1, maxUnavailable: 0 } } },
      { maxServers: '10' },
      /^aci-fleet:fleets\.game\.rollout: a rollout needs 10 \+ 1 \(maxSurge\) servers at once, more than aci-fleet:maxServers \(FLEET_MAX_SERVERS: 10\)/,
    ],
    [
      'an autoscaler allowed more servers than FLEET_MAX_SERVERS',
      { game: { template: template(), autoscaler: { maximumInstances: 50 } } },
      { maxServers: '20' },
      /^aci-fleet:fleets\.game\.autoscaler\.maximumInstances: 50 is more servers than aci-fleet:maxServers \(FLEET_MAX_SERVERS: 20\)/,
    ],
    [
      "an autoscaler minimum above the deployment's maximum (AUTOSCALER_* filling in)",
      { game: { template: template(), autoscaler: { minimumInstances: 8 } } },
      { autoscaler: JSON.stringify({ maximumInstances: 5 }) },
      /^aci-fleet:fleets\.game\.autoscaler\.minimumInstances: must not exceed maximumInstances \(8 > 5, AUTOSCALER_\* filling in\)$/,
    ],
    [
      'a body larger than PUT /api/fleets takes',
      { game: { template: template({}, { tags: Object.fromEntries(Array.from({ length: 700 }, (_, i) => [`t${i}`, 'v'.repeat(90)])) }) } },
      {},
      /^aci-fleet:fleets\.game: the body is \d+ bytes; PUT \/api\/fleets\/\{name\} takes at most 65536$/,
    ],
    ['fleets that are not a map', ['game'], {}, /^aci-fleet:fleets: must be a YAML map/],
    [
      'a fleet named default (the settings own it)',
      { default: { template: template() } },
      {},
      /^aci-fleet:fleets\.default: "default" is the fleet the app settings define .*give this fleet another name/,
    ],
  ];
  for (const [what, fleets, extra, expected] of cases) {
    it(`fails the preview on ${what}, naming the key path`, () => {
      const problems = problemsOf(fleets, extra);
      assert.ok(
        problems.some((p) => expected.test(p)),
        problems.join('\n'),
      );
    });
  }

  it('refuses a fleet named default also when the settings define that fleet (CONTAINER_GROUP_TEMPLATE)', () => {
    const problems = problemsOf(
      { default: { template: template() } },
      { autoscaler: JSON.stringify({ enabled: true, containerGroupTemplate: template() }) },
    );
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0], /^aci-fleet:fleets\.default: /);
  });

  it('takes a fleet that fills the ceiling when its rollout may drain first', () => {
    const fleets = { game: { template: template(), replicas: 10, rollout: { maxSurge: 0, maxUnavailable: 1 } } };
    assert.deepEqual(Object.keys(parseConfig(raw(fleets, { maxServers: '10' }), ctx).fleets), ['game']);
  });

  it('lists every problem of every fleet at once', () => {
    const problems = problemsOf({
      game: { template: template({ resourceGroup: 'elsewhere' }), replicas: -2 },
      lobby: { template: template({}, { containers: [] }) },
    });
    assert.deepEqual(problems.map((p) => p.split(':').slice(0, 2).join(':')).sort(), [
      'aci-fleet:fleets.game.replicas',
      'aci-fleet:fleets.game.template.resourceGroup',
      'aci-fleet:fleets.lobby.template.containerGroup.containers',
    ]);
  });

  it('finds the example fleet of the dev stack file valid', () => {
    const config = readConfig(stackFileConfig('dev'), 'aci-fleet', 'dev');
    assert.deepEqual(Object.keys(config.fleets), ['game']);
    assert.equal(config.fleets.game.body.replicas, 2);
  });
});

describe("what the fleets may ask of ACI's quota (fleetDemand)", () => {
  it("counts each sized fleet at its largest, with a rollout's surge, its cores and region; the default fleet too", () => {
    const twoCores = template(
      {},
      {
        location: 'North Europe',
        containers: [{ ...gameContainer('example/game:1'), resources: { requests: { cpu: 2, memoryInGB: 4 } } }],
      },
    );
    const config = parseConfig(
      raw(
        {
          auto: { template: twoCores, autoscaler: { minimumInstances: 2, maximumInstances: 20 } },
          fixed: { template: template(), replicas: 3, rollout: { maxSurge: 2, maxUnavailable: 0 } },
          spot: { template: template({}, { priority: 'Spot' }), replicas: 4, rollout: { maxSurge: 0, maxUnavailable: 1 } },
          'by-hand': { template: template() },
          gpu: {
            template: template(
              {},
              {
                containers: [
                  { ...gameContainer('example/ml:1'), resources: { requests: { cpu: 1, memoryInGB: 4, gpu: { count: 1, sku: 'V100' } } } },
                ],
              },
            ),
            replicas: 1,
            rollout: { maxSurge: 0, maxUnavailable: 1 },
          },
        },
        { autoscaler: JSON.stringify({ enabled: true, maximumInstances: 10, containerGroupTemplate: template() }) },
      ),
      ctx,
    );
    assert.deepEqual(
      [...config.fleetDemand].sort((a, b) => a.fleet.localeCompare(b.fleet)),
      [
        // maxSurge 25% of 20 is 5; 2 vCPUs each.
        { fleet: 'auto', location: 'northeurope', servers: 25, cores: 50, coresQuota: 'StandardCores' },
        { fleet: 'default', location: 'westeurope', servers: 13, cores: 13, coresQuota: 'StandardCores' },
        { fleet: 'fixed', location: 'westeurope', servers: 5, cores: 5, coresQuota: 'StandardCores' },
        { fleet: 'gpu', location: 'westeurope', servers: 1, cores: 1 },
        { fleet: 'spot', location: 'westeurope', servers: 4, cores: 4, coresQuota: 'StandardSpotCores' },
      ],
      'a fleet sized by hand asks for nothing the stack knows of',
    );
  });
});

describe('redactedBody', () => {
  it('replaces every secret of the template (the paths ACIDetails redacts) and returns their values', () => {
    const body = {
      replicas: 1,
      template: template(
        {},
        {
          containers: [
            {
              name: 'server',
              image: 'x',
              resources: { requests: { cpu: 1, memoryInGB: 1 } },
              environmentVariables: [
                { name: 'PLAIN', value: 'visible' },
                { name: 'S', secureValue: 'env-secret' },
              ],
            },
          ],
          imageRegistryCredentials: [{ server: 'r.azurecr.io', username: 'u', password: 'registry-secret' }],
          volumes: [
            { name: 'cfg', secret: { 'a.json': 'dm9sdW1lLXNlY3JldA==' } },
            { name: 'files', azureFile: { shareName: 's', storageAccountName: 'acct', storageAccountKey: 'account-key' } },
            { name: 'repo', gitRepo: { repository: 'https://user:git-token@example.com/r.git' } },
          ],
        },
      ),
    };
    const { shown, secrets } = redactedBody(body);
    assert.deepEqual(
      [...secrets].sort(),
      ['account-key', 'dm9sdW1lLXNlY3JldA==', 'env-secret', 'https://user:git-token@example.com/r.git', 'registry-secret'].sort(),
    );
    const text = JSON.stringify(shown);
    for (const s of ['env-secret', 'registry-secret', 'dm9sdW1lLXNlY3JldA==', 'account-key', 'git-token']) assert.ok(!text.includes(s), s);
    assert.ok(text.includes('visible') && text.includes('acct'), 'what is no secret stays readable');
    assert.equal(JSON.stringify(body).includes('env-secret'), true, 'the body itself is left as it was');
  });
});
