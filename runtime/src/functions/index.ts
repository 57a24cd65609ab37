// The table of every function this app has. Azure registration and the local host both read it.
import { ACICreate } from './ACICreate';
import { ACIDelete } from './ACIDelete';
import { ACIDetails } from './ACIDetails';
import { ACIGC } from './ACIGC';
import { ACIList } from './ACIList';
import { ACIMetrics } from './ACIMetrics';
import { ACIMonitor } from './ACIMonitor';
import { ACISetSessions } from './ACISetSessions';
import { ACISetState } from './ACISetState';
import { ACIReconcile } from './ACIReconcile';
import { ACIReport } from './ACIReport';
import type { FunctionDefinition } from './definition';
import { openApiFunction } from './OpenApi';
import { ServerPage } from './ServerPage';
import { ACIAllocate } from './ACIAllocate';
import { ACIAutoScaler } from './ACIAutoScaler';
import { ACIFleetController } from './ACIFleetController';
import { Fleet, Fleets } from './Fleets';

export const FUNCTIONS: readonly FunctionDefinition[] = [
  ACICreate,
  ACIDelete,
  ACIDetails,
  ACIList,
  ACISetSessions,
  ACISetState,
  ACIMonitor,
  ACIGC,
  ServerPage,
  openApiFunction(() => FUNCTIONS),
  ACIMetrics,
  ACIReport,
  ACIReconcile,
  ACIAllocate,
  ACIAutoScaler,
  Fleets,
  Fleet,
  ACIFleetController,
];
