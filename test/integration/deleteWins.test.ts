// A delete racing a create: ACIDelete arrives while ACICreate's ARM call is in flight (under ARM
// throttling it takes seconds). The delete wins in every interleaving: the group ends deleted, the
// row goes, and reconcile never adopts the group back. The races are staged through wrappers of
// the ARM port, so each interleaving happens exactly, whatever the machine's speed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FleetError } from '../../runtime/src/domain/core/errors';
import { parseRequest } from '../../runtime/src/domain/core/validation';
import type { ContainerGroups } from '../../runtime/src/domain/servers/ports';
import { createRequest } from '../../runtime/src/domain/servers/requests';
import { ServerService } from '../../runtime/src/domain/servers/serverService';
import { call, createBody, eventually, startTestFleet, testContext, type LocalFleet } from '../support/localFleet';

let fleet: LocalFleet;
before(async () => {
  fleet = await startTestFleet();
});
after(() => fleet?.stop());

const key = (name: string) => ({ resourceGroup: 'games', containerGroupName: name });
const hasGroup = (name: string) => fleet.emulator.groups().some((g) => g.name === name);
/** ARM's container groups with some methods replaced; the rest go to the real adapter. */
const groupsWith = (overrides: Partial<ContainerGroups>): ContainerGroups => Object.assign(Object.create(fleet.services.groups), overrides);
const serviceWith = (groups: ContainerGroups) =>
  new ServerService({ store: fleet.services.store, groups, options: fleet.services.options });
const createInput = (name: string) => {
  const input = parseRequest(createRequest, createBody(name));
  return { ...input, containerGroup: input.containerGroup! }; // without a fleet, the schema requires it
};

/** The delete won: no group, no row, and a reconcile afterwards adopts nothing back. */
async function assertDeleteWon(name: string): Promise<void> {
  await eventually(async () => !hasGroup(name) && (await fleet.services.store.get(key(name))) === undefined, `${name}: group and row gone`);
  await fleet.emulator.idle();
  const report = await fleet.services.reconciler(testContext()).reconcile();
  assert.deepEqual(report.adopted, [], 'reconcile adopted the group back');
  assert.equal(await fleet.services.store.get(key(name)), undefined);
  assert.equal(hasGroup(name), false);
}

describe('ACIDelete racing ACICreate', () => {
  it('wins when it arrives while the PUT is in flight, before the group exists', async () => {
    let deleteAnswer: { status: number; body: any } | undefined;
    const groups = groupsWith({
      beginCreate: async (k, spec) => {
        deleteAnswer = await call(fleet, 'ACIDelete', k); // the row is Creating; ARM has no group yet
        return fleet.services.groups.beginCreate(k, spec);
      },
    });
    const created = await serviceWith(groups)
      .create(createInput('race-before'))
      .catch((e: unknown) => e);
    assert.equal(deleteAnswer?.status, 200, JSON.stringify(deleteAnswer?.body));
    assert.equal(deleteAnswer?.body.State, 'Deleting');
    assert.ok(created instanceof FleetError && created.status === 409, `the create was told it lost: ${JSON.stringify(created)}`);
    assert.match((created as FleetError).message, /deleted while it was being created/);
    await assertDeleteWon('race-before');
  });

  /**
   * The create is held at its PUT; the delete looks at ARM (no group yet), then lets the create run
   * to its end and `meanwhile` happen before it writes Deleting.
   */
  async function deleteThatLookedBeforeThePut(name: string, meanwhile: () => Promise<void>) {
    let releaseCreate!: () => void;
    const createMayGoOn = new Promise<void>((resolve) => {
      releaseCreate = resolve;
    });
    let rowWritten!: () => void;
    const createWroteItsRow = new Promise<void>((resolve) => {
      rowWritten = resolve;
    });
    const creating = serviceWith(
      groupsWith({
        beginCreate: async (k, spec) => {
          rowWritten();
          await createMayGoOn;
          return fleet.services.groups.beginCreate(k, spec);
        },
      }),
    ).create(createInput(name));
    await createWroteItsRow;

    let looked = false;
    const deleting = serviceWith(
      groupsWith({
        get: async (k) => {
          const group = await fleet.services.groups.get(k);
          if (!looked) {
            looked = true; // no group yet: now let the create run to its end before this delete writes anything
            releaseCreate();
            await creating;
            await meanwhile();
          }
          return group;
        },
      }),
    ).delete(key(name));
    return Promise.all([creating, deleting]);
  }

  it('wins when it looked at ARM before the PUT landed but writes Deleting after the create finished', async () => {
    // The group's events are held until the delete has written, so the row is still Creating when
    // it does, however long the delete takes.
    fleet.emulator.faults.set({ reorderEvents: 1000 });
    try {
      const [created, deleted] = await deleteThatLookedBeforeThePut('race-after', async () => {});
      assert.equal(created.created, true, 'the create finished before the delete wrote: it succeeded');
      assert.equal(deleted.State, 'Deleting');
    } finally {
      fleet.emulator.faults.clear(); // the held events go out now
    }
    await assertDeleteWon('race-after');
  });

  it('wins when the group was already Running by the time it writes Deleting', async () => {
    const rowState = async () => (await fleet.services.store.get(key('race-running')))?.value.state;
    const [created, deleted] = await deleteThatLookedBeforeThePut('race-running', async () => {
      await eventually(async () => (await rowState()) === 'Running', 'race-running: the monitor moved the row to Running');
    });
    assert.equal(created.created, true);
    assert.equal(deleted.State, 'Deleting');
    await assertDeleteWon('race-running');
  });

  it('leaves no row behind when the delete came first and the PUT then failed', async () => {
    const groups = groupsWith({
      beginCreate: async (k, spec) => {
        assert.equal((await call(fleet, 'ACIDelete', k)).status, 200);
        fleet.emulator.faults.set({ failRequests: { status: 500, count: 100, methods: ['PUT'] } });
        try {
          return await fleet.services.groups.beginCreate(k, spec);
        } finally {
          fleet.emulator.faults.clear();
        }
      },
    });
    const created = await serviceWith(groups)
      .create(createInput('race-failed'))
      .catch((e: unknown) => e);
    assert.ok(created instanceof FleetError && created.code === 'AzureUnavailable', String(created));
    assert.equal(await fleet.services.store.get(key('race-failed')), undefined, 'the row of a create that never reached ARM is gone');
    await assertDeleteWon('race-failed');
  });
});
