// ACIAllocate's request: how many sessions, and where.
import { z } from 'zod';
import { wholeNumber } from '../core/validation';
import { azureLocation, fleetName, resourceGroupName } from '../servers/requests';

/** ACIAllocate: book `sessions` on a Running server, optionally only in one location, resource group or fleet. */
export const allocateRequest = z
  .object({
    sessions: wholeNumber('sessions', 1, 10_000).default(1),
    location: azureLocation.optional(),
    resourceGroup: resourceGroupName.optional(),
    /** Only this fleet's servers; its current revision first, an older one only when no current one has room. */
    fleet: fleetName.optional(),
    requestId: z
      .string()
      .regex(/^[\w.:@-]{1,128}$/, { error: "requestId must be 1-128 letters, digits, '_', '-', '.', ':' or '@'" })
      .optional(),
  })
  .strict();
export type AllocateRequest = z.infer<typeof allocateRequest>;
