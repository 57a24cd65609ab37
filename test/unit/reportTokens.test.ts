// Per-server report tokens: a token names exactly one server, and only the fleet's secrets sign it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetError } from '../../runtime/src/domain/core/errors';
import { reportVariables, signReportToken, tokenFromRequest, verifyReportToken } from '../../runtime/src/domain/reports/tokens';
import { ServerReports } from '../../runtime/src/domain/reports/serverReports';
import type { ServerOptions } from '../../runtime/src/domain/servers/serverService';
import { readSettings } from '../../runtime/src/options';

const secret = `${'a'.repeat(32)}-current`;
const previous = `${'b'.repeat(32)}-previous`;
const a = { resourceGroup: 'games', containerGroupName: 'gs-a' };
const b = { resourceGroup: 'games', containerGroupName: 'gs-b' };

describe('report tokens', () => {
  it('verifies to the server it was signed for', () => {
    assert.deepEqual(verifyReportToken(signReportToken(a, secret), [secret]), a);
    assert.deepEqual(verifyReportToken(signReportToken(b, secret), [secret]), b);
  });

  it('verifies for a resource group named in any script, even the longest of 3-byte letters', () => {
    for (const resourceGroup of ['spiele-münchen', 'ゲーム', 'ゲ'.repeat(90)]) {
      const id = { resourceGroup, containerGroupName: 'g'.repeat(63), incarnation: 'AbCdEfGh_-012345' };
      assert.deepEqual(verifyReportToken(signReportToken(id, secret), [secret]), id, resourceGroup);
    }
  });

  it('gives different servers different tokens', () => {
    assert.notEqual(signReportToken(a, secret), signReportToken(b, secret));
  });

  it('refuses a token whose server was swapped for another (the MAC covers the name)', () => {
    const [version, , mac] = signReportToken(a, secret).split('.');
    const forged = `${version}.${Buffer.from('games/gs-b').toString('base64url')}.${mac}`;
    assert.equal(verifyReportToken(forged, [secret]), undefined);
  });

  it('refuses a token signed with a secret the fleet no longer has, and accepts the previous one during a rotation', () => {
    const old = signReportToken(a, previous);
    assert.equal(verifyReportToken(old, [secret]), undefined);
    assert.deepEqual(verifyReportToken(old, [secret, previous]), a);
  });

  const malformed: Array<[string, string]> = [
    ['empty', ''],
    ['no dots', 'abc'],
    ['wrong version', signReportToken(a, secret).replace(/^v1\./, 'v2.')],
    ['extra part', `${signReportToken(a, secret)}.x`],
    ['truncated MAC', signReportToken(a, secret).slice(0, -4)],
    ['empty MAC', `v1.${Buffer.from('games/gs-a').toString('base64url')}.`],
    ['id without a slash', `v1.${Buffer.from('gamesgs-a').toString('base64url')}.AAAA`],
    ['id with two slashes', `v1.${Buffer.from('games/gs-a/x').toString('base64url')}.AAAA`],
    ['upper-case resource group', signReportToken({ resourceGroup: 'Games', containerGroupName: 'gs-a' }, secret)],
    ['invalid container group name', signReportToken({ resourceGroup: 'games', containerGroupName: 'GS_A' }, secret)],
  ];
  for (const [what, token] of malformed) {
    it(`refuses a malformed token: ${what}`, () => assert.equal(verifyReportToken(token, [secret]), undefined));
  }

  it('refuses everything when no secret is configured', () => {
    assert.equal(verifyReportToken(signReportToken(a, secret), []), undefined);
  });

  it('gives a container its report URL, token and a seed-compatible URL carrying the token, all as secure values', () => {
    const vars = reportVariables(a, { url: 'https://fleet.example/api/ACIReport', secret });
    const byName = Object.fromEntries(vars.map((v) => [v.name, v]));
    assert.deepEqual(Object.keys(byName).sort(), ['ACI_REPORT_TOKEN', 'ACI_REPORT_URL', 'ACI_SET_SESSIONS_URL']);
    assert.ok(vars.every((v) => 'secureValue' in v && !('value' in v)));
    assert.equal(byName.ACI_REPORT_URL!.secureValue, 'https://fleet.example/api/ACIReport');
    const legacy = new URL(byName.ACI_SET_SESSIONS_URL!.secureValue);
    assert.equal(legacy.pathname, '/api/ACIReport');
    assert.deepEqual(verifyReportToken(legacy.searchParams.get('token')!, [secret]), a);
    assert.deepEqual(verifyReportToken(byName.ACI_REPORT_TOKEN!.secureValue, [secret]), a);
  });

  it('reads the token from a Bearer header first, then from ?token=', () => {
    assert.equal(tokenFromRequest('Bearer abc', 'def'), 'abc');
    assert.equal(tokenFromRequest('bearer   abc ', null), 'abc');
    assert.equal(tokenFromRequest('Basic abc', 'def'), 'def');
    assert.equal(tokenFromRequest(null, ''), undefined);
    assert.equal(tokenFromRequest(undefined, undefined), undefined);
  });
});

describe('report tokens bound to an incarnation (v2)', () => {
  const first = { ...a, incarnation: 'AAAAAAAAAAAAAAAA' };
  const second = { ...a, incarnation: 'BBBBBBBBBBBBBBBB' };

  it('verifies to the server and the incarnation it was signed for', () => {
    assert.deepEqual(verifyReportToken(signReportToken(first, secret), [secret]), first);
    assert.match(signReportToken(first, secret), /^v2\./);
  });

  it('gives two incarnations of one name different tokens, and the MAC covers the incarnation', () => {
    const token = signReportToken(first, secret);
    assert.notEqual(token, signReportToken(second, secret));
    const [v, id, , mac] = token.split('.');
    assert.equal(verifyReportToken(`${v}.${id}.${second.incarnation}.${mac}`, [secret]), undefined);
  });

  it('is accepted with the previous secret during a rotation', () => {
    assert.deepEqual(verifyReportToken(signReportToken(first, previous), [secret, previous]), first);
    assert.equal(verifyReportToken(signReportToken(first, previous), [secret]), undefined);
  });

  /** A v2 token whose MAC (base64url) has a character base64 would write differently ('-' or '_'). */
  const withUrlSafeChars = () => {
    for (let i = 0; ; i++) {
      const token = signReportToken({ ...a, incarnation: `${String(i).padStart(16, 'x')}`.slice(-16) }, secret);
      if (/[-_]/.test(token.split('.')[3]!)) return token;
    }
  };
  const token = signReportToken(first, secret);
  const [v, id, incarnation, mac] = token.split('.') as [string, string, string, string];
  // 32 bytes are 43 base64url characters; the last one carries 2 unused bits, so 4 spellings decode alike.
  const last = mac.at(-1)!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
  const nonCanonical: Array<[string, () => string]> = [
    ['a padded MAC', () => `${token}=`],
    ['a MAC in base64 rather than base64url', () => withUrlSafeChars().replace(/-/g, '+').replace(/_/g, '/')],
    ['a MAC whose unused bits are set', () => `${v}.${id}.${incarnation}.${mac.slice(0, -1)}${sibling}`],
    ['a padded server id', () => `${v}.${id}==.${incarnation}.${mac}`],
    ['a server id with a space', () => `${v}.${id.slice(0, 2)} ${id.slice(2)}.${incarnation}.${mac}`],
    ['an incarnation of the wrong length', () => `${v}.${id}.${incarnation}A.${mac}`],
    ['an incarnation with a dot-free but foreign character', () => `${v}.${id}.${incarnation.slice(0, -1)}*.${mac}`],
    ['upper-case version', () => token.replace(/^v2/, 'V2')],
  ];
  for (const [what, make] of nonCanonical) {
    it(`refuses ${what} (only the canonical encoding is accepted)`, () => {
      const variant = make();
      assert.notEqual(variant, token);
      assert.deepEqual(verifyReportToken(token, [secret]), first, 'the canonical token itself verifies');
      assert.equal(verifyReportToken(variant, [secret]), undefined);
    });
  }

  it('refuses a padded MAC on a v1 token too (servers created before incarnations hold those)', () => {
    const legacy = signReportToken(a, secret);
    assert.deepEqual(verifyReportToken(legacy, [secret]), a);
    assert.equal(verifyReportToken(`${legacy}=`, [secret]), undefined);
  });
});

describe('ServerReports.authenticate', () => {
  const options: ServerOptions = { fleetName: 'f', defaultMaxSessions: 10, allowedResourceGroups: [], writeAttempts: 3 };
  // authenticate() touches neither the store nor the fleet.
  const reports = (secrets: string[]) => new ServerReports({ store: undefined as never, options, secrets });
  const codeOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof FleetError);
      return [e.code, e.status];
    }
    return undefined;
  };

  it("answers 503 ReportingNotConfigured when no secret is set (a deployment fault, not the caller's)", () => {
    assert.deepEqual(
      codeOf(() => reports([]).authenticate(signReportToken(a, secret))),
      ['ReportingNotConfigured', 503],
    );
  });

  it('answers 401 for a missing token (as for a missing function key) and for a bad one (invalid_token), and names the server for a good one', () => {
    assert.deepEqual(
      codeOf(() => reports([secret]).authenticate(undefined)),
      ['Unauthorized', 401],
    );
    assert.deepEqual(
      codeOf(() => reports([secret]).authenticate('')),
      ['Unauthorized', 401],
    );
    assert.deepEqual(
      codeOf(() => reports([secret]).authenticate('v1.x.y')),
      ['Unauthorized', 401],
    );
    assert.deepEqual(reports([secret, previous]).authenticate(signReportToken(b, previous)), b);
  });
});

describe('the report-token secret settings', () => {
  // On Azure they are Key Vault references; the platform leaves one it cannot resolve as its text.
  const unresolved = '@Microsoft.KeyVault(SecretUri=https://kv-fleet.vault.azure.net/secrets/report-token-a/0123456789abcdef)';
  const base = { FLEET_RESOURCE_GROUPS: 'games' };
  const cases: Array<[string, Record<string, string>, boolean]> = [
    ['a resolved secret', { REPORT_TOKEN_SECRET: secret }, true],
    ['a resolved current and previous secret', { REPORT_TOKEN_SECRET: secret, REPORT_TOKEN_SECRET_PREVIOUS: previous }, true],
    ['an unresolved reference as the secret', { REPORT_TOKEN_SECRET: unresolved }, false],
    ['an unresolved reference as the previous secret', { REPORT_TOKEN_SECRET: secret, REPORT_TOKEN_SECRET_PREVIOUS: unresolved }, false],
    [
      'an unresolved reference in another casing',
      { REPORT_TOKEN_SECRET: ` ${unresolved.replace('@Microsoft.KeyVault', '@microsoft.keyvault')}` },
      false,
    ],
  ];
  for (const [what, settings, starts] of cases) {
    it(`${starts ? 'start' : 'stop the app'} with ${what}`, () => {
      if (starts) assert.doesNotThrow(() => readSettings({ ...base, ...settings }));
      else
        assert.throws(
          () => readSettings({ ...base, ...settings }),
          /REPORT_TOKEN_SECRET(_PREVIOUS)?: is a Key Vault reference the platform could not resolve/,
        );
    });
  }
});
