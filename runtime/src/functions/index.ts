// The table of every function this app has. Azure registration and the local host both read it.
import { ACICreate } from './ACICreate';
import { ACIDelete } from './ACIDelete';
import { ACIDetails } from './ACIDetails';
import { ACIGC } from './ACIGC';
import { ACIList } from './ACIList';
import { ACIMonitor } from './ACIMonitor';
import { ACISetSessions } from './ACISetSessions';
import { ACISetState } from './ACISetState';
import type { FunctionDefinition } from './definition';
import { ACIAllocate } from './ACIAllocate';
import { ACIAutoScaler } from './ACIAutoScaler';

export const FUNCTIONS: readonly FunctionDefinition[] = [
  ACICreate,
  ACIDelete,
  ACIDetails,
  ACIList,
  ACISetSessions,
  ACISetState,
  ACIMonitor,
  ACIGC,
  ACIAllocate,
  ACIAutoScaler,
];
