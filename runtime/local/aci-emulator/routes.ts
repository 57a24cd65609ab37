// ARM's URL scheme for container groups and their operations, and which handler answers each
// method on each of its routes.
import { errorReply, type ArmRequest, type Reply } from './arm';
import type { ContainerGroups } from './groups';
import type { Operations } from './operations';
import { armError } from './validate';

// Literal segments are matched case-insensitively (as ARM does); {x} captures a parameter.
const GROUPS = 'subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.containerinstance/containergroups';
const LOCATION = 'subscriptions/{sub}/providers/microsoft.containerinstance/locations/{location}';
const ROUTES = {
  listBySubscription: 'subscriptions/{sub}/providers/microsoft.containerinstance/containergroups',
  listByResourceGroup: GROUPS,
  group: `${GROUPS}/{name}`,
  logs: `${GROUPS}/{name}/containers/{container}/logs`,
  stop: `${GROUPS}/{name}/stop`,
  start: `${GROUPS}/{name}/start`,
  restart: `${GROUPS}/{name}/restart`,
  operationStatus: `${LOCATION}/operations/{operation}`,
  operationResult: `${LOCATION}/operationresults/{operation}`,
} as const;
type RouteName = keyof typeof ROUTES;

/** Every ARM request is answered through the function this returns (request params are filled in by it). */
export function armDispatcher(subscriptionId: string, groups: ContainerGroups, operations: Operations): (req: ArmRequest) => Reply {
  return (req) => {
    const segments = pathSegments(req.url.pathname);
    if (!segments) return errorReply(armError(400, 'InvalidRequestUri', `The request URI '${req.url.pathname}' has a malformed %-escape.`));
    const route = matchRoute(segments);
    if (!route) return errorReply(armError(404, 'NotFound', `No ARM route for ${req.method} ${req.url.pathname}.`));
    const r: ArmRequest = { ...req, params: route.params };
    const sub = r.params.sub;
    if (sub !== undefined && sub.toLowerCase() !== subscriptionId.toLowerCase()) {
      return errorReply(armError(404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`));
    }
    switch (`${r.method} ${route.name}`) {
      case 'GET listBySubscription':
        return groups.list(r, undefined);
      case 'GET listByResourceGroup':
        return groups.list(r, r.params.rg);
      case 'GET group':
        return groups.get(r);
      case 'PUT group':
        return groups.put(r);
      case 'DELETE group':
        return groups.delete(r);
      case 'GET logs':
        return groups.logs(r);
      case 'POST stop':
        return groups.stop(r);
      case 'POST start':
        return groups.start(r);
      case 'POST restart':
        return groups.restart(r);
      case 'GET operationStatus':
        return operations.statusReply(r);
      case 'GET operationResult':
        return operations.resultReply(r);
      default:
        return errorReply(armError(405, 'MethodNotAllowed', `The method '${r.method}' is not supported on ${r.url.pathname}.`));
    }
  };
}

/** The decoded segments of a path, or undefined when a %-escape is broken. */
function pathSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function matchRoute(segments: string[]): { name: RouteName; params: Record<string, string> } | undefined {
  for (const [name, pattern] of Object.entries(ROUTES) as [RouteName, string][]) {
    const parts = pattern.split('/');
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = parts.every((part, i) => {
      const seg = segments[i]!;
      if (!part.startsWith('{')) return part === seg.toLowerCase();
      params[part.slice(1, -1)] = seg;
      return true;
    });
    if (ok) return { name, params };
  }
  return undefined;
}
