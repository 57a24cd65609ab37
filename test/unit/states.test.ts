import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canTransition, STATES, TRANSITIONS, type Actor, type ServerState } from '../../runtime/src/domain/servers/states';

describe('state machine', () => {
  const cases: Array<[ServerState, ServerState, Actor, boolean]> = [
    ['Creating', 'Running', 'monitor', true],
    ['Creating', 'Running', 'operator', false], // only ARM decides a server is up
    ['Running', 'MarkedForDeletion', 'operator', true],
    ['MarkedForDeletion', 'Running', 'operator', true], // un-drain
    ['MarkedForDeletion', 'Running', 'monitor', false], // an event never revives a drained server
    ['MarkedForDeletion', 'Deleting', 'gc', true],
    ['Running', 'Deleting', 'gc', false], // GC only takes drained servers…
    ['Failed', 'Deleting', 'gc', true], // …and failed ones, after FAILED_RETENTION_MINUTES
    ['Failed', 'Running', 'monitor', false],
    ['Failed', 'Running', 'operator', false],
    ['Deleting', 'Running', 'monitor', false],
    ['Deleting', 'Failed', 'monitor', false],
    ['Running', 'Failed', 'heartbeat', true],
    ['Creating', 'Deleting', 'delete', true],
  ];
  for (const [from, to, actor, allowed] of cases) {
    it(`${allowed ? 'lets' : 'does not let'} ${actor} move ${from} -> ${to}`, () => {
      assert.equal(canTransition(from, to, actor), allowed);
    });
  }

  it('has no way out of Deleting but removing the row', () => {
    assert.deepEqual(
      TRANSITIONS.filter((t) => t.from === 'Deleting'),
      [],
    );
  });

  it('lists only known states in its transitions', () => {
    for (const t of TRANSITIONS) {
      assert.ok(STATES.includes(t.from) && STATES.includes(t.to), `${t.from} -> ${t.to}`);
    }
  });
});
