import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetError } from '../../runtime/src/domain/core/errors';
import { containerGroupOf } from '../../runtime/src/domain/servers/armEvents';
import {
  createRequest,
  MAX_IMAGE_CHARS,
  REFUSED_PROPERTIES,
  setSessionsRequest,
  setStateRequest,
} from '../../runtime/src/domain/servers/requests';
import { allocateRequest } from '../../runtime/src/domain/allocation/request';
import { MAX_ERROR_DETAILS, parseRequest } from '../../runtime/src/domain/core/validation';
import { stableHash } from '../../runtime/src/domain/core/hash';
import { createBody } from '../support/localFleet';

function failure(fn: () => unknown): FleetError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FleetError) return e;
    throw e;
  }
  assert.fail('expected a validation error');
}

describe('request validation', () => {
  it('accepts the seed-shaped create body and lower-cases the resource group', () => {
    const parsed = parseRequest(createRequest, createBody('gs-1', {}, 'Games'));
    assert.equal(parsed.resourceGroup, 'games');
    assert.equal(parsed.containerGroup!.containers[0]!.image, 'ghcr.io/example/game-server:1.0');
  });

  const badNames = ['-gs', 'gs-', 'g--s', 'GS1', 'a'.repeat(64), '', 'gs_1', 'gs.1'];
  for (const name of badNames) {
    it(`rejects the container group name ${JSON.stringify(name)} as ARM would`, () => {
      const e = failure(() => parseRequest(createRequest, createBody(name)));
      assert.equal(e.status, 400);
      assert.ok((e.details as Array<{ path: string }>).some((d) => d.path === 'containerGroupName'));
    });
  }

  it('takes resource group names in any script, as ARM does (letters and digits by Char.IsLetterOrDigit), kept lower-case', () => {
    assert.equal(parseRequest(createRequest, createBody('gs-1', {}, 'Spiele-München')).resourceGroup, 'spiele-münchen');
    assert.equal(parseRequest(createRequest, createBody('gs-1', {}, 'ゲーム(1)')).resourceGroup, 'ゲーム(1)');
    // Refused as ARM refuses them, or because their lower-case spelling is another name to ARM
    // (İ lower-cases to i + U+0307, the Kelvin sign to k), or a letter outside the BMP (𝒜, which
    // .NET's Char.IsLetterOrDigit never takes).
    for (const bad of ['games🎮', 'spiele münchen', 'games.', 'ü'.repeat(91), 'a/b', 'İstanbul-games', '\u212Aelvin', '𝒜games']) {
      const e = failure(() => parseRequest(createRequest, createBody('gs-1', {}, bad)));
      assert.equal((e.details as Array<{ path: string }>)[0]!.path, 'resourceGroup', bad);
    }
  });

  it('names the missing field of a container', () => {
    const body = createBody('gs-1');
    delete (body.containerGroup.containers[0] as Record<string, unknown>).image;
    const e = failure(() => parseRequest(createRequest, body));
    assert.ok(
      (e.details as Array<{ path: string }>).some((d) => d.path === 'containerGroup.containers[0].image'),
      JSON.stringify(e.details),
    );
  });

  it('rejects two containers with the same name', () => {
    const body = createBody('gs-1');
    body.containerGroup.containers.push({ ...body.containerGroup.containers[0]! });
    const e = failure(() => parseRequest(createRequest, body));
    assert.match(e.message, /used twice/);
  });

  for (const activeSessions of [-1, 1.5, '3', null]) {
    it(`rejects activeSessions ${JSON.stringify(activeSessions)}`, () => {
      const e = failure(() => parseRequest(setSessionsRequest, [{ resourceGroup: 'g', containerGroupName: 'a', activeSessions }]));
      assert.equal(e.code, 'ValidationFailed');
      assert.equal((e.details as Array<{ path: string }>)[0]!.path, '[0].activeSessions');
    });
  }

  it('rejects the same server twice in one session batch', () => {
    const report = { resourceGroup: 'g', containerGroupName: 'a', activeSessions: 1 };
    const e = failure(() => parseRequest(setSessionsRequest, [report, report]));
    assert.match(e.message, /twice/);
  });

  // z.number({error}) gives every failure the one message, so 10001 was "must be a number".
  const outOfRange: Array<[string, () => unknown, RegExp]> = [
    [
      'activeSessions',
      () => parseRequest(setSessionsRequest, [{ resourceGroup: 'g', containerGroupName: 'a', activeSessions: 2_000_000 }]),
      /activeSessions must be at most 1000000/,
    ],
    ['sessions', () => parseRequest(allocateRequest, { sessions: 10_001 }), /sessions must be at most 10000/],
    ['maxSessions', () => parseRequest(createRequest, createBody('gs-1', { maxSessions: 0 })), /maxSessions must be at least 1/],
  ];
  for (const [field, parse, message] of outOfRange) {
    it(`says ${field} is out of range, not that it is not a number`, () => {
      const e = failure(parse);
      assert.match(e.message, message);
      assert.doesNotMatch(e.message, /must be a number/);
    });
  }

  it('lists at most MAX_ERROR_DETAILS problems, and counts the rest', () => {
    const report = { resourceGroup: 'g', containerGroupName: 'a', activeSessions: 1 };
    const e = failure(() =>
      parseRequest(
        setSessionsRequest,
        Array.from({ length: 5_000 }, () => report),
      ),
    );
    const details = e.details as Array<{ path: string; message: string }>;
    assert.equal(details.length, MAX_ERROR_DETAILS + 1);
    assert.match(details.at(-1)!.message, new RegExp(`and ${4_999 - MAX_ERROR_DETAILS} more`));
    assert.ok(JSON.stringify(e.details).length < 10_000);
  });

  it('refuses an image reference longer than any registry takes, which would not fit in the table row', () => {
    const body = createBody('gs-1');
    body.containerGroup.containers[0]!.image = `registry.example.com/${'a'.repeat(MAX_IMAGE_CHARS)}`;
    const e = failure(() => parseRequest(createRequest, body));
    assert.equal((e.details as Array<{ path: string }>)[0]!.path, 'containerGroup.containers[0].image');
    assert.match(e.message, /at most 1024 characters/);
    body.containerGroup.containers[0]!.image = `registry.example.com/${'a'.repeat(255)}:${'t'.repeat(128)}@sha256:${'0'.repeat(64)}`;
    assert.equal(parseRequest(createRequest, body).containerGroup!.containers[0]!.image, body.containerGroup.containers[0]!.image);
  });

  it('allows only the operator states in ACISetState', () => {
    for (const state of ['MarkedForDeletion', 'Failed', 'Running']) {
      assert.equal(parseRequest(setStateRequest, { resourceGroup: 'g', containerGroupName: 'a', state }).state, state);
    }
    for (const state of ['Creating', 'Deleting', 'running', 1]) {
      assert.equal(failure(() => parseRequest(setStateRequest, { resourceGroup: 'g', containerGroupName: 'a', state })).status, 400);
    }
  });
});

describe("ARM's enums and names, as the original clients sent them", () => {
  /** A create body with every ARM enum of the container group spec spelled as `spell` says. */
  const spelled = (spell: (canonical: string) => string) =>
    createBody('gs-1', {
      containerGroup: {
        location: 'westeurope',
        osType: spell('Linux'),
        restartPolicy: spell('OnFailure'),
        sku: spell('Standard'),
        priority: spell('Regular'),
        diagnostics: { logAnalytics: { workspaceId: 'w', logType: spell('ContainerInstanceLogs') } },
        containers: [
          {
            name: 'server',
            image: 'ghcr.io/example/game-server:1.0',
            resources: { requests: { cpu: 1, memoryInGB: 1.5, gpu: { count: 1, sku: spell('V100') } } },
            ports: [{ port: 27015, protocol: spell('UDP') }],
            livenessProbe: { httpGet: { path: '/', port: 80, scheme: spell('https') } },
          },
        ],
        ipAddress: {
          type: spell('Public'),
          ports: [{ port: 27015, protocol: spell('UDP') }],
          autoGeneratedDomainNameLabelScope: spell('TenantReuse'),
        },
      },
    });
  const canonical = parseRequest(
    createRequest,
    spelled((v) => v),
  );

  for (const [casing, spell] of [
    ['lower case', (v: string) => v.toLowerCase()],
    ['upper case', (v: string) => v.toUpperCase()],
    ['mixed case', (v: string) => [...v].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('')],
  ] as const) {
    it(`accepts every enum in ${casing}, spelled as ARM does, so the spec hash is the same`, () => {
      const parsed = parseRequest(createRequest, spelled(spell));
      assert.deepEqual(parsed, canonical);
      assert.equal(stableHash(parsed), stableHash(canonical));
    });
  }

  it('keeps the canonical spelling of every enum', () => {
    const g = canonical.containerGroup as Record<string, any>;
    assert.deepEqual(
      [g.osType, g.restartPolicy, g.sku, g.priority, g.diagnostics.logAnalytics.logType, g.ipAddress.type],
      ['Linux', 'OnFailure', 'Standard', 'Regular', 'ContainerInstanceLogs', 'Public'],
    );
    const c = g.containers[0];
    assert.deepEqual(
      [c.ports[0].protocol, c.resources.requests.gpu.sku, c.livenessProbe.httpGet.scheme, g.ipAddress.autoGeneratedDomainNameLabelScope],
      ['UDP', 'V100', 'https', 'TenantReuse'],
    );
  });

  for (const [field, body] of [
    ['containerGroup.osType', { osType: 'Plan9' }],
    ['containerGroup.sku', { sku: 'Premium' }],
    ['containerGroup.ipAddress.ports[0].protocol', { ipAddress: { ports: [{ port: 1, protocol: 'SCTP' }] } }],
  ] as const) {
    it(`refuses a value of ${field} that ARM does not have, naming the allowed ones`, () => {
      const base = createBody('gs-1');
      const e = failure(() => parseRequest(createRequest, { ...base, containerGroup: { ...base.containerGroup, ...body } }));
      const detail = (e.details as Array<{ path: string; message: string }>).find((d) => d.path === field);
      assert.ok(detail, JSON.stringify(e.details));
      assert.match(detail.message, /must be one of .* \(in any casing\)/);
    });
  }

  it("reads a region's display name as its name, as ARM does", () => {
    for (const location of ['West Europe', 'west europe', 'WESTEUROPE', 'westeurope']) {
      const base = createBody('gs-1');
      const parsed = parseRequest(createRequest, { ...base, containerGroup: { ...base.containerGroup, location } });
      assert.equal(parsed.containerGroup!.location, 'westeurope', location);
      assert.equal(parseRequest(allocateRequest, { location }).location, 'westeurope', location);
    }
  });

  it('passes through the ARM properties it does not check (GPU requests, limits, volumes, dnsConfig)', () => {
    const base = createBody('gs-1');
    const container = {
      ...base.containerGroup.containers[0]!,
      resources: { requests: { cpu: 1, memoryInGB: 1, gpu: { count: 1, sku: 'K80' } }, limits: { cpu: 2 } },
    };
    const group = {
      ...base.containerGroup,
      containers: [container],
      dnsConfig: { nameServers: ['1.1.1.1'] },
      volumes: [{ name: 'v', emptyDir: {} }],
    };
    const parsed = parseRequest(createRequest, { ...base, containerGroup: group }).containerGroup as Record<string, any>;
    assert.deepEqual(parsed.containers[0].resources, container.resources);
    assert.deepEqual(parsed.dnsConfig, group.dnsConfig);
    assert.deepEqual(parsed.volumes, group.volumes);
  });

  for (const [property, value] of [
    ['identity', { type: 'SystemAssigned' }],
    ['subnetIds', [{ id: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/s' }]],
  ] as const) {
    it(`refuses ${property} with a 400 that says which Azure right it needs and what to do instead`, () => {
      const base = createBody('gs-1');
      const e = failure(() => parseRequest(createRequest, { ...base, containerGroup: { ...base.containerGroup, [property]: value } }));
      assert.equal(e.status, 400);
      const details = e.details as Array<{ path: string; message: string }>;
      assert.deepEqual(details, [{ path: `containerGroup.${property}`, message: REFUSED_PROPERTIES[property] }]);
      assert.match(details[0]!.message, property === 'identity' ? /userAssignedIdentities\/assign\/action/ : /subnets\/join\/action/);
      assert.match(details[0]!.message, /Remove /);
    });
  }

  it('accepts an empty subnetIds, which names no subnet', () => {
    const base = createBody('gs-1');
    assert.doesNotThrow(() => parseRequest(createRequest, { ...base, containerGroup: { ...base.containerGroup, subnetIds: [] } }));
  });
});

describe('containerGroupOf (Event Grid subject)', () => {
  it('reads the server from data.resourceUri whatever the casing of resourceGroups', () => {
    for (const segment of ['resourceGroups', 'resourcegroups', 'RESOURCEGROUPS']) {
      const uri = `/subscriptions/s/${segment}/Games/providers/Microsoft.ContainerInstance/containerGroups/gs-1`;
      assert.deepEqual(containerGroupOf({ data: { resourceUri: uri } }), { resourceGroup: 'games', containerGroupName: 'gs-1' });
    }
  });

  it('ignores events about other resources', () => {
    assert.equal(
      containerGroupOf({ subject: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/x' }),
      undefined,
    );
    assert.equal(containerGroupOf({}), undefined);
  });
});

describe('stableHash', () => {
  it('ignores key order but not values', () => {
    assert.equal(stableHash({ a: 1, b: { c: 2, d: 3 } }), stableHash({ b: { d: 3, c: 2 }, a: 1 }));
    assert.notEqual(stableHash({ a: 1 }), stableHash({ a: 2 }));
  });
});
