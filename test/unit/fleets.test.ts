// Fleets, pure parts: the body's schema (every bad-input case names its field), revisions (a
// changed template is a new one, the same body is not), the fleet autoscaler's bounds against the
// options table, allocation's "current revision first" rule, route parameters, and the copy of
// every fleet's revision.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bestCandidates, rankCandidates } from '../../runtime/src/domain/allocation/booking';
import { newFleet, redactTemplate, withLegacyHash, withSpec } from '../../runtime/src/domain/fleets/fleet';
import { fleetAutoscaler, fleetSpec, fleetSpecFor, MAX_FLEET_SPEC_CHARS } from '../../runtime/src/domain/fleets/requests';
import { CachedFleetRevisions } from '../../runtime/src/domain/fleets/revisions';
import { isOutdated } from '../../runtime/src/domain/servers/membership';
import { serverSpecHash, type ServerRecord } from '../../runtime/src/domain/servers/server';
import { compileRoute } from '../../runtime/src/functions/routes';
import { stableHash } from '../../runtime/src/domain/core/hash';
import { FleetService } from '../../runtime/src/domain/fleets/fleetService';
import { containerGroupTemplate } from '../../runtime/src/domain/servers/requests';
import { fleetOptionsFrom, OPTIONS, readSettings, type SettingName } from '../../runtime/src/options';
import { MemoryFleetStore, MemoryServerStore } from '../../tools/sim/memory';
import { ManualClock } from '../support/clock';
import { serverRecord } from '../support/records';

const NOW = new Date('2026-03-02T12:00:00Z');
const template = (image = 'example/game:1') => ({
  resourceGroup: 'games',
  containerGroup: {
    location: 'westeurope',
    osType: 'Linux',
    containers: [{ name: 'server', image, resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
  },
});
const pathsOf = (body: unknown, schema = fleetSpec) => {
  const r = schema.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

describe('fleetSpec', () => {
  it('accepts the body the issue describes, with sensible rollout defaults', () => {
    const spec = fleetSpec.parse({ template: template(), replicas: 3 });
    assert.deepEqual(spec.rollout, { maxSurge: '25%', maxUnavailable: 0 });
    assert.equal(spec.template.resourceGroup, 'games');
  });

  const bad: Array<[string, unknown, string]> = [
    ['a missing template', { replicas: 1 }, 'template'],
    [
      'no containers',
      { template: { ...template(), containerGroup: { ...template().containerGroup, containers: [] } } },
      'template.containerGroup.containers',
    ],
    [
      'a container without an image',
      { template: { ...template(), containerGroup: { ...template().containerGroup, containers: [{ name: 's' }] } } },
      'template.containerGroup.containers.0.image',
    ],
    ['negative replicas', { template: template(), replicas: -1 }, 'replicas'],
    ['fractional replicas', { template: template(), replicas: 1.5 }, 'replicas'],
    ['both replicas and autoscaler', { template: template(), replicas: 1, autoscaler: {} }, 'autoscaler'],
    ['maxSurge 0 and maxUnavailable 0', { template: template(), rollout: { maxSurge: 0, maxUnavailable: 0 } }, 'rollout.maxSurge'],
    ['"0%" and "0%"', { template: template(), rollout: { maxSurge: '0%', maxUnavailable: '0%' } }, 'rollout.maxSurge'],
    ['a surge that is not a count or a percentage', { template: template(), rollout: { maxSurge: 'many' } }, 'rollout.maxSurge'],
    ['an unknown rollout field', { template: template(), rollout: { maxSurge: 1, strategy: 'Recreate' } }, 'rollout'],
    ['an unknown autoscaler field', { template: template(), autoscaler: { minimum: 1 } }, 'autoscaler'],
    [
      'a minimum above the maximum',
      { template: template(), autoscaler: { minimumInstances: 5, maximumInstances: 2 } },
      'autoscaler.minimumInstances',
    ],
    [
      'a scale-in threshold above scale-out',
      { template: template(), autoscaler: { scaleInThreshold: 0.9, scaleOutThreshold: 0.8 } },
      'autoscaler.scaleInThreshold',
    ],
    ['a service level of 1', { template: template(), autoscaler: { policy: 'rate', serviceLevel: 1 } }, 'autoscaler.serviceLevel'],
    ['a service level of 0', { template: template(), autoscaler: { serviceLevel: 0 } }, 'autoscaler.serviceLevel'],
    ['a provisioning time of 0', { template: template(), autoscaler: { provisioningSeconds: 0 } }, 'autoscaler.provisioningSeconds'],
    ['a containerGroupName in the template', { template: { ...template(), containerGroupName: 'gs-1' } }, 'template'],
  ];
  for (const [what, body, path] of bad) {
    it(`refuses ${what}, naming ${path}`, () => assert.ok(pathsOf(body).includes(path), JSON.stringify(pathsOf(body))));
  }

  it('refuses a fleet too long to store once parsed, though its body was short (1e20 is stored as 21 digits)', () => {
    const grown = (n: number) => ({
      template: { ...template(), containerGroup: { ...template().containerGroup, dnsConfig: { big: Array(n).fill(1e20) } } },
    });
    const length = (n: number) => JSON.stringify(grown(n)).length;
    const fits = Math.floor((MAX_FLEET_SPEC_CHARS - length(0) - 100) / 22);
    assert.deepEqual(pathsOf(grown(fits)), []);
    assert.deepEqual(pathsOf(grown(fits + 200)), ['template']);
    assert.ok(length(fits + 200) > MAX_FLEET_SPEC_CHARS);
  });

  it("refuses a resource group outside the deployment's, in either spelling", () => {
    const within = fleetSpecFor(['Games', 'arena']);
    assert.deepEqual(pathsOf({ template: template() }, within), []);
    assert.deepEqual(pathsOf({ template: { ...template(), resourceGroup: 'elsewhere' } }, within), ['template.resourceGroup']);
  });

  it('mirrors the options table: each autoscaler field has its AUTOSCALER_* setting’s bounds', () => {
    const settingOf: Record<string, SettingName> = {
      minimumInstances: 'AUTOSCALER_MINIMUM_INSTANCES',
      maximumInstances: 'AUTOSCALER_MAXIMUM_INSTANCES',
      scaleOutThreshold: 'AUTOSCALER_SCALE_OUT_THRESHOLD',
      scaleInThreshold: 'AUTOSCALER_SCALE_IN_THRESHOLD',
      scaleOutCooldownSeconds: 'AUTOSCALER_SCALE_OUT_COOLDOWN_SECONDS',
      scaleInCooldownSeconds: 'AUTOSCALER_SCALE_IN_COOLDOWN_SECONDS',
      bufferSlots: 'AUTOSCALER_BUFFER_SLOTS',
      bufferPercent: 'AUTOSCALER_BUFFER_PERCENT',
      createQuota: 'AUTOSCALER_CREATE_QUOTA',
      createQuotaWindowSeconds: 'AUTOSCALER_CREATE_QUOTA_WINDOW_SECONDS',
      demandWindowSeconds: 'AUTOSCALER_DEMAND_WINDOW_SECONDS',
      serviceLevel: 'AUTOSCALER_SERVICE_LEVEL',
      provisioningSeconds: 'AUTOSCALER_PROVISIONING_SECONDS',
    };
    const fields = Object.keys(fleetAutoscaler.shape);
    assert.deepEqual(fields.filter((f) => f !== 'policy').sort(), Object.keys(settingOf).sort(), 'every field has its setting');
    const probes = [-1, 0, 0.5, 0.999, 1, 2, 94.5, 95, 96, 999, 1000, 1001, 3600, 86_400, 86_401, 100_000, 100_001];
    for (const [field, setting] of Object.entries(settingOf)) {
      for (const value of probes) {
        const asOption = OPTIONS[setting].kind.schema.safeParse(value).success;
        const asField = fleetAutoscaler.safeParse({ [field]: value }).success;
        assert.equal(asField, asOption, `${field} = ${value} (${setting})`);
      }
    }
    assert.ok(fleetAutoscaler.safeParse({ policy: 'threshold' }).success && !fleetAutoscaler.safeParse({ policy: 'seed' }).success);
    assert.ok(fleetAutoscaler.safeParse({ policy: 'rate' }).success);
  });
});

describe('revisions', () => {
  const fleet = newFleet('web', fleetSpec.parse({ template: template(), replicas: 3 }), NOW);
  const later = new Date(NOW.getTime() + 60_000);

  it('a changed template is a new revision; replicas alone are not; the same body (any key order) changes nothing', () => {
    assert.equal(withSpec(fleet, fleetSpec.parse({ replicas: 3, template: template() }), later), undefined);
    const scaled = withSpec(fleet, fleetSpec.parse({ template: template(), replicas: 5 }), later)!;
    assert.deepEqual([scaled.revision, scaled.spec.replicas, scaled.revisionAt], [1, 5, fleet.revisionAt]);
    const rebuilt = withSpec(scaled, fleetSpec.parse({ template: template('example/game:2'), replicas: 5 }), later)!;
    assert.deepEqual([rebuilt.revision, rebuilt.revisionAt], [2, later.toISOString()]);
  });

  it('is stable under key order and defaults, for any template', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(['template', 'replicas', 'rollout'], { minLength: 3 }), (order) => {
        const body: Record<string, unknown> = {};
        const parts: Record<string, unknown> = { template: template(), replicas: 3, rollout: { maxUnavailable: 0, maxSurge: '25%' } };
        for (const k of order) body[k] = parts[k];
        return withSpec(fleet, fleetSpec.parse(body), later) === undefined;
      }),
    );
  });

  it('keeps the revision of a template stored in an older canonical form (enum casing, region display name, defaults left out)', () => {
    // What a version before ARM enums were normalised stored: the template as given, and its hash.
    const given = {
      resourceGroup: 'games',
      containerGroup: {
        location: 'West Europe',
        osType: 'linux',
        containers: [{ name: 'server', image: 'example/game:1', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
        ipAddress: { ports: [{ port: 7777, protocol: 'udp' }] },
      },
    };
    const stored = { ...fleet, spec: { ...fleet.spec, template: given as never }, templateHash: stableHash(given) };
    const again = withSpec(stored, fleetSpec.parse({ template: given, replicas: 3 }), later);
    assert.equal(again?.revision ?? stored.revision, 1, 'the same template is the same revision');
    const changed = withSpec(stored, fleetSpec.parse({ template: { ...given, maxSessions: 3 }, replicas: 3 }), later);
    assert.equal(changed?.revision, 2, 'a real change still is a new one');
  });

  it('the default fleet keeps its revision across restarts and a row stored in an older canonical form', async () => {
    const store = new MemoryFleetStore();
    const settingsTemplate = containerGroupTemplate.parse({
      ...template(),
      containerGroup: { ...template().containerGroup, ipAddress: { ports: [{ port: 7777, protocol: 'udp' }] } },
    });
    const service = () =>
      new FleetService({
        store,
        serverStore: new MemoryServerStore(),
        servers: undefined as never,
        options: { ...fleetOptionsFrom(readSettings({})), defaultFleet: { template: settingsTemplate, autoscaled: false } },
        clock: new ManualClock(NOW),
      });
    assert.equal((await service().load('default'))?.value.revision, 1);
    assert.equal((await service().load('default'))?.value.revision, 1, 'a restart');
    const row = (await store.get('default'))!;
    const older = JSON.parse(JSON.stringify(row.value.spec.template).replace('"UDP"', '"udp"'));
    await store.replace({ ...row.value, spec: { ...row.value.spec, template: older }, templateHash: stableHash(older) }, row.etag);
    assert.equal((await service().load('default'))?.value.revision, 1, 'the upgrade that normalised enums');
  });

  it('remembers the spec hash of each revision’s servers for the default fleet (bounded)', () => {
    let f = withLegacyHash(fleet, 10);
    const hash1 = serverSpecHash(fleet.spec.template.containerGroup, 10);
    assert.equal(f.legacySpecHashes?.[hash1], 1);
    for (let i = 2; i <= 30; i++)
      f = withLegacyHash(withSpec(f, fleetSpec.parse({ template: template(`x:${i}`), replicas: 3 }), later)!, 10);
    assert.equal(Object.keys(f.legacySpecHashes!).length, 20);
    const legacy = serverRecord('old', { specHash: hash1 });
    assert.equal(isOutdated(legacy, { revision: 30, legacySpecHashes: { [hash1]: 1 } }), true);
    assert.equal(isOutdated(serverRecord('by-hand', { specHash: 'other' }), { revision: 30, legacySpecHashes: { [hash1]: 1 } }), false);
    // A server of an earlier fleet of the name: outdated whatever its revision (allocation ranks it last, ACIReport says so).
    const earlier = serverRecord('earlier', { fleet: 'web', revision: 30, fleetIncarnation: 'AAAAAAAAAAAAAAAA' });
    assert.equal(isOutdated(earlier, { revision: 30, incarnation: 'BBBBBBBBBBBBBBBB' }), true);
    assert.equal(isOutdated(earlier, { revision: 30, incarnation: 'AAAAAAAAAAAAAAAA' }), false);
    assert.equal(isOutdated(earlier, { revision: 30 }), false, 'a fleet row made before incarnations');
  });

  it('never shows a secure value', () => {
    const t = fleetSpec.parse({ template: template() }).template;
    t.containerGroup.containers[0]!.environmentVariables = [
      { name: 'K', secureValue: 's3cret' },
      { name: 'M', value: 'plain' },
    ];
    const shown = JSON.stringify(redactTemplate(t));
    assert.ok(!shown.includes('s3cret') && shown.includes('<redacted>') && shown.includes('plain'));
    assert.equal(t.containerGroup.containers[0]!.environmentVariables[0]!.secureValue, 's3cret', 'the stored one is untouched');
  });
});

describe('allocation: the current revision first', () => {
  const at = new Date(NOW);
  const rows = (...servers: ServerRecord[]) => servers.map((value, i) => ({ value, etag: String(i) }));
  const revisions = new Map([
    ['web', { revision: 2 }],
    ['other', { revision: 1 }],
  ]);
  const s = (name: string, fleet: string, revision: number, activeSessions: number) =>
    serverRecord(name, { fleet, revision, activeSessions, maxSessions: 4, createdAt: NOW.toISOString() });

  it('never books an old-revision server while a current one has room, even a fuller old one', () => {
    const ranked = rankCandidates(
      rows(s('old-full', 'web', 1, 3), s('new-empty', 'web', 2, 0)),
      { sessions: 1, fleet: 'web' },
      at,
      revisions,
    );
    assert.deepEqual(
      ranked.map((r) => r.value.containerGroupName),
      ['new-empty'],
    );
  });

  it('books an old-revision server when no current one has room, rather than none', () => {
    const ranked = rankCandidates(rows(s('old', 'web', 1, 1), s('new-full', 'web', 2, 4)), { sessions: 1, fleet: 'web' }, at, revisions);
    assert.deepEqual(
      ranked.map((r) => r.value.containerGroupName),
      ['old'],
    );
  });

  it('books only the fleet asked for; servers without a fleet are the default fleet’s', () => {
    const all = rows(s('w', 'web', 2, 0), s('o', 'other', 1, 0), serverRecord('legacy', { createdAt: NOW.toISOString() }));
    assert.deepEqual(
      rankCandidates(all, { sessions: 1, fleet: 'other' }, at, revisions).map((r) => r.value.containerGroupName),
      ['o'],
    );
    assert.deepEqual(
      rankCandidates(all, { sessions: 1, fleet: 'default' }, at, revisions).map((r) => r.value.containerGroupName),
      ['legacy'],
    );
  });

  it('for any fleet: the candidates tried are never outdated while a current one fits, and are rankCandidates’ head', () => {
    const server = fc.record({ revision: fc.integer({ min: 1, max: 2 }), sessions: fc.integer({ min: 0, max: 4 }) });
    fc.assert(
      fc.property(fc.array(server, { maxLength: 12 }), fc.integer({ min: 1, max: 3 }), (list, count) => {
        const all = rows(...list.map((x, i) => s(`s${i}`, 'web', x.revision, x.sessions)));
        const req = { sessions: 1, fleet: 'web' };
        const best = bestCandidates(all, req, at, count, revisions);
        assert.deepEqual(best, rankCandidates(all, req, at, revisions).slice(0, count));
        const currentFits = all.some((r) => r.value.revision === 2 && r.value.activeSessions < 4);
        if (currentFits) assert.ok(best.every((r) => r.value.revision === 2));
      }),
    );
  });
});

describe('route parameters', () => {
  it('hands the handler its parameters as the caller spelt them; literals match in any case', () => {
    const route = compileRoute('api/fleets/{name}');
    assert.deepEqual(route.match('/API/Fleets/Web'), { name: 'Web' });
    assert.equal(route.match('/api/fleets'), undefined);
    assert.equal(route.match('/api/fleets/a/b'), undefined);
    assert.deepEqual(compileRoute('files/{*rest}').match('/files/a/b'), { rest: 'a/b' });
    assert.equal(compileRoute('api/fleets/{name}').documentedPath, '/api/fleets/{name}');
  });
});

describe('CachedFleetRevisions', () => {
  it('reads once per max age, again after a revision made here or when asked for a read since a time', async () => {
    const store = new MemoryFleetStore();
    const clock = new ManualClock(NOW);
    let reads = 0;
    const counting = Object.assign(Object.create(store), {
      list: () => {
        reads++;
        return store.list();
      },
    }) as MemoryFleetStore;
    const cache = new CachedFleetRevisions(counting, 1000, clock);
    await store.insert(newFleet('web', fleetSpec.parse({ template: template() }), NOW));
    assert.equal((await cache.current()).get('web')?.revision, 1);
    await cache.current();
    assert.equal(reads, 1);
    cache.invalidate();
    await cache.current();
    assert.equal(reads, 2);
    clock.advance(1001);
    await cache.current();
    assert.equal(reads, 3);
    await cache.current(clock.now().getTime() + 1);
    assert.equal(reads, 4, 'a read since a later time reads again');
  });

  it('keeps the last copy when the store fails, so a booking never fails for it', async () => {
    const store = new MemoryFleetStore();
    await store.insert(newFleet('web', fleetSpec.parse({ template: template() }), NOW));
    let failing = false;
    const flaky = Object.assign(Object.create(store), {
      list: () => (failing ? Promise.reject(new Error('storage down')) : store.list()),
    }) as MemoryFleetStore;
    const cache = new CachedFleetRevisions(flaky, 0, new ManualClock(NOW));
    assert.equal((await cache.current()).size, 1);
    failing = true;
    assert.equal((await cache.current()).get('web')?.revision, 1);
  });
});
