// Per-server report tokens: each container gets a token that lets it report for itself and
// nobody else. A token is the server's key and incarnation plus an HMAC-SHA256 of them with the
// fleet's secret, so a server deleted and created again under its name gets a token of its own.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isResourceGroupName } from '../core/resourceGroups';
import { CONTAINER_GROUP_NAME } from '../servers/requests';
import { INCARNATION, type ServerKey } from '../servers/server';

/** The server a token speaks for; no incarnation for a v1 token (servers created before incarnations). */
export interface ReportIdentity extends ServerKey {
  incarnation?: string;
}

/** base64url without padding: the only spelling accepted, so one token has exactly one text. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Longer than any token this fleet signs (a 90-character resource group of 3-byte letters, a 63-character name). */
const MAX_TOKEN_LENGTH = 1024;

const mac = (id: ReportIdentity, secret: string) =>
  createHmac('sha256', secret)
    .update(
      id.incarnation === undefined
        ? `aci-fleet-report:v1:${id.resourceGroup}/${id.containerGroupName}`
        : `aci-fleet-report:v2:${id.resourceGroup}/${id.containerGroupName}:${id.incarnation}`,
    )
    .digest();

/**
 * `v2.<base64url(resourceGroup/containerGroupName)>.<incarnation>.<base64url(hmac)>`: it names its
 * server, so no lookup is needed to know who speaks, and its incarnation, so it dies with that
 * server. Without an incarnation it is the v1 token servers created before incarnations carry.
 */
export function signReportToken(id: ReportIdentity, secret: string): string {
  const name = Buffer.from(`${id.resourceGroup}/${id.containerGroupName}`).toString('base64url');
  const signature = mac(id, secret).toString('base64url');
  return id.incarnation === undefined ? `v1.${name}.${signature}` : `v2.${name}.${id.incarnation}.${signature}`;
}

/**
 * The server (and incarnation) a token was issued for, or undefined when it is malformed, not in
 * its one canonical spelling, or signed with none of `secrets` (the current one first, then the
 * previous one during a rotation). Constant-time compare.
 */
export function verifyReportToken(token: string, secrets: readonly string[]): ReportIdentity | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.split('.');
  const [version, name, ...rest] = parts;
  let incarnation: string | undefined;
  let signature: string | undefined;
  if (version === 'v1' && rest.length === 1) [signature] = rest;
  else if (version === 'v2' && rest.length === 2) [incarnation, signature] = rest;
  else return undefined;
  if (incarnation !== undefined && !INCARNATION.test(incarnation)) return undefined;
  const nameBytes = canonicalBase64url(name);
  const given = canonicalBase64url(signature);
  if (!nameBytes || !given) return undefined;

  const [resourceGroup, containerGroupName, ...extra] = nameBytes.toString('utf8').split('/');
  if (extra.length > 0 || !resourceGroup || !containerGroupName) return undefined;
  // Already lower-cased: the table keys resource groups lower-case.
  if (!isResourceGroupName(resourceGroup) || resourceGroup !== resourceGroup.toLowerCase()) return undefined;
  if (!CONTAINER_GROUP_NAME.test(containerGroupName)) return undefined;
  const id: ReportIdentity =
    incarnation === undefined ? { resourceGroup, containerGroupName } : { resourceGroup, containerGroupName, incarnation };
  // Every secret is checked (no early exit) so timing does not tell which one matched.
  let valid = false;
  for (const secret of secrets) {
    const expected = mac(id, secret);
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid ? id : undefined;
}

/**
 * The bytes of `text` if it is base64url in its canonical spelling: no padding, no `+`/`/`, no
 * whitespace, and unused trailing bits zero. Node's decoder would accept all of those, letting
 * one token be written many ways.
 */
function canonicalBase64url(text: string | undefined): Buffer | undefined {
  if (!text || !BASE64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
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
export function reportVariables(server: ReportIdentity, endpoint: ReportEndpoint): InjectedVariable[] {
  const token = signReportToken(server, endpoint.secret);
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
