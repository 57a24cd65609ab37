import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  findReservation,
  fits,
  freeSlotsOf,
  loadOf,
  pickCandidate,
  rankCandidates,
  reserve,
  type AllocationRequest,
} from '../../runtime/src/domain/allocation/booking';
import { isCollectable } from '../../runtime/src/domain/servers/lifecycle';
import type { Reservation, ServerRecord } from '../../runtime/src/domain/servers/server';
import { toView } from '../../runtime/src/domain/servers/server';
import { serverRecord } from '../support/records';

const T0 = Date.parse('2026-11-22T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const iso = (s: number) => at(s).toISOString();
const timings = { ttlMs: 60_000, reportGraceMs: 5_000 };

function server(name: string, extra: Partial<ServerRecord> = {}): ServerRecord {
  return serverRecord(name, { maxSessions: 4, createdAt: iso(-3600), specHash: 'h', ...extra });
}

/** A reservation of `sessions` made at second `s` with the default timings. */
const booking = (id: string, s: number, sessions = 1): Reservation => ({
  id,
  sessions,
  at: iso(s),
  reportAfter: iso(s + 5),
  expiresAt: iso(s + 60),
});

const rows = (...servers: ServerRecord[]) => servers.map((value) => ({ value, etag: 'e' }));
const one: AllocationRequest = { sessions: 1 };

describe('the load of a server with reservations', () => {
  const cases: Array<[string, Partial<ServerRecord>, number]> = [
    ['a fresh booking counts', { activeSessions: 1, reservations: [booking('a', -1, 2)] }, 3],
    ['a booking past its TTL does not', { activeSessions: 1, reservations: [booking('a', -61, 2)] }, 1],
    [
      'a report made right after the booking does not cover it',
      { activeSessions: 0, lastReportAt: iso(-8), reservations: [booking('a', -10)] },
      1,
    ],
    ['a report made after the grace covers it', { activeSessions: 1, lastReportAt: iso(-4), reservations: [booking('a', -10)] }, 1],
    [
      'a report before the booking covers nothing',
      { activeSessions: 2, lastReportAt: iso(-30), reservations: [booking('a', -10), booking('b', -2)] },
      4,
    ],
  ];
  for (const [name, extra, load] of cases) {
    it(name, () => assert.equal(loadOf(server('s', extra), at(0)), load));
  }

  it('shows reserved sessions in the view', () => {
    const view = toView(server('s', { activeSessions: 1, reservations: [booking('a', -1, 2)] }), at(0));
    assert.equal(view.ReservedSessions, 2);
    assert.ok(!('Reservations' in view), 'booking ids are not listed');
  });

  it('never lets GC take a drained server while a booking is live', () => {
    const drained = server('s', { state: 'MarkedForDeletion', reservations: [booking('a', -1)] });
    assert.equal(isCollectable(drained, at(0)), false);
    assert.equal(isCollectable(drained, at(61)), true);
  });
});

describe('choosing a server (fullest that fits first)', () => {
  const fleet = rows(
    server('empty'),
    server('half', { activeSessions: 2 }),
    server('nearly-full', { activeSessions: 3 }),
    server('full', { activeSessions: 2, reservations: [booking('x', -1, 2)] }),
    server('drained', { state: 'MarkedForDeletion', activeSessions: 3 }),
    server('creating', { state: 'Creating' }),
    server('elsewhere', { activeSessions: 3, location: 'eastus' }),
  );

  const cases: Array<[string, AllocationRequest, string[]]> = [
    ['one session: fullest first, full/drained/creating servers never', one, ['elsewhere', 'nearly-full', 'half', 'empty']],
    ['two sessions: only servers with two free slots', { sessions: 2 }, ['half', 'empty']],
    ['a location filter', { sessions: 1, location: 'EastUS' }, ['elsewhere']],
    ['a resource group filter', { sessions: 1, resourceGroup: 'other' }, []],
    ['more than any server holds', { sessions: 5 }, []],
  ];
  for (const [name, req, expected] of cases) {
    it(name, () =>
      assert.deepEqual(
        rankCandidates(fleet, req, at(0)).map((r) => r.value.containerGroupName),
        expected,
      ),
    );
  }

  it('breaks ties by name so the choice is stable', () => {
    const ranked = rankCandidates(rows(server('b', { activeSessions: 1 }), server('a', { activeSessions: 1 })), one, at(0));
    assert.deepEqual(
      ranked.map((r) => r.value.containerGroupName),
      ['a', 'b'],
    );
  });

  it('takes the best on a first try and spreads over the best three after a lost race', () => {
    const ranked = ['a', 'b', 'c', 'd'];
    assert.equal(
      pickCandidate(ranked, 1, () => 0.99),
      'a',
    );
    assert.equal(
      pickCandidate(ranked, 2, () => 0.99),
      'c',
    );
    assert.equal(
      pickCandidate(ranked, 2, () => 0),
      'a',
    );
    assert.equal(
      pickCandidate([], 1, () => 0),
      undefined,
    );
  });
});

describe('reserve', () => {
  it('adds a booking that expires after the TTL and prunes expired ones', () => {
    const r = server('s', { activeSessions: 1, reservations: [booking('old', -120), booking('recent', -10)] });
    const booked = reserve(r, { sessions: 2, id: 'req-1' }, at(0), timings);
    assert.ok(booked);
    assert.deepEqual(
      booked.record.reservations?.map((x) => x.id),
      ['recent', 'req-1'],
    );
    assert.equal(booked.reservation.expiresAt, iso(60));
    assert.equal(booked.reservation.reportAfter, iso(5));
    assert.equal(freeSlotsOf(booked.record, at(0)), 0);
  });

  it('refuses a booking that no longer fits', () => {
    assert.equal(reserve(server('s', { activeSessions: 3 }), { sessions: 2, id: 'x' }, at(0), timings), undefined);
    assert.equal(fits(server('s', { state: 'Creating' }), one, at(0)), false);
  });

  it('finds an earlier booking by requestId until it expires', () => {
    const fleet = rows(server('a'), server('b', { reservations: [booking('req-7', -30)] }));
    assert.equal(findReservation(fleet, 'req-7', at(0))?.row.value.containerGroupName, 'b');
    assert.equal(findReservation(fleet, 'req-7', at(31)), undefined);
    assert.equal(findReservation(fleet, 'other', at(0)), undefined);
  });
});
