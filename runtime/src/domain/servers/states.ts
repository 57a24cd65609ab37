// The server state machine as data: the states, who may move a server between them, and
// the one question every writer asks before it writes a state (`canTransition`).

export const STATES = ['Creating', 'Running', 'MarkedForDeletion', 'Deleting', 'Failed'] as const;
export type ServerState = (typeof STATES)[number];
export const isState = (value: unknown): value is ServerState => STATES.includes(value as ServerState);

/** Who asks for a transition: each actor has its own rights, so e.g. an event can never un-drain a server. */
export type Actor =
  | 'monitor' // ACIMonitor / reconcile: what ARM says happened to the group
  | 'operator' // ACISetState: a caller's decision
  | 'gc' // ACIGC: drained and empty, or Failed for longer than the retention
  | 'delete' // ACIDelete: an explicit delete
  | 'heartbeat'; // a Running server that stopped reporting

interface Transition {
  from: ServerState;
  to: ServerState;
  by: readonly Actor[];
}

export const TRANSITIONS: readonly Transition[] = [
  { from: 'Creating', to: 'Running', by: ['monitor'] },
  { from: 'Creating', to: 'Failed', by: ['monitor', 'operator'] },
  { from: 'Creating', to: 'MarkedForDeletion', by: ['operator'] },
  { from: 'Creating', to: 'Deleting', by: ['delete'] },
  { from: 'Running', to: 'MarkedForDeletion', by: ['operator'] },
  { from: 'Running', to: 'Failed', by: ['monitor', 'operator', 'heartbeat'] },
  { from: 'Running', to: 'Deleting', by: ['delete'] },
  // Un-drain: the operator changed their mind before GC got to it. It returns the server to the
  // state it was drained from (lifecycle.ts): one drained while Creating is Creating again.
  { from: 'MarkedForDeletion', to: 'Running', by: ['operator'] },
  { from: 'MarkedForDeletion', to: 'Creating', by: ['operator'] },
  { from: 'MarkedForDeletion', to: 'Failed', by: ['monitor', 'operator'] },
  { from: 'MarkedForDeletion', to: 'Deleting', by: ['gc', 'delete'] },
  // A failed server is cleaned up by draining it, deleting it outright, or by GC once
  // FAILED_RETENTION_MINUTES have passed (time enough to read its logs).
  { from: 'Failed', to: 'MarkedForDeletion', by: ['operator'] },
  { from: 'Failed', to: 'Deleting', by: ['delete', 'gc'] },
];

export function canTransition(from: ServerState, to: ServerState, actor: Actor): boolean {
  return TRANSITIONS.some((t) => t.from === from && t.to === to && t.by.includes(actor));
}

/** The states a caller may request through ACISetState. */
export const OPERATOR_TARGET_STATES = ['MarkedForDeletion', 'Failed', 'Running'] as const;
