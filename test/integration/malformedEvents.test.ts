// Event Grid deliveries that can never be processed (not an event, a subject with a broken
// %-escape, fields of the wrong type) are acknowledged and logged, so Event Grid does not retry
// them for 24 hours; a delivery that fails because storage is down is still refused, and retried.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createBody, eventually, startTestFleet, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
const lines: string[] = [];
before(async () => {
  fleet = await startTestFleet({ provisioningMs: 0, log: (line) => lines.push(line) });
  await call(fleet, 'ACICreate', createBody('eg-a'));
  await eventually(
    async () => (await fleet.services.store.get({ resourceGroup: 'games', containerGroupName: 'eg-a' }))?.value.state === 'Running',
    'eg-a Running',
  );
  await fleet.emulator.idle();
  fleet.emulator.setEventEndpoint(undefined); // from here on the tests deliver events themselves
});
after(() => fleet?.stop());

const groupId = (name: string) =>
  `/subscriptions/${fleet.emulator.subscriptionId}/resourceGroups/games/providers/Microsoft.ContainerInstance/containerGroups/${name}`;

/** A resource write event as Event Grid's resource-group topic sends it (Event Grid schema). */
const writeEvent = (id: string, subject: string) => ({
  id,
  eventType: 'Microsoft.Resources.ResourceWriteSuccess',
  subject,
  topic: `/subscriptions/${fleet.emulator.subscriptionId}/resourceGroups/games`,
  eventTime: new Date().toISOString(),
  dataVersion: '2',
  metadataVersion: '1',
  data: { resourceUri: subject, operationName: 'Microsoft.ContainerInstance/containerGroups/write', status: 'Succeeded' },
});

async function deliver(body: string): Promise<number> {
  const res = await fetch(`${fleet.url}/runtime/webhooks/eventgrid?functionName=ACIMonitor`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification', 'x-functions-key': fleet.key },
    body,
  });
  return res.status;
}

/** Event Grid retries every answer but these (and 401/403); 2xx is delivered, 400/413 is dead-lettered. */
const notRetried = (status: number) => (status >= 200 && status < 300) || status === 400 || status === 413;

describe('malformed Event Grid deliveries', () => {
  const malformed: Array<[string, () => string]> = [
    ['an array holding null', () => '[null]'],
    ['an array holding a number and a string', () => '[5, "x"]'],
    ['a subject with a broken %-escape', () => JSON.stringify([writeEvent('evt-pct', groupId('gs-%'))])],
    [
      'a resourceUri with a broken %-escape',
      () => JSON.stringify([{ ...writeEvent('evt-pct-2', groupId('eg-a')), data: { resourceUri: groupId('eg-%zz') } }]),
    ],
    ['a subject that is a number', () => JSON.stringify([{ ...writeEvent('evt-num', groupId('eg-a')), subject: 42, data: undefined }])],
    ['data that is a string', () => JSON.stringify([{ ...writeEvent('evt-str', groupId('eg-a')), data: 'not an object' }])],
    [
      'a resourceUri that is an object',
      () => JSON.stringify([{ ...writeEvent('evt-obj', groupId('eg-a')), data: { resourceUri: { a: 1 } } }]),
    ],
  ];
  for (const [what, body] of malformed) {
    it(`acknowledges ${what} so Event Grid does not retry it, and logs it`, async () => {
      const before = lines.length;
      const status = await deliver(body());
      assert.ok(notRetried(status), `${status}: Event Grid would retry this forever`);
      assert.ok(
        lines.slice(before).some((l) => /malformed/i.test(l)),
        `nothing was logged about it: ${lines.slice(before).join(' | ')}`,
      );
    });
  }

  // ARM never allows these names, so no event about them is real: a table key with '/', '#' or '?'
  // (or over 1 KiB) is one Table Storage refuses, which must not turn into a retried delivery.
  const impossibleNames: Array<[string, string, string]> = [
    ['a container group name with an encoded slash', 'games', 'eg-a%2Fx'],
    ['a container group name with an encoded #', 'games', 'eg%23x'],
    ['a container group name with an encoded ?', 'games', 'eg%3Fx'],
    ['a container group name with an encoded backslash', 'games', 'eg%5Cx'],
    ['a container group name with an encoded control character', 'games', 'eg%00x'],
    ['a container group name with an encoded space', 'games', 'eg%20x'],
    ['a container group name of 64 characters', 'games', 'a'.repeat(64)],
    ['a container group name of 2,000 characters', 'games', 'a'.repeat(2000)],
    ['a container group name with a double dash', 'games', 'eg--a'],
    ['a resource group name with an encoded slash', 'gam%2Fes', 'eg-a'],
    ['a resource group name of 91 characters', 'g'.repeat(91), 'eg-a'],
    ['a resource group name ending in a period', 'games.', 'eg-a'],
  ];
  for (const [what, resourceGroup, name] of impossibleNames) {
    it(`acknowledges and logs an event naming ${what}, and writes no row`, async () => {
      const subject = `/subscriptions/${fleet.emulator.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;
      const rowsBefore = (await fleet.services.store.list()).length;
      const before = lines.length;
      const status = await deliver(JSON.stringify([writeEvent(`evt-name-${name.length}`, subject)]));
      assert.ok(status >= 200 && status < 300, `${status}: Event Grid would retry an event that can never be processed`);
      assert.ok(
        lines.slice(before).some((l) => /malformed/i.test(l) && /name/i.test(l)),
        `nothing was logged about the name: ${lines.slice(before).join(' | ')}`,
      );
      assert.equal((await fleet.services.store.list()).length, rowsBefore);
    });
  }

  it("answers Event Grid's validation handshake with its code, and refuses one without a code", async () => {
    const handshake = (body: string) =>
      fetch(`${fleet.url}/runtime/webhooks/eventgrid?functionName=ACIMonitor`, {
        method: 'POST',
        headers: { 'aeg-event-type': 'SubscriptionValidation', 'x-functions-key': fleet.key },
        body,
      });
    const ok = await handshake(
      JSON.stringify([{ id: 'v', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: { validationCode: 'abc-123' } }]),
    );
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { validationResponse: 'abc-123' });
    for (const body of ['[]', '[null]', '[{"data":{}}]', '[{"data":{"validationCode":5}}]', '{"data":null}']) {
      const res = await handshake(body);
      assert.equal(res.status, 400, body);
      assert.equal(((await res.json()) as any).error.code, 'ValidationFailed', body);
    }
  });

  it('refuses a delivery that is not JSON with a 400 (dead-lettered, never retried)', async () => {
    assert.equal(await deliver('{not json'), 400);
  });

  it('still processes a well-formed event in the same delivery as a malformed one', async () => {
    const status = await deliver(JSON.stringify([null, writeEvent('evt-ok', groupId('eg-a'))]));
    assert.equal(status, 202);
  });

  it('refuses (so Event Grid retries) a well-formed event that fails because storage is down', async () => {
    await fleet.azurite.stop();
    try {
      const status = await deliver(JSON.stringify([writeEvent('evt-outage', groupId('eg-a'))]));
      assert.ok(!notRetried(status), `${status}: an outage must be retried`);
    } finally {
      await fleet.azurite.start();
    }
  });
});
