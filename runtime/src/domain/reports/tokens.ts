// Per-server report tokens: each container gets a token that lets it report for itself and
// nobody else. A token is the server's key plus an HMAC-SHA256 of it with the fleet's secret.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CONTAINER_GROUP_NAME } from '../servers/requests';
import type { ServerKey } from '../servers/server';

const VERSION = 'v1';
/** Same rule as requests.ts, already lower-cased (the table keys resource groups lower-case). */
const RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/;

const mac = (key: ServerKey, secret: string) =>
  createHmac('sha256', secret).update(`aci-fleet-report:${VERSION}:${key.resourceGroup}/${key.containerGroupName}`).digest();

/** `v1.<base64url(resourceGroup/containerGroupName)>.<base64url(hmac)>`: it names its server, so no lookup is needed. */
export function signReportToken(key: ServerKey, secret: string): string {
  const id = Buffer.from(`${key.resourceGroup}/${key.containerGroupName}`).toString('base64url');
  return `${VERSION}.${id}.${mac(key, secret).toString('base64url')}`;
}

/**
 * The server a token was issued for, or undefined when it is malformed or signed with none of
 * `secrets` (the current one first, then the previous one during a rotation). Constant-time compare.
 */
export function verifyReportToken(token: string, secrets: readonly string[]): ServerKey | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return undefined;
  const [, id, signature] = parts as [string, string, string];
  const [resourceGroup, containerGroupName, ...rest] = Buffer.from(id, 'base64url').toString('utf8').split('/');
  if (rest.length > 0 || !resourceGroup || !containerGroupName) return undefined;
  if (!RESOURCE_GROUP.test(resourceGroup) || resourceGroup !== resourceGroup.toLowerCase()) return undefined;
  if (!CONTAINER_GROUP_NAME.test(containerGroupName)) return undefined;
  const key = { resourceGroup, containerGroupName };
  const given = Buffer.from(signature, 'base64url');
  // Every secret is checked (no early exit) so timing does not tell which one matched.
  let valid = false;
  for (const secret of secrets) {
    const expected = mac(key, secret);
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid ? key : undefined;
}

/** Where servers report, and how a server's token is made; undefined parts mean reporting is not configured. */
export interface ReportEndpoint {
  /** Absolute URL of ACIReport. */
  url: string;
  secret: string;
}

export interface InjectedVariable {
  name: string;
  secureValue: string;
}

/**
 * The environment a container gets so it can report for itself: ACI_REPORT_URL and
 * ACI_REPORT_TOKEN, plus ACI_SET_SESSIONS_URL (token in the URL) for images built for the
 * original system. All secure values: ARM never returns them and ACIDetails redacts them.
 */
export function reportVariables(key: ServerKey, endpoint: ReportEndpoint): InjectedVariable[] {
  const token = signReportToken(key, endpoint.secret);
  const legacy = new URL(endpoint.url);
  legacy.searchParams.set('token', token);
  return [
    { name: 'ACI_REPORT_URL', secureValue: endpoint.url },
    { name: 'ACI_REPORT_TOKEN', secureValue: token },
    { name: 'ACI_SET_SESSIONS_URL', secureValue: legacy.toString() },
  ];
}

/** The report token in a request: `Authorization: Bearer <token>`, else `?token=`. */
export function tokenFromRequest(authorization: string | null | undefined, queryToken: string | null | undefined): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return bearer?.[1] ?? (queryToken || undefined);
}
